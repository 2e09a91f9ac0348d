/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The only file that calls mmap/munmap/mremap/madvise, and the allocator's
 * own tiny formatter for diagnostics. Nothing here allocates through libc,
 * and every failure is reported as a return value (never a crash).
 *
 * The memory calls go through libc's functions, never syscall(2): MPI
 * libraries (Open MPI's patcher, UCX) hook munmap, mremap and madvise to
 * drop their caches of registered memory when pages go away, and must see
 * every release, or a later transfer would use a stale registration.
 * tests/override/os_hooks.sh checks that an interposed munmap/mremap/
 * madvise/mmap sees every call counted here.
 *
 * The tests can make any of these calls fail on purpose (mpca_os_fault_arm),
 * so that every caller's failure path runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "mpca_os.h"

mpca_os_counters mpca_os_cnt;
mpca_os_fault mpca_os_fault_state;
static size_t page_size_cache;

void mpca_os_fault_arm(uint64_t from, uint64_t count, uint64_t every)
{
  mpca_os_fault *f = &mpca_os_fault_state;
  atomic_store_explicit(&f->armed, false, memory_order_relaxed);
  f->from = from;
  f->count = count;
  f->every = every;
  atomic_store_explicit(&f->calls, 0, memory_order_relaxed);
  atomic_store_explicit(&f->failed, 0, memory_order_relaxed);
  /* release: a thread that sees `armed` sees the plan */
  atomic_store_explicit(&f->armed, true, memory_order_release);
}

void mpca_os_fault_disarm(void) { atomic_store_explicit(&mpca_os_fault_state.armed, false, memory_order_relaxed); }

bool mpca_os_fault_next(void)
{
  mpca_os_fault *f = &mpca_os_fault_state;
  atomic_thread_fence(memory_order_acquire);
  uint64_t n = atomic_fetch_add_explicit(&f->calls, 1, memory_order_relaxed) + 1;
  bool fail = (n >= f->from && n - f->from < f->count) || (f->every != 0 && n % f->every == 0);
  if (fail)
    atomic_fetch_add_explicit(&f->failed, 1, memory_order_relaxed);
  return fail;
}

size_t mpca_os_page_size(void)
{
  size_t p = page_size_cache;
  if (mpca_unlikely(p == 0)) {
    long v = sysconf(_SC_PAGESIZE);
    p = v > 0 ? (size_t)v : 4096;
    page_size_cache = p;
  }
  return p;
}

/* Memory for the program is mapped with the kernel's overcommit accounting
 * (no MAP_NORESERVE), so an absurd request fails with ENOMEM as with glibc;
 * metadata tables that are mostly never touched pass MAP_NORESERVE. */
static void *os_mmap_flags(size_t size, int prot, int extra)
{
  if (mpca_os_fault_now()) {
    errno = ENOMEM;
    return NULL;
  }
  atomic_fetch_add_explicit(&mpca_os_cnt.mmap_calls, 1, memory_order_relaxed);
  void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
  if (p == MAP_FAILED) {
    errno = ENOMEM;
    return NULL;
  }
  return p;
}

static void *os_mmap(size_t size, int prot) { return os_mmap_flags(size, prot, 0); }

static void os_munmap_raw(void *p, size_t size)
{
  if (size == 0)
    return;
  atomic_fetch_add_explicit(&mpca_os_cnt.munmap_calls, 1, memory_order_relaxed);
  int saved = errno;
  munmap(p, size);
  errno = saved;
}

/* Trim an over-sized mapping [raw, raw+raw_size) down to an aligned window. */
static void *trim_to_alignment(char *raw, size_t raw_size, size_t size, size_t align)
{
  char *aligned = (char *)mpca_align_up((uintptr_t)raw, align);
  os_munmap_raw(raw, (size_t)(aligned - raw));
  os_munmap_raw(aligned + size, (size_t)(raw + raw_size - (aligned + size)));
  return aligned;
}

void *mpca_os_map_aligned(size_t size, size_t align)
{
  size_t page = mpca_os_page_size();
  size = mpca_align_up(size, page);
  if (size == 0 || size > ((size_t)1 << MPCA_ADDR_BITS) || align > ((size_t)1 << 40)) {
    errno = ENOMEM;
    return NULL;
  }
  /* Try the exact size first: the kernel often hands out aligned addresses
   * right after a previous aligned mapping. */
  char *p = os_mmap(size, PROT_READ | PROT_WRITE);
  if (p == NULL)
    return NULL;
  if (((uintptr_t)p & (align - 1)) == 0) {
    atomic_fetch_add_explicit(&mpca_os_cnt.mapped, size, memory_order_relaxed);
    return p;
  }
  os_munmap_raw(p, size);
  size_t raw_size = size + align - page;
  if (raw_size < size) {
    errno = ENOMEM;
    return NULL;
  }
  p = os_mmap(raw_size, PROT_READ | PROT_WRITE);
  if (p == NULL)
    return NULL;
  atomic_fetch_add_explicit(&mpca_os_cnt.mapped, size, memory_order_relaxed);
  return trim_to_alignment(p, raw_size, size, align);
}

void mpca_os_unmap(void *p, size_t size)
{
  atomic_fetch_sub_explicit(&mpca_os_cnt.mapped, size, memory_order_relaxed);
  os_munmap_raw(p, size);
}

bool mpca_os_remap_inplace(void *p, size_t old_size, size_t new_size)
{
  if (mpca_os_fault_now())
    return false;
  atomic_fetch_add_explicit(&mpca_os_cnt.mremap_calls, 1, memory_order_relaxed);
  int saved = errno;
  void *q = mremap(p, old_size, new_size, 0);
  errno = saved;
  if (q == MAP_FAILED)
    return false;
  if (new_size >= old_size)
    atomic_fetch_add_explicit(&mpca_os_cnt.mapped, new_size - old_size, memory_order_relaxed);
  else
    atomic_fetch_sub_explicit(&mpca_os_cnt.mapped, old_size - new_size, memory_order_relaxed);
  return true;
}

void *mpca_os_reserve_aligned(size_t size, size_t align)
{
  size_t raw_size = size + align - mpca_os_page_size();
  char *raw = os_mmap(raw_size, PROT_NONE);
  if (raw == NULL)
    return NULL;
  atomic_fetch_add_explicit(&mpca_os_cnt.reserved, size, memory_order_relaxed);
  return trim_to_alignment(raw, raw_size, size, align);
}

void mpca_os_unmap_reserved(void *p, size_t size)
{
  atomic_fetch_sub_explicit(&mpca_os_cnt.reserved, size, memory_order_relaxed);
  os_munmap_raw(p, size);
}

bool mpca_os_remap_fixed(void *p, size_t old_size, size_t new_size, void *target)
{
  if (mpca_os_fault_now())
    return false;
  atomic_fetch_add_explicit(&mpca_os_cnt.mremap_calls, 1, memory_order_relaxed);
  int saved = errno;
  void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  errno = saved;
  if (q == MAP_FAILED)
    return false;
  /* the reserved window is the block's mapping now */
  atomic_fetch_sub_explicit(&mpca_os_cnt.reserved, new_size, memory_order_relaxed);
  atomic_fetch_add_explicit(&mpca_os_cnt.mapped, new_size - old_size, memory_order_relaxed);
  return true;
}

size_t mpca_os_purge(void *p, size_t size)
{
  size_t page = mpca_os_page_size();
  uintptr_t lo = mpca_align_up((uintptr_t)p, page);
  uintptr_t hi = ((uintptr_t)p + size) & ~(uintptr_t)(page - 1);
  if (hi <= lo || mpca_os_fault_now())
    return 0;
  atomic_fetch_add_explicit(&mpca_os_cnt.madvise_calls, 1, memory_order_relaxed);
  int saved = errno;
  int rc = madvise((void *)lo, hi - lo, MADV_DONTNEED);
  errno = saved;
  return rc == 0 ? hi - lo : 0;
}

void mpca_os_advise_huge_pages(void *p, size_t size)
{
  if (mpca_os_fault_now())
    return;
  atomic_fetch_add_explicit(&mpca_os_cnt.madvise_calls, 1, memory_order_relaxed);
  int saved = errno;
  (void)madvise(p, size, MADV_HUGEPAGE); /* EINVAL without THP support: harmless */
  errno = saved;
}

bool mpca_os_guard(void *p, size_t size, bool on)
{
  if (mpca_os_fault_now())
    return false;
  atomic_fetch_add_explicit(&mpca_os_cnt.mprotect_calls, 1, memory_order_relaxed);
  int saved = errno;
  int rc = mprotect(p, size, on ? PROT_NONE : PROT_READ | PROT_WRITE);
  errno = saved;
  return rc == 0;
}

uint64_t mpca_os_now_ms(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void *mpca_os_meta_map(size_t size)
{
  return os_mmap_flags(mpca_align_up(size, mpca_os_page_size()), PROT_READ | PROT_WRITE, MAP_NORESERVE);
}

void mpca_os_meta_unmap(void *p, size_t size)
{
  os_munmap_raw(p, mpca_align_up(size, mpca_os_page_size()));
}

/* ---- diagnostics ---------------------------------------------------------- */

static int stderr_copy = 2;

void mpca_os_keep_stderr(void)
{
  int saved = errno;
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0)
    stderr_copy = fd;
  errno = saved;
}

int mpca_os_stderr(void) { return stderr_copy; }

typedef struct fmt_out {
  char *buf;
  size_t len, cap;
} fmt_out;

static void out_char(fmt_out *o, char c)
{
  if (o->len + 1 < o->cap)
    o->buf[o->len] = c;
  o->len++;
}

static void out_str(fmt_out *o, const char *s)
{
  if (s == NULL)
    s = "(null)";
  while (*s)
    out_char(o, *s++);
}

static void out_uint(fmt_out *o, uint64_t v, unsigned base)
{
  char tmp[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(v % base);
    tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  while (n)
    out_char(o, tmp[--n]);
}

static void format(fmt_out *o, const char *fmt, va_list ap)
{
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      out_char(o, *fmt);
      continue;
    }
    fmt++;
    bool zu = false, lu = false;
    if (*fmt == 'z') {
      zu = true;
      fmt++;
    } else if (*fmt == 'l') {
      lu = true;
      fmt++;
      if (*fmt == 'l')
        fmt++;
    }
    switch (*fmt) {
    case 's': out_str(o, va_arg(ap, const char *)); break;
    case 'c': out_char(o, (char)va_arg(ap, int)); break;
    case 'p':
      out_str(o, "0x");
      out_uint(o, (uintptr_t)va_arg(ap, void *), 16);
      break;
    case 'u':
    case 'x': {
      uint64_t v = zu ? va_arg(ap, size_t) : lu ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
      out_uint(o, v, *fmt == 'x' ? 16 : 10);
      break;
    }
    case 'd': {
      long long v = lu ? va_arg(ap, long long) : zu ? (long long)va_arg(ap, ptrdiff_t) : va_arg(ap, int);
      if (v < 0) {
        out_char(o, '-');
        out_uint(o, (uint64_t)(-(v + 1)) + 1, 10);
      } else {
        out_uint(o, (uint64_t)v, 10);
      }
      break;
    }
    case '%': out_char(o, '%'); break;
    case '\0': return;
    default: out_char(o, '?'); break;
    }
  }
}

size_t mpca_snprintf(char *buf, size_t n, const char *fmt, ...)
{
  fmt_out o = {buf, 0, n};
  va_list ap;
  va_start(ap, fmt);
  format(&o, fmt, ap);
  va_end(ap);
  if (n)
    buf[o.len < n ? o.len : n - 1] = '\0';
  return o.len;
}

void mpca_vprintf_fd(int fd, const char *fmt, va_list ap)
{
  char buf[1024];
  fmt_out o = {buf, 0, sizeof buf};
  format(&o, fmt, ap);
  size_t len = o.len < sizeof buf ? o.len : sizeof buf - 1;
  if (o.len >= sizeof buf && fmt[0] && fmt[strlen(fmt) - 1] == '\n')
    buf[len - 1] = '\n'; /* cut, but still one whole line */
  int saved = errno;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, buf + off, len - off);
    if (w <= 0) {
      if (w < 0 && errno == EINTR)
        continue;
      break;
    }
    off += (size_t)w;
  }
  errno = saved;
}

void mpca_printf_fd(int fd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mpca_vprintf_fd(fd, fmt, ap);
  va_end(ap);
}

void mpca_fatal(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mpca_vprintf_fd(2, fmt, ap);
  va_end(ap);
  abort();
}
