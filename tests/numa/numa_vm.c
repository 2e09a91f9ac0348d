/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The /init of the two-node virtual machine of vm.sh, linked statically
 * with the allocator's sources (so malloc here is libmpcalloc's). As process
 * 1 it mounts /proc, /sys and /dev, then runs itself three times as a child
 * (the allocator must read the topology after the mounts): with the default
 * options, with MPCALLOC_NUMA_MIGRATE=1, and with the placement policies
 * MPCALLOC_NUMA_INTERLEAVE_MIN=4M MPCALLOC_NUMA_NODE=1 ("policies"); then it
 * powers the machine off. The children check where the kernel put the pages
 * of blocks (move_pages with no target node reports it) and print one line
 * per check:
 *   NUMA-TEST <name> PASS|FAIL <pages on the expected node>/<pages> <detail>
 * then NUMA-TESTS-DONE. It must never need anything but the kernel: no
 * shell, no libraries, no files besides itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mpcalloc.h"

#define SMALL_N 2000
#define SMALL_SIZE 200
#define MEDIUM_N 24
#define MEDIUM_SIZE (96 * 1024)
#define HUGE_SIZE ((size_t)12 << 20)
#define THRESHOLD 0.99

static const char *mode = "default";
static int failures;
static long page_size;
static int node_cpu[2] = {-1, -1};

/* ---- page placement --------------------------------------------------------- */

struct count {
  unsigned long on, total;
};

/* Count the pages of [p, p + n) on `node`. The pages must be touched. */
static void count_range(struct count *c, const void *p, size_t n, int node)
{
  enum { BATCH = 512 };
  void *pages[BATCH];
  int status[BATCH];
  uintptr_t first = (uintptr_t)p & ~(uintptr_t)(page_size - 1);
  uintptr_t end = (uintptr_t)p + n;
  for (uintptr_t a = first; a < end;) {
    unsigned k = 0;
    for (; k < BATCH && a < end; k++, a += (uintptr_t)page_size)
      pages[k] = (void *)a;
    if (syscall(SYS_move_pages, 0, (unsigned long)k, pages, NULL, status, 0) != 0) {
      printf("move_pages: %s\n", strerror(errno));
      c->total += k;
      continue;
    }
    for (unsigned i = 0; i < k; i++) {
      c->total++;
      if (status[i] == node)
        c->on++;
    }
  }
}

static void report(const char *name, const struct count *c, int node, const char *detail)
{
  bool ok = c->total > 0 && (double)c->on >= THRESHOLD * (double)c->total;
  if (!ok)
    failures++;
  printf("NUMA-TEST %s-%s %s %lu/%lu pages on node %d%s%s\n", mode, name, ok ? "PASS" : "FAIL", c->on, c->total,
         node, detail ? ": " : "", detail ? detail : "");
  fflush(stdout);
}

static void check(const char *name, bool ok, const char *detail)
{
  if (!ok)
    failures++;
  printf("NUMA-TEST %s-%s %s %s\n", mode, name, ok ? "PASS" : "FAIL", detail);
  fflush(stdout);
}

/* One set of blocks of every kind. */
struct set {
  char *small[SMALL_N];
  char *medium[MEDIUM_N];
  char *huge;
};

static void set_touch(struct set *s)
{
  for (int i = 0; i < SMALL_N; i++)
    memset(s->small[i], 1, SMALL_SIZE);
  for (int i = 0; i < MEDIUM_N; i++)
    memset(s->medium[i], 2, MEDIUM_SIZE);
  memset(s->huge, 3, HUGE_SIZE);
}

static void set_alloc_untouched(struct set *s)
{
  for (int i = 0; i < SMALL_N; i++)
    s->small[i] = malloc(SMALL_SIZE);
  for (int i = 0; i < MEDIUM_N; i++)
    s->medium[i] = malloc(MEDIUM_SIZE);
  s->huge = malloc(HUGE_SIZE);
}

static void set_alloc(struct set *s)
{
  set_alloc_untouched(s);
  set_touch(s);
}

static void set_free(struct set *s)
{
  for (int i = 0; i < SMALL_N; i++)
    free(s->small[i]);
  for (int i = 0; i < MEDIUM_N; i++)
    free(s->medium[i]);
  free(s->huge);
}

