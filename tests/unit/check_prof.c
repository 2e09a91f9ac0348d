/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the heap profiler. The sampler alone (prof.c): its
 * arithmetic without libm, the intervals (exponential, mean the rate), the
 * table of sampled blocks (records, moves, growth, deletion in any order),
 * the estimates per stack live and at the peak snapshot, the unwinder
 * dropping the allocator's frames. Then with a heap (prof_heap.c): a
 * refill's blocks held back past the sample point, the owner's frees
 * reused through the free list counted, sampled blocks in the profiling
 * heap and their frees (by any thread: no foreign free), the held blocks
 * given back by a flush, nothing lost; sampled medium blocks freed by a
 * thread that settles their owner's queue while it samples; medium samples marked in their heap, resized, huge ones
 * marked and resized; a sampled block freed twice or by an interior
 * pointer. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unwind.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_init.h"
#include "mpca_medium.h"
#include "mpca_prof_heap.h"
#include "mpca_registry.h"
#include "mpca_remote.h"
#include "mpca_small.h"

/* Profiling on at `rate` bytes a sample, a fixed seed. */
static void prof_start(uint64_t rate)
{
  mpca_global_init();
  mpca_opt[MPCA_OPT_PROF] = 1;
  mpca_opt[MPCA_OPT_PROF_SAMPLE] = rate;
  mpca_opt[MPCA_OPT_PROF_SEED] = 42;
  mpca_prof_init();
}

static void setup(void) { prof_start(4096); }

static bool close_to(double a, double b) { return a - b < 1e-12 * (b > 1 ? b : 1) && b - a < 1e-12 * (b > 1 ? b : 1); }

START_TEST(test_arithmetic)
{
  static const struct {
    double x, one_minus_exp_neg;
  } e[] = {{0, 0},
           {1e-6, 9.999995000001667e-07},
           {0.3, 0.2591817793182821},
           {0.5, 0.3934693402873666},
           {1, 0.6321205588285577},
           {10, 0.9999546000702375},
           {50, 1}};
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
    ck_assert_msg(close_to(mpca_prof_one_minus_exp_neg(e[i].x), e[i].one_minus_exp_neg), "1 - exp(-%g) = %.17g",
                  e[i].x, mpca_prof_one_minus_exp_neg(e[i].x));
  static const struct {
    double u, neg_log;
  } l[] = {{1, 0}, {0.5, 0.6931471805599453}, {0.9, 0.10536051565782628}, {0.7, 0.35667494393873245},
           {1e-10, 23.025850929940457}, {1.0 / 9007199254740992.0, 36.7368005696771}};
  for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
    ck_assert_msg(close_to(mpca_prof_neg_log(l[i].u), l[i].neg_log), "-log(%g) = %.17g", l[i].u,
                  mpca_prof_neg_log(l[i].u));
}
END_TEST

START_TEST(test_intervals_are_exponential)
{
  prof_start(1000);
  mpca_prof_state *st = mpca_prof_state_new();
  ck_assert_ptr_nonnull(st);
  enum { N = 200000 };
  double sum = 0;
  unsigned above = 0;
  for (int i = 0; i < N; i++) {
    int64_t d = mpca_prof_interval(st);
    ck_assert_int_ge(d, 1);
    sum += (double)d;
    above += d > 2000;
  }
  /* mean 1000 (the standard error is 0.22%), P(> 2 rate) = exp(-2) */
  ck_assert_msg(sum / N > 990 && sum / N < 1010, "mean interval %g", sum / N);
  ck_assert_msg(above > N * 0.130 && above < N * 0.141, "%u of %u above twice the rate", above, N);
  /* a fresh sampler starts with one interval per class and one for big blocks */
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++)
    ck_assert_int_ge(st->left[c], 1);
  ck_assert_int_ge(st->big_left, 1);
}
END_TEST

typedef struct totals {
  uint64_t objs, bytes, alloc_bytes, on_s1;
  unsigned stacks;
} totals;

