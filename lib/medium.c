/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Medium blocks. Each chunk starts with a 16-byte boundary tag: the size of
 * the previous chunk (valid while that one is free) and this chunk's size
 * with INUSE / PREV_INUSE bits. A free merges both neighbours at once; a fit
 * is found with one find-first-set on the bin bitmap. A macro block whose
 * chunks are all free goes back to the memory source (one is kept per heap).
 * Owner thread only: no lock, no atomic. */
#include <string.h>
#include "mpca_error.h"
#include "mpca_list.h"
#include "mpca_medium.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define MEDIUM_EMPTY_KEEP 1
/* Free chunks smaller than this keep their pages when a heap is purged:
 * not worth a system call. */
#define MEDIUM_PURGE_MIN ((size_t)64 << 10)
#define BIN_SHIFT 2 /* log2 of bins per doubling */
#define BIN_BASE_LOG 10 /* bin 0 starts at 1 KiB */

static_assert((size_t)1 << BIN_BASE_LOG == MPCA_MEDIUM_MIN_CHUNK, "bin 0 starts at the minimum chunk");
static_assert(MPCA_MEDIUM_NBINS <= 64, "bin map is one word");

unsigned mpca_medium_bin_floor(size_t size)
{
  unsigned lg = mpca_log2(size);
  unsigned b = ((lg - BIN_BASE_LOG) << BIN_SHIFT) + (unsigned)((size >> (lg - BIN_SHIFT)) & 3);
  return b < MPCA_MEDIUM_NBINS ? b : MPCA_MEDIUM_NBINS - 1;
}

size_t mpca_medium_bin_min(unsigned bin)
{
  return (size_t)(4 + (bin & 3)) << (bin / 4 + BIN_BASE_LOG - BIN_SHIFT);
}

unsigned mpca_medium_bin_ceil(size_t size)
{
  unsigned b = mpca_medium_bin_floor(size);
  if (size > mpca_medium_bin_min(b))
    b++;
  return b;
}

static mpca_chunk *next_chunk(mpca_chunk *c) { return (mpca_chunk *)((char *)c + mpca_chunk_size(c)); }

static void set_head(mpca_chunk *c, size_t size, size_t flags) { c->head = mpca_chunk_tag(c) | size | flags; }

static void bin_insert(mpca_heap *h, mpca_chunk *c)
{
  unsigned b = mpca_medium_bin_floor(mpca_chunk_size(c));
  mpca_list_push(&h->bins[b], &c->link);
  h->bin_map |= (uint64_t)1 << b;
}

static void bin_remove(mpca_heap *h, mpca_chunk *c)
{
  unsigned b = mpca_medium_bin_floor(mpca_chunk_size(c));
  mpca_list_remove(&c->link);
  if (mpca_list_empty(&h->bins[b]))
    h->bin_map &= ~((uint64_t)1 << b);
}

/* Mark [c, c+size) as one free chunk (prev in use) and file it. */
static void make_free(mpca_heap *h, mpca_chunk *c, size_t size)
{
  set_head(c, size, MPCA_CHUNK_PREV_INUSE);
  mpca_chunk *n = next_chunk(c);
  n->prev_size = size;
  n->head &= ~MPCA_CHUNK_PREV_INUSE;
  if (size == MPCA_MEDIUM_AREA)
    h->medium_empty_segs++;
  bin_insert(h, c);
}

static mpca_chunk *seg_first_chunk(mpca_seg *seg) { return (mpca_chunk *)((char *)seg + MPCA_MEDIUM_FIRST); }

static bool seg_new(mpca_heap *h)
{
  mpca_seg *seg = mpca_source_get(h->source, MPCA_MEDIUM_SEG_SIZE);
  if (seg == NULL)
    return false;
  seg->kind = MPCA_KIND_MEDIUM;
  seg->owner = h;
  mpca_list_push(&h->medium_segs, &seg->link);
  h->cnt.segs_acquired++;
  mpca_chunk *end = (mpca_chunk *)((char *)seg + MPCA_MEDIUM_SEG_SIZE - MPCA_CHUNK_HDR);
  end->head = MPCA_CHUNK_INUSE;
  make_free(h, seg_first_chunk(seg), MPCA_MEDIUM_AREA);
  return true;
}

/* Split off the tail of in-use chunk c beyond `size`, if it is worth a chunk. */
static void trim_tail(mpca_heap *h, mpca_chunk *c, size_t size)
{
  size_t have = mpca_chunk_size(c);
  if (have - size < MPCA_MEDIUM_MIN_CHUNK)
    return;
  set_head(c, size, c->head & MPCA_CHUNK_FLAGS);
  mpca_chunk *rest = next_chunk(c);
  size_t rest_size = have - size;
  mpca_chunk *after = (mpca_chunk *)((char *)rest + rest_size);
  if (!(after->head & MPCA_CHUNK_INUSE)) {
    bin_remove(h, after);
    rest_size += mpca_chunk_size(after);
  }
  make_free(h, rest, rest_size);
}

