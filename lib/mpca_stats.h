/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Statistics counting: the hooks the lower layers (small.c, medium.c,
 * huge.c, source.c) call when memory changes hands. A leaf: it includes
 * nothing but the core types and calls nobody, so any layer may count; the
 * summing over heaps and sources and the reports live at the top, in
 * report.c. The heap gauges are plain per-heap counters that only the
 * heap's holder writes, on slow paths (free-list refill, run events,
 * creation and release, medium malloc/free/resize); the per-source mapped
 * and huge figures are relaxed atomics touched next to a system call. Never
 * call any of these from the inline malloc/free fast paths of mpca_alloc.h:
 * the always-on statistics must cost nothing measurable. See stats.c. */
#ifndef MPCA_STATS_H
#define MPCA_STATS_H

#include <stdatomic.h>
#include "mpca_types.h"

typedef struct mpca_stats_node {
  _Atomic uint64_t mapped;    /* bytes mapped by this source */
  _Atomic uint64_t huge_used; /* usable bytes of live huge blocks */
  _Atomic uint64_t huge_req;  /* bytes asked for by live huge blocks */
  _Atomic uint64_t huge_peak; /* high-water mark of huge_used */
  _Atomic uint64_t huge_live; /* live huge blocks */
} mpca_stats_node;

/* One per source, indexed by mpca_source_index(node). */
extern mpca_stats_node mpca_stats_nodes[MPCA_NSOURCES] MPCA_INTERNAL;
/* Bytes mapped by all sources, and their high-water mark. */
extern _Atomic uint64_t mpca_stats_mapped_total MPCA_INTERNAL;
extern _Atomic uint64_t mpca_stats_mapped_peak MPCA_INTERNAL;

MPCA_INLINE mpca_stats_node *mpca_stats_node_of(int node) { return &mpca_stats_nodes[mpca_source_index(node)]; }

/* The slots out of the runs of class `cls` (blocks of `size` bytes)
 * changed by `delta` (see sync_run in small.c). */
MPCA_INLINE void mpca_stats_small_out(mpca_heap *h, unsigned cls, int64_t delta, size_t size)
{
  h->small_slots[cls] += (uint64_t)delta;
  uint64_t u = h->small_used += (uint64_t)(delta * (int64_t)size);
  if (delta > 0 && u > h->cnt.small_peak)
    h->cnt.small_peak = u;
}

/* Medium bytes in use changed by `delta` (modular: a decrease wraps). */
MPCA_INLINE void mpca_stats_medium(mpca_heap *h, uint64_t delta)
{
  uint64_t u = h->cnt.medium_used += delta;
  if (u > h->cnt.medium_peak && (int64_t)delta > 0)
    h->cnt.medium_peak = u;
}

/* Bytes mapped by the source of `node` changed by `delta` (modular). */
MPCA_INTERNAL void mpca_stats_mapped(int node, uint64_t delta);
/* A huge block of the source of `node`, `usable` bytes of which `req` were
 * asked for, appears (sign > 0) or goes (sign < 0). */
MPCA_INTERNAL void mpca_stats_huge(int node, uint64_t usable, uint64_t req, int sign);
/* The high-water marks of the mapped and huge bytes restart from the
 * current values (mpc_alloc_stats_reset). */
MPCA_INTERNAL void mpca_stats_reset_peaks(void);

#endif
