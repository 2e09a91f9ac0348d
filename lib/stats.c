/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Statistics: mpc_alloc_stats_get/print/reset and the report at exit
 * (MPCALLOC_STATS, MPCALLOC_STATS_FILE); mallinfo.c answers glibc's
 * mallinfo2/malloc_info/malloc_stats from the same snapshot. This file must
 * never allocate (not even through stdio: output is formatted with
 * mpca_snprintf into a stack buffer and written with write(2)), and must
 * never make the malloc/free fast paths pay for a statistic.
 *
 * Design. Nothing is counted on the fast paths (a thread-cache pop or push).
 * What is in use is derived from gauges kept on the slow paths:
 *  - small blocks: per heap and class, the slots that left their runs
 *    (h->small_slots, +n at a thread-cache refill, -1 whenever a slot goes
 *    back to its run) and the runs in use (h->small_runs). Blocks sitting in
 *    the thread cache count as out of their run, so in use = (slots out -
 *    tc_count) * class size; tc_count is itself a plain counter;
 *  - medium blocks: per heap, the bytes of chunks in use (chunk sizes, so the
 *    16-byte boundary tag included), at medium malloc/free/resize;
 *  - huge blocks: per node, relaxed atomics next to the mmap/munmap of the
 *    block (usable bytes and bytes asked for), any thread;
 *  - mapped bytes: per node, relaxed atomics next to each mmap/munmap/mremap
 *    of a source; cached bytes: the sources' own counters.
 * A heap's gauges are plain and written only by the thread that holds the
 * heap; a reader sums them over every heap ever made (heaps are never freed,
 * so the counts of exited threads are kept) with relaxed loads. For the
 * calling thread's own heap the figures are exact; for heaps of threads
 * that run meanwhile they are approximate (a refill or a flush may be half
 * seen), which the manual says. No reader ever walks another heap's lists.
 * Remote frees are counted by the sender and by the draining owner. A heap
 * rebound to another node is reported under its current node.
 *
 * The peak of in_use is an upper bound: the sum of each heap's own peaks of
 * small and of medium bytes, plus each node's peak of huge bytes (exact for
 * a program that uses one kind of block from one thread). Counting costs:
 * a thread-cache refill or flush adds two plain additions per batch (not
 * per block); a medium malloc/free two or three instructions; a huge block
 * two relaxed atomic additions on its node's line, next to the source lock.
 * The cumulative counters restart at mpc_alloc_stats_reset() by keeping a
 * baseline; the peaks restart by being set to the current values (a racy
 * store into other heaps' peaks, harmless: the owner only raises it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "mpcalloc.h"
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_init.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define NNODES (MPCA_MAX_NODES + 1)
#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static_assert(NNODES == MPC_ALLOC_STATS_MAX_NODES, "public node array matches the sources");

mpca_stats_node mpca_stats_nodes[NNODES];
static _Atomic uint64_t mapped_total, mapped_peak;

/* Cumulative counters at the last reset. */
static struct {
  uint64_t mmap, munmap, mremap, madvise, sent, received, adoptions, huge_allocs, huge_frees, moves, copied;
} base;

static void raise_peak(_Atomic uint64_t *peak, uint64_t v)
{
  uint64_t p = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > p && !atomic_compare_exchange_weak_explicit(peak, &p, v, memory_order_relaxed, memory_order_relaxed))
    ;
}

void mpca_stats_mapped(int node, uint64_t delta)
{
  atomic_fetch_add_explicit(&mpca_stats_node_of(node)->mapped, delta, memory_order_relaxed);
  uint64_t t = atomic_fetch_add_explicit(&mapped_total, delta, memory_order_relaxed) + delta;
  if ((int64_t)delta > 0)
    raise_peak(&mapped_peak, t);
}

