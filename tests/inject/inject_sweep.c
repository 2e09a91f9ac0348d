/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Failure injection on every system call the allocator makes. The mixed
 * workload of workload.h runs in a fresh child process (so every run
 * starts from an empty allocator) once for every N, with the allocator's
 * N-th call that may fail (mmap, mremap, madvise, mbind) made to fail
 * (mpca_os_fault_arm), then with every call from the N-th on failing (out
 * of memory for good), then with every k-th call failing. N goes up to the
 * number of such calls the workload makes, counted by a first run. At
 * every N the child checks:
 *  - every allocation gave a valid block or NULL with ENOMEM, every block
 *    kept its content, a failed realloc left its block intact (workload.h);
 *  - no crash and no hang (a watchdog in the child; the parent names the
 *    signal);
 *  - no lock left held: it takes every lock of the allocator (what the fork
 *    handlers take) under an alarm, and no heap is left claimed;
 *  - nothing leaked: with everything freed and given back, the bytes mapped
 *    for heaps and caches, the address space reserved for moves, and the
 *    statistics' mapped, in-use and cached bytes are all back to 0, and no
 *    address the workload was given is still in the registry;
 *  - the allocator recovered: the workload run again without failures gets
 *    no NULL at all, and leaves nothing behind either.
 * The purge delay is 0, so pages are purged (madvise) on the ticks too, and
 * blocks of 4 MiB and up ask for transparent huge pages (madvise).
 * With libnuma configured, a fake two-node topology puts placement on, so
 * that new mappings are bound with mbind (to node 0, which exists) and those
 * calls fail in turn. Arguments: none, or `--stride S` to run every S-th N
 * only (also MPCA_INJECT_STRIDE; MPCA_CHECK_QUICK=1, set by the package
 * builds, makes it 7), or `--only N` to run the one failure at call N. Links the internals, like the unit tests. */
#define _GNU_SOURCE
#include "config.h"
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "mpcalloc.h"
#include "mpca_alloc.h"
#include "mpca_config.h"
#include "mpca_guarded.h"
#include "mpca_heap.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_source.h"
#include "workload.h"

/* A child gets this long; the workload takes a few milliseconds. */
#define CHILD_SECONDS 150
#define LOCK_SECONDS 60
/* Failed runs reported before the sweep gives up (a hang costs CHILD_SECONDS). */
#define MAX_PROBLEMS 5
/* Every QUICK_STRIDE-th N only, with MPCA_CHECK_QUICK (a prime, so that
 * the calls hit still vary with the call kinds' order). */
#define QUICK_STRIDE 7

/* ---- the allocator's internals as a wl_api ------------------------------ */

static void *in_alloc(size_t size) { return mpca_alloc(size, false); }
static void *in_zalloc(size_t size) { return mpca_alloc(size, true); }
static size_t in_usable(void *p) { return mpca_usable_size(mpca_registry_lookup(p), p, "usable_size"); }
/* What mpc_alloc_release(0) does (api.c is not part of the internals). */
static void in_trim(void)
{
  mpca_heap *h = mpca_heap_mine();
  if (h != NULL) {
    mpca_heap_trim(h);
    mpca_heap_purge(h);
  }
  if (MPCA_HARDENED_ON)
    mpca_guarded_release();
  mpca_source_release(0);
}

static const wl_api internals = {in_alloc, in_zalloc, mpca_alloc_aligned, mpca_realloc, mpca_free, in_usable, in_trim};

/* ---- child --------------------------------------------------------------- */

static char numa_root[PATH_MAX];

static void put(const char *rel, const char *text)
{
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/devices/system/node/%s", numa_root, rel);
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(path);
    exit(99);
  }
}

/* Node 0 holds every CPU, node 1 none: threads are bound to node 0. */
static bool make_fake_numa(void)
{
#ifdef HAVE_LIBNUMA
  snprintf(numa_root, sizeof numa_root, "%s/mpca-inject-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(numa_root) == NULL)
    return false;
  static const char *const dirs[] = {"/devices", "/devices/system", "/devices/system/node",
                                     "/devices/system/node/node0", "/devices/system/node/node1"};
  char path[PATH_MAX + 64];
  for (unsigned i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(path, sizeof path, "%s%s", numa_root, dirs[i]);
    if (mkdir(path, 0755) != 0)
      return false;
  }
  put("online", "0-1\n");
  put("node0/cpulist", "0-4095\n");
  put("node1/cpulist", "\n");
  return true;
#else
  return false;
#endif
}

static void drop_fake_numa(void)
{
  if (numa_root[0] == '\0')
    return;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", numa_root);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", numa_root);
}