static const uintptr_t S1[] = {0x1111, 0x2222, 0x3333}, S2[] = {0x4444}, S3[] = {0x1111, 0x2222};

static void add_up(void *arg, const mpca_prof_entry *e)
{
  totals *t = arg;
  t->objs += e->objs;
  t->bytes += e->bytes;
  t->alloc_bytes += e->alloc_bytes;
  t->stacks++;
  if (e->depth == 3 && memcmp(e->pc, S1, sizeof S1) == 0)
    t->on_s1 += e->bytes;
}

static totals profile(enum mpca_prof_kind kind)
{
  totals t = {0, 0, 0, 0, 0};
  mpca_prof_each(kind, add_up, &t);
  return t;
}

/* Blocks much larger than the rate are sampled for sure: weight 1. */
#define BIG(bytes) ((bytes) * 64)

START_TEST(test_records_and_peak)
{
  prof_start(1);
  char a[16], b[16], c[16], d[16], e[16];
  mpca_prof_lock();
  ck_assert(mpca_prof_record(a, S1, 3, -1, BIG(100), 100));
  ck_assert(mpca_prof_record(b, S2, 1, -1, BIG(200), 200));
  ck_assert(mpca_prof_record(c, S1, 3, -1, BIG(300), 300));
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, 600);
  ck_assert_uint_eq(t.objs, 3 * MPCA_PROF_ONE);
  ck_assert_uint_eq(t.on_s1, 400);
  ck_assert_uint_eq(t.stacks, 2);
  /* a free after growth takes the peak snapshot first */
  ck_assert(mpca_prof_forget(b));
  ck_assert(!mpca_prof_forget(b));
  t = profile(MPCA_PROF_PEAK);
  ck_assert_uint_eq(t.bytes, 600);
  ck_assert_uint_eq(t.on_s1, 400);
  ck_assert(mpca_prof_record(d, S2, 1, -1, BIG(50), 50));
  ck_assert(mpca_prof_forget(a)); /* 450 in use: below the peak, no snapshot */
  t = profile(MPCA_PROF_PEAK);
  ck_assert_uint_eq(t.bytes, 600);
  t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, 350);
  ck_assert_uint_eq(t.alloc_bytes, 650);
  /* a new peak, seen at the next update (a dump, or exit) */
  ck_assert(mpca_prof_record(e, S3, 2, 0, BIG(1000), 1000));
  mpca_prof_peak_update();
  t = profile(MPCA_PROF_PEAK);
  ck_assert_uint_eq(t.bytes, 1350);
  ck_assert_uint_eq(t.on_s1, 300);
  ck_assert_uint_eq(t.stacks, 3);
  uint64_t samples, taken;
  mpca_prof_counts(MPCA_PROF_PEAK, &samples, &taken);
  ck_assert_uint_eq(samples, 3);
  ck_assert_uint_eq(taken, 5);
  /* a block that moves keeps its stack and weight */
  char c2[16];
  mpca_prof_moved(c, c2, 3000);
  ck_assert(!mpca_prof_forget(c));
  t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.on_s1, 3000);
  ck_assert(mpca_prof_forget(c2));
  ck_assert(mpca_prof_forget(d));
  ck_assert(mpca_prof_forget(e));
  t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, 0);
  ck_assert_uint_eq(t.objs, 0);
  t = profile(MPCA_PROF_PEAK); /* the moved block's growth made the peak */
  ck_assert_uint_eq(t.bytes, 4050);
  mpca_prof_unlock();
}
END_TEST

