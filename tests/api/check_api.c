/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * API tests of every entry point, through the real library (the program is
 * linked with -lmpcalloc, so libmpcalloc is the process's malloc): malloc,
 * free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, malloc_trim, and the
 * mpc_alloc_* additions. Checks alignment over sizes 0..8 MiB and alignments
 * up to 2 MiB (and beyond), usable size and its writability, errno on every
 * failure path, size overflow, sizes above PTRDIFF_MAX, calloc zeroing of
 * reused dirty memory (small, medium, huge), realloc across the size classes
 * in both directions with content checks, in-place realloc, trimming, and
 * the reaction to invalid frees (one line on stderr, then SIGABRT), each in
 * a forked child (Check's fork mode). */
#define _GNU_SOURCE
#include "config.h"
#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <mpcalloc.h>
#include <pthread.h>
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
#define PTRDIFF_MAX_PLUS_1 ((size_t)PTRDIFF_MAX + 1)

/* Values the compiler cannot see through, so that it neither warns about
 * absurd sizes nor elides allocations. */
static size_t opaque(size_t x)
{
  volatile size_t v = x;
  return v;
}

/* A pointer rebuilt from an address taken earlier: for the deliberate
 * misuses (free of a freed, interior or foreign pointer), which the compiler
 * would otherwise rightly warn about. */
static void *addr_ptr(uintptr_t a)
{
  volatile uintptr_t v = a;
  return (void *)v;
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t first_nonzero(const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0)
      return i;
  return n;
}

#define ck_assert_aligned(p, a)                                                                          \
  ck_assert_msg(((uintptr_t)(p) & ((uintptr_t)(a) - 1)) == 0, "%p is not %zu-byte aligned", (void *)(p), \
                (size_t)(a))

/* Checks every block must pass: 16-byte aligned, usable >= request, all
 * usable bytes writable (and readable back). */
static void check_block(void *p, size_t size, uint64_t seed)
{
  ck_assert_msg(p != NULL, "allocation of %zu bytes failed", size);
  ck_assert_aligned(p, 16);
  size_t u = malloc_usable_size(p);
  ck_assert_msg(u >= size, "malloc_usable_size(%p) = %zu < %zu requested", p, u, size);
  pattern_fill(p, u, seed);
  size_t bad = pattern_verify(p, u, seed);
  ck_assert_msg(bad == u, "block %p of %zu (usable %zu) lost its content at byte %zu", p, size, u, bad);
}

/* Sizes 0..8 MiB: every byte count up to 2100, then around each power of two
 * and at the class limits. */
static size_t *test_sizes(size_t *count)
{
  size_t cap = 2200 + 40 * 4 + 16, n = 0;
  size_t *s = calloc(cap, sizeof *s);
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i <= 2100; i++)
    s[n++] = i;
  for (unsigned k = 12; k <= 23; k++) {
    size_t v = (size_t)1 << k;
    s[n++] = v - 1;
    s[n++] = v;
    s[n++] = v + 1;
    s[n++] = v + v / 2 + 3;
  }
  s[n++] = MiB - 16;
  s[n++] = MiB - 15;
  s[n++] = 2 * MiB - 64;
  s[n++] = 8 * MiB;
  *count = n;
  return s;
}

/* ---- malloc, free, malloc_usable_size ------------------------------------ */

START_TEST(test_malloc_sizes)
{
  size_t n;
  size_t *sizes = test_sizes(&n);
  void **p = calloc(n, sizeof *p);
  ck_assert_ptr_nonnull(p);
  /* all alive at once: no two blocks may overlap */
  for (size_t i = 0; i < n; i++) {
    p[i] = malloc(opaque(sizes[i]));
    check_block(p[i], sizes[i], i);
  }
  for (size_t i = 0; i < n; i++) {
    size_t u = malloc_usable_size(p[i]);
    size_t bad = pattern_verify(p[i], u, i);
    ck_assert_msg(bad == u, "block %zu (%zu bytes at %p) overwritten at byte %zu", i, sizes[i], p[i], bad);
  }
  for (size_t i = 0; i < n; i += 2)
    free(p[i]);
  for (size_t i = 1; i < n; i += 2) {
    size_t u = malloc_usable_size(p[i]);
    ck_assert_uint_eq(pattern_verify(p[i], u, i), u);
    free(p[i]);
  }
  free(p);
  free(sizes);
}
END_TEST

START_TEST(test_malloc_zero_unique)
{
  enum { N = 200 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = malloc(opaque(0));
    ck_assert_ptr_nonnull(p[i]);
    ck_assert_aligned(p[i], 16);
    for (int j = 0; j < i; j++)
      ck_assert_ptr_ne(p[i], p[j]);
  }
  for (int i = 0; i < N; i++)
    free(p[i]);
}
END_TEST

START_TEST(test_usable_size_null) { ck_assert_uint_eq(malloc_usable_size(NULL), 0); }
END_TEST

START_TEST(test_free_null)
{
  errno = EILSEQ;
  free(NULL);
  ck_assert_int_eq(errno, EILSEQ);
}
END_TEST

static void *free_in_thread(void *arg)
{
  errno = EILSEQ;
  free(arg);
  return (void *)(intptr_t)(errno == EILSEQ);
}

START_TEST(test_free_preserves_errno)
{
  /* small, medium, huge, huge above the cache limit */
  static const size_t sizes[] = {24, 1000, 5000, 300 * KiB, MiB, 3 * MiB, 600 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    char *p = malloc(opaque(sizes[i]));
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
    errno = EILSEQ;
    free(p);
    ck_assert_msg(errno == EILSEQ, "free of a %zu-byte block changed errno to %d", sizes[i], errno);
    /* and from another thread (remote free) */
    p = malloc(opaque(sizes[i]));
    ck_assert_ptr_nonnull(p);
    pthread_t t;
    void *ok;
    ck_assert_int_eq(pthread_create(&t, NULL, free_in_thread, p), 0);
    ck_assert_int_eq(pthread_join(t, &ok), 0);
    ck_assert_msg(ok != NULL, "remote free of a %zu-byte block changed errno", sizes[i]);
  }
}
END_TEST

START_TEST(test_too_large)
{
  static const size_t sizes[] = {PTRDIFF_MAX_PLUS_1, PTRDIFF_MAX_PLUS_1 + 4096, SIZE_MAX - 4096, SIZE_MAX,
                                 (size_t)PTRDIFF_MAX};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t s = opaque(sizes[i]);
    errno = 0;
    ck_assert_ptr_null(malloc(s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(calloc(1, s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(calloc(s, 1));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(realloc(NULL, s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(reallocarray(NULL, s, 1));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(aligned_alloc(64, s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(memalign(4096, s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(valloc(s));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(pvalloc(s));
    ck_assert_int_eq(errno, ENOMEM);
    void *sentinel = (void *)0x1234, *q = sentinel;
    ck_assert_int_eq(posix_memalign(&q, 64, s), ENOMEM);
    ck_assert_ptr_eq(q, sentinel);
    ck_assert_int_eq(posix_memalign(&q, 2 * MiB, s), ENOMEM);
    ck_assert_ptr_eq(q, sentinel);
  }
}
END_TEST

/* ---- calloc --------------------------------------------------------------- */

START_TEST(test_calloc_overflow)
{
  static const size_t nm[][2] = {{SIZE_MAX / 2, 3},          {3, SIZE_MAX / 2},          {SIZE_MAX, SIZE_MAX},
                                 {(size_t)1 << 32, (size_t)1 << 32}, {SIZE_MAX / 16 + 1, 16}, {2, PTRDIFF_MAX_PLUS_1}};
  for (size_t i = 0; i < sizeof nm / sizeof *nm; i++) {
    errno = 0;
    ck_assert_ptr_null(calloc(opaque(nm[i][0]), opaque(nm[i][1])));
    ck_assert_int_eq(errno, ENOMEM);
  }
}
END_TEST

START_TEST(test_calloc_zero_sizes)
{
  void *a = calloc(opaque(0), opaque(0));
  void *b = calloc(opaque(0), opaque(64));
  void *c = calloc(opaque(64), opaque(0));
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_ne(a, b);
  ck_assert_ptr_ne(b, c);
  ck_assert_ptr_ne(a, c);
  free(a);
  free(b);
  free(c);
}
END_TEST

/* Dirty blocks of `size` are freed, then calloc must hand back zeros even
 * when it reuses them. */
static void calloc_after_dirty(size_t size, size_t count)
{
  void **p = calloc(count, sizeof *p);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < count; i++) {
    p[i] = malloc(opaque(size));
    ck_assert_ptr_nonnull(p[i]);
    memset(p[i], 0xAB, malloc_usable_size(p[i]));
  }
  for (size_t i = 0; i < count; i++)
    free(p[i]);
  for (size_t i = 0; i < count; i++) {
    /* alternate the factor order: calloc(n, m) and calloc(m, n) */
    p[i] = i % 2 ? calloc(opaque(size / 16), opaque(16)) : calloc(opaque(1), opaque(size));
    ck_assert_ptr_nonnull(p[i]);
    size_t z = first_nonzero(p[i], size);
    ck_assert_msg(z == size, "calloc(%zu) #%zu at %p: byte %zu is 0x%02x, not 0", size, i, p[i], z,
                  ((unsigned char *)p[i])[z]);
    memset(p[i], 0xCD, size);
  }
  for (size_t i = 0; i < count; i++)
    free(p[i]);
  free(p);
}

START_TEST(test_calloc_dirty_small) { calloc_after_dirty(64, 4096); }
END_TEST
START_TEST(test_calloc_dirty_small_max) { calloc_after_dirty(1024, 1024); }
END_TEST
START_TEST(test_calloc_dirty_4k) { calloc_after_dirty(4 * KiB, 512); }
END_TEST
START_TEST(test_calloc_dirty_200k) { calloc_after_dirty(200 * KiB, 24); }
END_TEST
START_TEST(test_calloc_dirty_4m) { calloc_after_dirty(4 * MiB, 6); }
END_TEST
START_TEST(test_calloc_dirty_64m) { calloc_after_dirty(64 * MiB, 2); }
END_TEST

/* Dirty memory of one size reused for a calloc of another: a cached huge
 * block split for a smaller one, grown for a larger one, small/medium memory
 * coming back as huge and the other way round. */
START_TEST(test_calloc_dirty_other_sizes)
{
  static const size_t dirty[] = {64 * MiB, 3 * MiB, 2 * MiB, 300 * KiB, 6 * MiB};
  static const size_t clean[] = {4 * MiB, 5 * MiB + 123, 100 * KiB, 2 * MiB - 100, 1000};
  for (size_t k = 0; k < sizeof dirty / sizeof *dirty; k++) {
    char *d = malloc(opaque(dirty[k]));
    ck_assert_ptr_nonnull(d);
    memset(d, 0xAB, malloc_usable_size(d));
    free(d);
    for (size_t j = 0; j < sizeof clean / sizeof *clean; j++) {
      char *c = calloc(1, opaque(clean[j]));
      ck_assert_ptr_nonnull(c);
      size_t z = first_nonzero(c, clean[j]);
      ck_assert_msg(z == clean[j], "calloc(%zu) after a dirty %zu-byte block: byte %zu is 0x%02x", clean[j],
                    dirty[k], z, (unsigned char)c[z]);
      memset(c, 0xAB, malloc_usable_size(c));
      free(c);
    }
  }
}
END_TEST

/* ---- realloc, reallocarray ------------------------------------------------ */

/* realloc that must keep the block where it is. */
static char *realloc_in_place(char *p, size_t size)
{
  uintptr_t a = (uintptr_t)p;
  size_t old = malloc_usable_size(p);
  char *q = realloc(p, opaque(size));
  ck_assert_msg((uintptr_t)q == a, "realloc(%p (usable %zu), %zu) moved the block to %p", (void *)a, old, size,
                (void *)q);
  return q;
}

static const size_t realloc_sizes[] = {1,        24,       200,         1000,        1024,
                                       1025,     3000,     70000,       500000,      1048576 - 16,
                                       1048576,  1048577,  3000000,     20000000};
#define NREALLOC (sizeof realloc_sizes / sizeof *realloc_sizes)

START_TEST(test_realloc_all_pairs)
{
  for (size_t i = 0; i < NREALLOC; i++)
    for (size_t j = 0; j < NREALLOC; j++) {
      size_t a = realloc_sizes[i], b = realloc_sizes[j];
      uint64_t seed = i * 100 + j;
      char *p = malloc(opaque(a));
      ck_assert_ptr_nonnull(p);
      pattern_fill(p, a, seed);
      char *q = realloc(p, opaque(b));
      ck_assert_msg(q != NULL, "realloc %zu -> %zu failed", a, b);
      size_t keep = a < b ? a : b, bad = pattern_verify(q, keep, seed);
      ck_assert_msg(bad == keep, "realloc %zu -> %zu lost the content at byte %zu", a, b, bad);
      check_block(q, b, seed + 1);
      free(q);
    }
}
END_TEST

START_TEST(test_realloc_chain)
{
  /* grow one block step by step up to 64 MiB, then shrink it back */
  static const size_t steps[] = {1,       16,      17,      100,          1024,         1025,          4096,
                                 65536,   1 * MiB, 1 * MiB + 1, 2 * MiB, 5 * MiB + 7, 16 * MiB, 64 * MiB};
  size_t n = sizeof steps / sizeof *steps;
  char *p = malloc(1);
  ck_assert_ptr_nonnull(p);
  pattern_fill(p, 1, 7);
  size_t have = 1;
  for (size_t k = 1; k < 2 * n - 1; k++) {
    size_t want = k < n ? steps[k] : steps[2 * n - 2 - k];
    char *q = realloc(p, opaque(want));
    ck_assert_msg(q != NULL, "realloc %zu -> %zu failed", have, want);
    size_t keep = have < want ? have : want, bad = pattern_verify(q, keep, 7);
    ck_assert_msg(bad == keep, "realloc %zu -> %zu lost the content at byte %zu", have, want, bad);
    ck_assert_aligned(q, 16);
    ck_assert_uint_ge(malloc_usable_size(q), want);
    pattern_fill(q, want, 7);
    p = q;
    have = want;
  }
  free(p);
}
END_TEST

START_TEST(test_realloc_null_is_malloc)
{
  static const size_t sizes[] = {0, 1, 1000, 100000, 3 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *p = realloc(NULL, opaque(sizes[i]));
    check_block(p, sizes[i], i);
    free(p);
  }
}
END_TEST

START_TEST(test_realloc_zero_returns_null)
{
  static const size_t sizes[] = {1, 1000, 100000, 3 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *p = malloc(opaque(sizes[i]));
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(realloc(p, opaque(0)));
  }
}
END_TEST

/* realloc(p, 0) frees p: a second free is then a detected double free. */
START_TEST(test_realloc_zero_frees)
{
  void *p = malloc(opaque(100));
  ck_assert_ptr_nonnull(p);
  uintptr_t a = (uintptr_t)p;
  ck_assert_ptr_null(realloc(p, opaque(0)));
  free(addr_ptr(a));
}
END_TEST

START_TEST(test_realloc_failure_keeps_block)
{
  static const size_t sizes[] = {100, 5000, 300000, 3 * MiB};
  static const size_t bad[] = {PTRDIFF_MAX_PLUS_1, SIZE_MAX, (size_t)PTRDIFF_MAX};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
      char *p = malloc(opaque(sizes[i]));
      ck_assert_ptr_nonnull(p);
      pattern_fill(p, sizes[i], i);
      errno = 0;
      ck_assert_ptr_null(realloc(p, opaque(bad[j])));
      ck_assert_int_eq(errno, ENOMEM);
      ck_assert_uint_eq(pattern_verify(p, sizes[i], i), sizes[i]);
      errno = 0;
      ck_assert_ptr_null(reallocarray(p, opaque(bad[j]), 1));
      ck_assert_int_eq(errno, ENOMEM);
      ck_assert_uint_eq(pattern_verify(p, sizes[i], i), sizes[i]);
      free(p);
    }
}
END_TEST

START_TEST(test_reallocarray)
{
  char *p = reallocarray(NULL, opaque(10), opaque(10));
  check_block(p, 100, 1);
  pattern_fill(p, 100, 2);
  char *q = reallocarray(p, opaque(1000), opaque(1000));
  ck_assert_ptr_nonnull(q);
  ck_assert_uint_eq(pattern_verify(q, 100, 2), 100);
  check_block(q, 1000000, 3);
  pattern_fill(q, 1000000, 4);
  /* overflow: NULL + ENOMEM, block untouched */
  errno = 0;
  ck_assert_ptr_null(reallocarray(q, opaque(SIZE_MAX / 2), opaque(3)));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(reallocarray(q, opaque((size_t)1 << 32), opaque((size_t)1 << 32)));
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert_uint_eq(pattern_verify(q, 1000000, 4), 1000000);
  errno = 0;
  ck_assert_ptr_null(reallocarray(NULL, opaque(SIZE_MAX), opaque(2)));
  ck_assert_int_eq(errno, ENOMEM);
  free(q);
}
END_TEST

START_TEST(test_realloc_shrink_in_place)
{
  /* small, within the block's size class */
  char *p = malloc(opaque(1000));
  ck_assert_ptr_nonnull(p);
  pattern_fill(p, 1000, 1);
  p = realloc_in_place(p, 900);
  ck_assert_uint_eq(pattern_verify(p, 900, 1), 900);
  p = realloc_in_place(p, malloc_usable_size(p));
  free(p);
  /* medium */
  p = malloc(opaque(500000));
  ck_assert_ptr_nonnull(p);
  pattern_fill(p, 500000, 2);
  p = realloc_in_place(p, 300000);
  ck_assert_uint_eq(pattern_verify(p, 300000, 2), 300000);
  ck_assert_uint_ge(malloc_usable_size(p), 300000);
#ifdef MPCA_HARDENED
  /* guarded blocks keep their slot: below half of it, the block moves */
  p = realloc(p, opaque(100000));
  ck_assert_ptr_nonnull(p);
#else
  p = realloc_in_place(p, 100000);
#endif
  ck_assert_uint_eq(pattern_verify(p, 100000, 2), 100000);
  check_block(p, 100000, 3);
  free(p);
  /* huge: shrinking a mapping never needs to move it */
  p = malloc(opaque(64 * MiB));
  ck_assert_ptr_nonnull(p);
  pattern_fill(p, 64 * MiB, 4);
  p = realloc_in_place(p, 40 * MiB);
  ck_assert_uint_eq(pattern_verify(p, 40 * MiB, 4), 40 * MiB);
  p = realloc_in_place(p, 8 * MiB);
  ck_assert_uint_eq(pattern_verify(p, 8 * MiB, 4), 8 * MiB);
  check_block(p, 8 * MiB, 5);
  free(p);
}
END_TEST

/* A new thread gets a heap with an empty medium area: a medium block with
 * nothing after it can grow where it is. */
static void *medium_grow_thread(void *arg)
{
  (void)arg;
  char *p = malloc(opaque(200000));
  if (p == NULL)
    return "malloc failed";
  pattern_fill(p, 200000, 9);
  char *q = realloc(p, opaque(400000));
  if (q == NULL)
    return "realloc failed";
  if (pattern_verify(q, 200000, 9) != 200000)
    return "content lost";
  pattern_fill(q, 400000, 10);
  char *r = realloc(q, opaque(900000));
  if (r == NULL)
    return "second realloc failed";
  if (pattern_verify(r, 400000, 10) != 400000)
    return "content lost (second)";
  free(r);
  return q != p ? "200000 -> 400000 moved" : r != q ? "400000 -> 900000 moved" : NULL;
}

START_TEST(test_realloc_grow_in_place_medium)
{
  pthread_t t;
  void *msg;
#ifdef MPCA_HARDENED
  return; /* guarded blocks end against a guard page: they never grow in place */
#endif
  ck_assert_int_eq(pthread_create(&t, NULL, medium_grow_thread, NULL), 0);
  ck_assert_int_eq(pthread_join(t, &msg), 0);
  ck_assert_msg(msg == NULL, "%s", (const char *)msg);
}
END_TEST

START_TEST(test_realloc_huge_grow)
{
  /* huge blocks grow with mremap: content kept, whatever the address */
  char *p = malloc(opaque(4 * MiB));
  ck_assert_ptr_nonnull(p);
  pattern_fill(p, 4 * MiB, 11);
  char *blocker = malloc(opaque(4 * MiB)); /* may sit right after p */
  ck_assert_ptr_nonnull(blocker);
  char *q = realloc(p, opaque(48 * MiB));
  ck_assert_ptr_nonnull(q);
  ck_assert_uint_eq(pattern_verify(q, 4 * MiB, 11), 4 * MiB);
  check_block(q, 48 * MiB, 12);
  pattern_fill(q, 48 * MiB, 13);
  char *r = realloc(q, opaque(120 * MiB));
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(pattern_verify(r, 48 * MiB, 13), 48 * MiB);
  check_block(r, 120 * MiB, 14);
  free(r);
  free(blocker);
}
END_TEST

/* Blocks from the aligned allocators resize like any other. */
START_TEST(test_realloc_aligned_blocks)
{
  static const size_t aligns[] = {32, 64, 256, 4096, 65536, 2 * MiB, 4 * MiB};
  static const size_t sizes[] = {10, 5000, 300000, 3 * MiB};
  for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
      void *v = NULL;
      ck_assert_int_eq(posix_memalign(&v, aligns[i], opaque(sizes[j])), 0);
      char *p = v;
      ck_assert_aligned(p, aligns[i]);
      pattern_fill(p, sizes[j], i + j);
      char *q = realloc(p, opaque(sizes[j] * 3 + 1));
      ck_assert_ptr_nonnull(q);
      ck_assert_uint_eq(pattern_verify(q, sizes[j], i + j), sizes[j]);
      check_block(q, sizes[j] * 3 + 1, 1);
      pattern_fill(q, sizes[j], 2);
      char *r = realloc(q, opaque(sizes[j] / 2 + 1));
      ck_assert_ptr_nonnull(r);
      ck_assert_uint_eq(pattern_verify(r, sizes[j] / 2 + 1, 2), sizes[j] / 2 + 1);
      free(r);
    }
}
END_TEST

/* ---- aligned allocators ---------------------------------------------------- */

static const size_t align_sizes[] = {0,      1,      8,       16,      17,      100,     512,
                                     1000,   1024,   1025,    4095,    4096,    10000,   65536,
                                     100000, 500000, 1048575, 1048576, 1048577, 3000000, 8388608};
#define NALIGN_SIZES (sizeof align_sizes / sizeof *align_sizes)

enum which { POSIX_MEMALIGN, ALIGNED_ALLOC, MEMALIGN };

static void *aligned_by(enum which w, size_t align, size_t size)
{
  void *p = NULL;
  switch (w) {
  case POSIX_MEMALIGN: {
    int rc = posix_memalign(&p, align, size);
    ck_assert_msg(rc == 0, "posix_memalign(%zu, %zu) = %d", align, size, rc);
    break;
  }
  case ALIGNED_ALLOC: p = aligned_alloc(align, size); break;
  case MEMALIGN: p = memalign(align, size); break;
  }
  return p;
}

static void aligned_all(enum which w, size_t min_align)
{
  static const char *const names[] = {"posix_memalign", "aligned_alloc", "memalign"};
  void *p[NALIGN_SIZES];
  for (size_t align = min_align; align <= 2 * MiB; align *= 2) {
    for (size_t i = 0; i < NALIGN_SIZES; i++) {
      p[i] = NULL;
      /* the largest size with a few alignments only: page faults are slow */
      if (align_sizes[i] > 4 * MiB && align != min_align && align != 4096 && align != 2 * MiB)
        continue;
      p[i] = aligned_by(w, align, opaque(align_sizes[i]));
      ck_assert_msg(p[i] != NULL, "%s(%zu, %zu) failed", names[w], align, align_sizes[i]);
      ck_assert_msg(((uintptr_t)p[i] & (align - 1)) == 0 && ((uintptr_t)p[i] & 15) == 0,
                    "%s(%zu, %zu) = %p misaligned", names[w], align, align_sizes[i], p[i]);
      check_block(p[i], align_sizes[i], align + i);
    }
    for (size_t i = 0; i < NALIGN_SIZES; i++) {
      if (p[i] == NULL)
        continue;
      size_t u = malloc_usable_size(p[i]), bad = pattern_verify(p[i], u, align + i);
      ck_assert_msg(bad == u, "%s(%zu, %zu) block overwritten at %zu", names[w], align, align_sizes[i], bad);
      free(p[i]);
    }
  }
}

START_TEST(test_posix_memalign_all) { aligned_all(POSIX_MEMALIGN, sizeof(void *)); }
END_TEST
START_TEST(test_aligned_alloc_all) { aligned_all(ALIGNED_ALLOC, 1); }
END_TEST
START_TEST(test_memalign_all) { aligned_all(MEMALIGN, 1); }
END_TEST

/* Alignments above 2 MiB (the macro block size). */
START_TEST(test_aligned_beyond_macro_block)
{
  static const size_t aligns[] = {4 * MiB, 8 * MiB, 64 * MiB};
  static const size_t sizes[] = {1, 5000, 3 * MiB};
  for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++)
      for (int w = POSIX_MEMALIGN; w <= MEMALIGN; w++) {
        void *p = aligned_by((enum which)w, aligns[i], opaque(sizes[j]));
        ck_assert_ptr_nonnull(p);
        ck_assert_aligned(p, aligns[i]);
        check_block(p, sizes[j], i);
        free(p);
      }
}
END_TEST

/* Absurd power-of-two alignments: a block that is really aligned, or NULL
 * with ENOMEM; never a bogus pointer. */
START_TEST(test_aligned_absurd)
{
  for (unsigned k = 40; k <= 63; k++) {
    size_t align = opaque((size_t)1 << k);
    for (int w = POSIX_MEMALIGN; w <= MEMALIGN; w++) {
      void *p = NULL;
      errno = 0;
      if (w == POSIX_MEMALIGN) {
        int rc = posix_memalign(&p, align, 16);
        ck_assert_msg(rc == 0 || rc == ENOMEM, "posix_memalign(2^%u, 16) = %d", k, rc);
        if (rc != 0)
          p = NULL;
      } else {
        p = w == ALIGNED_ALLOC ? aligned_alloc(align, 16) : memalign(align, 16);
        if (p == NULL)
          ck_assert_msg(errno == ENOMEM || errno == EINVAL, "alignment 2^%u: errno %d", k, errno);
      }
      if (p != NULL) {
        ck_assert_msg(((uintptr_t)p & (align - 1)) == 0, "function %d, alignment 2^%u: got %p", w, k, p);
        volatile unsigned char *v = p;
        v[0] = 1;
        v[15] = 2;
        ck_assert(v[0] == 1 && v[15] == 2);
        free(p);
      }
    }
  }
}
END_TEST

START_TEST(test_posix_memalign_einval)
{
  static const size_t bad[] = {0, 1, 2, 4, 3, 12, 24, 40, 48, 96, 1000, 4097, SIZE_MAX, SIZE_MAX / 2};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    void *sentinel = (void *)0x5555, *p = sentinel;
    int rc = posix_memalign(&p, opaque(bad[i]), 100);
    ck_assert_msg(rc == EINVAL, "posix_memalign(%zu, 100) = %d, not EINVAL", bad[i], rc);
    ck_assert_ptr_eq(p, sentinel);
  }
}
END_TEST

START_TEST(test_aligned_alloc_einval)
{
  static const size_t bad[] = {3, 12, 24, 48, 1000, 4097, 3 * MiB, SIZE_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    ck_assert_ptr_null(aligned_alloc(opaque(bad[i]), 100));
    ck_assert_int_eq(errno, EINVAL);
  }
}
END_TEST

START_TEST(test_aligned_alloc_small_alignments)
{
  /* 1, 2, 4, 8 are powers of two: valid, and the block is 16-byte aligned */
  for (size_t a = 1; a <= 8; a *= 2) {
    void *p = aligned_alloc(opaque(a), 100);
    check_block(p, 100, a);
    free(p);
  }
  /* a size that is not a multiple of the alignment is accepted (C17, glibc) */
  void *p = aligned_alloc(4096, opaque(100));
  ck_assert_ptr_nonnull(p);
  ck_assert_aligned(p, 4096);
  check_block(p, 100, 1);
  free(p);
}
END_TEST

START_TEST(test_memalign_rounds_up)
{
  static const size_t req[][2] = {{24, 32},           {48, 64},      {100, 128},          {3000, 4096},
                                  {5000, 8192},       {65537, 131072}, {MiB + 1, 2 * MiB}, {3 * MiB, 4 * MiB},
                                  {0, 16},            {1, 16},       {17, 32}};
  static const size_t sizes[] = {1, 100, 5000, 200000, 3 * MiB};
  for (size_t i = 0; i < sizeof req / sizeof *req; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
      void *p = memalign(opaque(req[i][0]), opaque(sizes[j]));
      ck_assert_msg(p != NULL, "memalign(%zu, %zu) failed", req[i][0], sizes[j]);
      ck_assert_msg(((uintptr_t)p & (req[i][1] - 1)) == 0, "memalign(%zu, %zu) = %p is not %zu-aligned",
                    req[i][0], sizes[j], p, req[i][1]);
      check_block(p, sizes[j], i);
      free(p);
    }
  /* an alignment that cannot be rounded up to a power of two */
  errno = 0;
  ck_assert_ptr_null(memalign(opaque(SIZE_MAX), 16));
  ck_assert_msg(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
}
END_TEST

START_TEST(test_valloc_pvalloc)
{
  size_t pg = page_size();
  static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000, 100000, 1048577, 3 * MiB + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *v = valloc(opaque(sizes[i]));
    ck_assert_ptr_nonnull(v);
    ck_assert_aligned(v, pg);
    check_block(v, sizes[i], i);
    void *p = pvalloc(opaque(sizes[i]));
    ck_assert_ptr_nonnull(p);
    ck_assert_aligned(p, pg);
    size_t rounded = sizes[i] == 0 ? pg : (sizes[i] + pg - 1) / pg * pg;
    check_block(p, rounded, i);
    free(v);
    free(p);
  }
  /* rounding up to a page must not overflow into a small request */
  errno = 0;
  ck_assert_ptr_null(pvalloc(opaque(SIZE_MAX - 10)));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(pvalloc(opaque((size_t)PTRDIFF_MAX - 10)));
  ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/* ---- trim, release, version ----------------------------------------------- */

START_TEST(test_malloc_trim)
{
  enum { N = 3000 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    size_t s = i % 100 == 0 ? 3 * MiB : i % 10 == 0 ? 50000 : (size_t)(i % 1000) + 1;
    p[i] = malloc(opaque(s));
    ck_assert_ptr_nonnull(p[i]);
    pattern_fill(p[i], s, (uint64_t)i);
  }
  for (int i = 0; i < N; i += 2)
    free(p[i]);
  int r = malloc_trim(0);
  ck_assert(r == 0 || r == 1);
  r = malloc_trim(1 << 20);
  ck_assert(r == 0 || r == 1);
  for (int i = 1; i < N; i += 2) {
    size_t s = i % 100 == 0 ? 3 * MiB : i % 10 == 0 ? 50000 : (size_t)(i % 1000) + 1;
    ck_assert_uint_eq(pattern_verify(p[i], s, (uint64_t)i), s);
    free(p[i]);
  }
  r = malloc_trim(0);
  ck_assert(r == 0 || r == 1);
  void *q = malloc(100);
  check_block(q, 100, 1);
  free(q);
}
END_TEST

START_TEST(test_mpc_alloc_release)
{
  char *keep = malloc(opaque(3 * MiB));
  ck_assert_ptr_nonnull(keep);
  pattern_fill(keep, 3 * MiB, 5);
  char *p = malloc(opaque(64 * MiB));
  ck_assert_ptr_nonnull(p);
  memset(p, 1, 64 * MiB);
  free(p);
  ck_assert_uint_eq(mpc_alloc_release(SIZE_MAX), 0);
  size_t released = mpc_alloc_release(0);
  ck_assert_msg(released >= 64 * MiB, "mpc_alloc_release(0) released %zu bytes after a 64 MiB free", released);
  /* nothing cached is left; at most the pages of a run or two that the test
   * harness used in between are purged again */
  released = mpc_alloc_release(0);
  ck_assert_msg(released < MiB, "a second mpc_alloc_release(0) released %zu bytes", released);
  ck_assert_uint_eq(pattern_verify(keep, 3 * MiB, 5), 3 * MiB);
  p = malloc(opaque(64 * MiB));
  check_block(p, 64 * MiB, 6);
  free(p);
  free(keep);
}
END_TEST

START_TEST(test_version)
{
  ck_assert_str_eq(mpc_alloc_version(), PACKAGE_VERSION);
  char v[64];
  snprintf(v, sizeof v, "%d.%d.%d", MPC_ALLOC_VERSION_MAJOR, MPC_ALLOC_VERSION_MINOR, MPC_ALLOC_VERSION_PATCH);
  ck_assert_str_eq(mpc_alloc_version(), v);
}
END_TEST

/* ---- invalid frees: one line on stderr, then SIGABRT ------------------------ */

static int global_object[16];

START_TEST(test_free_stack)
{
  char buf[64];
  memset(buf, 0, sizeof buf);
  free(addr_ptr((uintptr_t)buf + 16));
}
END_TEST

START_TEST(test_free_global) { free(addr_ptr((uintptr_t)&global_object[4])); }
END_TEST

START_TEST(test_free_wild) { free(addr_ptr(0x10000)); }
END_TEST

START_TEST(test_free_noncanonical) { free(addr_ptr(0xdead000000000000u)); }
END_TEST

START_TEST(test_free_interior_small)
{
  char *p = malloc(opaque(64));
  ck_assert_ptr_nonnull(p);
  memset(p, 0, 64);
  free(addr_ptr((uintptr_t)p + 16));
}
END_TEST

START_TEST(test_free_interior_small_unaligned)
{
  char *p = malloc(opaque(200));
  ck_assert_ptr_nonnull(p);
  free(addr_ptr((uintptr_t)p + 8));
}
END_TEST

START_TEST(test_free_interior_medium)
{
  char *p = malloc(opaque(100000));
  ck_assert_ptr_nonnull(p);
  memset(p, 0, 100000);
  free(addr_ptr((uintptr_t)p + 64));
}
END_TEST

/* The payload holds words that look like an allocator's size field (an array
 * of sizes, say): an interior pointer is still an interior pointer. */
START_TEST(test_free_interior_medium_headerlike_data)
{
  size_t *p = malloc(opaque(100000));
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < 100000 / sizeof *p; i++)
    p[i] = 4096 + 1;
  free(addr_ptr((uintptr_t)p + 64));
}
END_TEST

START_TEST(test_free_interior_huge)
{
  char *p = malloc(opaque(4 * MiB));
  ck_assert_ptr_nonnull(p);
  memset(p, 0, 4 * MiB);
  free(addr_ptr((uintptr_t)p + 4096));
}
END_TEST

START_TEST(test_double_free_small)
{
  void *p = malloc(opaque(48));
  void *other = malloc(opaque(48));
  ck_assert_ptr_nonnull(p);
  uintptr_t addr = (uintptr_t)p;
  free(p);
  free(addr_ptr(addr));
  free(other);
}
END_TEST

START_TEST(test_double_free_medium)
{
  void *p = malloc(opaque(100000));
  void *other = malloc(opaque(100000));
  ck_assert_ptr_nonnull(p);
  uintptr_t addr = (uintptr_t)p;
  free(p);
  free(addr_ptr(addr));
  free(other);
}
END_TEST

/* The block before the twice-freed one was freed first, so the first free
 * merged both. Run in a new thread: its heap starts with an empty medium
 * area, so the three blocks are neighbours. */
static void *double_free_after_merge(void *arg)
{
  (void)arg;
  void *a = malloc(opaque(100000));
  void *b = malloc(opaque(100000));
  void *guard = malloc(opaque(100000));
  memset(a, 0, 100000);
  memset(b, 0, 100000);
  free(a);
  uintptr_t addr = (uintptr_t)b;
  free(b);
  free(addr_ptr(addr));
  free(guard);
  return NULL;
}

START_TEST(test_double_free_medium_after_merge)
{
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, double_free_after_merge, NULL), 0);
  pthread_join(t, NULL);
}
END_TEST

START_TEST(test_double_free_huge)
{
  void *p = malloc(opaque(4 * MiB));
  ck_assert_ptr_nonnull(p);
  uintptr_t addr = (uintptr_t)p;
  free(p);
  free(addr_ptr(addr));
}
END_TEST

START_TEST(test_realloc_stack)
{
  char buf[64];
  memset(buf, 0, sizeof buf);
  void *q = realloc(addr_ptr((uintptr_t)buf), 100);
  (void)q;
}
END_TEST

START_TEST(test_realloc_interior)
{
  char *p = malloc(opaque(100000));
  ck_assert_ptr_nonnull(p);
  memset(p, 0, 100000);
  void *q = realloc(addr_ptr((uintptr_t)p + 4096), 200000);
  (void)q;
}
END_TEST

START_TEST(test_realloc_freed)
{
  void *p = malloc(opaque(40));
  void *other = malloc(opaque(40));
  ck_assert_ptr_nonnull(p);
  uintptr_t addr = (uintptr_t)p;
  free(p);
  void *q = realloc(addr_ptr(addr), 100);
  (void)q;
  free(other);
}
END_TEST

/* The message itself: a grandchild does the bad call with stderr on a pipe. */
static void expect_report(void (*bad)(void), const char *prefix, const char *word)
{
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
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

static void bad_free_stack(void)
{
  char buf[16];
  free(addr_ptr((uintptr_t)buf));
}
static void bad_double_free(void)
{
  void *p = malloc(opaque(100));
  uintptr_t addr = (uintptr_t)p;
  free(p);
  free(addr_ptr(addr));
}
static void bad_realloc_stack(void)
{
  char buf[16];
  void *q = realloc(addr_ptr((uintptr_t)buf), 10);
  (void)q;
}

START_TEST(test_report_format)
{
  expect_report(bad_free_stack, "mpcalloc: free(0x", "invalid");
  expect_report(bad_double_free, "mpcalloc: free(0x", "double free");
  expect_report(bad_realloc_stack, "mpcalloc: realloc(0x", "invalid");
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

static Suite *api_suite(void)
{
  Suite *s = suite_create("api");

  TCase *tc = tcase_create("malloc");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_malloc_sizes);
  tcase_add_test(tc, test_malloc_zero_unique);
  tcase_add_test(tc, test_usable_size_null);
  tcase_add_test(tc, test_free_null);
  tcase_add_test(tc, test_free_preserves_errno);
  tcase_add_test(tc, test_too_large);
  suite_add_tcase(s, tc);

  tc = tcase_create("calloc");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_calloc_overflow);
  tcase_add_test(tc, test_calloc_zero_sizes);
  tcase_add_test(tc, test_calloc_dirty_small);
  tcase_add_test(tc, test_calloc_dirty_small_max);
  tcase_add_test(tc, test_calloc_dirty_4k);
  tcase_add_test(tc, test_calloc_dirty_200k);
  tcase_add_test(tc, test_calloc_dirty_4m);
  tcase_add_test(tc, test_calloc_dirty_64m);
  tcase_add_test(tc, test_calloc_dirty_other_sizes);
  suite_add_tcase(s, tc);

  tc = tcase_create("realloc");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_realloc_all_pairs);
  tcase_add_test(tc, test_realloc_chain);
  tcase_add_test(tc, test_realloc_null_is_malloc);
  tcase_add_test(tc, test_realloc_zero_returns_null);
  tcase_add_test_raise_signal(tc, test_realloc_zero_frees, SIGABRT);
  tcase_add_test(tc, test_realloc_failure_keeps_block);
  tcase_add_test(tc, test_reallocarray);
  tcase_add_test(tc, test_realloc_shrink_in_place);
  tcase_add_test(tc, test_realloc_grow_in_place_medium);
  tcase_add_test(tc, test_realloc_huge_grow);
  tcase_add_test(tc, test_realloc_aligned_blocks);
  suite_add_tcase(s, tc);

  tc = tcase_create("aligned");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_posix_memalign_all);
  tcase_add_test(tc, test_aligned_alloc_all);
  tcase_add_test(tc, test_memalign_all);
  tcase_add_test(tc, test_aligned_beyond_macro_block);
  tcase_add_test(tc, test_aligned_absurd);
  tcase_add_test(tc, test_posix_memalign_einval);
  tcase_add_test(tc, test_aligned_alloc_einval);
  tcase_add_test(tc, test_aligned_alloc_small_alignments);
  tcase_add_test(tc, test_memalign_rounds_up);
  tcase_add_test(tc, test_valloc_pvalloc);
  suite_add_tcase(s, tc);

  tc = tcase_create("misc");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_malloc_trim);
  tcase_add_test(tc, test_mpc_alloc_release);
  tcase_add_test(tc, test_version);
  tcase_add_test(tc, test_report_format);
  suite_add_tcase(s, tc);

  tc = tcase_create("invalid");
  tcase_set_timeout(tc, 10);
  tcase_add_test_raise_signal(tc, test_free_stack, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_global, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_wild, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_noncanonical, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_interior_small, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_interior_small_unaligned, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_interior_medium, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_interior_medium_headerlike_data, SIGABRT);
  tcase_add_test_raise_signal(tc, test_free_interior_huge, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_small, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_medium, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_medium_after_merge, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_huge, SIGABRT);
  tcase_add_test_raise_signal(tc, test_realloc_stack, SIGABRT);
  tcase_add_test_raise_signal(tc, test_realloc_interior, SIGABRT);
  tcase_add_test_raise_signal(tc, test_realloc_freed, SIGABRT);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  /* the abort tests must not leave core files behind */
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  SRunner *sr = srunner_create(api_suite());
  /* Each test in its own child: the abort tests need it, and no test sees
   * the heap state another one left. */
  srunner_set_fork_status(sr, CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
