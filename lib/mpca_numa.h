/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and placement. Without libnuma, or on one node, every call
 * here is a cheap no-op and all memory comes from the unbound source. */
#ifndef MPCA_NUMA_H
#define MPCA_NUMA_H

#include "mpca_common.h"

MPCA_INTERNAL void mpca_numa_init(void);
/* Number of nodes seen (1 when NUMA is off or unavailable). */
MPCA_INTERNAL int mpca_numa_node_count(void);
/* Node the calling thread's CPU affinity lies in, or -1 when it spans nodes
 * (or NUMA is off). */
MPCA_INTERNAL int mpca_numa_thread_node(void);
/* Bind new mappings to `node` (no-op for -1). */
MPCA_INTERNAL void mpca_numa_bind(void *p, size_t size, int node);

#endif
