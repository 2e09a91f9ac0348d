/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Thread heaps. A heap is made once from metadata memory and never destroyed:
 * when its thread exits it is abandoned to a pool, and the next thread that
 * needs a heap adopts it with everything it owns and everything freed to it
 * meanwhile. Blocks freed to an abandoned heap are drained right away by the
 * freeing thread, which claims the heap for that moment, so a dead thread's
 * memory is reused even when no new thread comes. The pool lock is taken only
 * at thread start and exit, never on a malloc/free path. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include "mpca_config.h"
#include "mpca_error.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_list.h"
#include "mpca_medium.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_registry.h"
#include "mpca_remote.h"
#include "mpca_small.h"
#include "mpca_source.h"

#define META_CHUNK ((size_t)1 << 20)
#define NPOOLS (MPCA_MAX_NODES + 1)

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static char *meta_cur, *meta_end;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static mpca_heap *pools[NPOOLS]; /* abandoned heaps, by node + 1 */
static _Atomic(mpca_heap *) all_heaps;

static void settle_abandoned(mpca_heap *h);
static bool try_settle(mpca_heap *h);

static void *meta_alloc(size_t size)
{
  size = mpca_align_up(size, MPCA_CACHE_LINE);
  pthread_mutex_lock(&meta_lock);
  if (meta_cur == NULL || (size_t)(meta_end - meta_cur) < size) {
    size_t chunk = size > META_CHUNK ? size : META_CHUNK;
    char *m = mpca_os_meta_map(chunk);
    if (m == NULL) {
      pthread_mutex_unlock(&meta_lock);
      return NULL;
    }
    meta_cur = m;
    meta_end = m + chunk;
  }
  void *p = meta_cur;
  meta_cur += size;
  pthread_mutex_unlock(&meta_lock);
  return p;
}

static void heap_init(mpca_heap *h, int node)
{
  memset(h, 0, sizeof *h);
  mpca_remote_init(&h->rfq);
  atomic_init(&h->state, MPCA_HEAP_ACTIVE);
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    h->cur[c] = &mpca_run_none;
    mpca_list_init(&h->partial[c]);
  }
  mpca_list_init(&h->small_avail);
  mpca_list_init(&h->small_full);
  for (unsigned b = 0; b < MPCA_MEDIUM_NBINS; b++)
    mpca_list_init(&h->bins[b]);
  mpca_list_init(&h->medium_segs);
  h->node = node;
  h->source = mpca_source_for_node(node);
}

/* A new heap of `node`, on the list of every heap; NULL when no metadata
 * memory can be had. */
static mpca_heap *heap_new(int node)
{
  mpca_heap *h = meta_alloc(sizeof *h);
  if (h == NULL)
    return NULL;
  heap_init(h, node);
  mpca_heap *head = atomic_load_explicit(&all_heaps, memory_order_relaxed);
  do {
    h->all_next = head;
  } while (!atomic_compare_exchange_weak_explicit(&all_heaps, &head, h, memory_order_release, memory_order_relaxed));
  return h;
}

static mpca_heap *pool_pop(int node)
{
  pthread_mutex_lock(&pool_lock);
  mpca_heap *h = pools[node + 1];
  if (h)
    pools[node + 1] = h->pool_next;
  pthread_mutex_unlock(&pool_lock);
  return h;
}

static void pool_push(mpca_heap *h)
{
  pthread_mutex_lock(&pool_lock);
  h->pool_next = pools[h->node + 1];
  pools[h->node + 1] = h;
  pthread_mutex_unlock(&pool_lock);
}

mpca_heap *mpca_heap_acquire(void)
{
  int node = mpca_numa_home_node();
  mpca_heap *h = pool_pop(node);
  if (h != NULL) {
    /* A drainer may hold it for a moment. */
    int expected = MPCA_HEAP_ABANDONED;
    while (!atomic_compare_exchange_weak_explicit(&h->state, &expected, MPCA_HEAP_ACTIVE, memory_order_acquire,
                                                  memory_order_relaxed)) {
      expected = MPCA_HEAP_ABANDONED;
      sched_yield();
    }
    mpca_heap_drain(h);
    h->cnt.adoptions++;
    return h;
  }
  h = heap_new(node);
  if (h == NULL)
    errno = ENOMEM;
  return h;
}

