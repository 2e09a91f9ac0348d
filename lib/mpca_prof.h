/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Sampled heap profiling (MPCALLOC_PROF): the sampler's state per heap, its
 * random intervals and weights, the call stack of a sampled block, and the
 * table of sampled blocks with their estimates per call stack, live now
 * and at the peak. A service of layer 1: it knows no heap but the fields of
 * struct mpca_heap it keeps its state in; the profiling heap that holds
 * sampled small blocks and the allocation paths that take samples are in
 * prof_heap.c, the files it writes in prof_report.c. Nothing here
 * allocates through libc: metadata memory only. */
#ifndef MPCA_PROF_H
#define MPCA_PROF_H

#include <unwind.h>
#include "mpca_types.h"

/* Frames kept per call stack. */
#define MPCA_PROF_DEPTH 64
/* Estimated block counts are fixed point: this many units are one block. */
#define MPCA_PROF_ONE 1024
/* seg->node of the profiling heap's macro blocks: no thread heap has it, so
 * the foreign-free fast check declines their blocks (see prof_heap.c). */
#define MPCA_NODE_PROF (-3)

/* MPCALLOC_PROF, and MPCALLOC_PROF_SAMPLE: set once at start-up. */
extern bool mpca_prof_on MPCA_INTERNAL;
extern uint64_t mpca_prof_rate MPCA_INTERNAL;

/* A heap's sampler (behind h->prof, made with the heap when profiling is
 * on). Small blocks are counted when they join the heap's free list of
 * their class, from which malloc pops them without a slow path: the
 * blocks of a refill, and the owner's frees, which reach
 * mpca_heap_free_overflow because the heap's free lists have free_max 0
 * while it samples (heap.c). left[c] is how many bytes of class c may
 * still join the free list before the next sample point; the block the
 * point falls in, and every block after it, is held back in held[c]
 * (uncounted: free blocks of the heap, as the free list's), and the malloc
 * that then finds the free list empty is the sampled one (prof_heap.c).
 * So held[c] is not empty only while the point falls in its first block;
 * blocks that leave the free list without being allocated (its bound, a
 * flush) give their bytes back to left[c]. */
typedef struct mpca_prof_state {
  int64_t left[MPCA_SMALL_NCLASSES];
  void *held[MPCA_SMALL_NCLASSES];
  uint16_t nheld[MPCA_SMALL_NCLASSES];
  int64_t big_left; /* the same for medium and huge blocks (bytes asked for) */
  uint64_t rng;
} mpca_prof_state;

/* The blocks of class `c` that `h` holds back (NULL: none). */
MPCA_INLINE void *mpca_prof_held(const mpca_heap *h, unsigned c) { return h->prof ? h->prof->held[c] : NULL; }
/* Take them (a flush gives them back): the sample point stays where it
 * was, so the next block to join the free list holds it. */
MPCA_INTERNAL void *mpca_prof_take_held(mpca_heap *h, unsigned c);

/* Options read, sampler seeded: start-up (init.c). */
MPCA_INTERNAL void mpca_prof_init(void);
/* The first use of the unwinder, which may load or allocate, and where the
 * allocator's own code lies (its frames are dropped from stacks). After
 * start-up, outside any lock; a no-op when profiling is off. */
MPCA_INTERNAL void mpca_prof_prime(void);

/* A new sampler with fresh intervals, from metadata memory; NULL when none
 * can be had (the heap then goes unsampled). */
MPCA_INTERNAL mpca_prof_state *mpca_prof_state_new(void);
/* The next interval between sample points, in bytes (>= 1). */
MPCA_INTERNAL int64_t mpca_prof_interval(mpca_prof_state *st);

/* Inside a stack capture, the calling thread's allocations are ordinary
 * ones: never sampled, and they never capture a stack themselves. */
extern __thread bool mpca_prof_capturing __attribute__((tls_model("initial-exec"))) MPCA_INTERNAL;
MPCA_INLINE bool mpca_prof_busy(void) { return mpca_prof_capturing; }

