/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Small blocks (up to MPCA_SMALL_MAX): size classes 16 bytes apart up to
 * MPCA_SMALL_QUANTUM_MAX, then MPCA_SMALL_CLASSES_PER_DOUBLING per power of
 * two. A run is a MPCA_RUN_SIZE slice of a 2 MiB macro block holding
 * blocks of one class; its descriptor sits in the macro block's header (in
 * run 0's space) at a place computed from the block's address, so blocks
 * carry no header at all and finding the run costs no load.
 *
 * Free slots are linked lists through the blocks, as in mimalloc, not
 * bitmaps: the owner's free pushes the block on its run's local_free list
 * (two stores and a decrement), and malloc pops the heap's per-class free
 * list, which is refilled in one step from the current run's local_free
 * list (or by linking slots of the run never used yet, or from the foreign
 * list). A run counts its slots out in `used`; the count reaching zero (all
 * free, or a full run getting its first block back: a full run's count is
 * kept at 1) is the only event the free fast path leaves to the slow path
 * here (mpca_small_run_event). The
 * heap keeps one current run per class, the partial runs (with free slots)
 * on a list, full runs on none, and gives wholly free runs back to their
 * macro block, and free macro blocks (but one) to the source.
 *
 * The mid sizes (classes above MPCA_SPAN_MIN, 5-32 KiB) would fit only 2-12
 * to a run, so that most of their mallocs and frees were run events: their
 * runs are spans of MPCA_SPAN_SIZE, in macro blocks of spans of their own
 * (ss->shift), whose registry entries carry MPCA_REG_SPAN. Everything here
 * treats a span as a run; only the free fast path differs (alloc.h).
 *
 * A free by another thread of the same NUMA node goes to that thread's
 * foreign list of the class (heap.c routes them): its next mallocs reuse the
 * block where its cache lines already are. Every free block carries
 * mpca_free_mark in its second word: a free that finds it there reports a
 * double free, whatever thread frees it. Owner thread only: no lock, no
 * atomic operation. */
#define _GNU_SOURCE
#include <string.h>
#include "mpca_error.h"
#include "mpca_list.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_registry.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

/* Run 0 holds the header; in the hardened build the rest of run 0 and the
 * whole last run are guard pages: between the header and the first run,
 * and between the last run and whatever the next mapping holds (maybe the
 * header of another macro block). Runs per macro block, and their shift,
 * by flavour: */
static const unsigned flavor_runs[MPCA_FLAVORS] = {MPCA_RUNS_PER_SEG, MPCA_SPANS_PER_SEG};
static const uint8_t flavor_shift[MPCA_FLAVORS] = {MPCA_RUN_SHIFT, MPCA_SPAN_SHIFT};
static_assert(MPCA_RUNS_PER_SEG <= 64 && MPCA_SPANS_PER_SEG < MPCA_RUNS_PER_SEG, "free_runs is one word");

/* The runs a macro block of flavour `f` gives out (bit i: run i). */
static uint64_t all_runs(unsigned f)
{
  unsigned n = flavor_runs[f];
  uint64_t m = (n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1) & ~(uint64_t)1;
  if (MPCA_HARDENED_ON)
    m &= ~((uint64_t)1 << (n - 1));
  return m;
}

MPCA_INLINE size_t run_bytes(const mpca_small_seg *ss) { return (size_t)1 << ss->shift; }

/* Hardened build: the guard pages a small macro block of flavour `f`
 * keeps while it is cached (enum mpca_guards). */
MPCA_INLINE unsigned guards_layout(unsigned f) { return f == 0 ? MPCA_GUARDS_SMALL : MPCA_GUARDS_SPANS; }

/* Hardened build: the guard pages of the small macro block `ss` set,
 * unless it has them already (reused from the cache: its guard pages stay
 * while it is cached, see source.c). False when the kernel refused. */
