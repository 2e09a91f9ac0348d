/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of a memory source and its cache, without heaps: aligned and
 * registered blocks, reuse of a freed block (no new mapping), best-fit split,
 * merging of freed neighbours of one mapping, the full address index,
 * growth by mremap keeping the content, the per-block and process-wide
 * limits, release on demand, and the purge delay; in the hardened build,
 * guard pages kept while a block is cached. */
#include <string.h>
#include "unit.h"
#include "mpca_config.h"
#include "mpca_os.h"
#include "mpca_registry.h"
#include "mpca_source.h"

#define MIB ((size_t)1 << 20)
static mpca_source *src;

static void setup(void)
{
  mpca_config_load(NULL, 2);
  mpca_sources_init();
  src = mpca_source_for_node(-1);
}

START_TEST(test_fresh_block)
{
  mpca_seg *seg = mpca_source_get(src, 3 * MIB);
  ck_assert_ptr_nonnull(seg);
  ck_assert_uint_eq((uintptr_t)seg % MPCA_SEG_SIZE, 0);
  ck_assert_uint_ge(seg->size, 3 * MIB);
  ck_assert(seg->fresh);
  ck_assert_ptr_eq(seg->source, src);
  ck_assert_ptr_eq(mpca_registry_lookup((char *)seg + 3 * MIB - 1), seg);
  seg->kind = MPCA_KIND_HUGE;
  mpca_source_put(seg);
  ck_assert_uint_eq(mpca_source_cached(src), 3 * MIB);
  ck_assert_uint_eq(seg->kind, MPCA_KIND_CACHED);
  ck_assert_uint_eq(mpca_source_release(0), 3 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup(seg));
}
END_TEST

START_TEST(test_reuse_without_mapping)
{
  mpca_seg *seg = mpca_source_get(src, 8 * MIB);
  memset((char *)seg + 4096, 0x77, 8 * MIB - 4096);
  mpca_source_put(seg);
  uint64_t maps = atomic_load(&mpca_os_cnt.mmap_calls);
  mpca_seg *again = mpca_source_get(src, 8 * MIB);
  ck_assert_ptr_eq(again, seg);
  ck_assert(!again->fresh);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.mmap_calls), maps);
  ck_assert_int_eq(((unsigned char *)again)[8 * MIB - 1], 0x77); /* same dirty pages */
  mpca_source_put(again);
  mpca_source_release(0);
}
END_TEST

START_TEST(test_best_fit_split)
{
  mpca_seg *big = mpca_source_get(src, 16 * MIB);
  mpca_seg *mid = mpca_source_get(src, 6 * MIB);
  mpca_source_put(big);
  mpca_source_put(mid);
  mpca_seg *a = mpca_source_get(src, 5 * MIB); /* best fit: the 6 MiB one */
  ck_assert_ptr_eq(a, mid);
  mpca_seg *b = mpca_source_get(src, 4 * MIB); /* split the 16 MiB one */
  ck_assert_ptr_eq(b, big);
  ck_assert_uint_eq(b->size, 4 * MIB);
  ck_assert_uint_eq(mpca_source_cached(src), 12 * MIB);
  mpca_seg *tail = mpca_registry_lookup((char *)big + 4 * MIB);
  ck_assert_ptr_eq(tail, (mpca_seg *)((char *)big + 4 * MIB));
  ck_assert_uint_eq(tail->kind, MPCA_KIND_CACHED);
  mpca_source_put(a);
  mpca_source_put(b);
  mpca_source_release(0);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
}
END_TEST

