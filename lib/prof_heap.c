/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Where the heap profiler takes its samples (MPCALLOC_PROF), and where the
 * sampled blocks live. Nothing here runs while profiling is off: alloc.c
 * tests one flag on its slow paths before it calls in.
 *
 * Small blocks are sampled without touching the malloc fast path: when a
 * refill hands a heap a list of n blocks of a class and the class's next
 * sample point falls in the k-th of them, the free list gets the first
 * k - 1 and the rest is held back (h->prof->held); the allocation that
 * then finds the free list empty is the sampled one, and the held blocks
 * become the free list again (cut anew at the next point). Cutting walks
 * at most the batch, once per sample. The refill is small.c's own, through
 * mpca_small_malloc_slow, whose first block is given back when the point
 * falls in it. Medium and huge requests count their
 * bytes down on their own slow paths.
 *
 * A sampled small block comes from the profiling heap, a heap no thread
 * holds, under the profiler's lock (samples are rare): its free must leave
 * the fast path by itself. The profiling heap's macro blocks carry
 * seg->node MPCA_NODE_PROF, which no thread heap has: the foreign-free fast
 * path declines their blocks, and mpca_free_slow sends them here. A sampled
 * medium block stays in its heap, marked in its chunk header
 * (MPCA_CHUNK_SAMPLED: every medium free is a slow path that reads that
 * word), and so does a huge one, in its macro block header (seg->sampled):
 * taken from a heap of its own, they touched fresh memory while their
 * heap's warm free chunks waited, and a third of the bytes of a program of
 * medium blocks would have gone through one lock. The stack is captured
 * first, before the heap's state is touched: an allocation made by the
 * unwinder is an ordinary one and finds the heap consistent. */
#include <string.h>
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_medium.h"
#include "mpca_prof_heap.h"
#include "mpca_registry.h"
#include "mpca_remote.h"
#include "mpca_small.h"

mpca_heap *mpca_prof_heap;

/* The profiling heap, made at the first sample (lock held). */
static mpca_heap *prof_heap(void)
{
  if (mpca_prof_heap == NULL)
    mpca_prof_heap = mpca_heap_new_detached(MPCA_NODE_PROF);
  return mpca_prof_heap;
}

static mpca_prof_state *sampler(mpca_heap *h)
{
  if (mpca_unlikely(h->prof == NULL))
    h->prof = mpca_prof_state_new();
  return h->prof;
}

/* Blocks of class `cls` that may still be handed out before the one the
 * next sample point falls in. */
static uint64_t blocks_before(const mpca_prof_state *st, unsigned cls)
{
  return (uint64_t)(st->left[cls] - 1) / mpca_classes[cls].size;
}

/* free[cls] of `h` holds n blocks, the next sample point falls in the one
 * at index `before` (< n): it and those after it are held back. */
static void hold_from(mpca_heap *h, mpca_prof_state *st, unsigned cls, uint64_t before, unsigned n)
{
  void **list = h->free[cls];
  if (before == 0) {
    h->free[cls] = NULL;
  } else {
    void **last = list;
    for (uint64_t i = 1; i < before; i++)
      last = mpca_link_next(last);
    list = mpca_link_next(last);
    mpca_link_set(last, NULL);
  }
  st->held[cls] = list;
  st->nheld[cls] = (uint16_t)(n - before);
}

/* free[cls] of `h` holds the n blocks of a refill: charge them to the
 * class's countdown, or hold back those from the sample point on. */
static void cut(mpca_heap *h, mpca_prof_state *st, unsigned cls, unsigned n)
{
  uint64_t before = blocks_before(st, cls);
  if (before >= n)
    st->left[cls] -= (int64_t)(n * mpca_classes[cls].size);
  else
    hold_from(h, st, cls, before, n);
}

/* The held blocks of `cls` become free[cls] (empty); how many they are. */
static unsigned unhold(mpca_heap *h, mpca_prof_state *st, unsigned cls)
{
  unsigned n = st->nheld[cls];
  h->free[cls] = st->held[cls];
  h->tc_count[cls] = (uint16_t)n;
  st->held[cls] = NULL;
  st->nheld[cls] = 0;
  return n;
}

/* The same without a sample: an allocation made inside a stack capture,
 * or a sample that could not be had. The point they held is dropped. */
static void release_held(mpca_heap *h, mpca_prof_state *st, unsigned cls)
{
  if (h->free[cls] != NULL || st->held[cls] == NULL)
    return;
  unhold(h, st, cls);
  st->left[cls] = mpca_prof_interval(st);
}

/* The sampled allocation of class `cls`: free[cls] is empty, held[cls]
 * starts with the block the sample point fell in. Inline, as sample_big:
 * the unwinder walks one frame less. */