/* Check every kind of `s` on `node`; `prefix` names the check. huge = false
 * leaves the huge block out. */
static void set_check(const char *prefix, struct set *s, int node, bool huge)
{
  char name[64];
  struct count c = {0, 0};
  for (int i = 0; i < SMALL_N; i++)
    count_range(&c, s->small[i], SMALL_SIZE, node);
  snprintf(name, sizeof name, "%s-small", prefix);
  report(name, &c, node, "(pages of each block)");
  c = (struct count){0, 0};
  for (int i = 0; i < MEDIUM_N; i++)
    count_range(&c, s->medium[i], MEDIUM_SIZE, node);
  snprintf(name, sizeof name, "%s-medium", prefix);
  report(name, &c, node, NULL);
  if (huge) {
    c = (struct count){0, 0};
    count_range(&c, s->huge, HUGE_SIZE, node);
    snprintf(name, sizeof name, "%s-huge", prefix);
    report(name, &c, node, NULL);
  }
}

/* ---- threads ------------------------------------------------------------------ */

static void pin(int node)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(node_cpu[node], &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
    printf("pthread_setaffinity_np failed\n");
}

/* A thread allowed on the CPUs of `nodes` (node numbers, `n` of them). */
static pthread_t start_on_nodes(const int *nodes, int n, void *(*fn)(void *), void *arg)
{
  fflush(stdout);
  pthread_attr_t attr;
  cpu_set_t set;
  pthread_attr_init(&attr);
  CPU_ZERO(&set);
  for (int i = 0; i < n; i++)
    CPU_SET(node_cpu[nodes[i]], &set);
  pthread_attr_setaffinity_np(&attr, sizeof set, &set);
  pthread_t t;
  if (pthread_create(&t, &attr, fn, arg) != 0) {
    printf("pthread_create failed\n");
    exit(1);
  }
  pthread_attr_destroy(&attr);
  return t;
}

static pthread_t start_on(int node, void *(*fn)(void *), void *arg) { return start_on_nodes(&node, 1, fn, arg); }

static struct set sets[4];

/* A thread bound before its first malloc. */
static void *bound(void *arg)
{
  int node = (int)(intptr_t)arg;
  struct set *s = &sets[node];
  set_alloc(s); /* first malloc of this thread */
  char name[32], detail[64];
  int got = mpc_alloc_numa_node();
  snprintf(name, sizeof name, "bound%d-node", node);
  snprintf(detail, sizeof detail, "mpc_alloc_numa_node() = %d", got);
  check(name, got == node, detail);
  snprintf(name, sizeof name, "bound%d", node);
  set_check(name, s, node, true);
  set_free(s);
  return NULL;
}

/* The pages are touched first by a thread of the other node: the heap's
 * binding, not first touch, must place them. */
static void *toucher(void *arg)
{
  set_touch(arg);
  return NULL;
}

static pthread_t start_on(int node, void *(*fn)(void *), void *arg);

static void *bound_remote_touch(void *arg)
{
  int node = (int)(intptr_t)arg;
  struct set *s = &sets[node];
  set_alloc_untouched(s);
  pthread_join(start_on(1 - node, toucher, s), NULL);
  char name[32];
  snprintf(name, sizeof name, "touched-by-other%d", node);
  set_check(name, s, node, true);
  set_free(s);
  return NULL;
}

