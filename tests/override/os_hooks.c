/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Guard of a promise to MPI libraries: libmpcalloc calls mmap, munmap,
 * mremap and madvise through libc's functions, by their dynamic symbols,
 * never with syscall(2). Open MPI's memory patcher and UCX's hooks (in
 * their "reloc" mode, which rewrites the symbol's GOT entries) intercept
 * exactly those calls to drop registrations of memory that goes away; a
 * release they miss leaves a stale registration, and a later transfer into
 * reused memory goes wrong. This program defines the four functions itself
 * and exports them (linked with -export-dynamic), so that they interpose
 * the ones of libc for the library, as a hook would; they count the calls
 * and make them with syscall(2). It then makes the library map, unmap,
 * grow with mremap, advise huge pages and purge, and checks that every call
 * the library counts (mpc_alloc_stats_get) went through them, and that each
 * of the four was seen. It re-executes itself once with the settings that
 * make the library use all four calls.
 * Exit 0 pass, 1 fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mpcalloc.h"

enum { MMAP, MUNMAP, MREMAP, MADVISE, NCALLS };
static const char *const names[NCALLS] = {"mmap", "munmap", "mremap", "madvise"};
static volatile unsigned long seen[NCALLS];

/* ---- the interposed functions (what a hook of an MPI library sees) ---------- */
/* glibc's syscall() returns -1 with errno set on failure: MAP_FAILED for
 * mmap and mremap, as libc's functions. */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  __atomic_fetch_add(&seen[MMAP], 1, __ATOMIC_RELAXED);
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
  __atomic_fetch_add(&seen[MUNMAP], 1, __ATOMIC_RELAXED);
  return (int)syscall(SYS_munmap, addr, len);
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
  void *target = NULL;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    target = va_arg(ap, void *);
    va_end(ap);
  }
  __atomic_fetch_add(&seen[MREMAP], 1, __ATOMIC_RELAXED);
  return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, target);
}

int madvise(void *addr, size_t len, int advice)
{
  __atomic_fetch_add(&seen[MADVISE], 1, __ATOMIC_RELAXED);
  return (int)syscall(SYS_madvise, addr, len, advice);
}

/* ---- the workload ---------------------------------------------------------------- */

static void counts(struct mpc_alloc_stats *st, unsigned long *hook)
{
  st->size = sizeof *st;
  if (mpc_alloc_stats_get(st) != 0) {
    perror("mpc_alloc_stats_get");
    exit(1);
  }
  for (int i = 0; i < NCALLS; i++)
    hook[i] = __atomic_load_n(&seen[i], __ATOMIC_RELAXED);
}

static void touch(char *p, size_t n)
{
  for (size_t i = 0; i < n; i += 4096)
    p[i] = (char)i;
}

int main(int argc, char **argv)
{
  (void)argc;
  /* the cache off (every free unmaps), huge pages asked for from 2 MiB
   * (madvise), and free pages purged at once (madvise) */
  if (getenv("MPCALLOC_KEEP_MAX") == NULL) {
    setenv("MPCALLOC_KEEP_MAX", "0", 1);
    setenv("MPCALLOC_THP_MIN", "2M", 1);
    setenv("MPCALLOC_PURGE_DELAY", "0", 1);
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe");
    return 1;
  }
  struct mpc_alloc_stats before, after;
  unsigned long hook0[NCALLS], hook1[NCALLS];
  free(malloc(1)); /* the library is set up */
  counts(&before, hook0);

  for (int round = 0; round < 20; round++) {
    size_t n = ((size_t)2 + (size_t)(round % 5)) << 20;
    char *p = malloc(n);
    touch(p, n);
    p = realloc(p, n * 3); /* mremap */
    touch(p, n * 3);
    free(p); /* munmap: nothing is cached */
    void *small[3000];
    for (int i = 0; i < 3000; i++)
      small[i] = malloc(64 + (size_t)(i % 7) * 100);
    char *medium = malloc(300000);
    touch(medium, 300000);
    for (int i = 0; i < 3000; i++)
      free(small[i]);
    free(medium);
    mpc_alloc_release(0); /* purge free runs and chunks: madvise */
  }

  counts(&after, hook1);
  uint64_t lib[NCALLS] = {after.mmap_calls - before.mmap_calls, after.munmap_calls - before.munmap_calls,
                          after.mremap_calls - before.mremap_calls, after.madvise_calls - before.madvise_calls};
  int failures = 0;
  for (int i = 0; i < NCALLS; i++) {
    unsigned long hooked = hook1[i] - hook0[i];
    printf("%-8s library counted %llu, interposed function saw %lu\n", names[i], (unsigned long long)lib[i],
           hooked);
    if (lib[i] == 0) {
      printf("FAIL: the workload made no %s call: it tests nothing\n", names[i]);
      failures++;
    } else if (hooked != lib[i]) {
      printf("FAIL: %llu %s calls of the library, %lu seen by the interposed %s: calls that do not go "
             "through libc's symbol escape MPI memory hooks\n",
             (unsigned long long)lib[i], names[i], hooked, names[i]);
      failures++;
    }
  }
  if (failures)
    return 1;
  printf("PASS: every mmap/munmap/mremap/madvise of the library goes through the interposable symbol\n");
  return 0;
}
