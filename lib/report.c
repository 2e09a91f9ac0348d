/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Statistics reports: mpc_alloc_stats_get/print/reset and the report at
 * exit (MPCALLOC_STATS, MPCALLOC_STATS_FILE). The top of the library: it
 * reads every heap and source, and nothing below calls it. It must never
 * allocate (not even through stdio: output is formatted with mpca_snprintf
 * into a stack buffer and written with write(2)), and never make the
 * malloc/free fast paths pay for a statistic.
 *
 * Design. Nothing is counted on the fast paths (a free-list pop or push).
 * What is in use is derived from gauges kept on the slow paths (see
 * mpca_stats.h, the counting leaf):
 *  - small blocks: per heap and class, the slots out of its runs as last
 *    seen (h->small_slots: each run's count is added in at its refills and
 *    events, see sync_run in small.c) and the runs in use (h->small_runs).
 *    Blocks in the heap's free list and foreign list (and, profiling, its
 *    held list) are free but counted out of their runs, so in use = (slots
 *    out - blocks in the free list - nforeign - nheld) * class size
 *    (blocks waiting in a heap's ring of foreign frees count as in use
 *    until they are settled). Before gathering, the calling thread's own
 *    heap is brought up to date exactly (mpca_small_sync_stats);
 *  - medium blocks: per heap, the bytes of chunks in use (chunk sizes, so the
 *    16-byte boundary tag included), at medium malloc/free/resize;
 *  - huge blocks: per source, relaxed atomics next to the mmap/munmap of the
 *    block (usable bytes and bytes asked for), any thread;
 *  - mapped bytes: per source, relaxed atomics next to each mmap/munmap/
 *    mremap of a source; cached bytes: the sources' own counters.
 * A heap's gauges are plain and written only by the thread that holds the
 * heap; a reader sums them over every heap ever made (heaps are never freed,
 * so the counts of exited threads are kept) with relaxed loads. For the
 * calling thread's own heap the figures are exact; for heaps of threads
 * that run meanwhile they are approximate (their runs' frees since their
 * last slow-path event are not seen yet, and a refill may be half seen),
 * which the manual says. No reader ever walks another heap's lists.
 * Remote frees are counted by the sender and by the draining owner. A heap
 * rebound to another node is reported under its current node. The rows per
 * size class follow mpca_classes, whatever their number.
 *
 * The peak of in_use is an upper bound: the sum of each heap's own peaks of
 * small and of medium bytes, plus each source's peak of huge bytes (exact
 * for a program that uses one kind of block from one thread). The
 * cumulative counters restart at mpc_alloc_stats_reset() by keeping a
 * baseline; the peaks restart by being set to the current values (a racy
 * store into other heaps' peaks, harmless: the owner only raises it).
 *
 * Every report also says what the process is within its job (mpca_job.h):
 * host, pid, MPI rank, peak resident size and page faults, so that the files
 * of the ranks of one job can be put side by side (mpcalloc report). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_report.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ULL(x) ((unsigned long long)(x))

static_assert(MPCA_NSOURCES == MPC_ALLOC_STATS_MAX_NODES, "public node array holds every source");
static_assert(MPCA_REPORT_STATS_SIZE_0_1 < sizeof(struct mpc_alloc_stats), "0.1.0 callers are told apart");

/* Cumulative counters at the last reset. */
static struct {
  uint64_t mmap, munmap, mremap, madvise, sent, received, adoptions, huge_allocs, huge_frees, moves, copied;
} base;

/* ---- gathering ------------------------------------------------------------ */

/* Whether the source of stats index `i` gets an entry of its own: the
 * unbound one always, a node when the machine has several or it holds
 * memory, the interleaved one when interleaving is on or it holds memory. */
static bool listed(unsigned i, uint64_t mapped, uint64_t in_use, uint64_t cached)
{
  int node = mpca_source_node(i);
  if (node == MPCA_NODE_UNBOUND || mapped || in_use || cached)
    return true;
  if (node == MPCA_NODE_INTERLEAVED)
    return mpca_numa_interleave_from != SIZE_MAX;
  return mpca_numa_node_count() > 1 && mpca_numa_node_valid(node);
}

void mpca_report_gather(mpca_report *r)
{
  mpca_heap *me = mpca_heap_mine();
  if (me != NULL) { /* its runs: a settler may be at them otherwise */
    mpca_heap_enter(me);
    mpca_small_sync_stats(me);
    mpca_heap_leave(me);
  }
  memset(&r->s, 0, sizeof r->s);
  memset(r->cls_count, 0, sizeof r->cls_count);
  memset(r->cls_runs, 0, sizeof r->cls_runs);
  memset(r->cls_cached, 0, sizeof r->cls_cached);
  memset(r->cls_free, 0, sizeof r->cls_free);
  r->huge_used = r->huge_live = 0;
  struct mpc_alloc_stats *s = &r->s;
  uint64_t in_use[MPCA_NSOURCES] = {0}, small_sum = 0, medium_sum = 0, peak_sum = 0;
  uint64_t sent = 0, received = 0, adoptions = 0, huge_allocs = 0, huge_frees = 0, moves = 0, copied = 0;
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    uint64_t small = 0;
    mpca_prof_state *st = RD(h->prof);
    for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
      uint64_t out = RD(h->small_slots[c]), tc = (uint64_t)mpca_heap_class_count(&h->cls[c]) + RD(h->nforeign[c]);
      if (st != NULL) /* profiling: the held blocks too */
        tc += RD(st->nheld[c]);
      uint64_t live = out > tc ? out - tc : 0; /* a racing refill may be half seen */
      r->cls_count[c] += live;
      uint64_t runs = RD(h->small_runs[c]), slots = runs * mpca_classes[c].nslots;
      r->cls_runs[c] += runs;
      r->cls_cached[c] += tc;
      r->cls_free[c] += slots > out ? slots - out : 0;
      small += live * mpca_classes[c].size;
      s->thread_cached += tc * mpca_classes[c].size;
    }
    uint64_t medium = RD(h->cnt.medium_used);
    if ((int64_t)medium < 0) /* half-seen update */
      medium = 0;
    small_sum += small;
    medium_sum += medium;
    in_use[mpca_source_index(RD(h->node))] += small + medium;
    peak_sum += RD(h->cnt.small_peak) + RD(h->cnt.medium_peak);
    sent += RD(h->cnt.remote_sent);
    received += RD(h->cnt.remote_received);
    adoptions += RD(h->cnt.adoptions);
    huge_allocs += RD(h->cnt.huge_allocs);
    huge_frees += RD(h->cnt.huge_frees);
    moves += RD(h->cnt.realloc_moves);
    copied += RD(h->cnt.realloc_copied);
    switch (atomic_load_explicit(&h->state, memory_order_relaxed)) {
    case MPCA_HEAP_ACTIVE: s->threads_live++; break;
    case MPCA_HEAP_ABANDONED:
    case MPCA_HEAP_CLAIMED: s->threads_abandoned++; break;
    default: break;
    }
    s->heaps++;
  }
  /* entries in the order of the manual: unbound, interleaved, the nodes */
  static const unsigned first[] = {0, MPCA_SOURCE_INTERLEAVED_INDEX};
  uint64_t huge_req = 0;
  for (unsigned k = 0; k < MPCA_NSOURCES; k++) {
    unsigned i = k < 2 ? first[k] : k - 1;
    mpca_stats_node *n = &mpca_stats_nodes[i];
    uint64_t hu = atomic_load_explicit(&n->huge_used, memory_order_relaxed);
    r->huge_used += hu;
    r->huge_live += atomic_load_explicit(&n->huge_live, memory_order_relaxed);
    uint64_t mapped = atomic_load_explicit(&n->mapped, memory_order_relaxed);
    uint64_t cached = mpca_source_cached(mpca_source_for_node(mpca_source_node(i)));
    huge_req += atomic_load_explicit(&n->huge_req, memory_order_relaxed);
    peak_sum += atomic_load_explicit(&n->huge_peak, memory_order_relaxed);
    in_use[i] += hu;
    if (!listed(i, mapped, in_use[i], cached))
      continue;
    struct mpc_alloc_stats_node *e = &s->nodes[s->nnodes++];
    e->node = mpca_source_node(i);
    e->mapped = mapped;
    e->in_use = in_use[i];
    e->cached = cached;
    s->mapped += mapped;
    s->in_use += in_use[i];
    s->cached += cached;
  }
  s->requested = small_sum + medium_sum + huge_req;
  s->peak_in_use = peak_sum;
  if (s->peak_in_use < s->in_use)
    s->peak_in_use = s->in_use;
  s->peak_mapped = atomic_load_explicit(&mpca_stats_mapped_peak, memory_order_relaxed);
  if (s->peak_mapped < s->mapped)
    s->peak_mapped = s->mapped;
  s->retained = atomic_load_explicit(&mpca_retained, memory_order_relaxed);
  s->retain_max = mpca_opt[MPCA_OPT_RETAIN_MAX];
  s->mmap_calls = atomic_load_explicit(&mpca_os_cnt.mmap_calls, memory_order_relaxed) - base.mmap;
  s->munmap_calls = atomic_load_explicit(&mpca_os_cnt.munmap_calls, memory_order_relaxed) - base.munmap;
  s->mremap_calls = atomic_load_explicit(&mpca_os_cnt.mremap_calls, memory_order_relaxed) - base.mremap;
  s->madvise_calls = atomic_load_explicit(&mpca_os_cnt.madvise_calls, memory_order_relaxed) - base.madvise;
  s->remote_frees_sent = sent - base.sent;
  s->remote_frees_received = received - base.received;
  s->threads_adopted = adoptions - base.adoptions;
  s->huge_allocs = huge_allocs - base.huge_allocs;
  s->huge_frees = huge_frees - base.huge_frees;
  s->realloc_moves = moves - base.moves;
  s->realloc_copied = copied - base.copied;
  s->size = sizeof *s;
}

