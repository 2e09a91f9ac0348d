/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "sizes": a sweep over request sizes from 8 B to 8 MiB (four
 * steps per power of two), with plain malloc, posix_memalign and
 * aligned_alloc (alignments 16 B to 2 MiB). For every size a batch of blocks
 * is allocated, stamped at both ends and freed in random order, so every
 * path of the allocator is crossed: small classes, medium blocks, huge
 * blocks, the thresholds between them, and the aligned paths. Alignment and
 * stamps are checked. With --threads N, N threads sweep at once. */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_ROUNDS, O_MAXSIZE, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads sweeping at once"},
  [O_ROUNDS] = {"rounds", 40, 4, "sweeps per thread"},
  [O_MAXSIZE] = {"max", 8 << 20, 8 << 20, "largest request (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

#define MAXBATCH 64
static const size_t aligns[] = {16,   32,    64,     128,   256,
                                512,  1024,  2048,   4096,  8192,
                                16384, 32768, 65536, 2 << 20};
#define NALIGNS (sizeof aligns / sizeof aligns[0])

static uint64_t rounds;
static size_t maxsize;

typedef struct {
  pthread_t th;
  uint64_t seed;
  uint64_t ops, sum;
} worker;

typedef struct {
  void *p;
  size_t size;
  uint64_t tag;
} blk;

/* Stamp the first 8 bytes and, from 16 B up, the last 8 (sizes are >= 8). */
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

static size_t batch_for(size_t size)
{
  return size <= (64 << 10) ? MAXBATCH : size <= (1 << 20) ? 16 : 4;
}

static void *sweep(void *arg)
{
  worker *w = arg;
  bench_rng r;
  bench_rng_seed(&r, w->seed);
  blk b[MAXBATCH];
  uint64_t ops = 0, sum = 0;
  for (uint64_t round = 0; round < rounds; round++) {
    for (size_t base = 8; base <= maxsize; base *= 2) {
      for (unsigned step = 0; step < 4; step++) {
        size_t size = base + step * (base / 4);
        if (size > maxsize)
          break;
        size_t n = batch_for(size);
        for (unsigned kind = 0; kind < 3; kind++) {
          for (size_t i = 0; i < n; i++) {
            size_t al = aligns[bench_rng_below(&r, NALIGNS)];
            size_t sz = size;
            void *p = NULL;
            if (kind == 0) {
              p = malloc(sz);
              BENCH_CHECK(p != NULL && bench_aligned(p, sz));
            } else if (kind == 1) {
              BENCH_CHECK(posix_memalign(&p, al, sz) == 0 && p != NULL);
            } else {
              sz = (size + al - 1) & ~(al - 1);
              p = aligned_alloc(al, sz);
              BENCH_CHECK(p != NULL);
            }
            if (kind != 0 && ((uintptr_t)p & (al - 1)) != 0)
              bench_flag("%s(%zu, %zu) returned %p, misaligned",
                         kind == 1 ? "posix_memalign" : "aligned_alloc", al,
                         sz, p);
            b[i].p = p;
            b[i].size = sz;
            b[i].tag = bench_hash(ops++);
            stamp2(p, sz, b[i].tag);
          }
          /* free in random order */
          for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)bench_rng_below(&r, i);
            blk t = b[i - 1];
            b[i - 1] = b[j];
            b[j] = t;
          }
          for (size_t i = 0; i < n; i++) {
            BENCH_CHECK(stamp2_ok(b[i].p, b[i].size, b[i].tag));
            sum += b[i].tag ^ b[i].size;
            free(b[i].p);
          }
        }
      }
    }
  }
  w->ops = ops;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Size sweep 8 B - 8 MiB with malloc, posix_memalign and "
              "aligned_alloc.",
              opts, BENCH_NOPTS(opts));
  size_t n = (size_t)opts[O_THREADS].value;
  rounds = (uint64_t)opts[O_ROUNDS].value;
  maxsize = (size_t)opts[O_MAXSIZE].value;
  if (n == 0 || maxsize < 8)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  worker *ws = calloc(n, sizeof *ws);
  if (ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  double t0 = bench_now();
  for (size_t t = 0; t < n; t++) {
    ws[t].seed = (uint64_t)opts[O_SEED].value * 1000 + t;
    if (pthread_create(&ws[t].th, NULL, sweep, &ws[t]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  }
  uint64_t ops = 0, sum = 0;
  for (size_t t = 0; t < n; t++) {
    pthread_join(ws[t].th, NULL);
    ops += ws[t].ops;
    sum += ws[t].sum;
  }
  double t = bench_now() - t0;
  free(ws);
  printf("sizes threads=%zu ops=%llu checksum=0x%016llx secs=%.3f\n", n,
         (unsigned long long)ops, (unsigned long long)sum, t);
  return bench_finish();
}