START_TEST(test_weights)
{
  prof_start(1000);
  char p[16];
  uintptr_t pc = 0x5555;
  mpca_prof_lock();
  /* a block of the rate's size is sampled with chance 1 - 1/e */
  ck_assert(mpca_prof_record(p, &pc, 1, 3, 1000, 1000));
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, 1582); /* 1000 / 0.632 */
  ck_assert_uint_eq(t.objs, 1620);  /* 1024 / 0.632 */
  ck_assert(mpca_prof_forget(p));
  /* a small block stands for rate / size blocks */
  ck_assert(mpca_prof_record(p, &pc, 1, 3, 16, 16));
  t = profile(MPCA_PROF_LIVE);
  ck_assert_msg(t.bytes >= 1000 && t.bytes <= 1010, "16-byte sample stands for %llu bytes",
                (unsigned long long)t.bytes);
  ck_assert(mpca_prof_forget(p));
  mpca_prof_unlock();
}
END_TEST

START_TEST(test_table_grows_and_deletes_in_any_order)
{
  prof_start(1);
  enum { N = 20000 };
  char *base = malloc((size_t)N * 64);
  unsigned *order = malloc(N * sizeof *order);
  uintptr_t pc[2] = {0x77, 0};
  mpca_prof_lock();
  for (unsigned i = 0; i < N; i++) {
    pc[1] = i % 97; /* 97 stacks */
    ck_assert(mpca_prof_record(base + (size_t)i * 64, pc, 2, -1, BIG(64), 64));
    order[i] = i;
  }
  uint64_t x = 12345;
  for (unsigned i = N; i > 1; i--) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    unsigned j = (unsigned)((x >> 33) % i), tmp = order[i - 1];
    order[i - 1] = order[j];
    order[j] = tmp;
  }
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, (uint64_t)N * 64);
  ck_assert_uint_eq(t.stacks, 97);
  for (unsigned i = 0; i < N; i++) {
    ck_assert(mpca_prof_forget(base + (size_t)order[i] * 64));
    if (i % 1000 == 0) /* every other block is still found */
      for (unsigned k = i + 1; k < N; k += 997)
        ck_assert(!mpca_prof_forget(base + (size_t)order[k] * 64 + 16));
  }
  t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_eq(t.bytes, 0);
  ck_assert_uint_eq(profile(MPCA_PROF_PEAK).bytes, (uint64_t)N * 64);
  mpca_prof_unlock();
  free(order);
  free(base);
}
END_TEST

/* The unwinder: the sampling function marks its frame; it and its callees
 * are dropped, then `outer` frames (the allocator's path), and the first
 * frame kept is the caller of that path. */
static __attribute__((noinline)) unsigned sampling_fn(uintptr_t *pc)
{
  char here = 0;
  unsigned n = mpca_prof_backtrace(pc, &here, 1);
  return n + (here != 0);
}

static __attribute__((noinline)) unsigned allocator_path(uintptr_t *pc)
{
  unsigned n = sampling_fn(pc);
  return n + (pc[0] == 0); /* no tail call */
}

static __attribute__((noinline)) unsigned user_fn(uintptr_t *pc)
{
  unsigned n = allocator_path(pc);
  return n + (pc[0] == 0);
}

START_TEST(test_backtrace_drops_the_allocator)
{
  uintptr_t pc[MPCA_PROF_DEPTH];
  unsigned n = user_fn(pc);
  ck_assert_uint_ge(n, 2);
  ck_assert_ptr_eq(_Unwind_FindEnclosingFunction((void *)(pc[0] - 1)), (void *)user_fn);
  ck_assert_ptr_ne(_Unwind_FindEnclosingFunction((void *)(pc[1] - 1)), (void *)user_fn);
  /* a capture lets the thread's own allocations through unsampled */
  ck_assert(!mpca_prof_busy());
}
END_TEST

/* ---- with a heap -------------------------------------------------------- */

/* Small: in the profiling heap; medium: marked in its heap; huge: marked. */
static bool sampled(const void *p)
{
  uintptr_t e = mpca_registry_entry(p);
  mpca_seg *seg = mpca_registry_seg(e, p);
  if (e & MPCA_REG_SMALL)
    return mpca_registry_owner(e) == mpca_prof_heap;
  if (seg->kind == MPCA_KIND_MEDIUM)
    return (mpca_chunk_of(p)->head & MPCA_CHUNK_SAMPLED) != 0;
  return seg->sampled;
}

