/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The region registry: a two-level table indexed by address >> MPCA_SEG_SHIFT.
 * Second-level tables are mapped lazily and installed with a compare-exchange,
 * so registration never takes a lock and lookups never see a torn table.
 * Tables are never freed (a lookup may race with an unregistration). */
#include "mpca_registry.h"
#include "mpca_os.h"

_Atomic(mpca_reg_slot *) mpca_registry_l1[MPCA_REG_L1_SIZE];

static mpca_reg_slot *l2_get(uintptr_t i1)
{
  mpca_reg_slot *l2 = atomic_load_explicit(&mpca_registry_l1[i1], memory_order_acquire);
  if (mpca_likely(l2 != NULL))
    return l2;
  mpca_reg_slot *fresh = mpca_os_meta_map(MPCA_REG_L2_SIZE * sizeof(mpca_reg_slot));
  if (fresh == NULL)
    return NULL;
  mpca_reg_slot *expected = NULL;
  if (atomic_compare_exchange_strong_explicit(&mpca_registry_l1[i1], &expected, fresh,
                                              memory_order_acq_rel, memory_order_acquire))
    return fresh;
  mpca_os_meta_unmap(fresh, MPCA_REG_L2_SIZE * sizeof(mpca_reg_slot));
  return expected;
}

static void units(void *base, size_t size, uintptr_t *first, uintptr_t *last)
{
  *first = (uintptr_t)base >> MPCA_SEG_SHIFT;
  *last = ((uintptr_t)base + size - 1) >> MPCA_SEG_SHIFT;
}

bool mpca_registry_reserve(void *base, size_t size)
{
  uintptr_t first, last;
  units(base, size, &first, &last);
  if ((last >> MPCA_REG_L2_BITS) >= MPCA_REG_L1_SIZE)
    return false;
  for (uintptr_t i1 = first >> MPCA_REG_L2_BITS; i1 <= last >> MPCA_REG_L2_BITS; i1++)
    if (l2_get(i1) == NULL)
      return false;
  return true;
}

bool mpca_registry_set(void *base, size_t size, mpca_seg *seg)
{
  uintptr_t first, last;
  /* Make every table exist first so that failure leaves nothing behind. */
  if (!mpca_registry_reserve(base, size))
    return false;
  units(base, size, &first, &last);
  for (uintptr_t u = first; u <= last; u++) {
    mpca_reg_slot *l2 = atomic_load_explicit(&mpca_registry_l1[u >> MPCA_REG_L2_BITS], memory_order_relaxed);
    atomic_store_explicit(&l2[u & (MPCA_REG_L2_SIZE - 1)], seg, memory_order_release);
  }
  return true;
}

void mpca_registry_clear(void *base, size_t size)
{
  uintptr_t first, last;
  units(base, size, &first, &last);
  for (uintptr_t u = first; u <= last; u++) {
    mpca_reg_slot *l2 = atomic_load_explicit(&mpca_registry_l1[u >> MPCA_REG_L2_BITS], memory_order_relaxed);
    if (l2 != NULL)
      atomic_store_explicit(&l2[u & (MPCA_REG_L2_SIZE - 1)], NULL, memory_order_release);
  }
}
