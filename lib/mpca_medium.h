/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Medium blocks: boundary-tag chunks in MPCA_MEDIUM_SEG_SIZE macro blocks,
 * free chunks on size-segregated doubly linked lists with a bitmap of
 * non-empty lists. Owner thread only. */
#ifndef MPCA_MEDIUM_H
#define MPCA_MEDIUM_H

#include "mpca_small.h"
#include "mpca_types.h"

#define MPCA_MEDIUM_FIRST mpca_align_up(sizeof(mpca_seg), MPCA_ALIGNMENT)
/* Bytes of chunks in one medium macro block (the end sentinel excluded). */
#define MPCA_MEDIUM_AREA (MPCA_MEDIUM_SEG_SIZE - MPCA_MEDIUM_FIRST - MPCA_CHUNK_HDR)

/* A chunk's head word: flags in bits 0-3, size in bits 4-31 (chunks are
 * smaller than 4 GiB), and in bits 32-63 a tag computed from the chunk's
 * address and a per-process key. The tag is what tells a real chunk header
 * from user data that happens to look like one (an interior pointer). */
#define MPCA_CHUNK_SIZE_MASK ((size_t)0xfffffff0u)
#define MPCA_CHUNK_TAG_MASK (~(size_t)0xffffffffu)

MPCA_INLINE size_t mpca_chunk_size(const mpca_chunk *c) { return c->head & MPCA_CHUNK_SIZE_MASK; }
MPCA_INLINE size_t mpca_chunk_tag(const mpca_chunk *c)
{
  return ((((uintptr_t)c >> 4) * (mpca_free_mark | 1)) >> 32) << 32;
}
MPCA_INLINE mpca_chunk *mpca_chunk_of(const void *p) { return (mpca_chunk *)((char *)p - MPCA_CHUNK_HDR); }
MPCA_INLINE void *mpca_chunk_payload(mpca_chunk *c) { return (char *)c + MPCA_CHUNK_HDR; }

/* Bin of a free chunk of `size` (chunks in bin b are >= its lower bound). */
MPCA_INTERNAL unsigned mpca_medium_bin_floor(size_t size);
/* First bin all of whose chunks are >= size (MPCA_MEDIUM_NBINS if none). */
MPCA_INTERNAL unsigned mpca_medium_bin_ceil(size_t size);
MPCA_INTERNAL size_t mpca_medium_bin_min(unsigned bin);

/* Chunk size that serves a request of `size` bytes. */
MPCA_INLINE size_t mpca_medium_chunk_for(size_t size)
{
  size_t c = mpca_align_up(size + MPCA_CHUNK_HDR, MPCA_ALIGNMENT);
  return c < MPCA_MEDIUM_MIN_CHUNK ? MPCA_MEDIUM_MIN_CHUNK : c;
}

MPCA_INTERNAL void *mpca_medium_malloc(mpca_heap *h, size_t size);
MPCA_INTERNAL void *mpca_medium_memalign(mpca_heap *h, size_t align, size_t size);
MPCA_INTERNAL void mpca_medium_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* Grow or shrink in place; false if it cannot (the block is unchanged). */
MPCA_INTERNAL bool mpca_medium_resize(mpca_heap *h, mpca_seg *seg, void *p, size_t size);
MPCA_INTERNAL size_t mpca_medium_usable(const void *p);
/* A block in use sampled by the heap profiler: its free and its resizes
 * update the profiler's record (MPCA_CHUNK_SAMPLED: a flag free chunks use
 * for their age). */
MPCA_INLINE void mpca_medium_mark_sampled(void *p) { mpca_chunk_of(p)->head |= MPCA_CHUNK_SAMPLED; }
/* A pointer that passes the chunk checks (for realloc / usable size). */
MPCA_INTERNAL bool mpca_medium_valid(const mpca_seg *seg, const void *p);
MPCA_INTERNAL size_t mpca_medium_release_empty(mpca_heap *h, unsigned keep);
/* Hand the inner pages of large free chunks back to the OS; with
 * `only_aged`, only of chunks that were already free at the previous such
 * call (the others are marked for the next one; a chunk merged or taken
 * since loses its mark). Returns the bytes purged. */
MPCA_INTERNAL size_t mpca_medium_purge(mpca_heap *h, bool only_aged);

#endif
