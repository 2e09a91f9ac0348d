/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The glibc-compatible surface beyond malloc(3), through the real library
 * (the program is linked with -lmpcalloc): glibc's internal names
 * (__libc_malloc ... cfree) resolve to libmpcalloc and share its heap; the
 * C23 free_sized / free_aligned_sized accept every size a block can have
 * been allocated or reallocated with (a sweep over sizes and random realloc
 * chains, the blocks really freed) and report the sizes that cannot match
 * (one line, then SIGABRT); mallinfo2 / mallinfo agree with
 * mpc_alloc_stats_get and follow known allocations, mallinfo saturates;
 * malloc_stats prints our report on stderr; malloc_info writes glibc's XML
 * layout with our figures; mallopt maps M_TRIM_THRESHOLD and
 * M_MMAP_THRESHOLD onto the retention limits and refuses the others. Each
 * test runs in a child of its own (Check's fork mode). */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <mpcalloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../pattern.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

/* glibc's internal names and C23's sized frees: not declared by <stdlib.h>
 * or <malloc.h> of glibc 2.36. */
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void cfree(void *p);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
int __posix_memalign(void **memptr, size_t align, size_t size);
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);

static size_t opaque(size_t x)
{
  volatile size_t v = x;
  return v;
}

static struct mpc_alloc_stats stats_now(void)
{
  struct mpc_alloc_stats s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  ck_assert_int_eq(mpc_alloc_stats_get(&s), 0);
  return s;
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* ---- glibc's internal names --------------------------------------------- */

/* Every exported name resolves, for the whole process, to libmpcalloc. */
START_TEST(test_libc_names_resolve_to_us)
{
  static const char *const names[] = {
      "__libc_malloc", "__libc_free",      "__libc_calloc", "__libc_realloc",     "__libc_memalign",
      "__libc_valloc", "__libc_pvalloc",   "__posix_memalign", "cfree",           "free_sized",
      "free_aligned_sized", "mallinfo",    "mallinfo2",     "malloc_stats",       "malloc_info",
      "mallopt"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    ck_assert_msg(f != NULL, "%s is not defined: %s", names[i], dlerror());
    Dl_info where;
    ck_assert_msg(dladdr(f, &where) != 0 && where.dli_fname != NULL, "dladdr(%s) failed", names[i]);
    ck_assert_msg(strstr(where.dli_fname, "libmpcalloc") != NULL, "%s resolves to %s, not libmpcalloc", names[i],
                  where.dli_fname);
  }
  /* the aliases are the functions themselves */
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_malloc"), dlsym(RTLD_DEFAULT, "malloc"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_free"), dlsym(RTLD_DEFAULT, "free"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "cfree"), dlsym(RTLD_DEFAULT, "free"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_calloc"), dlsym(RTLD_DEFAULT, "calloc"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_realloc"), dlsym(RTLD_DEFAULT, "realloc"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_memalign"), dlsym(RTLD_DEFAULT, "memalign"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_valloc"), dlsym(RTLD_DEFAULT, "valloc"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__libc_pvalloc"), dlsym(RTLD_DEFAULT, "pvalloc"));
  ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "__posix_memalign"), dlsym(RTLD_DEFAULT, "posix_memalign"));
}
END_TEST

/* Blocks of the internal names are ours: free() takes them (it aborts on a
 * foreign pointer), the statistics see them, and the other way round. */
