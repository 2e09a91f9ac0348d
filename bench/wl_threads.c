/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "threads": thread churn. Thousands of short-lived threads, a few
 * at a time, each allocating a burst of blocks (16 B - 2 KiB, plus one of
 * 64 KiB), freeing most of them and leaving the rest in a mailbox for the
 * next thread of its lane, which frees them after their owner has exited.
 * This stresses per-thread heap creation and teardown, memory left behind
 * by dead threads (it must be adopted or reclaimed, not leaked), and frees
 * addressed to dead owners. Peak RSS shows whether memory leaks across
 * thread generations. Blocks are stamped and checked at free time. */
#include "bench.h"
#include <pthread.h>

enum { O_THREADS, O_TOTAL, O_BLOCKS, O_KEEP, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads alive at once (lanes)"},
  [O_TOTAL] = {"total", 8000, 800, "threads created in all"},
  [O_BLOCKS] = {"blocks", 200, 200, "blocks allocated per thread"},
  [O_KEEP] = {"keep", 16, 16, "blocks each thread leaves to the next one"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

#define MAXKEEP 256
#define MAXBLOCKS 4096
#define BIG (64 << 10)

typedef struct {
  void *p;
  size_t size;
  uint64_t tag;
} blk;

typedef struct {
  pthread_t th;
  uint64_t gen;       /* generation of the thread running in this lane */
  size_t nbox;        /* blocks in the mailbox */
  blk box[MAXKEEP];   /* left by the previous thread of the lane */
  uint64_t made, freed;
} lane;

static size_t nblocks, nkeep;
static uint64_t seed;

static uint64_t release(blk *b)
{
  BENCH_CHECK(bench_stamp_ok(b->p, b->size, b->tag));
  free(b->p);
  return b->tag;
}

static void *life(void *arg)
{
  lane *l = arg;
  bench_rng r;
  bench_rng_seed(&r, seed * 1000003 + l->gen);
  blk b[MAXBLOCKS];
  uint64_t made = 0, freed = 0;
  /* the previous thread of this lane has exited: free what it left */
  for (size_t i = 0; i < l->nbox; i++)
    freed += release(&l->box[i]);
  for (size_t i = 0; i < nblocks; i++) {
    size_t size = i == 0 ? BIG : bench_rng_range(&r, 16, 2048);
    b[i].p = bench_xmalloc(size);
    BENCH_CHECK(bench_aligned(b[i].p, size));
    b[i].size = size;
    b[i].tag = bench_rng_next(&r);
    bench_stamp(b[i].p, size, b[i].tag);
    made += b[i].tag;
  }
  /* keep the last nkeep (random sizes) for the next thread, free the rest */
  for (size_t i = 0; i < nblocks - nkeep; i++)
    freed += release(&b[i]);
  for (size_t i = 0; i < nkeep; i++)
    l->box[i] = b[nblocks - nkeep + i];
  l->nbox = nkeep;
  l->made += made;
  l->freed += freed;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Thread churn: thousands of short-lived threads that allocate "
              "and leave blocks to their successors.",
              opts, BENCH_NOPTS(opts));
  size_t nlanes = (size_t)opts[O_THREADS].value;
  uint64_t total = (uint64_t)opts[O_TOTAL].value;
  nblocks = (size_t)opts[O_BLOCKS].value;
  nkeep = (size_t)opts[O_KEEP].value;
  seed = (uint64_t)opts[O_SEED].value;
  if (nlanes == 0 || nblocks == 0 || nblocks > MAXBLOCKS || nkeep > MAXKEEP ||
      nkeep >= nblocks)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  lane *ls = calloc(nlanes, sizeof *ls);
  if (ls == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* room for the block table on the stack */
  pthread_attr_setstacksize(&attr, 256 << 10);
  double t0 = bench_now();
  uint64_t created = 0;
  while (created < total) {
    size_t n = 0;
    for (; n < nlanes && created < total; n++, created++) {
      ls[n].gen = created;
      if (pthread_create(&ls[n].th, &attr, life, &ls[n]) != 0)
        bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
    }
    for (size_t i = 0; i < n; i++)
      pthread_join(ls[i].th, NULL);
  }
  uint64_t made = 0, freed = 0;
  for (size_t i = 0; i < nlanes; i++) {
    for (size_t k = 0; k < ls[i].nbox; k++)
      freed += release(&ls[i].box[k]);
    made += ls[i].made;
    freed += ls[i].freed;
  }
  double t = bench_now() - t0;
  pthread_attr_destroy(&attr);
  BENCH_CHECK(made == freed);
  free(ls);
  printf("threads lanes=%zu created=%llu checksum=0x%016llx secs=%.3f\n",
         nlanes, (unsigned long long)created, (unsigned long long)made, t);
  return 0;
}