static void hfree(mpca_heap *h, void *p) { mpca_free_slow(p, mpca_registry_entry(p), h, "free"); }

static unsigned list_len(void *p)
{
  unsigned n = 0;
  for (; p; p = mpca_link_next(p))
    n++;
  return n;
}

/* The lists of class `cls` of the sampling heap `h`, as mpca_prof.h says. */
static void check_lists(mpca_heap *h, unsigned cls)
{
  mpca_prof_state *st = h->prof;
  ck_assert_ptr_nonnull(st);
  ck_assert_uint_eq(h->cls[cls].free_max, 0);
  ck_assert_uint_eq(list_len(h->cls[cls].free), mpca_heap_class_count(&h->cls[cls]));
  ck_assert_uint_eq(list_len(st->held[cls]), st->nheld[cls]);
  ck_assert_uint_eq(mpca_small_cached(h, cls),
                    mpca_heap_class_count(&h->cls[cls]) + list_len(h->foreign[cls]) + st->nheld[cls]);
  ck_assert_int_ge(st->left[cls], 1);
  if (st->held[cls] != NULL)
    ck_assert_int_le(st->left[cls], (int64_t)mpca_classes[cls].size);
}

START_TEST(test_small_samples_held_and_given_back)
{
  mpca_heap *h = mpca_heap_acquire();
  enum { N = 20000 }; /* 1.25 MiB of 64-byte blocks: about 312 samples at 4 KiB */
  unsigned cls = mpca_small_class(64);
  void **p = calloc(N, sizeof *p);
  unsigned nsampled = 0;
  for (unsigned i = 0; i < N; i++) {
    p[i] = mpca_small_alloc(h, 64);
    ck_assert_ptr_nonnull(p[i]);
    memset(p[i], 0x5a, 64);
    if (sampled(p[i])) {
      nsampled++;
      ck_assert_int_eq((int)mpca_small_seg_of(p[i])->hdr.node, MPCA_NODE_PROF);
      ck_assert_uint_eq(mpca_usable_size(mpca_registry_lookup(p[i]), p[i], "test"), 64);
    }
    /* what the heap holds back is free and counted as the heap's; the
     * sample point falls in the first held block */
    check_lists(h, cls);
  }
  uint64_t samples, taken;
  mpca_prof_counts(MPCA_PROF_LIVE, &samples, &taken);
  ck_assert_uint_eq(samples, nsampled);
  ck_assert_msg(nsampled > 200 && nsampled < 450, "%u samples in 1.25 MiB at one every 4 KiB", nsampled);
  /* the estimate of the class's bytes */
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_msg(t.bytes > N * 64 * 0.8 && t.bytes < N * 64 * 1.2, "estimate %llu of %u bytes",
                (unsigned long long)t.bytes, N * 64);
  /* a flush gives the free and held blocks back: a trim then leaves
   * nothing but the live blocks */
  mpca_small_sync_stats(h);
  check_lists(h, cls);
  int64_t left = h->prof->left[cls];
  unsigned listed = mpca_heap_class_count(&h->cls[cls]);
  mpca_heap_flush(h);
  ck_assert_ptr_null(mpca_prof_held(h, cls));
  ck_assert_ptr_null(h->cls[cls].free);
  /* the free list's blocks were never allocated: their bytes come back */
  ck_assert_int_eq(h->prof->left[cls], left + (int64_t)listed * 64);
  mpca_small_sync_stats(h);
  ck_assert_uint_eq(h->small_used, (uint64_t)(N - nsampled) * 64);
  for (unsigned i = 0; i < N; i++)
    hfree(h, p[i]);
  mpca_prof_counts(MPCA_PROF_LIVE, &samples, &taken);
  ck_assert_uint_eq(samples, 0);
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
  ck_assert_uint_eq(profile(MPCA_PROF_PEAK).bytes, t.bytes);
  mpca_heap_trim(h);
  ck_assert_uint_eq(h->small_used, 0);
  mpca_prof_lock();
  mpca_heap_flush(mpca_prof_heap);
  mpca_small_sync_stats(mpca_prof_heap);
  ck_assert_uint_eq(mpca_prof_heap->small_used, 0);
  mpca_prof_unlock();
  free(p);
  mpca_heap_abandon(h);
}
END_TEST