/* A caller built against 0.1.0 knows no interleaved entry: its figures go
 * to the unbound source's, the first entry. */
static void fold_interleaved(struct mpc_alloc_stats *s)
{
  for (uint64_t i = 1; i < s->nnodes; i++) {
    if (s->nodes[i].node != MPC_ALLOC_STATS_NODE_INTERLEAVED)
      continue;
    s->nodes[0].mapped += s->nodes[i].mapped;
    s->nodes[0].in_use += s->nodes[i].in_use;
    s->nodes[0].cached += s->nodes[i].cached;
    memmove(&s->nodes[i], &s->nodes[i + 1], (s->nnodes - i - 1) * sizeof s->nodes[0]);
    s->nnodes--;
    memset(&s->nodes[s->nnodes], 0, sizeof s->nodes[0]);
    return;
  }
}

MPCA_EXPORT int mpc_alloc_stats_get(struct mpc_alloc_stats *st)
{
  if (st == NULL || st->size < sizeof st->size) {
    errno = EINVAL;
    return -1;
  }
  mpca_global_init();
  mpca_report r;
  mpca_report_gather(&r);
  size_t n = st->size < sizeof r.s ? (size_t)st->size : sizeof r.s;
  if (n < sizeof r.s)
    fold_interleaved(&r.s);
  /* never more entries than the caller's struct holds */
  size_t off = offsetof(struct mpc_alloc_stats, nodes);
  uint64_t fit = n > off ? (n - off) / sizeof r.s.nodes[0] : 0;
  if (r.s.nnodes > fit)
    r.s.nnodes = fit;
  r.s.size = n;
  memcpy(st, &r.s, n);
  return 0;
}