static bool guards_on(mpca_small_seg *ss)
{
#ifdef MPCA_HARDENED
  if (ss->hdr.guards == guards_layout(ss->flavor))
    return true;
  size_t page = mpca_os_page_size();
  size_t hdr = mpca_align_up(sizeof *ss, page);
  size_t run = run_bytes(ss);
  char *last = (char *)ss + MPCA_SEG_SIZE - run;
  ss->hdr.guards = (uint8_t)guards_layout(ss->flavor); /* what the source lifts, whatever happens next */
  bool head = mpca_os_guard((char *)ss + hdr, run - hdr, true);
  bool tail = mpca_os_guard(last, run, true);
  return head && tail;
#else
  (void)ss;
  return true;
#endif
}

/* Fully free small macro blocks of each flavour a heap keeps before giving
 * them back. */
#define SMALL_EMPTY_KEEP 1
static size_t release_empty(mpca_heap *h, unsigned f, unsigned keep);
/* Bytes of never-used slots linked at one refill (bounded by a run); for
 * the mid sizes, whose spans hold more blocks, more at once. */
#define CARVE_BYTES ((size_t)4 << 10)
#define SPAN_CARVE_BYTES ((size_t)64 << 10)
#define CARVE_MIN 4
#define MPCA_CARVE_MAX (CARVE_BYTES / MPCA_ALIGNMENT)
/* Bytes of other heaps' blocks a thread keeps per class before sending them
 * to their owners (and bounds on the block count). */
#define FOREIGN_BYTES ((size_t)32 << 10)
#define FOREIGN_MIN 4
#define FOREIGN_MAX 1024
/* Bytes of a class a heap's free list keeps before its oldest blocks go
 * back to their runs (and bounds on the block count: a run's worth of the
 * smallest class, a few of the biggest). */
#define FREE_BYTES ((size_t)64 << 10)
#define FREE_MIN 4
#define FREE_MAX 4096

mpca_size_class mpca_classes[MPCA_SMALL_NCLASSES + 1];
uint16_t mpca_class_lut[MPCA_SMALL_MAX / MPCA_ALIGNMENT + 1];
mpca_run mpca_run_none = {.state = MPCA_RUN_CURRENT};

static_assert(MPCA_RUN_SIZE / MPCA_ALIGNMENT <= UINT16_MAX, "slot counts fit 16 bits");
static_assert(MPCA_SMALL_MAX * 2 <= MPCA_RUN_SIZE, "a run holds two blocks of every class");
static_assert(MPCA_RUN_SHIFT < 32, "run offsets are below 2^32 (the divisibility test)");
static_assert(MPCA_SMALL_NCLASSES < 255, "a class fits a byte, MPCA_RUN_NO_CLASS too");

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

/* v within [lo, hi]; hi wins when lo > hi */
static size_t clamp(size_t v, size_t lo, size_t hi) { return v > hi ? hi : v < lo ? (lo < hi ? lo : hi) : v; }

void mpca_small_init(void)
{
  mpca_secret_init();
  size_t sz = 0;
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++) {
    size_t s = mpca_small_class_size(c);
    mpca_size_class *e = &mpca_classes[c];
    bool span = s > MPCA_SPAN_MIN;
    size_t run = span ? MPCA_SPAN_SIZE : MPCA_RUN_SIZE;
    e->size = (uint32_t)s;
    e->run_mask = (uint32_t)(run - 1);
    e->magic = UINT64_MAX / s + 1;
    e->nslots = (uint16_t)(run / s);
    uint64_t excess = e->magic * s; /* magic * s - 2^64, see mpca_run_is_slot */
    e->below = excess == 0 ? e->magic : e->nslots * excess;
    e->carve = (uint16_t)clamp((span ? SPAN_CARVE_BYTES : CARVE_BYTES) / s, CARVE_MIN, e->nslots);
    e->foreign_max = (uint16_t)clamp(FOREIGN_BYTES / s, FOREIGN_MIN, FOREIGN_MAX);
    e->free_max = (uint16_t)clamp(FREE_BYTES / s, FREE_MIN, FREE_MAX);
    for (; sz <= s && sz <= MPCA_SMALL_MAX; sz += MPCA_ALIGNMENT)
      mpca_class_lut[sz / MPCA_ALIGNMENT] = (uint16_t)(c * sizeof(mpca_size_class));
  }
  memset(&mpca_classes[MPCA_RUN_NO_CLASS], 0, sizeof mpca_classes[0]);
}