/* Allocates on node 0, moves to node 1, rebinds, allocates again. */
static void *mover(void *arg)
{
  bool migrate = arg != NULL;
  struct set *a = &sets[0], *b = &sets[1];
  set_alloc(a);
  set_check("rebind-before", a, 0, true);
  pin(1);
  int got = mpc_alloc_numa_rebind();
  char detail[64];
  snprintf(detail, sizeof detail, "mpc_alloc_numa_rebind() = %d", got);
  check("rebind-returns", got == 1 && mpc_alloc_numa_node() == 1, detail);
  /* the bytes of a migrated heap move to the new node's count */
  struct mpc_alloc_stats st = {.size = sizeof st};
  bool sane = mpc_alloc_stats_get(&st) == 0;
  for (uint64_t i = 0; sane && i < st.nnodes; i++)
    sane = st.nodes[i].mapped < ((uint64_t)1 << 48) && st.nodes[i].in_use < ((uint64_t)1 << 48);
  check("rebind-stats", sane, "per-node mapped and in-use bytes below 2^48 (no count went negative)");
  set_alloc(b);
  set_check("rebind-new", b, 1, true);
  if (migrate)
    set_check("rebind-old-migrated", a, 1, false); /* huge blocks have no heap: not moved */
  else
    set_check("rebind-old-stays", a, 0, true);
  /* old blocks stay valid: realloc and free them from the new node */
  a->small[0] = realloc(a->small[0], 2 * SMALL_SIZE);
  check("rebind-old-realloc", a->small[0] != NULL && a->small[0][SMALL_SIZE - 1] == 1, "old block reallocated");
  set_free(a);
  set_free(b);
  /* and the thread goes on allocating on node 1 */
  set_alloc(b);
  set_check("rebind-after-free", b, 1, true);
  set_free(b);
  return NULL;
}

/* Remote frees: blocks of node 0 freed by a node-1 thread go back to node 0. */
static pthread_barrier_t bar;
static struct set remote_set;

static void *remote_owner(void *arg)
{
  (void)arg;
  set_alloc(&remote_set);
  pthread_barrier_wait(&bar); /* the node-1 thread frees them */
  pthread_barrier_wait(&bar);
  struct set *s = &sets[2];
  set_alloc(s); /* reuses the freed memory */
  set_check("remote-owner-realloc", s, 0, true);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar); /* node-1 thread has allocated */
  set_free(s);
  return NULL;
}

static void *remote_freer(void *arg)
{
  (void)arg;
  void *warm = malloc(16); /* get this thread's (node 1) heap first */
  pthread_barrier_wait(&bar);
  set_free(&remote_set);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  struct set *s = &sets[3];
  set_alloc(s); /* node 0's cached memory must not come here */
  set_check("remote-freer-alloc", s, 1, true);
  pthread_barrier_wait(&bar);
  set_free(s);
  free(warm);
  return NULL;
}

static void on_node_tests(void)
{
  for (int node = 0; node < 2; node++) {
    for (int k = 0; k < 2; k++) {
      size_t size = k ? HUGE_SIZE : 5000;
      char *p = mpc_alloc_on_node(node, size);
      char name[32];
      snprintf(name, sizeof name, "on-node%d-%s", node, k ? "big" : "small");
      if (p == NULL) {
        check(name, false, "mpc_alloc_on_node returned NULL");
        continue;
      }
      memset(p, 4, size);
      struct count c = {0, 0};
      count_range(&c, p, size, node);
      report(name, &c, node, NULL);
      free(p);
    }
  }
  errno = 0;
  void *bad = mpc_alloc_on_node(2, 100);
  check("on-node-einval", bad == NULL && errno == EINVAL, "mpc_alloc_on_node(2, 100) = NULL, EINVAL");
}

/* ---- placement policies (mode "policies") ------------------------------------ */

/* MPCALLOC_NUMA_INTERLEAVE_MIN of the "policies" child. */
#define IL_MIN ((size_t)4 << 20)
#define IL_MIN_ENV "MPCALLOC_NUMA_INTERLEAVE_MIN=4M"
#define IL_SHARE_LO 0.40
#define IL_SHARE_HI 0.60

/* Each block of `sizes` (touched) must have 40-60 % of its pages on each
 * node: interleaved page by page. */
static void check_interleaved(const char *name, char **blocks, const size_t *sizes, int n)
{
  int bad = 0;
  char detail[160] = "";
  unsigned long on0 = 0, total = 0;
  for (int i = 0; i < n; i++) {
    struct count c = {0, 0};
    count_range(&c, blocks[i], sizes[i], 0);
    on0 += c.on;
    total += c.total;
    double share = c.total ? (double)c.on / (double)c.total : 0;
    if (share < IL_SHARE_LO || share > IL_SHARE_HI) {
      if (!bad)
        snprintf(detail, sizeof detail, ": block %d of %zu bytes has %lu/%lu pages on node 0", i, sizes[i], c.on,
                 c.total);
      bad++;
    }
  }
  if (bad)
    failures++;
  printf("NUMA-TEST %s-%s %s %lu/%lu pages on node 0, each of %d blocks 40-60%%%s\n", mode, name,
         bad ? "FAIL" : "PASS", on0, total, n, detail);
  fflush(stdout);
}

