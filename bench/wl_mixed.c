/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "mixed": random sizes over the whole range, random lifetimes.
 * Each thread keeps a set of slots and replaces a random one at every step;
 * the size is drawn from a log-uniform distribution between --min and --max
 * (8 B to 4 MiB by default, so every doubling is as likely: small classes,
 * medium blocks and huge blocks all take turns), and one request in
 * --aligned-every goes through posix_memalign with a random alignment of 16
 * B to 64 KiB. Blocks are stamped at both ends and checked before they are
 * freed; a misaligned answer is flagged. Unlike "sizes" (batches of one
 * size), the allocator never sees two requests of the same shape in a row. */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_STEPS, O_SLOTS, O_MIN, O_MAX, O_ALIGNED, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads (each with its own slots)"},
  [O_STEPS] = {"steps", 2000000, 200000, "replacements per thread"},
  [O_SLOTS] = {"slots", 2000, 2000, "live blocks per thread"},
  [O_MIN] = {"min", 8, 8, "smallest request (bytes)"},
  [O_MAX] = {"max", 4 << 20, 4 << 20, "largest request (bytes)"},
  [O_ALIGNED] = {"aligned-every", 8, 8, "one request in this many is posix_memalign (0: none)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

#define MAX_ALIGN_LOG 16 /* 64 KiB */

typedef struct {
  void *p;
  size_t size;
  uint64_t tag;
} blk;

typedef struct {
  pthread_t th;
  uint64_t seed, sum, aligned;
} worker;

static uint64_t steps, aligned_every;
static size_t nslots, minsz, maxsz;
static double log_min, log_span;

static void stamp2(void *p, size_t size, uint64_t tag)
{
  unsigned char *b = p;
  uint64_t t2 = ~tag;
  memcpy(b, &tag, 8);
  if (size >= 16)
    memcpy(b + size - 8, &t2, 8);
}

static bool stamp2_ok(const void *p, size_t size, uint64_t tag)
{
  const unsigned char *b = p;
  uint64_t a, z = ~tag;
  memcpy(&a, b, 8);
  if (size >= 16)
    memcpy(&z, b + size - 8, 8);
  return a == tag && z == ~tag;
}

/* log-uniform in [minsz, maxsz], from the top 53 bits of the PRNG */
static size_t pick_size(bench_rng *r)
{
  double u = (double)(bench_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
  double s = __builtin_exp(log_min + u * log_span);
  size_t size = (size_t)s;
  return size < minsz ? minsz : size > maxsz ? maxsz : size;
}

static void *work(void *arg)
{
  worker *w = arg;
  bench_rng r;
  bench_rng_seed(&r, w->seed);
  blk *b = calloc(nslots, sizeof *b);
  if (b == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  uint64_t sum = 0, nal = 0;
  for (uint64_t step = 0; step < steps; step++) {
    blk *s = &b[bench_rng_below(&r, nslots)];
    if (s->p != NULL) {
      BENCH_CHECK(stamp2_ok(s->p, s->size, s->tag));
      sum += s->tag ^ s->size;
      free(s->p);
    }
    size_t size = pick_size(&r);
    void *p = NULL;
    if (aligned_every != 0 && bench_rng_below(&r, aligned_every) == 0) {
      size_t al = (size_t)16 << bench_rng_below(&r, MAX_ALIGN_LOG - 4 + 1);
      BENCH_CHECK(posix_memalign(&p, al, size) == 0 && p != NULL);
      if (((uintptr_t)p & (al - 1)) != 0)
        bench_flag("posix_memalign(%zu, %zu) returned %p, misaligned", al, size, p);
      nal++;
    } else {
      p = bench_xmalloc(size);
      BENCH_CHECK(bench_aligned(p, size));
    }
    s->p = p;
    s->size = size;
    s->tag = bench_hash(w->seed ^ (step << 8));
    stamp2(p, size, s->tag);
  }
  for (size_t i = 0; i < nslots; i++)
    if (b[i].p != NULL) {
      BENCH_CHECK(stamp2_ok(b[i].p, b[i].size, b[i].tag));
      sum += b[i].tag ^ b[i].size;
      free(b[i].p);
    }
  free(b);
  w->sum = sum;
  w->aligned = nal;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Random sizes 8 B - 4 MiB (log-uniform) with random lifetimes, one request "
              "in 8 through posix_memalign.",
              opts, BENCH_NOPTS(opts));
  size_t n = (size_t)opts[O_THREADS].value;
  steps = (uint64_t)opts[O_STEPS].value;
  nslots = (size_t)opts[O_SLOTS].value;
  minsz = (size_t)opts[O_MIN].value;
  maxsz = (size_t)opts[O_MAX].value;
  aligned_every = (uint64_t)opts[O_ALIGNED].value;
  if (n == 0 || nslots == 0 || minsz < 8 || maxsz < minsz)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  log_min = __builtin_log((double)minsz);
  log_span = __builtin_log((double)maxsz + 1) - log_min;
  worker *ws = calloc(n, sizeof *ws);
  if (ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  double t0 = bench_now();
  for (size_t t = 0; t < n; t++) {
    ws[t].seed = (uint64_t)opts[O_SEED].value * 1000 + t;
    if (pthread_create(&ws[t].th, NULL, work, &ws[t]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  }
  uint64_t sum = 0, nal = 0;
  for (size_t t = 0; t < n; t++) {
    pthread_join(ws[t].th, NULL);
    sum += ws[t].sum;
    nal += ws[t].aligned;
  }
  double t = bench_now() - t0;
  free(ws);
  printf("mixed threads=%zu steps=%llu aligned=%llu checksum=0x%016llx secs=%.3f\n", n,
         (unsigned long long)(steps * n), (unsigned long long)nal, (unsigned long long)sum, t);
  return bench_finish();
}