void mpca_stats_huge(const mpca_seg *seg, int sign)
{
  mpca_stats_node *n = mpca_stats_node_of((int)seg->node);
  uint64_t used = mpca_huge_usable(seg), req = seg->req_size;
  if (sign < 0) {
    used = -used;
    req = -req;
  }
  uint64_t t = atomic_fetch_add_explicit(&n->huge_used, used, memory_order_relaxed) + used;
  atomic_fetch_add_explicit(&n->huge_req, req, memory_order_relaxed);
  atomic_fetch_add_explicit(&n->huge_live, (uint64_t)(int64_t)sign, memory_order_relaxed);
  if (sign > 0 && t > atomic_load_explicit(&n->huge_peak, memory_order_relaxed))
    raise_peak(&n->huge_peak, t);
}

/* ---- gathering ------------------------------------------------------------ */

typedef mpca_stats_snapshot snapshot;

void mpca_stats_gather(snapshot *sn)
{
  memset(sn, 0, sizeof *sn);
  struct mpc_alloc_stats *s = &sn->s;
  uint64_t in_use[NNODES] = {0}, small_sum = 0, medium_sum = 0, peak_sum = 0;
  uint64_t sent = 0, received = 0, adoptions = 0, huge_allocs = 0, huge_frees = 0, moves = 0, copied = 0;
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    uint64_t small = 0;
    for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
      uint64_t out = RD(h->small_slots[c]), tc = RD(h->tc_count[c]);
      uint64_t live = out > tc ? out - tc : 0; /* a racing refill may be half seen */
      uint64_t runs = RD(h->small_runs[c]), slots = runs * mpca_classes[c].nslots;
      sn->cls_count[c] += live;
      sn->cls_runs[c] += runs;
      sn->cls_cached[c] += tc;
      sn->cls_free[c] += slots > out ? slots - out : 0;
      small += live * mpca_classes[c].size;
      s->thread_cached += tc * mpca_classes[c].size;
    }
    uint64_t medium = RD(h->cnt.medium_used);
    if ((int64_t)medium < 0) /* half-seen update */
      medium = 0;
    small_sum += small;
    medium_sum += medium;
    int node = RD(h->node);
    in_use[node < 0 || node >= MPCA_MAX_NODES ? 0 : node + 1] += small + medium;
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
  int nodes_seen = mpca_numa_node_count();
  uint64_t huge_req = 0;
  for (int i = 0; i < NNODES; i++) {
    mpca_stats_node *n = &mpca_stats_nodes[i];
    uint64_t hu = atomic_load_explicit(&n->huge_used, memory_order_relaxed);
    sn->huge_used += hu;
    sn->huge_live += atomic_load_explicit(&n->huge_live, memory_order_relaxed);
    uint64_t mapped = atomic_load_explicit(&n->mapped, memory_order_relaxed);
    uint64_t cached = mpca_source_cached(mpca_source_for_node(i - 1));
    huge_req += atomic_load_explicit(&n->huge_req, memory_order_relaxed);
    peak_sum += atomic_load_explicit(&n->huge_peak, memory_order_relaxed);
    in_use[i] += hu;
    if (i > 0 && mapped == 0 && in_use[i] == 0 && cached == 0 && !(nodes_seen > 1 && i - 1 < nodes_seen))
      continue;
    struct mpc_alloc_stats_node *e = &s->nodes[s->nnodes++];
    e->node = i - 1;
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
  s->peak_mapped = atomic_load_explicit(&mapped_peak, memory_order_relaxed);
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

MPCA_EXPORT int mpc_alloc_stats_get(struct mpc_alloc_stats *st)
{
  if (st == NULL || st->size < sizeof st->size) {
    errno = EINVAL;
    return -1;
  }
  mpca_global_init();
  snapshot sn;
  mpca_stats_gather(&sn);
  size_t n = st->size < sizeof sn.s ? (size_t)st->size : sizeof sn.s;
  sn.s.size = n;
  memcpy(st, &sn.s, n);
  return 0;
}

MPCA_EXPORT void mpc_alloc_stats_reset(void)
{
  mpca_global_init();
  snapshot sn;
  memset(&base, 0, sizeof base);
  mpca_stats_gather(&sn);
  base.mmap = sn.s.mmap_calls;
  base.munmap = sn.s.munmap_calls;
  base.mremap = sn.s.mremap_calls;
  base.madvise = sn.s.madvise_calls;
  base.sent = sn.s.remote_frees_sent;
  base.received = sn.s.remote_frees_received;
  base.adoptions = sn.s.threads_adopted;
  base.huge_allocs = sn.s.huge_allocs;
  base.huge_frees = sn.s.huge_frees;
  base.moves = sn.s.realloc_moves;
  base.copied = sn.s.realloc_copied;
  for (mpca_heap *h = mpca_heap_first(); h; h = h->all_next) {
    __atomic_store_n(&h->cnt.small_peak, RD(h->small_used), __ATOMIC_RELAXED);
    __atomic_store_n(&h->cnt.medium_peak, RD(h->cnt.medium_used), __ATOMIC_RELAXED);
  }
  for (int i = 0; i < NNODES; i++)
    atomic_store_explicit(&mpca_stats_nodes[i].huge_peak, atomic_load(&mpca_stats_nodes[i].huge_used),
                          memory_order_relaxed);
  atomic_store_explicit(&mapped_peak, atomic_load(&mapped_total), memory_order_relaxed);
}

/* ---- output without malloc ------------------------------------------------ */

typedef struct out {
  int fd;
  int err; /* errno of the first failed write */
  size_t len;
  char buf[4096];
  char tmp[256];
} out;

static void out_flush(out *o)
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

static void out_put(out *o, const char *s, size_t n)
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
      out_flush(o);
  }
}