START_TEST(test_fit_among_many)
{
  /* 5 MiB and 5.5 MiB share a bin (4 per doubling), 7 MiB is a higher one;
   * 40 other blocks of 64 MiB crowd a far bin */
  enum { CROWD = 40 };
  mpca_seg *crowd[CROWD];
  for (int i = 0; i < CROWD; i++)
    crowd[i] = mpca_source_get(src, 64 * MIB);
  mpca_seg *s5 = mpca_source_get(src, 5 * MIB);
  mpca_seg *s55 = mpca_source_get(src, 5 * MIB + MIB / 2);
  mpca_seg *s7 = mpca_source_get(src, 7 * MIB);
  for (int i = 0; i < CROWD; i++)
    mpca_source_put(crowd[i]);
  mpca_source_put(s7);
  mpca_source_put(s55);
  mpca_source_put(s5);
  size_t want = 5 * MIB + MIB / 4;
  mpca_seg *a = mpca_source_get(src, want); /* the fitting one of its bin */
  ck_assert_ptr_eq(a, s55);
  mpca_seg *b = mpca_source_get(src, want); /* 5 MiB is too small: next bin */
  ck_assert_ptr_eq(b, s7);
  mpca_seg *c = mpca_source_get(src, 5 * MIB); /* exact */
  ck_assert_ptr_eq(c, s5);
  mpca_source_put(a);
  mpca_source_put(b);
  mpca_source_put(c);
  mpca_source_release(0);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
}
END_TEST

START_TEST(test_grow_keeps_pages)
{
  mpca_seg *seg = mpca_source_get(src, 4 * MIB);
  memset((char *)seg + 4096, 0x42, 4 * MIB - 4096);
  mpca_seg *g = mpca_source_resize(seg, 64 * MIB);
  ck_assert_ptr_nonnull(g);
  ck_assert_uint_eq((uintptr_t)g % MPCA_SEG_SIZE, 0);
  ck_assert_uint_eq(g->size, 64 * MIB);
  ck_assert_int_eq(((unsigned char *)g)[4 * MIB - 1], 0x42);
  ck_assert_int_eq(((unsigned char *)g)[64 * MIB - 1], 0);
  ck_assert_ptr_eq(mpca_registry_lookup((char *)g + 64 * MIB - 1), g);
  if (g != seg)
    ck_assert_ptr_null(mpca_registry_lookup(seg));
  mpca_seg *s2 = mpca_source_resize(g, 6 * MIB);
  ck_assert_ptr_eq(s2, g);
  ck_assert_uint_eq(s2->size, 6 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup((char *)g + 10 * MIB));
  mpca_source_put(s2);
  mpca_source_release(0);
}
END_TEST

START_TEST(test_cache_grows_smaller_block)
{
  mpca_seg *seg = mpca_source_get(src, 30 * MIB);
  mpca_source_put(seg);
  uint64_t remaps = atomic_load(&mpca_os_cnt.mremap_calls);
  mpca_seg *g = mpca_source_get(src, 40 * MIB); /* reuses the 30 MiB pages */
  ck_assert_uint_gt(atomic_load(&mpca_os_cnt.mremap_calls), remaps);
  ck_assert_uint_eq(g->size, 40 * MIB);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
  mpca_source_put(g);
  mpca_source_release(0);
}
END_TEST

START_TEST(test_keep_max)
{
  mpca_opt[MPCA_OPT_KEEP_MAX] = 4 * MIB;
  mpca_seg *seg = mpca_source_get(src, 6 * MIB);
  mpca_source_put(seg);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
  ck_assert_ptr_null(mpca_registry_lookup(seg));
}
END_TEST

START_TEST(test_retention_budget_oldest_first)
{
  mpca_opt[MPCA_OPT_RETAIN_MAX] = 10 * MIB;
  mpca_seg *a = mpca_source_get(src, 4 * MIB);
  mpca_seg *b = mpca_source_get(src, 4 * MIB);
  mpca_seg *c = mpca_source_get(src, 4 * MIB);
  mpca_source_put(a);
  mpca_source_put(b);
  mpca_source_put(c); /* 12 MiB > 10 MiB: a, the oldest, goes */
  ck_assert_uint_eq(mpca_source_cached(src), 8 * MIB);
  ck_assert_uint_eq(atomic_load(&mpca_retained), 8 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup(a));
  ck_assert_ptr_eq(mpca_registry_lookup(b), b);
  ck_assert_uint_eq(mpca_source_release(4 * MIB), 4 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup(b)); /* b older than c */
  ck_assert_ptr_eq(mpca_registry_lookup(c), c);
  mpca_source_release(0);
}
END_TEST

/* A block of `size` bytes cached, then its first two 4 MiB pieces taken
 * (*a, *b): the rest stays cached. Returns the block. */
