/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The heap profiles (MPCALLOC_PROF) as files: mpc_alloc_prof_dump(3) for
 * the blocks live now, and at exit PREFIX.peak.heap (the estimates per
 * call stack when the estimate of bytes in use was highest) and
 * PREFIX.exit.heap (what was left alive: the leak report). At the top of
 * the library next to report.c, whose output helpers it uses: it never
 * allocates.
 *
 * The format is that of gperftools' heap profiler, which google-pprof and
 * pprof read:
 *   heap profile: OBJS: BYTES [ALLOC_OBJS: ALLOC_BYTES] @ heapprofile
 *   OBJS: BYTES [ALLOC_OBJS: ALLOC_BYTES] @ 0xPC 0xPC ...   (per stack)
 *   MAPPED_LIBRARIES:
 *   the process's /proc/self/maps
 * with the figures already scaled to estimates ("heapprofile": the readers
 * scale nothing again), the first address moved into its call instruction
 * (readers move the others). Lines starting with '#', which the readers
 * skip, say more for mpcalloc report: a JSON object after "# mpcalloc "
 * (kind, process, job, sampling rate, the statistics' figures) and
 * "# node N" before the stacks sampled by heaps of NUMA node N. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "config.h"
#include "mpca_config.h"
#include "mpca_init.h"
#include "mpca_prof.h"
#include "mpca_prof_report.h"
#include "mpca_report.h"

#define ULL(x) ((unsigned long long)(x))
#define PATH_MAX_LEN 4096
#define DEFAULT_PREFIX "mpcalloc-prof.%p"

static _Atomic unsigned dump_seq;

typedef struct profile {
  mpca_out *o;
  int node; /* the stacks printed in this pass */
  uint64_t objs, bytes, alloc_objs, alloc_bytes;
  int nodes[MPCA_NSOURCES + 1];
  unsigned nnodes;
} profile;

static uint64_t blocks(uint64_t fixed) { return (fixed + MPCA_PROF_ONE / 2) / MPCA_PROF_ONE; }

static void sum(void *arg, const mpca_prof_entry *e)
{
  profile *pr = arg;
  pr->objs += blocks(e->objs);
  pr->bytes += e->bytes;
  pr->alloc_objs += blocks(e->alloc_objs);
  pr->alloc_bytes += e->alloc_bytes;
  unsigned i = 0;
  while (i < pr->nnodes && pr->nodes[i] != e->node)
    i++;
  if (i == pr->nnodes && i < sizeof pr->nodes / sizeof pr->nodes[0])
    pr->nodes[pr->nnodes++] = e->node;
}

static void line(void *arg, const mpca_prof_entry *e)
{
  profile *pr = arg;
  if (e->node != pr->node)
    return;
  MPCA_OUT(pr->o, "%llu: %llu [%llu: %llu] @", ULL(blocks(e->objs)), ULL(e->bytes), ULL(blocks(e->alloc_objs)),
           ULL(e->alloc_bytes));
  /* return addresses; the first moved into its call (see above) */
  for (unsigned i = 0; i < e->depth; i++)
    MPCA_OUT(pr->o, " 0x%llx", ULL(e->pc[i] - (i == 0)));
  if (e->depth == 0)
    MPCA_OUT(pr->o, " 0x0");
  mpca_out_put(pr->o, "\n", 1);
}

static void copy_maps(mpca_out *o)
{
  char buf[1024];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    mpca_out_put(o, buf, (size_t)n);
  }
  close(fd);
}

/* The profile of `kind` ("live", "peak" or "exit") on `fd`; 0, or -1
 * with errno set after a write error. */
