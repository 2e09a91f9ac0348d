/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The heap profiler's allocation paths (MPCALLOC_PROF): where a thread
 * heap's slow paths take their samples, the profiling heap that holds the
 * sampled small blocks, and the frees and reallocs of sampled blocks.
 * Called by alloc.c only while mpca_prof_on; see prof_heap.c. */
#ifndef MPCA_PROF_HEAP_H
#define MPCA_PROF_HEAP_H

#include "mpca_prof.h"
#include "mpca_types.h"

/* The profiling heap: no thread holds it, its lock is mpca_prof_lock.
 * NULL until the first sampled small block; written once, before
 * any of its blocks exists. */
extern mpca_heap *mpca_prof_heap MPCA_INTERNAL;

/* The small slow path of `h` (its free list of the class of `size` is
 * empty) with profiling on: a refill whose blocks past the next sample
 * point are held back, or the sampled allocation itself. NULL when no
 * memory can be had. */
MPCA_INTERNAL void *mpca_prof_small_malloc(mpca_heap *h, size_t size);
/* A medium or huge request of `h`: NULL when it is not sampled (or the
 * sample could not be had), else the sampled block: a medium block of h,
 * marked (huge NULL), or a huge block of the source `huge`, marked. */
MPCA_INTERNAL void *mpca_prof_big_malloc(mpca_heap *h, size_t size, size_t align, bool zero, mpca_source *huge);
/* Free of a small block of the profiling heap (any thread): its record
 * goes, the block goes back with the usual checks (double and invalid
 * frees). */
MPCA_INTERNAL void mpca_prof_free(void *p, mpca_seg *seg, const char *fn);
/* A sampled huge block (seg->sampled) is about to be freed. */
MPCA_INTERNAL void mpca_prof_huge_free(mpca_seg *seg, void *p);
/* mpca_huge_resize of a sampled huge block, its record following it. */
MPCA_INTERNAL void *mpca_prof_huge_resize(mpca_seg *seg, void *p, size_t size);

#endif
