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
#include "mpca_guarded.h"
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
/* Bytes queued to an active heap past which the thread that sends more
 * settles the queue itself (settle_active). */
#define SETTLE_BYTES ((size_t)1 << 20)
/* Bytes of free runs such a heap keeps resident for its thread's return;
 * the rest goes back to the OS. */
#define SETTLE_KEEP ((size_t)1 << 20)
#define NPOOLS (MPCA_MAX_NODES + 1)

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static char *meta_cur, *meta_end;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static mpca_heap *pools[NPOOLS]; /* abandoned heaps, by node + 1 */
static _Atomic(mpca_heap *) all_heaps;

static void settle_abandoned(mpca_heap *h);
static bool try_settle(mpca_heap *h);

/* Metadata memory, aligned to `align` (a power of two, at most a page). */
static void *meta_alloc(size_t size, size_t align)
{
  size = mpca_align_up(size, MPCA_CACHE_LINE);
  pthread_mutex_lock(&meta_lock);
  if (meta_cur != NULL) /* chunks are mapped page-aligned */
    meta_cur = (char *)mpca_align_up((uintptr_t)meta_cur, align);
  if (meta_cur == NULL || meta_cur > meta_end || (size_t)(meta_end - meta_cur) < size) {
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
    const mpca_size_class *k = &mpca_classes[c];
    h->cls[c] = (mpca_heap_class){
        .magic = k->magic, .below = k->below, .run_mask = k->run_mask, .room = (int16_t)k->free_max, .free_max = k->free_max};
    h->cur[c] = &mpca_run_none;
    mpca_list_init(&h->partial[c]);
  }
  for (unsigned f = 0; f < MPCA_FLAVORS; f++) {
    mpca_list_init(&h->small_avail[f]);
    mpca_list_init(&h->small_full[f]);
  }
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
  mpca_heap *h = meta_alloc(sizeof *h, MPCA_HEAP_ALIGN);
  if (h == NULL)
    return NULL;
  heap_init(h, node);
  mpca_heap *head = atomic_load_explicit(&all_heaps, memory_order_relaxed);
  do {
    h->all_next = head;
  } while (!atomic_compare_exchange_weak_explicit(&all_heaps, &head, h, memory_order_release, memory_order_relaxed));
  return h;
}

/* Profiling on (MPCALLOC_PROF): the heap's sampler, and free lists that
 * take no block without a call to mpca_heap_free_overflow (free_max 0),
 * where the owner's frees are charged to the sampler (free_overflow_prof).
 * Without a sampler (no metadata memory) the heap goes unsampled, as with
 * profiling off. The free lists of a heap not in use are empty. */
static void prof_setup(mpca_heap *h)
{
  if (mpca_likely(!mpca_prof_on) || h->prof != NULL || (h->prof = mpca_prof_state_new()) == NULL)
    return;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    h->cls[c].room = (int16_t)-(int)mpca_heap_class_count(&h->cls[c]);
    h->cls[c].free_max = 0;
  }
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
    mpca_heap_enter(h);
    mpca_heap_drain(h);
    h->cnt.adoptions++;
    mpca_heap_leave(h);
    prof_setup(h); /* (made before profiling was on: the unit tests) */
    return h;
  }
  h = heap_new(node);
  if (h == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  prof_setup(h);
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
  size_t size; /* of each block (one list: one class) */
  struct {
    mpca_heap *owner;
    void **first, **last;
    unsigned count;
  } to[BATCH_OWNERS];
} owner_batch;

