/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and placement. Without libnuma configured, with
 * MPCALLOC_NUMA=off, or on one node, every call here is a cheap no-op and all
 * memory comes from the unbound source. Nothing here is ever called on a
 * malloc/free fast path: only at heap creation, when a source maps memory,
 * and from the mpc_alloc_numa_* / mpc_alloc_on_node entry points. */
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
/* Bind new mappings to `node` (no-op for -1 or when placement is off). */
MPCA_INTERNAL void mpca_numa_bind(void *p, size_t size, int node);
/* Move the pages of [p, p + size) to `node` and bind the range to it (-1:
 * back to the default policy, nothing moves). False if the kernel refused. */
MPCA_INTERNAL bool mpca_numa_move(void *p, size_t size, int node);

/* The work of mpc_alloc_numa_rebind, mpc_alloc_on_node, mpc_alloc_numa_node. */
MPCA_INTERNAL int mpca_numa_rebind(void);
MPCA_INTERNAL void *mpca_numa_alloc_on_node(int node, size_t size);
MPCA_INTERNAL int mpca_numa_current_node(void);

/* Set when mpc_alloc_numa_rebind gave the thread a new heap: the thread-exit
 * key still names the thread's first heap, so mpca_heap_abandon abandons this
 * one instead (see heap.c). */

#endif
