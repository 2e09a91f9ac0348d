/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Planted heap bugs, each in a child process of its own, and how the
 * allocator the program runs on (LD_PRELOAD) reacts to each:
 *   caught    a message on stderr, and the process stopped (abort() or
 *             another signal, or a non-zero exit)
 *   reported  a message on stderr, and the program went on
 *   stopped   the process died of a signal without a word
 *   silent    the program went on as if nothing had happened
 *   hung      still running after the watchdog (killed)
 *   n/a       the allocator lacks the function the bug needs
 * Each child allocates a little first (so that the allocator is set up),
 * plants its bug, then keeps allocating and freeing blocks of the sizes
 * involved for a while, which is where allocators that check at
 * allocation time find the damage, and prints "survived". The program is
 * not linked with libmpcalloc: the allocator is whatever the dynamic
 * loader gives it.
 *
 *   bugs                  the table, one line per bug
 *   bugs --markdown       the same as Markdown rows (tests/planted/table.sh)
 *   bugs --expect BUILD   the table, checked against what libmpcalloc's
 *                         BUILD (default or hardened) must do; for libmpcalloc
 *                         "caught" also means one line starting "mpcalloc: "
 *                         and SIGABRT; exit 1 on any difference
 *   bugs --list           the bugs' names and what each does
 *   bugs run NAME         plant one bug in this process (what a child does)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SMALL 48
#define MEDIUM 100000
#define HUGE_SIZE ((size_t)8 << 20)
#define CHILD_SECONDS 60 /* generous: the machine may be loaded several times over */
#define NPOOL 64

/* The compiler must not see through the planted bugs: every pointer that
 * is misused goes through this. */
static void *volatile launder_slot;
static void *launder(void *p)
{
  launder_slot = p;
  return launder_slot;
}

/* ---- what comes after a bug: allocations of the sizes involved ---------- */

static void churn(size_t size, int rounds)
{
  static void *keep[4096];
  int n = rounds < 4096 ? rounds : 4096;
  for (int i = 0; i < n; i++) {
    keep[i] = malloc(size);
    if (keep[i])
      memset(keep[i], 0x5a, size < 64 ? size : 64);
  }
  for (int i = 0; i < n; i++)
    free(keep[i]);
}