static void batch_send(mpca_heap *h, owner_batch *ob)
{
  for (unsigned i = 0; i < ob->n; i++)
    mpca_heap_send_chain(h, ob->to[i].owner, ob->to[i].first, ob->to[i].last, ob->to[i].count,
                         ob->to[i].count * ob->size);
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
 * runs, other heaps' to their owners' queues (they stay marked free).
 * Neighbours in the list from one run go back in one step (a thread exit
 * gives back a few hundred never-used blocks of its current runs this
 * way). */
static void give_back(mpca_heap *h, void **p, unsigned cls)
{
  owner_batch ob;
  ob.n = 0;
  ob.size = mpca_classes[cls].size;
  while (p) {
    void **next = mpca_link_next(p);
    mpca_small_seg *ss = mpca_small_seg_of(p);
    if (ss->hdr.owner != h) {
      batch_add(h, &ob, ss->hdr.owner, p);
      p = next;
      continue;
    }
    mpca_run *r = mpca_small_desc(ss, p);
    if (r->state == MPCA_RUN_FULL) { /* its first block back makes it partial */
      mpca_small_put_local(h, r, p);
      p = next;
      continue;
    }
    void **last = p;
    unsigned n = 1;
    for (; next != NULL && mpca_small_seg_of(next) == ss && mpca_small_desc(ss, next) == r; n++) {
      last = next;
      next = mpca_link_next(next);
    }
    mpca_small_put_chain(h, r, p, last, n);
    p = next;
  }
  batch_send(h, &ob);
}

/* The first `keep` (>= 1) blocks of `list` stay, the rest is returned. */
static void **split_after(void **list, unsigned keep)
{
  void **last = list;
  for (unsigned i = 1; i < keep; i++)
    last = mpca_link_next(last);
  void **tail = mpca_link_next(last);
  mpca_link_set(last, NULL);
  return tail;
}

/* The free list of `cls` is past its bound: its older half goes back. (A
 * function of its own: mpca_heap_free_overflow, called on every owner free
 * while the heap samples, saves no register before its test.) */
static MPCA_NOINLINE void free_list_trim(mpca_heap *h, unsigned cls)
{
  unsigned keep = mpca_classes[cls].free_max / 2;
  void **last = h->cls[cls].free;
  for (unsigned i = 1; i < keep; i++)
    last = mpca_link_next(last);
  void **tail = mpca_link_next(last);
  mpca_link_set(last, NULL);
  h->cls[cls].room = (int16_t)(h->cls[cls].free_max - keep);
  mpca_heap_enter(h);
  give_back(h, tail, cls);
  mpca_heap_leave(h);
}

/* Profiling on: the owner just pushed a block on the free list of `cls`,
 * whose free_max is 0 (prof_setup). The free list holds blocks whose bytes
 * were charged to the class's countdown (st->left) when they joined it,
 * so that every block malloc pops was counted, the owner's frees that
 * malloc reuses without a slow path too; the held list holds the blocks
 * from the next sample point on, uncharged (mpca_prof.h). So the block is
 * charged and stays where it is (mpca_heap_free_overflow, inline), unless
 * the point falls in it or was already reached: then it joins the held
 * list here, and the malloc that finds the free list empty is the sampled
 * one (prof_heap.c). Both lists keep the bound of a free list: past it
 * their older half goes back, the free list's refunded (never handed out,
 * so not allocated). `charged`: the block was, and the free list is over
 * its bound. */
static MPCA_NOINLINE void free_overflow_prof(mpca_heap *h, mpca_prof_state *st, unsigned cls, bool charged)
{
  mpca_heap_class *hc = &h->cls[cls];
  unsigned max = mpca_classes[cls].free_max, keep = max / 2;
  void **tail;
  if (charged) {
    unsigned n = mpca_heap_class_count(hc);
    tail = split_after(hc->free, keep);
    hc->room = (int16_t)(hc->free_max - keep);
    st->left[cls] += (int64_t)(n - keep) * mpca_classes[cls].size;
  } else {
    void **p = hc->free;
    hc->free = mpca_link_next(p);
    hc->room++;
    mpca_link_set(p, st->held[cls]);
    st->held[cls] = p;
    if (mpca_likely(++st->nheld[cls] <= max))
      return;
    tail = split_after(p, keep); /* the first, where the point is, stays */
    st->nheld[cls] = (uint16_t)keep;
  }
  mpca_heap_enter(h);
  give_back(h, tail, cls);
  mpca_heap_leave(h);
}

void mpca_heap_free_overflow(mpca_heap *h, unsigned cls)
{
  mpca_prof_state *st = h->prof;
  if (mpca_unlikely(st != NULL)) { /* every owner free while the heap samples */
    int64_t size = mpca_classes[cls].size;
    if (mpca_likely(st->held[cls] == NULL && st->left[cls] > size)) {
      st->left[cls] -= size;
      if (mpca_likely(h->cls[cls].room >= -(int)mpca_classes[cls].free_max))
        return;
      free_overflow_prof(h, st, cls, true);
      return;
    }
    free_overflow_prof(h, st, cls, false);
    return;
  }
  free_list_trim(h, cls);
}

void mpca_heap_foreign_flush(mpca_heap *h, unsigned cls)
{
  void **list = h->foreign[cls];
  h->foreign[cls] = NULL;
  h->nforeign[cls] = 0;
  mpca_heap_enter(h);
  give_back(h, list, cls);
  mpca_heap_leave(h);
}

void mpca_heap_settle_bad(void *q) { mpca_bad_pointer("free", q, "double free (block is already free)"); }

void mpca_heap_settle_all(mpca_heap *h)
{
  for (unsigned i = 0; i < MPCA_HEAP_PEND; i++) { /* oldest first: the list keeps the order of the frees */
    unsigned k = (h->pend_next + i) & (MPCA_HEAP_PEND - 1);
    void **q = h->pend[k];
    if (q != NULL) {
      h->pend[k] = NULL;
      mpca_heap_settle(h, q, h->pend_cls[k]);
    }
  }
}

void mpca_heap_free_foreign(mpca_heap *h, void *p, const char *fn)
{
  if (!mpca_heap_free_foreign_fast(h, mpca_registry_entry(p), p))
    mpca_small_free_remote_check(p, fn); /* reports what is wrong */
}

void mpca_heap_flush(mpca_heap *h)
{
  mpca_heap_enter(h);
  mpca_heap_settle_all(h);
  mpca_prof_state *st = h->prof;
  /* every class: the owner's frees fill free[c] whatever was used since */
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    if (h->cls[c].free == NULL && h->foreign[c] == NULL && h->cur[c] == &mpca_run_none &&
        mpca_prof_held(h, c) == NULL)
      continue;
    void **list = h->cls[c].free;
    if (st != NULL) /* (profiling) never handed out: their charge comes back */
      st->left[c] += (int64_t)mpca_heap_class_count(&h->cls[c]) * mpca_classes[c].size;
    h->cls[c].free = NULL;
    h->cls[c].room = (int16_t)h->cls[c].free_max;
    give_back(h, list, c);
    give_back(h, mpca_prof_take_held(h, c), c);
    mpca_heap_foreign_flush(h, c);
    mpca_small_retire(h, c);
  }
  mpca_heap_leave(h);
}

