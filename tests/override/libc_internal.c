/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A program linked with -lmpcalloc (no LD_PRELOAD): the allocations glibc
 * makes on its behalf (strdup, getline, open_memstream, asprintf, stdio
 * buffers, qsort, regcomp, scandir, setenv, localtime, getpwuid, threads, ...)
 * must go through libmpcalloc too. Proof: every such pointer is known to
 * libmpcalloc (malloc_usable_size and free accept it; libmpcalloc aborts on
 * pointers it does not own) and glibc's own heap stays untouched: glibc's
 * mallinfo2() reports arena == 0, uordblks == 0 and hblkhd == 0. A control
 * allocation through glibc's __libc_malloc then shows that glibc's
 * mallinfo2 does see glibc's heap when used. libmpcalloc exports both
 * names too: glibc's own are looked up in libc.so.6 itself (dlsym on its
 * handle searches that object first). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <regex.h>
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc's own allocator and its mallinfo2, still exported by libc.so.6. */
static struct {
  void *(*malloc)(size_t size);
  void (*free)(void *p);
  struct mallinfo2 (*mallinfo2)(void);
} glibc;

static void *libc_symbol(void *libc, const char *name)
{
  void *f = libc ? dlsym(libc, name) : NULL;
  if (f == NULL) {
    fprintf(stderr, "FAIL: %s not found in libc.so.6: %s\n", name, dlerror());
    exit(1);
  }
  Dl_info where;
  if (dladdr(f, &where) == 0 || where.dli_fname == NULL || strstr(where.dli_fname, "libc.so") == NULL) {
    fprintf(stderr, "FAIL: %s of libc.so.6 is not in libc.so.6\n", name);
    exit(1);
  }
  return f;
}

static void find_glibc(void)
{
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  *(void **)&glibc.malloc = libc_symbol(libc, "__libc_malloc");
  *(void **)&glibc.free = libc_symbol(libc, "__libc_free");
  *(void **)&glibc.mallinfo2 = libc_symbol(libc, "mallinfo2");
}

static int failures;

#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                  \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fputc('\n', stderr);                                                                                   \
      failures++;                                                                                            \
    }                                                                                                        \
  } while (0)

/* p was allocated by glibc on our behalf: libmpcalloc must own it (it aborts
 * on a pointer it does not know), with at least `size` usable bytes. */
static void owned(const char *what, void *p, size_t size)
{
  CHECK(p != NULL, "%s returned NULL", what);
  if (p == NULL)
    return;
  size_t u = malloc_usable_size(p);
  CHECK(u >= size, "%s: malloc_usable_size %zu < %zu", what, u, size);
}

static void glibc_heap_untouched(const char *when)
{
  struct mallinfo2 mi = glibc.mallinfo2();
  CHECK(mi.arena == 0 && mi.uordblks == 0 && mi.hblkhd == 0,
        "%s: glibc's heap was used: arena %zu, uordblks %zu, hblkhd %zu", when, mi.arena, mi.uordblks, mi.hblkhd);
}

static int cmp_int(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

static void no_free(void *p) { (void)p; }

static char *vformat(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  return n < 0 ? NULL : s;
}

static void *thread_main(void *arg)
{
  (void)arg;
  char *s = strdup("allocated by glibc in another thread");
  char *t = NULL;
  if (asprintf(&t, "%0*d", 100000, 7) < 0)
    t = NULL;
  free(t);
  return s; /* freed by the main thread */
}

static void string_functions(void)
{
  char *s = strdup("hello, world");
  owned("strdup", s, 13);
  free(s);
  s = strndup("abcdefghijklmnopqrstuvwxyz", 10);
  owned("strndup", s, 11);
  free(s);
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  s = strdup(big);
  owned("strdup(5000)", s, sizeof big);
  free(s);

  s = NULL;
  CHECK(asprintf(&s, "%s-%d-%0*d", "asprintf", 42, 300000, 1) > 0, "asprintf failed");
  owned("asprintf(300 KB)", s, 300000);
  free(s);
  s = vformat("%0*d", 3 << 20, 5);
  owned("vasprintf(3 MiB)", s, 3 << 20);
  free(s);
}

static void stdio_functions(void)
{
  /* open_memstream: glibc grows the buffer with realloc */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(f != NULL, "open_memstream failed");
  if (f) {
    for (int i = 0; i < 100000; i++)
      fprintf(f, "line %6d of the memory stream\n", i);
    fclose(f);
    CHECK(len == 100000u * 33u, "open_memstream length %zu", len);
    owned("open_memstream buffer", buf, len + 1);
    free(buf);
  }

  /* getline / getdelim on a stream with one 200 KB line and short ones */
  size_t n = 200000;
  char *text = malloc(n + 100);
  memset(text, 'a', n);
  strcpy(text + n, "\nshort\nlast");
  f = fmemopen(text, strlen(text), "r");
  CHECK(f != NULL, "fmemopen failed");
  if (f) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    CHECK(got == (ssize_t)n + 1, "getline read %zd", got);
    owned("getline buffer", line, (size_t)got + 1);
    got = getline(&line, &cap, f);
    CHECK(got == 6 && strcmp(line, "short\n") == 0, "second getline");
    free(line);
    line = NULL;
    cap = 0;
    got = getdelim(&line, &cap, 't', f);
    CHECK(got == 4, "getdelim read %zd", got);
    owned("getdelim buffer", line, 5);
    free(line);
    fclose(f);
  }
  free(text);

  /* a FILE and its buffer come from malloc */
  const char *tmpdir = getenv("TMPDIR");
  char tpath[4096];
  snprintf(tpath, sizeof tpath, "%s/mpca-libc-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(tpath);
  CHECK(fd >= 0, "mkstemp failed: %s", strerror(errno));
  if (fd >= 0) {
    f = fdopen(fd, "w+");
    for (int i = 0; i < 50000; i++)
      fprintf(f, "%d %s\n", i, "some text to fill the stdio buffer");
    rewind(f);
    int k = -1;
    CHECK(fscanf(f, "%d", &k) == 1 && k == 0, "read back");
    fclose(f);
    unlink(tpath);
  }

  /* printf to stdout with a big argument: stdout's buffer is malloc'ed */
  char *big = malloc(1 << 20);
  memset(big, 'z', (1 << 20) - 1);
  big[(1 << 20) - 1] = '\0';
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    fprintf(null, "%s %s\n", big, big);
    fclose(null);
  }
  printf("printf of %zu bytes: %.*s\n", strlen(big), 10, big);
  free(big);
}

