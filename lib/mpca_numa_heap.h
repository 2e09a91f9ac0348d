/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * What NUMA placement does to thread heaps: the work behind
 * mpc_alloc_numa_rebind, mpc_alloc_on_node and mpc_alloc_numa_node. Above
 * heaps and sources; the placement policies themselves are in mpca_numa.h. */
#ifndef MPCA_NUMA_HEAP_H
#define MPCA_NUMA_HEAP_H

#include "mpca_types.h"

/* Re-detect the calling thread's node and allocate from it from now on
 * (a heap of the new node, or the same heap moved with
 * MPCALLOC_NUMA_MIGRATE); returns the node, -1 when unbound. */
MPCA_INTERNAL int mpca_numa_rebind(void);
/* `size` bytes on `node`, freed with free(); NULL with errno EINVAL (node
 * not online) or ENOMEM. */
MPCA_INTERNAL void *mpca_numa_alloc_on_node(int node, size_t size);
/* The node the calling thread allocates from, or -1 (unbound). */
MPCA_INTERNAL int mpca_numa_current_node(void);

#endif