static mpca_seg *two_pieces(size_t size, mpca_seg **a, mpca_seg **b)
{
  mpca_seg *whole = mpca_source_get(src, size);
  mpca_source_put(whole);
  *a = mpca_source_get(src, 4 * MIB);
  *b = mpca_source_get(src, 4 * MIB);
  ck_assert_ptr_eq(*a, whole);
  ck_assert_ptr_eq(*b, (mpca_seg *)((char *)whole + 4 * MIB));
  ck_assert_uint_eq(mpca_source_cached(src), size - 8 * MIB);
  return whole;
}

/* Pieces of one split block merge back into one block when freed, whatever
 * the order, and the merged block serves a request of the whole size. */
START_TEST(test_merge_split_pieces)
{
  mpca_seg *a, *b;
  mpca_seg *whole = two_pieces(16 * MIB, &a, &b);
  mpca_source_put(a); /* b, in use, sits between a and the tail */
  ck_assert_uint_eq(mpca_source_cached(src), 12 * MIB);
  ck_assert_ptr_eq(mpca_registry_lookup((char *)whole + 8 * MIB), (char *)whole + 8 * MIB);
  mpca_source_put(b); /* joins a before it and the tail after it */
  ck_assert_uint_eq(mpca_source_cached(src), 16 * MIB);
  ck_assert_uint_eq(atomic_load(&mpca_retained), 16 * MIB);
  ck_assert_uint_eq(whole->size, 16 * MIB);
  ck_assert_uint_eq(whole->kind, MPCA_KIND_CACHED);
  for (size_t off = 0; off < 16 * MIB; off += MPCA_SEG_SIZE)
    ck_assert_ptr_eq(mpca_registry_lookup((char *)whole + off), whole);
  uint64_t maps = atomic_load(&mpca_os_cnt.mmap_calls);
  mpca_seg *again = mpca_source_get(src, 16 * MIB);
  ck_assert_ptr_eq(again, whole);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.mmap_calls), maps);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
  mpca_source_put(again);
  ck_assert_uint_eq(mpca_source_release(0), 16 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup((char *)whole + 15 * MIB));
}
END_TEST

/* Blocks of different mappings never merge, even when they touch: mremap
 * could not move the result. (A piece of one split block is given another
 * mapping number to stand for a neighbouring mapping.) */
START_TEST(test_no_merge_across_mappings)
{
  mpca_seg *a, *b;
  two_pieces(12 * MIB, &a, &b);
  b->map_id ^= 0x80000000u;
  mpca_source_put(a);
  mpca_source_put(b);
  ck_assert_uint_eq(mpca_source_cached(src), 12 * MIB);
  ck_assert_uint_eq(a->size, 4 * MIB);
  ck_assert_uint_eq(b->size, 4 * MIB);
  ck_assert_ptr_eq(mpca_registry_lookup(b), b);
  ck_assert_ptr_eq(mpca_registry_lookup((char *)b + 4 * MIB), (char *)b + 4 * MIB);
  ck_assert_uint_eq(mpca_source_release(0), 12 * MIB);
}
END_TEST

/* A source caches at most MPCA_SOURCE_MAX_CACHED separate blocks: one more
 * is unmapped. A block taken from a full cache can still be split (its
 * slot in the index is free by then). */
START_TEST(test_index_full)
{
  static mpca_seg *segs[MPCA_SOURCE_MAX_CACHED + 1];
  mpca_opt[MPCA_OPT_KEEP_MEM] = mpca_opt[MPCA_OPT_RETAIN_MAX] = (uint64_t)1 << 46;
  for (unsigned i = 0; i <= MPCA_SOURCE_MAX_CACHED; i++) {
    segs[i] = mpca_source_get(src, 4 * MIB); /* fresh: nothing cached yet */
    ck_assert_ptr_nonnull(segs[i]);
  }
  for (unsigned i = 0; i <= MPCA_SOURCE_MAX_CACHED; i++)
    mpca_source_put(segs[i]);
  ck_assert_uint_eq(mpca_source_cached(src), (size_t)MPCA_SOURCE_MAX_CACHED * 4 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup(segs[MPCA_SOURCE_MAX_CACHED]));
  mpca_seg *t = mpca_source_get(src, 2 * MIB);
  ck_assert_uint_eq(t->size, 2 * MIB);
  ck_assert_uint_eq(mpca_source_cached(src), (size_t)MPCA_SOURCE_MAX_CACHED * 4 * MIB - 2 * MIB);
  mpca_source_put(t); /* merges with its tail again */
  ck_assert_uint_eq(mpca_source_release(0), (size_t)MPCA_SOURCE_MAX_CACHED * 4 * MIB);
}
END_TEST