MPCA_EXPORT void mpc_alloc_stats_reset(void)
{
  mpca_global_init();
  mpca_report r;
  memset(&base, 0, sizeof base);
  mpca_report_gather(&r);
  base.mmap = r.s.mmap_calls;
  base.munmap = r.s.munmap_calls;
  base.mremap = r.s.mremap_calls;
  base.madvise = r.s.madvise_calls;
  base.sent = r.s.remote_frees_sent;
  base.received = r.s.remote_frees_received;
  base.adoptions = r.s.threads_adopted;
  base.huge_allocs = r.s.huge_allocs;
  base.huge_frees = r.s.huge_frees;
  base.moves = r.s.realloc_moves;
  base.copied = r.s.realloc_copied;
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    __atomic_store_n(&h->cnt.small_peak, RD(h->small_used), __ATOMIC_RELAXED);
    __atomic_store_n(&h->cnt.medium_peak, RD(h->cnt.medium_used), __ATOMIC_RELAXED);
  }
  mpca_stats_reset_peaks();
}

/* ---- output without malloc ------------------------------------------------ */

void mpca_out_flush(mpca_out *o)
{
  size_t off = 0;
  while (off < o->len && o->err == 0) {
    ssize_t w = write(o->fd, o->buf + off, o->len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      o->err = w < 0 ? errno : EIO;
    else
      off += (size_t)w;
  }
  o->len = 0;
}

void mpca_out_init(mpca_out *o, int fd)
{
  o->fd = fd;
  o->err = 0;
  o->len = 0;
}

int mpca_out_done(mpca_out *o)
{
  mpca_out_flush(o);
  if (o->err) {
    errno = o->err;
    return -1;
  }
  return 0;
}

void mpca_out_put(mpca_out *o, const char *s, size_t n)
{
  if (n >= sizeof o->tmp && s == o->tmp)
    n = sizeof o->tmp - 1; /* mpca_snprintf returns the untruncated length */
  while (n) {
    size_t k = sizeof o->buf - o->len;
    if (k > n)
      k = n;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    s += k;
    n -= k;
    if (o->len == sizeof o->buf)
      mpca_out_flush(o);
  }
}

#define PUT MPCA_OUT

/* `v` right-aligned in `width` columns. */
static void put_col(mpca_out *o, uint64_t v, unsigned width)
{
  char num[24];
  size_t n = mpca_snprintf(num, sizeof num, "%llu", ULL(v));
  while (width-- > n)
    mpca_out_put(o, " ", 1);
  mpca_out_put(o, num, n);
}

/* count / capacity as a fraction with 3 decimals ("0.492") or a percentage
 * with one ("49.2%"); 0 when the capacity is 0. */
static void put_ratio(mpca_out *o, uint64_t count, uint64_t capacity, bool percent)
{
  uint64_t pm = capacity ? count * 1000 / capacity : 0;
  char d[8];
  if (percent) {
    d[0] = (char)('0' + pm % 10);
    d[1] = 0;
    PUT(o, "%llu.%s%%", ULL(pm / 10), d);
  } else {
    d[0] = (char)('0' + pm / 100 % 10);
    d[1] = (char)('0' + pm / 10 % 10);
    d[2] = (char)('0' + pm % 10);
    d[3] = 0;
    PUT(o, "%llu.%s", ULL(pm / 1000), d);
  }
}

void mpca_out_json_string(mpca_out *o, const char *s, bool empty_null)
{
  if (s == NULL || (*s == '\0' && empty_null)) {
    mpca_out_put(o, "null", 4);
    return;
  }
  mpca_out_put(o, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      mpca_out_put(o, e, 2);
    } else if (c < 0x20) {
      static const char hex[] = "0123456789abcdef";
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      mpca_out_put(o, e, 6);
    } else {
      mpca_out_put(o, s, 1);
    }
  }
  mpca_out_put(o, "\"", 1);
}