/* Take free chunk c for a request needing `need` bytes. */
static void *take(mpca_heap *h, mpca_chunk *c, size_t need)
{
  bin_remove(h, c);
  if (mpca_chunk_size(c) == MPCA_MEDIUM_AREA)
    h->medium_empty_segs--;
  c->head = (c->head | MPCA_CHUNK_INUSE) & ~(MPCA_CHUNK_PURGED | MPCA_CHUNK_AGED);
  next_chunk(c)->head |= MPCA_CHUNK_PREV_INUSE;
  trim_tail(h, c, need);
  /* The memory may have held free small blocks, each marked free in its
   * second word (mpca_free_mark), and a block on its way back from a
   * remote free carries the mark there too: a live block must not. */
  ((void **)mpca_chunk_payload(c))[1] = NULL;
  return mpca_chunk_payload(c);
}

/* Best fit among a few chunks of the request's own bin, else the first chunk
 * of the next non-empty bin above (all of which fit). */
static mpca_chunk *find_fit(mpca_heap *h, size_t need)
{
  unsigned f = mpca_medium_bin_floor(need);
  mpca_chunk *best = NULL;
  unsigned looked = 0;
  for (mpca_list *n = h->bins[f].next; n != &h->bins[f] && looked < 8; n = n->next, looked++) {
    mpca_chunk *c = mpca_container_of(n, mpca_chunk, link);
    size_t sz = mpca_chunk_size(c);
    if (sz >= need && (best == NULL || sz < mpca_chunk_size(best))) {
      best = c;
      if (sz == need)
        break;
    }
  }
  if (best)
    return best;
  unsigned b = f + 1;
  uint64_t m = b < 64 ? h->bin_map & (~(uint64_t)0 << b) : 0;
  if (m)
    return mpca_container_of(h->bins[__builtin_ctzll(m)].next, mpca_chunk, link);
  return NULL;
}

void *mpca_medium_malloc(mpca_heap *h, size_t size)
{
  size_t need = mpca_medium_chunk_for(size);
  mpca_chunk *c = find_fit(h, need);
  if (c == NULL) {
    if (!seg_new(h))
      return NULL;
    c = find_fit(h, need);
  }
  void *p = take(h, c, need);
  mpca_stats_medium(h, mpca_chunk_size(mpca_chunk_of(p)));
  return p;
}

void *mpca_medium_memalign(mpca_heap *h, size_t align, size_t size)
{
  size_t need = mpca_medium_chunk_for(size);
  void *p = mpca_medium_malloc(h, need + align + MPCA_MEDIUM_MIN_CHUNK);
  if (p == NULL)
    return NULL;
  mpca_chunk *c = mpca_chunk_of(p);
  size_t counted = mpca_chunk_size(c); /* by mpca_medium_malloc */
  uintptr_t a = mpca_align_up((uintptr_t)p, align);
  if (a != (uintptr_t)p) {
    while (a - (uintptr_t)p < MPCA_MEDIUM_MIN_CHUNK)
      a += align;
    /* The chunk before c is in use (free chunks never touch), so the lead
     * becomes a free chunk of its own. */
    size_t lead = a - (uintptr_t)p;
    size_t total = mpca_chunk_size(c);
    mpca_chunk *nc = mpca_chunk_of((void *)a);
    set_head(nc, total - lead, MPCA_CHUNK_INUSE);
    make_free(h, c, lead); /* sets nc->prev_size and clears its PREV_INUSE */
    c = nc;
  }
  trim_tail(h, c, need);
  h->cnt.medium_used += mpca_chunk_size(c) - counted; /* smaller: no new peak */
  ((void **)mpca_chunk_payload(c))[1] = NULL; /* see take() */
  return mpca_chunk_payload(c);
}

bool mpca_medium_valid(const mpca_seg *seg, const void *p)
{
  const char *lo = (const char *)seg + MPCA_MEDIUM_FIRST + MPCA_CHUNK_HDR;
  const char *hi = (const char *)seg + MPCA_MEDIUM_SEG_SIZE - MPCA_CHUNK_HDR;
  if ((const char *)p < lo || (const char *)p >= hi || ((uintptr_t)p & (MPCA_ALIGNMENT - 1)))
    return false;
  const mpca_chunk *c = mpca_chunk_of(p);
  size_t sz = mpca_chunk_size(c);
  return (c->head & MPCA_CHUNK_INUSE) && (c->head & MPCA_CHUNK_TAG_MASK) == mpca_chunk_tag(c) &&
         sz >= MPCA_MEDIUM_MIN_CHUNK && (const char *)c + sz <= hi;
}

size_t mpca_medium_usable(const void *p) { return mpca_chunk_size(mpca_chunk_of(p)) - MPCA_CHUNK_HDR; }