/* Blocks of `size` sorted by address; returns how many. */
static int cmp_ptr(const void *a, const void *b)
{
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* Two blocks of `size`, `lo` below `hi`, with no block of ours between
 * them and less than 4 blocks apart: neighbours. The other blocks of the
 * pool are freed. False when no such pair was found. */
static int neighbours(size_t size, char **lo, char **hi)
{
  void *pool[NPOOL];
  for (int i = 0; i < NPOOL; i++)
    pool[i] = malloc(size);
  qsort(pool, NPOOL, sizeof pool[0], cmp_ptr);
  int k = -1;
  for (int i = 0; i + 1 < NPOOL && k < 0; i++)
    if ((uintptr_t)pool[i + 1] - (uintptr_t)pool[i] < 4 * size)
      k = i;
  for (int i = 0; i < NPOOL; i++)
    if (k < 0 || (i != k && i != k + 1))
      free(pool[i]);
  if (k < 0)
    return 0;
  *lo = pool[k];
  *hi = pool[k + 1];
  return 1;
}

/* ---- the bugs ------------------------------------------------------------- */

static void *thread_free(void *p)
{
  free(p);
  return NULL;
}

/* Frees p on another thread, which then exits. */
static void free_on_thread(void *p)
{
  pthread_t t;
  if (pthread_create(&t, NULL, thread_free, p) != 0 || pthread_join(t, NULL) != 0)
    exit(3);
}

static void double_free(size_t size)
{
  char *p = malloc(size);
  free(p);
  free(launder(p));
  churn(size, 200);
}

static void double_free_thread(size_t size)
{
  char *p = malloc(size);
  free_on_thread(p);
  free(launder(p));
  churn(size, 200);
}

static void bug_double_free_small(void) { double_free(SMALL); }
static void bug_double_free_small_thread(void) { double_free_thread(SMALL); }
static void bug_double_free_medium(void) { double_free(MEDIUM); }
static void bug_double_free_medium_thread(void) { double_free_thread(MEDIUM); }
static void bug_double_free_huge(void) { double_free(HUGE_SIZE); }

static void bug_free_after_realloc(void)
{
  char *p = malloc(SMALL);
  char *q = realloc(p, MEDIUM); /* moves: p is freed */
  free(launder(p));
  free(q);
  churn(SMALL, 200);
}

static void bug_free_stack(void)
{
  char buf[64];
  memset(buf, 1, sizeof buf);
  free(launder(buf + 16));
  churn(SMALL, 200);
}

static char global_buf[256];
static void bug_free_global(void)
{
  free(launder(global_buf + 32));
  churn(SMALL, 200);
}

static void free_inside(size_t size, size_t off)
{
  char *p = malloc(size);
  memset(p, 1, size < 4096 ? size : 4096);
  free(launder(p + off));
  churn(size, 50);
}

static void bug_free_interior_small(void) { free_inside(SMALL, 16); }
static void bug_free_misaligned_small(void) { free_inside(SMALL, 1); }
static void bug_free_interior_medium(void) { free_inside(MEDIUM, 4096); }
static void bug_free_interior_huge(void) { free_inside(HUGE_SIZE, 4096); }

static void bug_realloc_freed(void)
{
  char *p = malloc(SMALL);
  free(p);
  p = realloc(launder(p), 2 * SMALL);
  churn(SMALL, 200);
  free(p);
}

static void bug_usable_size_freed(void)
{
  char *p = malloc(SMALL);
  free(p);
  volatile size_t n = malloc_usable_size(launder(p));
  (void)n;
  churn(SMALL, 200);
}

static int no_free_sized;
static void bug_free_sized_wrong(void)
{
  void (*free_sized_fn)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  if (free_sized_fn == NULL) {
    no_free_sized = 1;
    return;
  }
  char *p = malloc(SMALL);
  free_sized_fn(p, 10 * SMALL);
  churn(SMALL, 200);
}

/* Writes into a freed block (bytes 24-31, inside any allocator's first
 * cache line, past any free-list link), then allocates the size again. */
static void write_after_free(size_t size)
{
  char *p = malloc(size);
  memset(p, 1, size < 4096 ? size : 4096);
  free(p);
  memset((char *)launder(p) + 24, 'A', 8);
  churn(size, size == SMALL ? 4000 : 64);
}

static void bug_write_after_free_small(void) { write_after_free(SMALL); }
static void bug_write_after_free_medium(void) { write_after_free(MEDIUM); }

/* 16 bytes written past the end of a small block whose neighbour above is
 * free; then the block is freed and the size allocated again. */
static void bug_overflow_small(void)
{
  char *lo, *hi;
  if (!neighbours(SMALL, &lo, &hi))
    exit(3);
  free(hi);
  memset((char *)launder(lo) + SMALL, 'A', 16);
  free(lo);
  churn(SMALL, 4000);
}

/* 16 bytes written before the start of a small block whose neighbour below
 * is free; then the block is freed and the size allocated again. */
static void bug_underflow_small(void)
{
  char *lo, *hi;
  if (!neighbours(SMALL, &lo, &hi))
    exit(3);
  free(lo);
  memset((char *)launder(hi) - 16, 'A', 16);
  free(hi);
  churn(SMALL, 4000);
}

static void overflow(size_t size)
{
  char *p = malloc(size);
  memset(p, 1, size);
  memset((char *)launder(p) + size, 'A', 16);
  free(p);
  churn(size, 64);
}

static void underflow(size_t size)
{
  char *p = malloc(size);
  memset(p, 1, size);
  memset((char *)launder(p) - 16, 'A', 16);
  free(p);
  churn(size, 64);
}

static void bug_overflow_medium(void) { overflow(MEDIUM); }
static void bug_underflow_medium(void) { underflow(MEDIUM); }
static void bug_overflow_huge(void) { overflow(HUGE_SIZE); }
static void bug_underflow_huge(void) { underflow(HUGE_SIZE); }

/* ---- the table -------------------------------------------------------------- */

typedef struct bug {
  const char *name;
  void (*plant)(void);
  const char *expect_default, *expect_hardened; /* libmpcalloc's builds */
  const char *what;
} bug;

static const bug bugs[] = {
    {"double-free-small", bug_double_free_small, "caught", "caught", "free() twice, 48 B"},
    {"double-free-small-thread", bug_double_free_small_thread, "caught", "caught",
     "48 B freed by another thread, then by its owner"},
    {"double-free-medium", bug_double_free_medium, "caught", "caught", "free() twice, 100000 B"},
    {"double-free-medium-thread", bug_double_free_medium_thread, "caught", "caught",
     "100000 B freed by another thread, then by its owner"},
    {"double-free-huge", bug_double_free_huge, "caught", "caught", "free() twice, 8 MiB"},
    {"free-after-realloc", bug_free_after_realloc, "caught", "caught",
     "free() of the old pointer of a block realloc moved"},
    {"free-stack", bug_free_stack, "caught", "caught", "free() of an address on the stack"},
    {"free-global", bug_free_global, "caught", "caught", "free() of the address of a global"},
    {"free-interior-small", bug_free_interior_small, "caught", "caught", "free(p + 16), 48 B"},
    {"free-misaligned-small", bug_free_misaligned_small, "caught", "caught", "free(p + 1), 48 B"},
    {"free-interior-medium", bug_free_interior_medium, "caught", "caught", "free(p + 4096), 100000 B"},
    {"free-interior-huge", bug_free_interior_huge, "caught", "caught", "free(p + 4096), 8 MiB"},
    {"realloc-freed", bug_realloc_freed, "caught", "caught", "realloc() of a freed block"},
    {"usable-size-freed", bug_usable_size_freed, "caught", "caught", "malloc_usable_size() of a freed block"},
    {"free-sized-wrong", bug_free_sized_wrong, "caught", "caught", "free_sized(p, 480) of a 48 B block (C23)"},
    {"write-after-free-small", bug_write_after_free_small, "silent", "caught",
     "bytes 24-31 of a freed 48 B block written, then 48 B allocated again"},
    {"write-after-free-medium", bug_write_after_free_medium, "silent", "caught",
     "bytes 24-31 of a freed 100000 B block written, then 100000 B allocated again"},
    {"overflow-small", bug_overflow_small, "stopped", "caught",
     "16 bytes past the end of a 48 B block, its neighbour free; then 48 B allocated again"},
    {"underflow-small", bug_underflow_small, "silent", "caught",
     "16 bytes before a 48 B block, its neighbour free; then 48 B allocated again"},
    {"overflow-medium", bug_overflow_medium, "stopped", "caught", "16 bytes past the end of a 100000 B block"},
    {"underflow-medium", bug_underflow_medium, "caught", "caught", "16 bytes before a 100000 B block"},
    {"overflow-huge", bug_overflow_huge, "silent", "caught", "16 bytes past the end of an 8 MiB block"},
    {"underflow-huge", bug_underflow_huge, "silent", "caught", "16 bytes before an 8 MiB block"},
};
#define NBUGS (sizeof bugs / sizeof bugs[0])

static int run_one(const char *name)
{
  for (size_t i = 0; i < NBUGS; i++) {
    if (strcmp(bugs[i].name, name) != 0)
      continue;
    churn(SMALL, 10); /* the allocator is set up */
    churn(MEDIUM, 2);
    bugs[i].plant();
    if (no_free_sized) {
      puts("n/a");
      return 0;
    }
    puts("survived");
    return 0;
  }
  fprintf(stderr, "bugs: no bug named %s\n", name);
  return 64;
}

/* ---- running a child ------------------------------------------------------- */

typedef struct outcome {
  char kind[16];
  char first[240]; /* its first line on stderr */
  int lines;       /* lines on stderr */
  int signal;      /* the signal that ended it, or 0 */
} outcome;

/* Reads fd until EOF or the deadline into buf (NUL-terminated). */
static void drain(int fd, char *buf, size_t n, time_t deadline, pid_t pid, int *killed)
{
  size_t len = 0;
  for (;;) {
    int left = (int)(deadline - time(NULL));
    if (left <= 0) {
      kill(pid, SIGKILL);
      *killed = 1;
      left = 5;
    }
    struct pollfd pf = {fd, POLLIN, 0};
    int r = poll(&pf, 1, left * 1000);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    char tmp[512];
    ssize_t k = read(fd, tmp, sizeof tmp);
    if (k <= 0)
      break;
    size_t take = (size_t)k < n - 1 - len ? (size_t)k : n - 1 - len;
    memcpy(buf + len, tmp, take);
    len += take;
  }
  buf[len] = 0;
}

static void run_child(const char *self, const bug *b, outcome *o)
{
  int err[2], out[2];
  if (pipe(err) != 0 || pipe(out) != 0) {
    perror("bugs: pipe");
    exit(2);
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bugs: fork");
    exit(2);
  }
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(err[1], 2);
    dup2(out[1], 1);
    close(err[0]);
    close(out[0]);
    execl(self, self, "run", b->name, (char *)NULL);
    _exit(127);
  }
  close(err[1]);
  close(out[1]);
  static char errbuf[8192], outbuf[256];
  int killed = 0;
  time_t deadline = time(NULL) + CHILD_SECONDS;
  drain(err[0], errbuf, sizeof errbuf, deadline, pid, &killed);
  drain(out[0], outbuf, sizeof outbuf, deadline, pid, &killed);
  close(err[0]);
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  o->lines = 0;
  for (const char *c = errbuf; *c; c++)
    o->lines += *c == '\n' || (c[1] == 0);
  size_t l = strcspn(errbuf, "\n");
  if (l >= sizeof o->first)
    l = sizeof o->first - 1;
  memcpy(o->first, errbuf, l);
  o->first[l] = 0;
  o->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  const char *k;
  if (killed)
    k = "hung";
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && strncmp(outbuf, "n/a", 3) == 0)
    k = "n/a";
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(outbuf, "survived") != NULL)
    k = errbuf[0] ? "reported" : "silent";
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
    k = "setup-failed"; /* (no neighbours found, or no thread) */
  else
    k = errbuf[0] ? "caught" : "stopped";
  snprintf(o->kind, sizeof o->kind, "%s", k);
}

