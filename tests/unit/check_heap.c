/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of thread heaps with their small runs: run life cycle (current,
 * full, partial, released), macro blocks going back to the source, remote
 * frees drained by the owner, heaps abandoned and adopted, and blocks freed
 * to an abandoned heap drained by the freeing thread, also while another
 * thread is draining it; blocks of other heaps kept in a foreign list,
 * reused, and sent back to their owners per owner; double and invalid frees
 * on every path; the statistics gauges; the purge delay handing back pages
 * that stayed free for a whole tick; in the hardened build, the fill of
 * free blocks and the writes after free it catches. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_config.h"
#include "mpca_os.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_list.h"
#include "mpca_medium.h"
#include "mpca_registry.h"
#include "mpca_remote.h"
#include "mpca_small.h"

static void setup(void) { mpca_global_init(); }

static void *salloc(mpca_heap *h, size_t size) { return mpca_small_malloc_slow(h, mpca_small_class(size)); }
static void lfree(mpca_heap *h, void *p) { mpca_heap_free_local(h, mpca_registry_lookup(p), p, "free"); }
/* A free by a thread with no heap: straight to the owner's queue. */
static void rfree(void *p) { mpca_free_slow(p, mpca_registry_entry(p), &mpca_heap_none, "free"); }

/* Everything of h is back: trimmed, no small block in use, abandoned. */
static void ends_empty(mpca_heap *h)
{
  mpca_heap_trim(h);
  ck_assert_uint_eq(h->small_used, 0);
  mpca_heap_abandon(h);
}

/* Resident pages of [p, p + len) (whole pages inside it). */
static size_t resident(void *p, size_t len)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = mpca_align_up((uintptr_t)p, page), hi = ((uintptr_t)p + len) & ~(uintptr_t)(page - 1);
  unsigned char vec[1024];
  size_t n = (hi - lo) / page, in = 0;
  ck_assert_uint_le(n, sizeof vec);
  ck_assert_int_eq(mincore((void *)lo, hi - lo, vec), 0);
  for (size_t i = 0; i < n; i++)
    in += vec[i] & 1;
  return in;
}

START_TEST(test_run_life_cycle)
{
  mpca_heap *h = mpca_heap_acquire();
  unsigned cls = mpca_small_class(64);
  unsigned n = mpca_classes[cls].nslots;
  void **p = calloc(3 * n, sizeof *p);
  for (unsigned i = 0; i < 3 * n; i++) {
    p[i] = salloc(h, 64);
    ck_assert_ptr_nonnull(p[i]);
    memset(p[i], (int)i, 64);
  }
  mpca_small_seg *ss = mpca_small_seg_of(p[0]);
  mpca_run *r0 = mpca_small_run_of(ss, p[0]);
  /* the first two runs are full (their count kept at 1), the third current */
  ck_assert_int_eq(r0->state, MPCA_RUN_FULL);
  ck_assert_int_eq(r0->used, 1);
  ck_assert_ptr_eq(h->cur[cls], mpca_small_run_of(mpca_small_seg_of(p[3 * n - 1]), p[3 * n - 1]));
  ck_assert_uint_eq(h->small_slots[cls], 2 * n + h->cur[cls]->carved);
  /* the first block back into a full run makes it partial */
  lfree(h, p[1]);
  ck_assert_int_eq(r0->state, MPCA_RUN_PARTIAL);
  ck_assert_int_eq(r0->used, (int)n - 1);
  ck_assert_ptr_eq(r0->local_free, p[1]);
  ck_assert(!mpca_list_empty(&h->partial[cls]));
  /* the last one back gives the run back to its macro block */
  uint64_t released = h->cnt.small_runs_released;
  for (unsigned i = 0; i < n; i++)
    if (i != 1)
      lfree(h, p[i]);
  ck_assert_int_eq(r0->state, MPCA_RUN_FREE);
  ck_assert_uint_eq(r0->below, 0);
  ck_assert_uint_eq(h->cnt.small_runs_released, released + 1);
  ck_assert(mpca_list_empty(&h->partial[cls]));
  for (unsigned i = n; i < 3 * n; i++)
    lfree(h, p[i]);
  /* the current run stays current while empty; a trim gives it back */
  ck_assert_int_eq(h->cur[cls]->state, MPCA_RUN_CURRENT);
  mpca_heap_trim(h);
  ck_assert_ptr_eq(h->cur[cls], &mpca_run_none);
  ck_assert_ptr_null(h->cls[cls].free);
  ck_assert_uint_eq(h->cnt.small_runs_released, released + 3);
  ck_assert_uint_eq(h->small_slots[cls], 0);
  ck_assert_uint_eq(h->small_used, 0);
  free(p);
  ck_assert_uint_eq(h->small_empty_segs[MPCA_FLAVOR_RUNS], 0);
  ck_assert(mpca_list_empty(&h->small_avail[MPCA_FLAVOR_RUNS]));
}
END_TEST

