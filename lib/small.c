/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Small blocks (up to MPCA_SMALL_MAX): size classes 16 bytes apart up to
 * MPCA_SMALL_QUANTUM_MAX, then MPCA_SMALL_CLASSES_PER_DOUBLING per power of
 * two. A run is a MPCA_RUN_SIZE slice of a 2 MiB macro block holding blocks
 * of one class; its descriptor (with the free-slot bitmap) sits in the macro
 * block's header, so blocks carry no header at all. A heap allocates from one
 * "current" run per class, keeps runs that regained free slots on a partial
 * list, and gives wholly free runs back to their macro block.
 *
 * In front of the runs sits a thread cache per class: a LIFO list of free
 * blocks, so that malloc is a pop and a free a push. It is refilled from the
 * current run a bitmap word at a time and, when full, flushed by half. A free
 * by another thread of the same NUMA node goes to that thread's cache too:
 * the block is reused where its cache lines already are, and a flush sends
 * such blocks back to their owner's queue in one push per owner, so a remote
 * free costs no atomic operation of its own. A cached block carries
 * mpca_tc_key in its second word; a free that finds the key there reports a
 * double free, and the owner's bitmap catches the rest. Owner thread only:
 * no lock; the one atomic operation is the queue push of a flush. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/auxv.h>
#include "mpca_error.h"
#include "mpca_heap.h"
#include "mpca_os.h"
#include "mpca_list.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define ALL_RUNS (~(uint64_t)1) /* run 0 holds the header */
/* Fully free small macro blocks a heap keeps before giving them back. */
#define SMALL_EMPTY_KEEP 1

mpca_size_class mpca_classes[MPCA_SMALL_NCLASSES];
uint8_t mpca_class_lut[MPCA_SMALL_MAX / MPCA_ALIGNMENT + 1];
mpca_run mpca_run_empty = {.state = MPCA_RUN_CURRENT};
uintptr_t mpca_tc_key;

/* Bytes a thread cache may hold per class (and bounds on its block count). */
#define TC_BYTES ((size_t)16 << 10)
#define TC_MIN 16
#define TC_MAX 256

static_assert(MPCA_RUNS_PER_SEG == 64, "free_runs is one 64-bit word");

size_t mpca_small_class_size(unsigned cls)
{
  unsigned nq = MPCA_SMALL_QUANTUM_MAX / MPCA_ALIGNMENT;
  if (cls < nq)
    return (size_t)(cls + 1) * MPCA_ALIGNMENT;
  unsigned k = cls - nq; /* classes above the quantum region */
  unsigned per = MPCA_SMALL_CLASSES_PER_DOUBLING;
  size_t base = (size_t)MPCA_SMALL_QUANTUM_MAX << (k / per);
  return base + (base / per) * (k % per + 1);
}

void mpca_small_init(void)
{
  /* 16 random bytes from the kernel, no syscall, no allocation */
  const void *at_random = (const void *)getauxval(AT_RANDOM);
  uint64_t rnd[2] = {0x9e3779b97f4a7c15ull, 0};
  if (at_random)
    memcpy(rnd, at_random, sizeof rnd); /* not necessarily 8-byte aligned */
  uintptr_t key = (uintptr_t)(rnd[0] ^ rnd[1]) ^ (uintptr_t)&mpca_tc_key;
  mpca_tc_key = key | 1; /* odd: never equal to a block address */
  size_t sz = 0;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    size_t s = mpca_small_class_size(c);
    mpca_classes[c].size = (uint32_t)s;
    mpca_classes[c].recip = (uint32_t)((((uint64_t)1 << 32) + s - 1) / s);
    mpca_classes[c].nslots = (uint16_t)(MPCA_RUN_SIZE / s);
    size_t tc = TC_BYTES / s;
    mpca_classes[c].tc_max = (uint16_t)(tc < TC_MIN ? TC_MIN : tc > TC_MAX ? TC_MAX : tc);
    for (; sz <= s && sz <= MPCA_SMALL_MAX; sz += MPCA_ALIGNMENT)
      mpca_class_lut[sz / MPCA_ALIGNMENT] = (uint8_t)c;
  }
}

void mpca_run_init(mpca_run *r, unsigned cls, char *base)
{
  const mpca_size_class *c = &mpca_classes[cls];
  r->cls = (uint16_t)cls;
  r->size = c->size;
  r->recip = c->recip;
  r->nslots = c->nslots;
  r->nfree = c->nslots;
  r->hint = 0;
  r->base = base;
  r->purged = 0;
  r->aged = 0;
  unsigned full = c->nslots / 64, rest = c->nslots % 64;
  memset(r->bitmap, 0xff, full * sizeof(uint64_t));
  if (rest)
    r->bitmap[full] = ((uint64_t)1 << rest) - 1;
  for (unsigned w = full + (rest != 0); w < MPCA_RUN_BITMAP_WORDS; w++)
    r->bitmap[w] = 0;
}