/* ---- statistics ---------------------------------------------------------- */

/* Slots out of r (a full run's count is kept at 1, see mpca_run). */
MPCA_INLINE int32_t slots_out(const mpca_run *r) { return r->state == MPCA_RUN_FULL ? r->nslots : r->used; }

/* Add what the slots out of r moved since last seen into the heap's gauges. */
static void sync_run(mpca_heap *h, mpca_run *r)
{
  int32_t u = slots_out(r);
  int32_t d = u - r->used_seen;
  if (d != 0) {
    mpca_stats_small_out(h, r->cls, d, mpca_classes[r->cls].size);
    r->used_seen = u;
  }
}

/* ---- a run alone ----------------------------------------------------------- */

void mpca_run_init(mpca_run *r, unsigned cls, char *base)
{
  const mpca_size_class *c = &mpca_classes[cls];
  r->local_free = NULL;
  r->base = base;
  r->magic = c->magic;
  r->below = c->below;
  r->used = 0;
  r->used_seen = 0;
  r->nslots = c->nslots;
  r->carved = 0;
  r->cls = (uint8_t)cls;
  r->state = MPCA_RUN_FREE;
  r->purged = 0;
  r->aged = 0;
}

/* Hardened build: the n slots from `first` linked in a random order (a
 * Fisher-Yates shuffle seeded from the secret and the slots' address), so
 * that where the next block lands cannot be told from where the last one
 * did. Returns the first of the list. */
