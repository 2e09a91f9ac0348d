/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "realloc": buffers grown with realloc, the way a program appends
 * to a growing array without a capacity policy: from 1 KiB, doubling up to
 * the step size (1 MiB), then by one step at a time up to the largest size
 * (--max, 256 MiB by default; --max 1G is the full-size variant). Several
 * buffers grow at once, in turns, so they get in each other's way; buffer i
 * stops at max >> i. The default stops at 256 MiB because the work of an
 * allocator that copies is quadratic in the final size: on the 2-core
 * reference VM a copying peer already needs about a minute at 256 MiB, and
 * would need about a quarter of an hour per run at 1 GiB. New bytes are
 * written after every growth, and content written earlier is checked, so a
 * realloc that loses data is caught. An allocator that moves pages
 * (mremap) instead of copying bytes, or grows in place, wins here. */
#include "bench.h"

enum { O_BUFFERS, O_MAX, O_STEP, O_START, O_ROUNDS };
static bench_opt opts[] = {
  [O_BUFFERS] = {"buffers", 4, 4, "buffers growing at once (buffer i stops at max >> i)"},
  [O_MAX] = {"max", 256 << 20, 32 << 20, "final size of the first buffer (bytes)"},
  [O_STEP] = {"step", 1 << 20, 1 << 20, "growth step past the step size (bytes)"},
  [O_START] = {"start", 1024, 1024, "initial size (bytes)"},
  [O_ROUNDS] = {"rounds", 1, 1, "times the whole growth is repeated"},
};

#define PAGE 4096

typedef struct {
  unsigned char *p;
  size_t size, max;
  unsigned id;
} buffer;

/* Value of the byte at offset `o` of buffer `id`: one value per page. */
static inline unsigned char fill_of(unsigned id, size_t o)
{
  return (unsigned char)((o / PAGE) * 31u + id * 7u + 1u);
}

/* Write bytes [from, to) of b. */
static void fill(buffer *b, size_t from, size_t to)
{
  while (from < to) {
    size_t end = (from / PAGE + 1) * PAGE;
    if (end > to)
      end = to;
    memset(b->p + from, fill_of(b->id, from), end - from);
    from = end;
  }
}

/* Check a few bytes written before: the first byte, the last page written
 * before this growth, and one page chosen by the growth count. */
static void check(const buffer *b, size_t old, uint64_t n)
{
  size_t probes[3] = {0, old - 1, (size_t)(bench_hash(n) % old)};
  for (unsigned i = 0; i < 3; i++)
    BENCH_CHECK(b->p[probes[i]] == fill_of(b->id, probes[i]));
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "realloc growth: buffers grown from 1 KiB to --max in 1 MiB "
              "steps, several at once.",
              opts, BENCH_NOPTS(opts));
  size_t nbuf = (size_t)opts[O_BUFFERS].value;
  size_t max = (size_t)opts[O_MAX].value;
  size_t step = (size_t)opts[O_STEP].value;
  size_t start = (size_t)opts[O_START].value;
  uint64_t rounds = (uint64_t)opts[O_ROUNDS].value;
  if (nbuf == 0 || nbuf > 16 || start == 0 || step == 0 || max < start)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");

  buffer *bs = calloc(nbuf, sizeof *bs);
  if (bs == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  uint64_t growths = 0, sum = 0;
  double t0 = bench_now();
  for (uint64_t round = 0; round < rounds; round++) {
    size_t live = 0;
    for (size_t i = 0; i < nbuf; i++) {
      bs[i].id = (unsigned)i;
      bs[i].max = max >> i < start ? start : max >> i;
      bs[i].size = start;
      bs[i].p = bench_xmalloc(start);
      fill(&bs[i], 0, start);
      live++;
    }
    while (live > 0) {
      for (size_t i = 0; i < nbuf; i++) {
        buffer *b = &bs[i];
        if (b->size >= b->max)
          continue;
        size_t old = b->size;
        size_t want = old < step ? old * 2 : old + step;
        if (want > b->max)
          want = b->max;
        unsigned char *q = realloc(b->p, want);
        if (q == NULL)
          bench_die(BENCH_EXIT_VERIFY, "realloc(%zu) returned NULL", want);
        BENCH_CHECK(bench_aligned(q, want));
        b->p = q;
        b->size = want;
        check(b, old, growths++);
        fill(b, old, want);
        if (want >= b->max)
          live--;
      }
    }
    for (size_t i = 0; i < nbuf; i++) {
      check(&bs[i], bs[i].size, growths);
      sum = bench_mix(sum, bs[i].size);
      free(bs[i].p);
    }
  }
  double t = bench_now() - t0;
  free(bs);
  printf("realloc buffers=%zu growths=%llu checksum=0x%016llx secs=%.3f\n",
         nbuf, (unsigned long long)growths, (unsigned long long)sum, t);
  return 0;
}
