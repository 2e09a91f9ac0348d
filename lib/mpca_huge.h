/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Huge blocks: one per macro block, straight from (and back to) a memory
 * source; resized with mremap. Thread-safe without an owner. */
#ifndef MPCA_HUGE_H
#define MPCA_HUGE_H

#include "mpca_os.h"
#include "mpca_secret.h"
#include "mpca_types.h"

/* Largest alignment we serve (an address space of 2^48 bytes has no use for
 * more); larger requests fail with ENOMEM. */
#define MPCA_HUGE_ALIGN_MAX ((size_t)1 << 40)
/* Bytes in front of a huge block's payload (its macro block header). */
#define MPCA_HUGE_HDR mpca_align_up(sizeof(mpca_seg), MPCA_CACHE_LINE)

/* `align` is a power of two >= MPCA_ALIGNMENT. */
MPCA_INTERNAL void *mpca_huge_malloc(mpca_heap *h, mpca_source *s, size_t size, size_t align, bool zero);
MPCA_INTERNAL void mpca_huge_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn);
/* New address of the block resized to `size` (pages moved, never copied),
 * or NULL with the block unchanged. */
MPCA_INTERNAL void *mpca_huge_resize(mpca_seg *seg, void *p, size_t size);
MPCA_INLINE bool mpca_huge_valid(const mpca_seg *seg, const void *p)
{
  return (const char *)seg + seg->payload_off == (const char *)p;
}
/* Bytes of a huge block's mapping past its payload: in the hardened build,
 * a guard page. */
MPCA_INLINE size_t mpca_huge_tail(void) { return MPCA_HARDENED_ON ? mpca_os_page_size() : 0; }
MPCA_INLINE size_t mpca_huge_usable(const mpca_seg *seg) { return seg->size - seg->payload_off - mpca_huge_tail(); }

#endif
