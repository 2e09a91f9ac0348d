/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Small blocks: size classes, and runs whose free slots are linked lists.
 * The inline parts here are what the malloc/free fast paths (mpca_alloc.h)
 * and any thread freeing a block of another heap need; they read only the
 * class table, the macro block header's read-only class map and, for the
 * owner, the run's own descriptor. */
#ifndef MPCA_SMALL_H
#define MPCA_SMALL_H

#include "mpca_registry.h"
#include "mpca_secret.h"
#include "mpca_types.h"

/* A class: its block size and the geometry of its runs. The entry at
 * MPCA_RUN_NO_CLASS is all zero: no offset passes its slot check. */
typedef struct mpca_size_class {
  uint64_t magic;       /* UINT64_MAX / size + 1 */
  uint64_t below;       /* off starts a slot iff off * magic (mod 2^64) < below */
  uint32_t size;
  uint32_t run_mask;    /* its runs' size - 1 (a span's for the mid sizes) */
  uint16_t nslots;
  uint16_t carve;       /* slots linked per refill from the part never carved */
  uint16_t foreign_max; /* blocks of other heaps a thread keeps before sending them home */
  uint16_t free_max;    /* blocks a heap's free list keeps before the oldest go back to their runs */
} mpca_size_class;

static_assert(sizeof(mpca_size_class) == 32, "class entries are indexed by shifting");


extern mpca_size_class mpca_classes[MPCA_SMALL_NCLASSES + 1] MPCA_INTERNAL;
/* The class of a size rounded up to MPCA_ALIGNMENT, as its offset in arrays
 * of 32-byte entries (mpca_classes, a heap's cls): class * 32. */
extern uint16_t mpca_class_lut[MPCA_SMALL_MAX / MPCA_ALIGNMENT + 1] MPCA_INTERNAL;
static_assert(sizeof(mpca_heap_class) == sizeof(mpca_size_class), "one offset indexes both");
/* The run of no class: the current run of every class of a new heap. */
extern mpca_run mpca_run_none MPCA_INTERNAL;

MPCA_INTERNAL void mpca_small_init(void);
/* Size of class `cls` computed from its definition (used to build the tables). */
MPCA_INTERNAL size_t mpca_small_class_size(unsigned cls);

/* The flavour of the macro blocks that hold the runs of class `cls`. */
MPCA_INLINE unsigned mpca_small_class_flavor(unsigned cls)
{
  return mpca_classes[cls].run_mask + 1 == MPCA_SPAN_SIZE ? MPCA_FLAVOR_SPANS : MPCA_FLAVOR_RUNS;
}

MPCA_INLINE unsigned mpca_small_class_off(size_t size)
{
  return mpca_class_lut[(size + MPCA_ALIGNMENT - 1) / MPCA_ALIGNMENT];
}
MPCA_INLINE unsigned mpca_small_class(size_t size) { return mpca_small_class_off(size) / sizeof(mpca_size_class); }

MPCA_INLINE mpca_small_seg *mpca_small_seg_of(const void *p)
{
  return (mpca_small_seg *)((uintptr_t)p & ~(uintptr_t)MPCA_SEG_MASK);
}

/* The descriptor of the run holding `p` (runs[0], which passes no slot
 * check, when p is in the header's space). Computed, not loaded. */
MPCA_INLINE mpca_run *mpca_small_run_of(mpca_small_seg *ss, const void *p)
{
  static_assert(sizeof(mpca_run) == 64, "the index below is scaled by a shift of 6");
  uintptr_t scaled = ((uintptr_t)p >> (MPCA_RUN_SHIFT - 6)) & ((uintptr_t)(MPCA_RUNS_PER_SEG - 1) << 6);
  return (mpca_run *)((char *)ss->runs + scaled);
}

/* Offset of `p` in its run (runs start on a MPCA_RUN_SIZE boundary). */
MPCA_INLINE uintptr_t mpca_small_run_off(const void *p) { return (uintptr_t)p & (MPCA_RUN_SIZE - 1); }

