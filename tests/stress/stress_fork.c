/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * fork() from a multi-threaded program. Three threads keep allocating,
 * checking and freeing blocks of every size class while the main thread (and
 * then one of the busy threads) forks again and again. Each child checks
 * blocks it inherited (one allocated by the forking thread, one by another
 * thread), frees them, allocates in every size class, starts threads that
 * allocate (twice, so the second ones adopt the first ones' heaps), and exits
 * 0. The parent requires every child to exit 0 within its watchdog: a lock
 * left held across fork shows as a hang, a corrupted heap as a crash. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include "stress.h"

enum { NWORKERS = 3, NFORKS_MAIN = 16, NFORKS_WORKER = 6, CHILD_THREADS = 4 };

static atomic_bool stop;
static _Atomic int fork_failures;

/* blocks made before the forks, checked and freed by each child */
typedef struct block {
  unsigned char *p;
  size_t size;
  uint64_t id;
} block;
static block from_main, from_worker[NWORKERS];

static void make(block *b, size_t size, uint64_t id)
{
  b->p = malloc(size);
  REQUIRE(b->p != NULL, "malloc(%zu) failed", size);
  b->size = size;
  b->id = id;
  pattern_fill(b->p, size, id);
}

static void check_and_free(block *b, const char *who)
{
  size_t bad = pattern_verify(b->p, b->size, b->id);
  REQUIRE(bad == b->size, "%s: block %p of %zu bytes corrupted at byte %zu", who, (void *)b->p, b->size, bad);
  free(b->p);
  b->p = NULL;
}

/* Allocate, check and free a mix of sizes; `rounds` times 64 blocks, of
 * which `huge` percent above 1 MiB (fresh huge pages cost page faults). */
static void churn(uint64_t seed, int rounds, unsigned huge)
{
  uint64_t rs = seed | 1;
  block b[64];
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < 64; i++) {
      uint64_t x = st_rand(&rs) % 100;
      size_t size = x < 80 ? 1 + st_rand(&rs) % 1024
                   : x < 100 - huge ? 1025 + st_rand(&rs) % (300 * KiB)
                                    : MiB + st_rand(&rs) % (2 * MiB);
      if (x % 5 == 0) {
        b[i].p = calloc(1, size);
        REQUIRE(b[i].p != NULL, "calloc(%zu) failed", size);
        for (size_t k = 0; k < size; k += 61)
          REQUIRE(b[i].p[k] == 0, "calloc(%zu): byte %zu not zero", size, k);
        b[i].size = size;
        b[i].id = st_rand(&rs);
        pattern_fill(b[i].p, size, b[i].id);
      } else {
        make(&b[i], size, st_rand(&rs));
      }
    }
    for (int i = 0; i < 64; i++)
      check_and_free(&b[i], "churn");
  }
}

static void *child_thread(void *arg)
{
  churn((uint64_t)(intptr_t)arg, 1, 1);
  return NULL;
}

/* What a child does; never returns. */
static void child(int n)
{
  st_watchdog(150);
  check_and_free(&from_main, "child: block of the forking thread's parent heap");
  for (int i = 0; i < NWORKERS; i++)
    check_and_free(&from_worker[i], "child: block of another thread of the parent");
  churn(1000u + (unsigned)n, 2, 2);
  for (int wave = 0; wave < 2; wave++) {
    pthread_t t[CHILD_THREADS];
    for (int i = 0; i < CHILD_THREADS; i++)
      REQUIRE(pthread_create(&t[i], NULL, child_thread, (void *)(intptr_t)(n * 100 + wave * 10 + i)) == 0,
              "child %d: pthread_create failed", n);
    for (int i = 0; i < CHILD_THREADS; i++)
      pthread_join(t[i], NULL);
  }
  churn(2000u + (unsigned)n, 1, 2);
  _exit(0);
}

static void fork_once(int n)
{
  pid_t pid = fork();
  REQUIRE(pid >= 0, "fork failed: %s", strerror(errno));
  if (pid == 0)
    child(n);
  int status;
  pid_t w;
  while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  REQUIRE(w == pid, "waitpid failed: %s", strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: child %d %s %d\n", n, WIFSIGNALED(status) ? "killed by signal" : "exited with",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    atomic_fetch_add(&fork_failures, 1);
  }
}

static void *worker(void *arg)
{
  int me = (int)(intptr_t)arg;
  uint64_t seed = (uint64_t)me * 7919 + 1;
  /* the last worker also forks, while the others keep allocating */
  int forks = me == NWORKERS - 1 ? NFORKS_WORKER : 0;
  while (!atomic_load(&stop)) {
    churn(seed++, 1, 3);
    if (forks > 0 && seed % 3 == 0) {
      fork_once(1000 + forks);
      forks--;
    }
  }
  while (forks-- > 0)
    fork_once(1000 + forks);
  return NULL;
}

static void *make_worker_block(void *arg)
{
  int i = (int)(intptr_t)arg;
  make(&from_worker[i], i == 0 ? 100 : i == 1 ? 200 * KiB : 3 * MiB, 500u + (unsigned)i);
  return NULL;
}

int main(void)
{
  st_watchdog(500);
  double t0 = st_now();
  make(&from_main, 5000, 42);
  for (int i = 0; i < NWORKERS; i++) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, make_worker_block, (void *)(intptr_t)i) == 0, "pthread_create");
    pthread_join(t, NULL);
  }
  pthread_t w[NWORKERS];
  for (int i = 0; i < NWORKERS; i++)
    REQUIRE(pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i) == 0, "pthread_create");
  for (int n = 0; n < NFORKS_MAIN; n++) {
    churn((uint64_t)n * 31 + 5, 1, 3);
    fork_once(n);
  }
  atomic_store(&stop, true);
  for (int i = 0; i < NWORKERS; i++)
    pthread_join(w[i], NULL);
  /* the parent's copies are intact and still freeable */
  check_and_free(&from_main, "parent");
  for (int i = 0; i < NWORKERS; i++)
    check_and_free(&from_worker[i], "parent");
  int failed = atomic_load(&fork_failures);
  printf("%d forks from a threaded program in %.1f s, %d failed\n", NFORKS_MAIN + NFORKS_WORKER, st_now() - t0,
         failed);
  return failed == 0 ? 0 : 1;
}
