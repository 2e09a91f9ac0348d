/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Guarded blocks: the hardened build's blocks above the small sizes and up
 * to the medium limit (32 KiB - 1 MiB), in place of the default build's
 * boundary-tag chunks, whose tags sit against the blocks. A guarded macro
 * block holds slots of one size class, each a whole number of pages and
 * followed by a guard page; its header (the bitmap of taken slots, where
 * each block starts, what it asked for) is out of line, behind a guard page
 * of its own. The guard pages are set once, when the macro block is made,
 * and stay while it is cached: a malloc or a free makes no system call.
 * Shared by all threads (one lock per class): any thread frees any block,
 * and every double free is exact. Fully free macro blocks stay with their
 * class until unused for MPCALLOC_PURGE_DELAY. Hardened build only
 * (MPCA_HARDENED). */
#ifndef MPCA_GUARDED_H
#define MPCA_GUARDED_H

#include "mpca_types.h"

/* Classes: 4 per doubling above MPCA_SMALL_MAX up to MPCA_MEDIUM_MAX. */
#define MPCA_GUARDED_NCLASSES 20
/* Slots of a macro block: at most one bitmap word, at least a few. */
#define MPCA_GUARDED_MAX_SLOTS 64
#define MPCA_GUARDED_MIN_SLOTS 8

/* A guarded macro block's header. The taken, filled, off and req entries
 * are written under the lock of its class; off and req are read without
 * it by diagnostics only. A block is right-aligned in its slot (to 16
 * bytes, or its alignment), so that the guard page follows its last byte;
 * a canary fills the bytes between its end and the slot's (fewer than 16
 * for an unaligned request) and the 16 bytes before its start when there
 * is room: both are checked when it is freed. */
typedef struct mpca_gseg {
  mpca_seg hdr;        /* kind MPCA_KIND_GUARDED; hdr.link: its class's list of blocks with a free slot */
  uint32_t cls;
  uint32_t nslots;
  uint32_t used;       /* slots taken */
  uint32_t slot_bytes; /* the class size, rounded up to whole pages */
  size_t stride;       /* from one slot to the next: slot_bytes and a guard page */
  size_t first;        /* offset of slot 0: the header's pages and a guard page */
  uint64_t taken;      /* bit i: slot i holds a block */
  uint64_t filled;     /* bit i: slot i is free and its block's first bytes hold the fill */
  uint32_t off[MPCA_GUARDED_MAX_SLOTS]; /* slot i: its block's offset in the slot */
  uint32_t req[MPCA_GUARDED_MAX_SLOTS]; /* slot i: the bytes its block was asked for */
} mpca_gseg;

/* Whether a request of `size` bytes aligned to `align` (a power of two,
 * at most MPCA_MEDIUM_ALIGN_MAX, mpca_alloc.h) fits a guarded class. */
MPCA_INTERNAL bool mpca_guarded_fits(size_t size, size_t align);
/* A block of `size` bytes (mpca_guarded_fits) from `s`, zeroed when
 * `zero`; NULL when no memory can be had. */
MPCA_INTERNAL void *mpca_guarded_malloc(mpca_source *s, size_t size, size_t align, bool zero);
/* Free of `p` in the guarded macro block `seg`, by any thread: reports a
 * bad pointer or a double free (mpca_bad_pointer), aborts on a broken
 * canary. */
MPCA_INTERNAL void mpca_guarded_free(mpca_seg *seg, void *p, const char *fn);
/* The bytes asked for of the live block `p`, or 0 after a report. */
MPCA_INTERNAL size_t mpca_guarded_usable(mpca_seg *seg, const void *p, const char *fn);
/* Give the fully free macro blocks kept for reuse back to their sources
 * (with their guard pages); returns their bytes. */
MPCA_INTERNAL size_t mpca_guarded_release(void);
/* The same for those unused for MPCALLOC_PURGE_DELAY at `now`
 * (mpca_os_now_ms): the heaps' purge tick. */
MPCA_INTERNAL size_t mpca_guarded_decay(uint64_t now);
/* For the report of a fault at `addr` of `seg`: false when addr is in no
 * guard page of it; else true, and what it hit written into `buf`. */
MPCA_INTERNAL bool mpca_guarded_describe(const mpca_seg *seg, const void *addr, char *buf, size_t n);

MPCA_INTERNAL void mpca_guarded_fork_prepare(void);
MPCA_INTERNAL void mpca_guarded_fork_parent(void);
MPCA_INTERNAL void mpca_guarded_fork_child(void);

#endif
