/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Threads and processes under the heap profiler (tests/prof/threads.sh,
 * libmpcalloc preloaded with MPCALLOC_PROF=1). One mode per run:
 *   exit DUMP   8 threads allocate from site_thread and exit with half of
 *               it still allocated, then 16 more, one after the other (their
 *               heaps are adopted); the main thread dumps the live profile
 *               into DUMP. Prints "site site_thread live BYTES".
 *   dump DIR    3 threads allocate and free blocks of 1 B to 3 MiB from
 *               site_worker (and free each other's), while the main thread
 *               dumps the live profile 20 times into DIR/dump-N.heap.
 *   fork        site_parent holds 8 MiB; a child process allocates 8 MiB
 *               from site_child, frees the parent's blocks, and exits
 *               (writing its own profiles); the parent waits, frees its
 *               blocks and exits. Prints "site NAME live BYTES" for both.
 * Exit 0, or 1 with a line on stderr. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sites.h"

static NOINLINE void *site_thread(size_t n) { return check(malloc(n), 1); }
static NOINLINE void *site_worker(size_t n) { return check(malloc(n), 2); }
static NOINLINE void *site_parent(size_t n) { return check(malloc(n), 3); }
static NOINLINE void *site_child(size_t n) { return check(malloc(n), 4); }

static int (*dump_fn)(const char *);

static void dump(const char *path)
{
  if (dump_fn == NULL)
    dump_fn = (int (*)(const char *))dlsym(RTLD_DEFAULT, "mpc_alloc_prof_dump");
  if (dump_fn == NULL || dump_fn(path) != 0) {
    fprintf(stderr, "prof_threads: mpc_alloc_prof_dump(%s): %s\n", path, dump_fn ? strerror(errno) : "not found");
    exit(1);
  }
}

/* ---- exit ------------------------------------------------------------------- */

static _Atomic size_t left_alive;

/* 2 MiB in blocks of 64 B to 8 KiB; half of them freed, the rest left. */
static void *thread_body(void *arg)
{
  unsigned seed = (unsigned)(uintptr_t)arg;
  enum { N = 2048 };
  void *v[N];
  size_t size[N], total = 0;
  for (int i = 0; i < N; i++) {
    size[i] = (size_t)64 << (rand_r(&seed) % 8);
    v[i] = site_thread(size[i]);
  }
  for (int i = 0; i < N; i++) {
    if (i % 2)
      free(v[i]);
    else
      total += malloc_usable_size(v[i]);
  }
  atomic_fetch_add(&left_alive, total);
  return NULL;
}

static int mode_exit(const char *path)
{
  pthread_t t[8];
  for (int i = 0; i < 8; i++)
    if (pthread_create(&t[i], NULL, thread_body, (void *)(uintptr_t)(i + 1)) != 0)
      return 1;
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < 16; i++) {
    pthread_t one;
    if (pthread_create(&one, NULL, thread_body, (void *)(uintptr_t)(i + 100)) != 0)
      return 1;
    pthread_join(one, NULL);
  }
  dump(path);
  printf("site site_thread live %zu\n", atomic_load(&left_alive));
  return 0;
}

/* ---- dump while others allocate -------------------------------------------- */

#define SLOTS 512
static _Atomic(void *) slots[SLOTS];
static _Atomic int stop;

static void *worker(void *arg)
{
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!atomic_load(&stop)) {
    unsigned r = (unsigned)rand_r(&seed);
    size_t n = r % 100 < 90 ? 1 + r % 2048 : r % 100 < 99 ? 1 + r % (256 << 10) : 1 + r % (3 * MIB);
    void *p = site_worker(n);
    void *old = atomic_exchange(&slots[r % SLOTS], p); /* often another thread's */
    free(old);
  }
  return NULL;
}

static int mode_dump(const char *dir)
{
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 7)) != 0)
      return 1;
  for (int k = 1; k <= 20; k++) {
    char path[4096];
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    snprintf(path, sizeof path, "%s/dump-%d.heap", dir, k);
    dump(path);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < SLOTS; i++)
    free(atomic_load(&slots[i]));
  return 0;
}

/* ---- fork ------------------------------------------------------------------- */

static size_t hold(void *(*site)(size_t), void **v, int n, size_t size)
{
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    v[i] = site(size);
    total += malloc_usable_size(v[i]);
  }
  return total;
}

static int mode_fork(void)
{
  enum { N = 8192 }; /* 8 MiB of 1 KiB blocks */
  static void *mine[N], *theirs[N];
  size_t parent = hold(site_parent, mine, N, 1024);
  printf("site site_parent live %zu\n", parent);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    size_t child = hold(site_child, theirs, N, 1024);
    printf("site site_child live %zu\n", child);
    for (int i = 0; i < N; i++)
      free(mine[i]);
    exit(0); /* the profiles at exit, the child's own */
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "prof_threads: the child failed (status %d)\n", status);
    return 1;
  }
  for (int i = 0; i < N; i++)
    free(mine[i]);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "exit") == 0)
    return mode_exit(argv[2]);
  if (argc == 3 && strcmp(argv[1], "dump") == 0)
    return mode_dump(argv[2]);
  if (argc == 2 && strcmp(argv[1], "fork") == 0)
    return mode_fork();
  fprintf(stderr, "usage: prof_threads exit DUMP | dump DIR | fork\n");
  return 2;
}
