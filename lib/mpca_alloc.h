/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Allocation paths behind the entry points: any size, aligned, free of any
 * block by any thread, usable size, realloc across kinds. The inline small
 * fast paths live here too so that posix.c and these paths share them.
 * Callable without the exported symbols (unit tests link this file). */
#ifndef MPCA_ALLOC_H
#define MPCA_ALLOC_H

#include "mpca_heap.h"
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

/* The state of the class at offset `off` (mpca_small_class_off, or a
 * registry entry's class offset) in h. */
MPCA_INLINE mpca_heap_class *mpca_heap_class_at(mpca_heap *h, uintptr_t off)
{
  return (mpca_heap_class *)((char *)h->cls + off);
}

/* A pop from a heap's free list of a class: a block, or NULL when the list
 * is empty. */
MPCA_INLINE void *mpca_small_pop(mpca_heap *h, mpca_heap_class *hc)
{
  void **p = hc->free;
  if (mpca_likely(p != NULL)) {
    if (MPCA_HARDENED_ON)
      mpca_small_hard_taken(p, h, (unsigned)(hc - h->cls));
    hc->free = mpca_link_next(p);
    hc->room++;
    p[1] = NULL; /* no longer marked free */
  }
  return p;
}

/* Small block for `size` <= MPCA_SMALL_MAX: a pop from the heap's free list
 * of the class. `h` is never NULL (see mpca_heap_none). */
MPCA_INLINE void *mpca_small_alloc(mpca_heap *h, size_t size)
{
  void *p = mpca_small_pop(h, mpca_heap_class_at(h, mpca_small_class_off(size)));
  if (mpca_likely(p != NULL))
    return p;
  return mpca_small_alloc_slow(h, size);
}

/* A free by the owner of a small block: the registry entry `e` of p names
 * the calling thread's heap and the class of p's run; p starts a slot of
 * such a run (the slot check, with the class's constants kept in the heap)
 * and is not marked free; then it goes on the heap's free list of the
 * class, where the next malloc of the class finds it. Nothing but the
 * registry, the heap and the block is read: not the macro block header,
 * not the run's descriptor. False when the block needs the full path
 * (another heap's block, not small, a bad pointer, a double free). */
MPCA_INLINE bool mpca_small_free_fast(mpca_heap *h, uintptr_t e, void *p)
{
  if (mpca_likely(mpca_registry_mine(e, h))) {
    /* e is h + the class's offset in h->cls + MPCA_REG_SMALL: no bit
     * overlaps, so the class's state is at e - MPCA_REG_SMALL */
    mpca_heap_class *hc = (mpca_heap_class *)(e - MPCA_REG_SMALL);
    if (mpca_likely((((uintptr_t)p & hc->run_mask) * hc->magic < hc->below) && !mpca_small_marked_free(p) &&
                    mpca_small_hard_release(p))) {
      void **b = p;
      mpca_link_set(b, hc->free);
      b[1] = (void *)mpca_free_mark;
      mpca_small_hard_fill(b, mpca_registry_class(e));
      hc->free = b;
      if (mpca_unlikely(--hc->room < 0))
        mpca_heap_free_overflow(h, mpca_registry_class(e));
      return true;
    }
  }
  return false;
}

/* free(): the fast path inline, mpca_free_other for the rest (NULL
 * included: its entry names no heap). */
MPCA_INTERNAL MPCA_NOINLINE void mpca_free_other(void *p, uintptr_t e, mpca_heap *h);
MPCA_INLINE void mpca_free_inline(void *p)
{
  uintptr_t e = mpca_registry_entry(p);
  mpca_heap *h = mpca_tls_heap;
  if (mpca_likely(mpca_small_free_fast(h, e, p)))
    return;
  mpca_free_other(p, e, h);
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
/* (mpca_free_other: free() once the owner's fast path declined: a small
 * block of another heap of the calling thread's NUMA node goes to its
 * foreign list here (checked, without the slow path's set-up), anything
 * else to mpca_free_slow.) */
MPCA_INTERNAL void mpca_free(void *p);
/* Usable size of a block we own, or 0 after reporting a bad pointer. */
MPCA_INTERNAL size_t mpca_usable_size(mpca_seg *seg, void *p, const char *fn);
/* realloc(3) semantics, glibc's for size 0. */
MPCA_INTERNAL void *mpca_realloc(void *p, size_t size);

#endif