/* The same two for a macro block of either flavour (off the fast path). */
MPCA_INLINE mpca_run *mpca_small_desc(mpca_small_seg *ss, const void *p)
{
  return &ss->runs[((uintptr_t)p & MPCA_SEG_MASK) >> ss->shift];
}
/* Offset of `p` in run r, which covers p (a run not in use passes no slot
 * check whatever this gives). */
MPCA_INLINE uintptr_t mpca_small_desc_off(const mpca_run *r, const void *p)
{
  return (uintptr_t)((const char *)p - r->base);
}

/* The span descriptor of `p`, in a macro block of spans. */
MPCA_INLINE mpca_run *mpca_small_span_of(mpca_small_seg *ss, const void *p)
{
  return &ss->runs[((uintptr_t)p >> MPCA_SPAN_SHIFT) & (MPCA_SPANS_PER_SEG - 1)];
}

/* Whether `off` (mpca_small_run_off, below 2^32) is the start of one of
 * r's slots, in one multiplication and one comparison. With magic =
 * UINT64_MAX / size + 1, off * magic mod 2^64 is below magic exactly when
 * off is a multiple of size (Lemire's divisibility test); for off = k *
 * size it is k * e, with e = magic * size - 2^64 < size, growing with k. So
 * for a size that divides no power of two (e > 0) below = nslots * e also
 * rejects the offsets past the last slot; for a power of two (e = 0) every
 * multiple inside the run is a slot, and below = magic. A run not in use
 * has below = 0: nothing passes. See mpca_small_init. */
MPCA_INLINE bool mpca_run_is_slot(const mpca_run *r, uintptr_t off) { return off * r->magic < r->below; }

/* Class of the small block `p` whose registry entry is `e` (a run's: the
 * class is in it), checked against the class table, or -1 when p is not the
 * start of a slot of a run in use. Safe for any thread: a block in use
 * keeps what it reads fixed. */
MPCA_INLINE int mpca_small_block_class(uintptr_t e, const void *p)
{
  if (mpca_unlikely(!(e & MPCA_REG_SMALL)))
    return -1;
  unsigned cls = mpca_registry_class(e);
  const mpca_size_class *c = &mpca_classes[cls];
  if (mpca_unlikely(!(((uintptr_t)p & c->run_mask) * c->magic < c->below)))
    return -1;
  return (int)cls;
}

/* A run alone (no heap): set up descriptor `r` for blocks of class `cls`
 * from `base` (a MPCA_RUN_SIZE-aligned run, or a test's buffer). */
MPCA_INTERNAL void mpca_run_init(mpca_run *r, unsigned cls, char *base);
/* Link up to the class's carve count of r's slots never used yet (r has
 * some), in address order, each marked free; they count as used. Returns
 * the first, their number in *count. */
MPCA_INTERNAL void **mpca_run_carve(mpca_run *r, unsigned *count);

/* Whether a block carries the free mark (mpca_free_mark: a free block in a
 * free list, a foreign list, a remote-free queue; a live block carries it
 * only if the program wrote that random value itself). */
MPCA_INLINE bool mpca_small_marked_free(const void *p) { return ((void *const *)p)[1] == (void *)mpca_free_mark; }

/* ---- hardened build --------------------------------------------------- */

/* Slot index of the slot start `off` of run r: off / size, exactly, as the
 * high half of off * magic (off * magic = k * 2^64 + k * e, k * e < 2^64). */
MPCA_INLINE uint64_t mpca_run_slot(const mpca_run *r, uintptr_t off)
{
  return (uint64_t)(((unsigned __int128)off * r->magic) >> 64);
}

#ifdef MPCA_HARDENED
/* The word and bit of the allocation bitmap of the slot start `p`. */
MPCA_INLINE uint64_t *mpca_small_taken(mpca_small_seg *ss, const void *p, uint64_t *bit)
{
  unsigned i = (unsigned)(((uintptr_t)p & MPCA_SEG_MASK) >> ss->shift);
  uint64_t slot = mpca_run_slot(&ss->runs[i], mpca_small_desc_off(&ss->runs[i], p));
  *bit = (uint64_t)1 << (slot % 64);
  return &ss->taken[i][slot / 64];
}
#endif

