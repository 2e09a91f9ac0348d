/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The statistics reports, at the top of the library next to the API: the
 * sums over every heap and source behind mpc_alloc_stats_get/print/reset,
 * the text and JSON forms, and the report at exit (MPCALLOC_STATS,
 * MPCALLOC_STATS_FILE). Nothing below calls into it; the counting it sums
 * is the leaf of mpca_stats.h. */
#ifndef MPCA_REPORT_H
#define MPCA_REPORT_H

#include "mpcalloc.h"
#include "mpca_job.h"
#include "mpca_os.h"
#include "mpca_types.h"

/* Size of struct mpc_alloc_stats in libmpcalloc 0.1.0: 65 node entries and
 * no interleaved one. A caller that passes less than the current size gets
 * the interleaved figures under the unbound source, so its entries still
 * add up and name only the nodes it knows of. */
#define MPCA_REPORT_STATS_SIZE_0_1                                                                       \
  (offsetof(struct mpc_alloc_stats, nodes) + 65 * sizeof(struct mpc_alloc_stats_node))

/* Everything one report says. */
typedef struct mpca_report {
  struct mpc_alloc_stats s;
  uint64_t cls_count[MPCA_SMALL_NCLASSES];  /* live blocks, free lists excluded */
  uint64_t cls_runs[MPCA_SMALL_NCLASSES];   /* runs in use */
  uint64_t cls_cached[MPCA_SMALL_NCLASSES]; /* free blocks in heaps' free and foreign lists */
  uint64_t cls_free[MPCA_SMALL_NCLASSES];   /* free slots left in the runs in use */
  uint64_t huge_used;                       /* usable bytes of live huge blocks */
  uint64_t huge_live;                       /* live huge blocks */
  mpca_job job;
} mpca_report;

/* Output without malloc: formatted into a buffer, written with write(2). */
typedef struct mpca_out {
  int fd;
  int err; /* errno of the first failed write */
  size_t len;
  char buf[4096];
  char tmp[256];
} mpca_out;
MPCA_INTERNAL void mpca_out_init(mpca_out *o, int fd);
MPCA_INTERNAL void mpca_out_flush(mpca_out *o);
/* Flush: 0, or -1 with errno set after a write error. */
MPCA_INTERNAL int mpca_out_done(mpca_out *o);
MPCA_INTERNAL void mpca_out_put(mpca_out *o, const char *s, size_t n);
#define MPCA_OUT(o, ...) mpca_out_put((o), (o)->tmp, mpca_snprintf((o)->tmp, sizeof(o)->tmp, __VA_ARGS__))
/* `s` as a JSON string, quotes included; NULL or "" as null when `empty_null`. */
MPCA_INTERNAL void mpca_out_json_string(mpca_out *o, const char *s, bool empty_null);
/* The JSON members saying what the process is within its job (host, rank,
 * ranks, rank_from, job, peak_rss, page faults), lines joined by `nl`. */
MPCA_INTERNAL void mpca_out_job_json(mpca_out *o, const mpca_job *j, const char *nl);

/* Sum every heap and source into *r (the job part is left alone). */
MPCA_INTERNAL void mpca_report_gather(mpca_report *r);
/* The same, and the job part too. */
MPCA_INTERNAL void mpca_report_now(mpca_report *r);
/* MPCALLOC_STATS_FILE's `pattern` with %p (pid), %r (rank, or the pid when
 * no launcher gives one), %h (host) and %% expanded, into dst (`n` bytes);
 * false when it does not fit. */
MPCA_INTERNAL bool mpca_report_path(char *dst, size_t n, const char *pattern, const mpca_job *job);
/* Write a report of the process now on `fd`, text or JSON: 0, or -1 with
 * errno set after a write error. */
MPCA_INTERNAL int mpca_report_write(int fd, bool json);
/* The report at exit (MPCALLOC_STATS, MPCALLOC_STATS_FILE), when asked
 * for: called by the library's destructor (posix.c). */
MPCA_INTERNAL void mpca_report_at_exit(void);

#endif
