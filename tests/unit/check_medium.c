/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of medium chunks: the bin arithmetic, split on allocation,
 * merging of both neighbours on free, aligned chunks, in-place resize, and
 * the return of a wholly free macro block. Runs on a heap of its own. */
#include <string.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_medium.h"
#include "mpca_registry.h"

static mpca_heap *h;

static void setup(void)
{
  mpca_global_init();
  h = mpca_heap_acquire();
  ck_assert_ptr_nonnull(h);
}

static void mfree(void *p) { mpca_heap_free_local(h, mpca_registry_lookup(p), p, "free"); }

static unsigned free_chunks(void)
{
  unsigned n = 0;
  for (unsigned b = 0; b < MPCA_MEDIUM_NBINS; b++)
    for (mpca_list *l = h->bins[b].next; l != &h->bins[b]; l = l->next)
      n++;
  return n;
}

static void check_bin_of(size_t s)
{
  unsigned f = mpca_medium_bin_floor(s), c = mpca_medium_bin_ceil(s);
  ck_assert_uint_lt(f, MPCA_MEDIUM_NBINS);
  ck_assert_uint_le(mpca_medium_bin_min(f), s);
  ck_assert(c == f || c == f + 1);
  if (c < MPCA_MEDIUM_NBINS)
    ck_assert_uint_ge(mpca_medium_bin_min(c), s);
  if (f + 1 < MPCA_MEDIUM_NBINS)
    ck_assert_uint_gt(mpca_medium_bin_min(f + 1), s);
}

START_TEST(test_bins)
{
  /* every size up to 64 KiB, then both sides of every bin boundary */
  for (size_t s = MPCA_MEDIUM_MIN_CHUNK; s < 65536; s += 16)
    check_bin_of(s);
  for (unsigned b = 1; b < MPCA_MEDIUM_NBINS; b++) {
    size_t m = mpca_medium_bin_min(b);
    ck_assert_uint_gt(m, mpca_medium_bin_min(b - 1));
    if (m < MPCA_MEDIUM_AREA) {
      check_bin_of(m - 16);
      check_bin_of(m);
      check_bin_of(m + 16);
    }
  }
  ck_assert_uint_eq(mpca_medium_bin_min(0), MPCA_MEDIUM_MIN_CHUNK);
}
END_TEST

START_TEST(test_split_and_merge_both_sides)
{
  char *a = mpca_medium_malloc(h, 5000);
  char *b = mpca_medium_malloc(h, 7000);
  char *c = mpca_medium_malloc(h, 9000);
  char *d = mpca_medium_malloc(h, 3000);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_ge(mpca_medium_usable(a), 5000);
  /* consecutive chunks carved from one free chunk */
  ck_assert_ptr_eq(b, a + mpca_medium_usable(a) + MPCA_CHUNK_HDR);
  ck_assert_ptr_eq(c, b + mpca_medium_usable(b) + MPCA_CHUNK_HDR);
  memset(a, 1, 5000);
  memset(b, 2, 7000);
  memset(c, 3, 9000);
  unsigned base = free_chunks();
  mfree(a);
  ck_assert_uint_eq(free_chunks(), base + 1);
  mfree(c);
  ck_assert_uint_eq(free_chunks(), base + 2);
  mfree(b); /* merges a, b and c into one chunk */
  ck_assert_uint_eq(free_chunks(), base + 1);
  char *e = mpca_medium_malloc(h, 5000 + 7000 + 9000);
  ck_assert_ptr_eq(e, a);
  mfree(e);
  mfree(d);
}
END_TEST

START_TEST(test_whole_block_returns)
{
  size_t acquired = h->cnt.segs_acquired, released = h->cnt.segs_released;
  /* fill two macro blocks, then free everything */
  enum { N = 12 };
  void *p[N];
  for (int i = 0; i < N; i++)
    ck_assert_ptr_nonnull(p[i] = mpca_medium_malloc(h, 700 * 1024));
  ck_assert_uint_ge(h->cnt.segs_acquired, acquired + 2);
  for (int i = 0; i < N; i++)
    mfree(p[i]);
  ck_assert_uint_le(h->medium_empty_segs, 1);
  ck_assert_uint_ge(h->cnt.segs_released, released + 1);
  ck_assert_uint_eq(mpca_heap_trim(h) > 0, 1);
  ck_assert_uint_eq(h->medium_empty_segs, 0);
}
END_TEST

