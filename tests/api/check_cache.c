/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The large-buffer cache and the retention budget, through the real library
 * (linked with -lmpcalloc):
 *  - a loop that allocates, touches and frees 64 MiB takes almost no page
 *    fault after its first iteration (the buffer is reused, not re-faulted);
 *  - calloc of a reused buffer is zeroed; calloc of fresh memory is not
 *    written (no page is faulted by the allocator);
 *  - malloc_trim(0) brings the resident size back down;
 *  - by default no block asks for transparent huge pages; with
 *    MPCALLOC_THP_MIN=16M blocks of 16 MiB and up are mapped with
 *    MADV_HUGEPAGE and smaller ones are not (checked in /proc/self/smaps);
 *  - with MPCALLOC_PURGE_DELAY=200ms, 64 MiB freed and left unused for
 *    600 ms leave the resident size once the program allocates again;
 *  - with a small MPCALLOC_RETAIN_MAX, the resident size after freeing 1 GiB
 *    of mixed blocks stays within live + budget + a slack (the child runs
 *    this program again with the variable set: the environment is read once,
 *    at the first allocation). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <malloc.h>
#include <mpcalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <check.h>

#define MIB ((size_t)1 << 20)
/* Metadata and per-heap reserve allowed above live + budget: the heap keeps
 * one empty small and one empty medium macro block (6 MiB), plus tables. */
#define SLACK (16 * MIB)

static char self[4096];

static long minor_faults(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

static size_t rss(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
      res = 0;
    fclose(f);
  }
  return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* The mapping of /proc/self/smaps holding `p`: whether its VmFlags carry
 * `flag`, and its AnonHugePages in KiB (-1 when p is in no mapping). */
static long smaps_of(const void *p, const char *flag, bool *has_flag)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL)
    return -1;
  char line[1024];
  bool inside = false;
  long huge_kb = -1;
  *has_flag = false;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
      if (inside)
        break;
      inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    } else if (inside && strncmp(line, "AnonHugePages:", 14) == 0) {
      huge_kb = strtol(line + 14, NULL, 10);
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      char want[8];
      snprintf(want, sizeof want, " %s", flag);
      for (char *q = strstr(line, want); q; q = strstr(q + 1, want))
        if (q[strlen(want)] == ' ' || q[strlen(want)] == '\n')
          *has_flag = true;
    }
  }
  fclose(f);
  return huge_kb;
}

/* Whether this kernel lets a program ask for transparent huge pages. */
static bool thp_available(void)
{
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  char buf[128] = "";
  if (f == NULL)
    return false;
  bool ok = fgets(buf, sizeof buf, f) != NULL && strstr(buf, "[never]") == NULL;
  fclose(f);
  return ok;
}

static void touch(char *p, size_t n, char v)
{
  for (size_t i = 0; i < n; i += 4096)
    p[i] = v;
}

START_TEST(test_reuse_without_faults)
{
  size_t n = 64 * MIB;
  long first = 0, worst = 0;
  for (int i = 0; i < 10; i++) {
    long before = minor_faults();
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    touch(p, n, (char)i);
    free(p);
    long faults = minor_faults() - before;
    if (i == 0)
      first = faults;
    else if (faults > worst)
      worst = faults;
  }
  /* the first pass faults every page, or every 2 MiB page when the block
   * got transparent huge pages (MPCALLOC_THP_MIN) */
  char *q = malloc(n);
  touch(q, n, 1);
  bool hg;
  long page = smaps_of(q, "hg", &hg) > 0 ? 2 * MIB : 4096;
  free(q);
  printf("64 MiB loop: %ld minor faults in the first iteration, at most %ld in the next nine (%ld KiB pages)\n",
         first, worst, page / 1024);
  ck_assert_int_ge(first, (long)(n / (size_t)page) / 2);
  ck_assert_int_le(worst, 64); /* a few pages of metadata at most */
}
END_TEST

START_TEST(test_calloc_of_reused_buffer_is_zero)
{
  size_t n = 32 * MIB;
  char *p = malloc(n);
  memset(p, 0x5a, n);
  free(p);
  long before = minor_faults();
  unsigned char *q = calloc(1, n);
  ck_assert_ptr_nonnull(q);
  ck_assert_int_le(minor_faults() - before, 64); /* reused, not fresh */
  for (size_t i = 0; i < n; i += 511)
    ck_assert_uint_eq(q[i], 0);
  free(q);
}
END_TEST

START_TEST(test_calloc_of_fresh_memory_is_not_written)
{
  /* memory straight from the OS is known zero: calloc must not touch it */
  mpc_alloc_release(0); /* nothing cached: the next huge block is fresh */
  size_t n = 128 * MIB;
  long before = minor_faults();
  unsigned char *q = calloc(1, n);
  ck_assert_ptr_nonnull(q);
  long faults = minor_faults() - before;
  ck_assert_int_le(faults, 64);
  for (size_t i = 0; i < n; i += 1 << 20)
    ck_assert_uint_eq(q[i], 0);
  free(q);
}
END_TEST

START_TEST(test_trim_brings_rss_down)
{
  enum { N = 16 };
  char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = malloc(16 * MIB);
    touch(p[i], 16 * MIB, 1);
  }
  for (int i = 0; i < N; i++)
    free(p[i]);
  size_t cached = rss();
  ck_assert_int_eq(malloc_trim(0), 1);
  size_t after = rss();
  printf("256 MiB freed: RSS %zu MiB with the cache, %zu MiB after malloc_trim(0)\n", cached / MIB, after / MIB);
  ck_assert_uint_ge(cached - after, 200 * MIB);
}
END_TEST

