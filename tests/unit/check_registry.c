/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the region registry alone (no source, no heap): ranges map
 * every covered unit to their header, unknown and out-of-range addresses map
 * to nothing, and lookups stay correct while other threads register and
 * unregister neighbouring ranges. */
#include <pthread.h>
#include <stdatomic.h>
#include "unit.h"
#include "mpca_registry.h"

#define U MPCA_SEG_SIZE
/* Fake addresses: the registry only stores and compares them. */
#define BASE ((uintptr_t)0x200000000000ull)

static mpca_seg fake[8];

START_TEST(test_set_lookup_clear)
{
  void *b = (void *)BASE;
  ck_assert(mpca_registry_set(b, 3 * U + 4096, &fake[0]));
  /* every unit the range touches (the last one in part) */
  for (uintptr_t off = 0; off < 3 * U + MPCA_REG_UNIT; off += 4096)
    ck_assert_ptr_eq(mpca_registry_lookup((char *)b + off), &fake[0]);
  ck_assert_ptr_null(mpca_registry_lookup((char *)b + 3 * U + MPCA_REG_UNIT));
  ck_assert_ptr_null(mpca_registry_lookup((char *)b - 1));
  mpca_registry_clear(b, 3 * U + 4096);
  for (uintptr_t off = 0; off < 4 * U; off += U)
    ck_assert_ptr_null(mpca_registry_lookup((char *)b + off));
}
END_TEST

START_TEST(test_unknown_and_out_of_range)
{
  ck_assert_ptr_null(mpca_registry_lookup(NULL));
  ck_assert_ptr_null(mpca_registry_lookup((void *)(BASE + 1000 * U)));
  ck_assert_ptr_null(mpca_registry_lookup((void *)~(uintptr_t)0));
  ck_assert(!mpca_registry_set((void *)((uintptr_t)1 << MPCA_ADDR_BITS), U, &fake[1]));
}
END_TEST

START_TEST(test_span_second_level_tables)
{
  /* a range that crosses from one second-level table into the next */
  uintptr_t edge = BASE + ((uintptr_t)MPCA_REG_L2_SIZE << MPCA_REG_UNIT_SHIFT);
  edge &= ~(((uintptr_t)MPCA_REG_L2_SIZE << MPCA_REG_UNIT_SHIFT) - 1);
  void *b = (void *)(edge - 2 * U);
  ck_assert(mpca_registry_set(b, 4 * U, &fake[2]));
  ck_assert_ptr_eq(mpca_registry_lookup((void *)(edge - 1)), &fake[2]);
  ck_assert_ptr_eq(mpca_registry_lookup((void *)(edge + U)), &fake[2]);
  mpca_registry_clear(b, 4 * U);
  ck_assert_ptr_null(mpca_registry_lookup((void *)edge));
}
END_TEST

START_TEST(test_small_run_entries)
{
  /* the units of a small run name its owner and class; given back, the
   * macro block's header (at the MPCA_SEG_SIZE boundary below) */
  static mpca_heap h; /* MPCA_HEAP_ALIGN-aligned by its type */
  char *seg = (char *)BASE + 8 * U;
  ck_assert(mpca_registry_set(seg, U, &fake[3]));
  char *run = seg + 5 * MPCA_RUN_SIZE;
  mpca_registry_set_run(run, 4 * MPCA_RUN_SIZE, &h, 37);
  for (uintptr_t off = 0; off < 4 * MPCA_RUN_SIZE; off += 4096) {
    uintptr_t e = mpca_registry_entry(run + off);
    ck_assert(mpca_registry_mine(e, &h));
    ck_assert_uint_eq(mpca_registry_class(e), 37);
    ck_assert_uint_eq(mpca_registry_class_off(e), 37 * 32);
    ck_assert_ptr_eq(mpca_registry_lookup(run + off), seg); /* the header, by masking */
  }
  ck_assert_ptr_eq(mpca_registry_lookup(run - 1), &fake[3]);
  ck_assert(!mpca_registry_mine(mpca_registry_entry(run - 1), &h));
  ck_assert_ptr_eq(mpca_registry_lookup(run + 4 * MPCA_RUN_SIZE), &fake[3]);
  mpca_registry_set_run(run, 4 * MPCA_RUN_SIZE, NULL, 0);
  ck_assert_uint_eq(mpca_registry_entry(run), (uintptr_t)seg);
  mpca_registry_clear(seg, U);
}
END_TEST

static atomic_bool stop;

static void *churn(void *arg)
{
  uintptr_t base = (uintptr_t)arg;
  for (int i = 0; i < 20000; i++) {
    mpca_registry_set((void *)base, 2 * U, &fake[4]);
    mpca_registry_clear((void *)base, 2 * U);
  }
  return NULL;
}

static void *reader(void *arg)
{
  (void)arg;
  long bad = 0;
  while (!atomic_load(&stop))
    for (int k = 0; k < 8; k++)
      if (mpca_registry_lookup((void *)(BASE + (uintptr_t)(50 + k) * U + 123)) != &fake[3])
        bad++;
  return (void *)bad;
}

START_TEST(test_concurrent)
{
  ck_assert(mpca_registry_set((void *)(BASE + 50 * U), 8 * U, &fake[3]));
  pthread_t w[3], r[2];
  atomic_store(&stop, false);
  for (int i = 0; i < 2; i++)
    pthread_create(&r[i], NULL, reader, NULL);
  for (int i = 0; i < 3; i++)
    pthread_create(&w[i], NULL, churn, (void *)(BASE + (uintptr_t)(40 + 20 * i) * U));
  for (int i = 0; i < 3; i++)
    pthread_join(w[i], NULL);
  atomic_store(&stop, true);
  for (int i = 0; i < 2; i++) {
    void *bad;
    pthread_join(r[i], &bad);
    ck_assert_ptr_null(bad);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, test_set_lookup_clear);
  tcase_add_test(tc, test_unknown_and_out_of_range);
  tcase_add_test(tc, test_small_run_entries);
  tcase_add_test(tc, test_span_second_level_tables);
  tcase_add_test(tc, test_concurrent);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