unsigned mpca_run_take(mpca_run *r, unsigned want, void **first)
{
  unsigned taken = 0;
  void **tail = NULL;
  unsigned w = r->hint;
  for (; taken < want && w < MPCA_RUN_BITMAP_WORDS; w++) {
    uint64_t b = r->bitmap[w];
    while (b && taken < want) {
      void **blk = (void **)(r->base + ((size_t)w * 64 + (unsigned)__builtin_ctzll(b)) * r->size);
      b &= b - 1;
      if (tail)
        *tail = blk;
      else
        *first = blk;
      tail = blk;
      taken++;
    }
    r->bitmap[w] = b;
    if (b)
      break;
  }
  if (tail)
    *tail = NULL;
  r->hint = (uint16_t)(w < MPCA_RUN_BITMAP_WORDS ? w : MPCA_RUN_BITMAP_WORDS - 1);
  r->nfree = (uint16_t)(r->nfree - taken);
  return taken;
}

/* ---- macro blocks of runs ------------------------------------------------ */

static mpca_small_seg *small_seg_new(mpca_heap *h)
{
  mpca_seg *seg = mpca_source_get(h->source, MPCA_SEG_SIZE);
  if (seg == NULL)
    return NULL;
  mpca_small_seg *ss = (mpca_small_seg *)seg;
  seg->kind = MPCA_KIND_SMALL;
  seg->owner = h;
  seg->free_runs = ALL_RUNS;
  memset(ss->run_cls, MPCA_RUN_NO_CLASS, sizeof ss->run_cls);
  for (unsigned i = 0; i < MPCA_RUNS_PER_SEG; i++) {
    ss->runs[i].state = MPCA_RUN_FREE;
    ss->runs[i].purged = seg->fresh;
    ss->runs[i].aged = 0;
  }
  mpca_list_push(&h->small_avail, &seg->link);
  h->small_empty_segs++;
  h->cnt.segs_acquired++;
  return ss;
}

static mpca_run *run_new(mpca_heap *h, unsigned cls)
{
  mpca_small_seg *ss;
  if (!mpca_list_empty(&h->small_avail))
    ss = (mpca_small_seg *)mpca_container_of(h->small_avail.next, mpca_seg, link);
  else if ((ss = small_seg_new(h)) == NULL)
    return NULL;
  mpca_seg *seg = &ss->hdr;
  if (seg->free_runs == ALL_RUNS)
    h->small_empty_segs--;
  unsigned i = (unsigned)__builtin_ctzll(seg->free_runs);
  seg->free_runs &= seg->free_runs - 1;
  if (seg->free_runs == 0) {
    mpca_list_remove(&seg->link);
    mpca_list_push(&h->small_full, &seg->link);
  }
  mpca_run *r = &ss->runs[i];
  mpca_run_init(r, cls, (char *)ss + (size_t)i * MPCA_RUN_SIZE);
  ss->run_cls[i] = (uint8_t)cls;
  h->cnt.small_runs_made++;
  h->small_runs[cls]++;
  return r;
}

static void run_release(mpca_heap *h, mpca_run *r)
{
  mpca_small_seg *ss = mpca_small_seg_of(r);
  mpca_seg *seg = &ss->hdr;
  unsigned i = (unsigned)(r - ss->runs);
  r->state = MPCA_RUN_FREE;
  r->nslots = 0; /* no slot check passes on a run not in use */
  r->aged = 0;   /* free from now on */
  ss->run_cls[i] = MPCA_RUN_NO_CLASS;
  h->cnt.small_runs_released++;
  h->small_runs[r->cls]--;
  if (seg->free_runs == 0) {
    mpca_list_remove(&seg->link);
    mpca_list_push(&h->small_avail, &seg->link);
  }
  seg->free_runs |= (uint64_t)1 << i;
  if (seg->free_runs == ALL_RUNS) {
    h->small_empty_segs++;
    if (h->small_empty_segs > SMALL_EMPTY_KEEP)
      mpca_small_release_empty(h, SMALL_EMPTY_KEEP);
  }
}

