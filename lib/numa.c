/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and page placement: which node a thread's CPU affinity lies
 * in, binding a source's new mappings to its node, moving a heap's pages
 * when its thread moves (MPCALLOC_NUMA_MIGRATE), and the work behind
 * mpc_alloc_numa_rebind, mpc_alloc_on_node and mpc_alloc_numa_node.
 *
 * Why no libnuma call: mpca_numa_init runs inside the first malloc's global
 * set-up, and libnuma allocates with malloc in its constructor and in most of
 * its functions (bitmasks, the cpu-to-node tables). Calling it there would
 * re-enter malloc while the init spin is held and deadlock; calling it later
 * would still make placement decisions depend on allocations from the heap
 * being placed. So the topology is read from sysfs
 * (<root>/devices/system/node/online and node<N>/cpulist) with open/read into
 * static arrays, and the mbind/sched_getaffinity system calls are made with
 * syscall(2). The configure switch --with-numa (HAVE_LIBNUMA) still decides
 * whether placement is compiled in at all: without it, every function here
 * says "one node, unbound" and costs nothing.
 *
 * Policy: a source's mappings are bound with MPOL_PREFERRED, not MPOL_BIND.
 * BIND makes a full node an out-of-memory kill (or SIGBUS) for a program that
 * would have run fine with the default policy; an allocator must never turn
 * a placement hint into a crash. PREFERRED places every page on the node
 * while it has free memory and falls back to the others after that.
 *
 * What it must never do: call malloc (or anything that does), touch the
 * malloc/free fast paths, or fail an allocation because placement failed
 * (a refused mbind leaves the memory where the kernel puts it). */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_init.h"
#include "mpca_list.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_small.h"
#include "mpca_source.h"

#define MAX_CPUS 4096
#define CPU_WORDS (MAX_CPUS / 64)
#define NODE_WORDS ((MPCA_MAX_NODES + 63) / 64)

static uint64_t node_cpus[MPCA_MAX_NODES][CPU_WORDS]; /* bit i: CPU i */
static uint64_t node_online[NODE_WORDS];
static int node_count = 1;
static bool placing;


/* ---- sysfs parsing (no malloc, no stdio) --------------------------------- */