START_TEST(test_owner_free_is_lifo)
{
  /* the owner's free puts the block on the heap's free list of its class,
   * where the next malloc of the class finds it: last freed, first reused;
   * the run's descriptor is not touched */
  mpca_heap *h = mpca_heap_acquire();
  unsigned cls = mpca_small_class(200);
  void *p[3];
  for (int i = 0; i < 3; i++)
    p[i] = salloc(h, 200);
  mpca_run *r = mpca_small_desc(mpca_small_seg_of(p[0]), p[0]);
  int used = r->used;
  void *local = r->local_free;
  unsigned n = mpca_heap_class_count(&h->cls[cls]);
  for (int i = 0; i < 3; i++)
    ck_assert(mpca_small_free_fast(h, mpca_registry_entry(p[i]), p[i]));
  ck_assert_int_eq(r->used, used);
  ck_assert_ptr_eq(r->local_free, local);
  ck_assert_uint_eq(mpca_heap_class_count(&h->cls[cls]), n + 3);
  ck_assert(mpca_small_marked_free(p[1]));
  /* a second free of a block on the list is declined (the full path reports it) */
  ck_assert(!mpca_small_free_fast(h, mpca_registry_entry(p[1]), p[1]));
  ck_assert(!mpca_small_free_fast(h, mpca_registry_entry(p[1]), (char *)p[1] + 16));
  for (int i = 2; i >= 0; i--) {
    ck_assert_ptr_eq(mpca_small_pop(h, &h->cls[cls]), p[i]);
    ck_assert(!mpca_small_marked_free(p[i]));
  }
  ck_assert_uint_eq(mpca_heap_class_count(&h->cls[cls]), n);
  for (int i = 0; i < 3; i++)
    lfree(h, p[i]);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_free_list_overflow_goes_back_to_runs)
{
  /* past free_max blocks, the oldest half of the free list goes back to
   * the runs: a run whose blocks all came back is given back */
  mpca_heap *h = mpca_heap_acquire();
  unsigned cls = mpca_small_class(1024);
  unsigned max = mpca_classes[cls].free_max, n = 3 * mpca_classes[cls].nslots;
  ck_assert_uint_lt(max, n);
  void **p = calloc(n, sizeof *p);
  for (unsigned i = 0; i < n; i++)
    p[i] = salloc(h, 1024);
  mpca_run *r0 = mpca_small_desc(mpca_small_seg_of(p[0]), p[0]);
  ck_assert_int_eq(r0->state, MPCA_RUN_FULL);
  uint64_t released = h->cnt.small_runs_released;
  h->cls[cls].free = NULL; /* what the refills left there stays out of the count below */
  h->cls[cls].room = (int16_t)max;
  for (unsigned i = 0; i < n; i++) {
    ck_assert(mpca_small_free_fast(h, mpca_registry_entry(p[i]), p[i]));
    ck_assert_uint_le(mpca_heap_class_count(&h->cls[cls]), max);
  }
  /* the newest are still on the list, newest first */
  ck_assert_ptr_eq(h->cls[cls].free, p[n - 1]);
  ck_assert_uint_ge(mpca_heap_class_count(&h->cls[cls]), max / 2);
  /* the first run's blocks went back long ago: it was given back */
  ck_assert_uint_gt(h->cnt.small_runs_released, released);
  ck_assert_int_eq(r0->state, MPCA_RUN_FREE);
  free(p);
  ends_empty(h);
}
END_TEST