START_TEST(test_libc_names_share_the_heap)
{
  struct mpc_alloc_stats s0 = stats_now();
  char *m = __libc_malloc(opaque(100000));
  ck_assert_ptr_nonnull(m);
  pattern_fill(m, 100000, 1);
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_msg(s1.in_use >= s0.in_use + 100000, "in_use %llu -> %llu after __libc_malloc(100000)",
                (unsigned long long)s0.in_use, (unsigned long long)s1.in_use);
  m = __libc_realloc(m, opaque(3 * MiB));
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(pattern_verify(m, 100000, 1), 100000);
  ck_assert_uint_ge(malloc_usable_size(m), 3 * MiB);
  free(m);

  unsigned char *c = __libc_calloc(opaque(1000), 3);
  ck_assert_ptr_nonnull(c);
  for (size_t i = 0; i < 3000; i++)
    ck_assert_uint_eq(c[i], 0);
  free(c);

  void *a = __libc_memalign(opaque(4096), 10);
  ck_assert_ptr_nonnull(a);
  ck_assert_uint_eq((uintptr_t)a % 4096, 0);
  __libc_free(a);
  void *v = __libc_valloc(opaque(100));
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq((uintptr_t)v % page_size(), 0);
  cfree(v);
  void *pv = __libc_pvalloc(opaque(1));
  ck_assert_ptr_nonnull(pv);
  ck_assert_uint_eq((uintptr_t)pv % page_size(), 0);
  ck_assert_uint_ge(malloc_usable_size(pv), page_size());
  free(pv);
  void *pm = NULL;
  ck_assert_int_eq(__posix_memalign(&pm, 256, opaque(300)), 0);
  ck_assert_uint_eq((uintptr_t)pm % 256, 0);
  ck_assert_int_eq(__posix_memalign(&pm, 24, 10), EINVAL);
  __libc_free(pm);

  /* and the other way round: ours freed through glibc's names */
  __libc_free(malloc(opaque(50)));
  cfree(calloc(opaque(10), 10));
  struct mpc_alloc_stats s2 = stats_now();
  ck_assert_msg(s2.in_use == s0.in_use, "in_use %llu at the start, %llu at the end", (unsigned long long)s0.in_use,
                (unsigned long long)s2.in_use);
}
END_TEST

/* ---- free_sized, free_aligned_sized: accepted sizes ---------------------- */

/* Sizes 0..2100 one by one, then around the class and kind limits. */
static size_t sweep_size(size_t i, size_t *count)
{
  static const size_t big[] = {4095, 4096, 4097, 65535, 65536, 100000, 262143, 524289, 1048560, 1048575,
                               1048576, 1048577, 1572864, 2097152 - 200, 2097152, 3145728 + 5, 8388608, 17000003};
  *count = 2101 + sizeof big / sizeof big[0];
  return i <= 2100 ? i : big[i - 2101];
}

static uint64_t lcg(uint64_t *state)
{
  *state = *state * 6364136223846793005u + 1442695040888963407u;
  return *state >> 33;
}

START_TEST(test_free_sized_accepts_allocation_sizes)
{
  struct mpc_alloc_stats s0 = stats_now();
  size_t count;
  sweep_size(0, &count);
  for (size_t i = 0; i < count; i++) {
    size_t n = sweep_size(i, &count);
    void *p = malloc(opaque(n));
    ck_assert_ptr_nonnull(p);
    free_sized(p, n);
    p = calloc(opaque(n), 1);
    ck_assert_ptr_nonnull(p);
    free_sized(p, n);
  }
  /* They were freed for real: nothing is left in use. */
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_msg(s1.in_use == s0.in_use, "in_use %llu before, %llu after the sweep", (unsigned long long)s0.in_use,
                (unsigned long long)s1.in_use);
  free_sized(NULL, 12345); /* nothing */
}
END_TEST

/* realloc keeps, grows and shrinks blocks in place or moves them; the last
 * size asked for is always accepted. */
START_TEST(test_free_sized_after_realloc_chains)
{
  struct mpc_alloc_stats s0 = stats_now();
  uint64_t st = 12345;
  for (int chain = 0; chain < 400; chain++) {
    size_t n = lcg(&st) % 3000;
    void *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (int k = 0; k < 12; k++) {
      uint64_t r = lcg(&st);
      switch (r % 6) {
      case 0: n = r % 1024; break;                          /* small */
      case 1: n = 1025 + r % (MiB - 1024); break;           /* medium */
      case 2: n = MiB + 1 + r % (5 * MiB); break;           /* huge */
      case 3: n = n / 2 + (size_t)(r % (n / 2 + 1)); break; /* shrink, maybe in place */
      case 4: n = n + (size_t)(r % 64); break;              /* grow a little */
      default: n = n - n / 3; break;
      }
      p = realloc(p, opaque(n ? n : 1));
      if (n == 0)
        n = 1;
      ck_assert_ptr_nonnull(p);
    }
    free_sized(p, n);
  }
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_msg(s1.in_use == s0.in_use, "in_use %llu before, %llu after the chains", (unsigned long long)s0.in_use,
                (unsigned long long)s1.in_use);
}
END_TEST

