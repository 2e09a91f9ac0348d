/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * mpc_alloc_stats_get/print/reset through the real library (-lmpcalloc):
 * argument checks, the size handshake of the struct, figures consistent with
 * a known workload (N blocks of S bytes: in use grows by at least N*S, and
 * comes back exactly to its baseline once they are freed), per-node figures
 * that add up to the totals, thread and remote-free counters, reset, and
 * print errors. Must never use stdio between two measurements (stdio
 * allocates); messages go out with write(2) only on failure. Exit 0 pass. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mpcalloc.h>

static int failures;

#define CHECK(cond)                                                                                   \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                \
      failures++;                                                                                     \
    }                                                                                                 \
  } while (0)

static struct mpc_alloc_stats get(void)
{
  struct mpc_alloc_stats st;
  memset(&st, 0xa5, sizeof st);
  st.size = sizeof st;
  if (mpc_alloc_stats_get(&st) != 0)
    abort();
  return st;
}

static void check_nodes_add_up(const struct mpc_alloc_stats *st)
{
  unsigned long long mapped = 0, in_use = 0, cached = 0;
  CHECK(st->nnodes >= 1 && st->nnodes <= MPC_ALLOC_STATS_MAX_NODES);
  CHECK(st->nodes[0].node == -1);
  for (unsigned i = 0; i < st->nnodes; i++) {
    mapped += st->nodes[i].mapped;
    in_use += st->nodes[i].in_use;
    cached += st->nodes[i].cached;
  }
  CHECK(mapped == st->mapped);
  CHECK(in_use == st->in_use);
  CHECK(cached == st->cached);
  CHECK(st->peak_mapped >= st->mapped);
  CHECK(st->peak_in_use >= st->in_use);
  CHECK(st->mapped >= st->in_use);
  CHECK(st->retained == st->cached); /* one thread runs here */
}

static void test_args(void)
{
  errno = 0;
  CHECK(mpc_alloc_stats_get(NULL) == -1 && errno == EINVAL);
  struct mpc_alloc_stats st = {.size = 4};
  errno = 0;
  CHECK(mpc_alloc_stats_get(&st) == -1 && errno == EINVAL);
  /* an older, shorter struct: only what it knows is filled */
  memset(&st, 0xa5, sizeof st);
  st.size = offsetof(struct mpc_alloc_stats, mapped);
  CHECK(mpc_alloc_stats_get(&st) == 0);
  CHECK(st.size == offsetof(struct mpc_alloc_stats, mapped));
  CHECK(st.mapped == 0xa5a5a5a5a5a5a5a5ull);
  /* the struct of 0.1.0 (65 node entries): nothing written past it, and
   * its entries add up; one cut inside nodes[]: nnodes counts whole ones */
  struct mpc_alloc_stats old;
  memset(&old, 0xa5, sizeof old);
  size_t v01 = offsetof(struct mpc_alloc_stats, nodes) + 65 * sizeof(struct mpc_alloc_stats_node);
  old.size = v01;
  CHECK(mpc_alloc_stats_get(&old) == 0);
  CHECK(old.size == v01);
  CHECK(old.nnodes >= 1 && old.nnodes <= 65);
  CHECK(old.nodes[65].node == (int64_t)0xa5a5a5a5a5a5a5a5ull);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < old.nnodes; i++) {
    CHECK(old.nodes[i].node != MPC_ALLOC_STATS_NODE_INTERLEAVED);
    sum += old.nodes[i].mapped;
  }
  CHECK(sum == old.mapped);
  memset(&old, 0xa5, sizeof old);
  old.size = offsetof(struct mpc_alloc_stats, nodes) + sizeof(struct mpc_alloc_stats_node) + 8;
  CHECK(mpc_alloc_stats_get(&old) == 0);
  CHECK(old.nnodes == 1 && old.nodes[0].node == MPC_ALLOC_STATS_NODE_UNBOUND);
  /* a newer, longer one: the library says how much it filled */
  struct {
    struct mpc_alloc_stats s;
    char more[64];
  } big;
  big.s.size = sizeof big;
  CHECK(mpc_alloc_stats_get(&big.s) == 0);
  CHECK(big.s.size == sizeof(struct mpc_alloc_stats));
  errno = 0;
  CHECK(mpc_alloc_stats_print(-1, 0) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(mpc_alloc_stats_print(1, 0x80) == -1 && errno == EINVAL);
  int fds[2];
  CHECK(pipe(fds) == 0);
  close(fds[0]);
  close(fds[1]);
  errno = 0;
  CHECK(mpc_alloc_stats_print(fds[1], 0) == -1 && errno == EBADF);
}

