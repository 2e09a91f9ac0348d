/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "retention": how much memory an allocator keeps when a program
 * changes phase. A big phase allocates and fills a large mixed population
 * (small, medium and large blocks), then frees nine blocks in ten at random,
 * leaving a scattered tenth alive. A small phase then churns a small working
 * set for a while. At the end everything is freed. The program prints its
 * own resident set size (from /proc/self/statm) at three points:
 *   rss_big_kb    at the end of the big phase (everything live),
 *   rss_small_kb  at the end of the small phase (the survivors live),
 *   rss_end_kb    after freeing everything,
 * so memory kept after the peak is visible besides the peak itself. */
#include "bench.h"

enum { O_BIG, O_SMALLSET, O_SMALLOPS, O_SEED };
static bench_opt opts[] = {
  [O_BIG] = {"big", 512 << 20, 64 << 20, "bytes allocated in the big phase"},
  [O_SMALLSET] = {"smallset", 16 << 20, 4 << 20, "working set of the small phase (bytes)"},
  [O_SMALLOPS] = {"smallops", 2000000, 200000, "allocations in the small phase"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

typedef struct {
  void *p;
  size_t size;
  uint64_t tag;
} blk;

/* Big-phase sizes, by count: 90% small (16 B-1 KiB), 9.9% medium
 * (1-64 KiB), 0.1% large (256 KiB-4 MiB); by bytes that is roughly 8%
 * small, 55% medium, 37% large. */
static size_t big_size(bench_rng *r)
{
  uint64_t k = bench_rng_below(r, 1000);
  if (k < 900)
    return bench_rng_range(r, 16, 1024);
  if (k < 999)
    return bench_rng_range(r, 1024, 64 << 10);
  return bench_rng_range(r, 256 << 10, 4 << 20);
}

static void make(blk *b, size_t size, uint64_t tag, bool fill)
{
  b->p = bench_xmalloc(size);
  BENCH_CHECK(bench_aligned(b->p, size));
  b->size = size;
  b->tag = tag;
  if (fill) /* touch every page, as a program filling its data would */
    memset(b->p, (int)(tag & 0xFF), size);
  bench_stamp(b->p, size, tag);
  if (size > 16)
    ((unsigned char *)b->p)[size / 2] = (unsigned char)(tag & 0xFF);
}

static uint64_t drop(blk *b)
{
  BENCH_CHECK(bench_stamp_ok(b->p, b->size, b->tag));
  if (b->size > 16)
    BENCH_CHECK(((unsigned char *)b->p)[b->size / 2] == (b->tag & 0xFF));
  free(b->p);
  b->p = NULL;
  return b->tag;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Retention: RSS of a big phase, then a small phase, then after "
              "freeing everything.",
              opts, BENCH_NOPTS(opts));
  size_t big = (size_t)opts[O_BIG].value;
  size_t smallset = (size_t)opts[O_SMALLSET].value;
  uint64_t smallops = (uint64_t)opts[O_SMALLOPS].value;
  bench_rng r;
  bench_rng_seed(&r, (uint64_t)opts[O_SEED].value);

  /* big phase */
  size_t cap = 1024, n = 0, bytes = 0;
  blk *bs = bench_xmalloc(cap * sizeof *bs);
  uint64_t made = 0, freed = 0;
  double t0 = bench_now();
  while (bytes < big) {
    if (n == cap) {
      cap *= 2;
      blk *nb = realloc(bs, cap * sizeof *bs);
      if (nb == NULL)
        bench_die(BENCH_EXIT_VERIFY, "realloc of the block table failed");
      bs = nb;
    }
    size_t size = big_size(&r);
    make(&bs[n], size, bench_hash(n), true);
    made += bs[n].tag;
    bytes += size;
    n++;
  }
  long rss_big = bench_rss_kib();
  /* free nine in ten, at random: the survivors are scattered */
  for (size_t i = 0; i < n; i++)
    if (bench_rng_below(&r, 10) != 0)
      freed += drop(&bs[i]);

  /* small phase: a small working set of 16-256 B blocks, churned */
  size_t nsmall = smallset / 136;
  if (nsmall == 0)
    nsmall = 1;
  blk *ss = calloc(nsmall, sizeof *ss);
  if (ss == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  for (uint64_t k = 0; k < smallops; k++) {
    blk *b = &ss[bench_rng_below(&r, nsmall)];
    if (b->p != NULL)
      freed += drop(b);
    uint64_t tag = bench_hash(k + ((uint64_t)1 << 40));
    make(b, bench_rng_range(&r, 16, 256), tag, false);
    made += tag;
  }
  long rss_small = bench_rss_kib();

  /* free everything */
  for (size_t i = 0; i < nsmall; i++)
    if (ss[i].p != NULL)
      freed += drop(&ss[i]);
  for (size_t i = 0; i < n; i++)
    if (bs[i].p != NULL)
      freed += drop(&bs[i]);
  free(ss);
  free(bs);
  double t = bench_now() - t0;
  long rss_end = bench_rss_kib();
  BENCH_CHECK(made == freed);
  printf("retention blocks=%zu mib=%zu checksum=0x%016llx rss_big_kb=%ld "
         "rss_small_kb=%ld rss_end_kb=%ld secs=%.3f\n",
         n, bytes >> 20, (unsigned long long)made, rss_big, rss_small, rss_end,
         t);
  return 0;
}
