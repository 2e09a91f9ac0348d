/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The standard entry points: malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, malloc_trim. Argument checks, errno, overflow, and the
 * dispatch to small / medium / huge. The small malloc and the owner's small
 * free are inlined here and take no lock and no atomic read-modify-write;
 * everything else tail-calls one cold path. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "mpcalloc.h"
#include "mpca_error.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_init.h"
#include "mpca_medium.h"
#include "mpca_os.h"
#include "mpca_registry.h"
#include "mpca_remote.h"
#include "mpca_small.h"
#include "mpca_source.h"

/* Alignments up to this go to medium chunks; larger ones to huge blocks. */
#define MEDIUM_ALIGN_MAX ((size_t)64 << 10)

static MPCA_NOINLINE void *small_slow(mpca_heap *h, unsigned cls)
{
  if (mpca_remote_pending(&h->rfq))
    mpca_heap_drain(h);
  void *p = mpca_small_malloc_slow(h, cls);
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

MPCA_INLINE void *small_alloc(mpca_heap *h, size_t size)
{
  unsigned cls = mpca_small_class(size);
  void **p = h->tc_head[cls];
  if (mpca_likely(p != NULL)) {
    h->tc_head[cls] = p[0];
    h->tc_count[cls]--;
    p[1] = NULL; /* no longer marked as cached */
    return p;
  }
  return small_slow(h, cls);
}

/* The calling thread's heap for a request of `size` bytes, or NULL with
 * errno ENOMEM (size above PTRDIFF_MAX, or no heap to be had). */
static mpca_heap *heap_for(size_t size)
{
  if (mpca_unlikely(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  return mpca_heap_get();
}

/* Any size, any thread state; `zero` asks for zeroed memory. */
static MPCA_NOINLINE void *alloc_any(size_t size, bool zero)
{
  mpca_heap *h = heap_for(size);
  if (mpca_unlikely(h == NULL))
    return NULL;
  void *p;
  if (size <= MPCA_SMALL_MAX) {
    p = small_alloc(h, size);
    if (zero && p)
      memset(p, 0, size);
    return p;
  }
  if (size <= MPCA_MEDIUM_MAX) {
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    p = mpca_medium_malloc(h, size);
    if (zero && p)
      memset(p, 0, size);
  } else {
    p = mpca_huge_malloc(h, h->source, size, MPCA_ALIGNMENT, zero);
  }
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

static void *alloc_aligned(size_t align, size_t size)
{
  if (align <= MPCA_ALIGNMENT)
    return alloc_any(size, false);
  mpca_heap *h = heap_for(size);
  if (mpca_unlikely(h == NULL))
    return NULL;
  size_t need = size > align ? size : align;
  void *p;
  if (need <= MPCA_SMALL_MAX) {
    /* power-of-two classes are naturally aligned within their runs */
    p = small_alloc(h, (size_t)1 << (mpca_log2(need - 1) + 1));
  } else if (align <= MEDIUM_ALIGN_MAX && size + align + MPCA_MEDIUM_MIN_CHUNK <= MPCA_MEDIUM_MAX) {
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    p = mpca_medium_memalign(h, align, size);
  } else {
    p = mpca_huge_malloc(h, h->source, size, align, false);
  }
  if (mpca_unlikely(p == NULL))
    errno = ENOMEM;
  return p;
}

MPCA_EXPORT void *malloc(size_t size)
{
  mpca_heap *h = mpca_tls_heap;
  if (mpca_likely(h != NULL && size <= MPCA_SMALL_MAX))
    return small_alloc(h, size);
  return alloc_any(size, false);
}

static MPCA_NOINLINE void free_slow(void *p, mpca_seg *seg, mpca_heap *h, const char *fn)
{
  int saved = errno;
  if (mpca_unlikely(seg == NULL)) {
    mpca_bad_pointer(fn, p, "invalid pointer (not allocated by mpcalloc)");
  } else if (seg->kind == MPCA_KIND_HUGE) {
    mpca_huge_free(h, seg, p, fn);
  } else if (seg->kind != MPCA_KIND_SMALL && seg->kind != MPCA_KIND_MEDIUM) {
    mpca_bad_pointer(fn, p, "double free or invalid pointer (memory is not allocated)");
  } else if (seg->owner == h) {
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    mpca_heap_free_local(h, seg, p, fn);
  } else {
    mpca_heap_free_remote(h, seg, p);
  }
  errno = saved;
}

MPCA_EXPORT void free(void *p)
{
  if (mpca_unlikely(p == NULL))
    return;
  mpca_seg *seg = mpca_registry_lookup(p);
  mpca_heap *h = mpca_tls_heap;
  if (mpca_likely(seg != NULL && seg->kind == MPCA_KIND_SMALL && seg->owner == h)) {
    mpca_run *r = mpca_small_run_of((mpca_small_seg *)seg, p);
    unsigned cls = r->cls;
    /* a valid slot, room in the cache, and not marked as already cached */
    if (mpca_likely(mpca_run_slot(r, p) >= 0 && mpca_tc_has_room(h, cls) &&
                    ((void **)p)[1] != (void *)mpca_tc_key)) {
      mpca_tc_push(h, cls, p);
      return;
    }
  }
  free_slow(p, seg, h, "free");
}

MPCA_EXPORT void *calloc(size_t n, size_t m)
{
  size_t size;
  if (mpca_unlikely(__builtin_mul_overflow(n, m, &size))) {
    errno = ENOMEM;
    return NULL;
  }
  mpca_heap *h = mpca_tls_heap;
  if (mpca_likely(h != NULL && size <= MPCA_SMALL_MAX)) {
    void *p = small_alloc(h, size);
    if (mpca_likely(p != NULL))
      memset(p, 0, size);
    return p;
  }
  return alloc_any(size, true);
}

/* Usable size of a block we own, or 0 after reporting a bad pointer. */
static size_t usable_size(mpca_seg *seg, void *p, const char *fn)
{
  if (seg != NULL) {
    switch (seg->kind) {
    case MPCA_KIND_SMALL: {
      mpca_run *r = mpca_small_run_of((mpca_small_seg *)seg, p);
      ptrdiff_t slot = mpca_run_slot(r, p);
      if (slot >= 0) {
        if (!(r->bitmap[slot / 64] & ((uint64_t)1 << (slot % 64))))
          return r->size;
        mpca_bad_pointer(fn, p, "use after free (block is free)");
        return 0;
      }
      break;
    }
    case MPCA_KIND_MEDIUM:
      if (mpca_medium_valid(seg, p))
        return mpca_medium_usable(p);
      break;
    case MPCA_KIND_HUGE:
      if (mpca_huge_valid(seg, p))
        return mpca_huge_usable(seg);
      break;
    default: break;
    }
  }
  mpca_bad_pointer(fn, p, "invalid pointer (not an allocated block)");
  return 0;
}

static void *realloc_move(void *p, size_t old_usable, size_t size)
{
  void *q = alloc_any(size, false);
  if (q == NULL)
    return NULL;
  memcpy(q, p, old_usable < size ? old_usable : size);
  free(p);
  return q;
}

MPCA_EXPORT void *realloc(void *p, size_t size)
{
  if (p == NULL)
    return alloc_any(size, false);
  if (size == 0) { /* as glibc: free and return NULL */
    free(p);
    return NULL;
  }
  if (mpca_unlikely(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  mpca_seg *seg = mpca_registry_lookup(p);
  size_t old = usable_size(seg, p, "realloc");
  if (old == 0)
    return NULL;
  /* Stay in place when the block fits and would not waste over half. */
  if (size <= old && size >= old / 2 && (seg->kind != MPCA_KIND_HUGE || size > MPCA_MEDIUM_MAX))
    return p;
  if (seg->kind == MPCA_KIND_MEDIUM && size > MPCA_SMALL_MAX && size <= MPCA_MEDIUM_MAX &&
      seg->owner == mpca_tls_heap && mpca_medium_resize(seg->owner, seg, p, size))
    return p;
  if (seg->kind == MPCA_KIND_HUGE && size > MPCA_MEDIUM_MAX) {
    void *q = mpca_huge_resize(seg, p, size);
    if (q != NULL)
      return q;
  }
  return realloc_move(p, old, size);
}

MPCA_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
  size_t size;
  if (__builtin_mul_overflow(n, m, &size)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, size);
}

MPCA_EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
  if (!mpca_is_pow2(align) || align % sizeof(void *) != 0)
    return EINVAL;
  int saved = errno;
  void *p = alloc_aligned(align, size);
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
  return alloc_aligned(align, size);
}

MPCA_EXPORT void *memalign(size_t align, size_t size)
{
  if (align > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return NULL;
  }
  if (!mpca_is_pow2(align)) /* glibc rounds up to a power of two */
    align = align <= MPCA_ALIGNMENT ? MPCA_ALIGNMENT : (size_t)1 << (mpca_log2(align) + 1);
  return alloc_aligned(align, size);
}

MPCA_EXPORT void *valloc(size_t size) { return alloc_aligned(mpca_os_page_size(), size); }

MPCA_EXPORT void *pvalloc(size_t size)
{
  size_t page = mpca_os_page_size();
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size = size == 0 ? page : mpca_align_up(size, page);
  return alloc_aligned(page, size);
}

MPCA_EXPORT size_t malloc_usable_size(void *p)
{
  if (p == NULL)
    return 0;
  return usable_size(mpca_registry_lookup(p), p, "malloc_usable_size");
}

MPCA_EXPORT int malloc_trim(size_t pad)
{
  int saved = errno;
  size_t released = mpc_alloc_release(pad);
  errno = saved;
  return released != 0;
}
