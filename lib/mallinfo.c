/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * glibc's introspection and tuning calls, answered by libmpcalloc:
 * mallinfo2, mallinfo (its int fields saturate at INT_MAX), malloc_stats
 * (our text report on standard error), malloc_info (our statistics in the
 * XML layout glibc's callers parse) and mallopt (glibc's parameters that
 * have a meaning here set the matching MPCALLOC_* limit; the others return
 * 0). Every figure comes from one mpca_report_gather snapshot, so the fields
 * agree with each other and with mpc_alloc_stats_get. No stdio except the
 * fwrite into the caller's own stream that malloc_info is for: the text is
 * formatted on the stack, and no allocator lock is held while the stream
 * (which may allocate its buffer through our malloc) writes it. The mapping
 * of every field and parameter is documented in mpcalloc(7). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "mpca_config.h"
#include "mpca_init.h"
#include "mpca_os.h"
#include "mpca_report.h"
#include "mpca_small.h"

/* What both mallinfo flavours report, in bytes and counts. */
static struct mallinfo2 info_of(const mpca_report *sn)
{
  const struct mpc_alloc_stats *s = &sn->s;
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  uint64_t free_slots = 0, cached_blocks = 0;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    free_slots += sn->cls_free[c];
    cached_blocks += sn->cls_cached[c];
  }
  /* glibc's "arena": mapped memory not given to mmapped (huge) blocks */
  uint64_t huge = sn->huge_used <= s->mapped ? sn->huge_used : s->mapped;
  uint64_t in_use = s->in_use >= sn->huge_used ? s->in_use - sn->huge_used : 0;
  mi.arena = s->mapped - huge;
  if (in_use > mi.arena) /* figures of running threads, half seen */
    in_use = mi.arena;
  mi.ordblks = free_slots;
  mi.smblks = cached_blocks;
  mi.hblks = sn->huge_live;
  mi.hblkhd = huge;
  mi.usmblks = s->peak_in_use;
  mi.fsmblks = s->thread_cached;
  mi.uordblks = in_use;
  mi.fordblks = mi.arena - in_use;
  mi.keepcost = s->cached;
  return mi;
}

static struct mallinfo2 info_now(void)
{
  int saved = errno;
  mpca_global_init();
  mpca_report sn;
  mpca_report_gather(&sn);
  errno = saved;
  return info_of(&sn);
}

MPCA_EXPORT struct mallinfo2 mallinfo2(void) { return info_now(); }