/* Blocks cached for MPCALLOC_PURGE_DELAY go back to the OS, oldest first,
 * and only those; "never" keeps them; 0 keeps nothing. (The times of
 * caching are set by hand: the clock is coarse.) */
START_TEST(test_cache_follows_demand)
{
  /* the cache holds what was handed out lately beyond what is handed out
   * now, and 64 MiB whatever: blocks that the program's new requests do
   * not fit go */
  enum { N = 48, M = 5 };
  mpca_seg *small[N], *big[M];
  for (int i = 0; i < N; i++)
    small[i] = mpca_source_get(src, 4 * MIB);
  for (int i = 0; i < N; i++)
    mpca_source_put(small[i]);
  /* 192 MiB were in use a moment ago: all of it stays */
  ck_assert_uint_eq(mpca_source_cached(src), N * 4 * MIB);
  /* blocks of 40 MiB: the 4 MiB ones (separate mappings) cannot serve them */
  for (int i = 0; i < M; i++)
    big[i] = mpca_source_get(src, 40 * MIB);
  mpca_source_put(big[0]);
  /* 200 MiB at the peak, 160 handed out: 40 MiB of recent demand, or as
   * much as is handed out: 160 MiB stay cached of the 232 MiB freed */
  ck_assert_uint_le(mpca_source_cached(src), 160 * MIB);
  ck_assert_uint_ge(mpca_source_cached(src), 150 * MIB);
  for (int i = 1; i < M; i++)
    mpca_source_put(big[i]);
  ck_assert_uint_ge(mpca_source_cached(src), 200 * MIB - 64 * MIB); /* the 40 MiB blocks: recent demand */
  mpca_source_release(0);
}
END_TEST

START_TEST(test_purge_delay)
{
  mpca_opt[MPCA_OPT_PURGE_DELAY] = 1000;
  mpca_seg *a = mpca_source_get(src, 4 * MIB);
  mpca_seg *b = mpca_source_get(src, 6 * MIB);
  mpca_source_put(a);
  mpca_source_put(b);
  ck_assert_uint_eq(mpca_source_cached(src), 10 * MIB);
  a->freed_ms = 1000;
  b->freed_ms = 5000;
  ck_assert_uint_eq(mpca_source_decay(1999), 0);
  ck_assert_uint_eq(mpca_source_decay(2000), 4 * MIB);
  ck_assert_ptr_null(mpca_registry_lookup(a));
  ck_assert_ptr_eq(mpca_registry_lookup(b), b);
  ck_assert_uint_eq(mpca_source_decay(5999), 0);
  mpca_opt[MPCA_OPT_PURGE_DELAY] = MPCA_TIME_NEVER;
  ck_assert_uint_eq(mpca_source_decay(UINT64_MAX - 1), 0);
  mpca_opt[MPCA_OPT_PURGE_DELAY] = 1000;
  ck_assert_uint_eq(mpca_source_decay(6000), 6 * MIB);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
  ck_assert_uint_eq(atomic_load(&mpca_retained), 0);
  /* the tail of a split block is as idle as the block was (times near the
   * real clock's: get and put purge too) */
  uint64_t now = mpca_os_now_ms();
  mpca_seg *w = mpca_source_get(src, 16 * MIB);
  mpca_source_put(w);
  w->freed_ms = now - 500; /* the only cached block: the age list stays sorted */
  mpca_seg *head = mpca_source_get(src, 4 * MIB);
  mpca_seg *tail = (mpca_seg *)((char *)w + 4 * MIB);
  ck_assert_ptr_eq(head, w);
  ck_assert_uint_eq(tail->freed_ms, now - 500);
  ck_assert_uint_eq(mpca_source_decay(now + 500), 12 * MIB);
  mpca_source_put(head);
  mpca_source_release(0);
  /* a delay of 0: the block is unmapped as it is given back */
  mpca_opt[MPCA_OPT_PURGE_DELAY] = 0;
  mpca_seg *c = mpca_source_get(src, 4 * MIB);
  mpca_source_put(c);
  ck_assert_uint_eq(mpca_source_cached(src), 0);
  ck_assert_ptr_null(mpca_registry_lookup(c));
}
END_TEST