MPCA_INLINE void *sample_small(mpca_heap *h, mpca_prof_state *st, unsigned cls, const void *marker)
{
  uintptr_t pc[MPCA_PROF_DEPTH];
  unsigned depth = mpca_prof_backtrace(pc, marker, 1);
  size_t size = mpca_classes[cls].size;
  void *p = NULL;
  mpca_prof_lock();
  mpca_heap *ph = prof_heap();
  if (ph != NULL && (p = mpca_small_malloc_slow(ph, cls)) != NULL) {
    mpca_small_seg_of(p)->hdr.node = (uint32_t)MPCA_NODE_PROF;
    mpca_prof_record(p, pc, depth, h->node, size, size);
  }
  mpca_prof_unlock();
  if (p == NULL) {
    release_held(h, st, cls);
    return mpca_small_malloc_slow(h, cls);
  }
  /* the sampled block stands in for the first held one: they all come
   * after it, and the next point is drawn from its end */
  st->left[cls] = mpca_prof_interval(st);
  if (h->free[cls] == NULL && st->held[cls] != NULL)
    cut(h, st, cls, unhold(h, st, cls));
  return p;
}

void *mpca_prof_small_malloc(mpca_heap *h, size_t size)
{
  char here = 0; /* marks this frame for the unwinder: what it calls is the profiler's */
  unsigned cls = mpca_small_class(size);
  mpca_prof_state *st = sampler(h);
  if (mpca_unlikely(st == NULL))
    return mpca_small_malloc_slow(h, cls);
  if (mpca_prof_busy()) {
    release_held(h, st, cls);
    return mpca_small_malloc_slow(h, cls);
  }
  if (h->free[cls] != NULL) /* (not at a slow path of the fast path) */
    return mpca_small_malloc_slow(h, cls);
  if (st->held[cls] == NULL) {
    /* a refill, as without profiling, and its first block */
    void **p = mpca_small_malloc_slow(h, cls);
    if (p == NULL)
      return NULL;
    unsigned n = h->tc_count[cls]; /* p and the rest of free[cls] */
    uint64_t before = blocks_before(st, cls);
    if (before >= n) {
      st->left[cls] -= (int64_t)(n * mpca_classes[cls].size);
      return p;
    }
    if (before > 0) {
      hold_from(h, st, cls, before - 1, n - 1);
      return p;
    }
    /* the point falls in p itself: it goes back, the list is held */
    mpca_small_hard_release(p);
    mpca_link_set(p, h->free[cls]);
    p[1] = (void *)mpca_free_mark;
    h->free[cls] = p;
    hold_from(h, st, cls, 0, n);
  }
  return sample_small(h, st, cls, &here);
}

MPCA_INLINE void *sample_big(mpca_heap *h, size_t size, size_t align, bool zero, mpca_source *huge,
                              const void *marker)
{
  uintptr_t pc[MPCA_PROF_DEPTH];
  unsigned depth = mpca_prof_backtrace(pc, marker, 1);
  void *p;
  if (huge == NULL) {
    /* the heap's own medium block, as without profiling, marked */
    if (mpca_remote_pending(&h->rfq))
      mpca_heap_drain(h);
    p = align <= MPCA_ALIGNMENT ? mpca_medium_malloc(h, size) : mpca_medium_memalign(h, align, size);
    if (p == NULL)
      return NULL;
    mpca_medium_mark_sampled(p);
    mpca_prof_lock();
    mpca_prof_record(p, pc, depth, h->node, size, mpca_medium_usable(p));
    mpca_prof_unlock();
    if (zero)
      memset(p, 0, size);
    return p;
  }
  p = mpca_huge_malloc(h, huge, size, align, zero);
  if (p != NULL) {
    mpca_seg *seg = mpca_registry_lookup(p);
    seg->sampled = 1;
    mpca_prof_lock();
    mpca_prof_record(p, pc, depth, h->node, size, mpca_huge_usable(seg));
    mpca_prof_unlock();
  }
  return p;
}

void *mpca_prof_big_malloc(mpca_heap *h, size_t size, size_t align, bool zero, mpca_source *huge)
{
  char here = 0; /* see mpca_prof_small_malloc */
  mpca_prof_state *st = sampler(h);
  if (st == NULL || mpca_prof_busy() || (st->big_left -= (int64_t)size) > 0)
    return NULL;
  st->big_left = mpca_prof_interval(st);
  return sample_big(h, size, align, zero, huge, &here);
}

void mpca_prof_free(void *p, mpca_seg *seg, const char *fn)
{
  mpca_prof_lock();
  mpca_prof_forget(p);
  mpca_heap_free_local(mpca_prof_heap, seg, p, fn); /* reports a double or invalid free */
  mpca_prof_unlock();
}

void mpca_prof_huge_free(mpca_seg *seg, void *p)
{
  if (!mpca_huge_valid(seg, p))
    return; /* the free reports it */
  mpca_prof_lock();
  mpca_prof_forget(p);
  seg->sampled = 0;
  mpca_prof_unlock();
}

void *mpca_prof_huge_resize(mpca_seg *seg, void *p, size_t size)
{
  size_t off = (size_t)((char *)p - (char *)seg);
  /* under the lock: once moved, the old address may be another block's */
  mpca_prof_lock();
  void *q = mpca_huge_resize(seg, p, size);
  if (q != NULL)
    mpca_prof_moved(p, q, mpca_huge_usable((mpca_seg *)((char *)q - off)));
  mpca_prof_unlock();
  return q;
}
