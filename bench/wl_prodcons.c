/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "prodcons": producer/consumer pairs. The producer only allocates
 * (and stamps) blocks, the consumer only verifies and frees them, so every
 * free is remote: the allocator's cross-thread free path and the way memory
 * flows back to the producer are all that is measured. Blocks travel
 * through a bounded single-producer single-consumer lock-free ring (C11
 * atomics); a full or empty ring makes the waiting side yield. */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { O_THREADS, O_ITEMS, O_RING, O_MIN, O_MAX, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads (one producer and one consumer per pair)"},
  [O_ITEMS] = {"items", 20000000, 2000000, "blocks handed over per pair"},
  [O_RING] = {"ring", 4096, 4096, "ring capacity (power of two)"},
  [O_MIN] = {"min", 16, 16, "smallest block (bytes)"},
  [O_MAX] = {"max", 512, 512, "largest block (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

#define CACHELINE 64

typedef struct {
  _Alignas(CACHELINE) _Atomic size_t head; /* written by the producer */
  _Alignas(CACHELINE) _Atomic size_t tail; /* written by the consumer */
  _Alignas(CACHELINE) void **buf;
  size_t mask;
  uint64_t items;
  size_t minsz, maxsz;
  bench_rng rng;
  uint64_t made, eaten; /* sums of the tags */
  pthread_t prod, cons;
} pair;

static void wait_a_bit(unsigned *spins)
{
  if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  } else {
    sched_yield();
  }
}

static void *producer(void *arg)
{
  pair *q = arg;
  size_t head = 0, tail = 0, cap = q->mask + 1;
  uint64_t sum = 0;
  for (uint64_t n = 0; n < q->items; n++) {
    size_t size = bench_rng_range(&q->rng, q->minsz, q->maxsz);
    uint64_t tag = (bench_hash(n) & ~(uint64_t)0xFFFF) | size;
    void *p = bench_xmalloc(size);
    BENCH_CHECK(bench_aligned(p, size));
    bench_stamp(p, size, tag);
    sum += tag;
    unsigned spins = 0;
    while (head - tail == cap) {
      tail = atomic_load_explicit(&q->tail, memory_order_acquire);
      if (head - tail == cap)
        wait_a_bit(&spins);
    }
    q->buf[head & q->mask] = p;
    atomic_store_explicit(&q->head, ++head, memory_order_release);
  }
  q->made = sum;
  return NULL;
}

static void *consumer(void *arg)
{
  pair *q = arg;
  size_t head = 0, tail = 0;
  uint64_t sum = 0;
  for (uint64_t n = 0; n < q->items; n++) {
    unsigned spins = 0;
    while (tail == head) {
      head = atomic_load_explicit(&q->head, memory_order_acquire);
      if (tail == head)
        wait_a_bit(&spins);
    }
    void *p = q->buf[tail & q->mask];
    atomic_store_explicit(&q->tail, ++tail, memory_order_release);
    uint64_t tag;
    memcpy(&tag, p, 8);
    size_t size = (size_t)(tag & 0xFFFF);
    BENCH_CHECK(size >= q->minsz && size <= q->maxsz);
    BENCH_CHECK(bench_stamp_ok(p, size, tag));
    sum += tag;
    free(p);
  }
  q->eaten = sum;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "Producer/consumer: one thread allocates, another frees "
              "everything (all frees remote).",
              opts, BENCH_NOPTS(opts));
  size_t npairs = (size_t)opts[O_THREADS].value / 2;
  size_t ring = (size_t)opts[O_RING].value;
  size_t minsz = (size_t)opts[O_MIN].value, maxsz = (size_t)opts[O_MAX].value;
  if (npairs == 0)
    npairs = 1;
  if (ring < 2 || (ring & (ring - 1)) != 0 || minsz < 8 || maxsz < minsz ||
      maxsz > 0xFFFF)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");

  pair *qs = aligned_alloc(CACHELINE, npairs * sizeof *qs);
  if (qs == NULL)
    bench_die(BENCH_EXIT_VERIFY, "aligned_alloc failed");
  memset(qs, 0, npairs * sizeof *qs);
  for (size_t i = 0; i < npairs; i++) {
    pair *q = &qs[i];
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    q->buf = calloc(ring, sizeof *q->buf);
    if (q->buf == NULL)
      bench_die(BENCH_EXIT_VERIFY, "calloc failed");
    q->mask = ring - 1;
    q->items = (uint64_t)opts[O_ITEMS].value;
    q->minsz = minsz;
    q->maxsz = maxsz;
    bench_rng_seed(&q->rng, (uint64_t)opts[O_SEED].value * 1000 + i);
  }

  double t0 = bench_now();
  for (size_t i = 0; i < npairs; i++)
    if (pthread_create(&qs[i].cons, NULL, consumer, &qs[i]) != 0 ||
        pthread_create(&qs[i].prod, NULL, producer, &qs[i]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  uint64_t sum = 0;
  for (size_t i = 0; i < npairs; i++) {
    pthread_join(qs[i].prod, NULL);
    pthread_join(qs[i].cons, NULL);
    BENCH_CHECK(qs[i].made == qs[i].eaten);
    sum += qs[i].made;
  }
  double t = bench_now() - t0;
  for (size_t i = 0; i < npairs; i++)
    free(qs[i].buf);
  free(qs);
  printf("prodcons pairs=%zu items=%llu checksum=0x%016llx secs=%.3f\n", npairs,
         (unsigned long long)(opts[O_ITEMS].value * (long long)npairs),
         (unsigned long long)sum, t);
  return 0;
}
