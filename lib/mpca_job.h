/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * What the process is within its job, for the statistics reports: host,
 * pid, MPI rank, job size and job id as the launcher's environment tells
 * them (Open MPI, PMIx, MPICH/PMI, Slurm: the library never links MPI), and
 * what the kernel counts for it (peak resident size, page faults). */
#ifndef MPCA_JOB_H
#define MPCA_JOB_H

#include "mpca_common.h"

#define MPCA_JOB_HOST_MAX 65 /* struct utsname's nodename */
#define MPCA_JOB_ID_MAX 96

typedef struct mpca_job {
  char host[MPCA_JOB_HOST_MAX];
  int pid;
  long rank;            /* -1: not under a launcher we know */
  long size;            /* ranks in the job, -1: unknown */
  const char *rank_var; /* the variable the rank comes from, or NULL */
  char id[MPCA_JOB_ID_MAX]; /* job id, "" when unknown */
  uint64_t peak_rss;    /* bytes (getrusage ru_maxrss) */
  uint64_t minor_faults, major_faults;
} mpca_job;

/* Rank, size and job id from `env` (NULL-terminated "NAME=value" strings,
 * or NULL): the first variable of each kind that holds a valid value, in
 * the order Open MPI, PMIx, MPICH/PMI, Slurm. */
MPCA_INTERNAL void mpca_job_from_env(mpca_job *j, char *const *env);
/* Everything about the calling process now (the environment is not read in
 * secure-execution mode). Never allocates. */
MPCA_INTERNAL void mpca_job_get(mpca_job *j);

#endif
