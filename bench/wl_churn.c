/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "churn": one thread allocating and freeing small blocks
 * (8-512 B, log-uniform sizes) with random lifetimes. Two slot tables give
 * the lifetimes: a small table of short-lived blocks that is hit most of the
 * time, and a large table of long-lived blocks that keeps a realistic live
 * set (and fragmentation) around. This is the allocator's fast path:
 * size-class lookup, thread-local free lists, and the cache misses of a
 * scattered live set. Every block carries a stamp checked at free time. */
#include "bench.h"

enum { O_OPS, O_LONG, O_SHORT, O_MIN, O_MAX, O_SEED };
static bench_opt opts[] = {
  [O_OPS] = {"ops", 20000000, 2000000, "allocations (each replaces a slot)"},
  [O_LONG] = {"long", 200000, 50000, "slots of long-lived blocks"},
  [O_SHORT] = {"short", 256, 256, "slots of short-lived blocks"},
  [O_MIN] = {"min", 8, 8, "smallest block (bytes)"},
  [O_MAX] = {"max", 512, 512, "largest block (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

typedef struct {
  void *p;
  uint32_t size;
  uint32_t tag;
} slot;

/* Log-uniform size in [min, max]: pick a power-of-two band, then a size in it. */
static size_t pick_size(bench_rng *r, size_t min, size_t max)
{
  unsigned lo = 63 - (unsigned)__builtin_clzll(min);
  unsigned hi = 63 - (unsigned)__builtin_clzll(max);
  unsigned band = lo + (unsigned)bench_rng_below(r, hi - lo + 1);
  size_t a = (size_t)1 << band, b = ((size_t)2 << band) - 1;
  if (a < min)
    a = min;
  if (b > max)
    b = max;
  return bench_rng_range(r, a, b);
}

static uint64_t replace(slot *s, bench_rng *r, size_t min, size_t max,
                        uint64_t n)
{
  uint64_t sum = 0;
  if (s->p != NULL) {
    BENCH_CHECK(bench_stamp_ok(s->p, s->size, s->tag));
    sum = s->tag;
    free(s->p);
  }
  size_t size = pick_size(r, min, max);
  void *p = bench_xmalloc(size);
  BENCH_CHECK(bench_aligned(p, size));
  s->p = p;
  s->size = (uint32_t)size;
  s->tag = (uint32_t)bench_hash(n);
  bench_stamp(p, size, s->tag);
  return sum;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Single-thread churn of small blocks with random sizes and "
              "lifetimes.",
              opts, BENCH_NOPTS(opts));
  uint64_t ops = (uint64_t)opts[O_OPS].value;
  size_t nlong = (size_t)opts[O_LONG].value;
  size_t nshort = (size_t)opts[O_SHORT].value;
  size_t min = (size_t)opts[O_MIN].value, max = (size_t)opts[O_MAX].value;
  if (nlong == 0 || nshort == 0 || min == 0 || max < min || max > UINT32_MAX)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");

  slot *lt = calloc(nlong, sizeof *lt);
  slot *st = calloc(nshort, sizeof *st);
  if (lt == NULL || st == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc of the slot tables failed");
  bench_rng r;
  bench_rng_seed(&r, (uint64_t)opts[O_SEED].value);

  double t0 = bench_now();
  uint64_t sum = 0;
  for (uint64_t n = 0; n < ops; n++) {
    uint64_t x = bench_rng_next(&r);
    /* 7 in 8 allocations are short-lived, the rest replace a long-lived one */
    slot *s = (x & 7) != 0 ? &st[(x >> 8) % nshort] : &lt[(x >> 8) % nlong];
    sum += replace(s, &r, min, max, n);
  }
  for (size_t i = 0; i < nlong; i++)
    if (lt[i].p != NULL) {
      BENCH_CHECK(bench_stamp_ok(lt[i].p, lt[i].size, lt[i].tag));
      sum += lt[i].tag;
      free(lt[i].p);
    }
  for (size_t i = 0; i < nshort; i++)
    if (st[i].p != NULL) {
      BENCH_CHECK(bench_stamp_ok(st[i].p, st[i].size, st[i].tag));
      sum += st[i].tag;
      free(st[i].p);
    }
  double t = bench_now() - t0;
  free(lt);
  free(st);
  printf("churn ops=%llu checksum=0x%016llx secs=%.3f\n",
         (unsigned long long)ops, (unsigned long long)sum, t);
  return 0;
}