static int write_profile(int fd, enum mpca_prof_kind kind, const char *what)
{
  mpca_out o;
  mpca_out_init(&o, fd);
  mpca_report r;
  mpca_report_now(&r);
  profile pr = {&o, 0, 0, 0, 0, 0, {0}, 0};
  uint64_t samples, taken;
  mpca_prof_lock();
  mpca_prof_peak_update();
  mpca_prof_each(kind, sum, &pr);
  mpca_prof_counts(kind, &samples, &taken);
  MPCA_OUT(&o, "heap profile: %llu: %llu [%llu: %llu] @ heapprofile\n", ULL(pr.objs), ULL(pr.bytes),
           ULL(pr.alloc_objs), ULL(pr.alloc_bytes));
  MPCA_OUT(&o, "# mpcalloc {\"library\": \"libmpcalloc\", \"version\": \"%s\", \"kind\": \"%s\", \"pid\": %d,",
           PACKAGE_VERSION, what, r.job.pid);
  mpca_out_job_json(&o, &r.job, " ");
  MPCA_OUT(&o, ", \"sample\": %llu, \"samples\": %llu, \"samples_taken\": %llu", ULL(mpca_prof_rate),
           ULL(samples), ULL(taken));
  MPCA_OUT(&o, ", \"in_use\": %llu, \"peak_in_use\": %llu}\n", ULL(r.s.in_use), ULL(r.s.peak_in_use));
  for (unsigned i = 0; i < pr.nnodes; i++) {
    pr.node = pr.nodes[i];
    MPCA_OUT(&o, "# node %d\n", pr.node);
    mpca_prof_each(kind, line, &pr);
  }
  mpca_prof_unlock();
  MPCA_OUT(&o, "\nMAPPED_LIBRARIES:\n");
  copy_maps(&o);
  return mpca_out_done(&o);
}

/* The prefix of MPCALLOC_PROF_FILE (or the default) + `suffix`, expanded
 * into `path`; false when too long. */
static bool prof_path(char *path, const char *pattern, const char *suffix)
{
  char pat[PATH_MAX_LEN];
  mpca_job job;
  if (pattern == NULL) {
    const char *prefix = mpca_opt_str(MPCA_OPT_PROF_FILE);
    if (mpca_snprintf(pat, sizeof pat, "%s%s", *prefix ? prefix : DEFAULT_PREFIX, suffix) >= sizeof pat)
      return false;
    pattern = pat;
  }
  mpca_job_get(&job);
  return mpca_report_path(path, PATH_MAX_LEN, pattern, &job);
}

/* Write the profile to the file `path`; 0 or -1 with errno. */
static int dump_to(const char *path, enum mpca_prof_kind kind, const char *what)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    return -1;
  int rc = write_profile(fd, kind, what);
  int err = errno;
  if (close(fd) != 0 && rc == 0)
    return -1;
  errno = err;
  return rc;
}

MPCA_EXPORT int mpc_alloc_prof_dump(const char *path)
{
  mpca_global_init();
  if (!mpca_prof_on) {
    errno = ENOTSUP;
    return -1;
  }
  int saved = errno;
  char file[PATH_MAX_LEN];
  bool fits;
  if (path == NULL) {
    char suffix[32];
    mpca_snprintf(suffix, sizeof suffix, ".%u.heap", atomic_fetch_add(&dump_seq, 1) + 1);
    fits = prof_path(file, NULL, suffix);
  } else {
    fits = prof_path(file, path, "");
  }
  if (!fits) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (dump_to(file, MPCA_PROF_LIVE, "live") != 0)
    return -1;
  errno = saved;
  return 0;
}

/* ---- the profiles at exit ---------------------------------------------------- */

static void dump_at_exit(void)
{
  char peak[PATH_MAX_LEN], left[PATH_MAX_LEN];
  int err = mpca_os_stderr();
  if (!prof_path(peak, NULL, ".peak.heap") || !prof_path(left, NULL, ".exit.heap")) {
    mpca_printf_fd(err, "mpcalloc: MPCALLOC_PROF_FILE is too long; no heap profile written\n");
    return;
  }
  /* one line when the place is wrong, not one per file */
  if (dump_to(peak, MPCA_PROF_PEAK, "peak") != 0)
    mpca_printf_fd(err, "mpcalloc: cannot write the heap profiles %s and %s (errno %d); MPCALLOC_PROF_FILE names "
                   "their prefix\n", peak, left, errno);
  else if (dump_to(left, MPCA_PROF_LIVE, "exit") != 0)
    mpca_printf_fd(err, "mpcalloc: cannot write the heap profile %s (errno %d)\n", left, errno);
}

void mpca_prof_report_at_exit(void)
{
  if (!mpca_prof_on)
    return;
  int saved = errno;
  dump_at_exit();
  errno = saved;
}