#ifdef MPCA_HARDENED
/* Hardened build: a cached block keeps its guard pages. Reused whole by the
 * same layout: no system call; by anything else: lifted, one call. */
START_TEST(test_guards_kept_while_cached)
{
  size_t page = mpca_os_page_size();
  mpca_seg *seg = mpca_source_get_guarded(src, 4 * MIB, MPCA_GUARDS_HUGE);
  ck_assert_uint_eq(seg->guards, MPCA_GUARDS_NONE); /* fresh */
  ck_assert(mpca_os_guard((char *)seg + page, page, true));
  seg->guards = MPCA_GUARDS_HUGE;
  seg->kind = MPCA_KIND_HUGE;
  mpca_source_put(seg);
  ck_assert_uint_eq(seg->guards, MPCA_GUARDS_HUGE);
  uint64_t calls = atomic_load(&mpca_os_cnt.mprotect_calls);
  mpca_seg *again = mpca_source_get_guarded(src, 4 * MIB - 3 * page, MPCA_GUARDS_HUGE); /* taken whole */
  ck_assert_ptr_eq(again, seg);
  ck_assert_uint_eq(again->guards, MPCA_GUARDS_HUGE);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.mprotect_calls), calls);
  mpca_source_put(again);
  mpca_seg *other = mpca_source_get_guarded(src, 4 * MIB, MPCA_GUARDS_SMALL); /* another layout */
  ck_assert_ptr_eq(other, seg);
  ck_assert_uint_eq(other->guards, MPCA_GUARDS_NONE);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.mprotect_calls), calls + 1);
  memset((char *)other + page, 0x5a, page); /* the guard page is gone */
  mpca_source_put(other);
  mpca_source_release(0);
}
END_TEST

/* A guarded block is neither merged with the cached pieces of its mapping
 * it touches, nor split for a smaller request. */
START_TEST(test_guarded_not_merged_nor_split)
{
  size_t page = mpca_os_page_size();
  mpca_seg *whole = mpca_source_get(src, 8 * MIB);
  mpca_source_put(whole);
  mpca_seg *head = mpca_source_get(src, 4 * MIB); /* the tail stays cached */
  ck_assert_ptr_eq(head, whole);
  ck_assert(mpca_os_guard((char *)head + page, page, true));
  head->guards = MPCA_GUARDS_HUGE;
  mpca_source_put(head);
  ck_assert_uint_eq(head->size, 4 * MIB);
  ck_assert_uint_eq(src->naddr, 2);
  /* taken for a much smaller block with the same layout: not whole, so lifted first */
  mpca_seg *small = mpca_source_get_guarded(src, 2 * MIB, MPCA_GUARDS_HUGE);
  ck_assert_uint_eq(small->guards, MPCA_GUARDS_NONE);
  mpca_source_put(small);
  mpca_source_release(0);
}
END_TEST
#endif

int main(void)
{
  Suite *s = suite_create("source");
  TCase *tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_fresh_block);
  tcase_add_test(tc, test_reuse_without_mapping);
  tcase_add_test(tc, test_best_fit_split);
  tcase_add_test(tc, test_merge_split_pieces);
  tcase_add_test(tc, test_no_merge_across_mappings);
  tcase_add_test(tc, test_index_full);
  tcase_add_test(tc, test_fit_among_many);
  tcase_add_test(tc, test_grow_keeps_pages);
  tcase_add_test(tc, test_cache_grows_smaller_block);
  tcase_add_test(tc, test_keep_max);
  tcase_add_test(tc, test_retention_budget_oldest_first);
  tcase_add_test(tc, test_purge_delay);
  tcase_add_test(tc, test_cache_follows_demand);
#ifdef MPCA_HARDENED
  tcase_add_test(tc, test_guards_kept_while_cached);
  tcase_add_test(tc, test_guarded_not_merged_nor_split);
#endif
  suite_add_tcase(s, tc);
  return unit_run(s);
}
