/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "larson": a server-like pattern after Larson and Krishnan's
 * benchmark. Worker threads repeatedly replace random slots of one shared
 * array of blocks (8 B - 1 KiB): allocate a new block, swap it into the
 * slot atomically, free the old one. The old block was usually born on
 * another thread, so most frees are remote. Workers also retire after a
 * share of their work and are replaced by fresh threads (generations), so
 * blocks outlive the thread that allocated them. Every block records its
 * size and a stamp, checked by whichever thread frees it. */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>

enum { O_THREADS, O_OPS, O_SLOTS, O_GENS, O_MIN, O_MAX, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "worker threads running at once"},
  [O_OPS] = {"ops", 8000000, 800000, "replacements per worker (all generations)"},
  [O_SLOTS] = {"slots", 20000, 20000, "slots of the shared array"},
  [O_GENS] = {"generations", 4, 2, "threads each worker's work is split into"},
  [O_MIN] = {"min", 8, 8, "smallest block (bytes)"},
  [O_MAX] = {"max", 1024, 1024, "largest block (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

static _Atomic(void *) *slots;
static size_t nslots, minsz, maxsz;

/* The tag word holds the block size in its low 16 bits. */
static void *make_block(bench_rng *r, uint64_t *sum)
{
  size_t size = bench_rng_range(r, minsz, maxsz);
  uint64_t tag = (bench_hash(bench_rng_next(r)) & ~(uint64_t)0xFFFF) | size;
  void *p = bench_xmalloc(size);
  BENCH_CHECK(bench_aligned(p, size));
  bench_stamp(p, size, tag);
  *sum += tag;
  return p;
}

static uint64_t kill_block(void *p)
{
  uint64_t tag;
  memcpy(&tag, p, 8);
  size_t size = (size_t)(tag & 0xFFFF);
  BENCH_CHECK(size >= minsz && size <= maxsz);
  BENCH_CHECK(bench_stamp_ok(p, size, tag));
  free(p);
  return tag;
}

typedef struct {
  pthread_t th;
  bench_rng rng;
  uint64_t ops;
  uint64_t made, freed; /* sums of the tags */
} worker;

static void *work(void *arg)
{
  worker *w = arg;
  uint64_t made = 0, freed = 0;
  for (uint64_t n = 0; n < w->ops; n++) {
    void *p = make_block(&w->rng, &made);
    size_t i = (size_t)bench_rng_below(&w->rng, nslots);
    void *old = atomic_exchange_explicit(&slots[i], p, memory_order_acq_rel);
    freed += kill_block(old);
  }
  w->made += made;
  w->freed += freed;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Larson-style server: threads replace random slots of a shared "
              "array, so blocks die on other threads.",
              opts, BENCH_NOPTS(opts));
  size_t nthreads = (size_t)opts[O_THREADS].value;
  uint64_t ops = (uint64_t)opts[O_OPS].value;
  uint64_t gens = (uint64_t)opts[O_GENS].value;
  nslots = (size_t)opts[O_SLOTS].value;
  minsz = (size_t)opts[O_MIN].value;
  maxsz = (size_t)opts[O_MAX].value;
  if (nthreads == 0 || nslots == 0 || gens == 0 || minsz < 8 || maxsz < minsz ||
      maxsz > 0xFFFF)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");

  slots = calloc(nslots, sizeof *slots);
  worker *ws = calloc(nthreads, sizeof *ws);
  if (slots == NULL || ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  bench_rng r;
  bench_rng_seed(&r, (uint64_t)opts[O_SEED].value);
  uint64_t made = 0, freed = 0;
  for (size_t i = 0; i < nslots; i++)
    atomic_init(&slots[i], make_block(&r, &made));
  for (size_t t = 0; t < nthreads; t++)
    bench_rng_seed(&ws[t].rng, (uint64_t)opts[O_SEED].value * 1000 + t + 1);

  double t0 = bench_now();
  for (uint64_t g = 0; g < gens; g++) {
    for (size_t t = 0; t < nthreads; t++) {
      ws[t].ops = ops / gens + (g < ops % gens ? 1 : 0);
      if (pthread_create(&ws[t].th, NULL, work, &ws[t]) != 0)
        bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
    }
    for (size_t t = 0; t < nthreads; t++)
      pthread_join(ws[t].th, NULL);
  }
  for (size_t i = 0; i < nslots; i++)
    freed += kill_block(atomic_load(&slots[i]));
  double secs = bench_now() - t0;
  for (size_t t = 0; t < nthreads; t++) {
    made += ws[t].made;
    freed += ws[t].freed;
  }
  /* every block made was freed exactly once */
  BENCH_CHECK(made == freed);
  free(ws);
  free(slots);
  printf("larson threads=%zu ops=%llu checksum=0x%016llx secs=%.3f\n",
         nthreads, (unsigned long long)(ops * nthreads),
         (unsigned long long)made, secs);
  return 0;
}