/* A JSON number, or null for a negative (unknown) value. */
static void put_json_long(mpca_out *o, long v)
{
  if (v < 0)
    mpca_out_put(o, "null", 4);
  else
    PUT(o, "%llu", ULL(v));
}

static void print_process_text(mpca_out *o, const mpca_job *j)
{
  PUT(o, "  process        host %s", j->host);
  if (j->rank >= 0) {
    PUT(o, ", rank %llu", ULL(j->rank));
    if (j->size >= 0)
      PUT(o, " of %llu", ULL(j->size));
    PUT(o, " (%s", j->rank_var);
    if (j->id[0])
      PUT(o, ", job %s", j->id);
    mpca_out_put(o, ")", 1);
  }
  PUT(o, "; peak RSS %llu bytes; page faults %llu minor, %llu major\n", ULL(j->peak_rss), ULL(j->minor_faults),
      ULL(j->major_faults));
}

static void print_text(mpca_out *o, const mpca_report *r)
{
  const struct mpc_alloc_stats *s = &r->s;
  PUT(o, "mpcalloc %s statistics, pid %d (approximate while other threads run)\n", PACKAGE_VERSION, r->job.pid);
  print_process_text(o, &r->job);
  PUT(o, "  in use         %llu bytes (requested %llu, peak at most %llu)\n", ULL(s->in_use), ULL(s->requested),
      ULL(s->peak_in_use));
  PUT(o, "  thread caches  %llu bytes\n", ULL(s->thread_cached));
  PUT(o, "  mapped         %llu bytes (peak %llu)\n", ULL(s->mapped), ULL(s->peak_mapped));
  PUT(o, "  cached         %llu bytes; retained %llu of a %llu budget\n", ULL(s->cached), ULL(s->retained),
      ULL(s->retain_max));
  PUT(o, "  system calls   mmap %llu, munmap %llu, mremap %llu, madvise %llu\n", ULL(s->mmap_calls),
      ULL(s->munmap_calls), ULL(s->mremap_calls), ULL(s->madvise_calls));
  PUT(o, "  remote frees   sent %llu, received %llu\n", ULL(s->remote_frees_sent), ULL(s->remote_frees_received));
  PUT(o, "  threads        live %llu, abandoned %llu, adopted %llu; heaps %llu\n", ULL(s->threads_live),
      ULL(s->threads_abandoned), ULL(s->threads_adopted), ULL(s->heaps));
  PUT(o, "  huge blocks    allocated %llu, freed %llu\n", ULL(s->huge_allocs), ULL(s->huge_frees));
  PUT(o, "  realloc moves  %llu (%llu bytes copied)\n", ULL(s->realloc_moves), ULL(s->realloc_copied));
  PUT(o, "  node                mapped         in use         cached\n");
  for (uint64_t i = 0; i < s->nnodes; i++) {
    const struct mpc_alloc_stats_node *e = &s->nodes[i];
    if (e->node == MPC_ALLOC_STATS_NODE_UNBOUND)
      PUT(o, "  unbound    ");
    else if (e->node == MPC_ALLOC_STATS_NODE_INTERLEAVED)
      PUT(o, "  interleaved");
    else
      PUT(o, "  %11d", (int)e->node);
    put_col(o, e->mapped, 15);
    put_col(o, e->in_use, 15);
    put_col(o, e->cached, 15);
    mpca_out_put(o, "\n", 1);
  }
  PUT(o, "  class  size      count          bytes   runs  utilisation\n");
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    if (r->cls_count[c] == 0 && r->cls_runs[c] == 0)
      continue;
    put_col(o, c, 7);
    put_col(o, mpca_classes[c].size, 6);
    put_col(o, r->cls_count[c], 11);
    put_col(o, r->cls_count[c] * mpca_classes[c].size, 15);
    put_col(o, r->cls_runs[c], 7);
    mpca_out_put(o, "  ", 2);
    put_ratio(o, r->cls_count[c], r->cls_runs[c] * mpca_classes[c].nslots, true);
    mpca_out_put(o, "\n", 1);
  }
}