START_TEST(test_span_life_cycle)
{
  /* a mid size: its blocks come from spans of MPCA_SPAN_SIZE in macro
   * blocks of their own, many to a span */
  mpca_heap *h = mpca_heap_acquire();
  size_t size = 8192;
  unsigned cls = mpca_small_class(size);
  ck_assert_uint_eq(mpca_small_class_flavor(cls), MPCA_FLAVOR_SPANS);
  unsigned n = mpca_classes[cls].nslots;
  ck_assert_uint_eq(n, MPCA_SPAN_SIZE / size);
  void **p = calloc(2 * n, sizeof *p);
  for (unsigned i = 0; i < 2 * n; i++) {
    p[i] = salloc(h, size);
    ck_assert_ptr_nonnull(p[i]);
    memset(p[i], (int)i, size);
  }
  mpca_small_seg *ss = mpca_small_seg_of(p[0]);
  ck_assert_uint_eq(ss->shift, MPCA_SPAN_SHIFT);
  ck_assert_uint_eq(mpca_registry_entry(p[0]), mpca_registry_small_entry(h, cls));
  ck_assert(mpca_registry_mine(mpca_registry_entry(p[0]), h));
  mpca_run *r0 = mpca_small_desc(ss, p[0]);
  ck_assert_ptr_eq(r0, mpca_small_span_of(ss, p[0]));
  /* every block of the first span has the same descriptor, and its class
   * is known from every unit the span covers */
  for (unsigned i = 0; i < n; i++) {
    ck_assert_ptr_eq(mpca_small_desc(ss, p[i]), r0);
    ck_assert_int_eq(mpca_small_block_class(mpca_registry_entry(p[i]), p[i]), (int)cls);
    ck_assert_int_eq(mpca_small_block_class(mpca_registry_entry(p[i]), (char *)p[i] + 16), -1);
  }
  ck_assert_int_eq(r0->state, MPCA_RUN_FULL);
  /* the owner's free of a span block takes the same fast path: onto the
   * heap's free list of the class */
  ck_assert(mpca_small_free_fast(h, mpca_registry_entry(p[3]), p[3]));
  ck_assert_ptr_eq(h->cls[cls].free, p[3]);
  /* a second free of it, and an interior pointer, are declined */
  ck_assert(!mpca_small_free_fast(h, mpca_registry_entry(p[3]), p[3]));
  ck_assert(!mpca_small_free_fast(h, mpca_registry_entry(p[4]), (char *)p[4] + 4096));
  ck_assert_ptr_eq(mpca_small_pop(h, &h->cls[cls]), p[3]);
  uint64_t released = h->cnt.small_runs_released;
  for (unsigned i = 0; i < 2 * n; i++)
    lfree(h, p[i]);
  ck_assert_int_eq(r0->state, MPCA_RUN_FREE);
  ck_assert_uint_eq(h->cnt.small_runs_released, released + 1);
  mpca_heap_trim(h);
  ck_assert_uint_eq(h->small_used, 0);
  ck_assert(mpca_list_empty(&h->small_avail[MPCA_FLAVOR_SPANS]));
  ck_assert(mpca_list_empty(&h->small_full[MPCA_FLAVOR_SPANS]));
  free(p);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_partial_run_reused_before_new)
{
  /* a full run that got blocks back is used again before a new run is made */
  mpca_heap *h = mpca_heap_acquire();
  unsigned n = mpca_classes[mpca_small_class(512)].nslots;
  void **p = calloc(2 * n, sizeof *p);
  for (unsigned i = 0; i < 2 * n; i++)
    p[i] = salloc(h, 512);
  mpca_run *r0 = mpca_small_run_of(mpca_small_seg_of(p[0]), p[0]);
  for (unsigned i = 0; i < n; i += 2)
    lfree(h, p[i]);
  ck_assert_int_eq(r0->state, MPCA_RUN_PARTIAL);
  uint64_t made = h->cnt.small_runs_made;
  /* use up what the current run has, then the partial run comes back */
  for (unsigned i = 0; i < n / 2; i++) {
    void *q = salloc(h, 512);
    ck_assert_ptr_nonnull(q);
    if (mpca_small_run_of(mpca_small_seg_of(q), q) == r0)
      break;
    p[2 * n - 1 - i % n] = q; /* keep it allocated (leaked into the test's array) */
  }
  ck_assert_ptr_eq(h->cur[mpca_small_class(512)], r0);
  ck_assert_uint_eq(h->cnt.small_runs_made, made);
  free(p);
  mpca_heap_abandon(h);
}
END_TEST

START_TEST(test_many_classes_many_blocks)
{
  mpca_heap *h = mpca_heap_acquire();
  enum { N = 6000 }; /* about 100 MiB: sizes up to 32 KiB */
  void **p = malloc(N * sizeof *p);
  unsigned seed = 1;
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    size_t sz = (seed >> 8) % (MPCA_SMALL_MAX + 1);
    p[i] = salloc(h, sz);
    ck_assert_ptr_nonnull(p[i]);
    memset(p[i], i & 0xff, sz);
  }
  for (int i = 0; i < N; i += 2)
    lfree(h, p[i]);
  for (int i = 0; i < N; i += 2)
    p[i] = salloc(h, 48);
  for (int i = 0; i < N; i++)
    lfree(h, p[i]);
  free(p);
  ck_assert_uint_gt(mpca_heap_trim(h) + h->cnt.segs_released, 0);
  ck_assert(mpca_list_empty(&h->small_full[MPCA_FLAVOR_RUNS]));
  ck_assert(mpca_list_empty(&h->small_full[MPCA_FLAVOR_SPANS]));
}
END_TEST

struct pair {
  mpca_heap *owner;
  void **blocks;
  int n;
};

static void *remote_freer(void *arg)
{
  struct pair *pr = arg;
  for (int i = 0; i < pr->n; i++)
    rfree(pr->blocks[i]);
  return NULL;
}

START_TEST(test_remote_free_drained_by_owner)
{
  mpca_heap *h = mpca_heap_acquire();
  enum { N = 5000 };
  void *b[N];
  for (int i = 0; i < N; i++)
    b[i] = i % 3 ? salloc(h, 100) : mpca_medium_malloc(h, 3000);
  struct pair pr = {h, b, N};
  pthread_t t;
  uint64_t before = h->cnt.remote_received;
  pthread_create(&t, NULL, remote_freer, &pr);
  pthread_join(t, NULL);
  /* some went back already: the freeing thread settles a queue that grows
   * past SETTLE_BYTES while its owner does not come */
  mpca_heap_drain(h);
  ck_assert_uint_eq(h->cnt.remote_received - before, N);
  ck_assert(!mpca_remote_pending(&h->rfq));
  /* the slots are free again: the same addresses come back once what was
   * carved before is used up */
  int found = 0;
  for (int k = 0; k < N && !found; k++) {
    void *again = salloc(h, 100);
    for (int i = 0; i < N; i++)
      found |= b[i] == again;
  }
  ck_assert(found);
}
END_TEST

