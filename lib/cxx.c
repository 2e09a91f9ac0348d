/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * C++ operator new and delete, under their Itanium C++ ABI names, so that
 * a C++ program's allocations reach the allocator's fast paths directly
 * instead of through libstdc++'s operators (a call and a check more on
 * every new, a jump on every delete). Written in C: the library does not
 * link libstdc++.
 *
 * The semantics stay libstdc++'s. Success is the fast path (new(0) returns
 * a unique block, as malloc(0) does). On failure, the operator of the next
 * library in the lookup order (libstdc++'s, found with dlsym RTLD_NEXT)
 * takes over: it calls the new-handler and malloc again (ours) in a loop,
 * and throws std::bad_alloc (or returns NULL for the nothrow forms, which
 * call the throwing form and catch). The exception goes through this
 * file's frames: they have unwind tables (x86-64 and aarch64 compilers emit
 * them for C by default; configure adds -funwind-tables where it must).
 * Without a next definition (a static program, or no C++ runtime at all),
 * a nothrow form returns NULL and a throwing one calls std::__throw_bad_alloc
 * when libstdc++ is linked (a weak reference), else reports and aborts.
 * The deletes are free(); the size of the sized forms is not needed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include "mpca_alloc.h"
#include "mpca_os.h"

/* std::__throw_bad_alloc(), when libstdc++ is there. */
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

typedef void *new_fn(size_t);
typedef void *new_align_fn(size_t, size_t);
typedef void *new_nothrow_fn(size_t, const void *);
typedef void *new_align_nothrow_fn(size_t, size_t, const void *);

/* The next definition of an operator, looked up once (NULL: none). */
typedef struct next_op {
  const char *name;
  _Atomic(void *) fn;
  _Atomic int looked;
} next_op;

static void *next_of(next_op *op)
{
  if (!atomic_load_explicit(&op->looked, memory_order_acquire)) {
    int saved = errno;
    atomic_store_explicit(&op->fn, dlsym(RTLD_NEXT, op->name), memory_order_relaxed);
    errno = saved;
    atomic_store_explicit(&op->looked, 1, memory_order_release);
  }
  return atomic_load_explicit(&op->fn, memory_order_relaxed);
}

/* A throwing form with no next definition. */
static MPCA_COLD __attribute__((noreturn)) void no_runtime(const char *what, size_t size)
{
  if (_ZSt17__throw_bad_allocv)
    _ZSt17__throw_bad_allocv();
  mpca_fatal("mpcalloc: %s(%zu): out of memory, and no C++ runtime to throw std::bad_alloc; aborting\n", what,
             size);
}

#define NEXT_OP(var, mangled) static next_op var = {mangled, NULL, 0}
NEXT_OP(next_new, "_Znwm");
NEXT_OP(next_new_arr, "_Znam");
NEXT_OP(next_new_nt, "_ZnwmRKSt9nothrow_t");
NEXT_OP(next_new_arr_nt, "_ZnamRKSt9nothrow_t");
NEXT_OP(next_new_al, "_ZnwmSt11align_val_t");
NEXT_OP(next_new_arr_al, "_ZnamSt11align_val_t");
NEXT_OP(next_new_al_nt, "_ZnwmSt11align_val_tRKSt9nothrow_t");
NEXT_OP(next_new_arr_al_nt, "_ZnamSt11align_val_tRKSt9nothrow_t");

static MPCA_COLD MPCA_NOINLINE void *failed(next_op *op, const char *what, size_t size)
{
  new_fn *next = (new_fn *)next_of(op);
  if (next == NULL)
    no_runtime(what, size);
  return next(size);
}

/* A block from the heap's free list, or NULL: the fast path of new. */
MPCA_INLINE void *cxx_try(size_t size)
{
  if (mpca_likely(size <= MPCA_SMALL_MAX)) {
    mpca_heap *h = mpca_tls_heap;
    unsigned cls = mpca_small_class(size);
    void **p = h->free[cls];
    if (mpca_likely(p != NULL)) {
      if (MPCA_HARDENED_ON)
        mpca_small_hard_taken(p, cls, mpca_small_seg_of(p)->hdr.owner == h);
      h->free[cls] = mpca_link_next(p);
      p[1] = NULL;
      return p;
    }
  }
  return NULL;
}

