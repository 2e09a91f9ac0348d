/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The standard entry points: malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, malloc_trim: argument checks, errno, overflow. The
 * small malloc and the small free by the block's owner are inlined here
 * (mpca_alloc.h) and take no lock and no atomic read-modify-write;
 * everything else calls one slow path of alloc.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "mpcalloc.h"
#include "mpca_alloc.h"
#include "mpca_os.h"
#include "mpca_prof_report.h"
#include "mpca_report.h"

MPCA_EXPORT void *malloc(size_t size)
{
  if (mpca_likely(size <= MPCA_SMALL_MAX))
    return mpca_small_alloc(mpca_tls_heap, size);
  return mpca_alloc(size, false);
}

MPCA_EXPORT void free(void *p) { mpca_free_inline(p); }

MPCA_EXPORT void *calloc(size_t n, size_t m)
{
  size_t size;
  if (mpca_unlikely(__builtin_mul_overflow(n, m, &size))) {
    errno = ENOMEM;
    return NULL;
  }
  if (mpca_likely(size <= MPCA_SMALL_MAX)) {
    void *p = mpca_small_alloc(mpca_tls_heap, size);
    if (mpca_likely(p != NULL))
      memset(p, 0, size);
    return p;
  }
  return mpca_alloc(size, true);
}

/* noinline: reallocarray calls it by name, even in the static archive */
MPCA_EXPORT MPCA_NOINLINE void *realloc(void *p, size_t size) { return mpca_realloc(p, size); }

MPCA_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
  size_t size;
  if (__builtin_mul_overflow(n, m, &size)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, size); /* the process's: a memory debugger may have replaced ours */
}

MPCA_EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
  if (!mpca_is_pow2(align) || align % sizeof(void *) != 0)
    return EINVAL;
  int saved = errno;
  void *p = mpca_alloc_aligned(align, size);
  errno = saved;
  if (p == NULL)
    return ENOMEM;
  *memptr = p;
  return 0;
}

MPCA_EXPORT void *aligned_alloc(size_t align, size_t size)
{
  if (!mpca_is_pow2(align)) {
    errno = EINVAL;
    return NULL;
  }
  return mpca_alloc_aligned(align, size);
}

/* noinline: pvalloc calls it by name, even in the static archive */
MPCA_EXPORT MPCA_NOINLINE void *memalign(size_t align, size_t size)
{
  if (align > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return NULL;
  }
  if (!mpca_is_pow2(align)) /* glibc rounds up to a power of two */
    align = align <= MPCA_ALIGNMENT ? MPCA_ALIGNMENT : (size_t)1 << (mpca_log2(align) + 1);
  return mpca_alloc_aligned(align, size);
}

MPCA_EXPORT void *valloc(size_t size) { return mpca_alloc_aligned(mpca_os_page_size(), size); }

MPCA_EXPORT void *pvalloc(size_t size)
{
  size_t page = mpca_os_page_size();
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size = size == 0 ? page : mpca_align_up(size, page);
  return memalign(page, size); /* the process's: a memory debugger may have replaced ours */
}

MPCA_EXPORT size_t malloc_usable_size(void *p)
{
  if (p == NULL)
    return 0;
  return mpca_usable_size(mpca_registry_lookup(p), p, "malloc_usable_size");
}

MPCA_EXPORT int malloc_trim(size_t pad)
{
  int saved = errno;
  size_t released = mpc_alloc_release(pad);
  errno = saved;
  return released != 0;
}

/* The reports at exit live here, in the object that defines malloc: a
 * program linked with libmpcalloc.a pulls from the archive only the
 * objects it needs, and would lose a destructor kept in report.o when it
 * never calls the statistics API. */
__attribute__((destructor)) static void reports_at_exit(void)
{
  mpca_report_at_exit();
  mpca_prof_report_at_exit();
}

/* glibc's internal names of the same functions, and cfree, the old name of
 * free that glibc still exports to old binaries. Code that calls them to
 * reach "the C library's own malloc" (plugins, runtimes, interposers) must
 * get ours: a block from glibc's heap would later abort our free(), and one
 * of ours would corrupt glibc's. */
MPCA_EXPORT void *__libc_malloc(size_t size) __attribute__((alias("malloc")));
MPCA_EXPORT void __libc_free(void *p) __attribute__((alias("free")));
MPCA_EXPORT void cfree(void *p) __attribute__((alias("free")));
MPCA_EXPORT void *__libc_calloc(size_t n, size_t m) __attribute__((alias("calloc")));
MPCA_EXPORT void *__libc_realloc(void *p, size_t size) __attribute__((alias("realloc")));
MPCA_EXPORT void *__libc_memalign(size_t align, size_t size) __attribute__((alias("memalign")));
MPCA_EXPORT void *__libc_valloc(size_t size) __attribute__((alias("valloc")));
MPCA_EXPORT void *__libc_pvalloc(size_t size) __attribute__((alias("pvalloc")));
/* the attributes <stdlib.h> gives posix_memalign, which an alias must repeat */
MPCA_EXPORT int __posix_memalign(void **memptr, size_t align, size_t size)
    __attribute__((alias("posix_memalign"), nothrow, leaf, nonnull(1)));