static void *adopt(void *arg)
{
  mpca_heap **out = arg;
  *out = mpca_heap_acquire();
  return NULL;
}

START_TEST(test_idle_owner_queue_settled_by_sender)
{
  /* the owner allocates, then does not come back; another thread frees
   * everything: past a megabyte queued, the sender drains the queue in the
   * owner's place, so the runs empty and the macro blocks go back to the
   * source, where any heap can take them */
  mpca_heap *h = mpca_heap_acquire();
  enum { N = 40000 };
  static void *b[N];
  for (int i = 0; i < N; i++)
    b[i] = salloc(h, 64);
  uint64_t released = h->cnt.segs_released;
  struct pair pr = {h, b, N};
  pthread_t t;
  pthread_create(&t, NULL, remote_freer, &pr);
  pthread_join(t, NULL);
  ck_assert_int_eq(atomic_load(&h->hold), 0);
  if (MPCA_HARDENED_ON) {
    /* not in the hardened build: the owner's allocation bitmaps are its
     * own; the queue waits for it */
    ck_assert_uint_ge(atomic_load(&h->queued), (size_t)1 << 20);
    ck_assert_uint_eq(h->cnt.segs_released, released);
  } else {
    ck_assert_uint_lt(atomic_load(&h->queued), (size_t)1 << 20); /* settled */
    ck_assert_uint_gt(h->cnt.segs_released, released);
  }
  ends_empty(h);
}
END_TEST

/* Frees pr->blocks[0..n) but every KEEP_EVERY-th from another thread. */
enum { KEEP_EVERY = 16384 };
static void *remote_freer_keeping(void *arg)
{
  struct pair *pr = arg;
  for (int i = 0; i < pr->n; i++)
    if (i % KEEP_EVERY != 0)
      rfree(pr->blocks[i]);
  return NULL;
}

START_TEST(test_settler_purges_once_owner_stays_away)
{
  /* the owner allocates 8 MiB of 64-byte blocks and does not come back;
   * another thread frees all but one block per 1 MiB (the macro blocks
   * stay, their runs empty). Settlings close together keep the pages; the
   * first settling MPCA_HEAP_AWAY_MS after the owner was first found away
   * gives them back. */
  mpca_heap *h = mpca_heap_acquire();
  enum { N = 8 * 16384 };
  static void *b[N];
  for (int i = 0; i < N; i++)
    b[i] = salloc(h, 64);
  uint64_t m0 = atomic_load(&mpca_os_cnt.madvise_calls), t0 = mpca_os_now_ms();
  struct pair first = {h, b, N / 2}, second = {h, b + N / 2, N / 2};
  pthread_t t;
  pthread_create(&t, NULL, remote_freer_keeping, &first);
  pthread_join(t, NULL);
  uint64_t m1 = atomic_load(&mpca_os_cnt.madvise_calls), t1 = mpca_os_now_ms();
  if (MPCA_HARDENED_ON) { /* no settling there: the queue waits */
    ck_assert_uint_ge(atomic_load(&h->queued), (size_t)1 << 20);
  } else {
    ck_assert_uint_lt(atomic_load(&h->queued), (size_t)1 << 20); /* settled */
    if (t1 - t0 < MPCA_HEAP_AWAY_MS) /* (a machine so loaded that it took longer proves nothing) */
      ck_assert_msg(m1 == m0, "%llu madvise calls by settlings %llu ms apart", (unsigned long long)(m1 - m0),
                    (unsigned long long)(t1 - t0));
    usleep(2 * MPCA_HEAP_AWAY_MS * 1000);
    pthread_create(&t, NULL, remote_freer_keeping, &second);
    pthread_join(t, NULL);
    ck_assert_msg(atomic_load(&mpca_os_cnt.madvise_calls) > m1, "the pages of an owner away for %d ms stayed",
                  2 * MPCA_HEAP_AWAY_MS);
  }
  mpca_heap_enter(h);
  mpca_heap_drain(h);
  mpca_heap_leave(h);
  for (int i = 0; i < N; i += KEEP_EVERY)
    lfree(h, b[i]);
  if (MPCA_HARDENED_ON)
    for (int i = N / 2; i < N; i++)
      if (i % KEEP_EVERY != 0)
        rfree(b[i]);
  ends_empty(h);
}
END_TEST

START_TEST(test_abandon_and_adopt)
{
  mpca_heap *h = mpca_heap_acquire();
  void *keep = salloc(h, 200);
  void *m = mpca_medium_malloc(h, 5000);
  mpca_heap_abandon(h);
  ck_assert_int_eq(atomic_load(&h->state), MPCA_HEAP_ABANDONED);
  /* a block freed to an abandoned heap is drained by the freeing thread */
  rfree(keep);
  ck_assert(!mpca_remote_pending(&h->rfq));
  ck_assert_int_eq(atomic_load(&h->state), MPCA_HEAP_ABANDONED);
  mpca_heap *got = NULL;
  pthread_t t;
  pthread_create(&t, NULL, adopt, &got);
  pthread_join(t, NULL);
  ck_assert_ptr_eq(got, h); /* the next heap wanted is the abandoned one */
  ck_assert_int_eq(atomic_load(&h->state), MPCA_HEAP_ACTIVE);
  lfree(h, m);
}
END_TEST