/* Any size, as malloc; NULL when memory runs out. */
static MPCA_NOINLINE void *cxx_alloc(size_t size)
{
  if (size <= MPCA_SMALL_MAX)
    return mpca_small_alloc(mpca_tls_heap, size);
  return mpca_alloc(size, false);
}

static MPCA_NOINLINE void *new_slow(next_op *op, const char *what, size_t size)
{
  void *p = cxx_alloc(size);
  return mpca_likely(p != NULL) ? p : failed(op, what, size);
}

static MPCA_COLD MPCA_NOINLINE void *failed_nothrow(next_op *op, size_t size, const void *tag)
{
  new_nothrow_fn *next = (new_nothrow_fn *)next_of(op);
  return next ? next(size, tag) : NULL;
}

static MPCA_COLD MPCA_NOINLINE void *failed_aligned(next_op *op, const char *what, size_t size, size_t align)
{
  new_align_fn *next = (new_align_fn *)next_of(op);
  if (next == NULL)
    no_runtime(what, size);
  return next(size, align);
}

static MPCA_COLD MPCA_NOINLINE void *failed_aligned_nothrow(next_op *op, size_t size, size_t align,
                                                              const void *tag)
{
  new_align_nothrow_fn *next = (new_align_nothrow_fn *)next_of(op);
  return next ? next(size, align, tag) : NULL;
}

static inline void *cxx_alloc_aligned(size_t size, size_t align)
{
  if (mpca_unlikely(!mpca_is_pow2(align)))
    return NULL; /* the next definition says what it thinks of it */
  return mpca_alloc_aligned(align, size);
}

MPCA_EXPORT void *_Znwm(size_t size)
{
  void *p = cxx_try(size);
  return mpca_likely(p != NULL) ? p : new_slow(&next_new, "operator new", size);
}

MPCA_EXPORT void *_Znam(size_t size)
{
  void *p = cxx_try(size);
  return mpca_likely(p != NULL) ? p : new_slow(&next_new_arr, "operator new[]", size);
}

MPCA_EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *tag)
{
  void *p = cxx_alloc(size);
  return mpca_likely(p != NULL) ? p : failed_nothrow(&next_new_nt, size, tag);
}

MPCA_EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *tag)
{
  void *p = cxx_alloc(size);
  return mpca_likely(p != NULL) ? p : failed_nothrow(&next_new_arr_nt, size, tag);
}

MPCA_EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{
  void *p = cxx_alloc_aligned(size, align);
  return mpca_likely(p != NULL) ? p : failed_aligned(&next_new_al, "operator new", size, align);
}

MPCA_EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{
  void *p = cxx_alloc_aligned(size, align);
  return mpca_likely(p != NULL) ? p : failed_aligned(&next_new_arr_al, "operator new[]", size, align);
}

MPCA_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *tag)
{
  void *p = cxx_alloc_aligned(size, align);
  return mpca_likely(p != NULL) ? p : failed_aligned_nothrow(&next_new_al_nt, size, align, tag);
}

MPCA_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *tag)
{
  void *p = cxx_alloc_aligned(size, align);
  return mpca_likely(p != NULL) ? p : failed_aligned_nothrow(&next_new_arr_al_nt, size, align, tag);
}

/* delete: free() with the fast path inline. */
#define DELETE_BODY(p)                                                                                          \
  do {                                                                                                           \
    if (mpca_unlikely((p) == NULL))                                                                              \
      return;                                                                                                    \
    uintptr_t e = mpca_registry_entry(p);                                                                        \
    mpca_heap *h = mpca_tls_heap;                                                                                \
    if (mpca_likely(mpca_small_free_fast(h, e, (p))))                                                            \
      return;                                                                                                    \
    mpca_free_other((p), e, h);                                                                                  \
  } while (0)

MPCA_EXPORT void _ZdlPv(void *p) { DELETE_BODY(p); }
MPCA_EXPORT void _ZdaPv(void *p) { DELETE_BODY(p); }
MPCA_EXPORT void _ZdlPvm(void *p, size_t size)
{
  (void)size;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdaPvm(void *p, size_t size)
{
  (void)size;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *tag)
{
  (void)tag;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *tag)
{
  (void)tag;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align)
{
  (void)align;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align)
{
  (void)align;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t align)
{
  (void)size;
  (void)align;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t align)
{
  (void)size;
  (void)align;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
  (void)align;
  (void)tag;
  DELETE_BODY(p);
}
MPCA_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
  (void)align;
  (void)tag;
  DELETE_BODY(p);
}
