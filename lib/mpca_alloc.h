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

MPCA_INTERNAL MPCA_NOINLINE void *mpca_small_alloc_slow(mpca_heap *h, unsigned cls);

/* Small block for `size` <= MPCA_SMALL_MAX: a pop from the thread cache. */
MPCA_INLINE void *mpca_small_alloc(mpca_heap *h, size_t size)
{
  unsigned cls = mpca_small_class(size);
  void **p = h->tc_head[cls];
  if (mpca_likely(p != NULL)) {
    h->tc_head[cls] = p[0];
    h->tc_count[cls]--;
    p[1] = NULL; /* no longer marked as cached */
    return p;
  }
  return mpca_small_alloc_slow(h, cls);
}

/* A small free as a push on the calling thread's cache, for a block of its
 * own heap or of another heap of the same NUMA node (the block goes back to
 * its owner when the cache is flushed, many at once). False when the block
 * needs the full path (no heap yet, another node, a bad pointer, a full
 * cache, or a block marked as cached already). */
MPCA_INLINE bool mpca_small_free_fast(mpca_heap *h, mpca_seg *seg, void *p)
{
  /* A small block's macro block starts at the 2 MiB boundary below it: the
   * header is addressed from p, not from the registry's answer, which only
   * has to agree, so the header loads need not wait for the registry's. */
  mpca_small_seg *ss = mpca_small_seg_of(p);
  if (mpca_likely(seg == &ss->hdr && ss != NULL && ss->hdr.kind == MPCA_KIND_SMALL && h != NULL &&
                  (ss->hdr.owner == h || (int)ss->hdr.node == h->node))) {
    int cls = mpca_small_block_class(ss, p);
    if (mpca_likely(cls >= 0 && mpca_tc_has_room(h, (unsigned)cls) && ((void **)p)[1] != (void *)mpca_tc_key)) {
      mpca_tc_push(h, (unsigned)cls, p);
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
/* Free of `p` (registry entry `seg`) by the thread whose heap is `h` (may be
 * NULL), once the fast path declined it. Preserves errno. */
MPCA_INTERNAL MPCA_NOINLINE void mpca_free_slow(void *p, mpca_seg *seg, mpca_heap *h, const char *fn);
MPCA_INTERNAL void mpca_free(void *p);
/* Usable size of a block we own, or 0 after reporting a bad pointer. */
MPCA_INTERNAL size_t mpca_usable_size(mpca_seg *seg, void *p, const char *fn);
/* realloc(3) semantics, glibc's for size 0. */
MPCA_INTERNAL void *mpca_realloc(void *p, size_t size);

#endif
