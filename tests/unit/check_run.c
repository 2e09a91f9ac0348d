/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of a small run alone, without a heap: the one-multiplication
 * slot check accepts exactly the slot starts of every class (and nothing in
 * a run not in use), carving hands out every slot once, in order, marked
 * free, and counts them as used. The mid sizes' runs are spans
 * (MPCA_SPAN_SIZE); the same checks hold for them. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "mpca_small.h"

static int cmp_ptr(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y;
}

static char arena[MPCA_SPAN_SIZE] __attribute__((aligned(MPCA_SPAN_SIZE)));
static mpca_run run;

static void setup(void) { mpca_small_init(); }

START_TEST(test_slot_check_exact)
{
  unsigned cls = (unsigned)_i;
  mpca_run_init(&run, cls, arena);
  size_t size = mpca_classes[cls].size, n = mpca_classes[cls].nslots;
  size_t run_size = (size_t)mpca_classes[cls].run_mask + 1;
  ck_assert_uint_eq(run_size, size > MPCA_SPAN_MIN ? MPCA_SPAN_SIZE : MPCA_RUN_SIZE);
  ck_assert_uint_eq(n, run_size / size);
  for (uintptr_t off = 0; off < run_size; off++) {
    bool want = off % size == 0 && off / size < n;
    if (mpca_run_is_slot(&run, off) != want)
      ck_abort_msg("class %u size %zu offset %zu: slot check says %d", cls, size, (size_t)off, !want);
  }
  /* the class table, which other threads use, gives the same answer */
  const mpca_size_class *c = &mpca_classes[cls];
  for (uintptr_t off = 0; off < run_size; off++)
    if ((off * c->magic < c->below) != mpca_run_is_slot(&run, off))
      ck_abort_msg("class %u offset %zu: table and run disagree", cls, (size_t)off);
  run.below = 0; /* a run not in use: nothing passes */
  for (uintptr_t off = 0; off < run_size; off += MPCA_ALIGNMENT)
    ck_assert(!mpca_run_is_slot(&run, off));
}
END_TEST

START_TEST(test_carve_every_slot_once)
{
  unsigned cls = (unsigned)_i;
  mpca_run_init(&run, cls, arena);
  size_t size = mpca_classes[cls].size;
  unsigned n = run.nslots, total = 0, batches = 0, shuffled = 0;
  char *expect = arena;
  static void *seen[MPCA_SPAN_SIZE / MPCA_ALIGNMENT];
  while (run.carved < n) {
    unsigned got = 0;
    void **b = mpca_run_carve(&run, &got);
    ck_assert_uint_ge(got, 1);
    ck_assert_uint_le(got, mpca_classes[cls].carve);
    unsigned k = 0;
    for (; b; b = mpca_link_next(b), k++) {
      ck_assert_uint_lt(k, got);
      seen[k] = b;
      ck_assert(mpca_small_marked_free(b));
      ck_assert(mpca_run_is_slot(&run, (uintptr_t)((char *)b - arena)));
      if (k > 0 && (char *)b != (char *)seen[k - 1] + size)
        shuffled++;
    }
    ck_assert_uint_eq(k, got);
    /* the slots that follow the carved ones, each once (in address order
     * in the default build; in a random order in the hardened build) */
    qsort(seen, k, sizeof *seen, cmp_ptr);
    for (unsigned i = 0; i < k; i++, expect += size)
      ck_assert_ptr_eq((char *)seen[i], expect);
    total += got;
    batches++;
    ck_assert_int_eq(run.used, (int)total);
    ck_assert_uint_eq(run.carved, total);
  }
  ck_assert_uint_eq(total, n);
  ck_assert(expect + size > arena + mpca_classes[cls].run_mask + 1); /* no room for one more */
  ck_assert_uint_ge(batches, 1);
  if (!MPCA_HARDENED_ON)
    ck_assert_uint_eq(shuffled, 0);
  else if (mpca_classes[cls].carve >= 16)
    ck_assert_uint_gt(shuffled, 0);
}
END_TEST

START_TEST(test_carve_batches_bounded_by_bytes)
{
  /* small classes link a few pages' worth per refill, big ones a few blocks */
  ck_assert_uint_le((size_t)mpca_classes[0].carve * mpca_classes[0].size, 16 << 10);
  ck_assert_uint_ge(mpca_classes[0].carve, 64);
  ck_assert_uint_ge(mpca_classes[MPCA_SMALL_NCLASSES - 1].carve, 4);
  ck_assert_uint_le(mpca_classes[MPCA_SMALL_NCLASSES - 1].carve, mpca_classes[MPCA_SMALL_NCLASSES - 1].nslots);
}
END_TEST

START_TEST(test_no_class_entry_passes_nothing)
{
  const mpca_size_class *c = &mpca_classes[MPCA_RUN_NO_CLASS];
  for (uintptr_t off = 0; off < MPCA_SPAN_SIZE; off += MPCA_ALIGNMENT)
    ck_assert(!(off * c->magic < c->below));
  ck_assert_ptr_null(mpca_run_none.local_free);
  ck_assert_uint_eq(mpca_run_none.carved, mpca_run_none.nslots);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("run");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_slot_check_exact, 0, MPCA_SMALL_NCLASSES);
  tcase_add_loop_test(tc, test_carve_every_slot_once, 0, MPCA_SMALL_NCLASSES);
  tcase_add_test(tc, test_carve_batches_bounded_by_bytes);
  tcase_add_test(tc, test_no_class_entry_passes_nothing);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