mpca_heap *mpca_heap_new_detached(int node)
{
  mpca_heap *h = heap_new(node);
  /* never adopted, never settled, not a thread's (statistics) */
  if (h != NULL)
    atomic_store_explicit(&h->state, MPCA_HEAP_ORPHAN, memory_order_relaxed);
  return h;
}

mpca_heap *mpca_heap_first(void) { return atomic_load_explicit(&all_heaps, memory_order_acquire); }

/* ---- small blocks of other heaps ------------------------------------------ */

/* Blocks leaving a free or foreign list for other heaps, gathered per
 * owner so that each owner gets one queue push per flush. */
#define BATCH_OWNERS 4
typedef struct owner_batch {
  unsigned n;
  struct {
    mpca_heap *owner;
    void **first, **last;
    unsigned count;
  } to[BATCH_OWNERS];
} owner_batch;

static void batch_send(mpca_heap *h, owner_batch *ob)
{
  for (unsigned i = 0; i < ob->n; i++)
    mpca_heap_send_chain(h, ob->to[i].owner, ob->to[i].first, ob->to[i].last, ob->to[i].count);
  ob->n = 0;
}

static void batch_add(mpca_heap *h, owner_batch *ob, mpca_heap *owner, void **p)
{
  unsigned i = 0;
  while (i < ob->n && ob->to[i].owner != owner)
    i++;
  if (i == ob->n) {
    if (ob->n == BATCH_OWNERS)
      batch_send(h, ob);
    i = ob->n++;
    ob->to[i].owner = owner;
    ob->to[i].first = ob->to[i].last = p;
    ob->to[i].count = 1;
    mpca_link_set(p, NULL);
    return;
  }
  mpca_link_set(p, ob->to[i].first);
  ob->to[i].first = p;
  ob->to[i].count++;
}

/* Give every small block of the list `p` back: the heap's own to their
 * runs, other heaps' to their owners' queues (they stay marked free). A
 * free list of the owner's blocks holds blocks of its current run only
 * (mpca_types.h): that list goes back in one step, after a walk that
 * counts it and checks it is so (a thread exit gives back a few hundred
 * never-used blocks this way). */
static void give_back(mpca_heap *h, void **p)
{
  if (p != NULL && mpca_small_seg_of(p)->hdr.owner == h) {
    mpca_small_seg *ss = mpca_small_seg_of(p);
    mpca_run *r = mpca_small_run_of(ss, p);
    void **last = p;
    unsigned n = 1;
    while (mpca_link_next(last) != NULL) {
      last = mpca_link_next(last);
      n++;
    }
    if (mpca_small_seg_of(last) == ss && mpca_small_run_of(ss, last) == r && r->state != MPCA_RUN_FULL) {
      mpca_small_put_chain(h, r, p, last, n);
      return;
    }
  }
  owner_batch ob;
  ob.n = 0;
  while (p) {
    void **next = mpca_link_next(p);
    mpca_small_seg *ss = mpca_small_seg_of(p);
    if (ss->hdr.owner != h)
      batch_add(h, &ob, ss->hdr.owner, p);
    else
      mpca_small_put_local(h, mpca_small_run_of(ss, p), p);
    p = next;
  }
  batch_send(h, &ob);
}

void mpca_heap_foreign_flush(mpca_heap *h, unsigned cls)
{
  void **list = h->foreign[cls];
  h->foreign[cls] = NULL;
  h->nforeign[cls] = 0;
  give_back(h, list);
}

void mpca_heap_free_foreign(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  if (!mpca_heap_free_foreign_fast(h, (mpca_small_seg *)seg, p))
    mpca_small_free_remote_check(seg, p, fn); /* reports what is wrong */
}