/* The unwinder's callback (prof.c) and what it keeps. */
typedef struct mpca_prof_bt {
  uintptr_t *pc;
  unsigned n;
  uintptr_t marker;
  unsigned outer; /* frames still to drop once past the marker */
  bool dropping;
} mpca_prof_bt;
MPCA_INTERNAL _Unwind_Reason_Code mpca_prof_bt_frame(struct _Unwind_Context *ctx, void *arg);

/* The call stack of the calling thread, innermost first (return
 * addresses), into pc[0..MPCA_PROF_DEPTH). `marker` is the address of a
 * local variable of the allocator's sampling function: the frames it calls
 * are dropped, then the sampling function's own frame and `outer` more
 * (the allocator's path that called it), then any frame of the library's
 * own code. Returns the number of frames kept. Inline: each frame costs
 * the unwinder over a thousand instructions, and this one would be dropped
 * anyway. */
MPCA_INLINE unsigned mpca_prof_backtrace(uintptr_t *pc, const void *marker, unsigned outer)
{
  mpca_prof_bt b = {pc, 0, (uintptr_t)marker, outer, true};
  mpca_prof_capturing = true;
  _Unwind_Backtrace(mpca_prof_bt_frame, &b);
  mpca_prof_capturing = false;
  return b.n;
}

/* ---- sampled blocks (callers hold mpca_prof_lock) ----------------------- */

MPCA_INTERNAL void mpca_prof_lock(void);
MPCA_INTERNAL void mpca_prof_unlock(void);

/* The sampled block `p`: `usable` bytes, drawn with a chance of
 * 1 - exp(-unit / rate), allocated from `node` (the sampling heap's) with
 * the call stack pc[0..depth). False when no metadata memory can be had
 * (the block then simply goes unrecorded). */
MPCA_INTERNAL bool mpca_prof_record(void *p, const uintptr_t *pc, unsigned depth, int node, size_t unit,
                                    size_t usable);
/* `p` is freed: its record goes (after a peak snapshot if the estimate in
 * use is above the last one). False when p has no record. */
MPCA_INTERNAL bool mpca_prof_forget(void *p);
/* The sampled block `p` is now `q`, `usable` bytes (realloc). */
MPCA_INTERNAL void mpca_prof_moved(void *p, void *q, size_t usable);
/* The same two, taking the lock (the frees and resizes of sampled medium
 * blocks, medium.c). */
MPCA_INTERNAL void mpca_prof_release(void *p);
MPCA_INTERNAL void mpca_prof_resized(void *p, size_t usable);
/* Take a peak snapshot if the estimate in use is above the last one. */
MPCA_INTERNAL void mpca_prof_peak_update(void);

/* What a profile says of one call stack (and node): estimated blocks (in
 * MPCA_PROF_ONE units) and bytes in use, and allocated since the start. */
typedef struct mpca_prof_entry {
  const uintptr_t *pc;
  unsigned depth;
  int node;
  uint64_t objs, bytes, alloc_objs, alloc_bytes;
} mpca_prof_entry;
enum mpca_prof_kind { MPCA_PROF_LIVE, MPCA_PROF_PEAK };
/* Every call stack of the profile of `kind`, in no particular order (for
 * the peak: as at the last snapshot). */
MPCA_INTERNAL void mpca_prof_each(enum mpca_prof_kind kind, void (*visit)(void *arg, const mpca_prof_entry *e),
                                  void *arg);
/* The sampled blocks of the profile of `kind`, and the samples taken
 * since the start. */
MPCA_INTERNAL void mpca_prof_counts(enum mpca_prof_kind kind, uint64_t *samples, uint64_t *taken);

MPCA_INTERNAL void mpca_prof_fork_prepare(void);
MPCA_INTERNAL void mpca_prof_fork_parent(void);
MPCA_INTERNAL void mpca_prof_fork_child(void);

/* ---- arithmetic, exposed for the unit tests ------------------------------ */
/* 1 - exp(-x) for x >= 0, and -log(u) for u in (0, 1], without libm. */
MPCA_INTERNAL double mpca_prof_one_minus_exp_neg(double x);
MPCA_INTERNAL double mpca_prof_neg_log(double u);

#endif
