/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Failures from outside the allocator, through the exported functions: the
 * workload of workload.h (malloc, calloc, posix_memalign, aligned_alloc,
 * realloc, free, malloc_usable_size, malloc_trim) runs while
 *   shim         mmap_shim.so (preloaded) fails the N-th mmap, mremap or
 *                madvise, for every N up to the number of calls a run
 *                makes; then every call from the N-th (N in steps of
 *                SHIM_STRIDE); then every k-th call, k = 2 .. 16
 *                (MPCA_CHECK_QUICK=1: N in steps 7 times as large);
 *   rlimit MIB   RLIMIT_AS leaves MIB MiB of address space above what the
 *                process has mapped (one size a process: see external.sh).
 * After each run, failures off: every allocation gave a block or NULL with
 * ENOMEM and blocks kept their content (workload.h); fork() works, so no
 * lock of the allocator was left held (the fork handlers take them all);
 * with everything freed and malloc_trim(0) done, the statistics' mapped,
 * in-use and cached bytes are what they were before the run; and the
 * workload run again gets no NULL and leaves nothing either. Exit 0 pass,
 * 3 on a violation (one line says which), 77 when the shim is wanted but
 * not preloaded. Linked with -lmpcalloc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <mpcalloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "workload.h"

#define WATCHDOG_SECONDS 600
#define SHIM_STRIDE 3

static void *ex_zalloc(size_t size) { return calloc(1, size); }

static void *ex_aligned(size_t align, size_t size)
{
  static _Atomic unsigned turn;
  if (atomic_fetch_add(&turn, 1) % 2)
    return aligned_alloc(align, size);
  void *p = NULL;
  int rc = posix_memalign(&p, align, size);
  if (rc != 0) {
    if (p != NULL)
      WL_VIOLATION("posix_memalign failed (%d) but changed its result pointer", rc);
    errno = rc;
    return NULL;
  }
  return p;
}

static void ex_trim(void) { malloc_trim(0); }

static const wl_api exported = {malloc, ex_zalloc, ex_aligned, realloc, free, malloc_usable_size, ex_trim};

typedef struct figures {
  uint64_t mapped, in_use, cached;
} figures;

static figures measure(void)
{
  struct mpc_alloc_stats st = {.size = sizeof st};
  if (mpc_alloc_stats_get(&st) != 0)
    WL_VIOLATION("mpc_alloc_stats_get failed");
  return (figures){st.mapped, st.in_use, st.cached};
}

static void same_as(const figures *base, const char *when)
{
  figures now = measure();
  if (now.mapped != base->mapped || now.in_use != base->in_use || now.cached != base->cached)
    WL_VIOLATION("%s: mapped %llu, in use %llu, cached %llu bytes; before the run: %llu, %llu, %llu", when,
                 (unsigned long long)now.mapped, (unsigned long long)now.in_use, (unsigned long long)now.cached,
                 (unsigned long long)base->mapped, (unsigned long long)base->in_use,
                 (unsigned long long)base->cached);
}

/* fork() takes every lock of the allocator in its prepare handler: a lock
 * left held would hang here (the watchdog ends the process). */
