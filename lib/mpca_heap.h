/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Thread heaps: creation from metadata memory, abandonment at thread exit,
 * adoption by later threads, remote frees and their draining, and the
 * kind dispatch of a free. */
#ifndef MPCA_HEAP_H
#define MPCA_HEAP_H

#include <sched.h>
#include "mpca_small.h"

/* The holder of a heap's slow-path state (mpca_types.h). Its thread holds
 * it on every slow path (never on the fast paths), nested calls counting in
 * depth; another thread only tries it, to settle the blocks queued to the
 * heap (mpca_heap_send_chain), and holds it for that drain only. */
MPCA_INLINE void mpca_heap_enter(mpca_heap *h)
{
  if (h->depth++ == 0) {
    while (atomic_exchange_explicit(&h->hold, 1, memory_order_acquire) != 0)
      sched_yield(); /* a settler is draining the queue for us */
    h->visits++;
  }
}
MPCA_INLINE void mpca_heap_leave(mpca_heap *h)
{
  if (--h->depth == 0)
    atomic_store_explicit(&h->hold, 0, memory_order_release);
}

/* How long (ms) the threads that settle an active heap's queue in its
 * owner's place (mpca_heap_send_chain) must have found no slow path of the
 * owner before they give its free pages back. A thread blocked for a
 * moment on a queue comes back to those pages: purging at the first
 * settling that found it away cost xmalloc-test 1.4 x its time at 2
 * threads (3 x the page faults) and 1.9 x at 16, for half its resident
 * size at 16 (bench/RESULTS.md). */
#define MPCA_HEAP_AWAY_MS 100

/* A heap for the calling thread: an abandoned one if any, else a new one.
 * NULL with errno ENOMEM when no metadata memory can be had. */
MPCA_INTERNAL mpca_heap *mpca_heap_acquire(void);
/* A heap no thread holds, never adopted (the heap profiler's, whose
 * callers hold its lock): NULL when no metadata memory can be had. */
MPCA_INTERNAL mpca_heap *mpca_heap_new_detached(int node);
/* The thread is done with `h`: drain, give empty memory back, publish it for
 * adoption. */
