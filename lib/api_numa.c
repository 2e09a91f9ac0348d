/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The NUMA functions of <mpcalloc.h>: mpc_alloc_numa_rebind,
 * mpc_alloc_on_node, mpc_alloc_numa_node. Thin wrappers: the work is in
 * numa_heap.c, so unit tests reach it through the core library. Never called on a
 * malloc/free path; must never allocate through libc. */
#include "mpcalloc.h"
#include "mpca_init.h"
#include "mpca_numa_heap.h"

MPCA_EXPORT int mpc_alloc_numa_rebind(void) { return mpca_numa_rebind(); }

MPCA_EXPORT void *mpc_alloc_on_node(int node, size_t size) { return mpca_numa_alloc_on_node(node, size); }

MPCA_EXPORT int mpc_alloc_numa_node(void)
{
  mpca_global_init();
  return mpca_numa_current_node();
}