static void misc_functions(void)
{
  /* qsort: glibc sorts a large array through a malloc'ed buffer */
  size_t n = 1000000;
  int *a = malloc(n * sizeof *a);
  for (size_t i = 0; i < n; i++)
    a[i] = (int)((i * 2654435761u) % 1000003u);
  qsort(a, n, sizeof *a, cmp_int);
  for (size_t i = 1; i < n; i++)
    if (a[i - 1] > a[i]) {
      CHECK(0, "qsort result unsorted at %zu", i);
      break;
    }
  free(a);

  /* regcomp / regexec / regfree */
  regex_t re;
  CHECK(regcomp(&re, "^([a-z]+)-([0-9]{2,5})(x|y)*$", REG_EXTENDED) == 0, "regcomp");
  regmatch_t m[4];
  CHECK(regexec(&re, "alloc-2026xyx", 4, m, 0) == 0, "regexec");
  regfree(&re);

  /* scandir: the entries and the array are malloc'ed, freed by us */
  struct dirent **list = NULL;
  int k = scandir("/", &list, NULL, alphasort);
  CHECK(k > 0, "scandir failed");
  for (int i = 0; i < k; i++) {
    owned("scandir entry", list[i], 1);
    free(list[i]);
  }
  if (k > 0)
    owned("scandir array", list, (size_t)k * sizeof *list);
  free(list);

  glob_t g;
  if (glob("/*", 0, NULL, &g) == 0) {
    owned("glob pathv", g.gl_pathv, g.gl_pathc * sizeof(char *));
    globfree(&g);
  }

  char *cwd = getcwd(NULL, 0);
  owned("getcwd(NULL, 0)", cwd, strlen(cwd ? cwd : "") + 1);
  free(cwd);
  char *rp = realpath(".", NULL);
  owned("realpath(., NULL)", rp, strlen(rp ? rp : "") + 1);
  free(rp);

  /* environment, time zone, locale, passwd database */
  for (int i = 0; i < 200; i++) {
    char name[32], value[64];
    snprintf(name, sizeof name, "MPCA_TEST_VAR_%d", i);
    snprintf(value, sizeof value, "value-%d", i);
    CHECK(setenv(name, value, 1) == 0, "setenv");
  }
  for (int i = 0; i < 200; i++) {
    char name[32];
    snprintf(name, sizeof name, "MPCA_TEST_VAR_%d", i);
    unsetenv(name);
  }
  setenv("TZ", "Europe/Paris", 1);
  tzset();
  time_t t = 1700000000;
  struct tm tm;
  CHECK(localtime_r(&t, &tm) != NULL, "localtime_r");
  locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (loc) {
    locale_t dup = duplocale(loc);
    if (dup)
      freelocale(dup);
    freelocale(loc);
  }
  struct passwd *pw = getpwuid(0);
  (void)pw;

  /* tsearch: nodes malloc'ed by glibc, freed by tdestroy with our free */
  void *root = NULL;
  static char keys[1000][8];
  for (int i = 0; i < 1000; i++) {
    snprintf(keys[i], sizeof keys[i], "%d", (i * 7919) % 1000);
    tsearch(keys[i], &root, cmp_str);
  }
  tdestroy(root, no_free);
  root = NULL;

  /* a thread: its start-up allocations, and a block glibc made there */
  pthread_t th;
  void *s = NULL;
  CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
  CHECK(pthread_join(th, &s) == 0, "pthread_join");
  owned("strdup in a thread", s, 10);
  free(s);
}

int main(void)
{
  find_glibc();
  string_functions();
  stdio_functions();
  misc_functions();
  fflush(stdout);
  glibc_heap_untouched("after libc-internal allocations");

  /* Control: glibc's allocator used directly does show up in mallinfo2, so
   * the zeros above mean something. */
  void *g = glibc.malloc(1000);
  struct mallinfo2 mi = glibc.mallinfo2();
  CHECK(g != NULL && mi.arena > 0 && mi.uordblks >= 1000,
        "control: glibc heap not visible after __libc_malloc: arena %zu, uordblks %zu", mi.arena, mi.uordblks);
  glibc.free(g);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  puts("libc-internal allocations all went through libmpcalloc");
  return 0;
}