size_t mpca_small_release_empty(mpca_heap *h, unsigned keep)
{
  size_t released = 0;
  mpca_list *n = h->small_avail.next;
  while (n != &h->small_avail && h->small_empty_segs > keep) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    n = n->next;
    if (seg->free_runs != ALL_RUNS)
      continue;
    mpca_list_remove(&seg->link);
    h->small_empty_segs--;
    h->cnt.segs_released++;
    released += seg->size;
    mpca_source_put(seg);
  }
  return released;
}

/* ---- heap operations ----------------------------------------------------- */

/* The run to refill from: the current one while it has free slots, else a
 * partial one, else a new one. */
static mpca_run *run_with_free_slots(mpca_heap *h, unsigned cls)
{
  mpca_run *r = h->cur[cls];
  if (r->nfree)
    return r;
  if (r != &mpca_run_empty)
    r->state = MPCA_RUN_FULL;
  if (!mpca_list_empty(&h->partial[cls])) {
    r = mpca_container_of(h->partial[cls].next, mpca_run, link);
    mpca_list_remove(&r->link);
  } else if ((r = run_new(h, cls)) == NULL) {
    h->cur[cls] = &mpca_run_empty;
    return NULL;
  }
  r->state = MPCA_RUN_CURRENT;
  h->cur[cls] = r;
  return r;
}

void *mpca_small_malloc_slow(mpca_heap *h, unsigned cls)
{
  void **p = h->tc_head[cls];
  if (p == NULL) {
    mpca_run *r = run_with_free_slots(h, cls);
    if (r == NULL)
      return NULL;
    unsigned taken = mpca_run_take(r, mpca_classes[cls].tc_max / 2, (void **)&p);
    h->tc_count[cls] = (uint16_t)taken;
    mpca_stats_small_out(h, cls, taken, r->size);
  }
  h->tc_head[cls] = p[0];
  h->tc_count[cls]--;
  p[1] = NULL;
  return p;
}

/* Blocks of other heaps leaving a thread cache, gathered per owner so that
 * each owner gets one queue push per flush. */
#define FOREIGN_OWNERS 4
typedef struct foreign_batch {
  unsigned n;
  struct {
    mpca_heap *owner;
    void **first, **last;
    unsigned count;
  } to[FOREIGN_OWNERS];
} foreign_batch;

static void foreign_send(mpca_heap *h, foreign_batch *fb)
{
  for (unsigned i = 0; i < fb->n; i++)
    mpca_heap_send_chain(h, fb->to[i].owner, fb->to[i].first, fb->to[i].last, fb->to[i].count);
  fb->n = 0;
}

static void foreign_add(mpca_heap *h, foreign_batch *fb, mpca_heap *owner, void **p)
{
  p[1] = NULL; /* no longer cached: the owner's checks must not see the key */
  unsigned i = 0;
  while (i < fb->n && fb->to[i].owner != owner)
    i++;
  if (i == fb->n) {
    if (fb->n == FOREIGN_OWNERS)
      foreign_send(h, fb);
    i = fb->n++;
    fb->to[i].owner = owner;
    fb->to[i].first = fb->to[i].last = p;
    fb->to[i].count = 1;
    p[0] = NULL;
    return;
  }
  p[0] = fb->to[i].first;
  fb->to[i].first = p;
  fb->to[i].count++;
}

/* Give all but `keep` cached blocks of class `cls` back: the heap's own to
 * their runs, other heaps' blocks to their owners' queues. */
static void tc_flush(mpca_heap *h, unsigned cls, unsigned keep)
{
  void **p = h->tc_head[cls];
  void **last_kept = NULL;
  for (unsigned i = 0; i < keep && p; i++) {
    last_kept = p;
    p = p[0];
  }
  if (last_kept)
    last_kept[0] = NULL;
  else
    h->tc_head[cls] = NULL;
  h->tc_count[cls] = (uint16_t)(keep < h->tc_count[cls] ? keep : h->tc_count[cls]);
  foreign_batch fb;
  fb.n = 0;
  unsigned own = 0;
  while (p) {
    void **next = p[0];
    mpca_small_seg *ss = mpca_small_seg_of(p);
    if (mpca_unlikely(ss->hdr.owner != h)) {
      foreign_add(h, &fb, ss->hdr.owner, p);
    } else {
      mpca_run *r = mpca_small_run_of(ss, p);
      if (mpca_unlikely(mpca_run_free(r, p) != MPCA_RUN_FREED))
        mpca_fatal("mpcalloc: heap corruption: cached block %p is not an allocated slot; aborting\n", (void *)p);
      mpca_small_after_free(h, r);
      own++;
    }
    p = next;
  }
  mpca_stats_small_back(h, cls, own, mpca_classes[cls].size);
  foreign_send(h, &fb);
}

