/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Memory sources: where macro blocks come from and go back to. One per NUMA
 * node, an unbound one and an interleaved one (blocks of
 * MPCALLOC_NUMA_INTERLEAVE_MIN and up); each keeps a cache of free,
 * still-mapped blocks under the limits of the option table and the
 * process-wide retention budget. A block only ever goes back to its own
 * source, so the cache never hands out memory of one placement policy for
 * another. */
#ifndef MPCA_SOURCE_H
#define MPCA_SOURCE_H

#include "mpca_types.h"

/* Retained (cached) bytes over all sources. */
extern _Atomic size_t mpca_retained MPCA_INTERNAL;

MPCA_INTERNAL void mpca_sources_init(void);
/* The source of `node`: a node number, MPCA_NODE_UNBOUND (also for any
 * number out of range) or MPCA_NODE_INTERLEAVED. */
MPCA_INTERNAL mpca_source *mpca_source_for_node(int node);
/* The index of `s` among all sources (below MPCA_NSOURCES). */
MPCA_INTERNAL unsigned mpca_source_id(const mpca_source *s);
/* A registered, MPCA_SEG_SIZE-aligned macro block of at least `size` bytes
 * whose header has size, source, node and fresh set; the caller sets kind.
 * NULL with errno ENOMEM on failure. */
MPCA_INTERNAL mpca_seg *mpca_source_get(mpca_source *s, size_t size);

/* Hardened build: the guard pages a macro block may keep while it is
 * cached (seg->guards), named by the kind of block that set them; their
 * places follow from the block's start and size (small.c, huge.c,
 * guarded.c say where). */
enum mpca_guards {
  MPCA_GUARDS_NONE = 0,
  MPCA_GUARDS_SMALL,   /* a small macro block's: after its header, its last run */
  MPCA_GUARDS_SPANS,   /* the same for a macro block of spans (mid sizes) */
  MPCA_GUARDS_HUGE,    /* a huge block's: its second page, its last page */
  MPCA_GUARDS_GUARDED, /* + class: guarded.c, after its header and after every slot */
};
/* Hardened build: as mpca_source_get, but the block may come with the
 * guard pages of `layout` already set (seg->guards == layout), taken whole
 * (a cached block of that layout is reused without a system call); else
 * it has none (seg->guards == 0). */
MPCA_INTERNAL mpca_seg *mpca_source_get_guarded(mpca_source *s, size_t size, unsigned layout);
/* Hardened build: every page of `seg` readable and writable again (one
 * system call), seg->guards 0; false when the kernel refused. */
MPCA_INTERNAL bool mpca_source_unguard(mpca_seg *seg);
/* Unmap a macro block that must not be cached (the hardened build: its
 * guard pages could not be lifted). */
MPCA_INTERNAL void mpca_source_unmap(mpca_seg *seg);
/* Give a macro block back: cached if the limits allow, else unmapped. In
 * the hardened build it keeps its guard pages (seg->guards says which). */
MPCA_INTERNAL void mpca_source_put(mpca_seg *seg);
/* Resize a huge block's mapping keeping its pages (mremap). Returns the
 * (possibly moved) header, or NULL with the block untouched. */
MPCA_INTERNAL mpca_seg *mpca_source_resize(mpca_seg *seg, size_t new_size);
/* Unmap cached blocks, oldest first, until at most `keep` bytes stay cached
 * in all sources together; returns the bytes released. */
MPCA_INTERNAL size_t mpca_source_release(size_t keep);
/* Unmap the blocks of every source cached at least MPCALLOC_PURGE_DELAY
 * before `now` (mpca_os_now_ms); returns the bytes released. Blocks of a
 * source are also checked whenever a block comes back to it. */
MPCA_INTERNAL size_t mpca_source_decay(uint64_t now);
MPCA_INTERNAL size_t mpca_source_cached(const mpca_source *s);

MPCA_INTERNAL void mpca_sources_fork_prepare(void);
MPCA_INTERNAL void mpca_sources_fork_parent(void);
MPCA_INTERNAL void mpca_sources_fork_child(void);

#endif
