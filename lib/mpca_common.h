/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Compiler helpers and the named constants every concept shares: macro block
 * geometry, size-class limits, alignment. No magic numbers live elsewhere. */
#ifndef MPCA_COMMON_H
#define MPCA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <assert.h>

#define mpca_likely(x) __builtin_expect(!!(x), 1)
#define mpca_unlikely(x) __builtin_expect(!!(x), 0)
#define MPCA_INTERNAL __attribute__((visibility("hidden")))
#define MPCA_EXPORT __attribute__((visibility("default")))
#define MPCA_COLD __attribute__((cold, noinline))
#define MPCA_NOINLINE __attribute__((noinline))
#define MPCA_INLINE static inline __attribute__((always_inline))
#define MPCA_CACHE_LINE 64
#define MPCA_ALIGNED(n) __attribute__((aligned(n)))

/* Every block we return is aligned to this (max_align_t on x86-64 and aarch64). */
#define MPCA_ALIGNMENT 16
/* Macro blocks are multiples of this unit and start on a multiple of it. */
#define MPCA_SEG_SHIFT 21
#define MPCA_SEG_SIZE ((size_t)1 << MPCA_SEG_SHIFT)
#define MPCA_SEG_MASK (MPCA_SEG_SIZE - 1)

/* Small blocks (up to MPCA_SMALL_MAX): runs inside MPCA_SEG_SIZE macro
 * blocks. A macro block is cut into MPCA_RUNS_PER_SEG runs of MPCA_RUN_SIZE
 * bytes; run 0's space holds the header (the run descriptors), every other
 * run holds blocks of one size class. The classes above MPCA_SPAN_MIN (the
 * mid sizes) use macro blocks cut into MPCA_SPANS_PER_SEG spans of
 * MPCA_SPAN_SIZE instead, laid out the same way: a run of four units. */
#define MPCA_RUN_SHIFT 16
#define MPCA_RUN_SIZE ((size_t)1 << MPCA_RUN_SHIFT)
#define MPCA_RUNS_PER_SEG (MPCA_SEG_SIZE / MPCA_RUN_SIZE)
#define MPCA_SPAN_SHIFT 18
#define MPCA_SPAN_SIZE ((size_t)1 << MPCA_SPAN_SHIFT)
#define MPCA_SPANS_PER_SEG (MPCA_SEG_SIZE / MPCA_SPAN_SIZE)
#define MPCA_SPAN_MIN 4096
#define MPCA_SMALL_MAX 32768
#define MPCA_SMALL_QUANTUM_MAX 128 /* classes are 16 bytes apart up to here */
#define MPCA_SMALL_CLASSES_PER_DOUBLING 4
#define MPCA_SMALL_NCLASSES 40

/* Medium blocks: boundary-tag chunks in MPCA_MEDIUM_SEG_SIZE macro blocks. */
#define MPCA_MEDIUM_SEG_SIZE ((size_t)4 << 20)
#define MPCA_MEDIUM_MAX ((size_t)1 << 20)
#define MPCA_MEDIUM_MIN_CHUNK ((size_t)1024)
#define MPCA_MEDIUM_NBINS 48

/* Upper bound of user address space covered by the registry (x86-64 4-level paging). */
#define MPCA_ADDR_BITS 48

#define MPCA_MAX_NODES 64

MPCA_INLINE size_t mpca_align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }
MPCA_INLINE bool mpca_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
MPCA_INLINE unsigned mpca_log2(size_t x) { return 63u - (unsigned)__builtin_clzl(x); }

#endif