static int saturate(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

MPCA_EXPORT struct mallinfo mallinfo(void)
{
  struct mallinfo2 m = info_now();
  struct mallinfo r;
  r.arena = saturate(m.arena);
  r.ordblks = saturate(m.ordblks);
  r.smblks = saturate(m.smblks);
  r.hblks = saturate(m.hblks);
  r.hblkhd = saturate(m.hblkhd);
  r.usmblks = saturate(m.usmblks);
  r.fsmblks = saturate(m.fsmblks);
  r.uordblks = saturate(m.uordblks);
  r.fordblks = saturate(m.fordblks);
  r.keepcost = saturate(m.keepcost);
  return r;
}

MPCA_EXPORT void malloc_stats(void)
{
  int saved = errno;
  mpca_global_init();
  mpca_report_write(2, false);
  errno = saved;
}

/* ---- malloc_info ---------------------------------------------------------- */

typedef struct xml_out {
  FILE *fp;
  bool failed;
  char line[256];
} xml_out;

static void xml_write(xml_out *x, size_t n)
{
  if (n >= sizeof x->line)
    n = sizeof x->line - 1;
  if (!x->failed && fwrite(x->line, 1, n, x->fp) != n)
    x->failed = true;
}

#define XML(x, ...) xml_write((x), mpca_snprintf((x)->line, sizeof(x)->line, __VA_ARGS__))
#define ULL(v) ((unsigned long long)(v))

/* The lines that close a <heap> and, with the mmapped blocks (`process`),
 * the whole report. */
static void xml_totals(xml_out *x, const struct mallinfo2 *mi, bool process, uint64_t current, uint64_t max)
{
  XML(x, "<total type=\"fast\" count=\"%llu\" size=\"%llu\"/>\n", ULL(mi->smblks), ULL(mi->fsmblks));
  XML(x, "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n", ULL(mi->ordblks),
      ULL(mi->fordblks > mi->fsmblks ? mi->fordblks - mi->fsmblks : 0));
  if (process)
    XML(x, "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n", ULL(mi->hblks), ULL(mi->hblkhd));
  XML(x, "<system type=\"current\" size=\"%llu\"/>\n", ULL(current));
  XML(x, "<system type=\"max\" size=\"%llu\"/>\n", ULL(max));
  XML(x, "<aspace type=\"total\" size=\"%llu\"/>\n", ULL(current));
  XML(x, "<aspace type=\"mprotect\" size=\"%llu\"/>\n", ULL(current));
}

MPCA_EXPORT int malloc_info(int options, FILE *fp)
{
  if (options != 0 || fp == NULL) {
    errno = EINVAL;
    return -1;
  }
  int saved = errno;
  mpca_global_init();
  mpca_report sn;
  mpca_report_gather(&sn);
  errno = saved;
  struct mallinfo2 mi = info_of(&sn);
  xml_out x = {.fp = fp, .failed = false};
  /* glibc's layout: one <heap> per arena, then the process totals. Our
   * heaps are per thread and come and go; the process is reported as heap
   * 0 (per-node figures: mpc_alloc_stats(3)), and <sizes> lists the free
   * small blocks of each class, in runs and thread caches. */
  XML(&x, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  uint64_t from = 1;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    uint64_t count = sn.cls_free[c] + sn.cls_cached[c], size = mpca_classes[c].size;
    if (count != 0)
      XML(&x, "  <size from=\"%llu\" to=\"%llu\" total=\"%llu\" count=\"%llu\"/>\n", ULL(from), ULL(size),
          ULL(count * size), ULL(count));
    from = size + 1;
  }
  XML(&x, "</sizes>\n");
  xml_totals(&x, &mi, false, mi.arena, sn.s.peak_mapped);
  XML(&x, "</heap>\n");
  xml_totals(&x, &mi, true, sn.s.mapped, sn.s.peak_mapped);
  XML(&x, "</malloc>\n");
  return x.failed ? -1 : 0; /* errno from the stream */
}

/* ---- mallopt -------------------------------------------------------------- */

/* Set option `id` to `v`, clamped to its bounds. Other threads read the
 * limits without synchronisation; a 64-bit store is seen whole. */
static void set_limit(int id, uint64_t v)
{
  const mpca_option *o = &mpca_options[id];
  if (v > o->max)
    v = o->max;
  if (v < o->min)
    v = o->min;
  __atomic_store_n(&mpca_opt[id], v, __ATOMIC_RELAXED);
}

MPCA_EXPORT int mallopt(int param, int value)
{
  int saved = errno;
  mpca_global_init(); /* the environment is read first, mallopt wins */
  errno = saved;
  switch (param) {
  case M_TRIM_THRESHOLD:
    /* free memory kept before it goes back to the OS; -1: never trim */
    set_limit(MPCA_OPT_RETAIN_MAX, value < 0 ? UINT64_MAX : (uint64_t)value);
    set_limit(MPCA_OPT_KEEP_MEM, value < 0 ? UINT64_MAX : (uint64_t)value);
    return 1;
  case M_MMAP_THRESHOLD:
    /* glibc unmaps a freed block this large at once */
    if (value < 0)
      return 0;
    set_limit(MPCA_OPT_KEEP_MAX, (uint64_t)value);
    return 1;
  default:
    /* M_MXFAST, M_TOP_PAD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB,
     * M_ARENA_TEST, M_ARENA_MAX and unknown parameters: nothing here
     * matches them (mpcalloc(7)) */
    return 0;
  }
}
