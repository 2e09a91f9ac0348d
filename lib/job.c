/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The process's place in its job, for the reports (see mpca_job.h). The
 * rank comes from the variables launchers set for each process they start,
 * read from the environment as it is at the time of the report: nothing is
 * linked, nothing is asked of an MPI library, so a program that is not an
 * MPI program, or is started by a launcher we do not know, simply has no
 * rank. A value that is not a plain non-negative number is ignored, so the
 * next variable is tried. Never allocates (uname, getrusage and a walk over
 * environ only). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "mpca_job.h"
#include "mpca_os.h"

extern char **environ;

/* Variables of each kind, most specific first: Open MPI, PMIx (Open MPI 5,
 * PRRTE, Slurm's PMIx plugin), MPICH's Hydra and Intel MPI (PMI), Slurm
 * (srun sets SLURM_PROCID for every task, MPI or not). */
static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID", NULL};
static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS",
                                        NULL};
static const char *const job_vars[] = {"OMPI_MCA_ess_base_jobid", "PMIX_NAMESPACE", "SLURM_JOB_ID", NULL};

/* Value of `name` in `env`, or NULL. */
static const char *env_get(char *const *env, const char *name)
{
  size_t n = strlen(name);
  for (; env && *env; env++)
    if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

/* A whole non-negative decimal number below 2^31, or -1. */
static long plain_number(const char *s)
{
  if (s == NULL || *s == '\0')
    return -1;
  long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 214748364)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* The first of `vars` with a valid number; its name in *which. */
static long first_number(char *const *env, const char *const *vars, const char **which)
{
  for (; *vars; vars++) {
    long v = plain_number(env_get(env, *vars));
    if (v >= 0) {
      if (which)
        *which = *vars;
      return v;
    }
  }
  return -1;
}

void mpca_job_from_env(mpca_job *j, char *const *env)
{
  j->rank_var = NULL;
  j->rank = first_number(env, rank_vars, &j->rank_var);
  j->size = first_number(env, size_vars, NULL);
  j->id[0] = '\0';
  for (const char *const *v = job_vars; *v; v++) {
    const char *id = env_get(env, *v);
    if (id == NULL || *id == '\0')
      continue;
    /* a Slurm job has steps: each srun is a job of its own */
    const char *step = strcmp(*v, "SLURM_JOB_ID") == 0 ? env_get(env, "SLURM_STEP_ID") : NULL;
    if (step != NULL)
      mpca_snprintf(j->id, sizeof j->id, "%s.%s", id, step);
    else
      mpca_snprintf(j->id, sizeof j->id, "%s", id);
    break;
  }
}

void mpca_job_get(mpca_job *j)
{
  mpca_job_from_env(j, getauxval(AT_SECURE) ? NULL : environ);
  j->pid = (int)getpid();
  struct utsname u;
  if (uname(&u) == 0)
    mpca_snprintf(j->host, sizeof j->host, "%s", u.nodename);
  else
    mpca_snprintf(j->host, sizeof j->host, "unknown");
  struct rusage ru;
  j->peak_rss = j->minor_faults = j->major_faults = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    j->peak_rss = (uint64_t)ru.ru_maxrss * 1024; /* KiB on Linux */
    j->minor_faults = (uint64_t)ru.ru_minflt;
    j->major_faults = (uint64_t)ru.ru_majflt;
  }
}