size_t mpca_heap_trim(mpca_heap *h)
{
  mpca_heap_enter(h);
  mpca_heap_drain(h);
  mpca_heap_flush(h);
  size_t released = mpca_small_release_empty(h, 0) + mpca_medium_release_empty(h, 0);
  mpca_heap_leave(h);
  return released;
}

size_t mpca_heap_purge(mpca_heap *h)
{
  mpca_heap_enter(h);
  size_t purged = mpca_small_purge(h, false, 0) + mpca_medium_purge(h, false);
  mpca_heap_leave(h);
  return purged;
}

size_t mpca_heap_decay(mpca_heap *h, uint64_t now)
{
  uint64_t delay = mpca_opt[MPCA_OPT_PURGE_DELAY];
  if (delay == MPCA_TIME_NEVER || now < h->decay_next)
    return 0;
  h->decay_next = now + (delay ? delay : 1);
  size_t guarded = MPCA_HARDENED_ON ? mpca_guarded_decay(now) : 0; /* before the source's: they go there */
  return guarded + mpca_source_decay(now) + mpca_small_purge(h, true, 0) + mpca_medium_purge(h, true);
}

void mpca_heap_tick_slow(mpca_heap *h)
{
  h->ticks = MPCA_HEAP_TICK_EVENTS;
  mpca_heap_decay(h, mpca_os_now_ms());
}

void mpca_heap_abandon(mpca_heap *h)
{
  mpca_heap_enter(h);
  mpca_heap_trim(h);
  settle_abandoned(h);
  /* The free pages stay resident: purging them here cost the next adopter
   * a page fault each (4x slower thread churn on a VM). */
  atomic_store_explicit(&h->state, MPCA_HEAP_ABANDONED, memory_order_release);
  mpca_heap_leave(h);
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
  case MPCA_KIND_GUARDED:
    if (MPCA_HARDENED_ON) {
      mpca_guarded_free(seg, p, fn);
      break;
    }
    /* fall through */
  default: mpca_bad_pointer(fn, p, "double free or invalid pointer (memory is not allocated)"); break;
  }
}

/* Blocks on the queue were checked by the threads that freed them (small
 * blocks are marked free); what is left to check is that they are ours. */