/* A block carrying the cache key is free in a thread cache: ours, or
 * another thread's, which may hold blocks of our runs. Allocation always
 * clears the key and a flush to the owner's queue too, so a block in use
 * carries it only if the program wrote that random value there itself. */
MPCA_INLINE bool marked_free(const void *p) { return ((void *const *)p)[1] == (void *)mpca_tc_key; }

void mpca_small_run_changed(mpca_heap *h, mpca_run *r)
{
  if (r->state == MPCA_RUN_FULL) {
    if (r->nfree == r->nslots) { /* a one-slot run went from full to empty */
      run_release(h, r);
      return;
    }
    r->state = MPCA_RUN_PARTIAL;
    mpca_list_push(&h->partial[r->cls], &r->link);
  } else if (r->state == MPCA_RUN_PARTIAL && r->nfree == r->nslots) {
    mpca_list_remove(&r->link);
    run_release(h, r);
  }
}

void mpca_small_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn, enum mpca_free_mode mode)
{
  mpca_run *r = mpca_small_run_of((mpca_small_seg *)seg, p);
  ptrdiff_t slot = mpca_run_slot(r, p);
  if (mpca_unlikely(slot < 0)) {
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated small block)");
    return;
  }
  unsigned cls = r->cls;
  if (mpca_unlikely((r->bitmap[slot / 64] >> (slot % 64)) & 1) || mpca_unlikely(marked_free(p))) {
    mpca_bad_pointer(fn, p, "double free (block is already free)");
    return;
  }
  if (mode != MPCA_FREE_RUN && mpca_tc_has_room(h, cls)) {
    mpca_tc_push(h, cls, p);
  } else if (mode != MPCA_FREE_CACHE) {
    mpca_run_free(r, p); /* checked above: cannot fail */
    mpca_stats_small_back(h, cls, 1, r->size);
    mpca_small_after_free(h, r);
  } else {
    tc_flush(h, cls, mpca_classes[cls].tc_max / 2);
    mpca_tc_push(h, cls, p);
  }
}

void mpca_small_free_foreign(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  int cls = mpca_small_block_class((mpca_small_seg *)seg, p);
  if (mpca_unlikely(cls < 0)) {
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated small block)");
    return;
  }
  if (mpca_unlikely(marked_free(p))) {
    mpca_bad_pointer(fn, p, "double free (block is already free)");
    return;
  }
  if (!mpca_tc_has_room(h, (unsigned)cls))
    tc_flush(h, (unsigned)cls, mpca_classes[cls].tc_max / 2);
  mpca_tc_push(h, (unsigned)cls, p);
}

size_t mpca_small_purge(mpca_heap *h, bool only_aged)
{
  size_t purged = 0;
  mpca_list *lists[2] = {&h->small_avail, &h->small_full};
  for (int k = 0; k < 2; k++)
    for (mpca_list *n = lists[k]->next; n != lists[k]; n = n->next) {
      mpca_small_seg *ss = (mpca_small_seg *)mpca_container_of(n, mpca_seg, link);
      /* one call per stretch of consecutive free runs not purged yet */
      uint64_t todo = ss->hdr.free_runs;
      for (uint64_t m = todo; m; m &= m - 1) {
        mpca_run *r = &ss->runs[__builtin_ctzll(m)];
        if (r->purged || (only_aged && !r->aged)) {
          r->aged = 1; /* purged at the next tick if still free */
          todo &= ~((uint64_t)1 << __builtin_ctzll(m));
        }
      }
      while (todo) {
        unsigned first = (unsigned)__builtin_ctzll(todo);
        unsigned len = (unsigned)__builtin_ctzll(~(todo >> first) | ((uint64_t)1 << (63 - first)) << 1);
        if (first + len > 64)
          len = 64 - first;
        purged += mpca_os_purge((char *)ss + (size_t)first * MPCA_RUN_SIZE, (size_t)len * MPCA_RUN_SIZE);
        for (unsigned i = first; i < first + len; i++)
          ss->runs[i].purged = 1;
        todo &= ~(len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1) << first);
      }
    }
  return purged;
}

void mpca_small_flush(mpca_heap *h)
{
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    tc_flush(h, c, 0);
    mpca_run *r = h->cur[c];
    if (r == &mpca_run_empty)
      continue;
    h->cur[c] = &mpca_run_empty;
    if (r->nfree == r->nslots) {
      run_release(h, r);
    } else if (r->nfree == 0) {
      r->state = MPCA_RUN_FULL;
    } else {
      r->state = MPCA_RUN_PARTIAL;
      mpca_list_push(&h->partial[c], &r->link);
    }
  }
}