static void on_lock_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "a lock of the allocator is still held after the run\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(4);
}

/* Every lock can be taken (and no heap is left claimed by a drainer). */
static void check_locks(void)
{
  signal(SIGALRM, on_lock_alarm);
  alarm(LOCK_SECONDS);
  mpca_heaps_fork_prepare(mpca_heap_mine());
  mpca_sources_fork_prepare();
  mpca_sources_fork_parent();
  mpca_heaps_fork_parent(mpca_heap_mine());
  alarm(CHILD_SECONDS);
  signal(SIGALRM, SIG_DFL);
  for (mpca_heap *h = mpca_heap_first(); h != NULL; h = h->all_next) {
    int st = atomic_load(&h->state);
    if (st != MPCA_HEAP_ABANDONED && !(st == MPCA_HEAP_ACTIVE && h == mpca_tls_heap))
      WL_VIOLATION("heap %p left in state %d", (void *)h, st);
    if (atomic_load(&h->hold) != 0 || h->depth != 0)
      WL_VIOLATION("heap %p left held (depth %u)", (void *)h, h->depth);
  }
}

/* Everything the workload had is back: nothing mapped, nothing counted. */
static void check_nothing_left(const char *when)
{
  uint64_t mapped = atomic_load(&mpca_os_cnt.mapped), reserved = atomic_load(&mpca_os_cnt.reserved);
  if (mapped != 0 || reserved != 0)
    WL_VIOLATION("%s: %llu bytes still mapped, %llu reserved", when, (unsigned long long)mapped,
                 (unsigned long long)reserved);
  struct mpc_alloc_stats st = {.size = sizeof st};
  if (mpc_alloc_stats_get(&st) != 0)
    WL_VIOLATION("mpc_alloc_stats_get failed");
  if (st.mapped != 0 || st.in_use != 0 || st.cached != 0 || st.retained != 0)
    WL_VIOLATION("%s: statistics say mapped %llu, in use %llu, cached %llu, retained %llu", when,
                 (unsigned long long)st.mapped, (unsigned long long)st.in_use, (unsigned long long)st.cached,
                 (unsigned long long)st.retained);
  unsigned n = atomic_load(&wl.nseen);
  for (unsigned i = 0; i < n && i < WL_SEEN_MAX; i++)
    if (mpca_registry_lookup(wl.seen[i]) != NULL)
      WL_VIOLATION("%s: %p is still registered", when, wl.seen[i]);
}

typedef struct result {
  uint64_t calls, failed, allocs, nulls;
} result;

/* Purges on every tick, and transparent huge pages asked (madvise) for
 * blocks of 4 MiB and up: more calls that may fail. */
static char *sweep_env[] = {"MPCALLOC_PURGE_DELAY=0", "MPCALLOC_THP_MIN=4M", NULL};

static void child(int fd, uint64_t from, uint64_t count, uint64_t every, uint64_t seed)
{
  alarm(CHILD_SECONDS); /* default action: killed by SIGALRM, which the parent reports */
  mpca_global_init();
  mpca_config_load(sweep_env, 2);
  if (numa_root[0] && mpca_numa_load(numa_root) != 2)
    WL_VIOLATION("the fake NUMA topology did not load");
  check_nothing_left("at start");

  mpca_os_fault_arm(from, count, every);
  wl_run(&internals, seed);
  mpca_os_fault_disarm();
  result r = {atomic_load(&mpca_os_fault_state.calls), atomic_load(&mpca_os_fault_state.failed),
              atomic_load(&wl.allocs), atomic_load(&wl.nulls)};
  check_locks();
  check_nothing_left("after the run with failures");

  /* recovered: no failure now, no NULL */
  atomic_store(&wl.allocs, 0);
  atomic_store(&wl.nulls, 0);
  atomic_store(&wl.nseen, 0);
  wl_run(&internals, seed + 1);
  if (atomic_load(&wl.nulls) != 0)
    WL_VIOLATION("the run after the failures got %llu NULLs out of %llu allocations",
                 (unsigned long long)atomic_load(&wl.nulls), (unsigned long long)atomic_load(&wl.allocs));
  check_locks();
  check_nothing_left("after the run without failures");
  if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
    _exit(99);
  _exit(0);
}

/* ---- parent -------------------------------------------------------------- */

static unsigned runs, problems;