/* The owner's frees go through the free fast path onto the heap's free
 * list, where malloc takes them back without a slow path: every block
 * that comes back that way is counted too (mpca_heap_free_overflow). */
START_TEST(test_owner_frees_counted)
{
  mpca_heap *h = mpca_heap_acquire();
  unsigned cls = mpca_small_class(256);
  enum { N = 100000, BATCH = 5000 };
  /* one block at a time, then batches that overflow the free list's bound */
  for (int phase = 0; phase < 2; phase++) {
    static void *v[BATCH];
    unsigned nsampled = 0;
    for (unsigned i = 0; i < N;) {
      unsigned n = phase == 0 ? 1 : BATCH;
      for (unsigned k = 0; k < n; k++, i++) {
        v[k] = mpca_small_alloc(h, 256);
        ck_assert_ptr_nonnull(v[k]);
        memset(v[k], 0x33, 256);
      }
      for (unsigned k = 0; k < n; k++) {
        if (sampled(v[k])) {
          nsampled++;
          hfree(h, v[k]);
        } else {
          ck_assert(mpca_small_free_fast(h, mpca_registry_entry(v[k]), v[k]));
        }
      }
      if (phase == 1 || i % 997 == 0)
        check_lists(h, cls);
    }
    /* each block is sampled with chance 1 - exp(-256 / 4096) = 0.0606 */
    ck_assert_msg(nsampled > 5700 && nsampled < 6450, "phase %d: %u samples of %u blocks", phase, nsampled, N);
    totals t = profile(MPCA_PROF_LIVE);
    ck_assert_uint_eq(t.bytes, 0);
  }
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_msg(t.alloc_bytes > 2.0 * N * 256 * 0.95 && t.alloc_bytes < 2.0 * N * 256 * 1.05,
                "%llu bytes allocated estimated, %u true", (unsigned long long)t.alloc_bytes, 2 * N * 256);
  mpca_heap_trim(h);
  ck_assert_uint_eq(h->small_used, 0);
  mpca_heap_abandon(h);
}
END_TEST

/* A sampled block lives in the profiling heap: freed by another thread,
 * it is no foreign free of that thread's heap (which would keep it, or
 * send it to a queue nobody drains) but the profiling heap's own. */
START_TEST(test_sampled_block_freed_by_another_heap)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire(), *other = mpca_heap_acquire();
  unsigned cls = mpca_small_class(48);
  void *q = mpca_small_alloc(h, 48), *r = mpca_small_alloc(h, 48);
  ck_assert(sampled(q) && sampled(r));
  ck_assert_int_eq(other->node, h->node);
  mpca_free_other(q, mpca_registry_entry(q), other);
  for (unsigned k = 0; k < MPCA_HEAP_PEND; k++)
    ck_assert_ptr_null(other->pend[k]);
  ck_assert_ptr_null(other->foreign[cls]);
  mpca_free_slow(r, mpca_registry_entry(r), &mpca_heap_none, "free"); /* a thread without a heap */
  uint64_t samples, taken;
  mpca_prof_counts(MPCA_PROF_LIVE, &samples, &taken);
  ck_assert_uint_eq(samples, 0);
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
  ck_assert(!mpca_remote_pending(&mpca_prof_heap->rfq));
  ck_assert(!mpca_remote_pending(&other->rfq));
  mpca_prof_lock();
  mpca_heap_flush(mpca_prof_heap);
  mpca_small_sync_stats(mpca_prof_heap);
  ck_assert_uint_eq(mpca_prof_heap->small_used, 0);
  mpca_prof_unlock();
}
END_TEST