static void **carve_shuffled(char *first, size_t size, unsigned n)
{
  uint16_t order[MPCA_CARVE_MAX];
  uint64_t x = (uint64_t)(uintptr_t)first ^ mpca_link_secret ^ 0x9e3779b97f4a7c15ull;
  for (unsigned i = 0; i < n; i++)
    order[i] = (uint16_t)i;
  for (unsigned i = n; i > 1; i--) {
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27; /* xorshift64 */
    unsigned j = (unsigned)(((x * 0x2545f4914f6cdd1dull) >> 32) % i);
    uint16_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  unsigned lines = mpca_small_fill_lines(mpca_small_class(size));
  for (unsigned i = 0; i < n; i++) {
    char *b = first + order[i] * size;
    mpca_link_set(b, i + 1 < n ? first + order[i + 1] * size : NULL);
    ((void **)b)[1] = (void *)mpca_free_mark;
    mpca_hard_fill_lines_set(b, lines);
  }
  return (void **)(first + order[0] * size);
}

void **mpca_run_carve(mpca_run *r, unsigned *count)
{
  const mpca_size_class *c = &mpca_classes[r->cls];
  unsigned n = r->nslots - r->carved;
  if (n > c->carve)
    n = c->carve;
  char *first = r->base + (size_t)r->carved * c->size;
  r->carved = (uint16_t)(r->carved + n);
  r->used += (int32_t)n;
  *count = n;
  if (MPCA_HARDENED_ON)
    return carve_shuffled(first, c->size, n);
  char *b = first;
  for (unsigned i = 1; i < n; i++, b += c->size) {
    mpca_link_set(b, b + c->size);
    ((void **)b)[1] = (void *)mpca_free_mark;
  }
  mpca_link_set(b, NULL);
  ((void **)b)[1] = (void *)mpca_free_mark;
  return (void **)first;
}

/* ---- macro blocks of runs ------------------------------------------------ */

static mpca_small_seg *small_seg_new(mpca_heap *h, unsigned f)
{
  mpca_seg *seg = MPCA_HARDENED_ON ? mpca_source_get_guarded(h->source, MPCA_SEG_SIZE, guards_layout(f))
                                   : mpca_source_get(h->source, MPCA_SEG_SIZE);
  if (seg == NULL)
    return NULL;
  mpca_small_seg *ss = (mpca_small_seg *)seg;
  ss->shift = flavor_shift[f];
  ss->flavor = (uint8_t)f;
  if (MPCA_HARDENED_ON && !guards_on(ss)) {
    mpca_source_put(seg); /* (with its guard pages, hardened build) */
    return NULL;
  }
  seg->kind = MPCA_KIND_SMALL;
  seg->owner = h;
  seg->free_runs = all_runs(f);
  for (unsigned i = 0; i < flavor_runs[f]; i++) {
    mpca_run *r = &ss->runs[i];
    r->below = 0; /* no slot check passes on a run not in use */
    r->state = MPCA_RUN_FREE;
    r->purged = seg->fresh;
    r->aged = 0;
  }
  mpca_list_push(&h->small_avail[f], &seg->link);
  h->small_empty_segs[f]++;
  h->cnt.segs_acquired++;
  return ss;
}


static mpca_run *run_new(mpca_heap *h, unsigned cls)
{
  unsigned f = mpca_small_class_flavor(cls);
  mpca_small_seg *ss;
  if (!mpca_list_empty(&h->small_avail[f]))
    ss = (mpca_small_seg *)mpca_container_of(h->small_avail[f].next, mpca_seg, link);
  else if ((ss = small_seg_new(h, f)) == NULL)
    return NULL;
  mpca_seg *seg = &ss->hdr;
  if (seg->free_runs == all_runs(f))
    h->small_empty_segs[f]--;
  unsigned i = (unsigned)__builtin_ctzll(seg->free_runs);
  seg->free_runs &= seg->free_runs - 1;
  if (seg->free_runs == 0) {
    mpca_list_remove(&seg->link);
    mpca_list_push(&h->small_full[f], &seg->link);
  }
  mpca_run *r = &ss->runs[i];
  mpca_run_init(r, cls, (char *)ss + ((size_t)i << ss->shift));
#ifdef MPCA_HARDENED
  memset(ss->taken[i], 0, sizeof ss->taken[i]);
#endif
  mpca_registry_set_run(r->base, run_bytes(ss), h, cls);
  h->cnt.small_runs_made++;
  h->small_runs[cls]++;
  return r;
}

static void run_release(mpca_heap *h, mpca_run *r)
{
  mpca_small_seg *ss = mpca_small_seg_of(r);
  mpca_seg *seg = &ss->hdr;
  unsigned f = ss->flavor;
  unsigned i = (unsigned)(r - ss->runs);
  unsigned cls = r->cls;
  r->used = 0;
  sync_run(h, r);
  r->state = MPCA_RUN_FREE;
  r->below = 0; /* no slot check passes on a run not in use */
  r->local_free = NULL;
  mpca_registry_set_run(r->base, run_bytes(ss), NULL, 0);
  h->cnt.small_runs_released++;
  h->small_runs[cls]--;
  if (seg->free_runs == 0) {
    mpca_list_remove(&seg->link);
    mpca_list_push(&h->small_avail[f], &seg->link);
  }
  seg->free_runs |= (uint64_t)1 << i;
  if (seg->free_runs == all_runs(f)) {
    h->small_empty_segs[f]++;
    if (h->small_empty_segs[f] > SMALL_EMPTY_KEEP)
      release_empty(h, f, SMALL_EMPTY_KEEP);
  }
}

static size_t release_empty(mpca_heap *h, unsigned f, unsigned keep)
{
  size_t released = 0;
  mpca_list *n = h->small_avail[f].next;
  while (n != &h->small_avail[f] && h->small_empty_segs[f] > keep) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    n = n->next;
    if (seg->free_runs != all_runs(f))
      continue;
    mpca_list_remove(&seg->link);
    h->small_empty_segs[f]--;
    h->cnt.segs_released++;
    released += seg->size;
    mpca_source_put(seg); /* (with its guard pages, hardened build) */
  }
  return released;
}

size_t mpca_small_release_empty(mpca_heap *h, unsigned keep)
{
  size_t released = 0;
  for (unsigned f = 0; f < MPCA_FLAVORS; f++)
    released += release_empty(h, f, keep);
  return released;
}

