/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Region registry: any address -> header of the macro block that covers it.
 * Lookups take no lock: two dependent loads. */
#ifndef MPCA_REGISTRY_H
#define MPCA_REGISTRY_H

#include <stdatomic.h>
#include "mpca_types.h"

#define MPCA_REG_L2_BITS 15
#define MPCA_REG_L1_BITS (MPCA_ADDR_BITS - MPCA_SEG_SHIFT - MPCA_REG_L2_BITS)
#define MPCA_REG_L1_SIZE ((size_t)1 << MPCA_REG_L1_BITS)
#define MPCA_REG_L2_SIZE ((size_t)1 << MPCA_REG_L2_BITS)

typedef _Atomic(mpca_seg *) mpca_reg_slot;
extern _Atomic(mpca_reg_slot *) mpca_registry_l1[MPCA_REG_L1_SIZE] MPCA_INTERNAL;

/* Map every MPCA_SEG_SIZE unit of [base, base+size) to `seg`. False when the
 * second-level table cannot be mapped (nothing is left half-registered). */
MPCA_INTERNAL bool mpca_registry_set(void *base, size_t size, mpca_seg *seg);
/* Make sure the tables for [base, base+size) exist, so a later set cannot fail. */
MPCA_INTERNAL bool mpca_registry_reserve(void *base, size_t size);
MPCA_INTERNAL void mpca_registry_clear(void *base, size_t size);

MPCA_INLINE mpca_seg *mpca_registry_lookup(const void *p)
{
  uintptr_t u = (uintptr_t)p >> MPCA_SEG_SHIFT;
  uintptr_t i1 = u >> MPCA_REG_L2_BITS;
  if (mpca_unlikely(i1 >= MPCA_REG_L1_SIZE))
    return NULL;
  mpca_reg_slot *l2 = atomic_load_explicit(&mpca_registry_l1[i1], memory_order_acquire);
  if (mpca_unlikely(l2 == NULL))
    return NULL;
  return atomic_load_explicit(&l2[u & (MPCA_REG_L2_SIZE - 1)], memory_order_acquire);
}

#endif