/* Sampled medium blocks freed by another thread while their owner keeps
 * sampling: past a megabyte queued the freeing thread settles the owner's
 * queue when the owner does not hold its heap, freeing sampled blocks
 * (the profiler's lock under the owner's hold), while the owner takes
 * samples under the same two. Nothing is lost, nothing deadlocks. */
enum { SETTLE_N = 800, SETTLE_SIZE = 40000 };
typedef struct settle_job {
  void **blocks;
  _Atomic bool done;
} settle_job;

static void *free_them(void *arg)
{
  settle_job *j = arg;
  for (int i = 0; i < SETTLE_N; i++)
    mpca_free_slow(j->blocks[i], mpca_registry_entry(j->blocks[i]), &mpca_heap_none, "free");
  atomic_store(&j->done, true);
  return NULL;
}

START_TEST(test_settled_while_sampling)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  static void *b[SETTLE_N];
  mpca_heap_enter(h);
  for (int i = 0; i < SETTLE_N; i++) {
    b[i] = mpca_prof_big_malloc(h, SETTLE_SIZE, MPCA_ALIGNMENT, false, NULL);
    ck_assert_ptr_nonnull(b[i]);
    ck_assert(sampled(b[i]));
  }
  mpca_heap_leave(h);
  settle_job j = {b, false};
  pthread_t t;
  pthread_create(&t, NULL, free_them, &j);
  unsigned rounds = 0;
  while (!atomic_load(&j.done) || rounds < 100) {
    void *q[8];
    for (int k = 0; k < 8; k++) {
      q[k] = mpca_small_alloc(h, 16 << (k % 4));
      ck_assert(sampled(q[k]));
    }
    mpca_heap_enter(h);
    void *m = mpca_prof_big_malloc(h, SETTLE_SIZE, MPCA_ALIGNMENT, false, NULL);
    mpca_heap_leave(h);
    ck_assert(sampled(m));
    hfree(h, m);
    for (int k = 0; k < 8; k++)
      hfree(h, q[k]);
    rounds++;
  }
  pthread_join(t, NULL);
  mpca_heap_enter(h);
  mpca_heap_drain(h);
  mpca_heap_leave(h);
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
  ck_assert_uint_eq(h->cnt.medium_used, 0);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_every_class_sampled)
{
  prof_start(1); /* every block is sampled */
  mpca_heap *h = mpca_heap_acquire();
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    size_t size = mpca_classes[c].size;
    void *q[3];
    for (int k = 0; k < 3; k++) {
      q[k] = mpca_small_alloc(h, size);
      ck_assert(sampled(q[k]));
      memset(q[k], 1, size);
    }
    for (int k = 0; k < 3; k++)
      hfree(h, q[k]);
  }
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_medium_and_huge_samples)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  char *m = mpca_prof_big_malloc(h, 100000, MPCA_ALIGNMENT, true, NULL);
  ck_assert_ptr_nonnull(m);
  ck_assert(sampled(m));
  ck_assert_ptr_eq(mpca_registry_lookup(m)->owner, h); /* medium samples stay in their heap */
  for (int i = 0; i < 100000; i++)
    ck_assert_int_eq(m[i], 0);
  char *a = mpca_prof_big_malloc(h, 70000, 4096, false, NULL);
  ck_assert_ptr_nonnull(a);
  ck_assert(sampled(a));
  ck_assert_uint_eq((uintptr_t)a % 4096, 0);
  /* a medium block resized in place keeps its record, with its new size */
  ck_assert(mpca_medium_resize(h, mpca_registry_lookup(m), m, 60000));
  ck_assert(sampled(m));
  char *g = mpca_prof_big_malloc(h, (size_t)3 << 20, MPCA_ALIGNMENT, true, h->source);
  ck_assert_ptr_nonnull(g);
  mpca_seg *seg = mpca_registry_lookup(g);
  ck_assert_int_eq(seg->kind, MPCA_KIND_HUGE);
  ck_assert(seg->sampled);
  g[0] = 7;
  char *g2 = mpca_prof_huge_resize(seg, g, (size_t)9 << 20);
  ck_assert_ptr_nonnull(g2);
  ck_assert_int_eq(g2[0], 7);
  totals t = profile(MPCA_PROF_LIVE);
  ck_assert_uint_ge(t.bytes, ((size_t)9 << 20) + 60000 + 70000);
  ck_assert_uint_lt(t.bytes, ((size_t)9 << 20) + 100000 + 70000 + (64 << 10));
  hfree(h, m);
  hfree(h, a);
  hfree(h, g2);
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
  ck_assert_uint_eq(h->cnt.medium_used, 0);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_capture_allocations_are_not_sampled)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  mpca_prof_capturing = true; /* as inside the unwinder */
  for (int i = 0; i < 1000; i++) {
    void *q = mpca_small_alloc(h, 48);
    ck_assert(!sampled(q));
    ck_assert_ptr_null(mpca_prof_big_malloc(h, 50000, MPCA_ALIGNMENT, false, NULL));
  }
  mpca_prof_capturing = false;
  ck_assert_uint_eq(profile(MPCA_PROF_LIVE).bytes, 0);
}
END_TEST