size_t mpca_medium_purge(mpca_heap *h, bool only_aged)
{
  size_t purged = 0;
  for (unsigned b = 0; b < MPCA_MEDIUM_NBINS; b++)
    for (mpca_list *n = h->bins[b].next; n != &h->bins[b]; n = n->next) {
      mpca_chunk *c = mpca_container_of(n, mpca_chunk, link);
      if ((c->head & MPCA_CHUNK_PURGED) || mpca_chunk_size(c) < MEDIUM_PURGE_MIN)
        continue;
      if (only_aged && !(c->head & MPCA_CHUNK_AGED)) {
        c->head |= MPCA_CHUNK_AGED; /* purged at the next tick if still free */
        continue;
      }
      /* keep the chunk's header and list links; the next chunk's prev_size
       * lies beyond the chunk */
      purged += mpca_os_purge((char *)c + sizeof(mpca_chunk), mpca_chunk_size(c) - sizeof(mpca_chunk));
      c->head |= MPCA_CHUNK_PURGED;
    }
  return purged;
}

size_t mpca_medium_release_empty(mpca_heap *h, unsigned keep)
{
  size_t released = 0;
  mpca_list *n = h->medium_segs.next;
  while (n != &h->medium_segs && h->medium_empty_segs > keep) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    n = n->next;
    mpca_chunk *c = seg_first_chunk(seg);
    if ((c->head & MPCA_CHUNK_INUSE) || mpca_chunk_size(c) != MPCA_MEDIUM_AREA)
      continue;
    bin_remove(h, c);
    h->medium_empty_segs--;
    mpca_list_remove(&seg->link);
    h->cnt.segs_released++;
    released += seg->size;
    mpca_source_put(seg);
  }
  return released;
}

void mpca_medium_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  if (mpca_unlikely(!mpca_medium_valid(seg, p))) {
    const mpca_chunk *c = mpca_chunk_of(p);
    bool looks_free = ((uintptr_t)p & (MPCA_ALIGNMENT - 1)) == 0 &&
                      (const char *)p > (const char *)seg + MPCA_MEDIUM_FIRST &&
                      (const char *)p < (const char *)seg + MPCA_MEDIUM_SEG_SIZE && !(c->head & MPCA_CHUNK_INUSE) &&
                      (c->head & MPCA_CHUNK_TAG_MASK) == mpca_chunk_tag(c);
    mpca_bad_pointer(fn, p, looks_free ? "double free (block is already free)"
                                       : "invalid pointer (not the start of an allocated medium block)");
    return;
  }
  mpca_chunk *c = mpca_chunk_of(p);
  size_t size = mpca_chunk_size(c);
  if (mpca_unlikely(c->head & MPCA_CHUNK_SAMPLED))
    mpca_prof_release(p);
  h->cnt.medium_used -= size;
  if (!(c->head & MPCA_CHUNK_PREV_INUSE)) {
    mpca_chunk *prev = (mpca_chunk *)((char *)c - c->prev_size);
    bin_remove(h, prev);
    size += c->prev_size;
    c->head = 0; /* no longer a chunk: a second free of it must not pass */
    c = prev;
  }
  mpca_chunk *n = (mpca_chunk *)((char *)c + size);
  if (!(n->head & MPCA_CHUNK_INUSE)) {
    bin_remove(h, n);
    size += mpca_chunk_size(n);
  }
  make_free(h, c, size);
  if (size == MPCA_MEDIUM_AREA && h->medium_empty_segs > MEDIUM_EMPTY_KEEP)
    mpca_medium_release_empty(h, MEDIUM_EMPTY_KEEP);
}

bool mpca_medium_resize(mpca_heap *h, mpca_seg *seg, void *p, size_t size)
{
  (void)seg;
  mpca_chunk *c = mpca_chunk_of(p);
  size_t need = mpca_medium_chunk_for(size);
  size_t have = mpca_chunk_size(c);
  if (need <= have) {
    trim_tail(h, c, need);
    mpca_stats_medium(h, mpca_chunk_size(c) - have);
    if (mpca_unlikely(c->head & MPCA_CHUNK_SAMPLED))
      mpca_prof_resized(p, mpca_medium_usable(p));
    return true;
  }
  mpca_chunk *n = next_chunk(c);
  if ((n->head & MPCA_CHUNK_INUSE) || have + mpca_chunk_size(n) < need)
    return false;
  bin_remove(h, n);
  c->head += mpca_chunk_size(n);
  next_chunk(c)->head |= MPCA_CHUNK_PREV_INUSE;
  trim_tail(h, c, need);
  mpca_stats_medium(h, mpca_chunk_size(c) - have);
  if (mpca_unlikely(c->head & MPCA_CHUNK_SAMPLED))
    mpca_prof_resized(p, mpca_medium_usable(p));
  return true;
}
