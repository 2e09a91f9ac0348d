/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Statistics hooks. The heap gauges are plain per-heap counters that only
 * the heap's holder writes, on slow paths (thread-cache refill and flush,
 * run creation and release, medium malloc/free/resize); the per-node mapped
 * and huge figures are relaxed atomics touched next to a system call. Never
 * call any of these from the inline malloc/free fast paths of mpca_alloc.h:
 * the always-on statistics must cost nothing measurable. See stats.c. */
#ifndef MPCA_STATS_H
#define MPCA_STATS_H

#include <stdatomic.h>
#include "mpcalloc.h"
#include "mpca_small.h"

typedef struct mpca_stats_node {
  _Atomic uint64_t mapped;    /* bytes mapped by this node's source */
  _Atomic uint64_t huge_used; /* usable bytes of live huge blocks */
  _Atomic uint64_t huge_req;  /* bytes asked for by live huge blocks */
  _Atomic uint64_t huge_peak; /* high-water mark of huge_used */
  _Atomic uint64_t huge_live; /* live huge blocks */
} mpca_stats_node;

/* Everything the readers report, gathered in one pass (stats.c). */
typedef struct mpca_stats_snapshot {
  struct mpc_alloc_stats s;
  uint64_t cls_count[MPCA_SMALL_NCLASSES];  /* live blocks, thread caches excluded */
  uint64_t cls_runs[MPCA_SMALL_NCLASSES];   /* runs in use */
  uint64_t cls_cached[MPCA_SMALL_NCLASSES]; /* free blocks in thread caches */
  uint64_t cls_free[MPCA_SMALL_NCLASSES];   /* free slots left in the runs in use */
  uint64_t huge_used;                       /* usable bytes of live huge blocks */
  uint64_t huge_live;                       /* live huge blocks */
} mpca_stats_snapshot;

/* [0]: the unbound source (node -1), [n + 1]: node n. */
extern mpca_stats_node mpca_stats_nodes[MPCA_MAX_NODES + 1] MPCA_INTERNAL;

MPCA_INLINE mpca_stats_node *mpca_stats_node_of(int node)
{
  return &mpca_stats_nodes[node < 0 || node >= MPCA_MAX_NODES ? 0 : node + 1];
}

/* `n` slots of class `cls` (blocks of `size` bytes) left their runs. */
MPCA_INLINE void mpca_stats_small_out(mpca_heap *h, unsigned cls, unsigned n, size_t size)
{
  h->small_slots[cls] += n;
  uint64_t u = h->small_used += (uint64_t)n * size;
  if (u > h->cnt.small_peak)
    h->cnt.small_peak = u;
}

/* `n` slots of class `cls` went back to their runs. */
MPCA_INLINE void mpca_stats_small_back(mpca_heap *h, unsigned cls, unsigned n)
{
  h->small_slots[cls] -= n;
  h->small_used -= (uint64_t)n * mpca_classes[cls].size;
}

/* Medium bytes in use changed by `delta` (modular: a decrease wraps). */
MPCA_INLINE void mpca_stats_medium(mpca_heap *h, uint64_t delta)
{
  uint64_t u = h->cnt.medium_used += delta;
  if (u > h->cnt.medium_peak && (int64_t)delta > 0)
    h->cnt.medium_peak = u;
}

/* Fill *sn from every heap ever made and every node (approximate while
 * other threads run; exact for the calling thread's own heap). */
MPCA_INTERNAL void mpca_stats_gather(mpca_stats_snapshot *sn);
/* The report (text, or JSON) on `fd`, without allocating; 0, or -1 with
 * errno set by a failed write. */
MPCA_INTERNAL int mpca_stats_print_fd(int fd, bool json);
/* At start-up, after the options: keeps a copy of standard error for the
 * report at exit (and its messages) when MPCALLOC_STATS asks for one:
 * programs such as the GNU tools close stderr in an atexit handler, before
 * destructors run. */
MPCA_INTERNAL void mpca_stats_setup(void);
/* Bytes mapped by the source of `node` changed by `delta` (modular). */
MPCA_INTERNAL void mpca_stats_mapped(int node, uint64_t delta);
/* A huge block appears (sign > 0) or goes (sign < 0). */
MPCA_INTERNAL void mpca_stats_huge(const mpca_seg *seg, int sign);

#endif