START_TEST(test_sampled_double_free_aborts)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  void *q = mpca_small_alloc(h, 32);
  ck_assert(sampled(q));
  hfree(h, q);
  hfree(h, q);
}
END_TEST

START_TEST(test_sampled_interior_free_aborts)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  char *q = mpca_small_alloc(h, 64);
  ck_assert(sampled(q));
  hfree(h, q + 16);
}
END_TEST

START_TEST(test_sampled_medium_double_free_aborts)
{
  prof_start(1);
  mpca_heap *h = mpca_heap_acquire();
  char *q = mpca_prof_big_malloc(h, 100000, MPCA_ALIGNMENT, false, NULL);
  char *r = mpca_prof_big_malloc(h, 100000, MPCA_ALIGNMENT, false, NULL); /* q does not merge away */
  ck_assert(sampled(q) && sampled(r));
  hfree(h, q);
  hfree(h, q);
}
END_TEST

int main(void)
{
  if (MPCA_HARDENED_ON)
    return 77; /* skipped: the hardened build has no heap profiler */
  Suite *s = suite_create("prof");
  TCase *tc = tcase_create("sampler");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_arithmetic);
  tcase_add_test(tc, test_intervals_are_exponential);
  tcase_add_test(tc, test_records_and_peak);
  tcase_add_test(tc, test_weights);
  tcase_add_test(tc, test_table_grows_and_deletes_in_any_order);
  tcase_add_test(tc, test_backtrace_drops_the_allocator);
  suite_add_tcase(s, tc);
  TCase *th = tcase_create("heap");
  tcase_set_timeout(th, 60);
  tcase_add_checked_fixture(th, setup, NULL);
  tcase_add_test(th, test_small_samples_held_and_given_back);
  tcase_add_test(th, test_owner_frees_counted);
  tcase_add_test(th, test_sampled_block_freed_by_another_heap);
  tcase_add_test(th, test_settled_while_sampling);
  tcase_add_test(th, test_every_class_sampled);
  tcase_add_test(th, test_medium_and_huge_samples);
  tcase_add_test(th, test_capture_allocations_are_not_sampled);
  tcase_add_test_raise_signal(th, test_sampled_double_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(th, test_sampled_interior_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(th, test_sampled_medium_double_free_aborts, SIGABRT);
  suite_add_tcase(s, th);
  return unit_run(s);
}
