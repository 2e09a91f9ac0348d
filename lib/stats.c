/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Statistics counting, the leaf every layer may call (see mpca_stats.h):
 * bytes mapped per source and in all, and the live huge blocks per source,
 * with their high-water marks. Relaxed atomics, next to the system call or
 * the source operation that changes them. Includes nothing above the core
 * types, calls nobody, never allocates; what the counts mean, and how the
 * reports add them up with the heaps' own gauges, is in report.c. */
#include "mpca_stats.h"

mpca_stats_node mpca_stats_nodes[MPCA_NSOURCES];
_Atomic uint64_t mpca_stats_mapped_total, mpca_stats_mapped_peak;

static void raise_peak(_Atomic uint64_t *peak, uint64_t v)
{
  uint64_t p = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > p && !atomic_compare_exchange_weak_explicit(peak, &p, v, memory_order_relaxed, memory_order_relaxed))
    ;
}

void mpca_stats_mapped(int node, uint64_t delta)
{
  atomic_fetch_add_explicit(&mpca_stats_node_of(node)->mapped, delta, memory_order_relaxed);
  uint64_t t = atomic_fetch_add_explicit(&mpca_stats_mapped_total, delta, memory_order_relaxed) + delta;
  if ((int64_t)delta > 0)
    raise_peak(&mpca_stats_mapped_peak, t);
}

void mpca_stats_huge(int node, uint64_t usable, uint64_t req, int sign)
{
  mpca_stats_node *n = mpca_stats_node_of(node);
  if (sign < 0) {
    usable = -usable;
    req = -req;
  }
  uint64_t t = atomic_fetch_add_explicit(&n->huge_used, usable, memory_order_relaxed) + usable;
  atomic_fetch_add_explicit(&n->huge_req, req, memory_order_relaxed);
  atomic_fetch_add_explicit(&n->huge_live, (uint64_t)(int64_t)sign, memory_order_relaxed);
  if (sign > 0)
    raise_peak(&n->huge_peak, t);
}

void mpca_stats_reset_peaks(void)
{
  for (unsigned i = 0; i < MPCA_NSOURCES; i++)
    atomic_store_explicit(&mpca_stats_nodes[i].huge_peak,
                          atomic_load_explicit(&mpca_stats_nodes[i].huge_used, memory_order_relaxed),
                          memory_order_relaxed);
  atomic_store_explicit(&mpca_stats_mapped_peak, atomic_load_explicit(&mpca_stats_mapped_total, memory_order_relaxed),
                        memory_order_relaxed);
}