START_TEST(test_memalign)
{
  for (size_t align = 32; align <= 64 * 1024; align *= 2) {
    void *q[4];
    for (int i = 0; i < 4; i++) {
      q[i] = mpca_medium_memalign(h, align, 3000 + (size_t)i * 1000);
      ck_assert_ptr_nonnull(q[i]);
      ck_assert_uint_eq((uintptr_t)q[i] % align, 0);
      ck_assert_uint_ge(mpca_medium_usable(q[i]), 3000 + (size_t)i * 1000);
      memset(q[i], 0x5a, 3000 + (size_t)i * 1000);
    }
    for (int i = 0; i < 4; i++)
      mfree(q[i]);
  }
}
END_TEST

START_TEST(test_resize_in_place)
{
  char *a = mpca_medium_malloc(h, 4000);
  char *b = mpca_medium_malloc(h, 4000);
  memset(a, 7, 4000);
  mfree(b);
  ck_assert(mpca_medium_resize(h, mpca_registry_lookup(a), a, 7000)); /* absorbs b */
  ck_assert_uint_ge(mpca_medium_usable(a), 7000);
  for (int i = 0; i < 4000; i++)
    ck_assert_int_eq(a[i], 7);
  ck_assert(mpca_medium_resize(h, mpca_registry_lookup(a), a, 2000)); /* shrinks */
  ck_assert_uint_lt(mpca_medium_usable(a), 4000);
  char *c = mpca_medium_malloc(h, 1500); /* reuses the trimmed tail */
  ck_assert_ptr_eq(c, a + mpca_medium_usable(a) + MPCA_CHUNK_HDR);
  ck_assert(!mpca_medium_resize(h, mpca_registry_lookup(a), a, 9000)); /* c is in the way */
  mfree(c);
  mfree(a);
}
END_TEST

START_TEST(test_valid)
{
  char *a = mpca_medium_malloc(h, 2000);
  mpca_seg *seg = mpca_registry_lookup(a);
  ck_assert(mpca_medium_valid(seg, a));
  ck_assert(!mpca_medium_valid(seg, a + 16));
  ck_assert(!mpca_medium_valid(seg, a + 1));
  mfree(a);
  ck_assert(!mpca_medium_valid(seg, a));
}
END_TEST

/* Memory that held free small blocks (each marked free in its second word)
 * serves medium blocks later: a medium block must never look free. The
 * fuzzer found this: malloc_usable_size of a fresh medium block reported a
 * use after free. */
START_TEST(test_no_stale_free_mark)
{
  /* Memory that held free small blocks holds the free mark at many places
   * (a slot starts at every 16 bytes): here an 8 MiB block filled with the
   * mark stands for it. Freed, cached, then cut into a medium macro block:
   * no medium block may come out looking free (malloc_usable_size would
   * call it a use after free). */
  mpca_heap *b = mpca_heap_acquire();
  size_t big = (size_t)8 << 20;
  uintptr_t *fill = mpca_alloc(big, false);
  for (size_t i = 0; i < big / sizeof *fill; i++)
    fill[i] = mpca_free_mark;
  mpca_free(fill);
  for (int i = 0; i < 64; i++) {
    /* an aligned block starts inside what was a free chunk's body, where
     * nothing was written when the chunk was cut (the fuzzer's find) */
    char *p = i % 2 ? mpca_medium_memalign(b, (size_t)4096 << (i % 5), 40000 + (size_t)i * 1000)
                    : mpca_medium_malloc(b, 40000 + (size_t)i * 1000);
    ck_assert_ptr_nonnull(p);
    ck_assert(!mpca_small_marked_free(p));
    ck_assert_uint_ge(mpca_usable_size(mpca_registry_lookup(p), p, "test"), 40000);
  }
}
END_TEST

START_TEST(test_double_free_aborts)
{
  char *a = mpca_medium_malloc(h, 2000);
  char *b = mpca_medium_malloc(h, 2000);
  (void)b;
  mfree(a);
  mfree(a);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("medium");
  TCase *tc = tcase_create("chunks");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_bins);
  tcase_add_test(tc, test_split_and_merge_both_sides);
  tcase_add_test(tc, test_whole_block_returns);
  tcase_add_test(tc, test_memalign);
  tcase_add_test(tc, test_resize_in_place);
  tcase_add_test(tc, test_valid);
  tcase_add_test(tc, test_no_stale_free_mark);
  tcase_add_test_raise_signal(tc, test_double_free_aborts, SIGABRT);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