/* ---- run events ------------------------------------------------------------ */

void mpca_small_run_event(mpca_heap *h, mpca_run *r)
{
  if (r->state == MPCA_RUN_FULL) {
    /* first block back into a full run: it has room again. It joins the
     * partial list at the end, so that the runs taken first are those that
     * had time to get more blocks back (a run of 32 KiB blocks holds two). */
    r->used = r->nslots - 1;
    r->state = MPCA_RUN_PARTIAL;
    mpca_list_push(h->partial[r->cls].prev, &r->link);
  }
  if (r->used == 0 && r->state == MPCA_RUN_PARTIAL) {
    mpca_list_remove(&r->link);
    run_release(h, r);
    return;
  }
  sync_run(h, r);
}

/* ---- refill ---------------------------------------------------------------- */

/* r (not current any more) has every slot out. */
static void make_full(mpca_heap *h, mpca_run *r)
{
  r->state = MPCA_RUN_FULL;
  r->used = 1;
  sync_run(h, r);
}

/* The current run of `cls` has nothing left: it becomes full, and a partial
 * or new run becomes current. NULL when no memory can be had. */
static mpca_run *next_run(mpca_heap *h, unsigned cls)
{
  mpca_run *r = h->cur[cls];
  if (r != &mpca_run_none)
    make_full(h, r);
  if (!mpca_list_empty(&h->partial[cls])) {
    r = mpca_container_of(h->partial[cls].next, mpca_run, link);
    mpca_list_remove(&r->link);
  } else if ((r = run_new(h, cls)) == NULL) {
    h->cur[cls] = &mpca_run_none;
    return NULL;
  }
  r->state = MPCA_RUN_CURRENT;
  h->cur[cls] = r;
  return r;
}

/* Blocks for free[cls] (which is empty): the foreign list once it holds a
 * quarter of its bound, else the current run's local frees, else slots
 * never used, else the next run's. A few foreign blocks are not reused:
 * a block handed over by another thread and freed here (one object per
 * thread, cut from one run by the thread that made them) would come back
 * at this thread's next malloc, sharing a cache line with the other
 * threads' objects (Hoard's cache-scratch; our falseshare workload). */
static void **refill(mpca_heap *h, unsigned cls)
{
  void **list = h->foreign[cls];
  if (list != NULL && h->nforeign[cls] >= mpca_classes[cls].foreign_max / 4) {
    h->cls[cls].room = (int16_t)(h->cls[cls].free_max - h->nforeign[cls]);
    h->foreign[cls] = NULL;
    h->nforeign[cls] = 0;
    return list;
  }
  mpca_run *r = h->cur[cls];
  for (;;) {
    if (r->local_free != NULL) {
      list = r->local_free;
      r->local_free = NULL;
      h->cls[cls].room = (int16_t)(h->cls[cls].free_max - (r->carved - r->used));
      r->used = r->carved; /* every slot not in local_free was counted */
      sync_run(h, r);
      return list;
    }
    if (r->carved < r->nslots) {
      unsigned n;
      list = mpca_run_carve(r, &n);
      h->cls[cls].room = (int16_t)(h->cls[cls].free_max - n);
      sync_run(h, r);
      return list;
    }
    if ((r = next_run(h, cls)) == NULL)
      return NULL;
  }
}

void *mpca_small_malloc_slow(mpca_heap *h, unsigned cls)
{
  mpca_heap_class *hc = &h->cls[cls];
  void **p = hc->free;
  if (p == NULL && (p = refill(h, cls)) == NULL)
    return NULL;
  if (MPCA_HARDENED_ON)
    mpca_small_hard_taken(p, h, cls);
  hc->free = mpca_link_next(p);
  hc->room++;
  p[1] = NULL;
  return p;
}

/* ---- frees ----------------------------------------------------------------- */