START_TEST(test_free_aligned_sized_accepts_allocation_sizes)
{
  struct mpc_alloc_stats s0 = stats_now();
  for (size_t align = 1; align <= 4 * MiB; align *= 2) {
    size_t count;
    sweep_size(0, &count);
    for (size_t i = 0; i < count; i += (i < 2100 ? 7 : 1)) {
      size_t n = sweep_size(i, &count);
      void *p = aligned_alloc(opaque(align), n);
      ck_assert_msg(p != NULL, "aligned_alloc(%zu, %zu) failed", align, n);
      free_aligned_sized(p, align, n);
    }
  }
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_msg(s1.in_use == s0.in_use, "in_use %llu before, %llu after", (unsigned long long)s0.in_use,
                (unsigned long long)s1.in_use);
  free_aligned_sized(NULL, 3, 5); /* nothing, whatever the arguments */
}
END_TEST

/* The boundary of the rule on a 112-byte small block (malloc(100)):
 * 56..112 is what realloc can leave there. */
START_TEST(test_free_sized_small_boundary)
{
  for (size_t n = 56; n <= 112; n++) {
    void *p = malloc(opaque(100));
    ck_assert_uint_eq(malloc_usable_size(p), 112);
    free_sized(p, n);
  }
}
END_TEST

/* ---- free_sized, free_aligned_sized: sizes that cannot match ------------- */

/* A grandchild does the bad call with stderr on a pipe: one line starting
 * with `prefix` and saying `word`, then SIGABRT. */
static void expect_report(void (*bad)(void), const char *prefix, const char *word)
{
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], 2);
    bad();
    _exit(0);
  }
  close(fd[1]);
  char out[4096];
  size_t len = 0;
  ssize_t r;
  while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)r;
  out[len] = '\0';
  close(fd[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status 0x%x, stderr: %s", status, out);
  ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0, "stderr does not start with '%s': %s", prefix, out);
  ck_assert_msg(strstr(out, word) != NULL, "stderr does not say '%s': %s", word, out);
  char *nl = strchr(out, '\n');
  ck_assert_msg(nl != NULL && nl[1] == '\0', "not exactly one line on stderr: %s", out);
}

static void small_too_big(void) { free_sized(malloc(opaque(100)), 113); }
static void small_too_small(void) { free_sized(malloc(opaque(100)), 55); }
static void small_tiny(void) { free_sized(malloc(opaque(100)), 0); }
static void medium_too_small(void) { free_sized(malloc(opaque(5000)), 1000); }
static void medium_too_big(void) { free_sized(malloc(opaque(5000)), 8000); }
static void huge_too_small(void) { free_sized(malloc(opaque(8 * MiB)), MiB); }
static void huge_too_big(void) { free_sized(malloc(opaque(8 * MiB)), 9 * MiB); }
static void aligned_bad_alignment(void) { free_aligned_sized(aligned_alloc(opaque(64), 100), 48, 100); }
static void aligned_zero_alignment(void) { free_aligned_sized(aligned_alloc(opaque(64), 100), 0, 100); }
static void aligned_misaligned(void)
{
  /* a block of 64-byte alignment that is not 4096-aligned: of two blocks
   * of one 128-byte class, one at least */
  char *p = aligned_alloc(opaque(64), 100);
  if ((uintptr_t)p % 4096 == 0)
    p = aligned_alloc(opaque(64), 100);
  free_aligned_sized(p, 4096, 100);
}
static void aligned_wrong_size(void) { free_aligned_sized(aligned_alloc(opaque(256), 1000), 256, 5000); }
static void sized_not_ours(void)
{
  char buf[32];
  volatile uintptr_t a = (uintptr_t)buf;
  free_sized((void *)a, 32);
}

START_TEST(test_free_sized_reports)
{
  expect_report(small_too_big, "mpcalloc: free_sized(0x", "size 113 does not match the block (usable size 112)");
  expect_report(small_too_small, "mpcalloc: free_sized(0x", "size 55 does not match the block (usable size 112)");
  expect_report(small_tiny, "mpcalloc: free_sized(0x", "size 0 does not match");
  expect_report(medium_too_small, "mpcalloc: free_sized(0x", "size 1000 does not match");
  expect_report(medium_too_big, "mpcalloc: free_sized(0x", "size 8000 does not match");
  expect_report(huge_too_small, "mpcalloc: free_sized(0x", "size 1048576 does not match");
  expect_report(huge_too_big, "mpcalloc: free_sized(0x", "size 9437184 does not match");
  /* passed on to free(), the process's own (see sized.c) */
  expect_report(sized_not_ours, "mpcalloc: free(0x", "invalid pointer (not allocated by mpcalloc)");
  expect_report(aligned_bad_alignment, "mpcalloc: free_aligned_sized(0x", "alignment 48 is not a power of two");
  expect_report(aligned_zero_alignment, "mpcalloc: free_aligned_sized(0x", "alignment 0 is not a power of two");
  expect_report(aligned_misaligned, "mpcalloc: free_aligned_sized(0x", "block is not aligned to 4096");
  expect_report(aligned_wrong_size, "mpcalloc: free_aligned_sized(0x", "size 5000 does not match");
}
END_TEST