/* Blocks at or above IL_MIN. Each spans an even number of 2 MiB units: the
 * machine's kernel gives transparent huge pages to every mapping (Debian's
 * THP "always"), which are interleaved 2 MiB at a time, so a block of three
 * units would have a third of its pages on one node. */
#define IL_N 4
static const size_t il_sizes[IL_N] = {IL_MIN, (size_t)8 << 20, (size_t)12 << 20, (size_t)20 << 20};

static void alloc_touch(char **b, const size_t *sizes, int n, int byte)
{
  for (int i = 0; i < n; i++) {
    b[i] = malloc(sizes[i]);
    if (b[i] == NULL) {
      printf("malloc(%zu) failed\n", sizes[i]);
      exit(1);
    }
    memset(b[i], byte, sizes[i]);
  }
}

static void free_all(char **b, int n)
{
  for (int i = 0; i < n; i++)
    free(b[i]);
}

/* Interleaved sizes of the source stats entry (-2): in use, cached. */
static bool interleaved_entry(uint64_t *in_use, uint64_t *cached)
{
  struct mpc_alloc_stats st = {.size = sizeof st};
  if (mpc_alloc_stats_get(&st) != 0)
    return false;
  for (uint64_t i = 0; i < st.nnodes; i++)
    if (st.nodes[i].node == MPC_ALLOC_STATS_NODE_INTERLEAVED) {
      *in_use = st.nodes[i].in_use;
      *cached = st.nodes[i].cached;
      return true;
    }
  return false;
}

/* A thread bound to `node`: big blocks interleaved, small, medium and
 * smaller huge blocks local; the caches keep the two apart. */
