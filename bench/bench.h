/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Helpers shared by the benchmark workloads (bench/wl_*.c): a fixed-seed
 * PRNG, command-line options with --quick values, a monotonic clock, the
 * resident set size, failure reporting, and the check that malloc and free
 * really come from the allocator the runner meant to preload. Everything is
 * static inline so each workload is one translation unit plus this header. */
#ifndef MPCA_BENCH_H
#define MPCA_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit codes the runner tells apart. */
#define BENCH_EXIT_VERIFY 2  /* the allocator returned wrong memory        */
#define BENCH_EXIT_USAGE 64  /* bad command line                           */
#define BENCH_EXIT_PRELOAD 3 /* malloc is not served by the expected library */
#define BENCH_EXIT_FLAGGED 4 /* finished, but the allocator broke a promise
                              * that does not corrupt data (e.g. alignment) */

/* ---- failures ----------------------------------------------------------- */

static inline _Noreturn void bench_die(int code, const char *fmt, ...)
{
  va_list ap;
  fputs("bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(NULL);
  _exit(code);
}

/* A failed verification of the allocator's work. */
#define BENCH_CHECK(cond, ...)                                                 \
  do {                                                                         \
    if (__builtin_expect(!(cond), 0))                                          \
      bench_die(BENCH_EXIT_VERIFY, "verification failed at %s:%d: %s",       \
                __FILE__, __LINE__, #cond);                                    \
  } while (0)

/* A broken promise that does not corrupt data (a misaligned block): count
 * it, say it (the first few times), finish the run, exit with
 * BENCH_EXIT_FLAGGED so the runner keeps the time but marks the cell. */
static inline unsigned long bench_flag_count(bool add)
{
  static _Atomic unsigned long n;
  return add ? atomic_fetch_add(&n, 1) + 1 : atomic_load(&n);
}

static inline void bench_flag(const char *fmt, ...)
{
  unsigned long k = bench_flag_count(true);
  if (k > 3)
    return;
  /* one write per message, so that threads do not interleave them */
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  fprintf(stderr, "bench: FLAGGED: %s%s\n", msg,
          k == 3 ? " (further ones not shown)" : "");
}

/* Exit status of a workload that got to its end. */
static inline int bench_finish(void)
{
  unsigned long k = bench_flag_count(false);
  if (k == 0)
    return 0;
  fprintf(stderr, "bench: FLAGGED: %lu broken promise(s) in total\n", k);
  return BENCH_EXIT_FLAGGED;
}

/* malloc that never returns NULL to the caller (a NULL is a failure). */
static inline void *bench_xmalloc(size_t n)
{
  void *p = malloc(n);
  if (p == NULL)
    bench_die(BENCH_EXIT_VERIFY, "malloc(%zu) returned NULL", n);
  return p;
}

/* ---- PRNG: xorshift64* (fixed seed, reproducible, no rand()) ------------- */

typedef struct {
  uint64_t s;
} bench_rng;

static inline void bench_rng_seed(bench_rng *r, uint64_t seed)
{
  /* splitmix64 step so that small consecutive seeds give unrelated streams */
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  r->s = z ? z : 0x1234567887654321ull;
}

static inline uint64_t bench_rng_next(bench_rng *r)
{
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) for n > 0 (multiply-shift, bias negligible here). */
static inline uint64_t bench_rng_below(bench_rng *r, uint64_t n)
{
  return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline size_t bench_rng_range(bench_rng *r, size_t lo, size_t hi)
{
  return lo + (size_t)bench_rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Mix a value into a running checksum (order-dependent). */
static inline uint64_t bench_mix(uint64_t h, uint64_t v)
{
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

/* Hash of one value (order-independent sums use this). */
static inline uint64_t bench_hash(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

/* ---- time and memory ------------------------------------------------------ */

static inline double bench_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size of this process in KiB, from /proc/self/statm. */
static inline long bench_rss_kib(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = -1;
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = -1;
  fclose(f);
  if (resident < 0)
    return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- which library serves malloc ------------------------------------------ */

/* File name of the object that defines the symbol `name` first in the global
 * lookup order, i.e. the one the program's calls actually reach. */
static inline const char *bench_provider(const char *name)
{
  Dl_info info;
  void *sym = dlsym(RTLD_DEFAULT, name);
  if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
    return "?";
  return info.dli_fname;
}

static inline bool bench_same_object(const char *actual, const char *expected)
{
  char a[PATH_MAX], e[PATH_MAX];
  const char *base;
  if (strchr(expected, '/') == NULL) {
    /* a bare name such as "libc.so.6": compare the file name */
    base = strrchr(actual, '/');
    return strcmp(base ? base + 1 : actual, expected) == 0;
  }
  if (realpath(actual, a) == NULL || realpath(expected, e) == NULL)
    return false;
  return strcmp(a, e) == 0;
}

/* Is the file `path` mapped into this process? */
static inline bool bench_mapped(const char *path)
{
  char want[PATH_MAX], line[PATH_MAX + 128];
  bool found = false;
  if (realpath(path, want) == NULL)
    return false;
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL)
    return false;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    char *name = strchr(line, '/');
    if (name == NULL)
      continue;
    name[strcspn(name, "\n")] = '\0';
    found = strcmp(name, want) == 0;
  }
  fclose(f);
  return found;
}

/* If BENCH_EXPECT_MALLOC is set (by the runner), make sure malloc, free and
 * realloc come from that object, so a preload that silently failed never
 * passes for a measurement of the allocator. In a non-PIE executable the
 * symbol resolves to the executable's own PLT entry: then only the mapping
 * of the expected library can be checked. */
static inline void bench_check_provider(void)
{
  static const char *const syms[] = {"malloc", "free", "realloc", "calloc"};
  const char *expect = getenv("BENCH_EXPECT_MALLOC");
  if (expect == NULL || *expect == '\0')
    return;
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    const char *got = bench_provider(syms[i]);
    if (bench_same_object(got, expect))
      continue;
    if (bench_same_object(got, "/proc/self/exe") &&
        (strchr(expect, '/') == NULL || bench_mapped(expect)))
      continue;
    bench_die(BENCH_EXIT_PRELOAD, "%s comes from %s, expected %s", syms[i],
              got, expect);
  }
}

/* ---- block stamps: cheap proof that a block is ours and intact ------------ */

/* Write `tag` into the first (up to) 8 bytes of a block and a byte derived
 * from it into its last byte. */
static inline void bench_stamp(void *p, size_t size, uint64_t tag)
{
  unsigned char *b = p;
  memcpy(b, &tag, size < 8 ? size : 8);
  if (size > 8)
    b[size - 1] = (unsigned char)(tag ^ 0xA5);
}

static inline bool bench_stamp_ok(const void *p, size_t size, uint64_t tag)
{
  const unsigned char *b = p;
  uint64_t got = 0;
  memcpy(&got, b, size < 8 ? size : 8);
  if (size < 8)
    tag &= ((uint64_t)1 << (8 * size)) - 1;
  if (got != tag)
    return false;
  return size <= 8 || b[size - 1] == (unsigned char)(tag ^ 0xA5);
}

/* malloc must return memory aligned for any fundamental type of that size. */
static inline bool bench_aligned(const void *p, size_t size)
{
  uintptr_t a = (uintptr_t)p;
  size_t need = size >= 16 ? 16 : (size >= 8 ? 8 : 1);
  return (a & (need - 1)) == 0;
}

/* ---- command line ----------------------------------------------------------- */

typedef struct {
  const char *name;  /* option name without the leading "--" */
  long long value;   /* default (and, after parsing, the value in force) */
  long long quick;   /* value under --quick unless given explicitly */
  const char *help;
} bench_opt;

/* "123", "64K", "16M", "1G" (binary multiples). */
static inline bool bench_parse_num(const char *s, long long *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 0);
  if (errno != 0 || end == s || v < 0)
    return false;
  switch (*end) {
  case 'k': case 'K': v <<= 10; end++; break;
  case 'm': case 'M': v <<= 20; end++; break;
  case 'g': case 'G': v <<= 30; end++; break;
  default: break;
  }
  if (*end != '\0')
    return false;
  *out = v;
  return true;
}

static inline void bench_usage(FILE *f, const char *prog, const char *what,
                               const bench_opt *opts, size_t n)
{
  fprintf(f, "usage: %s [--quick] [--probe] [--OPTION N]...\n%s\n\n", prog,
          what);
  fprintf(f, "  %-12s %14s %10s\n", "option", "default", "quick");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "  --%-10s %14lld %10lld  %s\n", opts[i].name, opts[i].value,
            opts[i].quick, opts[i].help);
  fputs("  --quick      small parameters (smoke test)\n"
        "  --probe      print which objects serve malloc/free and exit\n"
        "Numbers take K, M, G suffixes (binary).\n",
        f);
}

/* Parse argv into opts. Returns true under --quick. Handles --help and
 * --probe itself (and exits), then checks the preload. */
static inline bool bench_parse(int argc, char **argv, const char *what,
                               bench_opt *opts, size_t n)
{
  bool quick = false;
  bool given[64] = {false};
  if (n > 64)
    bench_die(BENCH_EXIT_USAGE, "too many options");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--quick") == 0) {
      quick = true;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      bench_usage(stdout, argv[0], what, opts, n);
      exit(0);
    }
    if (strcmp(a, "--probe") == 0) {
      printf("malloc=%s free=%s\n", bench_provider("malloc"),
             bench_provider("free"));
      exit(0);
    }
    if (strncmp(a, "--", 2) != 0)
      goto bad;
    a += 2;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    size_t k;
    for (k = 0; k < n; k++)
      if (strlen(opts[k].name) == len && strncmp(opts[k].name, a, len) == 0)
        break;
    if (k == n)
      goto bad;
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (val == NULL || !bench_parse_num(val, &opts[k].value))
      bench_die(BENCH_EXIT_USAGE, "bad value for --%s (try --help)",
                opts[k].name);
    given[k] = true;
  }
  if (quick)
    for (size_t k = 0; k < n; k++)
      if (!given[k])
        opts[k].value = opts[k].quick;
  bench_check_provider();
  return quick;
bad:
  bench_usage(stderr, argv[0], what, opts, n);
  exit(BENCH_EXIT_USAGE);
}

#define BENCH_NOPTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