START_TEST(test_no_huge_page_advice_by_default)
{
  char *big = malloc(64 * MIB);
  touch(big, 64 * MIB, 1);
  bool hg;
  long huge_kb = smaps_of(big, "hg", &hg);
  printf("default: 64 MiB block: MADV_HUGEPAGE %s, AnonHugePages %ld KiB\n", hg ? "yes" : "no", huge_kb);
  ck_assert(!hg);
  free(big);
}
END_TEST

/* Child side of the THP test: runs with MPCALLOC_THP_MIN=16M. */
static int thp_child(void)
{
  if (!thp_available()) {
    printf("transparent huge pages unavailable here: advice not checked\n");
    return 0;
  }
  char *big = malloc(16 * MIB), *mid = malloc(8 * MIB);
  touch(big, 16 * MIB, 1);
  bool hg_big, hg_mid;
  long huge_kb = smaps_of(big, "hg", &hg_big);
  smaps_of(mid, "hg", &hg_mid);
  printf("MPCALLOC_THP_MIN=16M: 16 MiB block: MADV_HUGEPAGE %s, AnonHugePages %ld KiB; 8 MiB block: "
         "MADV_HUGEPAGE %s\n",
         hg_big ? "yes" : "no", huge_kb, hg_mid ? "yes" : "no");
  free(big);
  free(mid);
  return hg_big && !hg_mid ? 0 : 1;
}

/* Run this program again with one more variable in its environment. */
static void run_child(const char *mode, char *env)
{
  fflush(stdout);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char *argv[] = {self, (char *)mode, NULL};
    char *envp[] = {env, NULL};
    execve(self, argv, envp);
    _exit(3);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_msg(WEXITSTATUS(status) == 0, "%s child exited %d", mode, WEXITSTATUS(status));
}

START_TEST(test_thp_min_asks_for_huge_pages) { run_child("thp", "MPCALLOC_THP_MIN=16M"); }
END_TEST

/* Child side of the budget test: runs with MPCALLOC_RETAIN_MAX=64M. */
static int budget_child(void)
{
  size_t live_bytes = 100 * MIB;
  char *live = malloc(live_bytes);
  touch(live, live_bytes, 3);
  /* 1 GiB of mixed blocks: small, medium and huge */
  enum { N = 60000 };
  static void *tmp[N];
  size_t total = 0;
  unsigned seed = 12345;
  int n = 0;
  while (total < 1024 * MIB && n < N) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 16;
    size_t size = r % 100 < 70 ? 16 + r % 1000 : r % 100 < 97 ? 2000 + r % 200000 : 2 * MIB + (r % 32) * MIB;
    tmp[n] = malloc(size);
    if (tmp[n] == NULL)
      return 2;
    touch(tmp[n], size, 4);
    total += size;
    n++;
  }
  for (int i = 0; i < n; i++)
    free(tmp[i]);
  size_t res = rss();
  size_t limit = live_bytes + 64 * MIB + SLACK;
  printf("budget 64 MiB: %zu MiB of mixed blocks freed, %zu MiB live, RSS %zu MiB (limit %zu MiB)\n", total / MIB,
         live_bytes / MIB, res / MIB, limit / MIB);
  free(live);
  return res <= limit ? 0 : 1;
}

START_TEST(test_budget_bounds_rss) { run_child("budget", "MPCALLOC_RETAIN_MAX=64M"); }
END_TEST

/* Child side of the purge delay test: runs with MPCALLOC_PURGE_DELAY=200ms. */
static int purge_child(void)
{
  char *big = malloc(64 * MIB);
  touch(big, 64 * MIB, 5);
  free(big);
  size_t before = rss();
  usleep(600 * 1000);
  /* the program goes on: medium blocks take the slow path, whose tick
   * reads the clock every 128 calls (a small block freed and allocated
   * again never leaves the fast paths) */
  for (int i = 0; i < 1000; i++) {
    void *p = malloc(40000 + (size_t)i * 16);
    if (p == NULL)
      return 2;
    free(p);
  }
  size_t after = rss();
  printf("MPCALLOC_PURGE_DELAY=200ms: 64 MiB freed, RSS %zu MiB, 600 ms later %zu MiB\n", before / MIB,
         after / MIB);
  return before >= after + 48 * MIB ? 0 : 1;
}

START_TEST(test_purge_delay_gives_idle_memory_back) { run_child("purge", "MPCALLOC_PURGE_DELAY=200ms"); }
END_TEST

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "budget") == 0)
    return budget_child();
  if (argc > 1 && strcmp(argv[1], "thp") == 0)
    return thp_child();
  if (argc > 1 && strcmp(argv[1], "purge") == 0)
    return purge_child();
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return 99;
  self[len] = '\0';
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("cache");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_reuse_without_faults);
  tcase_add_test(tc, test_calloc_of_reused_buffer_is_zero);
  tcase_add_test(tc, test_calloc_of_fresh_memory_is_not_written);
  tcase_add_test(tc, test_trim_brings_rss_down);
  tcase_add_test(tc, test_budget_bounds_rss);
  tcase_add_test(tc, test_purge_delay_gives_idle_memory_back);
  tcase_add_test(tc, test_no_huge_page_advice_by_default);
  tcase_add_test(tc, test_thp_min_asks_for_huge_pages);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
