/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The region registry: a two-level table indexed by address >> MPCA_REG_UNIT_SHIFT.
 * Second-level tables are mapped lazily and installed with a compare-exchange,
 * so registration never takes a lock and lookups never see a torn table.
 * Tables are never freed (a lookup may race with an unregistration). A
 * first-level entry holds its table's distance from mpca_registry.zero (0
 * until the table exists: lookups then read zeros). */
#include "mpca_registry.h"
#include "mpca_os.h"

mpca_registry_tables mpca_registry;

static mpca_reg_slot *l2_get(uintptr_t i1)
{
  if (mpca_likely(atomic_load_explicit(&mpca_registry.l1[i1], memory_order_acquire) != 0))
    return mpca_registry_l2(i1);
  mpca_reg_slot *fresh = mpca_os_meta_map(MPCA_REG_L2_SIZE * sizeof(mpca_reg_slot));
  if (fresh == NULL)
    return NULL;
  intptr_t expected = 0;
  intptr_t off = (intptr_t)((uintptr_t)fresh - (uintptr_t)mpca_registry.zero);
  if (atomic_compare_exchange_strong_explicit(&mpca_registry.l1[i1], &expected, off, memory_order_acq_rel,
                                              memory_order_acquire))
    return fresh;
  mpca_os_meta_unmap(fresh, MPCA_REG_L2_SIZE * sizeof(mpca_reg_slot));
  return mpca_registry_l2(i1);
}

static void units(void *base, size_t size, uintptr_t *first, uintptr_t *last)
{
  *first = (uintptr_t)base >> MPCA_REG_UNIT_SHIFT;
  *last = ((uintptr_t)base + size - 1) >> MPCA_REG_UNIT_SHIFT;
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

static bool registry_store(void *base, size_t size, uintptr_t e)
{
  uintptr_t first, last;
  /* Make every table exist first so that failure leaves nothing behind. */
  if (!mpca_registry_reserve(base, size))
    return false;
  units(base, size, &first, &last);
  for (uintptr_t u = first; u <= last; u++) {
    mpca_reg_slot *l2 = mpca_registry_l2(u >> MPCA_REG_L2_BITS);
    atomic_store_explicit(&l2[u & (MPCA_REG_L2_SIZE - 1)], e, memory_order_release);
  }
  return true;
}

bool mpca_registry_set(void *base, size_t size, mpca_seg *seg) { return registry_store(base, size, (uintptr_t)seg); }

void mpca_registry_set_run(void *base, size_t size, mpca_heap *h, unsigned cls)
{
  uintptr_t hdr = (uintptr_t)base & ~(uintptr_t)MPCA_SEG_MASK;
  registry_store(base, size, h ? mpca_registry_small_entry(h, cls) : hdr);
}

void mpca_registry_clear(void *base, size_t size)
{
  uintptr_t first, last;
  units(base, size, &first, &last);
  for (uintptr_t u = first; u <= last; u++) {
    if (atomic_load_explicit(&mpca_registry.l1[u >> MPCA_REG_L2_BITS], memory_order_relaxed) != 0)
      atomic_store_explicit(&mpca_registry_l2(u >> MPCA_REG_L2_BITS)[u & (MPCA_REG_L2_SIZE - 1)], 0,
                            memory_order_release);
  }
}
