/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "mid": blocks of 1 to 32 KiB, the sizes of strings, I/O buffers
 * and the arrays inside C++ containers. Each thread keeps a set of slots and
 * replaces a random one at every step with a block of a random size in
 * [--min, --max] (uniform), written over its first and last --touch bytes
 * (a program fills what it allocates; the whole block with --touch 0) and
 * checked before it is freed. One step in --pass-every puts the block into
 * the next thread's set instead, so that thread frees it later (remote). */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_STEPS, O_SLOTS, O_MIN, O_MAX, O_TOUCH, O_PASS, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads (each with its own slots)"},
  [O_STEPS] = {"steps", 4000000, 400000, "replacements per thread"},
  [O_SLOTS] = {"slots", 1000, 1000, "live blocks per thread"},
  [O_MIN] = {"min", 1024, 1024, "smallest block (bytes)"},
  [O_MAX] = {"max", 32768, 32768, "largest block (bytes)"},
  [O_TOUCH] = {"touch", 256, 256, "bytes written at each end (0: the whole block)"},
  [O_PASS] = {"pass-every", 16, 16, "one block in this many goes to the next thread (0: never)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

/* A block starts with its tag (size in the low 16 bits): slots hold only
 * the pointer, swapped atomically since two threads may use one slot. */
typedef _Atomic(void *) slot;

typedef struct {
  pthread_t th;
  unsigned id;
  uint64_t made, freed;
} worker;

static slot *table; /* nthreads parts of nslots */
static size_t nthreads, nslots, minsz, maxsz, touch;
static uint64_t steps, pass_every, seed;

static void fill(unsigned char *b, size_t size, uint64_t tag)
{
  size_t t = touch == 0 || 2 * touch > size ? size : touch;
  memset(b, (int)(tag >> 16), t);
  memset(b + size - t, (int)(tag >> 24), t);
  bench_stamp(b, size, tag);
}

static void *work(void *arg)
{
  worker *w = arg;
  bench_rng r;
  bench_rng_seed(&r, seed * 1000 + w->id);
  uint64_t made = 0, freed = 0;
  for (uint64_t step = 0; step < steps; step++) {
    /* usually a slot of our own part, now and then one of the next part */
    size_t owner = w->id;
    if (pass_every != 0 && nthreads > 1 && bench_rng_below(&r, pass_every) == 0)
      owner = (w->id + 1) % nthreads;
    slot *s = &table[owner * nslots + bench_rng_below(&r, nslots)];
    size_t size = bench_rng_range(&r, minsz, maxsz);
    uint64_t tag = (bench_hash(bench_rng_next(&r)) & ~(uint64_t)0xFFFF) | size;
    unsigned char *p = bench_xmalloc(size);
    BENCH_CHECK(bench_aligned(p, size));
    fill(p, size, tag);
    made += tag;
    void *old = atomic_exchange_explicit(s, (void *)p, memory_order_acq_rel);
    if (old != NULL) {
      uint64_t old_tag;
      memcpy(&old_tag, old, 8);
      BENCH_CHECK(bench_stamp_ok(old, (size_t)(old_tag & 0xFFFF), old_tag));
      freed += old_tag;
      free(old);
    }
  }
  w->made = made;
  w->freed = freed;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Blocks of 1-32 KiB with random lifetimes, filled at both ends; one in 16 "
              "is passed to another thread.",
              opts, BENCH_NOPTS(opts));
  nthreads = (size_t)opts[O_THREADS].value;
  steps = (uint64_t)opts[O_STEPS].value;
  nslots = (size_t)opts[O_SLOTS].value;
  minsz = (size_t)opts[O_MIN].value;
  maxsz = (size_t)opts[O_MAX].value;
  touch = (size_t)opts[O_TOUCH].value;
  pass_every = (uint64_t)opts[O_PASS].value;
  seed = (uint64_t)opts[O_SEED].value;
  if (nthreads == 0 || nslots == 0 || minsz < 16 || maxsz < minsz || maxsz > 0xFFFF)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  table = calloc(nthreads * nslots, sizeof *table);
  worker *ws = calloc(nthreads, sizeof *ws);
  if (table == NULL || ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  double t0 = bench_now();
  for (size_t t = 0; t < nthreads; t++) {
    ws[t].id = (unsigned)t;
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
  for (size_t i = 0; i < nthreads * nslots; i++) {
    void *p = atomic_load(&table[i]);
    if (p == NULL)
      continue;
    uint64_t tag;
    memcpy(&tag, p, 8);
    BENCH_CHECK(bench_stamp_ok(p, (size_t)(tag & 0xFFFF), tag));
    freed += tag;
    free(p);
  }
  BENCH_CHECK(made == freed);
  free(table);
  free(ws);
  printf("mid threads=%zu steps=%llu checksum=0x%016llx secs=%.3f\n", nthreads,
         (unsigned long long)(steps * nthreads), (unsigned long long)made, t);
  return bench_finish();
}
