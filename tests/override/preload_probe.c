/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A small program for the LD_PRELOAD tests (it does not link libmpcalloc).
 * Without argument it allocates small, medium and huge blocks from two
 * threads, checks their content and prints one deterministic line, so a
 * script can tell that a program runs correctly under the preloaded library
 * (env.sh). With one argument it does one invalid call and, if it is still
 * alive afterwards, prints "continued" (on_error.sh):
 *   free-stack, free-interior-small, free-interior-huge, double-free-small,
 *   double-free-medium, realloc-stack, and double frees across threads:
 *   xthread-owner-first (the owner frees, then another thread), -other-first
 *   (another thread, then the owner), -twice (another thread twice),
 *   -after-exit (another thread frees and exits, then the owner frees),
 *   -medium (another thread frees a medium block twice); after these, it
 *   also checks that the block was not put back twice (no two live blocks
 *   at one address). "maps" prints whether libmpcalloc is mapped. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pointer rebuilt from an address: for the deliberate misuses. */
static void *addr_ptr(uintptr_t a)
{
  volatile uintptr_t v = a;
  return (void *)v;
}

static size_t opaque(size_t x)
{
  volatile size_t v = x;
  return v;
}

static const size_t sizes[] = {0, 1, 16, 100, 1000, 1024, 1025, 5000, 70000, 1048576, 1048577, 3000000};
#define NSIZES (sizeof sizes / sizeof *sizes)

/* Allocate, fill, check and free; returns a checksum of what was read back,
 * or 0 on a mismatch. */
static uint64_t workload(unsigned seed)
{
  uint64_t sum = 1;
  for (int round = 0; round < 5; round++) {
    unsigned char *p[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
      p[i] = malloc(opaque(sizes[i]));
      if (p[i] == NULL)
        return 0;
      for (size_t j = 0; j < sizes[i]; j++)
        p[i][j] = (unsigned char)(seed + i * 7 + j);
    }
    for (size_t i = 0; i < NSIZES; i++) {
      p[i] = realloc(p[i], sizes[i] + 100);
      if (p[i] == NULL)
        return 0;
      for (size_t j = 0; j < sizes[i]; j++) {
        if (p[i][j] != (unsigned char)(seed + i * 7 + j))
          return 0;
        sum = sum * 31 + p[i][j];
      }
      free(p[i]);
    }
    unsigned char *z = calloc(1000, 100);
    if (z == NULL)
      return 0;
    for (size_t j = 0; j < 100000; j++)
      if (z[j] != 0)
        return 0;
    free(z);
  }
  return sum;
}

static void *thread_main(void *arg)
{
  uint64_t *out = arg;
  *out = workload(2);
  return NULL;
}

static int run(void)
{
  uint64_t a = workload(1), b = 0;
  pthread_t t;
  if (pthread_create(&t, NULL, thread_main, &b) != 0 || pthread_join(t, NULL) != 0)
    return 1;
  if (a == 0 || b == 0) {
    fprintf(stderr, "preload_probe: content check failed\n");
    return 1;
  }
  printf("probe ok %016llx %016llx\n", (unsigned long long)a, (unsigned long long)b);
  return 0;
}

/* The second free of a block by one thread, the first by `first_by` (0:
 * the main thread, 1: a thread that then exits, 2: the same thread). */
typedef struct {
  void *p;
  int twice;
} xfree_arg;

static void *xfree(void *arg)
{
  xfree_arg *a = arg;
  uintptr_t addr = (uintptr_t)a->p;
  void *mine = malloc(opaque(64)); /* this thread has a heap of its own */
  free(a->p);
  if (a->twice)
    free(addr_ptr(addr));
  free(mine);
  return NULL;
}

static void in_thread(void *p, int twice)
{
  pthread_t t;
  xfree_arg a = {p, twice};
  if (pthread_create(&t, NULL, xfree, &a) != 0 || pthread_join(t, NULL) != 0)
    exit(3);
}

