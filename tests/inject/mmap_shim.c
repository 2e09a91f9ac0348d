/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A preloaded stand-in for mmap, mremap and madvise that fails on command,
 * the way the kernel does (MAP_FAILED or -1, errno ENOMEM): the failure
 * comes from outside the allocator, which cannot tell it from a real one.
 * The calls are made with syscall(2), so the shim needs no dlsym (which may
 * allocate, and so call mmap again). It does nothing until the program
 * arms it through mpca_shim_arm, found with dlsym: then the calls are
 * numbered from 1 and call n fails when from <= n < from + count, or when
 * `every` (!= 0) divides n. munmap is left alone (the allocator cannot do anything about a failed
 * munmap, and the kernel fails one only for lack of mapping slots). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

static _Atomic bool armed;
static _Atomic unsigned long calls, failed;
static unsigned long fail_from, fail_count, fail_every;

SHIM_EXPORT void mpca_shim_arm(unsigned long from, unsigned long count, unsigned long every)
{
  atomic_store(&armed, false);
  fail_from = from;
  fail_count = count;
  fail_every = every;
  atomic_store(&calls, 0);
  atomic_store(&failed, 0);
  atomic_store(&armed, true);
}

SHIM_EXPORT void mpca_shim_disarm(void) { atomic_store(&armed, false); }
SHIM_EXPORT unsigned long mpca_shim_calls(void) { return atomic_load(&calls); }
SHIM_EXPORT unsigned long mpca_shim_failed(void) { return atomic_load(&failed); }

static bool must_fail(void)
{
  if (!atomic_load(&armed))
    return false;
  unsigned long n = atomic_fetch_add(&calls, 1) + 1;
  if ((n >= fail_from && n - fail_from < fail_count) || (fail_every != 0 && n % fail_every == 0)) {
    atomic_fetch_add(&failed, 1);
    errno = ENOMEM;
    return true;
  }
  return false;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  if (must_fail())
    return MAP_FAILED;
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  return mmap(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
  void *target = NULL;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    target = va_arg(ap, void *);
    va_end(ap);
  }
  if (must_fail())
    return MAP_FAILED;
  return (void *)syscall(SYS_mremap, old, old_size, new_size, flags, target);
}

SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
  if (must_fail())
    return -1;
  return (int)syscall(SYS_madvise, addr, len, advice);
}
