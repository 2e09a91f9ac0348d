/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the statistics counting leaf (stats.c, mpca_stats.h) on its
 * own, without heaps or sources: the per-source mapped bytes and their
 * process-wide peak, the live huge blocks per source and their peak, the
 * interleaved and out-of-range sources, the heap gauges of small and medium
 * blocks, and the restart of the peaks. */
#include <string.h>
#include "unit.h"
#include "mpca_stats.h"

static uint64_t rd(_Atomic uint64_t *v) { return atomic_load(v); }

static void reset_all(void)
{
  memset(mpca_stats_nodes, 0, sizeof mpca_stats_nodes);
  atomic_store(&mpca_stats_mapped_total, 0);
  atomic_store(&mpca_stats_mapped_peak, 0);
}

START_TEST(test_mapped)
{
  reset_all();
  mpca_stats_mapped(MPCA_NODE_UNBOUND, 4 << 20);
  mpca_stats_mapped(3, 2 << 20);
  mpca_stats_mapped(MPCA_NODE_INTERLEAVED, 8 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_node_of(MPCA_NODE_UNBOUND)->mapped), 4 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[0].mapped), 4 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[4].mapped), 2 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[MPCA_SOURCE_INTERLEAVED_INDEX].mapped), 8 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_mapped_total), 14 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_mapped_peak), 14 << 20);
  /* a decrease is a wrapping addition; the peak stays */
  mpca_stats_mapped(MPCA_NODE_INTERLEAVED, -(uint64_t)(8 << 20));
  ck_assert_uint_eq(rd(&mpca_stats_nodes[MPCA_SOURCE_INTERLEAVED_INDEX].mapped), 0);
  ck_assert_uint_eq(rd(&mpca_stats_mapped_total), 6 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_mapped_peak), 14 << 20);
  /* node numbers out of range count under the unbound source */
  mpca_stats_mapped(MPCA_MAX_NODES, 1 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[0].mapped), 5 << 20);
  mpca_stats_reset_peaks();
  ck_assert_uint_eq(rd(&mpca_stats_mapped_peak), 7 << 20);
}
END_TEST

START_TEST(test_huge)
{
  reset_all();
  mpca_stats_huge(1, 3 << 20, 3000000, 1);
  mpca_stats_huge(1, 5 << 20, 5000000, 1);
  mpca_stats_node *n = mpca_stats_node_of(1);
  ck_assert_ptr_eq(n, &mpca_stats_nodes[2]);
  ck_assert_uint_eq(rd(&n->huge_used), 8 << 20);
  ck_assert_uint_eq(rd(&n->huge_req), 8000000);
  ck_assert_uint_eq(rd(&n->huge_peak), 8 << 20);
  mpca_stats_huge(1, 5 << 20, 5000000, -1);
  ck_assert_uint_eq(rd(&n->huge_used), 3 << 20);
  ck_assert_uint_eq(rd(&n->huge_req), 3000000);
  ck_assert_uint_eq(rd(&n->huge_peak), 8 << 20);
  mpca_stats_reset_peaks();
  ck_assert_uint_eq(rd(&n->huge_peak), 3 << 20);
  mpca_stats_huge(MPCA_NODE_INTERLEAVED, 1 << 20, 1000, 1);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[MPCA_SOURCE_INTERLEAVED_INDEX].huge_used), 1 << 20);
  ck_assert_uint_eq(rd(&mpca_stats_nodes[0].huge_used), 0);
}
END_TEST

START_TEST(test_heap_gauges)
{
  static mpca_heap h; /* only the counters are touched */
  memset(&h, 0, sizeof h);
  mpca_stats_small_out(&h, 2, 10, 48);
  mpca_stats_small_out(&h, 5, 4, 96);
  ck_assert_uint_eq(h.small_slots[2], 10);
  ck_assert_uint_eq(h.small_used, 10 * 48 + 4 * 96);
  ck_assert_uint_eq(h.cnt.small_peak, 10 * 48 + 4 * 96);
  mpca_stats_small_out(&h, 2, -6, 48); /* slots back into their runs */
  ck_assert_uint_eq(h.small_slots[2], 4);
  ck_assert_uint_eq(h.small_used, 4 * 48 + 4 * 96);
  ck_assert_uint_eq(h.cnt.small_peak, 10 * 48 + 4 * 96);
  mpca_stats_medium(&h, 5000);
  mpca_stats_medium(&h, 3000);
  mpca_stats_medium(&h, -(uint64_t)5000);
  ck_assert_uint_eq(h.cnt.medium_used, 3000);
  ck_assert_uint_eq(h.cnt.medium_peak, 8000);
}
END_TEST

START_TEST(test_source_index)
{
  ck_assert_uint_eq(mpca_source_index(MPCA_NODE_UNBOUND), 0);
  ck_assert_uint_eq(mpca_source_index(0), 1);
  ck_assert_uint_eq(mpca_source_index(MPCA_MAX_NODES - 1), MPCA_MAX_NODES);
  ck_assert_uint_eq(mpca_source_index(MPCA_MAX_NODES), 0);
  ck_assert_uint_eq(mpca_source_index(MPCA_NODE_INTERLEAVED), MPCA_NSOURCES - 1);
  for (unsigned i = 0; i < MPCA_NSOURCES; i++)
    ck_assert_uint_eq(mpca_source_index(mpca_source_node(i)), i);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("stats counting");
  TCase *tc = tcase_create("leaf");
  tcase_add_test(tc, test_mapped);
  tcase_add_test(tc, test_huge);
  tcase_add_test(tc, test_heap_gauges);
  tcase_add_test(tc, test_source_index);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
