/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Where the heap profiler takes its samples (MPCALLOC_PROF), and where the
 * sampled blocks live. Nothing here runs while profiling is off: alloc.c
 * tests one flag on its slow paths before it calls in.
 *
 * Small blocks are sampled without touching the malloc and free fast
 * paths: a block is counted when it joins the heap's free list of its
 * class (mpca_prof.h), a refill's list here, an owner's free in
 * mpca_heap_free_overflow (heap.c), where every such free goes while the
 * heap samples. When the class's next sample point falls in a block, it
 * and the blocks after it are held back (h->prof->held); the malloc that
 * then finds the free list empty is the sampled one, and the held blocks
 * join the free list again, counted up to the next point. Cutting walks
 * at most the held list, once per sample. The refill is small.c's own,
 * through mpca_small_malloc_slow, whose first block is given back when the
 * point falls in it. Medium and huge requests count their bytes down on
 * their own slow paths.
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

/* The blocks of class `cls` that may still join the free list before the
 * one the next sample point falls in. */
static uint64_t blocks_before(const mpca_prof_state *st, unsigned cls)
{
  return (uint64_t)(st->left[cls] - 1) / mpca_classes[cls].size;
}

/* The held blocks of `cls` before the next sample point join the free
 * list of `h`, counted: all of them, or those up to the point, which then
 * falls in the first block still held. The free list is empty but after
 * a stack capture's own allocations. */
static void hand_out(mpca_heap *h, mpca_prof_state *st, unsigned cls)
{
  mpca_heap_class *hc = &h->cls[cls];
  uint64_t before = blocks_before(st, cls);
  unsigned n = st->nheld[cls];
  if (before == 0 || n == 0)
    return;
  void **list = st->held[cls];
  unsigned k = n;
  if (before >= n && hc->free == NULL) {
    st->held[cls] = NULL;
  } else {
    if (before < n)
      k = (unsigned)before;
    void **last = list;
    for (unsigned i = 1; i < k; i++)
      last = mpca_link_next(last);
    st->held[cls] = mpca_link_next(last);
    mpca_link_set(last, hc->free);
  }
  st->nheld[cls] = (uint16_t)(n - k);
  hc->free = list;
  hc->room = (int16_t)(hc->room - (int)k);
  st->left[cls] -= (int64_t)k * mpca_classes[cls].size;
}

/* The first held block, allocated (an unsampled allocation: the point
 * stays, the next block then holds it). */
static void *take_first_held(mpca_heap *h, mpca_prof_state *st, unsigned cls)
{
  void **p = st->held[cls];
  st->held[cls] = mpca_link_next(p);
  st->nheld[cls]--;
  if (MPCA_HARDENED_ON)
    mpca_small_hard_taken(p, h, cls);
  p[1] = NULL;
  return p;
}

/* The free list of `cls` of `h` and its held list are empty: a refill, as
 * without profiling, and its first block, `p`, the caller's; the rest of
 * the refill is held, then handed out up to the point. NULL when no memory
 * can be had. With `count`, p is counted; *point tells whether the sample
 * point falls in p, which then goes back first of the held list (the
 * caller makes the sampled allocation). */
static void *refill(mpca_heap *h, mpca_prof_state *st, unsigned cls, bool count, bool *point)
{
  mpca_heap_class *hc = &h->cls[cls];
  void **p = mpca_small_malloc_slow(h, cls);
  *point = false;
  if (p == NULL)
    return NULL;
  st->held[cls] = hc->free;
  st->nheld[cls] = (uint16_t)mpca_heap_class_count(hc);
  hc->free = NULL;
  hc->room = (int16_t)hc->free_max;
  if (count) {
    int64_t size = mpca_classes[cls].size;
    if (st->left[cls] <= size) {
      *point = true;
      mpca_small_hard_release(p);
      mpca_link_set(p, st->held[cls]);
      p[1] = (void *)mpca_free_mark;
      st->held[cls] = p;
      st->nheld[cls]++;
      return p;
    }
    st->left[cls] -= size;
  }
  hand_out(h, st, cls);
  return p;
}

/* The sampled allocation of class `cls`: the free list is empty, the
 * sample point falls in the first held block, which the sampled block
 * stands in for. Inline, as sample_big: the unwinder walks one frame
 * less. */
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
  /* the held blocks all come after the point: the next one is drawn from
   * the end of the block it fell in */
  st->left[cls] = mpca_prof_interval(st);
  if (p == NULL && st->held[cls] != NULL) /* no sample to be had: that block */
    p = take_first_held(h, st, cls);
  hand_out(h, st, cls);
  if (p == NULL) { /* (the capture's own allocations took it) */
    bool point;
    p = h->cls[cls].free != NULL ? mpca_small_malloc_slow(h, cls) : refill(h, st, cls, false, &point);
  }
  return p;
}

void *mpca_prof_small_malloc(mpca_heap *h, size_t size)
{
  char here = 0; /* marks this frame for the unwinder: what it calls is the profiler's */
  unsigned cls = mpca_small_class(size);
  mpca_prof_state *st = h->prof;
  /* (a heap without a sampler; a free list not empty: no slow path of the
   * fast path) */
  if (mpca_unlikely(st == NULL) || h->cls[cls].free != NULL)
    return mpca_small_malloc_slow(h, cls);
  bool point;
  if (mpca_prof_busy()) /* inside a capture: not sampled, not counted */
    return st->held[cls] != NULL ? take_first_held(h, st, cls) : refill(h, st, cls, false, &point);
  if (st->held[cls] == NULL) {
    void *p = refill(h, st, cls, true, &point);
    if (p == NULL || !point)
      return p;
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
  mpca_prof_state *st = h->prof;
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
