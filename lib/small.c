/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Small blocks (up to MPCA_SMALL_MAX): size classes 16 bytes apart up to
 * MPCA_SMALL_QUANTUM_MAX, then MPCA_SMALL_CLASSES_PER_DOUBLING per power of
 * two. A run is a MPCA_RUN_SIZE slice of a 2 MiB macro block holding blocks
 * of one class; its descriptor (with the free-slot bitmap) sits in the macro
 * block's header, so blocks carry no header at all. A heap allocates from one
 * "current" run per class, keeps runs that regained free slots on a partial
 * list, and gives wholly free runs back to their macro block. Owner thread
 * only: no lock, no atomic. */
#include <string.h>
#include "mpca_error.h"
#include "mpca_list.h"
#include "mpca_small.h"
#include "mpca_source.h"

#define ALL_RUNS (~(uint64_t)1) /* run 0 holds the header */
/* Fully free small macro blocks a heap keeps before giving them back. */
#define SMALL_EMPTY_KEEP 1

mpca_size_class mpca_classes[MPCA_SMALL_NCLASSES];
uint8_t mpca_class_lut[MPCA_SMALL_MAX / MPCA_ALIGNMENT + 1];
mpca_run mpca_run_empty = {.state = MPCA_RUN_CURRENT};

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
  size_t sz = 0;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    size_t s = mpca_small_class_size(c);
    mpca_classes[c].size = (uint32_t)s;
    mpca_classes[c].recip = (uint32_t)((((uint64_t)1 << 32) + s - 1) / s);
    mpca_classes[c].nslots = (uint16_t)(MPCA_RUN_SIZE / s);
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
  unsigned full = c->nslots / 64, rest = c->nslots % 64;
  memset(r->bitmap, 0xff, full * sizeof(uint64_t));
  if (rest)
    r->bitmap[full] = ((uint64_t)1 << rest) - 1;
  for (unsigned w = full + (rest != 0); w < MPCA_RUN_BITMAP_WORDS; w++)
    r->bitmap[w] = 0;
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
  for (unsigned i = 0; i < MPCA_RUNS_PER_SEG; i++)
    ss->runs[i].state = MPCA_RUN_FREE;
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
  h->cnt.small_runs_made++;
  return r;
}

static void run_release(mpca_heap *h, mpca_run *r)
{
  mpca_small_seg *ss = mpca_small_seg_of(r);
  mpca_seg *seg = &ss->hdr;
  unsigned i = (unsigned)(r - ss->runs);
  r->state = MPCA_RUN_FREE;
  h->cnt.small_runs_released++;
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

void *mpca_small_malloc_slow(mpca_heap *h, unsigned cls)
{
  mpca_run *r = h->cur[cls];
  if (r->nfree)
    return mpca_run_alloc(r);
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
  return mpca_run_alloc(r);
}

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

void mpca_small_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  mpca_run *r = mpca_small_run_of((mpca_small_seg *)seg, p);
  switch (mpca_run_free(r, p)) {
  case MPCA_RUN_FREED: mpca_small_after_free(h, r); return;
  case MPCA_RUN_DOUBLE_FREE: mpca_bad_pointer(fn, p, "double free (block is already free)"); return;
  default: mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated small block)"); return;
  }
}

void mpca_small_flush(mpca_heap *h)
{
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
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
