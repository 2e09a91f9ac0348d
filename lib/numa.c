/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * NUMA topology and page placement policies: which node a thread's CPU
 * affinity lies in, the node of threads bound to none (MPCALLOC_NUMA_NODE),
 * binding a source's new mappings to its node or interleaving them over the
 * nodes (MPCALLOC_NUMA_INTERLEAVE_MIN), moving pages. A low layer: it knows
 * nothing of heaps or sources (what a rebind does to a heap is in
 * numa_heap.c).
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
#include "mpca_numa.h"
#include "mpca_os.h"

#define MAX_CPUS 4096
#define CPU_WORDS (MAX_CPUS / 64)
#define NODE_WORDS ((MPCA_MAX_NODES + 63) / 64)

static uint64_t node_cpus[MPCA_MAX_NODES][CPU_WORDS]; /* bit i: CPU i */
/* Rows of node_cpus a load may have written (cleared by the next load
 * only: the 32 KiB table is touched where nodes exist, not whole). */
static int node_rows;
static uint64_t node_online[NODE_WORDS];
static int node_count = 1;
static bool topology; /* read from sysfs */
static bool placing;
/* The nodes interleaved blocks spread over, and from which size on. */
static uint64_t il_nodes[NODE_WORDS];
static int il_count;
size_t mpca_numa_interleave_from = SIZE_MAX;
size_t mpca_numa_medium_max = MPCA_MEDIUM_MAX;
/* The node of heaps whose thread is bound to none (MPCALLOC_NUMA_NODE). */
static int unbound_node = MPCA_NODE_UNBOUND;


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

/* The placement policies from the options, once the topology is known.
 * `allowed`: the nodes the process may place memory on (NULL: every online
 * node). A MPCALLOC_NUMA_NODE that is not online gets one line on `fd` (-1:
 * no complaint, made already) and is dropped. */
static void set_policies(const uint64_t *allowed, int fd)
{
  il_count = 0;
  for (int w = 0; w < NODE_WORDS; w++) {
    il_nodes[w] = node_online[w] & (allowed ? allowed[w] : ~(uint64_t)0);
    il_count += __builtin_popcountll(il_nodes[w]);
  }
  uint64_t min = mpca_opt[MPCA_OPT_NUMA_INTERLEAVE_MIN];
  mpca_numa_interleave_from = placing && il_count >= 2 && min != 0 ? (size_t)min : SIZE_MAX;
  mpca_numa_medium_max = mpca_numa_interleave_from <= MPCA_MEDIUM_MAX ? mpca_numa_interleave_from - 1 : MPCA_MEDIUM_MAX;
  unbound_node = MPCA_NODE_UNBOUND;
  uint64_t n = mpca_opt[MPCA_OPT_NUMA_NODE];
  if (n == MPCA_NODE_NONE)
    return;
  if (topology && !mpca_numa_node_valid((int)n)) {
    if (fd >= 0)
      mpca_config_refuse(fd, MPCA_OPT_NUMA_NODE, "no such NUMA node is online");
    return;
  }
  if (placing)
    unbound_node = (int)n;
}

int mpca_numa_load(const char *root)
{
  char path[512], buf[4096];
  for (int n = 0; n < node_rows; n++)
    for (int w = 0; w < CPU_WORDS; w++)
      node_cpus[n][w] = 0;
  node_rows = 0;
  for (int w = 0; w < NODE_WORDS; w++)
    node_online[w] = 0;
  node_count = 1;
  topology = placing = false;

  build_path(path, sizeof path, root, -1, "online");
  if (!read_file(path, buf, sizeof buf) || !parse_list(buf, node_online, MPCA_MAX_NODES)) {
    for (int w = 0; w < NODE_WORDS; w++)
      node_online[w] = 0;
    node_online[0] = 1; /* no topology: one node, node 0 */
    set_policies(NULL, 2);
    return 1;
  }
  topology = true;
  int count = 0;
  for (int n = 0; n < MPCA_MAX_NODES; n++) {
    if (!(node_online[n / 64] & ((uint64_t)1 << (n % 64))))
      continue;
    count++;
    node_rows = n + 1;
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
  set_policies(NULL, 2);
  return count;
}

/* The nodes the calling thread may place memory on (its cpuset's memory
 * nodes, get_mempolicy MPOL_F_MEMS_ALLOWED) into `mask`; false when the
 * kernel does not say. */
static bool mems_allowed(uint64_t *mask)
{
  int saved = errno;
  long r = syscall(SYS_get_mempolicy, NULL, mask, (unsigned long)MPCA_MAX_NODES + 1, NULL,
                   (unsigned long)MPOL_F_MEMS_ALLOWED);
  errno = saved;
  return r == 0;
}

void mpca_numa_init(void)
{
#ifdef HAVE_LIBNUMA
  if (mpca_opt[MPCA_OPT_NUMA] == MPCA_NUMA_AUTO) {
    mpca_numa_load("/sys");
    uint64_t allowed[NODE_WORDS] = {0};
    if (placing && mems_allowed(allowed))
      set_policies(allowed, -1);
    return;
  }
#endif
  node_online[0] = 1;
  node_count = 1;
  topology = placing = false;
  set_policies(NULL, -1);
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

/* mbind(2) of [p, p + size) with `mode` over `nodes` (NULL: none). */
static long do_mbind(void *p, size_t size, int mode, const uint64_t *nodes, unsigned flags)
{
  if (mpca_os_fault_now())
    return -1; /* as a refusal by the kernel */
  int saved = errno;
  /* maxnode counts one bit more than the kernel reads (its historic
   * off-by-one), so MPCA_MAX_NODES + 1 covers the whole mask. */
  long r = syscall(SYS_mbind, p, size, mode, nodes, nodes ? (unsigned long)MPCA_MAX_NODES + 1 : 0UL, flags);
  errno = saved;
  return r;
}

/* The policy of a source's memory: PREFERRED on its node, or INTERLEAVE
 * over il_nodes; `nodes` receives the mask. False for the unbound source. */
static bool policy_of(int node, int *mode, uint64_t *nodes)
{
  for (int w = 0; w < NODE_WORDS; w++)
    nodes[w] = node == MPCA_NODE_INTERLEAVED ? il_nodes[w] : 0;
  if (node == MPCA_NODE_INTERLEAVED) {
    *mode = MPOL_INTERLEAVE;
    return il_count >= 2;
  }
  if (node < 0 || node >= MPCA_MAX_NODES)
    return false;
  nodes[node / 64] = (uint64_t)1 << (node % 64);
  *mode = MPOL_PREFERRED;
  return true;
}

void mpca_numa_bind(void *p, size_t size, int node)
{
  uint64_t nodes[NODE_WORDS];
  int mode;
  if (placing && policy_of(node, &mode, nodes))
    do_mbind(p, size, mode, nodes, 0);
}

bool mpca_numa_move(void *p, size_t size, int node)
{
  if (!placing)
    return true;
  uint64_t nodes[NODE_WORDS];
  int mode;
  if (!policy_of(node, &mode, nodes))
    return do_mbind(p, size, MPOL_DEFAULT, NULL, 0) == 0;
  return do_mbind(p, size, mode, nodes, MPOL_MF_MOVE) == 0;
}

int mpca_numa_home_node(void)
{
  int node = mpca_numa_thread_node();
  return node >= 0 ? node : unbound_node;
}

int mpca_numa_interleave_nodes(uint64_t *mask, size_t nwords)
{
  for (size_t w = 0; w < nwords; w++)
    mask[w] = w < NODE_WORDS ? il_nodes[w] : 0;
  return il_count;
}
