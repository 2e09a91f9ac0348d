/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * What the heap profiler's test programs share (tests/prof/prof_sites.c,
 * prof_threads.c, tests/mpi/prof_mpi.c): allocation sites that stay frames
 * of their own in a call stack, and a check of what they allocate. */
#ifndef MPCA_TEST_SITES_H
#define MPCA_TEST_SITES_H

#include <stdio.h>
#include <stdlib.h>

/* a frame of its own: not inlined, nor cloned for a constant argument */
#if defined(__GNUC__) && !defined(__clang__)
#define NOINLINE __attribute__((noinline, noclone))
#else
#define NOINLINE __attribute__((noinline))
#endif
#define MIB ((size_t)1 << 20)

/* `p`, its first byte set to `tag`; exit 2 when it is NULL. Called after
 * the allocation, so a site's call is no tail call, and the different tags
 * keep the compiler from folding sites into one function. */
static inline void *check(void *p, int tag)
{
  if (p == NULL) {
    perror("allocation failed");
    exit(2);
  }
  ((volatile char *)p)[0] = (char)tag;
  return p;
}

#endif
