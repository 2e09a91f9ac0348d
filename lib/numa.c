/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and page placement. This first version detects nothing and
 * places nothing: every heap uses the unbound source (first-touch policy).
 * The entry points are the ones node-local heaps plug into. */
#include "mpca_numa.h"

void mpca_numa_init(void) {}

int mpca_numa_node_count(void) { return 1; }

int mpca_numa_thread_node(void) { return -1; }

void mpca_numa_bind(void *p, size_t size, int node)
{
  (void)p;
  (void)size;
  (void)node;
}
