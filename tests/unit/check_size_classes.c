/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the small size-class table: every size maps to the smallest
 * class that holds it, classes are 16-byte multiples up to 32 KiB, every
 * run holds at least two blocks, and the free mark is odd. */
#include "unit.h"
#include "mpca_small.h"

START_TEST(test_classes_sorted_aligned)
{
  mpca_small_init();
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    ck_assert_uint_eq(mpca_classes[c].size % MPCA_ALIGNMENT, 0);
    ck_assert_uint_eq(mpca_classes[c].size, mpca_small_class_size(c));
    if (c)
      ck_assert_uint_gt(mpca_classes[c].size, mpca_classes[c - 1].size);
    ck_assert_uint_ge(mpca_classes[c].nslots, 2);
    /* the mid sizes are cut from spans, the others from runs */
    size_t run = mpca_classes[c].size > MPCA_SPAN_MIN ? MPCA_SPAN_SIZE : MPCA_RUN_SIZE;
    ck_assert_uint_eq(mpca_classes[c].run_mask, run - 1);
    ck_assert_uint_eq(mpca_small_class_flavor(c), run == MPCA_SPAN_SIZE ? MPCA_FLAVOR_SPANS : MPCA_FLAVOR_RUNS);
    ck_assert_uint_eq(mpca_classes[c].nslots, run / mpca_classes[c].size);
    ck_assert_uint_ge(mpca_classes[c].foreign_max, 4);
    ck_assert_uint_le((size_t)mpca_classes[c].foreign_max * mpca_classes[c].size, (size_t)128 << 10);
  }
  ck_assert_uint_eq(mpca_classes[0].size, 16);
  ck_assert_uint_eq(mpca_classes[MPCA_SMALL_NCLASSES - 1].size, MPCA_SMALL_MAX);
  ck_assert_uint_eq(MPCA_SMALL_MAX, 32768);
  ck_assert_uint_eq(mpca_free_mark & 1, 1);
}
END_TEST

START_TEST(test_class_of_every_size)
{
  mpca_small_init();
  for (size_t s = 0; s <= MPCA_SMALL_MAX; s++) {
    unsigned c = mpca_small_class(s);
    ck_assert_uint_lt(c, MPCA_SMALL_NCLASSES);
    ck_assert_uint_ge(mpca_classes[c].size, s);
    if (c)
      ck_assert_uint_lt(mpca_classes[c - 1].size, s);
  }
}
END_TEST

START_TEST(test_powers_of_two_are_classes)
{
  mpca_small_init();
  for (size_t s = 16; s <= MPCA_SMALL_MAX; s *= 2)
    ck_assert_uint_eq(mpca_classes[mpca_small_class(s)].size, s);
}
END_TEST

START_TEST(test_waste_bounded)
{
  /* Above the quantum region a class wastes at most a quarter of a doubling. */
  mpca_small_init();
  for (size_t s = MPCA_SMALL_QUANTUM_MAX + 1; s <= MPCA_SMALL_MAX; s++) {
    size_t got = mpca_classes[mpca_small_class(s)].size;
    ck_assert_uint_le((got - s) * 4, s);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("size_classes");
  TCase *tc = tcase_create("table");
  tcase_add_test(tc, test_classes_sorted_aligned);
  tcase_add_test(tc, test_class_of_every_size);
  tcase_add_test(tc, test_powers_of_two_are_classes);
  tcase_add_test(tc, test_waste_bounded);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