/* Hardened build: words 2 and up of the first MPCA_HARD_FILL_BYTES of the
 * free block `b` of class `cls` get the fill (word 0 is its link, word 1
 * its free mark, both set by the caller), checked when it is handed out
 * again (mpca_small_hard_taken). */
static_assert(MPCA_ALIGNMENT == 16 && MPCA_SMALL_QUANTUM_MAX >= MPCA_HARD_FILL_BYTES,
              "class c < 4 has 16 (c + 1) bytes: its fill is c lines past the first, at most 3");
MPCA_INLINE unsigned mpca_small_fill_lines(unsigned cls) { return cls < 3 ? cls : 3; }

MPCA_INLINE void mpca_small_hard_fill(void *b, unsigned cls)
{
  if (MPCA_HARDENED_ON)
    mpca_hard_fill_lines_set(b, mpca_small_fill_lines(cls));
  else
    (void)b, (void)cls;
}

/* Hardened build: a block popped from the free list of class `cls` of
 * heap `h` must be a free slot of a run of the class (the registry says
 * whose: the owner's own, or another heap's from a foreign refill, checked
 * by mpca_small_hard_foreign), carry the free mark and its fill intact,
 * and link to none or to another small block of the class (checked in
 * full when it is handed out in turn): else the process aborts, naming
 * the block (a write after free, mpca_small_hard_damaged) or the list
 * (forged, mpca_small_corrupt). Marks the slot allocated. Only the
 * registry is read before the checks pass: a forged link never leads the
 * checks into unmapped memory. */
MPCA_INTERNAL MPCA_COLD __attribute__((noreturn)) void mpca_small_corrupt(const void *p);
/* `link_bad`: its link leads nowhere it may; `drained`: found as its owner
 * took it back from the remote-free queue. */
MPCA_INTERNAL MPCA_COLD __attribute__((noreturn)) void mpca_small_hard_damaged(const void *p, bool link_bad,
                                                                              bool drained);
/* Hardened build: a block of another heap handed out from a foreign refill
 * (its entry `e`): as for the heap's own, and its owner's bitmap still
 * counts it taken (the owner never saw it freed), which it is again. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_small_hard_foreign(void *p, uintptr_t e);
/* Whether `q`, the link of a free block of class `cls`, is none or a slot
 * start of a run of the class (any heap's). */
MPCA_INLINE bool mpca_small_link_ok(const void *q, unsigned cls)
{
  if (q == NULL)
    return true;
  uintptr_t e = mpca_registry_entry(q);
  return (e & MPCA_REG_SMALL) && mpca_registry_class(e) == cls && mpca_small_block_class(e, q) >= 0;
}
/* The same for the link `q` of the free block `p`, whose registry entry
 * `e` was checked to be a small run's of class `cls`: a link into the same
 * registry unit has the same entry (blocks of one run are listed together,
 * so most links are), and only its slot is left to check. */
MPCA_INLINE bool mpca_small_link_ok_from(const void *p, uintptr_t e, const void *q, unsigned cls)
{
  if ((((uintptr_t)p ^ (uintptr_t)q) >> MPCA_REG_UNIT_SHIFT) == 0)
    return mpca_small_block_class(e, q) >= 0;
  return mpca_small_link_ok(q, cls);
}
/* The free block `p` of class `cls` (registry entry `e`, checked) is
 * intact: its link, its free mark and its fill; else the process aborts
 * naming it (mpca_small_hard_damaged). */
MPCA_INLINE void mpca_small_hard_intact(void *p, uintptr_t e, unsigned cls)
{
  if (mpca_unlikely(!mpca_small_link_ok_from(p, e, mpca_link_next(p), cls)))
    mpca_small_hard_damaged(p, true, false);
  if (mpca_unlikely(!mpca_small_marked_free(p) || !mpca_hard_fill_lines_ok(p, mpca_small_fill_lines(cls))))
    mpca_small_hard_damaged(p, false, false);
}
MPCA_INLINE void mpca_small_hard_taken(void *p, const mpca_heap *h, unsigned cls)
{
#ifdef MPCA_HARDENED
  uint64_t bit;
  uint64_t *w;
  uintptr_t e = mpca_registry_entry(p);
  if (mpca_unlikely(!(e & MPCA_REG_SMALL) || mpca_registry_class(e) != cls || mpca_small_block_class(e, p) < 0))
    mpca_small_corrupt(p);
  if (!mpca_registry_mine(e, h)) {
    mpca_small_hard_foreign(p, e);
    return;
  }
  mpca_small_hard_intact(p, e, cls);
  w = mpca_small_taken(mpca_small_seg_of(p), p, &bit);
  if (mpca_unlikely(*w & bit))
    mpca_small_corrupt(p);
  *w |= bit;
#else
  (void)p, (void)h, (void)cls;
#endif
}

