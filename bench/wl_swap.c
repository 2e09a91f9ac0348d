/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "swap": ownership swaps. A table of slots is cut into one part
 * per thread; in every round each thread replaces every block of its part
 * (verifies and frees the old block, allocates and stamps a new one), then
 * all threads meet at a barrier and the parts move on by one thread. So
 * every block is freed by another thread than the one that made it, in
 * every direction at once, and each thread's frees come in bursts of a
 * whole part: the pattern of codes that pass halves of a shared structure
 * between phases (a distributed table, a double-buffered mesh). */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_SLOTS, O_ROUNDS, O_MIN, O_MAX, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads (one part of the table each)"},
  [O_SLOTS] = {"slots", 40000, 40000, "slots of the table (all parts)"},
  [O_ROUNDS] = {"rounds", 400, 40, "rounds (every slot replaced once per round)"},
  [O_MIN] = {"min", 16, 16, "smallest block (bytes)"},
  [O_MAX] = {"max", 512, 512, "largest block (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

typedef struct {
  void *p;
  uint64_t tag; /* size in the low 16 bits */
} slot;

typedef struct {
  pthread_t th;
  unsigned id;
  bench_rng rng;
  uint64_t made, freed;
} worker;

static slot *table;
static size_t nslots, nthreads, part, minsz, maxsz;
static uint64_t rounds;
static pthread_barrier_t barrier;

static void *work(void *arg)
{
  worker *w = arg;
  uint64_t made = 0, freed = 0;
  for (uint64_t r = 0; r < rounds; r++) {
    size_t which = (w->id + r) % nthreads;
    slot *s = table + which * part;
    for (size_t i = 0; i < part; i++) {
      if (s[i].p != NULL) {
        size_t size = (size_t)(s[i].tag & 0xFFFF);
        BENCH_CHECK(bench_stamp_ok(s[i].p, size, s[i].tag));
        freed += s[i].tag;
        free(s[i].p);
      }
      size_t size = bench_rng_range(&w->rng, minsz, maxsz);
      uint64_t tag = (bench_hash(bench_rng_next(&w->rng)) & ~(uint64_t)0xFFFF) | size;
      void *p = bench_xmalloc(size);
      BENCH_CHECK(bench_aligned(p, size));
      bench_stamp(p, size, tag);
      s[i].p = p;
      s[i].tag = tag;
      made += tag;
    }
    pthread_barrier_wait(&barrier);
  }
  w->made = made;
  w->freed = freed;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Ownership swaps: threads replace the blocks of their part of a shared table, "
              "then the parts move on to the next thread (every free is remote).",
              opts, BENCH_NOPTS(opts));
  nthreads = (size_t)opts[O_THREADS].value;
  nslots = (size_t)opts[O_SLOTS].value;
  rounds = (uint64_t)opts[O_ROUNDS].value;
  minsz = (size_t)opts[O_MIN].value;
  maxsz = (size_t)opts[O_MAX].value;
  if (nthreads == 0 || nslots < nthreads || minsz < 8 || maxsz < minsz || maxsz > 0xFFFF)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  part = nslots / nthreads;
  table = calloc(part * nthreads, sizeof *table);
  worker *ws = calloc(nthreads, sizeof *ws);
  if (table == NULL || ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  if (pthread_barrier_init(&barrier, NULL, (unsigned)nthreads) != 0)
    bench_die(BENCH_EXIT_VERIFY, "pthread_barrier_init failed");
  double t0 = bench_now();
  for (size_t t = 0; t < nthreads; t++) {
    ws[t].id = (unsigned)t;
    bench_rng_seed(&ws[t].rng, (uint64_t)opts[O_SEED].value * 1000 + t);
    if (pthread_create(&ws[t].th, NULL, work, &ws[t]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  }
  uint64_t made = 0, freed = 0;
  for (size_t t = 0; t < nthreads; t++) {
    pthread_join(ws[t].th, NULL);
    made += ws[t].made;
    freed += ws[t].freed;
  }
  double t = bench_now() - t0;
  /* what is left in the table accounts for the difference */
  uint64_t left = 0;
  for (size_t i = 0; i < part * nthreads; i++) {
    if (table[i].p == NULL)
      continue;
    BENCH_CHECK(bench_stamp_ok(table[i].p, (size_t)(table[i].tag & 0xFFFF), table[i].tag));
    left += table[i].tag;
    free(table[i].p);
  }
  BENCH_CHECK(made == freed + left);
  pthread_barrier_destroy(&barrier);
  free(table);
  free(ws);
  printf("swap threads=%zu slots=%zu rounds=%llu checksum=0x%016llx secs=%.3f\n", nthreads, part * nthreads,
         (unsigned long long)rounds, (unsigned long long)made, t);
  return bench_finish();
}
