/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Region registry: any address -> header of the macro block that covers it.
 * Lookups take no lock: two dependent loads.
 *
 * An entry is the address of the macro block's header (medium, huge and
 * cached blocks), or for a small macro block, whose header is always at the
 * MPCA_SEG_SIZE boundary below any of its addresses, the address of the heap
 * that owns it plus MPCA_REG_SMALL. The free fast path compares that one
 * word with its own heap: "ours, small, and mine" in one test, without
 * reading the macro block header. */
#ifndef MPCA_REGISTRY_H
#define MPCA_REGISTRY_H

#include <stdatomic.h>
#include "mpca_types.h"

#define MPCA_REG_L2_BITS 15
#define MPCA_REG_L1_BITS (MPCA_ADDR_BITS - MPCA_SEG_SHIFT - MPCA_REG_L2_BITS)
#define MPCA_REG_L1_SIZE ((size_t)1 << MPCA_REG_L1_BITS)
#define MPCA_REG_L2_SIZE ((size_t)1 << MPCA_REG_L2_BITS)

/* Tags of a small macro block's entry (heaps are cache-line aligned): bit 0
 * says the entry names the owner heap and the header is at the 2 MiB
 * boundary below; bit 1 marks a macro block of spans (mid-size classes),
 * whose frees the fast path of the runs leaves to a path of their own. */
#define MPCA_REG_SMALL ((uintptr_t)1)
#define MPCA_REG_SPAN ((uintptr_t)3)
#define MPCA_REG_TAGS ((uintptr_t)3)

/* The owner heap named by a small macro block's entry `e`. */
MPCA_INLINE mpca_heap *mpca_registry_owner(uintptr_t e) { return (mpca_heap *)(e & ~MPCA_REG_TAGS); }
/* Whether `e` is the entry of a small macro block (of either flavour) of h. */
MPCA_INLINE bool mpca_registry_mine(uintptr_t e, const mpca_heap *h)
{
  return (e | MPCA_REG_SPAN) == (uintptr_t)h + MPCA_REG_SPAN;
}

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
/* The entries of the small macro block `seg` name its owner `h` with `tag`
 * (MPCA_REG_SMALL or MPCA_REG_SPAN); h NULL: the header again, when the
 * block goes back to its source. Its tables exist. */
MPCA_INTERNAL void mpca_registry_set_small(mpca_seg *seg, mpca_heap *h, uintptr_t tag);
/* Make sure the tables for [base, base+size) exist, so a later set cannot fail. */
MPCA_INTERNAL bool mpca_registry_reserve(void *base, size_t size);
MPCA_INTERNAL void mpca_registry_clear(void *base, size_t size);

/* The raw entry for `p` (0: not ours). The loads are relaxed and followed
 * by an acquire fence (free on x86, and it lets the compiler fold the two
 * levels' addressing): what was written before an entry was published
 * (mpca_registry_set, a release store) is visible once the entry is read. */
MPCA_INLINE uintptr_t mpca_registry_entry(const void *p)
{
  uintptr_t u = (uintptr_t)p >> MPCA_SEG_SHIFT;
  uintptr_t i1 = u >> MPCA_REG_L2_BITS;
  if (mpca_unlikely(i1 >= MPCA_REG_L1_SIZE))
    return 0;
  uintptr_t e = atomic_load_explicit(&mpca_registry_l2(i1)[u & (MPCA_REG_L2_SIZE - 1)], memory_order_relaxed);
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
