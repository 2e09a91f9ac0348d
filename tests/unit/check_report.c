/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the report layer's own logic: the process's place in its
 * job read from launchers' variables (job.c), the expansion of
 * MPCALLOC_STATS_FILE (%p %r %h %%), and the sums over heaps and sources
 * (with the calling thread's blocks, which are exact). The text and JSON
 * forms are checked through the real library by tests/stats. */
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_init.h"
#include "mpca_report.h"

START_TEST(test_job_open_mpi)
{
  char *env[] = {"PATH=/bin",
                 "OMPI_COMM_WORLD_RANK=3",
                 "OMPI_COMM_WORLD_SIZE=8",
                 "PMIX_RANK=3",
                 "PMIX_NAMESPACE=1931935745",
                 "OMPI_MCA_ess_base_jobid=1931935745",
                 "SLURM_PROCID=0",
                 NULL};
  mpca_job j;
  mpca_job_from_env(&j, env);
  ck_assert_int_eq(j.rank, 3);
  ck_assert_int_eq(j.size, 8);
  ck_assert_str_eq(j.rank_var, "OMPI_COMM_WORLD_RANK");
  ck_assert_str_eq(j.id, "1931935745");
}
END_TEST

START_TEST(test_job_others)
{
  mpca_job j;
  char *pmix[] = {"PMIX_RANK=12", "PMIX_NAMESPACE=prterun-host-1234@1", NULL};
  mpca_job_from_env(&j, pmix);
  ck_assert_int_eq(j.rank, 12);
  ck_assert_int_eq(j.size, -1);
  ck_assert_str_eq(j.rank_var, "PMIX_RANK");
  ck_assert_str_eq(j.id, "prterun-host-1234@1");
  char *hydra[] = {"PMI_RANK=1", "PMI_SIZE=2", NULL};
  mpca_job_from_env(&j, hydra);
  ck_assert_int_eq(j.rank, 1);
  ck_assert_int_eq(j.size, 2);
  ck_assert_str_eq(j.id, "");
  char *slurm[] = {"SLURM_PROCID=5", "SLURM_NTASKS=6", "SLURM_JOB_ID=4242", "SLURM_STEP_ID=1", NULL};
  mpca_job_from_env(&j, slurm);
  ck_assert_int_eq(j.rank, 5);
  ck_assert_int_eq(j.size, 6);
  ck_assert_str_eq(j.rank_var, "SLURM_PROCID");
  ck_assert_str_eq(j.id, "4242.1");
  /* values that are not plain numbers: the next variable is tried */
  char *bad[] = {"OMPI_COMM_WORLD_RANK=", "PMIX_RANK=-1", "PMI_RANK=2x", "SLURM_PROCID=7", NULL};
  mpca_job_from_env(&j, bad);
  ck_assert_int_eq(j.rank, 7);
  char *huge[] = {"PMI_RANK=99999999999", "OMPI_COMM_WORLD_RANKX=1", NULL};
  mpca_job_from_env(&j, huge);
  ck_assert_int_eq(j.rank, -1);
  ck_assert_ptr_null(j.rank_var);
  mpca_job_from_env(&j, NULL);
  ck_assert_int_eq(j.rank, -1);
  ck_assert_int_eq(j.size, -1);
  ck_assert_str_eq(j.id, "");
}
END_TEST

START_TEST(test_job_now)
{
  mpca_job j;
  mpca_job_get(&j);
  ck_assert_int_eq(j.pid, getpid());
  char host[256];
  ck_assert_int_eq(gethostname(host, sizeof host), 0);
  ck_assert_str_eq(j.host, host);
  ck_assert_uint_gt(j.peak_rss, 0);
  ck_assert_uint_gt(j.minor_faults, 0);
}
END_TEST

START_TEST(test_path)
{
  mpca_job j;
  memset(&j, 0, sizeof j);
  strcpy(j.host, "node7");
  j.pid = 4321;
  j.rank = 12;
  char out[64];
  ck_assert(mpca_report_path(out, sizeof out, "st-%r-%h-%p.json", &j));
  ck_assert_str_eq(out, "st-12-node7-4321.json");
  ck_assert(mpca_report_path(out, sizeof out, "100%%-%x-%", &j));
  ck_assert_str_eq(out, "100%-%x-%");
  j.rank = -1; /* no launcher: %r is the pid */
  ck_assert(mpca_report_path(out, sizeof out, "r%r", &j));
  ck_assert_str_eq(out, "r4321");
  ck_assert(!mpca_report_path(out, 8, "a-long-name-%h", &j));
  ck_assert(mpca_report_path(out, 7, "%h", &j)); /* 5 + NUL fits in 7 */
  ck_assert(!mpca_report_path(out, 5, "%h", &j));
}
END_TEST

/* The calling thread's blocks are counted exactly. */
START_TEST(test_gather)
{
  mpca_global_init();
  mpca_report before, during, after;
  mpca_report_gather(&before);
  enum { N = 500 };
  void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = mpca_alloc(100, false);
  void *m = mpca_alloc(50000, false), *h = mpca_alloc((size_t)3 << 20, false);
  mpca_report_gather(&during);
  ck_assert_uint_ge(during.s.in_use - before.s.in_use, N * 100 + 50000 + ((size_t)3 << 20));
  uint64_t sum = 0;
  for (uint64_t i = 0; i < during.s.nnodes; i++)
    sum += during.s.nodes[i].in_use;
  ck_assert_uint_eq(sum, during.s.in_use);
  ck_assert_int_eq(during.s.nodes[0].node, MPC_ALLOC_STATS_NODE_UNBOUND);
  ck_assert_uint_ge(during.s.huge_allocs, before.s.huge_allocs + 1);
  unsigned cls = mpca_small_class(100);
  ck_assert_uint_ge(during.cls_count[cls], before.cls_count[cls] + N);
  for (int i = 0; i < N; i++)
    mpca_free(p[i]);
  mpca_free(m);
  mpca_free(h);
  mpca_report_gather(&after);
  ck_assert_uint_eq(after.s.in_use, before.s.in_use);
  ck_assert_uint_ge(after.s.peak_in_use, during.s.in_use);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("report");
  tcase_add_test(tc, test_job_open_mpi);
  tcase_add_test(tc, test_job_others);
  tcase_add_test(tc, test_job_now);
  tcase_add_test(tc, test_path);
  tcase_add_test(tc, test_gather);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