static int cmp_ptr(const void *a, const void *b)
{
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* After an ignored double free (MPCALLOC_ON_ERROR=warn): many blocks of the
 * size, all live at once, from this thread and another: no address twice
 * (a few hundred of the bigger blocks are as many as their heap holds). */
#define DISTINCT_MAX 20000
static uintptr_t distinct[2 * DISTINCT_MAX];
static size_t distinct_size;
static int distinct_n;
static void *distinct_fill(void *arg)
{
  uintptr_t *out = arg;
  for (int i = 0; i < distinct_n; i++)
    out[i] = (uintptr_t)malloc(opaque(distinct_size));
  return NULL;
}

static int all_distinct(size_t size)
{
  pthread_t t;
  distinct_size = size;
  distinct_n = size > 4096 ? 400 : DISTINCT_MAX;
  distinct_fill(distinct);
  if (pthread_create(&t, NULL, distinct_fill, distinct + distinct_n) != 0 || pthread_join(t, NULL) != 0)
    return 0;
  qsort(distinct, 2 * (size_t)distinct_n, sizeof *distinct, cmp_ptr);
  for (int i = 1; i < 2 * distinct_n; i++)
    if (distinct[i] == distinct[i - 1] || distinct[i - 1] == 0)
      return 0;
  for (int i = 0; i < 2 * distinct_n; i++)
    free((void *)distinct[i]);
  return 1;
}

static int maps(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL)
    return 1;
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "/libmpcalloc.so"))
      found = 1;
  fclose(f);
  puts(found ? "mapped" : "not mapped");
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return run();
  const char *what = argv[1];
  char stack[64];
  memset(stack, 0, sizeof stack);
  if (strcmp(what, "maps") == 0)
    return maps();
  if (strcmp(what, "free-stack") == 0) {
    free(addr_ptr((uintptr_t)stack + 16));
  } else if (strcmp(what, "free-interior-small") == 0) {
    char *p = malloc(opaque(64));
    free(addr_ptr((uintptr_t)p + 16));
  } else if (strcmp(what, "free-interior-huge") == 0) {
    char *p = malloc(opaque(4 << 20));
    free(addr_ptr((uintptr_t)p + 4096));
  } else if (strcmp(what, "double-free-small") == 0) {
    char *p = malloc(opaque(64));
    uintptr_t addr = (uintptr_t)p;
    free(p);
    free(addr_ptr(addr));
  } else if (strcmp(what, "double-free-medium") == 0) {
    char *p = malloc(opaque(100000));
    uintptr_t addr = (uintptr_t)p;
    free(p);
    free(addr_ptr(addr));
  } else if (strcmp(what, "realloc-stack") == 0) {
    void *q = realloc(addr_ptr((uintptr_t)stack), 100);
    (void)q;
  } else if (strncmp(what, "xthread-", 8) == 0) {
    size_t size = strcmp(what, "xthread-medium") == 0 ? 100000 : 64;
    char *p = malloc(opaque(size));
    uintptr_t addr = (uintptr_t)p;
    if (strcmp(what, "xthread-owner-first") == 0) {
      free(p);
      in_thread(p, 0);
    } else if (strcmp(what, "xthread-other-first") == 0) {
      in_thread(p, 0); /* in the other thread's foreign list */
      free(addr_ptr(addr));
    } else if (strcmp(what, "xthread-after-exit") == 0) {
      in_thread(p, 0); /* sent home when that thread exited */
      free(addr_ptr(addr));
    } else if (strcmp(what, "xthread-twice") == 0 || strcmp(what, "xthread-medium") == 0) {
      in_thread(p, 1);
    } else {
      fprintf(stderr, "preload_probe: unknown mode %s\n", what);
      return 2;
    }
    if (!all_distinct(size)) {
      puts("a block was put back twice");
      return 1;
    }
  } else {
    fprintf(stderr, "preload_probe: unknown mode %s\n", what);
    return 2;
  }
  /* still alive: the allocator must still work */
  if (workload(3) == 0)
    return 1;
  puts("continued");
  return 0;
}
