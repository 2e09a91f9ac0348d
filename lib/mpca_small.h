/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Small blocks: size classes and runs with a bitmap header. The run
 * operations here are pure (no heap, no lock) so they can be inlined into the
 * malloc/free fast paths and tested alone. */
#ifndef MPCA_SMALL_H
#define MPCA_SMALL_H

#include "mpca_types.h"

typedef struct mpca_size_class {
  uint32_t size;
  uint32_t recip;
  uint16_t nslots;
  uint16_t tc_max; /* thread-cache capacity of the class */
} mpca_size_class;

/* Marks a block as sitting in a thread cache (its second word). Random per
 * process, so a live block almost never carries it by chance. */
extern uintptr_t mpca_tc_key MPCA_INTERNAL;

extern mpca_size_class mpca_classes[MPCA_SMALL_NCLASSES] MPCA_INTERNAL;
extern uint8_t mpca_class_lut[MPCA_SMALL_MAX / MPCA_ALIGNMENT + 1] MPCA_INTERNAL;
/* A run with no free slot: the initial "current run" of every class. */
extern mpca_run mpca_run_empty MPCA_INTERNAL;

MPCA_INTERNAL void mpca_small_init(void);
/* Size of class `cls` computed from its definition (used to build the tables). */
MPCA_INTERNAL size_t mpca_small_class_size(unsigned cls);

MPCA_INLINE unsigned mpca_small_class(size_t size)
{
  return mpca_class_lut[(size + MPCA_ALIGNMENT - 1) / MPCA_ALIGNMENT];
}

MPCA_INTERNAL void mpca_run_init(mpca_run *r, unsigned cls, char *base);

/* Take up to `want` free slots, lowest first, whole bitmap words at a time;
 * they come linked through their first word, in address order, from
 * *first. Returns how many were taken. */
MPCA_INTERNAL unsigned mpca_run_take(mpca_run *r, unsigned want, void **first);

enum mpca_run_free_result { MPCA_RUN_FREED = 0, MPCA_RUN_BAD_POINTER, MPCA_RUN_DOUBLE_FREE };

/* Give slot of `p` back. Detects interior pointers, pointers past the last
 * slot, frees into an unused run, and double frees. */
MPCA_INLINE enum mpca_run_free_result mpca_run_free(mpca_run *r, const void *p)
{
  size_t off = (size_t)((const char *)p - r->base);
  size_t slot = (off * r->recip) >> 32;
  if (mpca_unlikely(slot * r->size != off || slot >= r->nslots || r->state == MPCA_RUN_FREE))
    return MPCA_RUN_BAD_POINTER;
  size_t w = slot / 64;
  uint64_t m = (uint64_t)1 << (slot % 64);
  if (mpca_unlikely(r->bitmap[w] & m))
    return MPCA_RUN_DOUBLE_FREE;
  r->bitmap[w] |= m;
  r->nfree++;
  if (w < r->hint)
    r->hint = (uint16_t)w;
  return MPCA_RUN_FREED;
}

MPCA_INLINE mpca_small_seg *mpca_small_seg_of(const void *p)
{
  return (mpca_small_seg *)((uintptr_t)p & ~(uintptr_t)MPCA_SEG_MASK);
}

MPCA_INLINE mpca_run *mpca_small_run_of(mpca_small_seg *seg, const void *p)
{
  return &seg->runs[((uintptr_t)p & MPCA_SEG_MASK) >> MPCA_RUN_SHIFT];
}

/* Class of the small block `p` of `ss` from read-only data (the run's class
 * and the class table), or -1 when p is not the start of a slot of a run in
 * use. Safe for any thread: it reads nothing the owner updates while the
 * block is allocated. */
MPCA_INLINE int mpca_small_block_class(const mpca_small_seg *ss, const void *p)
{
  unsigned cls = ss->run_cls[((uintptr_t)p & MPCA_SEG_MASK) >> MPCA_RUN_SHIFT];
  if (mpca_unlikely(cls >= MPCA_SMALL_NCLASSES))
    return -1;
  const mpca_size_class *c = &mpca_classes[cls];
  size_t off = (uintptr_t)p & (MPCA_RUN_SIZE - 1); /* runs start on MPCA_RUN_SIZE */
  size_t slot = (off * c->recip) >> 32;
  if (mpca_unlikely(slot * c->size != off || slot >= c->nslots))
    return -1;
  return (int)cls;
}

/* Offset check shared by every path that accepts a small pointer: the slot
 * of `p` in `r`, or -1 when p is not the start of a slot of a run in use. */
MPCA_INLINE ptrdiff_t mpca_run_slot(const mpca_run *r, const void *p)
{
  size_t off = (size_t)((const char *)p - r->base);
  size_t slot = (off * r->recip) >> 32;
  if (mpca_unlikely(slot * r->size != off || slot >= r->nslots))
    return -1;
  return (ptrdiff_t)slot;
}

MPCA_INLINE bool mpca_tc_has_room(const mpca_heap *h, unsigned cls)
{
  return h->tc_count[cls] < mpca_classes[cls].tc_max;
}

MPCA_INLINE void mpca_tc_push(mpca_heap *h, unsigned cls, void *p)
{
  void **b = p;
  b[0] = h->tc_head[cls];
  b[1] = (void *)mpca_tc_key;
  h->tc_head[cls] = b;
  h->tc_count[cls]++;
}

/* Heap level (owner thread only). */
/* Thread cache of `cls` is empty: refill it from the runs, return one block. */
MPCA_INTERNAL void *mpca_small_malloc_slow(mpca_heap *h, unsigned cls);
/* After a free changed a non-current run's state (was full, or is now empty). */
MPCA_INTERNAL void mpca_small_run_changed(mpca_heap *h, mpca_run *r);
/* Where a locally freed small block goes. */
enum mpca_free_mode {
  MPCA_FREE_CACHE, /* thread cache; flush half of it when full */
  MPCA_FREE_SPILL, /* thread cache while it has room, else its run (drains) */
  MPCA_FREE_RUN,   /* straight back to its run (heap of an exited thread) */
};
/* Local free with full checks; aborts (or warns) on a bad pointer. */
MPCA_INTERNAL void mpca_small_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn, enum mpca_free_mode mode);
/* Free of a small block of another heap of the same NUMA node by the holder
 * of `h`: into h's thread cache (see small.c). */
MPCA_INTERNAL void mpca_small_free_foreign(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* Empty the thread caches and retire the current runs (thread exit, trim). */
MPCA_INTERNAL void mpca_small_flush(mpca_heap *h);
/* Hand the pages of unused runs back to the OS; with `only_aged`, only of
 * runs that were already unused at the previous such call (the others are
 * marked for the next one). Returns the bytes purged. */
MPCA_INTERNAL size_t mpca_small_purge(mpca_heap *h, bool only_aged);
/* Give fully free small macro blocks back to the source, keeping `keep`. */
MPCA_INTERNAL size_t mpca_small_release_empty(mpca_heap *h, unsigned keep);

MPCA_INLINE void mpca_small_after_free(mpca_heap *h, mpca_run *r)
{
  if (mpca_unlikely(r->state != MPCA_RUN_CURRENT) && (r->state == MPCA_RUN_FULL || r->nfree == r->nslots))
    mpca_small_run_changed(h, r);
}

#endif