/* A block freed to an abandoned heap while another thread settles it. */
enum { RACE_CHAIN = 200000 };
typedef struct settle_race {
  mpca_heap *h;
  void *first, *last, *late;
  _Atomic bool settled, window;
} settle_race;

/* What a freeing thread does to a small block before it sends it home:
 * marks it free and links it to the next of the chain. */
static void mark_free(void **b, void *next)
{
  mpca_link_set(b, next);
  b[1] = (void *)mpca_free_mark;
}

/* Sends a long chain to the abandoned heap: this thread claims it and
 * spends a while draining. */
static void *send_long_chain(void *arg)
{
  settle_race *r = arg;
  mpca_heap_send_chain(NULL, r->h, r->first, r->last, RACE_CHAIN, 0);
  atomic_store(&r->settled, true);
  return NULL;
}

/* Frees one more block once the settler holds the claim and has taken the
 * queue: nobody looks at the queue after this push but the settler. */
static void *free_during_settle(void *arg)
{
  settle_race *r = arg;
  while (!atomic_load(&r->settled) &&
         !(atomic_load(&r->h->state) == MPCA_HEAP_CLAIMED && !mpca_remote_pending(&r->h->rfq)))
    ;
  atomic_store(&r->window, !atomic_load(&r->settled));
  mark_free(r->late, NULL);
  mpca_heap_send_chain(NULL, r->h, r->late, r->late, 1, 0);
  return NULL;
}

START_TEST(test_free_while_settling_is_not_left_behind)
{
  static settle_race r;
  r.h = mpca_heap_acquire();
  void **prev = NULL;
  for (unsigned i = 0; i < RACE_CHAIN; i++) {
    void **p = salloc(r.h, 16);
    ck_assert_ptr_nonnull(p);
    if (prev)
      mark_free(prev, p);
    else
      r.first = p;
    prev = p;
  }
  mark_free(prev, NULL);
  r.last = prev;
  r.late = salloc(r.h, 16);
  mpca_heap_abandon(r.h);
  atomic_store(&r.settled, false);
  atomic_store(&r.window, false);
  pthread_t a, b;
  pthread_create(&b, NULL, free_during_settle, &r);
  pthread_create(&a, NULL, send_long_chain, &r);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  /* before the fix, the late block waited in the queue for an adopter */
  ck_assert_msg(!mpca_remote_pending(&r.h->rfq), "a block freed during the settle was left in the queue%s",
                atomic_load(&r.window) ? "" : " (not even in the race window)");
  ck_assert_int_eq(atomic_load(&r.h->state), MPCA_HEAP_ABANDONED);
  if (!atomic_load(&r.window))
    fprintf(stderr, "test_free_while_settling: the free came after the settle (the race was not tested)\n");
}
END_TEST

START_TEST(test_cached_double_free_aborts)
{
  mpca_heap *h = mpca_heap_acquire();
  void *a = salloc(h, 48);
  void *b = salloc(h, 48);
  lfree(h, a);
  lfree(h, b);
  lfree(h, a); /* a sits in its run's local_free list */
}
END_TEST

START_TEST(test_never_allocated_slot_free_aborts)
{
  /* a slot carved into the free list but never handed out is free */
  mpca_heap *h = mpca_heap_acquire();
  char *a = salloc(h, 48);
  lfree(h, a + 48);
}
END_TEST

/* Blocks of the remote-free queue of `h`, without draining it. */
static unsigned queued(mpca_heap *h)
{
  unsigned n = 0;
  for (mpca_rnode *r = atomic_load(&h->rfq.head); r; r = mpca_link_next(r))
    n++;
  return n;
}

static void ffree(mpca_heap *h, void *p) { mpca_heap_free_foreign(h, p, "free"); }

