/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Huge blocks (above MPCA_MEDIUM_MAX): the block owns its macro block, whose
 * header sits in front of the payload. A freed huge block goes back to its
 * source's cache directly, from any thread: no remote queue, no owner.
 *
 * In the hardened build the header has a page of its own, a guard page
 * follows it, and another ends the block: the payload can run into neither
 * its own header nor whatever comes after it (another block's header). The
 * guards are lifted before the block is resized (mremap moves one mapping,
 * not several), but stay while the block is cached: a huge block that
 * reuses it whole finds them in place, and costs no system call. */
#include <string.h>
#include "mpca_error.h"
#include "mpca_huge.h"
#include "mpca_os.h"
#include "mpca_source.h"
#include "mpca_stats.h"

/* Bytes in front of the payload (at least): the header, and in the
 * hardened build its page and the guard page after it. */
static size_t front(void) { return MPCA_HARDENED_ON ? 2 * mpca_os_page_size() : MPCA_HUGE_HDR; }

/* Hardened build: the guard pages of `seg` set, unless it has them
 * already (a cached huge block reused whole); false when the kernel
 * refused (the block may have some: seg->guards says so). */
static bool guards_on(mpca_seg *seg)
{
#ifdef MPCA_HARDENED
  if (seg->guards == MPCA_GUARDS_HUGE)
    return true;
  size_t page = mpca_os_page_size();
  seg->guards = MPCA_GUARDS_HUGE; /* what the source lifts, whatever happens next */
  bool head = mpca_os_guard((char *)seg + page, page, true);
  bool tail = mpca_os_guard((char *)seg + seg->size - page, page, true);
  return head && tail;
#else
  (void)seg;
  return true;
#endif
}

/* A macro block for a huge block of `total` bytes: in the hardened build
 * one with a huge block's guard pages in place when the cache has one. */
static mpca_seg *seg_get(mpca_source *s, size_t total)
{
  if (MPCA_HARDENED_ON)
    return mpca_source_get_guarded(s, total, MPCA_GUARDS_HUGE);
  return mpca_source_get(s, total);
}

/* The block counts in its source's statistics (sign > 0) or no longer (< 0). */
static void count(const mpca_seg *seg, int sign)
{
  mpca_stats_huge((int)seg->node, mpca_huge_usable(seg), seg->req_size, sign);
}

void *mpca_huge_malloc(mpca_heap *h, mpca_source *s, size_t size, size_t align, bool zero)
{
  if (mpca_unlikely(align > MPCA_HUGE_ALIGN_MAX))
    return NULL;
  /* The payload starts at the first multiple of `align` past the header.
   * A macro block starts on a MPCA_SEG_SIZE boundary: up to that alignment,
   * that is the header rounded up; beyond, it depends on where the block
   * lands, and it is at most `align` (the first multiple of `align` above
   * the block's start is a MPCA_SEG_SIZE boundary past the header). */
  size_t off = align > MPCA_SEG_SIZE ? align : mpca_align_up(front(), align);
  size_t total;
  /* at least one byte of payload, so the payload lies inside the block */
  if (__builtin_add_overflow(off, size ? size : 1, &total) ||
      __builtin_add_overflow(mpca_align_up(total, mpca_os_page_size()), mpca_huge_tail(), &total) ||
      total > PTRDIFF_MAX)
    return NULL;
  mpca_seg *seg = seg_get(s, total);
  if (seg == NULL)
    return NULL;
  if (!guards_on(seg)) {
    mpca_source_put(seg);
    return NULL;
  }
  char *p = (char *)mpca_align_up((uintptr_t)seg + front(), align);
  seg->kind = MPCA_KIND_HUGE;
  seg->owner = NULL;
  seg->payload_off = (size_t)(p - (char *)seg);
  seg->req_size = size;
  if (zero && !seg->fresh)
    memset(p, 0, size);
  h->cnt.huge_allocs++;
  count(seg, 1);
  return p;
}

void mpca_huge_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  if (mpca_unlikely(!mpca_huge_valid(seg, p))) {
    mpca_bad_pointer(fn, p, "invalid pointer (inside a huge block, not at its start)");
    return;
  }
  if (h)
    h->cnt.huge_frees++;
  count(seg, -1);
  mpca_source_put(seg); /* with its guard pages (hardened build) */
}

void *mpca_huge_resize(mpca_seg *seg, void *p, size_t size)
{
  size_t off = (size_t)((char *)p - (char *)seg);
  size_t want;
  if (__builtin_add_overflow(mpca_align_up(off + size, mpca_os_page_size()), mpca_huge_tail(), &want))
    return NULL;
  if (!mpca_source_unguard(seg))
    return NULL;
  count(seg, -1);
  mpca_seg *moved = mpca_source_resize(seg, want);
  if (moved == NULL) {
    guards_on(seg); /* a refusal leaves the block less guarded: still correct */
    count(seg, 1);
    return NULL;
  }
  guards_on(moved);
  moved->req_size = size;
  count(moved, 1);
  return (char *)moved + off;
}
