/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The generic allocation paths: the dispatch to small / medium / huge for
 * any size or alignment, the free of any block by any thread, usable size,
 * and realloc, which grows huge blocks with mremap (pages move, bytes are
 * not copied) and medium blocks in place when their neighbour is free.
 * Everything here is a slow path; the fast paths are inline in
 * mpca_alloc.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "mpca_alloc.h"
#include "mpca_error.h"
#include "mpca_guarded.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_medium.h"
#include "mpca_numa.h"
#include "mpca_prof_heap.h"
#include "mpca_remote.h"
#include "mpca_source.h"

/* Out of memory: in the hardened build, the idle guarded macro blocks (kept
 * by their classes, outside the sources' caches) go back to the system;
 * true when some did (worth one more try). */
static MPCA_COLD bool hard_reclaim(void) { return MPCA_HARDENED_ON && mpca_guarded_release() != 0; }

void *mpca_small_alloc_slow(mpca_heap *h, size_t size)
{
  if (mpca_unlikely(mpca_heap_is_placeholder(h)) && (h = mpca_thread_init()) == NULL)
    return NULL; /* errno ENOMEM */
  mpca_heap_enter(h);
  mpca_heap_tick(h);
  if (mpca_remote_pending(&h->rfq))
    mpca_heap_drain(h);
  void *p;
  if (mpca_unlikely(mpca_prof_on))
    p = mpca_prof_small_malloc(h, size);
  else
    p = mpca_small_malloc_slow(h, mpca_small_class(size));
  if (mpca_unlikely(p == NULL) && hard_reclaim())
    p = mpca_small_malloc_slow(h, mpca_small_class(size));
  mpca_heap_leave(h);
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

/* Blocks of MPCALLOC_NUMA_INTERLEAVE_MIN and up (never small ones: they
 * share pages) are interleaved over the nodes: they need mappings of their
 * own, so they are huge blocks of the interleaved source, whatever their
 * size. The medium paths compare with mpca_numa_medium_max instead of
 * MPCA_MEDIUM_MAX, which is all they pay (nothing more on one node); an
 * aligned request just below the threshold may become a local huge block. */
MPCA_INLINE bool interleaved(size_t size) { return size >= mpca_numa_interleave_from; }

/* The largest medium request. The hardened build has no medium blocks
 * (their boundary tags sit right next to the blocks): its blocks of medium
 * sizes are guarded blocks (guarded.c), in slots between guard pages. */
MPCA_INLINE size_t medium_max(void) { return mpca_numa_medium_max; }

/* A huge block from `local` (the heap's source), or from the interleaved
 * one. Not inlined, and with the arguments of mpca_huge_malloc: the callers
 * keep the code (and instruction counts) they had before interleaving. */
static MPCA_COLD void *huge_interleaved(mpca_heap *h, size_t size, size_t align, bool zero)
{
  return mpca_huge_malloc(h, mpca_source_for_node(MPCA_NODE_INTERLEAVED), size, align, zero);
}

static MPCA_NOINLINE void *huge_alloc(mpca_heap *h, mpca_source *local, size_t size, size_t align, bool zero)
{
  if (mpca_unlikely(interleaved(size)))
    return huge_interleaved(h, size, align, zero);
  return mpca_huge_malloc(h, local, size, align, zero);
}

/* The source huge_alloc takes a block of `size` from (for the profiler). */
static mpca_source *huge_source(mpca_heap *h, size_t size)
{
  return interleaved(size) ? mpca_source_for_node(MPCA_NODE_INTERLEAVED) : h->source;
}

/* The calling thread's heap for a request of `size` bytes, or NULL with
 * errno ENOMEM (size above PTRDIFF_MAX, or no heap to be had). */
static mpca_heap *heap_for(size_t size)
{
  if (mpca_unlikely(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  return mpca_heap_get();
}

/* A block above the small sizes for h's thread (which holds h). */
static void *alloc_above_small(mpca_heap *h, size_t size, bool zero)
{
  void *p;
  /* (the heap profiler samples no guarded block: the hardened build's
   * blocks of medium sizes stay guarded) */
  if (mpca_unlikely(mpca_prof_on) && !(MPCA_HARDENED_ON && size <= medium_max()) &&
      (p = mpca_prof_big_malloc(h, size, MPCA_ALIGNMENT, zero, size <= medium_max() ? NULL : huge_source(h, size))))
    return p;
  if (MPCA_HARDENED_ON && size <= medium_max()) {
    p = mpca_guarded_malloc(h->source, size, MPCA_ALIGNMENT, zero);
  } else if (size <= medium_max()) {
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    p = mpca_medium_malloc(h, size);
    if (zero && p)
      memset(p, 0, size);
  } else {
    p = huge_alloc(h, h->source, size, MPCA_ALIGNMENT, zero);
  }
  return p;
}

/* Any size, any thread state; `zero` asks for zeroed memory. */
void *mpca_alloc(size_t size, bool zero)
{
  mpca_heap *h = heap_for(size);
  if (mpca_unlikely(h == NULL))
    return NULL;
  void *p;
  if (size <= MPCA_SMALL_MAX) {
    p = mpca_small_alloc(h, size);
    if (zero && p)
      memset(p, 0, size);
    return p;
  }
  mpca_heap_enter(h);
  mpca_heap_tick(h);
  p = alloc_above_small(h, size, zero);
  if (mpca_unlikely(p == NULL) && hard_reclaim())
    p = alloc_above_small(h, size, zero);
  mpca_heap_leave(h);
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

/* An aligned block above the small sizes for h's thread (which holds h). */
static void *aligned_above_small(mpca_heap *h, size_t align, size_t size)
{
  if (MPCA_HARDENED_ON && align <= MPCA_MEDIUM_ALIGN_MAX && size <= medium_max() && mpca_guarded_fits(size, align))
    return mpca_guarded_malloc(h->source, size, align, false);
  bool medium = align <= MPCA_MEDIUM_ALIGN_MAX && size + align + MPCA_MEDIUM_MIN_CHUNK <= medium_max();
  void *p;
  if (mpca_unlikely(mpca_prof_on) &&
      (p = mpca_prof_big_malloc(h, size, align, false, medium ? NULL : huge_source(h, size))))
    return p;
  if (medium) {
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    return mpca_medium_memalign(h, align, size);
  }
  return huge_alloc(h, h->source, size, align, false);
}

void *mpca_alloc_aligned(size_t align, size_t size)
{
  if (align <= MPCA_ALIGNMENT)
    return mpca_alloc(size, false);
  mpca_heap *h = heap_for(size);
  if (mpca_unlikely(h == NULL))
    return NULL;
  size_t need = size > align ? size : align;
  if (need <= MPCA_SMALL_MAX) /* power-of-two classes are naturally aligned within their runs */
    return mpca_small_alloc(h, (size_t)1 << (mpca_log2(need - 1) + 1)); /* sets errno */
  mpca_heap_enter(h);
  mpca_heap_tick(h);
  void *p = aligned_above_small(h, align, size);
  if (mpca_unlikely(p == NULL) && hard_reclaim())
    p = aligned_above_small(h, align, size);
  mpca_heap_leave(h);
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

/* A small block whose registry entry names another heap, `owner`. */
static void free_small_other(void *p, mpca_seg *seg, mpca_heap *owner, mpca_heap *h, const char *fn)
{
  if (h != NULL && (int)seg->node == h->node) {
    mpca_heap_free_foreign(h, p, fn);
  } else if (mpca_unlikely(owner == mpca_prof_heap)) {
    mpca_prof_free(p, seg, fn); /* a sampled block (its node is no heap's) */
  } else if (mpca_small_free_remote_check(p, fn)) {
    /* no heap to keep it, or another node's memory: straight home */
    mpca_heap_send_chain(h, owner, p, p, 1, mpca_classes[mpca_registry_class(mpca_registry_entry(p))].size);
  }
}

void mpca_free_slow(void *p, uintptr_t e, mpca_heap *h, const char *fn)
{
  int saved = errno;
  if (mpca_heap_is_placeholder(h)) {
    h = NULL;
  } else {
    mpca_heap_enter(h);
    mpca_heap_tick(h);
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
  }
  mpca_seg *seg = mpca_registry_seg(e, p);
  if (mpca_unlikely(seg == NULL)) {
    mpca_global_init(); /* a bad free may come before any malloc: options first */
    mpca_bad_pointer(fn, p, "invalid pointer (not allocated by mpcalloc)");
  } else if (e & MPCA_REG_SMALL) {
    mpca_heap *owner = mpca_registry_owner(e);
    if (owner == h)
      mpca_small_free(h, seg, p, fn); /* the fast path found something wrong */
    else
      free_small_other(p, seg, owner, h, fn);
  } else if (seg->kind == MPCA_KIND_HUGE) {
    if (mpca_unlikely(seg->sampled))
      mpca_prof_huge_free(seg, p);
    mpca_huge_free(h, seg, p, fn);
  } else if (MPCA_HARDENED_ON && seg->kind == MPCA_KIND_GUARDED) {
    mpca_guarded_free(seg, p, fn);
  } else if (seg->kind != MPCA_KIND_MEDIUM) {
    mpca_bad_pointer(fn, p, "double free or invalid pointer (memory is not allocated)");
  } else if (seg->owner == h) {
    if (mpca_unlikely(mpca_small_marked_free(p) && mpca_medium_valid(seg, p)))
      mpca_bad_pointer(fn, p, "double free (block is already free)"); /* on its way back */
    else
      mpca_medium_free(h, seg, p, fn);
  } else {
    mpca_heap_free_remote(h, seg, p);
  }
  if (h != NULL)
    mpca_heap_leave(h);
  errno = saved;
}

void mpca_free_other(void *p, uintptr_t e, mpca_heap *h)
{
  if (p == NULL) /* the fast paths leave it here: its entry names no heap */
    return;
  /* A thread that frees other threads' blocks before it ever allocates
   * (a consumer) gets a heap too: its frees then go home in batches. */
  if ((e & MPCA_REG_SMALL) && h == &mpca_heap_none) {
    int saved = errno;
    mpca_heap *mine = mpca_thread_init();
    errno = saved;
    if (mine != NULL)
      h = mine;
  }
  /* (a sampled block of the heap profiler fails the node test: its macro
   * block's node is MPCA_NODE_PROF, and mpca_free_slow sends it to its
   * heap, see prof_heap.c) */
  if ((e & MPCA_REG_SMALL) && !mpca_heap_is_placeholder(h)) {
    const mpca_small_seg *ss = mpca_small_seg_of(p);
    if (mpca_registry_owner(e) != h && (int)ss->hdr.node == h->node && mpca_heap_free_foreign_fast(h, e, p))
      return;
  }
  mpca_free_slow(p, e, h, "free");
}

void mpca_free(void *p) { mpca_free_inline(p); }

/* Usable size of a block we own, or 0 after reporting a bad pointer. */
size_t mpca_usable_size(mpca_seg *seg, void *p, const char *fn)
{
  if (seg != NULL) {
    switch (seg->kind) {
    case MPCA_KIND_SMALL: {
      int cls = mpca_small_block_class(mpca_registry_entry(p), p);
      if (cls >= 0) {
        if (!mpca_small_marked_free(p))
          return mpca_classes[cls].size;
        mpca_bad_pointer(fn, p, "use after free (block is free)");
        return 0;
      }
      break;
    }
    case MPCA_KIND_MEDIUM:
      if (mpca_medium_valid(seg, p)) {
        if (!mpca_small_marked_free(p)) /* not on its way back from a remote free */
          return mpca_medium_usable(p);
        mpca_bad_pointer(fn, p, "use after free (block is free)");
        return 0;
      }
      break;
    case MPCA_KIND_HUGE:
      if (mpca_huge_valid(seg, p))
        return mpca_huge_usable(seg);
      break;
    case MPCA_KIND_GUARDED:
      if (MPCA_HARDENED_ON)
        return mpca_guarded_usable(seg, p, fn); /* reports what is wrong */
      break;
    default: break;
    }
  }
  mpca_global_init(); /* maybe before any malloc: options first */
  mpca_bad_pointer(fn, p, "invalid pointer (not an allocated block)");
  return 0;
}

static void *realloc_move(void *p, size_t old_usable, size_t size)
{
  void *q = mpca_alloc(size, false);
  if (q == NULL)
    return NULL;
  size_t n = old_usable < size ? old_usable : size;
  memcpy(q, p, n);
  mpca_heap *h = mpca_tls_heap; /* a real heap: set by mpca_alloc */
  h->cnt.realloc_moves++;
  h->cnt.realloc_copied += n;
  mpca_free(p);
  return q;
}

void *mpca_realloc(void *p, size_t size)
{
  if (p == NULL)
    return mpca_alloc(size, false);
  if (size == 0) { /* as glibc: free and return NULL */
    mpca_free(p);
    return NULL;
  }
  if (mpca_unlikely(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  mpca_seg *seg = mpca_registry_lookup(p);
  size_t old = mpca_usable_size(seg, p, "realloc");
  if (old == 0)
    return NULL;
  /* Stay in place when the block fits and would not waste over half. */
  if (size <= old && size >= old / 2 && (seg->kind != MPCA_KIND_HUGE || size > medium_max()))
    return p;
  if (seg->kind == MPCA_KIND_MEDIUM && size > MPCA_SMALL_MAX && size <= medium_max() &&
      seg->owner == mpca_tls_heap) {
    mpca_heap *h = seg->owner;
    mpca_heap_enter(h);
    bool resized = mpca_medium_resize(h, seg, p, size);
    mpca_heap_leave(h);
    if (resized)
      return p;
  }
  /* A huge block keeps its source (mremap moves pages, not bytes), unless
   * it grows into the interleaved sizes: it moves then, copying less than
   * MPCALLOC_NUMA_INTERLEAVE_MIN bytes, once. */
  if (seg->kind == MPCA_KIND_HUGE && size > medium_max() &&
      (!interleaved(size) || (int)seg->node == MPCA_NODE_INTERLEAVED)) {
    void *q = mpca_unlikely(seg->sampled) ? mpca_prof_huge_resize(seg, p, size) : mpca_huge_resize(seg, p, size);
    if (q != NULL)
      return q;
  }
  return realloc_move(p, old, size);
}
