/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA placement of thread heaps: a thread that moved takes a heap of its
 * new node, or moves its heap and pages there (MPCALLOC_NUMA_MIGRATE); a
 * block placed on a given node; the node a thread allocates from. Above
 * heaps and sources, below the API (api_numa.c): the policies it applies
 * come from numa.c. Never called on a malloc/free path; never allocates
 * through libc. */
#include <errno.h>
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_init.h"
#include "mpca_list.h"
#include "mpca_numa.h"
#include "mpca_numa_heap.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

static void rehome_list(mpca_list *list, mpca_source *s, int node)
{
  for (mpca_list *n = list->next; n != list; n = n->next) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    /* its bytes are counted under the source it goes back to */
    mpca_stats_mapped((int)seg->node, -(uint64_t)seg->size);
    mpca_stats_mapped(node, seg->size);
    seg->source = s;
    seg->node = (uint32_t)node;
    mpca_numa_move(seg, seg->size, node);
  }
}

/* MPCALLOC_NUMA_MIGRATE: the heap, its macro blocks and their pages move to
 * `node`; the blocks go back to the new node's source when they empty. */
static void rehome(mpca_heap *h, int node)
{
  mpca_source *s = mpca_source_for_node(node);
  mpca_heap_enter(h);
  mpca_heap_drain(h);
  /* The free and foreign lists may hold blocks of other heaps of the old
   * node: they go back to their owners, and the heap's own to their runs
   * (moved). */
  mpca_heap_flush(h);
  for (unsigned f = 0; f < MPCA_FLAVORS; f++) {
    rehome_list(&h->small_avail[f], s, node);
    rehome_list(&h->small_full[f], s, node);
  }
  rehome_list(&h->medium_segs, s, node);
  h->node = node;
  h->source = s;
  mpca_heap_leave(h);
}

int mpca_numa_rebind(void)
{
  mpca_global_init();
  mpca_heap *h = mpca_heap_mine();
  if (h == NULL) {
    h = mpca_thread_init();
    return h ? h->node : -1;
  }
  int node = mpca_numa_home_node();
  if (node == h->node)
    return node;
  if (mpca_opt[MPCA_OPT_NUMA_MIGRATE]) {
    rehome(h, node);
    return node;
  }
  /* Abandon the heap to its node's pool, take one of the new node: blocks of
   * the old heap stay valid and are freed to it like any remote free. */
  mpca_heap *fresh = mpca_heap_acquire();
  if (fresh == NULL)
    return h->node;
  mpca_thread_switch_heap(fresh);
  mpca_heap_abandon(h);
  return fresh->node;
}

void *mpca_numa_alloc_on_node(int node, size_t size)
{
  if (!mpca_numa_node_valid(node)) {
    errno = EINVAL;
    return NULL;
  }
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  mpca_heap *h = mpca_heap_get();
  if (h == NULL)
    return NULL;
  /* A huge-style block: its own macro block from the node's source, freed
   * back to that source by plain free from any thread. */
  mpca_source *s = mpca_source_for_node(mpca_numa_enabled() ? node : MPCA_NODE_UNBOUND);
  void *p = mpca_huge_malloc(h, s, size, MPCA_ALIGNMENT, false);
  if (p == NULL)
    errno = ENOMEM;
  return p;
}

int mpca_numa_current_node(void)
{
  mpca_heap *h = mpca_heap_get();
  return h ? h->node : -1;
}