void mpca_heap_flush(mpca_heap *h)
{
  for (uint64_t m = h->classes_used; m; m &= m - 1) {
    unsigned c = (unsigned)__builtin_ctzll(m);
    void **list = h->free[c];
    h->free[c] = NULL;
    h->tc_count[c] = 0;
    give_back(h, list);
    give_back(h, mpca_prof_take_held(h, c));
    mpca_heap_foreign_flush(h, c);
    mpca_small_retire(h, c);
  }
  h->classes_used = 0;
}

size_t mpca_heap_trim(mpca_heap *h)
{
  mpca_heap_drain(h);
  mpca_heap_flush(h);
  return mpca_small_release_empty(h, 0) + mpca_medium_release_empty(h, 0);
}

size_t mpca_heap_purge(mpca_heap *h) { return mpca_small_purge(h, false) + mpca_medium_purge(h, false); }

size_t mpca_heap_decay(mpca_heap *h, uint64_t now)
{
  uint64_t delay = mpca_opt[MPCA_OPT_PURGE_DELAY];
  if (delay == MPCA_TIME_NEVER || now < h->decay_next)
    return 0;
  h->decay_next = now + (delay ? delay : 1);
  return mpca_source_decay(now) + mpca_small_purge(h, true) + mpca_medium_purge(h, true);
}

void mpca_heap_tick_slow(mpca_heap *h)
{
  h->ticks = MPCA_HEAP_TICK_EVENTS;
  mpca_heap_decay(h, mpca_os_now_ms());
}

void mpca_heap_abandon(mpca_heap *h)
{
  mpca_heap_trim(h);
  settle_abandoned(h);
  /* The free pages stay resident: purging them here cost the next adopter
   * a page fault each (4x slower thread churn on a VM). */
  atomic_store_explicit(&h->state, MPCA_HEAP_ABANDONED, memory_order_release);
  pool_push(h);
  /* Blocks freed to us between the drain and the store above would wait
   * for an adopter: settle them now if nobody else does (the fence pairs
   * with the one of mpca_heap_send_chain, see try_settle). */
  atomic_thread_fence(memory_order_seq_cst);
  if (mpca_remote_pending(&h->rfq))
    try_settle(h);
}

/* The kind dispatch of a free by the holder of `h`. */
void mpca_heap_free_local(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  switch (seg->kind) {
  case MPCA_KIND_SMALL: mpca_small_free(h, seg, p, fn); break;
  case MPCA_KIND_MEDIUM: mpca_medium_free(h, seg, p, fn); break;
  case MPCA_KIND_HUGE: mpca_huge_free(h, seg, p, fn); break;
  default: mpca_bad_pointer(fn, p, "double free or invalid pointer (memory is not allocated)"); break;
  }
}

/* Blocks on the queue were checked by the threads that freed them (small
 * blocks are marked free); what is left to check is that they are ours. */
void mpca_heap_drain(mpca_heap *h)
{
  mpca_rnode *n = mpca_remote_take_all(&h->rfq);
  while (n != NULL) {
    mpca_rnode *next = mpca_link_next(n);
    uintptr_t e = mpca_registry_entry(n);
    if (e == (uintptr_t)h + MPCA_REG_SMALL) {
      mpca_small_free_drained(h, n);
    } else {
      mpca_seg *seg = mpca_registry_seg(e, n);
      if (mpca_unlikely(seg == NULL || seg->kind != MPCA_KIND_MEDIUM || seg->owner != h))
        mpca_fatal("mpcalloc: heap corruption: remote-freed block %p does not belong to heap %p; aborting\n",
                   (void *)n, (void *)h);
      /* its free mark goes: merged into a free neighbour, the word would
       * stay and mark the block that malloc cuts there later */
      ((void **)n)[1] = NULL;
      mpca_medium_free(h, seg, n, "free");
    }
    h->cnt.remote_received++;
    n = next;
  }
}