void mpca_out_job_json(mpca_out *o, const mpca_job *j, const char *nl)
{
  PUT(o, " \"host\": ");
  mpca_out_json_string(o, j->host, false);
  PUT(o, ",%s\"rank\": ", nl);
  put_json_long(o, j->rank);
  PUT(o, ", \"ranks\": ");
  put_json_long(o, j->size);
  PUT(o, ", \"rank_from\": ");
  mpca_out_json_string(o, j->rank_var, true);
  PUT(o, ", \"job\": ");
  mpca_out_json_string(o, j->id, true);
  PUT(o, ",%s\"peak_rss\": %llu, \"minor_faults\": %llu, \"major_faults\": %llu", nl, ULL(j->peak_rss),
      ULL(j->minor_faults), ULL(j->major_faults));
}

static void print_json(mpca_out *o, const mpca_report *r)
{
  const struct mpc_alloc_stats *s = &r->s;
  PUT(o, "{\"library\": \"libmpcalloc\", \"version\": \"%s\", \"pid\": %d,\n", PACKAGE_VERSION, r->job.pid);
  mpca_out_job_json(o, &r->job, "\n ");
  PUT(o, ",\n");
#define F(name) PUT(o, " \"" #name "\": %llu,\n", ULL(s->name))
  F(requested);
  F(in_use);
  F(peak_in_use);
  F(thread_cached);
  F(mapped);
  F(peak_mapped);
  F(cached);
  F(retained);
  F(retain_max);
  F(mmap_calls);
  F(munmap_calls);
  F(mremap_calls);
  F(madvise_calls);
  F(remote_frees_sent);
  F(remote_frees_received);
  F(threads_live);
  F(threads_abandoned);
  F(threads_adopted);
  F(heaps);
  F(huge_allocs);
  F(huge_frees);
  F(realloc_moves);
  F(realloc_copied);
#undef F
  PUT(o, " \"nodes\": [");
  for (uint64_t i = 0; i < s->nnodes; i++) {
    const struct mpc_alloc_stats_node *e = &s->nodes[i];
    PUT(o, "%s\n  {\"node\": %d, \"mapped\": %llu, \"in_use\": %llu, \"cached\": %llu}", i ? "," : "", (int)e->node,
        ULL(e->mapped), ULL(e->in_use), ULL(e->cached));
  }
  PUT(o, "],\n \"classes\": [");
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    PUT(o, "%s\n  {\"class\": %u, \"size\": %u, \"count\": %llu, \"bytes\": %llu, \"runs\": %llu, \"utilisation\": ",
        c ? "," : "", c, (unsigned)mpca_classes[c].size, ULL(r->cls_count[c]),
        ULL(r->cls_count[c] * mpca_classes[c].size), ULL(r->cls_runs[c]));
    put_ratio(o, r->cls_count[c], r->cls_runs[c] * mpca_classes[c].nslots, false);
    mpca_out_put(o, "}", 1);
  }
  PUT(o, "]}\n");
}