#define PUT(o, ...) out_put((o), (o)->tmp, mpca_snprintf((o)->tmp, sizeof(o)->tmp, __VA_ARGS__))

/* `v` right-aligned in `width` columns. */
static void put_col(out *o, uint64_t v, unsigned width)
{
  char num[24];
  size_t n = mpca_snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  while (width-- > n)
    out_put(o, " ", 1);
  out_put(o, num, n);
}

/* count / capacity as a fraction with 3 decimals ("0.492") or a percentage
 * with one ("49.2%"); 0 when the capacity is 0. */
static void put_ratio(out *o, uint64_t count, uint64_t capacity, bool percent)
{
  uint64_t pm = capacity ? count * 1000 / capacity : 0;
  char d[8];
  if (percent) {
    d[0] = (char)('0' + pm % 10);
    d[1] = 0;
    PUT(o, "%llu.%s%%", (unsigned long long)(pm / 10), d);
  } else {
    d[0] = (char)('0' + pm / 100 % 10);
    d[1] = (char)('0' + pm / 10 % 10);
    d[2] = (char)('0' + pm % 10);
    d[3] = 0;
    PUT(o, "%llu.%s", (unsigned long long)(pm / 1000), d);
  }
}

#define ULL(x) ((unsigned long long)(x))

static void print_text(out *o, const snapshot *sn)
{
  const struct mpc_alloc_stats *s = &sn->s;
  PUT(o, "mpcalloc %s statistics, pid %d (approximate while other threads run)\n", PACKAGE_VERSION, (int)getpid());
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
  PUT(o, "  node            mapped         in use         cached\n");
  for (uint64_t i = 0; i < s->nnodes; i++) {
    const struct mpc_alloc_stats_node *e = &s->nodes[i];
    if (e->node < 0)
      PUT(o, "  unbound");
    else
      PUT(o, "  %7d", (int)e->node);
    put_col(o, e->mapped, 15);
    put_col(o, e->in_use, 15);
    put_col(o, e->cached, 15);
    out_put(o, "\n", 1);
  }
  PUT(o, "  class  size      count          bytes   runs  utilisation\n");
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    if (sn->cls_count[c] == 0 && sn->cls_runs[c] == 0)
      continue;
    put_col(o, c, 7);
    put_col(o, mpca_classes[c].size, 6);
    put_col(o, sn->cls_count[c], 11);
    put_col(o, sn->cls_count[c] * mpca_classes[c].size, 15);
    put_col(o, sn->cls_runs[c], 7);
    out_put(o, "  ", 2);
    put_ratio(o, sn->cls_count[c], sn->cls_runs[c] * mpca_classes[c].nslots, true);
    out_put(o, "\n", 1);
  }
}

