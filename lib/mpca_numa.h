/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and placement policies. Without libnuma configured, with
 * MPCALLOC_NUMA=off, or on one node, every call here is a cheap no-op and all
 * memory comes from the unbound source. Nothing here is ever called on a
 * malloc/free fast path: only at heap creation, when a source maps memory,
 * and from the mpc_alloc_numa_* / mpc_alloc_on_node entry points; the
 * allocation slow paths read mpca_numa_interleave_from. A low layer: what
 * placement does to heaps is in mpca_numa_heap.h. */
#ifndef MPCA_NUMA_H
#define MPCA_NUMA_H

#include "mpca_types.h"

/* Global set-up (inside the first malloc): reads the topology under /sys. */
MPCA_INTERNAL void mpca_numa_init(void);
/* Read the topology under `sysfs_root` (normally "/sys"; tests point it at
 * a fake tree) and decide whether placement is on. Returns the number of
 * online nodes (1 when there is no topology). Not thread-safe: start-up and
 * tests only. */
MPCA_INTERNAL int mpca_numa_load(const char *sysfs_root);
/* Number of online nodes seen (1 when NUMA is off or unavailable). */
MPCA_INTERNAL int mpca_numa_node_count(void);
/* Whether heaps are bound to nodes (libnuma configured, MPCALLOC_NUMA=auto,
 * and at least two online nodes). */
MPCA_INTERNAL bool mpca_numa_enabled(void);
/* Whether `node` is an online node (node 0 always is without topology). */
MPCA_INTERNAL bool mpca_numa_node_valid(int node);
/* The node whose CPUs contain every CPU of `mask` (`nwords` 64-bit words,
 * bit i = CPU i), or -1 when the mask spans nodes, is empty, or placement is
 * off. */
MPCA_INTERNAL int mpca_numa_node_of_mask(const uint64_t *mask, size_t nwords);
/* Node the calling thread's CPU affinity lies in, or -1 when it spans nodes
 * (or NUMA is off). */
MPCA_INTERNAL int mpca_numa_thread_node(void);
/* The node a heap made for the calling thread belongs to: the node its CPU
 * affinity lies in; for a thread bound to none, the node of
 * MPCALLOC_NUMA_NODE, else -1 (unbound). */
MPCA_INTERNAL int mpca_numa_home_node(void);
/* Apply the policy of the source of `node` to new mappings: preferred on a
 * node, interleaved over the nodes for MPCA_NODE_INTERLEAVED, nothing for
 * the unbound source or when placement is off. */
MPCA_INTERNAL void mpca_numa_bind(void *p, size_t size, int node);
/* Move the pages of [p, p + size) to the policy of `node` and bind the range
 * to it (MPCA_NODE_UNBOUND: back to the default policy, nothing moves).
 * False if the kernel refused. */
MPCA_INTERNAL bool mpca_numa_move(void *p, size_t size, int node);

/* Blocks of this size and up come from the interleaved source
 * (MPCALLOC_NUMA_INTERLEAVE_MIN); SIZE_MAX when interleaving is off: with
 * no placement, fewer than two nodes allowed, or the option at 0. */
extern size_t mpca_numa_interleave_from MPCA_INTERNAL;
/* The largest block a heap's medium chunks serve: MPCA_MEDIUM_MAX, or less
 * when interleaving starts below it (one compare on the medium paths). */
extern size_t mpca_numa_medium_max MPCA_INTERNAL;
/* The nodes interleaved blocks spread over (online nodes the process may
 * place memory on) into `mask` (`nwords` words); returns how many. */
MPCA_INTERNAL int mpca_numa_interleave_nodes(uint64_t *mask, size_t nwords);

#endif