static void check_fork(void)
{
  pid_t pid = fork();
  if (pid < 0)
    WL_VIOLATION("fork failed: %s", strerror(errno));
  if (pid == 0) {
    void *p = malloc(100);
    free(p);
    _exit(p != NULL ? 0 : 1);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    WL_VIOLATION("the child of fork() failed to allocate");
}

/* Figures after a first run without failures and a full trim: the C
 * library keeps some of what threads allocate (thread stacks are cached
 * with their thread-local storage), and stdio its buffers. */
static figures baseline(void)
{
  printf("start\n");
  wl_run(&exported, 3);
  if (atomic_load(&wl.nulls) != 0)
    WL_VIOLATION("the first run, without failures, got %llu NULLs", (unsigned long long)atomic_load(&wl.nulls));
  atomic_store(&wl.allocs, 0);
  return measure();
}

static void after(const figures *base)
{
  check_fork();
  same_as(base, "after the run with failures");
  atomic_store(&wl.allocs, 0);
  atomic_store(&wl.nulls, 0);
  wl_run(&exported, 2);
  if (atomic_load(&wl.nulls) != 0)
    WL_VIOLATION("the run after the failures got %llu NULLs", (unsigned long long)atomic_load(&wl.nulls));
  check_fork();
  same_as(base, "after the run without failures");
}

typedef struct shim_api {
  void (*arm)(unsigned long from, unsigned long count, unsigned long every);
  void (*disarm)(void);
  unsigned long (*calls)(void), (*failed)(void);
} shim_api;

/* One run with the shim armed so; the calls it numbered. */
static unsigned long shim_run(const shim_api *sh, const figures *base, unsigned long from, unsigned long count,
                              unsigned long every, unsigned long *failed, uint64_t *nulls)
{
  atomic_store(&wl.allocs, 0);
  atomic_store(&wl.nulls, 0);
  sh->arm(from, count, every);
  wl_run(&exported, 1);
  sh->disarm();
  unsigned long calls = sh->calls();
  *failed += sh->failed();
  *nulls += atomic_load(&wl.nulls);
  after(base);
  return calls;
}

static int shim(void)
{
  shim_api sh = {(void (*)(unsigned long, unsigned long, unsigned long))dlsym(RTLD_DEFAULT, "mpca_shim_arm"),
                 (void (*)(void))dlsym(RTLD_DEFAULT, "mpca_shim_disarm"),
                 (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "mpca_shim_calls"),
                 (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "mpca_shim_failed")};
  if (sh.arm == NULL || sh.disarm == NULL || sh.calls == NULL || sh.failed == NULL) {
    fprintf(stderr, "SKIP: mmap_shim.so is not preloaded\n");
    return 77;
  }
  /* MPCA_CHECK_QUICK (package builds): every 7th N only */
  const char *quick = getenv("MPCA_CHECK_QUICK");
  unsigned long stride = quick && *quick && strcmp(quick, "0") != 0 ? 7 : 1;
  figures base = baseline();
  unsigned long failed = 0, runs = 0;
  uint64_t nulls = 0;
  /* the calls a run makes vary (threads): sweep up to the most seen */
  unsigned long most = shim_run(&sh, &base, 0, 0, 0, &failed, &nulls);
  for (unsigned long n = 1; n <= most; n += stride, runs++) {
    unsigned long c = shim_run(&sh, &base, n, 1, 0, &failed, &nulls);
    most = c > most ? c : most;
  }
  printf("one failure at call N, N = 1..%lu by %lu: %lu calls failed, %llu NULLs\n", most, stride, failed,
         (unsigned long long)nulls);
  failed = 0;
  nulls = 0;
  for (unsigned long n = 1; n <= most; n += SHIM_STRIDE * stride, runs++)
    shim_run(&sh, &base, n, ULONG_MAX, 0, &failed, &nulls);
  printf("every call from N on, N = 1..%lu by %lu: %lu calls failed, %llu NULLs\n", most, SHIM_STRIDE * stride,
         failed, (unsigned long long)nulls);
  failed = 0;
  nulls = 0;
  for (unsigned long k = 2; k <= 16; k++, runs++)
    shim_run(&sh, &base, 0, 0, k, &failed, &nulls);
  printf("every k-th call, k = 2..16: %lu calls failed, %llu NULLs\n", failed, (unsigned long long)nulls);
  printf("%lu runs, each followed by a clean run: nothing left behind, no lock held\n", runs);
  return 0;
}

static int limit(unsigned long mib)
{
  figures base = baseline();
  struct rlimit old, lim;
  if (getrlimit(RLIMIT_AS, &old) != 0)
    WL_VIOLATION("getrlimit failed");
  unsigned long vsize = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%lu", &vsize) != 1)
    WL_VIOLATION("cannot read /proc/self/statm");
  fclose(f);
  lim = old;
  lim.rlim_cur = vsize * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)mib << 20);
  if (setrlimit(RLIMIT_AS, &lim) != 0)
    WL_VIOLATION("setrlimit failed: %s", strerror(errno));
  wl_run(&exported, 1);
  if (setrlimit(RLIMIT_AS, &old) != 0)
    WL_VIOLATION("setrlimit (back) failed: %s", strerror(errno));
  printf("%llu allocations, %llu NULL\n", (unsigned long long)atomic_load(&wl.allocs),
         (unsigned long long)atomic_load(&wl.nulls));
  after(&base);
  return 0;
}

int main(int argc, char **argv)
{
  alarm(WATCHDOG_SECONDS); /* default action ends the process: a hang fails */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "shim") == 0)
    return shim();
  if (argc == 3 && strcmp(argv[1], "rlimit") == 0)
    return limit(strtoul(argv[2], NULL, 10));
  fprintf(stderr, "usage: %s shim | rlimit MIB\n", argv[0]);
  return 2;
}
