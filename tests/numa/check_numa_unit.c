/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of the NUMA layer that run on any machine: topology parsing on
 * fake sysfs trees (the root is a parameter of mpca_numa_load), the node of
 * a CPU mask, the placement entry points on this machine (one node:
 * unbound heaps, node 0 valid, anything else EINVAL), and on fake two-node
 * machines the policies (which blocks go to the interleaved source, the
 * node of unbound threads, a bad MPCALLOC_NUMA_NODE). Where pages really
 * land is checked by vm.sh on a real two-node machine. Never leaves a fake
 * topology loaded when it allocates outside a test of placement. */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../unit/unit.h"
#include "mpca_alloc.h"
#include "mpca_config.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_numa.h"
#include "mpca_numa_heap.h"
#include "mpca_registry.h"
#include "mpca_report.h"
#include "mpca_source.h"

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
  char path[PATH_MAX * 2], dir[PATH_MAX * 2];
  snprintf(path, sizeof path, "%s/devices/system/node/%s", root, rel);
  /* mkdir -p of the parent */
  snprintf(dir, sizeof dir, "%s", path);
  for (char *s = dir + strlen(root) + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir(dir, 0755);
      *s = '/';
    }
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void make_root(void)
{
  snprintf(root, sizeof root, "%s/mpca-numa-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(root));
}

static void drop_root(void)
{
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
  mpca_numa_init(); /* back to the real topology */
}

static void setup(void) { mpca_global_init(); }

static int mask_node(unsigned first, unsigned last)
{
  uint64_t m[4] = {0};
  for (unsigned c = first; c <= last; c++)
    m[c / 64] |= (uint64_t)1 << (c % 64);
  return mpca_numa_node_of_mask(m, 4);
}

START_TEST(test_two_nodes)
{
  make_root();
  put("online", "0-1\n");
  put("node0/cpulist", "0-1,4\n");
  put("node1/cpulist", "2-3,5-7,130\n");
  ck_assert_int_eq(mpca_numa_load(root), 2);
  ck_assert_int_eq(mpca_numa_node_count(), 2);
  ck_assert(mpca_numa_node_valid(0));
  ck_assert(mpca_numa_node_valid(1));
  ck_assert(!mpca_numa_node_valid(2));
  ck_assert(!mpca_numa_node_valid(-1));
  ck_assert(!mpca_numa_node_valid(MPCA_MAX_NODES));
#ifdef HAVE_LIBNUMA
  ck_assert(mpca_numa_enabled());
  ck_assert_int_eq(mask_node(0, 1), 0);
  ck_assert_int_eq(mask_node(4, 4), 0);
  ck_assert_int_eq(mask_node(2, 3), 1);
  ck_assert_int_eq(mask_node(5, 7), 1);
  ck_assert_int_eq(mask_node(130, 130), 1);
  ck_assert_int_eq(mask_node(1, 2), -1);  /* spans both */
  ck_assert_int_eq(mask_node(8, 8), -1);  /* CPU of no node */
  uint64_t none[4] = {0};
  ck_assert_int_eq(mpca_numa_node_of_mask(none, 4), -1);
#else
  ck_assert(!mpca_numa_enabled());
  ck_assert_int_eq(mask_node(0, 1), -1);
#endif
  drop_root();
}
END_TEST

START_TEST(test_sparse_and_memory_only_nodes)
{
  make_root();
  put("online", "0,2-3\n");
  put("node0/cpulist", "0-3\n");
  put("node2/cpulist", "4-7\n");
  put("node3/cpulist", "\n"); /* memory only */
  ck_assert_int_eq(mpca_numa_load(root), 3);
  ck_assert(mpca_numa_node_valid(3));
  ck_assert(!mpca_numa_node_valid(1));
#ifdef HAVE_LIBNUMA
  ck_assert_int_eq(mask_node(4, 7), 2);
  ck_assert_int_eq(mask_node(0, 0), 0);
#endif
  drop_root();
}
END_TEST

START_TEST(test_one_node_missing_and_malformed)
{
  make_root();
  put("online", "0\n");
  put("node0/cpulist", "0-7\n");
  ck_assert_int_eq(mpca_numa_load(root), 1);
  ck_assert(!mpca_numa_enabled());
  ck_assert_int_eq(mask_node(0, 7), -1);
  drop_root();

  make_root(); /* no node directory at all (kernel without NUMA) */
  ck_assert_int_eq(mpca_numa_load(root), 1);
  ck_assert(mpca_numa_node_valid(0));
  ck_assert(!mpca_numa_enabled());
  drop_root();

  make_root();
  put("online", "0-x\n");
  ck_assert_int_eq(mpca_numa_load(root), 1);
  ck_assert(!mpca_numa_enabled());
  drop_root();

  make_root(); /* a bad cpulist binds no thread to its node */
  put("online", "0-1\n");
  put("node0/cpulist", "0-1\n");
  put("node1/cpulist", "2-,3\n");
  ck_assert_int_eq(mpca_numa_load(root), 2);
#ifdef HAVE_LIBNUMA
  ck_assert_int_eq(mask_node(2, 2), -1);
  ck_assert_int_eq(mask_node(0, 1), 0);
#endif
  drop_root();
}
END_TEST

START_TEST(test_this_machine)
{
  /* The machines the suite runs on have one node: everything unbound. */
  if (mpca_numa_node_count() > 1)
    return;
  ck_assert(!mpca_numa_enabled());
  ck_assert_int_eq(mpca_numa_thread_node(), -1);
  ck_assert_int_eq(mpca_numa_current_node(), -1);
  void *p = mpca_numa_alloc_on_node(0, 3000);
  ck_assert_ptr_nonnull(p);
  mpca_seg *seg = mpca_registry_lookup(p);
  ck_assert_ptr_nonnull(seg);
  ck_assert_uint_eq(seg->kind, MPCA_KIND_HUGE);
  memset(p, 1, 3000);
  mpca_heap_free_local(mpca_tls_heap, seg, p, "free");
  errno = 0;
  ck_assert_ptr_null(mpca_numa_alloc_on_node(5, 100));
  ck_assert_int_eq(errno, EINVAL);
  errno = 0;
  ck_assert_ptr_null(mpca_numa_alloc_on_node(-1, 100));
  ck_assert_int_eq(errno, EINVAL);
  mpca_heap *h = mpca_tls_heap;
  ck_assert_int_eq(mpca_numa_rebind(), -1);
  ck_assert_ptr_eq(mpca_tls_heap, h); /* same node: nothing changes */
}
END_TEST

START_TEST(test_off_option)
{
  char *env[] = {"MPCALLOC_NUMA=off", "MPCALLOC_NUMA_MIGRATE=1", NULL};
  ck_assert_int_eq(mpca_config_load(env, 2), 0);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA], MPCA_NUMA_OFF);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_MIGRATE], 1);
  make_root();
  put("online", "0-1\n");
  put("node0/cpulist", "0\n");
  put("node1/cpulist", "1\n");
  ck_assert_int_eq(mpca_numa_load(root), 2);
  ck_assert(!mpca_numa_enabled()); /* topology seen, placement off */
  ck_assert_int_eq(mask_node(0, 0), -1);
  char *none[] = {NULL};
  mpca_config_load(none, 2);
  drop_root();
}
END_TEST

