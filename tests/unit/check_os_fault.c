/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the OS layer's failure injection (mpca_os_fault_arm), which
 * the failure-path tests rely on: disarmed, nothing is counted and nothing
 * fails; armed, calls are numbered from 1 and exactly the chosen ones fail
 * the way the kernel's would (NULL and ENOMEM from a mapping, false from a
 * remap with errno untouched, 0 bytes purged), without being made; and the
 * bytes mapped and reserved are counted right on both outcomes. */
#include <errno.h>
#include <string.h>
#include "unit.h"
#include "mpca_os.h"

#define MIB ((size_t)1 << 20)

static uint64_t mapped(void) { return atomic_load(&mpca_os_cnt.mapped); }

START_TEST(test_disarmed_counts_nothing)
{
  mpca_os_fault_disarm();
  uint64_t calls = atomic_load(&mpca_os_fault_state.calls);
  void *p = mpca_os_map_aligned(MIB, MIB);
  ck_assert_ptr_nonnull(p);
  mpca_os_unmap(p, MIB);
  ck_assert_uint_eq(atomic_load(&mpca_os_fault_state.calls), calls);
}
END_TEST

START_TEST(test_one_call_fails)
{
  uint64_t before = mapped();
  uint64_t maps = atomic_load(&mpca_os_cnt.mmap_calls);
  mpca_os_fault_arm(2, 1, 0);
  void *a = mpca_os_map_aligned(4096, 4096); /* call 1 */
  errno = 0;
  void *b = mpca_os_map_aligned(4096, 4096); /* call 2: fails */
  int err = errno;
  void *c = mpca_os_map_aligned(4096, 4096); /* call 3 */
  mpca_os_fault_disarm();
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(err, ENOMEM);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(atomic_load(&mpca_os_fault_state.calls), 3);
  ck_assert_uint_eq(atomic_load(&mpca_os_fault_state.failed), 1);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.mmap_calls), maps + 2); /* the failed one was not made */
  ck_assert_uint_eq(mapped(), before + 2 * 4096);
  mpca_os_unmap(a, 4096);
  mpca_os_unmap(c, 4096);
  ck_assert_uint_eq(mapped(), before);
}
END_TEST

START_TEST(test_from_and_every)
{
  bool fails[12];
  mpca_os_fault_arm(10, UINT64_MAX, 4); /* 4, 8, then 10 and on */
  for (int i = 0; i < 12; i++) {
    void *p = mpca_os_meta_map(4096);
    fails[i] = p == NULL;
    if (p)
      mpca_os_meta_unmap(p, 4096);
  }
  mpca_os_fault_disarm();
  for (int i = 0; i < 12; i++)
    ck_assert_msg(fails[i] == ((i + 1) % 4 == 0 || i + 1 >= 10), "call %d", i + 1);
  ck_assert_uint_eq(atomic_load(&mpca_os_fault_state.failed), 5);
}
END_TEST

START_TEST(test_remap_and_purge_fail)
{
  char *p = mpca_os_map_aligned(2 * MIB, 2 * MIB);
  ck_assert_ptr_nonnull(p);
  memset(p, 0x5a, 2 * MIB);
  uint64_t before = mapped();
  mpca_os_fault_arm(1, UINT64_MAX, 0);
  errno = 1234;
  ck_assert(!mpca_os_remap_inplace(p, 2 * MIB, MIB));
  ck_assert_int_eq(errno, 1234);
  ck_assert_uint_eq(mpca_os_purge(p, 2 * MIB), 0);
  ck_assert_ptr_null(mpca_os_reserve_aligned(4 * MIB, 2 * MIB));
  mpca_os_fault_disarm();
  ck_assert_uint_eq(mapped(), before);
  ck_assert_uint_eq((unsigned char)p[2 * MIB - 1], 0x5a); /* nothing was purged */
  ck_assert(mpca_os_remap_inplace(p, 2 * MIB, MIB));
  ck_assert_uint_eq(mapped(), before - MIB);
  mpca_os_unmap(p, MIB);
}
END_TEST

/* A reserved window is counted until a block moves onto it or it is unmapped. */
START_TEST(test_reserved_bytes)
{
  uint64_t reserved = atomic_load(&mpca_os_cnt.reserved);
  char *w = mpca_os_reserve_aligned(4 * MIB, 2 * MIB);
  ck_assert_ptr_nonnull(w);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.reserved), reserved + 4 * MIB);
  mpca_os_unmap_reserved(w, 4 * MIB);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.reserved), reserved);

  char *p = mpca_os_map_aligned(2 * MIB, 2 * MIB);
  ck_assert_ptr_nonnull(p);
  p[0] = 7;
  w = mpca_os_reserve_aligned(4 * MIB, 2 * MIB);
  ck_assert_ptr_nonnull(w);
  uint64_t before = mapped();
  ck_assert(mpca_os_remap_fixed(p, 2 * MIB, 4 * MIB, w));
  ck_assert_int_eq(w[0], 7);
  ck_assert_uint_eq(atomic_load(&mpca_os_cnt.reserved), reserved);
  ck_assert_uint_eq(mapped(), before + 2 * MIB);
  mpca_os_unmap(w, 4 * MIB);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("os_fault");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_disarmed_counts_nothing);
  tcase_add_test(tc, test_one_call_fails);
  tcase_add_test(tc, test_from_and_every);
  tcase_add_test(tc, test_remap_and_purge_fail);
  tcase_add_test(tc, test_reserved_bytes);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
