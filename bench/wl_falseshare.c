/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "falseshare": allocator-induced false sharing, in the spirit of
 * Hoard's cache-thrash and cache-scratch tests. Two phases:
 *  - active: every thread allocates small objects and writes them hard. An
 *    allocator that hands neighbouring objects of one cache line to
 *    different threads makes the threads fight over that line.
 *  - passive: the main thread allocates one small object per thread (so they
 *    likely share a cache line) and hands them out; each thread frees its
 *    object and then allocates, writes and frees objects of the same size in
 *    a loop. An allocator that gives the freed (remote) object back to the
 *    freeing thread keeps the threads on one line.
 * Without false sharing both phases run at L1 speed; with it, many times
 * slower on hardware where cores have private caches. Because the cost
 * depends on the machine (on some VMs the two vCPUs barely feel it), the
 * program also counts the cause directly: the cache lines that held
 * objects of more than one thread during a phase (shared_lines_active,
 * shared_lines_passive in the result line; 0 is ideal). The written values
 * are checked after each object's writes. */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_OBJS, O_WRITES, O_SIZE };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads"},
  [O_OBJS] = {"objects", 40000, 4000, "objects per thread per phase"},
  [O_WRITES] = {"writes", 1000, 1000, "times each byte of an object is written"},
  [O_SIZE] = {"size", 8, 8, "object size (bytes)"},
};

static size_t objsize;
static uint64_t nobjs, nwrites;

#define LINE 64
#define SETCAP 4096 /* distinct lines remembered per thread and phase */

/* The cache lines a thread's objects touched during a phase (a small
 * open-addressing set; lines past its capacity are not remembered). */
typedef struct {
  uintptr_t line[SETCAP];
  size_t n;
} lineset;

static void lineset_add(lineset *s, const void *p, size_t size)
{
  for (uintptr_t l = (uintptr_t)p / LINE; l <= ((uintptr_t)p + size - 1) / LINE;
       l++) {
    size_t i = (size_t)(bench_hash(l) % SETCAP);
    while (s->line[i] != 0 && s->line[i] != l)
      i = (i + 1) % SETCAP;
    if (s->line[i] == 0) {
      if (s->n + 1 >= SETCAP * 3 / 4)
        return;
      s->line[i] = l;
      s->n++;
    }
  }
}

static bool lineset_has(const lineset *s, uintptr_t l)
{
  size_t i = (size_t)(bench_hash(l) % SETCAP);
  while (s->line[i] != 0) {
    if (s->line[i] == l)
      return true;
    i = (i + 1) % SETCAP;
  }
  return false;
}

typedef struct {
  pthread_t th;
  void *given; /* passive phase: the object handed over by main */
  uint64_t sum;
  lineset lines;
} worker;

/* Lines found in the sets of at least two threads. */
static size_t shared_lines(const worker *ws, size_t n)
{
  size_t shared = 0;
  for (size_t t = 0; t < n; t++)
    for (size_t i = 0; i < SETCAP; i++) {
      uintptr_t l = ws[t].lines.line[i];
      if (l == 0)
        continue;
      bool seen_before = false, seen_after = false;
      for (size_t u = 0; u < t && !seen_before; u++)
        seen_before = lineset_has(&ws[u].lines, l);
      for (size_t u = t + 1; u < n && !seen_after; u++)
        seen_after = lineset_has(&ws[u].lines, l);
      if (!seen_before && seen_after) /* count each line once */
        shared++;
    }
  return shared;
}

/* Write every byte of p `nwrites` times through volatile stores, then check. */
static uint64_t hammer(unsigned char *p, uint64_t salt)
{
  volatile unsigned char *v = p;
  for (size_t k = 0; k < objsize; k++)
    v[k] = (unsigned char)(salt + k);
  for (uint64_t w = 1; w < nwrites; w++)
    for (size_t k = 0; k < objsize; k++)
      v[k] = (unsigned char)(v[k] + 1);
  uint64_t sum = 0;
  for (size_t k = 0; k < objsize; k++) {
    unsigned char want = (unsigned char)(salt + k + nwrites - 1);
    BENCH_CHECK(v[k] == want);
    sum += v[k];
  }
  return sum;
}

static void *active(void *arg)
{
  worker *w = arg;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < nobjs; i++) {
    unsigned char *p = bench_xmalloc(objsize);
    lineset_add(&w->lines, p, objsize);
    sum += hammer(p, i);
    free(p);
  }
  w->sum += sum;
  return NULL;
}

static void *passive(void *arg)
{
  worker *w = arg;
  /* the handed-over object itself is not counted: only what the allocator
   * gives this thread afterwards */
  uint64_t sum = hammer(w->given, 7);
  free(w->given);
  for (uint64_t i = 0; i < nobjs; i++) {
    unsigned char *p = bench_xmalloc(objsize);
    lineset_add(&w->lines, p, objsize);
    sum += hammer(p, i);
    free(p);
  }
  w->sum += sum;
  return NULL;
}

static double run_phase(worker *ws, size_t n, void *(*fn)(void *))
{
  for (size_t t = 0; t < n; t++)
    memset(&ws[t].lines, 0, sizeof ws[t].lines);
  double t0 = bench_now();
  for (size_t t = 0; t < n; t++)
    if (pthread_create(&ws[t].th, NULL, fn, &ws[t]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  for (size_t t = 0; t < n; t++)
    pthread_join(ws[t].th, NULL);
  return bench_now() - t0;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Allocator-induced false sharing (active and passive, as in "
              "Hoard's cache-thrash and cache-scratch).",
              opts, BENCH_NOPTS(opts));
  size_t n = (size_t)opts[O_THREADS].value;
  nobjs = (uint64_t)opts[O_OBJS].value;
  nwrites = (uint64_t)opts[O_WRITES].value;
  objsize = (size_t)opts[O_SIZE].value;
  if (n == 0 || objsize == 0 || nwrites == 0)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  worker *ws = calloc(n, sizeof *ws);
  if (ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");

  double ta = run_phase(ws, n, active);
  size_t sa = shared_lines(ws, n);
  /* the objects handed out are allocated back to back by one thread */
  for (size_t t = 0; t < n; t++)
    ws[t].given = bench_xmalloc(objsize);
  double tp = run_phase(ws, n, passive);
  size_t sp = shared_lines(ws, n);

  uint64_t sum = 0;
  for (size_t t = 0; t < n; t++)
    sum += ws[t].sum;
  free(ws);
  printf("falseshare threads=%zu objects=%llu checksum=0x%016llx "
         "shared_lines_active=%zu shared_lines_passive=%zu active_secs=%.3f "
         "passive_secs=%.3f\n",
         n, (unsigned long long)(nobjs * n), (unsigned long long)sum, sa, sp,
         ta, tp);
  return 0;
}
