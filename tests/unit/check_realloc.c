/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of realloc across kinds (lib/alloc.c), on the calling thread's
 * heap: content kept in every direction, medium blocks grown in place when
 * their neighbour is free, and a buffer grown from 1 KiB to 1 GiB in 1 MiB
 * steps copies no more than a page in all (huge blocks move with mremap). */
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_heap.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static void setup(void) { mpca_global_init(); }

static void fill(unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(i * 31u + seed);
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(i * 31u + seed))
      ck_abort_msg("byte %zu of %zu lost", i, n);
}

START_TEST(test_all_directions)
{
  static const size_t sizes[] = {24, 1000, 3000, 20 * KIB, 40 * KIB, 200 * KIB, 900 * KIB, 3 * MIB, 40 * MIB};
  enum { N = sizeof sizes / sizeof *sizes };
  for (unsigned a = 0; a < N; a++)
    for (unsigned b = 0; b < N; b++) {
      unsigned char *p = mpca_alloc(sizes[a], false);
      ck_assert_ptr_nonnull(p);
      fill(p, sizes[a], a * 7 + b);
      p = mpca_realloc(p, sizes[b]);
      ck_assert_ptr_nonnull(p);
      check(p, sizes[a] < sizes[b] ? sizes[a] : sizes[b], a * 7 + b);
      ck_assert_uint_ge(mpca_usable_size(mpca_registry_lookup(p), p, "test"), sizes[b]);
      mpca_free(p);
    }
}
END_TEST

START_TEST(test_medium_grows_in_place)
{
  mpca_heap *h = mpca_heap_get();
  if (MPCA_HARDENED_ON) /* no medium blocks there: sizes above the small ones are huge */
    return;
  /* medium blocks start above the small classes */
  const size_t m = MPCA_SMALL_MAX + 5000;
  unsigned char *p = mpca_alloc(m, false);
  unsigned char *q = mpca_alloc(m, false);
  unsigned char *guard = mpca_alloc(m, false);
  fill(p, m, 3);
  mpca_free(q);
  uint64_t moves = h->cnt.realloc_moves;
  unsigned char *r = mpca_realloc(p, 2 * m - 1000);
  ck_assert_ptr_eq(r, p);
  ck_assert_uint_eq(h->cnt.realloc_moves, moves);
  check(r, m, 3);
  mpca_free(r);
  mpca_free(guard);
}
END_TEST

START_TEST(test_growth_to_1g_copies_no_more_than_a_page)
{
  mpca_heap *h = mpca_heap_get();
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uint64_t copied = h->cnt.realloc_copied;
  unsigned char *p = mpca_alloc(KIB, false);
  ck_assert_ptr_nonnull(p);
  fill(p, KIB, 9);
  size_t size = KIB;
  unsigned steps = 0;
  while (size < 1024 * MIB) {
    size_t next = size + MIB;
    p = mpca_realloc(p, next);
    ck_assert_ptr_nonnull(p);
    p[size] = (unsigned char)steps; /* touch one page of each new MiB only */
    size = next;
    steps++;
  }
  check(p, KIB, 9);
  ck_assert_uint_eq(p[KIB + MIB], 1);
  ck_assert_uint_le(h->cnt.realloc_copied - copied, page);
  mpca_free(p);
}
END_TEST

START_TEST(test_size_zero_frees)
{
  void *p = mpca_alloc(100, false);
  ck_assert_ptr_null(mpca_realloc(p, 0));
  p = mpca_realloc(NULL, 100);
  ck_assert_ptr_nonnull(p);
  mpca_free(p);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("realloc");
  TCase *tc = tcase_create("realloc");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_all_directions);
  tcase_add_test(tc, test_medium_grows_in_place);
  tcase_add_test(tc, test_growth_to_1g_copies_no_more_than_a_page);
  tcase_add_test(tc, test_size_zero_frees);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