static void *policy_bound(void *arg)
{
  int node = (int)(intptr_t)arg;
  char name[64], detail[128];
  struct set *s = &sets[node];
  set_alloc(s); /* small 200 B, medium 96 KiB, huge 12 MiB (>= IL_MIN) */
  snprintf(name, sizeof name, "bound%d", node);
  set_check(name, s, node, false);
  char *big[IL_N];
  alloc_touch(big, il_sizes, IL_N, 5);
  snprintf(name, sizeof name, "bound%d-interleaved", node);
  check_interleaved(name, big, il_sizes, IL_N);
  snprintf(name, sizeof name, "bound%d-set-huge-interleaved", node);
  check_interleaved(name, &s->huge, &(size_t){HUGE_SIZE}, 1);
  uint64_t in_use = 0, cached = 0;
  bool listed = interleaved_entry(&in_use, &cached);
  size_t want = HUGE_SIZE;
  for (int i = 0; i < IL_N; i++)
    want += il_sizes[i];
  snprintf(detail, sizeof detail, "interleaved entry: %s, in use %llu bytes, at least %zu expected",
           listed ? "listed" : "missing", (unsigned long long)in_use, want);
  snprintf(name, sizeof name, "bound%d-stats-interleaved", node);
  check(name, listed && in_use >= want, detail);
  /* the text report has a line of its own for the interleaved source */
  int fds[2];
  char text[8192];
  ssize_t got = -1;
  if (pipe(fds) == 0) {
    mpc_alloc_stats_print(fds[1], 0);
    close(fds[1]);
    got = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
  }
  text[got > 0 ? got : 0] = '\0';
  snprintf(name, sizeof name, "bound%d-stats-text", node);
  check(name, strstr(text, "\n  interleaved ") != NULL, "text report: an 'interleaved' line in the node table");

  /* a local huge block below IL_MIN, freed: an interleaved request must not
   * get it (nor grow it), and the reverse */
  size_t local_sizes[2] = {(size_t)3 << 20, (size_t)3 << 20};
  char *local[2];
  alloc_touch(local, local_sizes, 2, 6);
  struct count c = {0, 0};
  count_range(&c, local[0], local_sizes[0], node);
  count_range(&c, local[1], local_sizes[1], node);
  snprintf(name, sizeof name, "bound%d-local-huge", node);
  report(name, &c, node, "3 MiB blocks, below MPCALLOC_NUMA_INTERLEAVE_MIN");
  free_all(local, 2);
  free_all(big, IL_N);
  /* cached now: 2 local 3 MiB blocks (merged or not) and the interleaved ones */
  char *again[IL_N];
  alloc_touch(again, il_sizes, IL_N, 7);
  snprintf(name, sizeof name, "bound%d-interleaved-from-cache", node);
  check_interleaved(name, again, il_sizes, IL_N);
  size_t small_local[2] = {(size_t)2 << 20, (size_t)3 << 20};
  char *loc2[2];
  alloc_touch(loc2, small_local, 2, 8);
  c = (struct count){0, 0};
  count_range(&c, loc2[0], small_local[0], node);
  count_range(&c, loc2[1], small_local[1], node);
  snprintf(name, sizeof name, "bound%d-local-from-cache", node);
  report(name, &c, node, "2 and 3 MiB blocks after interleaved ones were freed");
  free_all(loc2, 2);
  free_all(again, IL_N);
  /* the interleaved cache gives back only interleaved memory: a request
   * between the cached local block and IL_MIN stays local */
  char *mid = malloc((size_t)7 << 19); /* 3.5 MiB: would fit a cached interleaved block */
  memset(mid, 9, (size_t)7 << 19);
  c = (struct count){0, 0};
  count_range(&c, mid, (size_t)7 << 19, node);
  snprintf(name, sizeof name, "bound%d-local-not-from-interleaved", node);
  report(name, &c, node, "3.5 MiB block with interleaved blocks cached");
  free(mid);

  /* realloc across the threshold: a local block grown to IL_MIN and more
   * becomes interleaved, its bytes kept */
  const size_t from = (size_t)2 << 20, to = (size_t)12 << 20;
  char *g = malloc(from);
  memset(g, 10, from);
  g = realloc(g, to);
  bool kept = g != NULL && g[0] == 10 && g[from - 1] == 10;
  memset(g + from, 11, to - from);
  snprintf(name, sizeof name, "bound%d-realloc-kept", node);
  check(name, kept, "2 MiB block grown to 12 MiB keeps its bytes");
  snprintf(name, sizeof name, "bound%d-realloc-interleaved", node);
  check_interleaved(name, &g, &to, 1);
  free(g);
  set_free(s);
  return NULL;
}

/* A thread bound to no node, with MPCALLOC_NUMA_NODE=1: its memory comes
 * from node 1, wherever it runs; big blocks are interleaved all the same. */
static void *policy_unbound(void *arg)
{
  (void)arg;
  struct set *s = &sets[2];
  set_alloc(s);
  char detail[64];
  snprintf(detail, sizeof detail, "mpc_alloc_numa_node() = %d", mpc_alloc_numa_node());
  check("unbound-node", mpc_alloc_numa_node() == 1, detail);
  set_check("unbound-on-node1", s, 1, false);
  check_interleaved("unbound-huge-interleaved", &s->huge, &(size_t){HUGE_SIZE}, 1);
  char *big[IL_N];
  alloc_touch(big, il_sizes, IL_N, 12);
  check_interleaved("unbound-interleaved", big, il_sizes, IL_N);
  char *loc = malloc((size_t)3 << 20);
  memset(loc, 13, (size_t)3 << 20);
  struct count c = {0, 0};
  count_range(&c, loc, (size_t)3 << 20, 1);
  report("unbound-huge-on-node1", &c, 1, "3 MiB block");
  free(loc);
  free_all(big, IL_N);
  set_free(s);
  return NULL;
}

static pthread_t start_spanning(void *(*fn)(void *))
{
  static const int both[] = {0, 1};
  return start_on_nodes(both, 2, fn, NULL);
}

static void policy_tests(void)
{
  for (int node = 0; node < 2; node++)
    pthread_join(start_on(node, policy_bound, (void *)(intptr_t)node), NULL);
  pthread_join(start_spanning(policy_unbound), NULL);
}