/* Read a small file into buf (NUL-terminated); false if absent or empty. */
static bool read_file(const char *path, char *buf, size_t n)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  size_t got = 0;
  while (got + 1 < n) {
    ssize_t r = read(fd, buf + got, n - 1 - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  return got > 0;
}

/* Parse a kernel list ("0-3,8,10-11\n") into a bitmap of `nbits` bits.
 * False on a syntax error; bits past nbits are ignored. */
static bool parse_list(const char *s, uint64_t *bits, unsigned nbits)
{
  while (*s == ' ')
    s++;
  while (*s && *s != '\n') {
    unsigned long a = 0, b;
    if (*s < '0' || *s > '9')
      return false;
    while (*s >= '0' && *s <= '9' && a < 1000000)
      a = a * 10 + (unsigned long)(*s++ - '0');
    b = a;
    if (*s == '-') {
      s++;
      if (*s < '0' || *s > '9')
        return false;
      b = 0;
      while (*s >= '0' && *s <= '9' && b < 1000000)
        b = b * 10 + (unsigned long)(*s++ - '0');
      if (b < a)
        return false;
    }
    for (unsigned long i = a; i <= b && i < nbits; i++)
      bits[i / 64] |= (uint64_t)1 << (i % 64);
    if (*s == ',')
      s++;
    else if (*s && *s != '\n')
      return false;
  }
  return true;
}

/* dst = root + "/devices/system/node/" + ["node<N>/" when node >= 0] +
 * leaf, truncated to `size` bytes (snprintf is not used: no locale, no
 * allocation). */
static void build_path(char *dst, size_t size, const char *root, int node, const char *leaf)
{
  size_t i = 0;
  const char *parts[2] = {root, "/devices/system/node/"};
  for (int k = 0; k < 2; k++)
    for (const char *p = parts[k]; *p && i + 1 < size; p++)
      dst[i++] = *p;
  if (node >= 0) {
    char digits[12];
    int nd = 0;
    const char *np = "node";
    for (; *np && i + 1 < size; np++)
      dst[i++] = *np;
    unsigned v = (unsigned)node;
    do {
      digits[nd++] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    while (nd > 0 && i + 1 < size)
      dst[i++] = digits[--nd];
    if (i + 1 < size)
      dst[i++] = '/';
  }
  for (const char *p = leaf; *p && i + 1 < size; p++)
    dst[i++] = *p;
  dst[i] = '\0';
}

int mpca_numa_load(const char *root)
{
  char path[512], buf[4096];
  for (int n = 0; n < MPCA_MAX_NODES; n++)
    for (int w = 0; w < CPU_WORDS; w++)
      node_cpus[n][w] = 0;
  for (int w = 0; w < NODE_WORDS; w++)
    node_online[w] = 0;
  node_count = 1;
  placing = false;

  build_path(path, sizeof path, root, -1, "online");
  if (!read_file(path, buf, sizeof buf) || !parse_list(buf, node_online, MPCA_MAX_NODES)) {
    for (int w = 0; w < NODE_WORDS; w++)
      node_online[w] = 0;
    node_online[0] = 1; /* no topology: one node, node 0 */
    return 1;
  }
  int count = 0;
  for (int n = 0; n < MPCA_MAX_NODES; n++) {
    if (!(node_online[n / 64] & ((uint64_t)1 << (n % 64))))
      continue;
    count++;
    build_path(path, sizeof path, root, n, "cpulist");
    if (read_file(path, buf, sizeof buf) && !parse_list(buf, node_cpus[n], MAX_CPUS))
      for (int w = 0; w < CPU_WORDS; w++)
        node_cpus[n][w] = 0; /* unreadable list: no thread is bound there */
  }
  if (count == 0) {
    node_online[0] = 1;
    count = 1;
  }
  node_count = count;
#ifdef HAVE_LIBNUMA
  placing = count >= 2 && mpca_opt[MPCA_OPT_NUMA] == MPCA_NUMA_AUTO;
#endif
  return count;
}

void mpca_numa_init(void)
{
#ifdef HAVE_LIBNUMA
  if (mpca_opt[MPCA_OPT_NUMA] == MPCA_NUMA_AUTO) {
    mpca_numa_load("/sys");
    return;
  }
#endif
  node_online[0] = 1;
  node_count = 1;
  placing = false;
}

int mpca_numa_node_count(void) { return node_count; }

bool mpca_numa_enabled(void) { return placing; }

bool mpca_numa_node_valid(int node)
{
  return node >= 0 && node < MPCA_MAX_NODES && (node_online[node / 64] & ((uint64_t)1 << (node % 64)));
}

/* ---- placement ------------------------------------------------------------ */

int mpca_numa_node_of_mask(const uint64_t *mask, size_t nwords)
{
  if (!placing)
    return -1;
  if (nwords > CPU_WORDS)
    nwords = CPU_WORDS;
  for (int n = 0; n < MPCA_MAX_NODES; n++) {
    if (!mpca_numa_node_valid(n))
      continue;
    bool any = false, inside = true;
    for (size_t w = 0; w < nwords && inside; w++) {
      if (mask[w] & ~node_cpus[n][w])
        inside = false;
      any |= mask[w] != 0;
    }
    if (!any)
      return -1;
    if (inside)
      return n;
  }
  return -1;
}

int mpca_numa_thread_node(void)
{
  if (!placing)
    return -1;
  uint64_t mask[CPU_WORDS] = {0};
  int saved = errno;
  long r = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  errno = saved;
  if (r <= 0)
    return -1;
  return mpca_numa_node_of_mask(mask, (size_t)r / sizeof(uint64_t));
}

static long do_mbind(void *p, size_t size, int mode, int node, unsigned flags)
{
  uint64_t nodes[NODE_WORDS] = {0};
  if (node >= 0)
    nodes[node / 64] = (uint64_t)1 << (node % 64);
  if (mpca_os_fault_now())
    return -1; /* as a refusal by the kernel */
  int saved = errno;
  /* maxnode counts one bit more than the kernel reads (its historic
   * off-by-one), so MPCA_MAX_NODES + 1 covers the whole mask. */
  long r = syscall(SYS_mbind, p, size, mode, node >= 0 ? nodes : NULL,
                   node >= 0 ? (unsigned long)MPCA_MAX_NODES + 1 : 0UL, flags);
  errno = saved;
  return r;
}

void mpca_numa_bind(void *p, size_t size, int node)
{
  if (!placing || node < 0)
    return;
  do_mbind(p, size, MPOL_PREFERRED, node, 0);
}

bool mpca_numa_move(void *p, size_t size, int node)
{
  if (!placing)
    return true;
  if (node < 0)
    return do_mbind(p, size, MPOL_DEFAULT, -1, 0) == 0;
  return do_mbind(p, size, MPOL_PREFERRED, node, MPOL_MF_MOVE) == 0;
}

/* ---- the API's work ------------------------------------------------------- */

static void rehome_list(mpca_list *list, mpca_source *s, int node)
{
  for (mpca_list *n = list->next; n != list; n = n->next) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    seg->source = s;
    seg->node = (uint32_t)node;
    mpca_numa_move(seg, seg->size, node);
  }
}

/* MPCALLOC_NUMA_MIGRATE: the heap, its macro blocks and their pages move to
 * `node`; the blocks go back to the new node's source when they empty. */
static void rehome(mpca_heap *h, int node)
{
  mpca_source *s = mpca_source_for_node(node);
  mpca_heap_drain(h);
  /* The thread cache may hold blocks of other heaps of the old node: they
   * go back to their owners, and the heap's own to their runs (moved). */
  mpca_small_flush(h);
  rehome_list(&h->small_avail, s, node);
  rehome_list(&h->small_full, s, node);
  rehome_list(&h->medium_segs, s, node);
  h->node = node;
  h->source = s;
}

int mpca_numa_rebind(void)
{
  mpca_global_init();
  mpca_heap *h = mpca_tls_heap;
  if (h == NULL) {
    h = mpca_thread_init();
    return h ? h->node : -1;
  }
  int node = mpca_numa_thread_node();
  if (node == h->node)
    return node;
  if (mpca_opt[MPCA_OPT_NUMA_MIGRATE]) {
    rehome(h, node);
    return node;
  }
  /* Abandon the heap to its node's pool, take one of the new node: blocks of
   * the old heap stay valid and are freed to it like any remote free. */
  mpca_heap *fresh = mpca_heap_acquire();
  if (fresh == NULL)
    return h->node;
  mpca_thread_switch_heap(fresh);
  mpca_heap_abandon(h);
  return fresh->node;
}

void *mpca_numa_alloc_on_node(int node, size_t size)
{
  if (!mpca_numa_node_valid(node)) {
    errno = EINVAL;
    return NULL;
  }
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  mpca_heap *h = mpca_heap_get();
  if (h == NULL)
    return NULL;
  /* A huge-style block: its own macro block from the node's source, freed
   * back to that source by plain free from any thread. */
  mpca_source *s = mpca_source_for_node(placing ? node : -1);
  void *p = mpca_huge_malloc(h, s, size, MPCA_ALIGNMENT, false);
  if (p == NULL)
    errno = ENOMEM;
  return p;
}

int mpca_numa_current_node(void)
{
  mpca_heap *h = mpca_heap_get();
  return h ? h->node : -1;
}
