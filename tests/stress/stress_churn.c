/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Thread churn: 10,000 threads created and joined in waves of 100. Each
 * thread allocates small, medium and sometimes huge blocks, checks and frees
 * most of them, and leaves the rest behind; the threads of the next wave
 * free those after their owner has exited (so they reach an abandoned heap).
 * Heaps of exited threads must be adopted and blocks freed after their
 * thread's exit reclaimed. Two bounds on figures after the first wave (with
 * a floor, so that tiny figures do not make the test flaky): the address
 * space mapped (VmSize) and the resident size, both at most 2x, once the
 * free memory the allocator keeps by design (its cache, bounded by
 * MPCALLOC_RETAIN_MAX) is released with mpc_alloc_release(0). The raw
 * resident size is printed too: it includes that cache, which grows dirty
 * as reused blocks are touched in new places, up to the mapped size. */
#include <malloc.h>
#include <mpcalloc.h>
#include <pthread.h>
#include <stdbool.h>
#include "stress.h"

enum { WAVE = 100, NWAVES = 100, NSMALL = 40, NMEDIUM = 6, NLEFT = 12 };
#define RSS_FLOOR ((size_t)32 << 20)

typedef struct block {
  unsigned char *p;
  size_t size;
  uint64_t id;
} block;

/* leftovers[w % 2][thread][k]: blocks left by thread `thread` of wave w */
static block leftovers[2][WAVE][NLEFT];

typedef struct job {
  int wave, index;
} job;

static void check_and_free(block *b)
{
  if (b->p == NULL)
    return;
  size_t bad = pattern_verify(b->p, b->size, b->id);
  REQUIRE(bad == b->size, "block id %llu (%zu bytes at %p) corrupted at byte %zu", (unsigned long long)b->id,
          b->size, (void *)b->p, bad);
  free(b->p);
  b->p = NULL;
}

static void *thread_main(void *arg)
{
  const job *j = arg;
  uint64_t rs = (uint64_t)(j->wave * WAVE + j->index) * 2654435761u + 1;
  block mine[NSMALL + NMEDIUM + 1];
  int n = 0;
  for (int k = 0; k < NSMALL; k++) {
    size_t size = 1 + st_rand(&rs) % 1024;
    mine[n++] = (block){malloc(size), size, 0};
  }
  for (int k = 0; k < NMEDIUM; k++) {
    size_t size = 1025 + st_rand(&rs) % (200 * KiB);
    mine[n++] = (block){malloc(size), size, 0};
  }
  if (j->index % 8 == 0) {
    size_t size = MiB + MiB / 2 + st_rand(&rs) % (3 * MiB / 2);
    mine[n++] = (block){malloc(size), size, 0};
  }
  for (int k = 0; k < n; k++) {
    REQUIRE(mine[k].p != NULL, "malloc(%zu) failed in wave %d", mine[k].size, j->wave);
    mine[k].id = ((uint64_t)j->wave << 32) | ((uint64_t)j->index << 16) | (uint64_t)k;
    pattern_fill(mine[k].p, mine[k].size, mine[k].id);
  }
  /* free what a thread of the previous wave (now exited) left behind */
  if (j->wave > 0) {
    block *prev = leftovers[(j->wave - 1) % 2][(j->index + 37) % WAVE];
    for (int k = 0; k < NLEFT; k++)
      check_and_free(&prev[k]);
  }
  /* leave some of ours (small, medium and the huge one) for the next wave */
  block *left = leftovers[j->wave % 2][j->index];
  int l = 0;
  for (int k = 0; k < n; k++) {
    bool leave = k < NSMALL ? k % 8 == 1 : k < NSMALL + NMEDIUM ? k % 2 == 0 : true;
    if (leave && l < NLEFT) {
      left[l++] = mine[k];
      continue;
    }
    check_and_free(&mine[k]);
  }
  return NULL;
}

int main(void)
{
  st_watchdog(400);
  double t0 = st_now();
  static job jobs[WAVE];
  pthread_t t[WAVE];
  size_t vs, rss_first = 0, rss, rss_peak = 0, vs_first = 0, kept_first = 0, vkept_first = 0;
  for (int w = 0; w < NWAVES; w++) {
    for (int i = 0; i < WAVE; i++) {
      jobs[i] = (job){w, i};
      int rc = pthread_create(&t[i], NULL, thread_main, &jobs[i]);
      REQUIRE(rc == 0, "pthread_create in wave %d: %s", w, strerror(rc));
    }
    for (int i = 0; i < WAVE; i++)
      pthread_join(t[i], NULL);
    st_statm(&vs, &rss);
    if (w == 0) {
      rss_first = rss;
      vs_first = vs;
      mpc_alloc_release(0);
      st_statm(&vkept_first, &kept_first);
    }
    if (rss > rss_peak)
      rss_peak = rss;
    if (w % 10 == 0 || w == NWAVES - 1)
      printf("after %5d threads: RSS %6.1f MiB, VmSize %7.1f MiB\n", (w + 1) * WAVE, (double)rss / MiB,
             (double)vs / MiB);
  }
  /* the last wave's leftovers: freed by the main thread */
  for (int i = 0; i < WAVE; i++)
    for (int k = 0; k < NLEFT; k++)
      check_and_free(&leftovers[(NWAVES - 1) % 2][i][k]);
  st_statm(&vs, &rss);
  size_t vs_end = vs, rss_end = rss, kept_end, vkept_end;
  mpc_alloc_release(0);
  st_statm(&vkept_end, &kept_end);
  size_t base = kept_first > RSS_FLOOR ? kept_first : RSS_FLOOR;
  size_t vbase = vkept_first > RSS_FLOOR ? vkept_first : RSS_FLOOR;
  printf("%d threads in %.1f s; after the first %d: RSS %.1f MiB (%.1f MiB without the cache), VmSize %.1f MiB; "
         "peak RSS %.1f MiB; at the end: RSS %.1f MiB (%.1f MiB without the cache), VmSize %.1f MiB\n",
         NWAVES * WAVE, st_now() - t0, WAVE, (double)rss_first / MiB, (double)kept_first / MiB, (double)vs_first / MiB,
         (double)rss_peak / MiB, (double)rss_end / MiB, (double)kept_end / MiB, (double)vs_end / MiB);
  printf("VmSize without the cache: %.1f MiB after the first wave, %.1f MiB at the end\n", (double)vkept_first / MiB,
         (double)vkept_end / MiB);
  REQUIRE(kept_end <= 2 * base, "resident memory not counting the cache grew from %.1f MiB to %.1f MiB over the "
          "thread churn: memory of exited threads is not reclaimed", (double)kept_first / MiB, (double)kept_end / MiB);
  /* The address space at the end follows how many threads the scheduler let
   * overlap (each needs a heap): up to 3x the first wave's on a loaded
   * machine. Once the cache is released, what stays mapped is what heaps
   * hold: it must not grow. */
  REQUIRE(vkept_end <= 2 * vbase, "mapped memory without the cache grew from %.1f MiB to %.1f MiB over the thread "
          "churn", (double)vkept_first / MiB, (double)vkept_end / MiB);
  return 0;
}