/* ---- mallinfo2, mallinfo ----------------------------------------------- */

static void check_consistent(const struct mallinfo2 *m, const struct mpc_alloc_stats *s)
{
  ck_assert_msg(m->arena == m->uordblks + m->fordblks, "arena %zu != uordblks %zu + fordblks %zu", m->arena,
                m->uordblks, m->fordblks);
  ck_assert_msg(m->uordblks + m->hblkhd == s->in_use, "uordblks %zu + hblkhd %zu != in_use %llu", m->uordblks,
                m->hblkhd, (unsigned long long)s->in_use);
  ck_assert_msg(m->arena + m->hblkhd == s->mapped, "arena %zu + hblkhd %zu != mapped %llu", m->arena, m->hblkhd,
                (unsigned long long)s->mapped);
  ck_assert_uint_eq(m->keepcost, s->cached);
  ck_assert_uint_eq(m->fsmblks, s->thread_cached);
  ck_assert_uint_eq(m->usmblks, s->peak_in_use);
  ck_assert_uint_ge(m->fordblks, m->fsmblks + m->keepcost);
}

START_TEST(test_mallinfo2_follows_allocations)
{
  struct mallinfo2 m0 = mallinfo2();
  struct mpc_alloc_stats s0 = stats_now();
  check_consistent(&m0, &s0);

  void *med = malloc(opaque(100000));
  struct mallinfo2 m1 = mallinfo2();
  struct mpc_alloc_stats s1 = stats_now();
  check_consistent(&m1, &s1);
#ifndef MPCA_HARDENED
  /* a medium block counts with its 16-byte boundary tag */
  ck_assert_uint_eq(m1.uordblks - m0.uordblks, malloc_usable_size(med) + 16);
  ck_assert_uint_eq(m1.hblks, m0.hblks);
#else
  /* the hardened build has no medium blocks: a huge one */
  ck_assert_uint_eq(m1.hblks, m0.hblks + 1);
  ck_assert_uint_eq(m1.hblkhd - m0.hblkhd, malloc_usable_size(med));
#endif

  void *huge = malloc(opaque(8 * MiB));
  struct mallinfo2 m2 = mallinfo2();
  struct mpc_alloc_stats s2 = stats_now();
  check_consistent(&m2, &s2);
  ck_assert_uint_eq(m2.hblks, m1.hblks + 1);
  ck_assert_uint_eq(m2.hblkhd - m1.hblkhd, malloc_usable_size(huge));
  ck_assert_uint_eq(m2.uordblks, m1.uordblks);

  free(huge);
  struct mallinfo2 m3 = mallinfo2();
  ck_assert_uint_eq(m3.hblks, m1.hblks);
  ck_assert_uint_eq(m3.hblkhd, m1.hblkhd);
  ck_assert_uint_ge(m3.keepcost, 8 * MiB); /* the freed block stays cached */
  free(med);
  struct mallinfo2 m4 = mallinfo2();
  struct mpc_alloc_stats s4 = stats_now();
  check_consistent(&m4, &s4);
  ck_assert_uint_eq(m4.uordblks, m0.uordblks);
  ck_assert_uint_eq(m4.hblks, m0.hblks);

  /* small blocks freed by their thread wait in its thread cache */
  void *small[100];
  for (int i = 0; i < 100; i++)
    small[i] = malloc(opaque(48));
  for (int i = 0; i < 100; i++)
    free(small[i]);
  struct mallinfo2 m5 = mallinfo2();
  ck_assert_uint_ge(m5.smblks, 1);
  ck_assert_uint_ge(m5.fsmblks, 48);
  ck_assert_uint_ge(m5.ordblks, 1); /* free slots left in the runs */
}
END_TEST

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static struct mallinfo old_mallinfo(void) { return mallinfo(); }
#pragma GCC diagnostic pop