void mpca_heap_drain(mpca_heap *h)
{
  mpca_rnode *n = mpca_remote_take_all(&h->rfq);
  atomic_store_explicit(&h->queued, 0, memory_order_relaxed);
  while (n != NULL) {
    mpca_rnode *next = mpca_link_next(n);
    uintptr_t e = mpca_registry_entry(n);
    if ((e & MPCA_REG_SMALL) && mpca_registry_mine(e, h)) {
      mpca_small_free_drained(h, mpca_small_desc(mpca_small_seg_of(n), n), n);
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
    /* a settler of the active heap it was may still be leaving */
    while (atomic_exchange_explicit(&h->hold, 1, memory_order_acquire) != 0)
      sched_yield();
    settle_abandoned(h);
    atomic_store_explicit(&h->hold, 0, memory_order_release);
    atomic_store_explicit(&h->state, MPCA_HEAP_ABANDONED, memory_order_release);
    settled = true;
    atomic_thread_fence(memory_order_seq_cst);
    if (!mpca_remote_pending(&h->rfq))
      return true;
  }
}

/* Settle the queue of the active heap `h` in its thread's place, if nobody
 * holds it (its thread is not on a slow path): the blocks go back to their
 * runs and chunks, and what becomes wholly free to the source, where any
 * thread can reuse it. */
static void settle_active(mpca_heap *h)
{
  if (atomic_exchange_explicit(&h->hold, 1, memory_order_acquire) != 0)
    return;
  /* held: the thread cannot abandon the heap meanwhile (that takes the
   * hold), but it may have done so just before */
  if (atomic_load_explicit(&h->state, memory_order_acquire) == MPCA_HEAP_ACTIVE) {
    mpca_heap_drain(h);
    mpca_small_release_empty(h, 0);
    mpca_medium_release_empty(h, 0);
    /* no slow path of its thread since the settlings of the last
     * MPCA_HEAP_AWAY_MS: it is away (blocked, or not scheduled), and what it
     * left free serves nobody */
    if (h->visits != h->visits_settled) {
      h->away_since = 0;
    } else {
      uint64_t now = mpca_os_now_ms();
      if (h->away_since == 0) {
        h->away_since = now;
      } else if (now - h->away_since >= MPCA_HEAP_AWAY_MS) {
        mpca_small_purge(h, false, SETTLE_KEEP);
        mpca_medium_purge(h, false);
      }
    }
    h->visits_settled = h->visits;
  }
  atomic_store_explicit(&h->hold, 0, memory_order_release);
}

void mpca_heap_send_chain(mpca_heap *me, mpca_heap *owner, void *first, void *last, unsigned n, size_t bytes)
{
  mpca_remote_push_chain(&owner->rfq, first, last);
  size_t queued = atomic_fetch_add_explicit(&owner->queued, bytes, memory_order_relaxed) + bytes;
  if (me)
    me->cnt.remote_sent += n;
  atomic_thread_fence(memory_order_seq_cst); /* pairs with try_settle's */
  int state = atomic_load_explicit(&owner->state, memory_order_relaxed);
  if (state == MPCA_HEAP_ABANDONED)
    try_settle(owner);
  else if (mpca_unlikely(queued >= SETTLE_BYTES) && state == MPCA_HEAP_ACTIVE && !MPCA_HARDENED_ON)
    settle_active(owner);
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
  mpca_heap_send_chain(me, seg->owner, p, p, 1, mpca_medium_usable(p));
}

/* The order: the forking thread's heap, the heap profiler's lock, then the
 * pool and metadata locks (and the sources', init.c). A thread settling
 * our heap may be freeing a sampled medium block (mpca_medium_free takes
 * the profiler's lock under our heap's hold); under the profiler's lock,
 * the profiling heap takes metadata memory and macro blocks. */
void mpca_heaps_fork_prepare(mpca_heap *me)
{
  /* no other thread in the middle of settling our heap: the child's copy
   * of it is consistent */
  if (me)
    mpca_heap_enter(me);
  mpca_prof_fork_prepare();
  pthread_mutex_lock(&pool_lock);
  pthread_mutex_lock(&meta_lock);
}

void mpca_heaps_fork_parent(mpca_heap *me)
{
  pthread_mutex_unlock(&meta_lock);
  pthread_mutex_unlock(&pool_lock);
  mpca_prof_fork_parent();
  if (me)
    mpca_heap_leave(me);
}

void mpca_heaps_fork_child(mpca_heap *survivor)
{
  pthread_mutex_init(&meta_lock, NULL);
  pthread_mutex_init(&pool_lock, NULL);
  mpca_prof_fork_child();
  /* Only the forking thread lives on. Heaps that other threads were using may
   * have been caught mid-update: they are orphaned, never adopted (their
   * memory stays unused in the child). Abandoned heaps were consistent. */
  for (int i = 0; i < NPOOLS; i++)
    pools[i] = NULL;
  if (survivor) {
    survivor->depth = 0;
    atomic_store_explicit(&survivor->hold, 0, memory_order_relaxed);
  }
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    if (h == survivor)
      continue;
    if (atomic_load_explicit(&h->state, memory_order_relaxed) == MPCA_HEAP_ABANDONED) {
      /* a thread that only looked at it may have held it at the fork */
      atomic_store_explicit(&h->hold, 0, memory_order_relaxed);
      h->pool_next = pools[h->node + 1];
      pools[h->node + 1] = h;
    } else {
      atomic_store_explicit(&h->state, MPCA_HEAP_ORPHAN, memory_order_relaxed);
    }
  }
}
