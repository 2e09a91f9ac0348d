/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Two planted bugs for valgrind.sh: a block of 4321 bytes leaked for good,
 * and a one-byte write just past the end of a 24-byte block. The 24-byte
 * block is grown by reallocarray and freed by free_sized when the process
 * has it, and a pvalloc block is freed: under valgrind, libmpcalloc's
 * versions of these, which valgrind does not replace, must use valgrind's
 * realloc, memalign and free (no invalid free reported). Built twice:
 * without the library (run under LD_PRELOAD) and linked with it; the script
 * also links it with libmpcalloc.a. Runs without a crash on any allocator
 * (the byte past the block is inside its size class). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile leaked;

int main(void)
{
  char *p = malloc(16);
  if (p == NULL || (p = reallocarray(p, 3, 8)) == NULL)
    return 1;
  memset(p, 'a', 24);
  volatile char *v = p;
  volatile size_t past = 24; /* out of bounds on purpose: hidden from the compiler */
  v[past] = 'b';             /* planted overflow */
  leaked = malloc(4321);
  memset(leaked, 1, 4321);
  leaked = NULL; /* planted leak */
  free(pvalloc(100));
  void (*free_sized)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  if (free_sized)
    free_sized(p, 24);
  else
    free(p);
  puts("planted: done");
  return 0;
}
