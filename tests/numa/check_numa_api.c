/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The NUMA entry points through the real library on this machine (one node):
 * mpc_alloc_numa_node is -1, mpc_alloc_on_node(0, n) gives memory that
 * plain free and realloc take, a node that is not online gives NULL +
 * EINVAL, and mpc_alloc_numa_rebind returns -1 and keeps every thread's
 * allocations (and frees of blocks made before it) working. On a machine
 * with several nodes the one-node expectations are skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mpcalloc.h"
#include "../unit/unit.h"

static int one_node(void)
{
  return access("/sys/devices/system/node/node1", F_OK) != 0;
}

START_TEST(test_node_of_caller)
{
  int n = mpc_alloc_numa_node();
  if (one_node())
    ck_assert_int_eq(n, -1);
  else
    ck_assert(n >= -1);
}
END_TEST

START_TEST(test_alloc_on_node)
{
  static const size_t sizes[] = {1, 100, 4096, 100000, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *p = mpc_alloc_on_node(0, sizes[i]);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    memset(p, 0x5a, sizes[i]);
    ck_assert_uint_ge(malloc_usable_size(p), sizes[i]);
    if (i == 2) {
      p = realloc(p, 8 << 20); /* grows as a huge block */
      ck_assert_ptr_nonnull(p);
      ck_assert_int_eq(p[4095], 0x5a);
    }
    free(p);
  }
  static const int bad[] = {5, -1, 64, 1 << 20};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (bad[i] == 5 && !one_node())
      continue;
    errno = 0;
    ck_assert_ptr_null(mpc_alloc_on_node(bad[i], 100));
    ck_assert_int_eq(errno, EINVAL);
  }
}
END_TEST

static void *churn(void *arg)
{
  (void)arg;
  void *old[64];
  for (int i = 0; i < 64; i++)
    old[i] = malloc((size_t)(i + 1) * 700);
  int n = mpc_alloc_numa_rebind();
  if (one_node() && n != -1)
    return (void *)1;
  if (n != mpc_alloc_numa_node())
    return (void *)2;
  for (int round = 0; round < 100; round++) {
    void *p = malloc((size_t)round * 333 + 1);
    if (p == NULL)
      return (void *)3;
    memset(p, round, (size_t)round * 333 + 1);
    free(p);
  }
  for (int i = 0; i < 64; i++)
    free(old[i]);
  return NULL;
}

START_TEST(test_rebind)
{
  void *before = malloc(123);
  int n = mpc_alloc_numa_rebind();
  if (one_node())
    ck_assert_int_eq(n, -1);
  ck_assert_int_eq(n, mpc_alloc_numa_node());
  ck_assert_int_eq(mpc_alloc_numa_rebind(), n);
  void *after = malloc(123);
  ck_assert_ptr_nonnull(after);
  free(before);
  free(after);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    ck_assert_int_eq(pthread_join(t[i], &r), 0);
    ck_assert_ptr_null(r);
  }
}
END_TEST

START_TEST(test_rebind_first_call)
{
  /* A thread whose first call into the allocator is the rebind. */
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, churn, NULL), 0);
  void *r;
  ck_assert_int_eq(pthread_join(t, &r), 0);
  ck_assert_ptr_null(r);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("numa_api");
  TCase *tc = tcase_create("numa_api");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_node_of_caller);
  tcase_add_test(tc, test_alloc_on_node);
  tcase_add_test(tc, test_rebind);
  tcase_add_test(tc, test_rebind_first_call);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