START_TEST(test_foreign_free_cached_then_returned)
{
  /* heap b frees blocks of heap a: they wait in b's foreign list (still
   * counted as used in a's run) and go back to a's queue when b flushes */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  unsigned cls = mpca_small_class(80);
  void *p = salloc(a, 80);
  mpca_run *r = mpca_small_run_of(mpca_small_seg_of(p), p);
  int used = r->used;
  ffree(b, p);
  /* it waits in b's ring first, not read, not marked, not linked */
  ck_assert_ptr_null(b->foreign[cls]);
  ck_assert(!mpca_small_marked_free(p));
  ck_assert_int_eq(r->used, used);
  mpca_heap_settle_all(b);
  ck_assert_ptr_eq(b->foreign[cls], p);
  ck_assert_uint_eq(b->nforeign[cls], 1);
  ck_assert(mpca_small_marked_free(p));
  ck_assert_int_eq(r->used, used);
  ck_assert_uint_eq(queued(a), 0);
  /* one block handed over is not reused by b's malloc (it would share a
   * cache line with a's blocks: see test_foreign_reused_from_a_quarter) */
  void *own = salloc(b, 80);
  ck_assert_ptr_ne(own, p);
  ck_assert_ptr_eq(mpca_small_seg_of(own)->hdr.owner, b);
  ck_assert_uint_eq(b->nforeign[cls], 1);
  lfree(b, own);
  uint64_t sent = b->cnt.remote_sent;
  mpca_heap_trim(b);
  ck_assert_uint_eq(b->cnt.remote_sent, sent + 1);
  ck_assert_uint_eq(queued(a), 1);
  ck_assert(mpca_small_marked_free(p)); /* free while on its way home */
  uint64_t received = a->cnt.remote_received;
  mpca_heap_drain(a);
  ck_assert_uint_eq(a->cnt.remote_received, received + 1);
  ck_assert_int_eq(r->used, used - 1);
  ck_assert_ptr_eq(r->local_free, p); /* back in its run */
  mpca_heap_trim(a);
  ck_assert_uint_eq(r->state, MPCA_RUN_FREE);
}
END_TEST

START_TEST(test_foreign_reused_from_a_quarter)
{
  /* b's malloc takes its foreign list of the class once it holds a quarter
   * of its bound, newest first, the mark cleared (not in the hardened
   * build: an allocation bitmap stays with the block's owner) */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire(), *c = mpca_heap_acquire();
  unsigned cls = mpca_small_class(80);
  unsigned n = mpca_classes[cls].foreign_max / 4;
  static void *blocks[1024], *others[1024];
  ck_assert(n >= 2 && n <= 1024);
  for (unsigned i = 0; i < n; i++) {
    blocks[i] = salloc(a, 80);
    others[i] = salloc(a, 80);
  }
  for (unsigned i = 0; i < n - 1; i++)
    ffree(c, others[i]);
  mpca_heap_settle_all(c);
  void *q = salloc(c, 80); /* n - 1 blocks: not yet */
  ck_assert_ptr_eq(mpca_small_seg_of(q)->hdr.owner, c);
  ck_assert_uint_eq(c->nforeign[cls], n - 1);
  for (unsigned i = 0; i < n; i++)
    ffree(b, blocks[i]);
  mpca_heap_settle_all(b);
  ck_assert_uint_eq(b->nforeign[cls], n);
  q = salloc(b, 80);
  ck_assert_ptr_eq(q, blocks[n - 1]);
  ck_assert(!mpca_small_marked_free(q));
  ck_assert_uint_eq(b->nforeign[cls], 0);
  lfree(a, q);
}
END_TEST

START_TEST(test_foreign_flush_batches_per_owner)
{
  /* blocks of 7 owners (more than one flush batch holds) in b's foreign
   * list, past its bound: each owner gets exactly its own blocks */
  enum { OWNERS = 7, EACH = 40 };
  mpca_heap *own[OWNERS], *b = mpca_heap_acquire();
  unsigned cls = mpca_small_class(256);
  void *blk[OWNERS][EACH];
  for (int o = 0; o < OWNERS; o++) {
    own[o] = mpca_heap_acquire();
    for (int i = 0; i < EACH; i++)
      blk[o][i] = salloc(own[o], 256);
  }
  ck_assert_uint_lt(mpca_classes[cls].foreign_max, OWNERS * EACH);
  for (int i = 0; i < EACH; i++)
    for (int o = 0; o < OWNERS; o++)
      ffree(b, blk[o][i]);
  ck_assert_uint_le(b->nforeign[cls], mpca_classes[cls].foreign_max);
  mpca_heap_trim(b);
  ck_assert_uint_eq(b->nforeign[cls], 0);
  for (int o = 0; o < OWNERS; o++) {
    ck_assert_uint_eq(queued(own[o]), EACH);
    for (mpca_rnode *r = atomic_load(&own[o]->rfq.head); r; r = mpca_link_next(r))
      ck_assert_ptr_eq(mpca_small_seg_of(r)->hdr.owner, own[o]);
    mpca_heap_drain(own[o]);
    mpca_heap_trim(own[o]);
    ck_assert_uint_eq(own[o]->small_used, 0);
  }
}
END_TEST

START_TEST(test_other_node_goes_to_owner_queue)
{
  /* a block of another NUMA node is not cached: it goes to its owner now */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  void *p = salloc(a, 48);
  mpca_seg *seg = mpca_registry_lookup(p);
  int node = b->node;
  b->node = (int)seg->node + 1;
  mpca_free_slow(p, mpca_registry_entry(p), b, "free");
  b->node = node;
  ck_assert_uint_eq(queued(a), 1);
  ck_assert_uint_eq(b->nforeign[mpca_small_class(48)], 0);
  mpca_heap_drain(a);
}
END_TEST

START_TEST(test_double_free_across_caches_aborts)
{
  /* freed by another heap (in its cache), then freed by the owner */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  void *p = salloc(a, 32);
  salloc(a, 32);
  ffree(b, p);
  mpca_heap_settle_all(b);
  lfree(a, p);
}
END_TEST

