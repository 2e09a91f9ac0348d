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
 *   double-free-medium, realloc-stack; "maps" prints whether libmpcalloc is
 *   mapped in the process. */
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

static int maps(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL)
    return 1;
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "libmpcalloc"))
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
