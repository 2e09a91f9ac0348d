/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Start-up, the thread-local heap pointer, thread exit and fork. */
#ifndef MPCA_INIT_H
#define MPCA_INIT_H

#include "mpca_types.h"

/* The heap of a thread that has none yet (mpca_heap_none), or no longer
 * (mpca_heap_gone: its exit handler ran; a free then goes straight to the
 * owner, and an allocation makes a heap again): their free lists are empty
 * and they own no memory, so the malloc fast path needs no NULL test and
 * the free fast path never matches them. Nothing is ever done to them. */
extern mpca_heap mpca_heap_none MPCA_INTERNAL;
extern mpca_heap mpca_heap_gone MPCA_INTERNAL;

MPCA_INLINE bool mpca_heap_is_placeholder(const mpca_heap *h) { return h == &mpca_heap_none || h == &mpca_heap_gone; }

/* initial-exec: no __tls_get_addr, hence no hidden malloc on first access.
 * Never NULL: a placeholder when the thread has no heap. */
extern __thread mpca_heap *mpca_tls_heap __attribute__((tls_model("initial-exec"))) MPCA_INTERNAL;

/* One-time process set-up; safe to call from any thread, any time. */
MPCA_INTERNAL void mpca_global_init(void);
/* Slow path of the first allocation of a thread: set-up + a heap.
 * NULL with errno ENOMEM when no heap can be had. */
MPCA_INTERNAL MPCA_COLD mpca_heap *mpca_thread_init(void);

/* The calling thread uses `h` from now on (and abandons it at exit). */
MPCA_INTERNAL void mpca_thread_switch_heap(mpca_heap *h);

/* The calling thread's heap, made if needed; NULL with errno ENOMEM. */
MPCA_INLINE mpca_heap *mpca_heap_get(void)
{
  mpca_heap *h = mpca_tls_heap;
  if (mpca_likely(!mpca_heap_is_placeholder(h)))
    return h;
  return mpca_thread_init();
}

/* The calling thread's heap, or NULL when it has none (nothing is made). */
MPCA_INLINE mpca_heap *mpca_heap_mine(void)
{
  mpca_heap *h = mpca_tls_heap;
  return mpca_heap_is_placeholder(h) ? NULL : h;
}

#endif
