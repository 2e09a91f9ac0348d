/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Region registry: any address -> header of the macro block that covers it.
 * Lookups take no lock: two dependent loads.
 *
 * The table has an entry per MPCA_REG_UNIT (a small run's size). An entry is
 * the address of the macro block's header (medium, huge and cached blocks,
 * and the units of a small macro block that no run uses), or, for a unit
 * of a run of small blocks, the heap that owns it, the run's class and
 * MPCA_REG_SMALL (the header is then at the MPCA_SEG_SIZE boundary below).
 * The free fast path compares that one word with its own heap: "ours,
 * small, mine" in one test, and the class comes with it, without reading
 * the macro block header or the run. */
#ifndef MPCA_REGISTRY_H
#define MPCA_REGISTRY_H

#include <stdatomic.h>
#include "mpca_types.h"

#define MPCA_REG_UNIT_SHIFT MPCA_RUN_SHIFT
#define MPCA_REG_UNIT ((size_t)1 << MPCA_REG_UNIT_SHIFT)
#define MPCA_REG_L2_BITS 15
#define MPCA_REG_L1_BITS (MPCA_ADDR_BITS - MPCA_REG_UNIT_SHIFT - MPCA_REG_L2_BITS)
#define MPCA_REG_L1_SIZE ((size_t)1 << MPCA_REG_L1_BITS)
#define MPCA_REG_L2_SIZE ((size_t)1 << MPCA_REG_L2_BITS)

/* The entry of a unit of a small run: owner | class << MPCA_REG_CLS_SHIFT |
 * MPCA_REG_SMALL. Heaps are MPCA_HEAP_ALIGN-aligned, so the low bits are
 * free; the class is placed so that the entry's middle bits are its offset
 * in the heap's and the class table's arrays of 32-byte entries: the entry
 * less the tag is the address of the owner's state for the class (h->cls
 * is first in the heap). */
#define MPCA_REG_SMALL ((uintptr_t)1)
#define MPCA_REG_CLS_SHIFT 5
#define MPCA_REG_CLS_MASK ((uintptr_t)(MPCA_HEAP_ALIGN - 1) & ~(uintptr_t)((1 << MPCA_REG_CLS_SHIFT) - 1))
static_assert(MPCA_SMALL_NCLASSES << MPCA_REG_CLS_SHIFT < MPCA_HEAP_ALIGN, "a class fits an entry's low bits");

MPCA_INLINE uintptr_t mpca_registry_small_entry(const mpca_heap *h, unsigned cls)
{
  return (uintptr_t)h | (uintptr_t)cls << MPCA_REG_CLS_SHIFT | MPCA_REG_SMALL;
}
/* The owner heap named by a small run's entry `e`. */
MPCA_INLINE mpca_heap *mpca_registry_owner(uintptr_t e) { return (mpca_heap *)(e & ~(uintptr_t)(MPCA_HEAP_ALIGN - 1)); }
/* Whether `e` is the entry of a small run of h (a header's address, 2 MiB
 * aligned, is never a heap's). */
MPCA_INLINE bool mpca_registry_mine(uintptr_t e, const mpca_heap *h) { return mpca_registry_owner(e) == h; }
/* The class named by a small run's entry, and its offset in arrays of
 * 32-byte entries. */
MPCA_INLINE unsigned mpca_registry_class(uintptr_t e) { return (unsigned)((e & MPCA_REG_CLS_MASK) >> MPCA_REG_CLS_SHIFT); }
MPCA_INLINE uintptr_t mpca_registry_class_off(uintptr_t e) { return e & MPCA_REG_CLS_MASK; }

typedef _Atomic(uintptr_t) mpca_reg_slot;
/* First level: where each second-level table is, as its distance in bytes
 * from `zero`, a table of zeros that is never written; so a first-level
 * entry that was never set (0, as the table starts out) leads to entries
 * that say "not ours", and a lookup needs no test of it. The two sit in one
 * object so that one address serves both. */
typedef struct mpca_registry_tables {
  _Atomic intptr_t l1[MPCA_REG_L1_SIZE];
  mpca_reg_slot zero[MPCA_REG_L2_SIZE];
} mpca_registry_tables;
extern mpca_registry_tables mpca_registry MPCA_INTERNAL;

/* The second-level table of first-level index `i1`: the `zero` member of
 * the tables object placed that far from the real one (one address
 * computation serves both levels). Relaxed: see mpca_registry_entry. */
MPCA_INLINE mpca_reg_slot *mpca_registry_l2(uintptr_t i1)
{
  uintptr_t off = (uintptr_t)atomic_load_explicit(&mpca_registry.l1[i1], memory_order_relaxed);
  return ((mpca_registry_tables *)((uintptr_t)&mpca_registry + off))->zero;
}

/* Map every MPCA_SEG_SIZE unit of [base, base+size) to `seg`. False when the
 * second-level table cannot be mapped (nothing is left half-registered). */
MPCA_INTERNAL bool mpca_registry_set(void *base, size_t size, mpca_seg *seg);
/* The entries of the run [base, base+size) of a small macro block name its
 * owner `h` and class `cls`; h NULL: the macro block's header again, when
 * the run is given back. Its tables exist (the macro block's do). */
MPCA_INTERNAL void mpca_registry_set_run(void *base, size_t size, mpca_heap *h, unsigned cls);
/* Make sure the tables for [base, base+size) exist, so a later set cannot fail. */
MPCA_INTERNAL bool mpca_registry_reserve(void *base, size_t size);
MPCA_INTERNAL void mpca_registry_clear(void *base, size_t size);

/* The raw entry for `p` (0: not ours). The loads are relaxed and followed
 * by an acquire fence (free on x86, and it lets the compiler fold the two
 * levels' addressing): what was written before an entry was published
 * (mpca_registry_set, a release store) is visible once the entry is read. */
MPCA_INLINE uintptr_t mpca_registry_entry(const void *p)
{
  uintptr_t i1 = (uintptr_t)p >> (MPCA_REG_UNIT_SHIFT + MPCA_REG_L2_BITS);
  if (mpca_unlikely(i1 >= MPCA_REG_L1_SIZE))
    return 0;
  uintptr_t i2 = ((uintptr_t)p >> MPCA_REG_UNIT_SHIFT) & (MPCA_REG_L2_SIZE - 1);
  /* the second-level table is `zero` of the tables object placed off bytes
   * from the real one: one base address serves both levels */
  uintptr_t off = (uintptr_t)atomic_load_explicit(&mpca_registry.l1[i1], memory_order_relaxed);
  const char *tables = (const char *)&mpca_registry + off;
  uintptr_t e = atomic_load_explicit(
      (const mpca_reg_slot *)(tables + offsetof(mpca_registry_tables, zero) + i2 * sizeof(mpca_reg_slot)),
      memory_order_relaxed);
  atomic_thread_fence(memory_order_acquire);
  return e;
}

/* The macro block header of the entry `e` found for `p`, or NULL. */
MPCA_INLINE mpca_seg *mpca_registry_seg(uintptr_t e, const void *p)
{
  if (e & MPCA_REG_SMALL)
    return (mpca_seg *)((uintptr_t)p & ~(uintptr_t)MPCA_SEG_MASK);
  return (mpca_seg *)e;
}

MPCA_INLINE mpca_seg *mpca_registry_lookup(const void *p) { return mpca_registry_seg(mpca_registry_entry(p), p); }

#endif