/* One child; false (after saying why) when it failed. */
static bool run(const char *mode, uint64_t n, uint64_t from, uint64_t count, uint64_t every, result *r)
{
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(99);
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(99);
  }
  if (pid == 0) {
    close(fds[0]);
    child(fds[1], from, count, every, n);
  }
  close(fds[1]);
  memset(r, 0, sizeof *r);
  ssize_t got = read(fds[0], r, sizeof *r);
  close(fds[0]);
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    perror("waitpid");
    exit(99);
  }
  runs++;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == (ssize_t)sizeof *r)
    return true;
  problems++;
  if (WIFSIGNALED(status))
    fprintf(stderr, "FAIL: %s N=%llu: the child was killed by signal %d (%s)%s\n", mode, (unsigned long long)n,
            WTERMSIG(status), strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGALRM ? ": it hung" : "");
  else
    fprintf(stderr, "FAIL: %s N=%llu: the child exited with status %d (message above)\n", mode,
            (unsigned long long)n, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (problems >= MAX_PROBLEMS) {
    fprintf(stderr, "FAIL: %u runs failed, giving up\n", problems);
    drop_fake_numa();
    exit(1);
  }
  return false;
}

int main(int argc, char **argv)
{
  uint64_t stride = 1;
  const char *quick = getenv("MPCA_CHECK_QUICK");
  if (quick && *quick && strcmp(quick, "0") != 0)
    stride = QUICK_STRIDE;
  const char *env = getenv("MPCA_INJECT_STRIDE");
  if (env)
    stride = strtoull(env, NULL, 10);
  if (argc == 3 && strcmp(argv[1], "--stride") == 0)
    stride = strtoull(argv[2], NULL, 10);
  if (argc == 3 && strcmp(argv[1], "--only") == 0) { /* one failure at call N, to debug it */
    result r;
    uint64_t n = strtoull(argv[2], NULL, 10);
    make_fake_numa();
    bool ok = run("one failure", n, n, 1, 0, &r);
    drop_fake_numa();
    return ok ? 0 : 1;
  }
  if (stride == 0)
    stride = 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  bool numa = make_fake_numa();
  printf("mbind: %s\n", numa ? "on (fake two-node topology)" : "off (libnuma not configured): not swept");

  result r;
  if (!run("count", 0, UINT64_MAX, 0, 0, &r)) {
    drop_fake_numa();
    return 1;
  }
  if (r.nulls != 0 || r.failed != 0) {
    fprintf(stderr, "FAIL: the run without failures got %llu NULLs\n", (unsigned long long)r.nulls);
    drop_fake_numa();
    return 1;
  }
  uint64_t total = r.calls;
  printf("the workload makes %llu allocations and %llu system calls that may fail\n", (unsigned long long)r.allocs,
         (unsigned long long)total);
  if (total < 50) {
    fprintf(stderr, "FAIL: too few system calls to sweep: the workload does not reach the OS\n");
    drop_fake_numa();
    return 1;
  }

  /* One failure at call N; calls vary a little from run to run (threads,
   * the clock of the purge ticks), so sweep up to the most seen. */
  uint64_t fired = 0, nulls = 0, most = total;
  for (uint64_t n = 1; n <= most; n += stride)
    if (run("one failure", n, n, 1, 0, &r)) {
      fired += r.failed;
      nulls += r.nulls;
      if (r.calls > most)
        most = r.calls;
    }
  printf("one failure at call N, N = 1..%llu: %llu failures injected, %llu allocations returned NULL\n",
         (unsigned long long)most, (unsigned long long)fired, (unsigned long long)nulls);
  uint64_t fired1 = fired;

  fired = nulls = 0;
  for (uint64_t n = 1; n <= most; n += stride)
    if (run("every call from N", n, n, UINT64_MAX, 0, &r)) {
      fired += r.failed;
      nulls += r.nulls;
    }
  printf("every call from N on fails, N = 1..%llu: %llu failures injected, %llu NULLs\n", (unsigned long long)most,
         (unsigned long long)fired, (unsigned long long)nulls);

  fired = nulls = 0;
  for (uint64_t k = 2; k <= 9; k++)
    if (run("every k-th call", k, UINT64_MAX, 0, k, &r)) {
      fired += r.failed;
      nulls += r.nulls;
    }
  printf("every k-th call fails, k = 2..9: %llu failures injected, %llu NULLs\n", (unsigned long long)fired,
         (unsigned long long)nulls);
  drop_fake_numa();

  printf("%u runs, %u failed\n", runs, problems);
  if (problems == 0 && fired1 == 0) {
    fprintf(stderr, "FAIL: no failure was ever injected\n");
    return 1;
  }
  return problems == 0 ? 0 : 1;
}
