/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the MPSC remote-free queue alone: producers on several
 * threads push while the consumer keeps taking everything; every node
 * arrives exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include "unit.h"
#include "mpca_remote.h"

#define PRODUCERS 4
#define PER_PRODUCER 200000

static mpca_remote_queue q;
static mpca_rnode nodes[PRODUCERS][PER_PRODUCER];
static atomic_int done;

static void *produce(void *arg)
{
  mpca_rnode *mine = arg;
  for (int i = 0; i < PER_PRODUCER; i++)
    mpca_remote_push(&q, &mine[i]);
  atomic_fetch_add(&done, 1);
  return NULL;
}

START_TEST(test_empty)
{
  mpca_remote_init(&q);
  ck_assert(!mpca_remote_pending(&q));
  ck_assert_ptr_null(mpca_remote_take_all(&q));
}
END_TEST

START_TEST(test_lifo_single_thread)
{
  static mpca_rnode n[3];
  mpca_remote_init(&q);
  for (int i = 0; i < 3; i++)
    mpca_remote_push(&q, &n[i]);
  ck_assert(mpca_remote_pending(&q));
  mpca_rnode *l = mpca_remote_take_all(&q);
  ck_assert_ptr_eq(l, &n[2]);
  ck_assert_ptr_eq(mpca_link_next(l), &n[1]);
  ck_assert_ptr_eq(mpca_link_next(mpca_link_next(l)), &n[0]);
  ck_assert_ptr_null(mpca_link_next(mpca_link_next(mpca_link_next(l))));
  ck_assert(!mpca_remote_pending(&q));
}
END_TEST

START_TEST(test_many_producers)
{
  static unsigned char seen[PRODUCERS][PER_PRODUCER];
  mpca_remote_init(&q);
  atomic_store(&done, 0);
  pthread_t t[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++)
    pthread_create(&t[i], NULL, produce, nodes[i]);
  long got = 0;
  for (;;) {
    int finished = atomic_load(&done) == PRODUCERS;
    for (mpca_rnode *n = mpca_remote_take_all(&q); n; n = mpca_link_next(n)) {
      size_t idx = (size_t)(n - &nodes[0][0]);
      ck_assert_uint_lt(idx, (size_t)PRODUCERS * PER_PRODUCER);
      ck_assert_uint_eq(seen[idx / PER_PRODUCER][idx % PER_PRODUCER], 0);
      seen[idx / PER_PRODUCER][idx % PER_PRODUCER] = 1;
      got++;
    }
    if (finished && !mpca_remote_pending(&q))
      break;
  }
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(t[i], NULL);
  ck_assert_int_eq(got, (long)PRODUCERS * PER_PRODUCER);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("remote");
  TCase *tc = tcase_create("mpsc");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_lifo_single_thread);
  tcase_add_test(tc, test_many_producers);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
