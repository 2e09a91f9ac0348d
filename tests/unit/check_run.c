/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of a small run and its bitmap, without a heap: every slot is
 * handed out once, frees make slots reusable lowest first, and bad frees
 * (double, interior, past the end, into an unused run) are told apart. */
#include <string.h>
#include "unit.h"
#include "mpca_small.h"

static char arena[MPCA_RUN_SIZE] __attribute__((aligned(4096)));
static mpca_run run;

static void setup(void) { mpca_small_init(); }

static void *take1(mpca_run *r)
{
  void *p = NULL;
  return mpca_run_take(r, 1, &p) == 1 ? p : NULL;
}

START_TEST(test_alloc_all_slots)
{
  unsigned cls = (unsigned)_i;
  mpca_run_init(&run, cls, arena);
  run.state = MPCA_RUN_CURRENT;
  size_t size = mpca_classes[cls].size;
  unsigned n = run.nslots;
  ck_assert_uint_eq(run.nfree, n);
  static unsigned char seen[MPCA_RUN_MAX_SLOTS];
  memset(seen, 0, sizeof seen);
  for (unsigned i = 0; i < n; i++) {
    char *p = take1(&run);
    ck_assert(p >= arena);
    ck_assert(p + size <= arena + sizeof arena);
    ck_assert_uint_eq(((uintptr_t)p) % MPCA_ALIGNMENT, 0);
    size_t slot = (size_t)(p - arena) / size;
    ck_assert_uint_eq((size_t)(p - arena) % size, 0);
    ck_assert(!seen[slot]);
    seen[slot] = 1;
  }
  ck_assert_uint_eq(run.nfree, 0);
  /* free everything in a scattered order, then all slots come back */
  for (unsigned i = 0; i < n; i++) {
    unsigned slot = (i * 7919u) % n;
    while (!seen[slot])
      slot = (slot + 1) % n;
    seen[slot] = 0;
    ck_assert_int_eq(mpca_run_free(&run, arena + (size_t)slot * size), MPCA_RUN_FREED);
  }
  ck_assert_uint_eq(run.nfree, n);
}
END_TEST

START_TEST(test_lowest_slot_first)
{
  mpca_run_init(&run, 3, arena);
  run.state = MPCA_RUN_CURRENT;
  char *p[100];
  for (int i = 0; i < 100; i++)
    p[i] = take1(&run);
  ck_assert_int_eq(mpca_run_free(&run, p[70]), MPCA_RUN_FREED);
  ck_assert_int_eq(mpca_run_free(&run, p[5]), MPCA_RUN_FREED);
  ck_assert_ptr_eq(take1(&run), p[5]);
  ck_assert_ptr_eq(take1(&run), p[70]);
  ck_assert_ptr_eq(take1(&run), p[99] + run.size);
}
END_TEST

START_TEST(test_double_free_detected)
{
  mpca_run_init(&run, 0, arena);
  run.state = MPCA_RUN_CURRENT;
  void *a = take1(&run);
  take1(&run);
  ck_assert_int_eq(mpca_run_free(&run, a), MPCA_RUN_FREED);
  unsigned nfree = run.nfree;
  ck_assert_int_eq(mpca_run_free(&run, a), MPCA_RUN_DOUBLE_FREE);
  ck_assert_uint_eq(run.nfree, nfree);
}
END_TEST

START_TEST(test_bad_pointers_detected)
{
  mpca_run_init(&run, 5, arena); /* 96-byte class: not a power of two */
  run.state = MPCA_RUN_CURRENT;
  char *a = take1(&run);
  ck_assert_int_eq(mpca_run_free(&run, a + 16), MPCA_RUN_BAD_POINTER);
  ck_assert_int_eq(mpca_run_free(&run, a + 1), MPCA_RUN_BAD_POINTER);
  ck_assert_int_eq(mpca_run_free(&run, arena + (size_t)run.nslots * run.size), MPCA_RUN_BAD_POINTER);
  run.state = MPCA_RUN_FREE;
  ck_assert_int_eq(mpca_run_free(&run, a), MPCA_RUN_BAD_POINTER);
  run.state = MPCA_RUN_CURRENT;
  ck_assert_int_eq(mpca_run_free(&run, a), MPCA_RUN_FREED);
}
END_TEST

START_TEST(test_take_batch_in_order)
{
  mpca_run_init(&run, 0, arena); /* 16-byte class: 2048 slots, 32 words */
  run.state = MPCA_RUN_CURRENT;
  void *first = NULL;
  ck_assert_uint_eq(mpca_run_take(&run, 100, &first), 100);
  char *prev = NULL;
  unsigned n = 0;
  for (void **b = first; b; b = *b, n++) {
    ck_assert((char *)b > prev);
    prev = (char *)b;
  }
  ck_assert_uint_eq(n, 100);
  ck_assert_uint_eq(run.nfree, run.nslots - 100);
  ck_assert_ptr_eq(first, arena);
  ck_assert_ptr_eq(take1(&run), arena + 100 * 16);
  ck_assert_int_eq(mpca_run_free(&run, arena + 16), MPCA_RUN_FREED);
  ck_assert_ptr_eq(take1(&run), arena + 16);
  /* taking more than there is stops at the end */
  unsigned left = run.nfree;
  ck_assert_uint_eq(mpca_run_take(&run, 5000, &first), left);
  ck_assert_uint_eq(run.nfree, 0);
}
END_TEST

START_TEST(test_empty_run_has_no_slot)
{
  ck_assert_uint_eq(mpca_run_empty.nfree, 0);
  ck_assert_int_eq(mpca_run_empty.state, MPCA_RUN_CURRENT);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("bitmap");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_loop_test(tc, test_alloc_all_slots, 0, MPCA_SMALL_NCLASSES);
  tcase_add_test(tc, test_lowest_slot_first);
  tcase_add_test(tc, test_double_free_detected);
  tcase_add_test(tc, test_bad_pointers_detected);
  tcase_add_test(tc, test_take_batch_in_order);
  tcase_add_test(tc, test_empty_run_has_no_slot);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