/* N blocks of S bytes: in use grows by at least N*S and returns to baseline. */
static void test_workload(size_t n, size_t s)
{
  void **p = malloc(n * sizeof *p);
  if (p == NULL)
    abort();
  struct mpc_alloc_stats before = get();
  for (size_t i = 0; i < n; i++) {
    p[i] = malloc(s);
    if (p[i] == NULL)
      abort();
    memset(p[i], 1, s);
  }
  struct mpc_alloc_stats during = get();
  for (size_t i = 0; i < n; i++)
    free(p[i]);
  struct mpc_alloc_stats after = get();
  free(p);
  if (during.in_use < before.in_use + n * s || during.requested < before.requested + n * s ||
      after.in_use != before.in_use) {
    fprintf(stderr, "FAIL: %zu blocks of %zu bytes: in use %llu, then %llu (requested %llu), then %llu\n", n, s,
            (unsigned long long)before.in_use, (unsigned long long)during.in_use,
            (unsigned long long)during.requested, (unsigned long long)after.in_use);
    failures++;
  }
  CHECK(during.peak_in_use >= during.in_use);
  CHECK(during.mapped >= n * s);
  check_nodes_add_up(&during);
  check_nodes_add_up(&after);
}

#define NREMOTE 5000
static void *blocks[NREMOTE];

static void *remote_freer(void *arg)
{
  (void)arg;
  free(malloc(32)); /* a heap of its own, so that its sends are counted */
  for (int i = 0; i < NREMOTE; i++)
    free(blocks[i]);
  return NULL;
}

static void *short_lived(void *arg)
{
  (void)arg;
  void *q = malloc(300);
  free(q);
  return NULL;
}

static void test_threads(void)
{
  struct mpc_alloc_stats before = get();
  for (int i = 0; i < NREMOTE; i++)
    blocks[i] = malloc(64);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, remote_freer, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  /* the owner drains its queue at its next slow path */
  mpc_alloc_release(0);
  struct mpc_alloc_stats after = get();
  CHECK(after.remote_frees_sent - before.remote_frees_sent >= NREMOTE);
  CHECK(after.remote_frees_received - before.remote_frees_received >= NREMOTE);
  CHECK(after.heaps >= 2);
  CHECK(after.threads_live >= 1);
  CHECK(after.threads_abandoned >= 1);
  for (int i = 0; i < 3; i++) {
    CHECK(pthread_create(&t, NULL, short_lived, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
  }
  struct mpc_alloc_stats later = get();
  CHECK(later.threads_adopted >= after.threads_adopted + 3);
  CHECK(later.heaps == after.heaps); /* exited threads' heaps are reused */
  check_nodes_add_up(&later);
}

static void test_huge_and_reset(void)
{
  mpc_alloc_stats_reset();
  struct mpc_alloc_stats r = get();
  CHECK(r.mmap_calls == 0 && r.remote_frees_sent == 0 && r.threads_adopted == 0 && r.huge_allocs == 0);
  CHECK(r.peak_mapped == r.mapped);
  size_t big = (size_t)3 << 20;
  char *h = malloc(big);
  CHECK(h != NULL);
  struct mpc_alloc_stats d = get();
  CHECK(d.huge_allocs == 1);
  CHECK(d.in_use >= r.in_use + big);
  CHECK(d.requested - r.requested == big);
  free(h);
  struct mpc_alloc_stats a = get();
  CHECK(a.huge_frees == 1);
  CHECK(a.in_use == r.in_use);
  CHECK(a.peak_in_use >= r.in_use + big);
  CHECK(a.cached >= big || a.munmap_calls > 0);
}

static void test_print(void)
{
  char path[] = "/tmp/check_stats.XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  unlink(path);
  CHECK(mpc_alloc_stats_print(fd, 0) == 0);
  CHECK(mpc_alloc_stats_print(fd, MPC_ALLOC_STATS_JSON) == 0);
  off_t len = lseek(fd, 0, SEEK_END);
  CHECK(len > 200);
  char buf[256] = {0};
  CHECK(pread(fd, buf, sizeof buf - 1, 0) > 0);
  CHECK(strncmp(buf, "mpcalloc ", 9) == 0);
  close(fd);
}

int main(void)
{
  test_args();
  static const size_t sizes[] = {16, 24, 100, 1000, 1024, 1500, 20000, 300000};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    test_workload(sizes[i] >= 20000 ? 50 : 2000, sizes[i]);
  test_workload(3, (size_t)5 << 20);
  test_threads();
  test_huge_and_reset();
  test_print();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("PASS: check_stats\n");
  return 0;
}