static int check(const bug *b, const outcome *o, const char *build)
{
  const char *want = strcmp(build, "hardened") == 0 ? b->expect_hardened : b->expect_default;
  if (strcmp(o->kind, want) != 0) {
    printf("FAIL: %s: %s, expected %s (%s)\n", b->name, o->kind, want, o->first);
    return 1;
  }
  if (strcmp(want, "caught") == 0 &&
      (o->lines != 1 || strncmp(o->first, "mpcalloc: ", 10) != 0 || o->signal != SIGABRT)) {
    printf("FAIL: %s: caught, but not with one line starting \"mpcalloc: \" and SIGABRT (%d lines, signal "
           "%d): %s\n",
           b->name, o->lines, o->signal, o->first);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "run") == 0)
    return run_one(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < NBUGS; i++)
      printf("%-26s %s\n", bugs[i].name, bugs[i].what);
    return 0;
  }
  int markdown = argc == 2 && strcmp(argv[1], "--markdown") == 0;
  const char *build = argc == 3 && strcmp(argv[1], "--expect") == 0 ? argv[2] : NULL;
  if (argc > 1 && !markdown && build == NULL) {
    fprintf(stderr, "usage: bugs [--markdown | --expect default|hardened | --list | run NAME]\n");
    return 64;
  }
  if (build && strcmp(build, "default") != 0 && strcmp(build, "hardened") != 0) {
    fprintf(stderr, "bugs: --expect default or hardened\n");
    return 64;
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    perror("bugs: /proc/self/exe");
    return 2;
  }
  self[n] = 0;
  int failures = 0, caught = 0;
  for (size_t i = 0; i < NBUGS; i++) {
    outcome o;
    run_child(self, &bugs[i], &o);
    caught += strcmp(o.kind, "caught") == 0;
    if (markdown)
      printf("| %s | %s |\n", bugs[i].name, o.kind);
    else
      printf("%-26s %-9s %s\n", bugs[i].name, o.kind, o.first);
    if (build)
      failures += check(&bugs[i], &o, build);
    fflush(stdout);
  }
  if (!markdown)
    printf("caught %d of %zu\n", caught, NBUGS);
  if (build)
    printf("%s: %d of %zu bugs as expected for the %s build\n", failures ? "FAIL" : "PASS", (int)NBUGS - failures,
           NBUGS, build);
  return failures ? 1 : 0;
}