START_TEST(test_mallinfo_matches_and_saturates)
{
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo m = old_mallinfo();
  ck_assert_uint_eq((size_t)m.arena, m2.arena);
  ck_assert_uint_eq((size_t)m.uordblks, m2.uordblks);
  ck_assert_uint_eq((size_t)m.fordblks, m2.fordblks);
  ck_assert_uint_eq((size_t)m.hblks, m2.hblks);
  ck_assert_uint_eq((size_t)m.hblkhd, m2.hblkhd);
  ck_assert_uint_eq((size_t)m.keepcost, m2.keepcost);

  /* More than INT_MAX bytes in huge blocks (address space only, never
   * touched): the int field saturates. */
  void *big[3];
  int got = 0;
  for (; got < 3; got++)
    if ((big[got] = malloc(opaque(GiB - MiB))) == NULL)
      break;
  if (got == 3) {
    m2 = mallinfo2();
    m = old_mallinfo();
    ck_assert_uint_gt(m2.hblkhd, (size_t)INT_MAX);
    ck_assert_int_eq(m.hblkhd, INT_MAX);
    ck_assert_int_eq(m.hblks, (int)m2.hblks);
  } else {
    printf("NOTE: 3 GiB of address space refused (overcommit policy): saturation not checked\n");
  }
  while (got > 0)
    free(big[--got]);
}
END_TEST

/* ---- malloc_stats, malloc_info --------------------------------------- */

START_TEST(test_malloc_stats_prints_our_report)
{
  void *p = malloc(opaque(300));
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  int saved = dup(2);
  dup2(fd[1], 2);
  errno = 1234;
  malloc_stats();
  int e = errno;
  dup2(saved, 2);
  close(saved);
  close(fd[1]);
  char out[16384];
  size_t len = 0;
  ssize_t r;
  while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)r;
  out[len] = '\0';
  close(fd[0]);
  ck_assert_int_eq(e, 1234);
  ck_assert_msg(strncmp(out, "mpcalloc ", 9) == 0 && strstr(out, " statistics, pid ") != NULL,
                "malloc_stats printed: %s", out);
  ck_assert_msg(strstr(out, "  in use ") != NULL && strstr(out, "class  size") != NULL, "malloc_stats printed: %s",
                out);
  free(p);
}
END_TEST

/* The value of attribute `attr` of the first element starting with `elem`. */
static unsigned long long xml_value(const char *xml, const char *elem, const char *attr)
{
  const char *e = strstr(xml, elem);
  ck_assert_msg(e != NULL, "no %s in: %s", elem, xml);
  char key[64];
  snprintf(key, sizeof key, " %s=\"", attr);
  const char *a = strstr(e, key);
  ck_assert_msg(a != NULL && a < strchr(e, '>'), "no %s in %s", attr, elem);
  return strtoull(a + strlen(key), NULL, 10);
}

