/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Thread heaps: creation from metadata memory, abandonment at thread exit,
 * adoption by later threads, remote frees and their draining, and the
 * kind dispatch of a free. */
#ifndef MPCA_HEAP_H
#define MPCA_HEAP_H

#include "mpca_small.h"

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
/* Send the chain `first`..`last` of `n` small blocks (linked through their
 * first word) to their owner's queue; `me` may be NULL. */
MPCA_INTERNAL void mpca_heap_send_chain(mpca_heap *me, mpca_heap *owner, void *first, void *last, unsigned n);
/* Free of a small block of another heap (same NUMA node) by the holder of
 * `h`: into h's foreign list of its class; reports a bad pointer. */
MPCA_INTERNAL void mpca_heap_free_foreign(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* h's foreign list of `cls` is over its bound: send it home. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_heap_foreign_flush(mpca_heap *h, unsigned cls);

/* The checks and the push of mpca_heap_free_foreign, inline: false (and
 * nothing done) when `p` is no slot start or is marked free already. */
MPCA_INLINE bool mpca_heap_free_foreign_fast(mpca_heap *h, const mpca_small_seg *ss, void *p)
{
  int cls = mpca_small_block_class(ss, p);
  if (mpca_unlikely(cls < 0 || mpca_small_marked_free(p)))
    return false;
  void **b = p;
  mpca_link_set(b, h->foreign[cls]);
  b[1] = (void *)mpca_free_mark;
  h->foreign[cls] = b;
  h->classes_used |= (uint64_t)1 << cls;
  if (mpca_unlikely(++h->nforeign[cls] > mpca_classes[cls].foreign_max))
    mpca_heap_foreign_flush(h, (unsigned)cls);
  return true;
}

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

MPCA_INTERNAL void mpca_heaps_fork_prepare(void);
MPCA_INTERNAL void mpca_heaps_fork_parent(void);
MPCA_INTERNAL void mpca_heaps_fork_child(mpca_heap *survivor);

#endif
