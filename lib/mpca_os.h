/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * OS primitives: page-granular mappings, aligned mappings, mremap, release,
 * and the one way the allocator writes to stderr (no stdio, no malloc). */
#ifndef MPCA_OS_H
#define MPCA_OS_H

#include <stdarg.h>
#include <stdatomic.h>
#include "mpca_common.h"

typedef struct mpca_os_counters {
  _Atomic uint64_t mmap_calls, munmap_calls, mremap_calls, madvise_calls;
  _Atomic uint64_t mprotect_calls; /* guard pages (the hardened build) */
  _Atomic uint64_t mapped;   /* bytes currently mapped for heaps and caches */
  _Atomic uint64_t reserved; /* bytes of address space held by reserve_aligned */
} mpca_os_counters;
extern mpca_os_counters mpca_os_cnt MPCA_INTERNAL;

/* Failure injection, for the tests of the failure paths (tests/inject, the
 * fuzz target). While armed, every call that may fail (mmap, mremap,
 * madvise here, mbind in numa.c) is numbered from 1, and the calls the test
 * chose fail as the kernel would make them fail, without being made. Off,
 * it costs one relaxed load and a branch per system call, on paths that
 * are about to spend microseconds in the kernel. */
typedef struct mpca_os_fault {
  _Atomic bool armed;
  _Atomic uint64_t calls;  /* calls numbered since arming */
  _Atomic uint64_t failed; /* calls made to fail since arming */
  uint64_t from, count;    /* calls from, from + 1, ..., from + count - 1 fail */
  uint64_t every;          /* and, when not 0, every call whose number it divides */
} mpca_os_fault;
extern mpca_os_fault mpca_os_fault_state MPCA_INTERNAL;

/* Number the calls from now on and fail those described above. Arm and
 * disarm while no other thread is inside the allocator (the plan is read
 * without a lock). */
MPCA_INTERNAL void mpca_os_fault_arm(uint64_t from, uint64_t count, uint64_t every);
MPCA_INTERNAL void mpca_os_fault_disarm(void);
MPCA_INTERNAL MPCA_COLD bool mpca_os_fault_next(void);
/* True when the system call about to be made must fail instead. */
MPCA_INLINE bool mpca_os_fault_now(void)
{
  if (mpca_likely(!atomic_load_explicit(&mpca_os_fault_state.armed, memory_order_relaxed)))
    return false;
  return mpca_os_fault_next();
}

MPCA_INTERNAL size_t mpca_os_page_size(void);
/* Fresh zeroed mapping of `size` bytes starting on a multiple of `align`
 * (a power of two >= page size). NULL on failure; errno is ENOMEM then. */
MPCA_INTERNAL void *mpca_os_map_aligned(size_t size, size_t align);
MPCA_INTERNAL void mpca_os_unmap(void *p, size_t size);
/* Grow or shrink in place; false when the neighbourhood is taken. */
MPCA_INTERNAL bool mpca_os_remap_inplace(void *p, size_t old_size, size_t new_size);
/* An aligned window of address space with no access, to move a mapping into. */
MPCA_INTERNAL void *mpca_os_reserve_aligned(size_t size, size_t align);
MPCA_INTERNAL void mpca_os_unmap_reserved(void *p, size_t size);
/* Move [p, p+old_size) onto the reserved window `target`, keeping the pages. */
MPCA_INTERNAL bool mpca_os_remap_fixed(void *p, size_t old_size, size_t new_size, void *target);
/* Hand the whole pages inside [p, p+size) back to the OS, keeping the
 * mapping (they read as zero afterwards). Returns the bytes purged. */
MPCA_INTERNAL size_t mpca_os_purge(void *p, size_t size);
/* Metadata memory (never freed): zeroed, page-granular. */
/* Ask for transparent huge pages on [p, p + size) (a hint; see MPCALLOC_THP_MIN). */
MPCA_INTERNAL void mpca_os_advise_huge_pages(void *p, size_t size);
/* Guard pages (the hardened build): [p, p + size) (page-aligned) made
 * inaccessible (`on`) or read-write again. False when the kernel refused. */
MPCA_INTERNAL bool mpca_os_guard(void *p, size_t size, bool on);
/* Milliseconds of a coarse monotonic clock (a vDSO read, no system call). */
MPCA_INTERNAL uint64_t mpca_os_now_ms(void);
MPCA_INTERNAL void *mpca_os_meta_map(size_t size);
MPCA_INTERNAL void mpca_os_meta_unmap(void *p, size_t size);

/* Keep a copy of standard error (a descriptor above 2, closed on exec) for
 * what is written at exit; mpca_os_stderr() is that copy, or 2 when none
 * was kept (or could be). */
MPCA_INTERNAL void mpca_os_keep_stderr(void);
MPCA_INTERNAL int mpca_os_stderr(void);

/* stderr output without malloc: %s %p %zu %zx %d %c and %%. */
MPCA_INTERNAL void mpca_printf_fd(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
MPCA_INTERNAL void mpca_vprintf_fd(int fd, const char *fmt, va_list ap);
MPCA_INTERNAL size_t mpca_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
MPCA_INTERNAL void mpca_fatal(const char *fmt, ...) __attribute__((noreturn, cold, format(printf, 1, 2)));

#endif