void mpca_small_free(mpca_heap *h, mpca_seg *seg, void *p, const char *fn)
{
  mpca_run *r = mpca_small_desc((mpca_small_seg *)seg, p);
  if (mpca_unlikely(!mpca_run_is_slot(r, mpca_small_desc_off(r, p)))) {
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated small block)");
    return;
  }
  if (mpca_unlikely(mpca_small_marked_free(p) || !mpca_small_hard_release(p))) {
    mpca_bad_pointer(fn, p, "double free (block is already free)");
    return;
  }
  mpca_small_put_local(h, r, p);
}

void mpca_small_corrupt(const void *p)
{
  mpca_fatal("mpcalloc: heap corruption: malloc found %p on a free list but it is not a free block of the "
             "heap (a freed block was written to, or a list forged); aborting\n",
             p);
}

void mpca_small_hard_damaged(const void *p, bool link_bad, bool drained)
{
  const mpca_size_class *c = &mpca_classes[mpca_registry_class(mpca_registry_entry(p))];
  char where[40] = "in its first 8 bytes"; /* the link: checked through where it leads */
  if (!link_bad)
    mpca_snprintf(where, sizeof where, "at byte %zu", mpca_hard_fill_damage(p, 1, mpca_hard_fill_words(c->size)));
  mpca_fatal("mpcalloc: write after free: block %p (size class %zu bytes) was written %s after it was freed "
             "(or overrun by the block before it; found when %s); aborting\n",
             p, (size_t)c->size, where, drained ? "its owner took it back" : "it was handed out again");
}

void mpca_small_hard_foreign(void *p, uintptr_t e)
{
  mpca_small_hard_intact(p, e, mpca_registry_class(e));
#ifdef MPCA_HARDENED
  /* The owner freed it too (its bit is clear): a double free whose first
   * free brought the block here. The owner changes other bits of the word
   * meanwhile, never this one while the block is out (a relaxed load). */
  uint64_t bit;
  uint64_t *w = mpca_small_taken(mpca_small_seg_of(p), p, &bit);
  if (mpca_unlikely(!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit)))
    mpca_fatal("mpcalloc: free(%p): double free (block is already free; found when another thread handed it "
               "out); aborting\n",
               p); /* (even with MPCALLOC_ON_ERROR=warn: it is in two free lists) */
#endif
}

void mpca_small_put_chain(mpca_heap *h, mpca_run *r, void *first, void *last, unsigned n)
{
  mpca_link_set(last, r->local_free);
  r->local_free = first;
  r->used -= (int32_t)n;
  if (r->used == 0)
    mpca_small_run_event(h, r);
}

void mpca_small_free_drained(mpca_heap *h, mpca_run *r, void *p)
{
  if (mpca_unlikely(!mpca_run_is_slot(r, mpca_small_desc_off(r, p))))
    mpca_fatal("mpcalloc: heap corruption: remote-freed block %p is not a slot of heap %p; aborting\n", p,
               (void *)h);
  if (MPCA_HARDENED_ON && mpca_unlikely(!mpca_small_marked_free(p) ||
                                        !mpca_hard_fill_lines_ok(p, mpca_small_fill_lines(r->cls))))
    mpca_small_hard_damaged(p, false, true); /* written to since another thread freed it */
  if (mpca_unlikely(!mpca_small_hard_release(p))) {
    /* hardened build: freed twice, by threads whose marks crossed */
    mpca_bad_pointer("free", p, "double free (block is already free; found when its owner took it back)");
    return;
  }
  mpca_small_put_local(h, r, p);
}

/* Checks of a block freed by a thread that does not own it; marks it free. */
static int check_foreign(void *p, const char *fn)
{
  int cls = mpca_small_block_class(mpca_registry_entry(p), p);
  if (mpca_unlikely(cls < 0)) {
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated small block)");
    return -1;
  }
  if (mpca_unlikely(mpca_small_marked_free(p))) {
    mpca_bad_pointer(fn, p, "double free (block is already free)");
    return -1;
  }
  ((void **)p)[1] = (void *)mpca_free_mark;
  mpca_small_hard_fill(p, (unsigned)cls);
  return cls;
}

