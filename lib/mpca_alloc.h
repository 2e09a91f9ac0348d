/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Allocation paths behind the entry points: any size, aligned, free of any
 * block by any thread, usable size, realloc across kinds. The inline small
 * fast paths live here too so that posix.c and these paths share them.
 * Callable without the exported symbols (unit tests link this file). */
#ifndef MPCA_ALLOC_H
#define MPCA_ALLOC_H

#include "mpca_init.h"
#include "mpca_registry.h"
#include "mpca_small.h"

/* Alignments up to this go to medium chunks; larger ones to huge blocks. */
#define MPCA_MEDIUM_ALIGN_MAX ((size_t)64 << 10)

/* The free list of the class of `size` in `h` is empty, or `h` is the
 * placeholder of a thread with no heap yet (then the class tables may not
 * be set up yet either): refill it and return a block, or NULL with errno
 * ENOMEM. */
MPCA_INTERNAL MPCA_NOINLINE void *mpca_small_alloc_slow(mpca_heap *h, size_t size);

/* Small block for `size` <= MPCA_SMALL_MAX: a pop from the heap's free list
 * of the class. `h` is never NULL (see mpca_heap_none). */
MPCA_INLINE void *mpca_small_alloc(mpca_heap *h, size_t size)
{
  unsigned cls = mpca_small_class(size);
  void **p = h->free[cls];
  if (mpca_likely(p != NULL)) {
    if (MPCA_HARDENED_ON)
      mpca_small_hard_taken(p, cls, mpca_small_seg_of(p)->hdr.owner == h);
    h->free[cls] = mpca_link_next(p);
    p[1] = NULL; /* no longer marked free */
    return p;
  }
  return mpca_small_alloc_slow(h, size);
}

/* A free by the owner of a small block: the registry entry `e` of p names
 * the calling thread's heap, p starts a slot of its run and is not marked
 * free; then it goes on the run's local_free list. False when the block
 * needs the full path (another heap's block, not small, a bad pointer, a
 * double free). */
MPCA_INLINE bool mpca_small_free_fast(mpca_heap *h, uintptr_t e, void *p)
{
  if (mpca_likely(e == (uintptr_t)h + MPCA_REG_SMALL)) {
    mpca_run *r = mpca_small_run_of(mpca_small_seg_of(p), p);
    if (mpca_likely(mpca_run_is_slot(r, mpca_small_run_off(p)) && !mpca_small_marked_free(p) &&
                    mpca_small_hard_release(p))) {
      mpca_small_put_local(h, r, p);
      return true;
    }
  }
  return false;
}

/* Any size for the calling thread; `zero` asks for zeroed memory. NULL with
 * errno ENOMEM on failure. */
MPCA_INTERNAL MPCA_NOINLINE void *mpca_alloc(size_t size, bool zero);
/* `align` is a power of two. */
MPCA_INTERNAL void *mpca_alloc_aligned(size_t align, size_t size);
/* Free of `p` (registry entry `e`) by the thread whose heap is `h` (the
 * placeholder mpca_heap_none when it has none), once the fast path declined
 * it. Preserves errno. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_free_slow(void *p, uintptr_t e, mpca_heap *h, const char *fn);
/* free() once the owner's fast path declined: a small block of another heap
 * of the calling thread's NUMA node goes to its foreign list here (checked,
 * without the slow path's set-up), anything else to mpca_free_slow. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_free_other(void *p, uintptr_t e, mpca_heap *h);
MPCA_INTERNAL void mpca_free(void *p);
/* Usable size of a block we own, or 0 after reporting a bad pointer. */
MPCA_INTERNAL size_t mpca_usable_size(mpca_seg *seg, void *p, const char *fn);
/* realloc(3) semantics, glibc's for size 0. */
MPCA_INTERNAL void *mpca_realloc(void *p, size_t size);

#endif
