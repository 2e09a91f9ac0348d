/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Bootstrap. The global set-up (options, size classes, sources, NUMA
 * topology) runs in the library's constructor, so that configuration
 * messages, MPCALLOC_PRINT_CONFIG and the report at exit work for a program
 * that never allocates; or earlier, at the first malloc of the process when
 * that comes first (another library's constructor, libnuma's own set-up, the
 * dynamic loader). Nothing in it calls malloc. A thread's first malloc then
 * gets a heap; a pthread key destructor abandons it at thread exit;
 * pthread_atfork handlers keep the child of a fork consistent. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "mpca_config.h"
#include "mpca_fault.h"
#include "mpca_guarded.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_small.h"
#include "mpca_source.h"

mpca_heap mpca_heap_none, mpca_heap_gone;
__thread mpca_heap *mpca_tls_heap __attribute__((tls_model("initial-exec"))) = &mpca_heap_none;

enum { INIT_NONE, INIT_RUNNING, INIT_DONE };
static _Atomic int init_state;
static pthread_key_t exit_key;
static _Atomic int late_init_done;

extern char **environ;

static void thread_exit(void *arg)
{
  mpca_heap *h = arg;
  mpca_tls_heap = &mpca_heap_gone;
  if (h)
    mpca_heap_abandon(h);
}

/* (the heaps' locks, with the heap profiler's, are taken before the
 * sources': see mpca_heaps_fork_prepare) */
static void fork_prepare(void)
{
  mpca_heaps_fork_prepare(mpca_heap_mine());
  if (MPCA_HARDENED_ON)
    mpca_guarded_fork_prepare();
  mpca_sources_fork_prepare();
}

static void fork_parent(void)
{
  mpca_sources_fork_parent();
  if (MPCA_HARDENED_ON)
    mpca_guarded_fork_parent();
  mpca_heaps_fork_parent(mpca_heap_mine());
}

static void fork_child(void)
{
  mpca_sources_fork_child();
  if (MPCA_HARDENED_ON)
    mpca_guarded_fork_child();
  mpca_heaps_fork_child(mpca_heap_mine());
}

static void global_setup(void)
{
  /* Like glibc's MALLOC_*: environment ignored for set-user-ID programs. */
  bool secure = getauxval(AT_SECURE) != 0;
  mpca_config_load(secure ? NULL : environ, 2);
  mpca_small_init();
  mpca_prof_init();
  mpca_sources_init();
  mpca_numa_init();
  if (MPCA_HARDENED_ON)
    mpca_fault_install(); /* reports of overflows into guard pages */
  if (pthread_key_create(&exit_key, thread_exit) != 0)
    mpca_fatal("mpcalloc: cannot create the thread-exit key; aborting\n");
  if (mpca_opt[MPCA_OPT_PRINT_CONFIG])
    mpca_config_print(2);
  /* programs such as the GNU tools close stderr in an atexit handler,
   * before the report at exit (a destructor) is written */
  if (mpca_opt[MPCA_OPT_STATS] != MPCA_STATS_OFF || mpca_prof_on)
    mpca_os_keep_stderr();
}

void mpca_global_init(void)
{
  if (mpca_likely(atomic_load_explicit(&init_state, memory_order_acquire) == INIT_DONE))
    return;
  int expected = INIT_NONE;
  if (atomic_compare_exchange_strong_explicit(&init_state, &expected, INIT_RUNNING, memory_order_acq_rel,
                                              memory_order_acquire)) {
    global_setup();
    atomic_store_explicit(&init_state, INIT_DONE, memory_order_release);
    return;
  }
  while (atomic_load_explicit(&init_state, memory_order_acquire) != INIT_DONE)
    sched_yield();
}

/* Runs when the library is loaded (LD_PRELOAD, -lmpcalloc, dlopen) or, in a
 * static program, before main; a no-op when an allocation came first. The
 * heap profiler's unwinder is primed here, once set-up is done: its first
 * use may allocate. */
__attribute__((constructor)) static void init_at_load(void)
{
  mpca_global_init();
  mpca_prof_prime();
}

void mpca_thread_switch_heap(mpca_heap *h)
{
  mpca_tls_heap = h;
  pthread_setspecific(exit_key, h);
}

mpca_heap *mpca_thread_init(void)
{
  mpca_global_init();
  mpca_heap *h = mpca_heap_acquire();
  if (h == NULL)
    return NULL;
  mpca_tls_heap = h;
  /* These may allocate: the heap is in place by now. */
  pthread_setspecific(exit_key, h);
  int expected = 0;
  if (atomic_compare_exchange_strong(&late_init_done, &expected, 1))
    pthread_atfork(fork_prepare, fork_parent, fork_child);
  return h;
}