START_TEST(test_double_free_while_pending_aborts)
{
  /* freed by another heap (still in its ring), then by the owner: caught
   * when the other heap settles it */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  void *p = salloc(a, 32);
  salloc(a, 32);
  ffree(b, p);
  lfree(a, p);
  mpca_heap_settle_all(b);
}
END_TEST

START_TEST(test_foreign_double_free_aborts)
{
  /* twice by the same heap, one ring apart: the second settle catches it */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  void *p = salloc(a, 32);
  ffree(b, p);
  ffree(b, p);
  for (unsigned i = 0; i < MPCA_HEAP_PEND; i++)
    ffree(b, salloc(a, 32));
}
END_TEST

START_TEST(test_foreign_ring_settles_in_order)
{
  /* a block in the ring is settled MPCA_HEAP_PEND foreign frees later, or
   * when the heap flushes (thread exit, trim) */
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  unsigned cls = mpca_small_class(48);
  void *p[MPCA_HEAP_PEND + 1];
  for (unsigned i = 0; i <= MPCA_HEAP_PEND; i++)
    p[i] = salloc(a, 48);
  for (unsigned i = 0; i < MPCA_HEAP_PEND; i++)
    ffree(b, p[i]);
  ck_assert_uint_eq(b->nforeign[cls], 0);
  ffree(b, p[MPCA_HEAP_PEND]);
  ck_assert_uint_eq(b->nforeign[cls], 1);
  ck_assert_ptr_eq(b->foreign[cls], p[0]);
  ck_assert(mpca_small_marked_free(p[0]));
  ck_assert(!mpca_small_marked_free(p[1]));
  mpca_heap_trim(b);
  for (unsigned i = 0; i <= MPCA_HEAP_PEND; i++)
    ck_assert(mpca_small_marked_free(p[i]));
  ck_assert_uint_eq(queued(a), MPCA_HEAP_PEND + 1);
  mpca_heap_drain(a);
  mpca_heap_trim(a);
  ck_assert_uint_eq(a->small_used, 0);
}
END_TEST

START_TEST(test_foreign_interior_free_aborts)
{
  mpca_heap *a = mpca_heap_acquire(), *b = mpca_heap_acquire();
  char *p = salloc(a, 96);
  ffree(b, p + 16);
}
END_TEST

START_TEST(test_small_double_free_aborts)
{
  mpca_heap *h = mpca_heap_acquire();
  void *a = salloc(h, 32);
  salloc(h, 32);
  lfree(h, a);
  lfree(h, a);
}
END_TEST

START_TEST(test_interior_free_aborts)
{
  mpca_heap *h = mpca_heap_acquire();
  char *a = salloc(h, 96);
  lfree(h, a + 16);
}
END_TEST

/* A free medium chunk and a free small run are purged at the second tick
 * after they became free, not at the first; a chunk freed after the first
 * tick (merged into a chunk that was marked) waits for a later one. */
START_TEST(test_purge_delay_ages_free_pages)
{
  const size_t k256 = 256 << 10;
  uint64_t saved = mpca_opt[MPCA_OPT_PURGE_DELAY];
  mpca_opt[MPCA_OPT_PURGE_DELAY] = 1000;
  mpca_heap *h = mpca_heap_acquire();
  char *a = mpca_medium_malloc(h, k256), *b = mpca_medium_malloc(h, k256);
  char *c = mpca_medium_malloc(h, k256), *d = mpca_medium_malloc(h, k256);
  memset(b, 1, k256);
  memset(d, 2, k256);
  lfree(h, b); /* between a and c: a chunk of its own */
  /* a run of 1 KiB blocks, all freed: the run goes back to its macro block */
  unsigned cls = mpca_small_class(1024), n = mpca_classes[cls].nslots;
  void *blk[64];
  ck_assert_uint_le(n, 64);
  for (unsigned i = 0; i < n; i++) {
    blk[i] = salloc(h, 1024);
    memset(blk[i], 3, 1024);
  }
  mpca_small_seg *ss = (mpca_small_seg *)mpca_registry_lookup(blk[0]);
  mpca_run *r = mpca_small_run_of(ss, blk[0]);
  char *run_base = r->base;
  for (unsigned i = 0; i < n; i++)
    lfree(h, blk[i]);
  mpca_heap_flush(h);
  ck_assert_int_eq(r->state, MPCA_RUN_FREE);

  uint64_t t = mpca_os_now_ms() + 1000000; /* later than any cached block's time */
  h->decay_next = 0;
  mpca_heap_decay(h, t); /* first tick: marks b and the run */
  ck_assert_uint_gt(resident(b + 4096, k256 - 8192), 0);
  ck_assert_uint_gt(resident(run_base, MPCA_RUN_SIZE), 0);
  lfree(h, d); /* free from now on: merged with the free tail of the macro block */
  ck_assert_uint_eq(mpca_heap_decay(h, t + 999), 0); /* not a tick yet */
  mpca_heap_decay(h, t + 1000);                       /* second tick */
  ck_assert_uint_eq(resident(b + 4096, k256 - 8192), 0);
  ck_assert_uint_eq(resident(run_base, MPCA_RUN_SIZE), 0);
  ck_assert_uint_gt(resident(d + 4096, k256 - 8192), 0);
  mpca_heap_decay(h, t + 2000); /* third tick: d's chunk, marked at the second */
  ck_assert_uint_eq(resident(d + 4096, k256 - 8192), 0);
  /* purged memory is reused as it is: zero pages, fine for malloc */
  char *e = mpca_medium_malloc(h, k256);
  memset(e, 4, k256);
  lfree(h, e);
  lfree(h, a);
  lfree(h, c);
  mpca_opt[MPCA_OPT_PURGE_DELAY] = saved;
  mpca_heap_abandon(h);
}
END_TEST