void mpca_report_now(mpca_report *r)
{
  mpca_report_gather(r);
  mpca_job_get(&r->job);
}

int mpca_report_write(int fd, bool json)
{
  mpca_out o;
  mpca_out_init(&o, fd);
  mpca_report r;
  mpca_report_now(&r);
  if (json)
    print_json(&o, &r);
  else
    print_text(&o, &r);
  return mpca_out_done(&o);
}

MPCA_EXPORT int mpc_alloc_stats_print(int fd, unsigned flags)
{
  if (fd < 0 || (flags & ~MPC_ALLOC_STATS_JSON)) {
    errno = EINVAL;
    return -1;
  }
  mpca_global_init();
  int saved = errno;
  int rc = mpca_report_write(fd, flags & MPC_ALLOC_STATS_JSON);
  if (rc == 0)
    errno = saved;
  return rc;
}

/* ---- report at exit ------------------------------------------------------- */

bool mpca_report_path(char *dst, size_t n, const char *src, const mpca_job *job)
{
  size_t len = 0;
  for (; *src; src++) {
    char piece[MPCA_JOB_HOST_MAX + 24];
    size_t k;
    if (src[0] == '%' && (src[1] == 'p' || src[1] == 'r' || src[1] == 'h')) {
      if (src[1] == 'h')
        k = mpca_snprintf(piece, sizeof piece, "%s", job->host);
      else if (src[1] == 'r' && job->rank >= 0)
        k = mpca_snprintf(piece, sizeof piece, "%llu", ULL(job->rank));
      else
        k = mpca_snprintf(piece, sizeof piece, "%d", job->pid);
      src++;
    } else {
      piece[0] = src[0];
      k = 1;
      if (src[0] == '%' && src[1] == '%')
        src++;
    }
    if (len + k >= n)
      return false;
    memcpy(dst + len, piece, k);
    len += k;
  }
  dst[len] = '\0';
  return true;
}

void mpca_report_at_exit(void)
{
  uint64_t mode = mpca_opt[MPCA_OPT_STATS];
  if (mode == MPCA_STATS_OFF) /* set: the options were read, start-up is done */
    return;
  int saved = errno;
  int err = mpca_os_stderr();
  int fd = err;
  const char *file = mpca_opt_str(MPCA_OPT_STATS_FILE);
  if (*file) {
    char path[4096];
    mpca_job job;
    mpca_job_get(&job);
    if (!mpca_report_path(path, sizeof path, file, &job))
      mpca_printf_fd(err, "mpcalloc: MPCALLOC_STATS_FILE is too long; statistics go to standard error\n");
    else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
      mpca_printf_fd(err,
                     "mpcalloc: cannot open MPCALLOC_STATS_FILE '%s' (errno %d); statistics go to standard error\n",
                     path, errno);
    if (fd < 0)
      fd = err;
  }
  mpca_report_write(fd, mode == MPCA_STATS_JSON);
  if (fd != 2 && fd != err)
    close(fd);
  errno = saved;
}
