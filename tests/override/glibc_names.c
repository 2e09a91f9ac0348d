/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A program that is not linked with libmpcalloc and uses glibc's internal
 * allocation names, its introspection calls and C23's sized frees, run by
 * glibc_names.sh with and without libmpcalloc preloaded (and by
 * on_error.sh for the sized frees that cannot match). Without an argument
 * it prints, one per line, the library each name resolves to, then blocks
 * of __libc_malloc & co. freed with free() and the other way round (which
 * aborted under LD_PRELOAD before libmpcalloc exported these names), then
 * whether mallinfo2 saw a 200000-byte block in uordblks, the malloc_info
 * XML between two marker lines, and malloc_stats on stderr. With a mode
 * (free-sized-*), it makes that bad call, then checks the block was left
 * alone and prints "continued" (MPCALLOC_ON_ERROR=warn). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's internal names: exported by libc.so.6, not declared */
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);

static const char *const names[] = {
    "malloc",         "__libc_malloc",   "__libc_free",    "__libc_calloc",   "__libc_realloc",
    "__libc_memalign", "__libc_valloc",  "__libc_pvalloc", "__posix_memalign", "cfree",
    "free_sized",     "free_aligned_sized", "mallinfo",    "mallinfo2",       "malloc_stats",
    "malloc_info",    "mallopt"};

static size_t opaque(size_t x)
{
  volatile size_t v = x;
  return v;
}

static int failures;

static void check(int ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "glibc_names: %s failed\n", what);
    failures++;
  }
}

static void print_where(void)
{
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    Dl_info where;
    const char *lib = "missing";
    if (f != NULL && dladdr(f, &where) != 0 && where.dli_fname != NULL) {
      lib = strrchr(where.dli_fname, '/');
      lib = lib ? lib + 1 : where.dli_fname;
    }
    printf("%s %s\n", names[i], lib);
  }
}

/* glibc's own names and the standard ones must share one heap. */
static void mix_names(void)
{
  char *p = __libc_malloc(opaque(1000));
  check(p != NULL, "__libc_malloc");
  strcpy(p, "from __libc_malloc");
  p = realloc(p, opaque(100000));
  check(p != NULL && strcmp(p, "from __libc_malloc") == 0, "realloc of a __libc_malloc block");
  free(p);
  free(__libc_calloc(opaque(10), 10));
  free(__libc_memalign(opaque(64), 100));
  free(__libc_valloc(opaque(100)));
  free(__libc_pvalloc(opaque(100)));
  char *q = malloc(opaque(200));
  q = __libc_realloc(q, opaque(3 << 20));
  check(q != NULL, "__libc_realloc of a malloc block");
  __libc_free(q);
  void (*cfree_fn)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
  if (cfree_fn)
    cfree_fn(malloc(opaque(30)));
  int (*pm)(void **, size_t, size_t) = (int (*)(void **, size_t, size_t))dlsym(RTLD_DEFAULT, "__posix_memalign");
  if (pm) {
    void *a = NULL;
    check(pm(&a, 128, opaque(1000)) == 0 && (uintptr_t)a % 128 == 0, "__posix_memalign");
    free(a);
  }
  void (*fs)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  if (fs)
    fs(malloc(opaque(777)), 777);
  puts("mixed names: ok");
}

static void introspection(void)
{
  struct mallinfo2 before = mallinfo2();
  char *p = malloc(opaque(200000));
  memset(p, 1, 200000);
  struct mallinfo2 after = mallinfo2();
  /* (a medium block in uordblks; the hardened build makes it huge: hblkhd) */
  printf("mallinfo2 uordblks counts a 200000-byte block: %s\n",
         after.uordblks + after.hblkhd >= before.uordblks + before.hblkhd + 200000 ? "yes" : "no");
  printf("mallinfo2 arena = uordblks + fordblks: %s\n",
         after.arena == after.uordblks + after.fordblks ? "yes" : "no");
  puts("--- malloc_info");
  fflush(stdout);
  check(malloc_info(0, stdout) == 0, "malloc_info");
  puts("--- end");
  fflush(stdout);
  malloc_stats();
  free(p);
}

/* A bad sized free; under MPCALLOC_ON_ERROR=warn the block stays ours. */
static int bad_sized_free(const char *mode)
{
  void (*fs)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  void (*fas)(void *, size_t, size_t) = (void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");
  if (fs == NULL || fas == NULL) {
    fprintf(stderr, "glibc_names: no free_sized here\n");
    return 2;
  }
  char *p = aligned_alloc(opaque(64), 100000);
  memset(p, 7, 100000);
  if (strcmp(mode, "free-sized-big") == 0) {
    fs(p, 200000);
  } else if (strcmp(mode, "free-sized-small") == 0) {
    fs(p, 1000);
  } else if (strcmp(mode, "free-aligned-sized-alignment") == 0) {
    fas(p, 96, 100000);
  } else if (strcmp(mode, "free-aligned-sized-misaligned") == 0) {
    uintptr_t a = (uintptr_t)p;
    fas(p, (size_t)(a & -a) * 2, 100000); /* twice its actual alignment */
  } else {
    fprintf(stderr, "glibc_names: unknown mode %s\n", mode);
    return 2;
  }
  /* left alone: still a live block with its content */
  if (malloc_usable_size(p) < 100000 || p[99999] != 7) {
    fprintf(stderr, "glibc_names: the block was touched\n");
    return 1;
  }
  free(p);
  puts("continued");
  return 0;
}

int main(int argc, char **argv)
{
  if (argc > 1)
    return bad_sized_free(argv[1]);
  print_where();
  mix_names();
  introspection();
  return failures ? 1 : 0;
}