#ifdef HAVE_LIBNUMA
/* A fake machine whose CPUs (all of this one's) belong to node `cpus_node`;
 * both nodes are online. mbind to a node this machine lacks fails, which the
 * allocator ignores: the heap switching is what is tested here. */
/* The fake tree goes, the topology read from it stays loaded. */
static void drop_root_files(void)
{
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

static void fake_machine(int cpus_node)
{
  make_root();
  put("online", "0-1\n");
  put("node0/cpulist", cpus_node == 0 ? "0-4095\n" : "\n");
  put("node1/cpulist", cpus_node == 1 ? "0-4095\n" : "\n");
  ck_assert_int_eq(mpca_numa_load(root), 2);
  drop_root_files();
}

static mpca_heap *first_heap, *second_heap;

static void *mover(void *arg)
{
  (void)arg;
  void *old[40];
  for (int i = 0; i < 40; i++) /* small, medium and huge */
    old[i] = mpca_alloc((size_t)1 << (4 + i % 18), false);
  first_heap = mpca_tls_heap;
  ck_assert_int_eq(first_heap->node, 0);
  ck_assert_int_eq(mpca_numa_current_node(), 0);
  fake_machine(1);
  ck_assert_int_eq(mpca_numa_rebind(), 1);
  second_heap = mpca_tls_heap;
  ck_assert_int_eq(second_heap->node, 1);
  if (mpca_opt[MPCA_OPT_NUMA_MIGRATE]) {
    ck_assert_ptr_eq(second_heap, first_heap); /* the heap moved along */
  } else {
    ck_assert_ptr_ne(second_heap, first_heap);
    ck_assert_int_eq(atomic_load(&first_heap->state), MPCA_HEAP_ABANDONED);
  }
  ck_assert_int_eq(mpca_numa_rebind(), 1); /* no change: nothing happens */
  ck_assert_ptr_eq(mpca_tls_heap, second_heap);
  void *fresh = mpca_alloc(100, false);
  mpca_seg *seg = mpca_registry_lookup(fresh);
  ck_assert_ptr_eq(seg->owner, second_heap);
  ck_assert_int_eq((int)seg->node, 1);
  mpca_free(fresh);
  for (int i = 0; i < 40; i++) /* blocks of the old heap stay valid */
    mpca_free(old[i]);
  return NULL;
}

static mpca_heap *adopted;
static void *adopter(void *arg)
{
  (void)arg;
  void *p = mpca_alloc(64, false);
  adopted = mpca_tls_heap;
  mpca_free(p);
  return NULL;
}

static mpca_heap *adopt_on(int node)
{
  pthread_t t;
  fake_machine(node);
  ck_assert_int_eq(pthread_create(&t, NULL, adopter, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  return adopted;
}

/* Rebind gives the thread a heap of the new node; at thread exit, the heap
 * the thread uses then is abandoned (to the new node's pool), and the old
 * one stays in the old node's pool: later threads of each node adopt them. */
START_TEST(test_rebind_switches_heaps)
{
  pthread_t t;
  fake_machine(0);
  ck_assert_int_eq(pthread_create(&t, NULL, mover, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(atomic_load(&second_heap->state), MPCA_HEAP_ABANDONED);
  ck_assert_ptr_eq(adopt_on(1), second_heap);
  ck_assert_ptr_eq(adopt_on(0), first_heap);
  mpca_numa_init();
}
END_TEST

/* MPCALLOC_NUMA_MIGRATE: the thread keeps its heap, which moves. */
START_TEST(test_rebind_migrate)
{
  char *env[] = {"MPCALLOC_NUMA_MIGRATE=1", NULL};
  mpca_config_load(env, 2);
  pthread_t t;
  fake_machine(0);
  ck_assert_int_eq(pthread_create(&t, NULL, mover, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_ptr_eq(adopt_on(1), second_heap); /* moved to node 1's pool */
  char *none[] = {NULL};
  mpca_config_load(none, 2);
  mpca_numa_init();
}
END_TEST
/* Blocks of MPCALLOC_NUMA_INTERLEAVE_MIN and up (here 256K, so medium
 * sizes too) are huge blocks of the interleaved source; smaller ones stay in
 * the heap of the thread's node; realloc moves a block that grows into the
 * interleaved sizes; the statistics list the interleaved source. */
static void *interleaver(void *arg)
{
  (void)arg;
  const size_t il = (size_t)256 << 10;
  mpca_source *ils = mpca_source_for_node(MPCA_NODE_INTERLEAVED);
  ck_assert_int_eq(mpca_tls_heap ? mpca_tls_heap->node : mpca_numa_home_node(), 0);
  char *small = mpca_alloc(100, false), *medium = mpca_alloc(il - 1, false);
  char *at = mpca_alloc(il, false), *big = mpca_alloc((size_t)3 << 20, true);
  char *aligned = mpca_alloc_aligned(4096, il + 1);
  ck_assert_int_eq(mpca_tls_heap->node, 0);
  ck_assert_uint_eq(mpca_registry_lookup(small)->kind, MPCA_KIND_SMALL);
  mpca_seg *ms = mpca_registry_lookup(medium);
  ck_assert_uint_eq(ms->kind, MPCA_HARDENED_ON ? MPCA_KIND_GUARDED : MPCA_KIND_MEDIUM); /* hardened: no medium */
  ck_assert_int_eq((int)ms->node, 0);
  char *blocks[] = {at, big, aligned};
  for (int i = 0; i < 3; i++) {
    mpca_seg *seg = mpca_registry_lookup(blocks[i]);
    ck_assert_uint_eq(seg->kind, MPCA_KIND_HUGE);
    ck_assert_int_eq((int)seg->node, MPCA_NODE_INTERLEAVED);
    ck_assert_ptr_eq(seg->source, ils);
  }
  ck_assert_uint_eq((uintptr_t)aligned % 4096, 0);
  /* an aligned block just below the threshold does not fit a medium chunk
   * with its alignment slack: a local huge block (its thread's policy) */
  char *below = mpca_alloc_aligned(4096, il - 100);
  mpca_seg *bs = mpca_registry_lookup(below);
  ck_assert_uint_eq(bs->kind, MPCA_HARDENED_ON ? MPCA_KIND_GUARDED : MPCA_KIND_HUGE); /* hardened: a guarded block */
  ck_assert_int_eq((int)bs->node, 0);
  mpca_free(below);
  ck_assert_int_eq(big[((size_t)3 << 20) - 1], 0); /* calloc'ed */
  /* a medium block grown past the threshold moves, its bytes kept */
  memset(medium, 7, il - 1);
  char *grown = mpca_realloc(medium, il + 4096);
  mpca_seg *gs = mpca_registry_lookup(grown);
  ck_assert_uint_eq(gs->kind, MPCA_KIND_HUGE);
  ck_assert_int_eq((int)gs->node, MPCA_NODE_INTERLEAVED);
  ck_assert_int_eq(grown[0], 7);
  ck_assert_int_eq(grown[il - 2], 7);
  /* the statistics: an interleaved entry with those bytes in use */
  mpca_report r;
  mpca_report_gather(&r);
  uint64_t il_in_use = 0, total = 0;
  bool listed = false;
  for (uint64_t i = 0; i < r.s.nnodes; i++) {
    total += r.s.nodes[i].in_use;
    if (r.s.nodes[i].node == MPC_ALLOC_STATS_NODE_INTERLEAVED) {
      listed = true;
      il_in_use = r.s.nodes[i].in_use;
    }
  }
  ck_assert(listed);
  ck_assert_uint_ge(il_in_use, il + ((size_t)3 << 20) + il + 1 + il + 4096);
  ck_assert_uint_eq(total, r.s.in_use);
  /* a caller built against 0.1.0 sees those bytes under the unbound source */
  struct mpc_alloc_stats old;
  memset(&old, 0xff, sizeof old);
  old.size = MPCA_REPORT_STATS_SIZE_0_1;
  ck_assert_int_eq(mpc_alloc_stats_get(&old), 0);
  ck_assert_uint_eq(old.size, MPCA_REPORT_STATS_SIZE_0_1);
  ck_assert_uint_le(old.nnodes, 65);
  uint64_t old_total = 0;
  for (uint64_t i = 0; i < old.nnodes; i++) {
    ck_assert_int_ne(old.nodes[i].node, MPC_ALLOC_STATS_NODE_INTERLEAVED);
    old_total += old.nodes[i].in_use;
  }
  ck_assert_uint_eq(old.nodes[0].node, MPC_ALLOC_STATS_NODE_UNBOUND);
  ck_assert_uint_ge(old.nodes[0].in_use, il_in_use);
  ck_assert_uint_eq(old_total, old.in_use);
  /* freed interleaved blocks are cached by their own source only */
  size_t before = mpca_source_cached(ils);
  mpca_free(big);
  ck_assert_uint_gt(mpca_source_cached(ils), before);
  mpca_free(at);
  mpca_free(aligned);
  mpca_free(grown);
  mpca_free(small);
  return NULL;
}

START_TEST(test_interleave_routing)
{
  char *env[] = {"MPCALLOC_NUMA_INTERLEAVE_MIN=256K", NULL};
  ck_assert_int_eq(mpca_config_load(env, 2), 0);
  fake_machine(0);
  ck_assert_uint_eq(mpca_numa_interleave_from, (size_t)256 << 10);
  uint64_t mask[1];
  ck_assert_int_eq(mpca_numa_interleave_nodes(mask, 1), 2);
  ck_assert_uint_eq(mask[0], 3);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, interleaver, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  char *none[] = {NULL};
  mpca_config_load(none, 2);
  mpca_numa_init();
  if (mpca_numa_node_count() == 1)
    ck_assert_uint_eq(mpca_numa_interleave_from, SIZE_MAX); /* nothing to spread over */
}
END_TEST

/* No interleaving without two nodes, with placement off, or at 0. */
START_TEST(test_interleave_off)
{
  char *env[] = {"MPCALLOC_NUMA_INTERLEAVE_MIN=1M", NULL};
  mpca_config_load(env, 2);
  make_root();
  put("online", "0\n");
  put("node0/cpulist", "0-7\n");
  mpca_numa_load(root);
  ck_assert_uint_eq(mpca_numa_interleave_from, SIZE_MAX);
  drop_root();
  char *off[] = {"MPCALLOC_NUMA_INTERLEAVE_MIN=1M", "MPCALLOC_NUMA=off", NULL};
  mpca_config_load(off, 2);
  fake_machine(0);
  ck_assert_uint_eq(mpca_numa_interleave_from, SIZE_MAX);
  char *zero[] = {NULL};
  mpca_config_load(zero, 2);
  fake_machine(0);
  ck_assert_uint_eq(mpca_numa_interleave_from, SIZE_MAX);
  mpca_numa_init();
}
END_TEST

static int home_seen;
static void *home(void *arg)
{
  (void)arg;
  void *p = mpca_alloc(64, false);
  home_seen = mpca_tls_heap->node;
  ck_assert_int_eq(mpca_numa_current_node(), home_seen);
  mpca_free(p);
  return NULL;
}

/* MPCALLOC_NUMA_NODE: a thread whose CPUs span nodes gets a heap of that
 * node; a thread inside one node keeps its own. */
START_TEST(test_unbound_node)
{
  char *env[] = {"MPCALLOC_NUMA_NODE=1", NULL};
  ck_assert_int_eq(mpca_config_load(env, 2), 0);
  make_root();
  put("online", "0-1\n");
  put("node0/cpulist", "0\n");
  put("node1/cpulist", "1-4095\n");
  ck_assert_int_eq(mpca_numa_load(root), 2);
  drop_root_files();
  pthread_t t;
  pthread_attr_t attr;
  cpu_set_t set;
  pthread_attr_init(&attr);
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  CPU_SET(1, &set);
  ck_assert_int_eq(pthread_attr_setaffinity_np(&attr, sizeof set, &set), 0);
  ck_assert_int_eq(pthread_create(&t, &attr, home, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(home_seen, 1); /* spans nodes 0 and 1: MPCALLOC_NUMA_NODE */
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  ck_assert_int_eq(pthread_attr_setaffinity_np(&attr, sizeof set, &set), 0);
  ck_assert_int_eq(pthread_create(&t, &attr, home, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(home_seen, 0); /* bound to node 0: its own */
  pthread_attr_destroy(&attr);
  char *none[] = {NULL};
  mpca_config_load(none, 2);
  mpca_numa_init();
}
END_TEST

/* A MPCALLOC_NUMA_NODE that is not online: one line, the default kept. */
START_TEST(test_bad_unbound_node)
{
  char *env[] = {"MPCALLOC_NUMA_NODE=5", NULL};
  ck_assert_int_eq(mpca_config_load(env, 2), 0);
  int fds[2], saved = dup(2);
  ck_assert_int_eq(pipe(fds), 0);
  dup2(fds[1], 2);
  close(fds[1]);
  fake_machine(0);
  dup2(saved, 2);
  close(saved);
  char out[512];
  ssize_t n = read(fds[0], out, sizeof out - 1);
  close(fds[0]);
  out[n > 0 ? n : 0] = '\0';
  ck_assert_str_eq(out, "mpcalloc: MPCALLOC_NUMA_NODE='5': no such NUMA node is online; using the default none\n");
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_NODE], MPCA_NODE_NONE);
  char *none[] = {NULL};
  mpca_config_load(none, 2);
  mpca_numa_init();
}
END_TEST
#endif

int main(void)
{
  Suite *s = suite_create("numa");
  TCase *tc = tcase_create("numa");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_two_nodes);
  tcase_add_test(tc, test_sparse_and_memory_only_nodes);
  tcase_add_test(tc, test_one_node_missing_and_malformed);
  tcase_add_test(tc, test_this_machine);
  tcase_add_test(tc, test_off_option);
#ifdef HAVE_LIBNUMA
  tcase_add_test(tc, test_rebind_switches_heaps);
  tcase_add_test(tc, test_rebind_migrate);
  tcase_add_test(tc, test_interleave_routing);
  tcase_add_test(tc, test_interleave_off);
  tcase_add_test(tc, test_unbound_node);
  tcase_add_test(tc, test_bad_unbound_node);
#endif
  suite_add_tcase(s, tc);
  return unit_run(s);
}