START_TEST(test_malloc_info_xml)
{
  void *huge = malloc(opaque(5 * MiB));
  void *small[10];
  for (int i = 0; i < 10; i++)
    small[i] = malloc(opaque(32));
  for (int i = 0; i < 10; i += 2)
    free(small[i]);
  char *xml = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&xml, &len);
  ck_assert_ptr_nonnull(f);
  struct mallinfo2 m = mallinfo2();
  ck_assert_int_eq(malloc_info(0, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(strncmp(xml, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", 41) == 0, "%s", xml);
  ck_assert_msg(len > 10 && strcmp(xml + len - 10, "</malloc>\n") == 0, "%s", xml);
  const char *totals = strstr(xml, "</heap>");
  ck_assert_ptr_nonnull(totals);
  ck_assert_uint_eq(xml_value(totals, "<total type=\"mmap\"", "count"), m.hblks);
  ck_assert_uint_eq(xml_value(totals, "<total type=\"mmap\"", "size"), m.hblkhd);
  ck_assert_uint_ge(m.hblkhd, 5 * MiB);
  /* the freed 32-byte blocks are listed under their class */
  const char *sz = strstr(xml, "<size from=\"17\" to=\"32\"");
  ck_assert_msg(sz != NULL, "no 17..32 class in: %s", xml);
  ck_assert_uint_ge(xml_value(sz, "<size", "count"), 5);
  ck_assert_uint_eq(xml_value(sz, "<size", "total"), 32 * xml_value(sz, "<size", "count"));
  free(xml);

  errno = 0;
  ck_assert_int_eq(malloc_info(1, stdout), -1);
  ck_assert_int_eq(errno, EINVAL);
  for (int i = 1; i < 10; i += 2)
    free(small[i]);
  free(huge);
}
END_TEST

/* ---- mallopt --------------------------------------------------------------- */

/* Touch the block so that its pages are really there. */
static void alloc_free(size_t n)
{
  char *p = malloc(opaque(n));
  ck_assert_ptr_nonnull(p);
  memset(p, 1, n);
  free(p);
}

START_TEST(test_mallopt_mmap_threshold)
{
  ck_assert_int_eq(mallopt(M_MMAP_THRESHOLD, (int)(4 * MiB)), 1);
  struct mpc_alloc_stats s0 = stats_now();
  alloc_free(16 * MiB); /* above the threshold: unmapped at once */
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_uint_eq(s1.cached, s0.cached);
  ck_assert_uint_gt(s1.munmap_calls, s0.munmap_calls);
  alloc_free(3 * MiB); /* below: kept for reuse */
  struct mpc_alloc_stats s2 = stats_now();
  ck_assert_uint_ge(s2.cached, s1.cached + 3 * MiB);
  ck_assert_int_eq(mallopt(M_MMAP_THRESHOLD, -1), 0);
}
END_TEST

START_TEST(test_mallopt_trim_threshold)
{
  alloc_free(16 * MiB);
  ck_assert_uint_ge(stats_now().cached, 16 * MiB);
  ck_assert_int_eq(mallopt(M_TRIM_THRESHOLD, 0), 1);
  ck_assert_uint_eq(stats_now().retain_max, 0);
  alloc_free(16 * MiB); /* the next free trims everything kept */
  ck_assert_uint_eq(stats_now().cached, 0);
  ck_assert_int_eq(mallopt(M_TRIM_THRESHOLD, 64 << 20), 1);
  ck_assert_uint_eq(stats_now().retain_max, 64 * MiB);
  alloc_free(16 * MiB);
  ck_assert_uint_ge(stats_now().cached, 16 * MiB);
  ck_assert_int_eq(mallopt(M_TRIM_THRESHOLD, -1), 1); /* never trim: the largest budget */
  ck_assert_uint_eq(stats_now().retain_max, (uint64_t)64 << 40);
}
END_TEST

START_TEST(test_mallopt_refuses_the_others)
{
  static const int params[] = {M_MXFAST,       M_NLBLKS,  M_GRAIN,      M_KEEP,      M_TOP_PAD,
                               M_MMAP_MAX,     M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX, 12345, -12345};
  struct mpc_alloc_stats s0 = stats_now();
  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
    errno = 77;
    ck_assert_msg(mallopt(params[i], 1) == 0, "mallopt(%d, 1) accepted", params[i]);
    ck_assert_int_eq(errno, 77);
  }
  struct mpc_alloc_stats s1 = stats_now();
  ck_assert_uint_eq(s1.retain_max, s0.retain_max);
}
END_TEST

static Suite *glibc_suite(void)
{
  Suite *s = suite_create("glibc");
  TCase *tc = tcase_create("names");
  tcase_add_test(tc, test_libc_names_resolve_to_us);
  tcase_add_test(tc, test_libc_names_share_the_heap);
  suite_add_tcase(s, tc);
  tc = tcase_create("sized");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_free_sized_accepts_allocation_sizes);
  tcase_add_test(tc, test_free_sized_after_realloc_chains);
  tcase_add_test(tc, test_free_aligned_sized_accepts_allocation_sizes);
  tcase_add_test(tc, test_free_sized_small_boundary);
  tcase_add_test(tc, test_free_sized_reports);
  suite_add_tcase(s, tc);
  tc = tcase_create("info");
  tcase_add_test(tc, test_mallinfo2_follows_allocations);
  tcase_add_test(tc, test_mallinfo_matches_and_saturates);
  tcase_add_test(tc, test_malloc_stats_prints_our_report);
  tcase_add_test(tc, test_malloc_info_xml);
  suite_add_tcase(s, tc);
  tc = tcase_create("mallopt");
  tcase_add_test(tc, test_mallopt_mmap_threshold);
  tcase_add_test(tc, test_mallopt_trim_threshold);
  tcase_add_test(tc, test_mallopt_refuses_the_others);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  /* the abort tests must not leave core files behind */
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  SRunner *sr = srunner_create(glibc_suite());
  srunner_set_fork_status(sr, CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