static void print_json(out *o, const snapshot *sn)
{
  const struct mpc_alloc_stats *s = &sn->s;
  PUT(o, "{\"version\": \"%s\", \"pid\": %d,\n", PACKAGE_VERSION, (int)getpid());
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
        c ? "," : "", c, (unsigned)mpca_classes[c].size, ULL(sn->cls_count[c]),
        ULL(sn->cls_count[c] * mpca_classes[c].size), ULL(sn->cls_runs[c]));
    put_ratio(o, sn->cls_count[c], sn->cls_runs[c] * mpca_classes[c].nslots, false);
    out_put(o, "}", 1);
  }
  PUT(o, "]}\n");
}

int mpca_stats_print_fd(int fd, bool json)
{
  out o;
  o.fd = fd;
  o.err = 0;
  o.len = 0;
  snapshot sn;
  mpca_stats_gather(&sn);
  if (json)
    print_json(&o, &sn);
  else
    print_text(&o, &sn);
  out_flush(&o);
  if (o.err) {
    errno = o.err;
    return -1;
  }
  return 0;
}

MPCA_EXPORT int mpc_alloc_stats_print(int fd, unsigned flags)
{
  if (fd < 0 || (flags & ~MPC_ALLOC_STATS_JSON)) {
    errno = EINVAL;
    return -1;
  }
  mpca_global_init();
  int saved = errno;
  int rc = mpca_stats_print_fd(fd, flags & MPC_ALLOC_STATS_JSON);
  if (rc == 0)
    errno = saved;
  return rc;
}

/* ---- report at exit ------------------------------------------------------- */

static int report_fd = 2; /* a copy of stderr made at start-up, if possible */

void mpca_stats_setup(void)
{
  if (mpca_opt[MPCA_OPT_STATS] == MPCA_STATS_OFF)
    return;
  int saved = errno;
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0)
    report_fd = fd;
  errno = saved;
}

/* MPCALLOC_STATS_FILE with "%p" replaced by the pid and "%%" by "%". */
static bool expand_path(char *dst, size_t n, const char *src)
{
  size_t len = 0;
  for (; *src; src++) {
    char piece[24];
    size_t k;
    if (src[0] == '%' && src[1] == 'p') {
      k = mpca_snprintf(piece, sizeof piece, "%d", (int)getpid());
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

__attribute__((destructor)) static void mpca_stats_at_exit(void)
{
  uint64_t mode = mpca_opt[MPCA_OPT_STATS];
  if (mode == MPCA_STATS_OFF) /* set: the options were read, start-up is done */
    return;
  int saved = errno;
  int fd = report_fd;
  const char *file = mpca_opt_str(MPCA_OPT_STATS_FILE);
  if (*file) {
    char path[4096];
    if (!expand_path(path, sizeof path, file))
      mpca_printf_fd(report_fd, "mpcalloc: MPCALLOC_STATS_FILE is too long; statistics go to standard error\n");
    else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
      mpca_printf_fd(report_fd,
                     "mpcalloc: cannot open MPCALLOC_STATS_FILE '%s' (errno %d); statistics go to standard error\n",
                     path, errno);
    if (fd < 0)
      fd = report_fd;
  }
  mpca_stats_print_fd(fd, mode == MPCA_STATS_JSON);
  if (fd != 2 && fd != report_fd)
    close(fd);
  errno = saved;
}