#ifdef MPCA_HARDENED
/* Hardened build: the fill of a free block (after its link and its free
 * mark), on a freshly carved slot and on a freed one. */
START_TEST(test_hard_fill)
{
  mpca_heap *h = mpca_heap_acquire();
  for (size_t size = 16; size <= 256; size *= 2) {
    unsigned n = mpca_hard_fill_words(mpca_classes[mpca_small_class(size)].size);
    void **p = salloc(h, size);
    void **next = h->cls[mpca_small_class(size)].free; /* carved, never used */
    ck_assert_ptr_nonnull(next);
    ck_assert(mpca_hard_filled(next, 1, n));
    memset(p, 0x77, size);
    lfree(h, p);
    ck_assert(mpca_hard_filled(p, 1, n));
    if (size > MPCA_HARD_FILL_BYTES)
      ck_assert_int_eq(((unsigned char *)p)[MPCA_HARD_FILL_BYTES], 0x77); /* past the fill: untouched */
  }
}
END_TEST

/* One block of 96 bytes freed, written at byte `at`, then handed out again. */
static void write_after_free(size_t at)
{
  mpca_heap *h = mpca_heap_acquire();
  unsigned char *p = salloc(h, 96);
  lfree(h, p);
  p[at] ^= 1;
  for (int i = 0; i < 2000; i++)
    salloc(h, 96);
}

START_TEST(test_hard_write_after_free_aborts) { write_after_free(40); }
END_TEST

START_TEST(test_hard_link_overwritten_aborts) { write_after_free(2); }
END_TEST

/* (its low byte: the link leads into the same registry unit, which is
 * checked without the registry, but not to a slot start) */
START_TEST(test_hard_link_near_overwritten_aborts) { write_after_free(0); }
END_TEST

START_TEST(test_hard_mark_overwritten_aborts) { write_after_free(8); }
END_TEST

/* Written after another thread freed it: found when the owner takes it back. */
START_TEST(test_hard_remote_write_after_free_aborts)
{
  mpca_heap *a = mpca_heap_acquire();
  unsigned char *p = salloc(a, 96);
  rfree(p); /* straight to a's queue */
  p[30] = 1;
  mpca_heap_drain(a);
}
END_TEST
#endif

int main(void)
{
  Suite *s = suite_create("heap");
  TCase *tc = tcase_create("heap");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_run_life_cycle);
  tcase_add_test(tc, test_span_life_cycle);
  tcase_add_test(tc, test_owner_free_is_lifo);
  tcase_add_test(tc, test_free_list_overflow_goes_back_to_runs);
  tcase_add_test(tc, test_foreign_ring_settles_in_order);
  tcase_add_test(tc, test_partial_run_reused_before_new);
  tcase_add_test(tc, test_many_classes_many_blocks);
  tcase_add_test(tc, test_remote_free_drained_by_owner);
  tcase_add_test(tc, test_abandon_and_adopt);
  tcase_add_test(tc, test_idle_owner_queue_settled_by_sender);
  tcase_add_test(tc, test_settler_purges_once_owner_stays_away);
  tcase_add_test(tc, test_free_while_settling_is_not_left_behind);
  tcase_add_test(tc, test_foreign_free_cached_then_returned);
  tcase_add_test(tc, test_foreign_reused_from_a_quarter);
  tcase_add_test(tc, test_foreign_flush_batches_per_owner);
  tcase_add_test(tc, test_other_node_goes_to_owner_queue);
  tcase_add_test(tc, test_purge_delay_ages_free_pages);
  tcase_add_test_raise_signal(tc, test_double_free_across_caches_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_while_pending_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_foreign_double_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_foreign_interior_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_small_double_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_cached_double_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_never_allocated_slot_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_interior_free_aborts, SIGABRT);
#ifdef MPCA_HARDENED
  tcase_add_test(tc, test_hard_fill);
  tcase_add_test_raise_signal(tc, test_hard_write_after_free_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_hard_link_overwritten_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_hard_link_near_overwritten_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_hard_mark_overwritten_aborts, SIGABRT);
  tcase_add_test_raise_signal(tc, test_hard_remote_write_after_free_aborts, SIGABRT);
#endif
  suite_add_tcase(s, tc);
  return unit_run(s);
}