/* Hardened build: the owner frees the slot start `p` (checked, not marked
 * free): false when its bit says it is free already (a double free). */
MPCA_INLINE bool mpca_small_hard_release(void *p)
{
#ifdef MPCA_HARDENED
  uint64_t bit;
  uint64_t *w = mpca_small_taken(mpca_small_seg_of(p), p, &bit);
  if (mpca_unlikely(!(*w & bit)))
    return false;
  *w &= ~bit;
#else
  (void)p;
#endif
  return true;
}

/* Heap level (owner thread only). */
/* free[cls] of `h` is empty: refill it, return one block (NULL: no memory). */
MPCA_INTERNAL void *mpca_small_malloc_slow(mpca_heap *h, unsigned cls);
/* After an owner's free or a drained remote free made r->used 0: the run
 * was full (file it as partial) or is empty (give it back unless current). */
MPCA_INTERNAL MPCA_NOINLINE void mpca_small_run_event(mpca_heap *h, mpca_run *r);

/* The owner gives `p` (checked) back to its run `r`. */
MPCA_INLINE void mpca_small_put_local(mpca_heap *h, mpca_run *r, void *p)
{
  void **b = p;
  mpca_link_set(b, r->local_free);
  b[1] = (void *)mpca_free_mark;
  mpca_small_hard_fill(b, r->cls);
  r->local_free = b;
  if (mpca_unlikely(--r->used == 0))
    mpca_small_run_event(h, r);
}

/* The owner gives back `n` blocks of run `r` linked from `first` to
 * `last` (all out of the run, none marked twice), in one step. */
MPCA_INTERNAL void mpca_small_put_chain(mpca_heap *h, mpca_run *r, void *first, void *last, unsigned n);

/* Local free with full checks (the owner, off the fast path); reports (and
 * aborts, or warns) on a bad pointer or a double free. */
MPCA_INTERNAL void mpca_small_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* Checks of a small block freed by a thread that does not own it (reports
 * what is wrong): true when it may go on, marked free. */
MPCA_INTERNAL bool mpca_small_free_remote_check(void *p, const char *fn);
/* A block of run `r` drained from the remote-free queue of `h`, its owner. */
MPCA_INTERNAL void mpca_small_free_drained(mpca_heap *h, mpca_run *r, void *p);
/* Retire the current run of class `c` (the heap's free list of the class
 * is empty: see mpca_heap_flush): it becomes partial, full, or is given
 * back. */
MPCA_INTERNAL void mpca_small_retire(mpca_heap *h, unsigned c);
/* Bring the statistics gauges of `h` up to date (owner only). */
MPCA_INTERNAL void mpca_small_sync_stats(mpca_heap *h);
/* Blocks in the free, foreign and (profiling) held lists of class `cls`
 * of `h`, counted (owner only). */
MPCA_INTERNAL unsigned mpca_small_cached(const mpca_heap *h, unsigned cls);
/* Hand the pages of unused runs back to the OS; with `only_aged`, only of
 * runs that were already unused at the previous such call (the others are
 * marked for the next one); the first `keep` bytes of those runs stay
 * resident. Returns the bytes purged. */
MPCA_INTERNAL size_t mpca_small_purge(mpca_heap *h, bool only_aged, size_t keep);
/* Give fully free small macro blocks back to the source, keeping `keep`. */
MPCA_INTERNAL size_t mpca_small_release_empty(mpca_heap *h, unsigned keep);

#endif