static int first_cpu(int node)
{
  char path[64], buf[64];
  snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", node);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return atoi(buf);
}

static int run_tests(void)
{
  page_size = sysconf(_SC_PAGESIZE);
  mode = getenv("MPCALLOC_NUMA_INTERLEAVE_MIN") ? "policies" : getenv("MPCALLOC_NUMA_MIGRATE") ? "migrate" : "default";
  node_cpu[0] = first_cpu(0);
  node_cpu[1] = first_cpu(1);
  char detail[96];
  snprintf(detail, sizeof detail, "node 0 CPU %d, node 1 CPU %d", node_cpu[0], node_cpu[1]);
  check("topology", node_cpu[0] >= 0 && node_cpu[1] >= 0, detail);
  if (node_cpu[0] < 0 || node_cpu[1] < 0)
    return 1;
  if (strcmp(mode, "policies") == 0) {
    policy_tests();
    return failures ? 1 : 0;
  }
  snprintf(detail, sizeof detail, "main thread spans both nodes: mpc_alloc_numa_node() = %d", mpc_alloc_numa_node());
  check("spanning-unbound", mpc_alloc_numa_node() == -1, detail);

  for (int node = 0; node < 2; node++)
    pthread_join(start_on(node, bound, (void *)(intptr_t)node), NULL);
  for (int node = 0; node < 2; node++)
    pthread_join(start_on(node, bound_remote_touch, (void *)(intptr_t)node), NULL);
  pthread_join(start_on(0, mover, strcmp(mode, "migrate") == 0 ? (void *)1 : NULL), NULL);
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t o = start_on(0, remote_owner, NULL), f = start_on(1, remote_freer, NULL);
  pthread_join(o, NULL);
  pthread_join(f, NULL);
  on_node_tests();
  return failures ? 1 : 0;
}

/* ---- process 1 ---------------------------------------------------------------- */

static void run_child(const char *what, char *const env[])
{
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {"/init", (char *)what, NULL};
    execve("/init", argv, env);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st))
    printf("NUMA-TEST child FAIL test process died (status %d)\n", st);
  fflush(stdout);
}

/* MPCALLOC_NUMA_NODE=5 on two nodes: the default is kept. The one line of
 * warning goes to the console before main (static glibc allocates during
 * its start-up): vm.sh looks for it there. */
static int bad_node_test(void)
{
  mode = "badnode";
  char detail[64];
  snprintf(detail, sizeof detail, "main thread: mpc_alloc_numa_node() = %d", mpc_alloc_numa_node());
  check("default-kept", mpc_alloc_numa_node() == -1, detail);
  return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "run") == 0)
    return run_tests();
  if (argc > 1 && strcmp(argv[1], "badnode") == 0)
    return bad_node_test();
  if (getpid() != 1) {
    fprintf(stderr, "numa_vm: the init of vm.sh's machine (run it with the argument 'run' to test here)\n");
    return 2;
  }
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mkdir("/dev", 0755);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  int fd = open("/dev/console", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
      close(fd);
  }
  /* MPCALLOC_NUMA from the kernel command line (vm.sh's MPCA_NUMA_VM_APPEND)
   * reaches the tests, so that a run with MPCALLOC_NUMA=off shows what the
   * checks see without placement. */
  char *numa = getenv("MPCALLOC_NUMA");
  char numa_env[64];
  snprintf(numa_env, sizeof numa_env, "MPCALLOC_NUMA=%s", numa ? numa : "auto");
  char *plain[] = {"PATH=/", numa_env, NULL};
  char *migrate[] = {"PATH=/", numa_env, "MPCALLOC_NUMA_MIGRATE=1", NULL};
  char *policies[] = {"PATH=/", numa_env, IL_MIN_ENV, "MPCALLOC_NUMA_NODE=1", NULL};
  char *bad_node[] = {"PATH=/", numa_env, "MPCALLOC_NUMA_NODE=5", NULL};
  run_child("run", plain);
  run_child("run", migrate);
  run_child("run", policies);
  run_child("badnode", bad_node);
  printf("NUMA-TESTS-DONE\n");
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
