/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The remote-free queue: a lock-free multi-producer single-consumer stack of
 * freed blocks. The link lives inside the freed block; the consumer takes
 * the whole stack at once, so there is no ABA problem. */
#ifndef MPCA_REMOTE_H
#define MPCA_REMOTE_H

#include <stdatomic.h>
#include "mpca_secret.h"
#include "mpca_types.h"

MPCA_INLINE void mpca_remote_init(mpca_remote_queue *q) { atomic_init(&q->head, NULL); }

/* Any thread. Lock-free: one compare-exchange in the uncontended case. */
/* Any thread: a chain of blocks linked through their first word, from
 * `first` to `last`, in one compare-exchange. */
MPCA_INLINE void mpca_remote_push_chain(mpca_remote_queue *q, void *first, void *last)
{
  mpca_rnode *l = last;
  mpca_rnode *old = atomic_load_explicit(&q->head, memory_order_relaxed);
  do {
    mpca_link_set(l, old);
  } while (!atomic_compare_exchange_weak_explicit(&q->head, &old, (mpca_rnode *)first, memory_order_release,
                                                  memory_order_relaxed));
}

MPCA_INLINE void mpca_remote_push(mpca_remote_queue *q, void *block) { mpca_remote_push_chain(q, block, block); }

/* Consumer only: everything pushed so far, newest first. */
MPCA_INLINE mpca_rnode *mpca_remote_take_all(mpca_remote_queue *q)
{
  if (atomic_load_explicit(&q->head, memory_order_relaxed) == NULL)
    return NULL;
  return atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
}

MPCA_INLINE bool mpca_remote_pending(mpca_remote_queue *q)
{
  return atomic_load_explicit(&q->head, memory_order_relaxed) != NULL;
}

#endif