bool mpca_small_free_remote_check(void *p, const char *fn) { return check_foreign(p, fn) >= 0; }

/* ---- whole heap ------------------------------------------------------------ */

void mpca_small_retire(mpca_heap *h, unsigned c)
{
  {
    mpca_run *r = h->cur[c];
    if (r == &mpca_run_none)
      return;
    h->cur[c] = &mpca_run_none;
    if (r->used == 0) {
      run_release(h, r);
    } else if (r->local_free != NULL || r->carved < r->nslots) {
      r->state = MPCA_RUN_PARTIAL;
      mpca_list_push(&h->partial[c], &r->link);
      sync_run(h, r);
    } else {
      make_full(h, r);
    }
  }
}

static unsigned list_length(void *const *p)
{
  unsigned n = 0;
  for (; p; p = mpca_link_next(p))
    n++;
  return n;
}

unsigned mpca_small_cached(const mpca_heap *h, unsigned cls)
{
  return list_length(h->cls[cls].free) + list_length(h->foreign[cls]) + list_length(mpca_prof_held(h, cls));
}

/* The lists of the small macro blocks of h: with a free run, and full, of
 * each flavour. */
#define NSEG_LISTS (2 * MPCA_FLAVORS)
static void seg_lists(mpca_heap *h, mpca_list *l[NSEG_LISTS])
{
  for (unsigned f = 0; f < MPCA_FLAVORS; f++) {
    l[2 * f] = &h->small_avail[f];
    l[2 * f + 1] = &h->small_full[f];
  }
}

void mpca_small_sync_stats(mpca_heap *h)
{
  mpca_list *lists[NSEG_LISTS];
  seg_lists(h, lists);
  for (unsigned k = 0; k < NSEG_LISTS; k++)
    for (mpca_list *n = lists[k]->next; n != lists[k]; n = n->next) {
      mpca_small_seg *ss = (mpca_small_seg *)mpca_container_of(n, mpca_seg, link);
      for (uint64_t m = ~ss->hdr.free_runs & all_runs(ss->flavor); m; m &= m - 1)
        sync_run(h, &ss->runs[__builtin_ctzll(m)]);
    }
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++)
    h->cls[c].room = (int16_t)(h->cls[c].free_max - list_length(h->cls[c].free));
}

size_t mpca_small_purge(mpca_heap *h, bool only_aged, size_t keep)
{
  size_t purged = 0;
  mpca_list *lists[NSEG_LISTS];
  seg_lists(h, lists);
  for (unsigned k = 0; k < NSEG_LISTS; k++)
    for (mpca_list *n = lists[k]->next; n != lists[k]; n = n->next) {
      mpca_small_seg *ss = (mpca_small_seg *)mpca_container_of(n, mpca_seg, link);
      /* one call per stretch of consecutive free runs not purged yet */
      uint64_t todo = ss->hdr.free_runs;
      for (uint64_t m = todo; m; m &= m - 1) {
        mpca_run *r = &ss->runs[__builtin_ctzll(m)];
        if (r->purged || (only_aged && !r->aged)) {
          r->aged = 1; /* purged at the next tick if still free */
          todo &= ~((uint64_t)1 << __builtin_ctzll(m));
        } else if (keep >= run_bytes(ss)) { /* left resident */
          keep -= run_bytes(ss);
          todo &= ~((uint64_t)1 << __builtin_ctzll(m));
        }
      }
      while (todo) {
        unsigned first = (unsigned)__builtin_ctzll(todo);
        uint64_t rest = ~(todo >> first); /* 0 bits: the stretch */
        unsigned len = rest ? (unsigned)__builtin_ctzll(rest) : 64;
        if (first + len > 64)
          len = 64 - first;
        purged += mpca_os_purge((char *)ss + ((size_t)first << ss->shift), (size_t)len << ss->shift);
        for (unsigned i = first; i < first + len; i++)
          ss->runs[i].purged = 1;
        todo &= ~(len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1) << first);
      }
    }
  return purged;
}