/* Blocks freed to a heap whose thread has exited go straight back to their
 * runs, and empty macro blocks to the source. */
static void settle_abandoned(mpca_heap *h)
{
  mpca_heap_drain(h);
  mpca_small_release_empty(h, 0);
  mpca_medium_release_empty(h, 0);
}

/* Claim an abandoned heap for a moment and settle it; false if someone else
 * holds it (an adopter, or another thread settling it). A block pushed while
 * another thread holds the claim must not be left behind until the next
 * push or adoption: the pusher, after its push, looks at the state, and the
 * settler, after giving the claim back, looks at the queue again; with a
 * sequentially consistent fence on each side, at least one of them sees the
 * other's write and settles the block. */
static bool try_settle(mpca_heap *h)
{
  bool settled = false;
  for (;;) {
    int expected = MPCA_HEAP_ABANDONED;
    if (!atomic_compare_exchange_strong_explicit(&h->state, &expected, MPCA_HEAP_CLAIMED, memory_order_acquire,
                                                 memory_order_relaxed))
      return settled;
    settle_abandoned(h);
    atomic_store_explicit(&h->state, MPCA_HEAP_ABANDONED, memory_order_release);
    settled = true;
    atomic_thread_fence(memory_order_seq_cst);
    if (!mpca_remote_pending(&h->rfq))
      return true;
  }
}

void mpca_heap_send_chain(mpca_heap *me, mpca_heap *owner, void *first, void *last, unsigned n)
{
  mpca_remote_push_chain(&owner->rfq, first, last);
  if (me)
    me->cnt.remote_sent += n;
  atomic_thread_fence(memory_order_seq_cst); /* pairs with try_settle's */
  if (atomic_load_explicit(&owner->state, memory_order_relaxed) == MPCA_HEAP_ABANDONED)
    try_settle(owner);
}

void mpca_heap_free_remote(mpca_heap *me, mpca_seg *seg, void *p)
{
  /* A medium block's own header is stable while the block is in use, and
   * pushing a free chunk would corrupt the owner's free lists, so it is
   * checked before it is sent; on its way it carries the free mark in its
   * second word (set with one atomic exchange, so that two threads freeing
   * it at once cannot both send it), which a second free finds. */
  if (!mpca_medium_valid(seg, p)) {
    mpca_bad_pointer("free", p, "invalid pointer or double free (medium block not in use)");
    return;
  }
  _Atomic uintptr_t *mark = (_Atomic uintptr_t *)((void **)p + 1);
  if (atomic_exchange_explicit(mark, mpca_free_mark, memory_order_relaxed) == mpca_free_mark) {
    mpca_bad_pointer("free", p, "double free (block is already free)");
    return;
  }
  mpca_heap_send_chain(me, seg->owner, p, p, 1);
}

void mpca_heaps_fork_prepare(void)
{
  pthread_mutex_lock(&pool_lock);
  pthread_mutex_lock(&meta_lock);
}

void mpca_heaps_fork_parent(void)
{
  pthread_mutex_unlock(&meta_lock);
  pthread_mutex_unlock(&pool_lock);
}

void mpca_heaps_fork_child(mpca_heap *survivor)
{
  pthread_mutex_init(&meta_lock, NULL);
  pthread_mutex_init(&pool_lock, NULL);
  /* Only the forking thread lives on. Heaps that other threads were using may
   * have been caught mid-update: they are orphaned, never adopted (their
   * memory stays unused in the child). Abandoned heaps were consistent. */
  for (int i = 0; i < NPOOLS; i++)
    pools[i] = NULL;
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    if (h == survivor)
      continue;
    if (atomic_load_explicit(&h->state, memory_order_relaxed) == MPCA_HEAP_ABANDONED) {
      h->pool_next = pools[h->node + 1];
      pools[h->node + 1] = h;
    } else {
      atomic_store_explicit(&h->state, MPCA_HEAP_ORPHAN, memory_order_relaxed);
    }
  }
}