MPCA_INTERNAL void mpca_heap_abandon(mpca_heap *h);
/* Free `p` of macro block `seg` owned by `h` (the caller holds h). */
MPCA_INTERNAL void mpca_heap_free_local(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* Send the medium block `p` to the heap that owns it; `me` may be NULL. */
MPCA_INTERNAL void mpca_heap_free_remote(mpca_heap *me, mpca_seg *seg, void *p);
/* Send the chain `first`..`last` of `n` blocks of `bytes` in all (linked
 * through their first word) to their owner's queue; `me` may be NULL. When
 * the owner is active but lets its queue grow (a thread blocked elsewhere,
 * or not scheduled), the sender settles the queue in its place. */
MPCA_INTERNAL void mpca_heap_send_chain(mpca_heap *me, mpca_heap *owner, void *first, void *last, unsigned n,
                                        size_t bytes);
/* Free of a small block of another heap (same NUMA node) by the holder of
 * `h`: into h's foreign list of its class; reports a bad pointer. */
MPCA_INTERNAL void mpca_heap_free_foreign(mpca_heap *h, void *p, const char *fn);
/* h's foreign list of `cls` is over its bound: send it home. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_heap_foreign_flush(mpca_heap *h, unsigned cls);

/* A pending foreign block `q` of class `cls` joins the foreign list (or is
 * reported: freed twice). */
MPCA_INTERNAL MPCA_COLD void mpca_heap_settle_bad(void *q);
MPCA_INLINE void mpca_heap_settle(mpca_heap *h, void **q, unsigned cls)
{
  if (mpca_unlikely(mpca_small_marked_free(q))) {
    mpca_heap_settle_bad(q);
    return;
  }
  mpca_link_set(q, h->foreign[cls]);
  q[1] = (void *)mpca_free_mark;
  mpca_small_hard_fill(q, cls);
  h->foreign[cls] = q;
  if (mpca_unlikely(++h->nforeign[cls] > mpca_classes[cls].foreign_max))
    mpca_heap_foreign_flush(h, cls);
}

/* The free of a block of another heap, inline: false (and nothing done)
 * when `p` is no slot start. The block is not read here: it was most
 * likely last written by another core, and a load of it would hold the
 * thread until the line arrives. It is fetched for writing and waits in
 * the ring; the block that leaves the ring, freed MPCA_HEAP_PEND foreign
 * frees earlier, is checked (a double free is caught there) and joins the
 * foreign list, its line in the cache by then. */
MPCA_INLINE bool mpca_heap_free_foreign_fast(mpca_heap *h, uintptr_t e, void *p)
{
  int cls = mpca_small_block_class(e, p);
  if (mpca_unlikely(cls < 0))
    return false;
  __builtin_prefetch(p, 1, 3);
  unsigned k = h->pend_next;
  void **q = h->pend[k];
  unsigned qcls = h->pend_cls[k];
  h->pend[k] = p;
  h->pend_cls[k] = (uint8_t)cls;
  h->pend_next = (k + 1) & (MPCA_HEAP_PEND - 1);
  if (q != NULL)
    mpca_heap_settle(h, q, qcls);
  return true;
}

/* Settle every block of the ring of `h` (see above). */
MPCA_INTERNAL void mpca_heap_settle_all(mpca_heap *h);

/* The free list of `cls` of `h` holds more than the class's free_max: its
 * oldest blocks go back to their runs (other heaps' to their owners). */
MPCA_INTERNAL MPCA_NOINLINE void mpca_heap_free_overflow(mpca_heap *h, unsigned cls);

/* Empty the free and foreign lists of small blocks (the heap's own go back
 * to their runs, the others home) and retire the current runs: thread
 * exit, trim, NUMA migration. */
MPCA_INTERNAL void mpca_heap_flush(mpca_heap *h);
/* Process the remote-free queue of `h` (owner or claimer). */
MPCA_INTERNAL void mpca_heap_drain(mpca_heap *h);
/* Give back empty macro blocks held by `h`; returns bytes released. */
MPCA_INTERNAL size_t mpca_heap_trim(mpca_heap *h);
/* Hand the pages of free runs and large free chunks of `h` back to the OS
 * (the mappings stay); returns the bytes purged. */
MPCA_INTERNAL size_t mpca_heap_purge(mpca_heap *h);
/* The purge tick (MPCALLOC_PURGE_DELAY): at most once a delay, unmap the
 * source blocks cached for a delay or more and hand back the pages of the
 * free runs and large free chunks of `h` that stayed free since the previous
 * tick (so free for between one and two delays). Owner thread only; returns
 * the bytes released. */
MPCA_INTERNAL size_t mpca_heap_decay(mpca_heap *h, uint64_t now);
MPCA_INTERNAL void mpca_heap_tick_slow(mpca_heap *h);
/* Slow paths call this; every MPCA_HEAP_TICK_EVENTS calls read the clock. */
#define MPCA_HEAP_TICK_EVENTS 128
MPCA_INLINE void mpca_heap_tick(mpca_heap *h)
{
  if (mpca_unlikely(h->ticks-- == 0))
    mpca_heap_tick_slow(h);
}
/* First heap of the list of every heap (for statistics). */
MPCA_INTERNAL mpca_heap *mpca_heap_first(void);

/* fork: `me` is the forking thread's heap (NULL: none) */
MPCA_INTERNAL void mpca_heaps_fork_prepare(mpca_heap *me);
MPCA_INTERNAL void mpca_heaps_fork_parent(mpca_heap *me);
MPCA_INTERNAL void mpca_heaps_fork_child(mpca_heap *survivor);

#endif
