/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Memory sources and the large-buffer cache. A cached block stays mapped and
 * dirty, so reusing it costs no page fault and no kernel zeroing. Reuse is
 * a bounded best fit in bins of 4 per doubling: a larger block is split at
 * a MPCA_SEG_SIZE boundary, a smaller one grown with mremap so its pages are
 * kept. A freed block merges with the cached blocks of its own mapping that
 * it touches (found in an address-ordered index), so the pieces of a split
 * block become one block again instead of fragmenting the cache. Past the
 * limits (MPCALLOC_KEEP_MAX per block, MPCALLOC_KEEP_MEM per source,
 * MPCALLOC_RETAIN_MAX per process), the least recently freed blocks are
 * unmapped first. Syscalls are made with no source lock held (but for the
 * one-time mapping of the index). Never called on a malloc/free fast path.
 *
 * In the hardened build a cached block keeps its guard pages (seg->guards):
 * a block of the same layout taken whole reuses them without a system call;
 * any other use lifts them first (one mprotect over the block), and a
 * guarded block is never merged with its neighbours nor split. */
#include <errno.h>
#include <string.h>
#include "mpca_config.h"
#include "mpca_list.h"
#include "mpca_numa.h"
#include "mpca_os.h"
#include "mpca_registry.h"
#include "mpca_secret.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define NSOURCES MPCA_NSOURCES
static mpca_source sources[NSOURCES];
_Atomic size_t mpca_retained;

/* ---- demand -------------------------------------------------------------- */

/* What the cache may hold follows what the program uses: the sources'
 * demand is the bytes they have handed out (mapped less cached), and the
 * cache keeps at most the larger of the demand's peak over the last one or
 * two purge delays less the demand now (a solver's arrays between two
 * iterations stay cached) and the demand now (mimalloc-bench's
 * malloc-large, which replaces one of 20 buffers of 5-25 MiB at a time,
 * needs about that much to find fits: half of it made it 1.4 x slower),
 * and RETAIN_FLOOR whatever, within MPCALLOC_RETAIN_MAX. The peak is kept
 * per window of one purge delay, this one and the last. */
#define RETAIN_FLOOR ((size_t)64 << 20)
static _Atomic size_t demand_peak[2];
static _Atomic uint64_t demand_window;

static size_t demand_now(void)
{
  size_t mapped = atomic_load_explicit(&mpca_os_cnt.mapped, memory_order_relaxed);
  size_t cached = atomic_load_explicit(&mpca_retained, memory_order_relaxed);
  return mapped > cached ? mapped - cached : 0;
}

static void demand_note(uint64_t now)
{
  uint64_t delay = mpca_opt[MPCA_OPT_PURGE_DELAY];
  uint64_t w = now / (delay == 0 || delay == MPCA_TIME_NEVER ? 1 : delay);
  uint64_t cur = atomic_load_explicit(&demand_window, memory_order_relaxed);
  if (w != cur && atomic_compare_exchange_strong_explicit(&demand_window, &cur, w, memory_order_relaxed,
                                                          memory_order_relaxed)) {
    size_t last = w == cur + 1 ? atomic_load_explicit(&demand_peak[0], memory_order_relaxed) : 0;
    atomic_store_explicit(&demand_peak[1], last, memory_order_relaxed);
    atomic_store_explicit(&demand_peak[0], 0, memory_order_relaxed);
  }
  size_t d = demand_now(), p = atomic_load_explicit(&demand_peak[0], memory_order_relaxed);
  while (d > p && !atomic_compare_exchange_weak_explicit(&demand_peak[0], &p, d, memory_order_relaxed,
                                                         memory_order_relaxed))
    ;
}

/* The most the sources may cache now (see above). */
static size_t retain_limit(void)
{
  size_t max = mpca_opt[MPCA_OPT_RETAIN_MAX];
  if (mpca_opt[MPCA_OPT_PURGE_DELAY] == MPCA_TIME_NEVER)
    return max;
  size_t p0 = atomic_load_explicit(&demand_peak[0], memory_order_relaxed);
  size_t p1 = atomic_load_explicit(&demand_peak[1], memory_order_relaxed);
  size_t peak = p0 > p1 ? p0 : p1, d = demand_now();
  size_t room = peak > d ? peak - d : 0;
  if (room < d) /* a program replacing big buffers reuses about what it uses */
    room = d;
  if (room < RETAIN_FLOOR)
    room = RETAIN_FLOOR;
  return room < max ? room : max;
}

/* A source is set up at its first use (under its lock, which needs no
 * set-up: a zeroed mutex is an unlocked one): most of the 66 are never
 * used, and setting them all up wrote 180 KiB, resident for the life of
 * every process. ready[] (one cache line) says which ones are. */
static _Atomic unsigned char ready[NSOURCES];

void mpca_sources_init(void)
{
  for (int i = 0; i < NSOURCES; i++)
    atomic_store_explicit(&ready[i], 0, memory_order_relaxed);
}

/* Held while a source is set up, and across fork: a source that is not
 * ready is touched by nobody but its first user. Walks over the sources
 * (trims, fork) look at ready[] only, not at the sources: on some kernels
 * a read of a page never written maps a fresh page as well. */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_ready(int i) { return atomic_load_explicit(&ready[i], memory_order_acquire) != 0; }

/* Lock `s`, setting it up first if it was never used. */
static void source_lock(mpca_source *s)
{
  unsigned i = (unsigned)(s - sources);
  if (mpca_unlikely(!is_ready((int)i))) {
    pthread_mutex_lock(&setup_lock);
    if (!is_ready((int)i)) {
      pthread_mutex_init(&s->lock, NULL);
      for (int b = 0; b < MPCA_SOURCE_NBINS; b++)
        mpca_list_init(&s->bins[b]);
      mpca_list_init(&s->lru);
      s->naddr = 0; /* the index array, once mapped, is kept */
      s->cached = 0;
      atomic_store_explicit(&ready[i], 1, memory_order_release);
    }
    pthread_mutex_unlock(&setup_lock);
  }
  pthread_mutex_lock(&s->lock);
}

mpca_source *mpca_source_for_node(int node) { return &sources[mpca_source_index(node)]; }

unsigned mpca_source_id(const mpca_source *s) { return (unsigned)(s - sources); }

/* The node of source `s` (MPCA_NODE_UNBOUND, MPCA_NODE_INTERLEAVED, or a
 * node number), without touching it. */
static int source_node(const mpca_source *s) { return mpca_source_node((unsigned)(s - sources)); }

size_t mpca_source_cached(const mpca_source *s) { return is_ready((int)(s - sources)) ? s->cached : 0; }

/* Bin of a block of `size` bytes: 4 bins per doubling of its page count,
 * in size order, so every block of a higher bin is larger than any of a
 * lower one. */
static unsigned bin_of(size_t size)
{
  size_t pages = size / mpca_os_page_size();
  if (pages < MPCA_SOURCE_BINS_PER_DOUBLING)
    return (unsigned)pages;
  unsigned l = mpca_log2(pages);
  unsigned sub = (unsigned)(pages >> (l - 2)) & (MPCA_SOURCE_BINS_PER_DOUBLING - 1);
  unsigned b = l * MPCA_SOURCE_BINS_PER_DOUBLING + sub;
  return b < MPCA_SOURCE_NBINS ? b : MPCA_SOURCE_NBINS - 1;
}

/* ---- the address index: cached segs of a source in address order -------- */

/* Every fresh mapping gets a number, kept by the blocks split from it:
 * blocks of one mapping that touch can be merged without ever making one
 * block span two mappings (mremap works on one mapping only). */
static _Atomic uint32_t next_map_id = 1;

/* The index array, mapped on the source's first cached block (a source
 * that is never used costs nothing). Called with the lock held. */
static bool index_ready(mpca_source *s)
{
  if (mpca_unlikely(s->by_addr == NULL))
    s->by_addr = mpca_os_meta_map(MPCA_SOURCE_MAX_CACHED * sizeof *s->by_addr);
  return s->by_addr != NULL;
}

/* Position of the first cached seg at or above `addr`. */
static unsigned index_pos(const mpca_source *s, const void *addr)
{
  unsigned lo = 0, hi = s->naddr;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if ((uintptr_t)s->by_addr[mid] < (uintptr_t)addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void index_insert_at(mpca_source *s, unsigned i, mpca_seg *seg)
{
  memmove(&s->by_addr[i + 1], &s->by_addr[i], (s->naddr - i) * sizeof *s->by_addr);
  s->by_addr[i] = seg;
  s->naddr++;
}

static void index_remove_at(mpca_source *s, unsigned i)
{
  s->naddr--;
  memmove(&s->by_addr[i], &s->by_addr[i + 1], (s->naddr - i) * sizeof *s->by_addr);
}

/* ---- cache primitives: call with s->lock held -------------------------- */

/* Blocks of the age list looked at, at most, to place a block that is not
 * the most recently freed (past that, it may be purged a little late). */
#define LRU_SCAN 16

/* The age list is sorted by freed_ms, most recent first: a block freed now
 * goes to the front; a split tail keeps the time of its block and goes to
 * its place, looked for from the oldest end. */
static void lru_insert(mpca_source *s, mpca_seg *seg)
{
  mpca_list *front = s->lru.next;
  if (front == &s->lru || mpca_container_of(front, mpca_seg, lru)->freed_ms <= seg->freed_ms) {
    mpca_list_push(&s->lru, &seg->lru);
    return;
  }
  mpca_list *pos = s->lru.prev;
  for (unsigned i = 0;
       i < LRU_SCAN && pos != &s->lru && mpca_container_of(pos, mpca_seg, lru)->freed_ms < seg->freed_ms; i++)
    pos = pos->prev;
  mpca_list_push(pos, &seg->lru);
}

/* Bins, age list and byte counts (not the index). `idle_since`: when the
 * block's pages were last used. */
static void cache_link(mpca_source *s, mpca_seg *seg, uint64_t idle_since)
{
  seg->kind = MPCA_KIND_CACHED;
  seg->owner = NULL;
  seg->fresh = 0;
  seg->freed_ms = idle_since;
  mpca_list_push(&s->bins[bin_of(seg->size)], &seg->link);
  lru_insert(s, seg);
  s->cached += seg->size;
  if (s->cached > s->cached_hwm)
    s->cached_hwm = s->cached;
  atomic_fetch_add_explicit(&mpca_retained, seg->size, memory_order_relaxed);
}

static void cache_unlink(mpca_source *s, mpca_seg *seg)
{
  mpca_list_remove(&seg->link);
  mpca_list_remove(&seg->lru);
  s->cached -= seg->size;
  atomic_fetch_sub_explicit(&mpca_retained, seg->size, memory_order_relaxed);
}

/* The guard pages `seg` keeps (enum mpca_guards); none in the default build. */
MPCA_INLINE unsigned guards_of(const mpca_seg *seg)
{
#ifdef MPCA_HARDENED
  return seg->guards;
#else
  (void)seg;
  return MPCA_GUARDS_NONE;
#endif
}

static bool touches(const mpca_seg *a, const mpca_seg *b)
{
  return (const char *)a + a->size == (const char *)b && a->map_id == b->map_id && !guards_of(a) &&
         !guards_of(b);
}

/* Cache `seg`, idle since `idle_since`, merged with the cached blocks of
 * its mapping that it touches, so that freed pieces of a split block become
 * one block again. A merged block is as idle as its most recently used
 * part. Only headers of cached blocks are read: they stay mapped while the
 * lock is held. False when the index is full: the caller unmaps the block
 * instead. */
static bool cache_insert(mpca_source *s, mpca_seg *seg, uint64_t idle_since)
{
  if (!index_ready(s))
    return false;
  unsigned i = index_pos(s, seg);
  mpca_seg *prev = i > 0 ? s->by_addr[i - 1] : NULL;
  mpca_seg *next = i < s->naddr ? s->by_addr[i] : NULL;
  bool join_prev = prev != NULL && touches(prev, seg);
  bool join_next = next != NULL && touches(seg, next);
  if (!join_prev && !join_next && s->naddr == MPCA_SOURCE_MAX_CACHED)
    return false;
  mpca_seg *head = join_prev ? prev : seg;
  size_t size = seg->size;
  if (join_prev && prev->freed_ms > idle_since)
    idle_since = prev->freed_ms;
  if (join_next && next->freed_ms > idle_since)
    idle_since = next->freed_ms;
  if (join_next) {
    cache_unlink(s, next);
    index_remove_at(s, i);
    size += next->size;
    next->kind = 0; /* no longer a block header */
  }
  if (join_prev) {
    cache_unlink(s, prev);
    seg->kind = 0;
    mpca_registry_set(seg, size, prev);
    head->size += size;
  } else {
    if (join_next)
      mpca_registry_set(next, next->size, seg);
    seg->size = size;
    index_insert_at(s, i, seg);
  }
  cache_link(s, head, idle_since);
  return true;
}

static void cache_remove(mpca_source *s, mpca_seg *seg)
{
  cache_unlink(s, seg);
  unsigned i = index_pos(s, seg);
  if (mpca_unlikely(i >= s->naddr || s->by_addr[i] != seg))
    mpca_fatal("mpcalloc: heap corruption: cached block %p missing from its source's index; aborting\n",
               (void *)seg);
  index_remove_at(s, i);
}

/* Blocks of a bin looked at, at most, by one search: the cache may hold
 * hundreds of blocks, each header on its own page, under the source lock. */
#define BIN_SCAN 8

/* Whether mpca_source_get hands `seg` out whole for a request of `size`:
 * neither split (split_tail) nor shrunk (SHRINK_MIN). */
#define SHRINK_MIN ((size_t)256 << 10)
static bool taken_whole(const mpca_seg *seg, size_t size)
{
  return seg->size >= size && seg->size < mpca_align_up(size, MPCA_SEG_SIZE) + MPCA_SEG_SIZE &&
         !(seg->size - size >= SHRINK_MIN && seg->size > 2 * size);
}

/* A cached block of at least `size`: in the hardened build, the first of
 * the first BIN_SCAN of its bin that has the guard pages of `layout` and is
 * taken whole; else the smallest of those BIN_SCAN, else the most recently
 * freed block of the next non-empty bin (every block there is larger). */
static mpca_seg *cache_best_fit(mpca_source *s, size_t size, unsigned layout)
{
  unsigned b = bin_of(size);
  mpca_seg *best = NULL;
  unsigned looked = 0;
  for (mpca_list *n = s->bins[b].next; n != &s->bins[b] && looked < BIN_SCAN; n = n->next, looked++) {
    mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
    if (MPCA_HARDENED_ON && layout != MPCA_GUARDS_NONE && guards_of(seg) == layout && taken_whole(seg, size))
      return seg;
    if (seg->size >= size && (best == NULL || seg->size < best->size)) {
      best = seg;
      if (seg->size == size)
        break;
    }
  }
  if (best)
    return best;
  for (b++; b < MPCA_SOURCE_NBINS; b++)
    if (!mpca_list_empty(&s->bins[b]))
      return mpca_container_of(s->bins[b].next, mpca_seg, link);
  return NULL;
}

/* A cached block smaller than `size` but at least half of it, to be grown:
 * the largest of the first BIN_SCAN of the highest bin that has one. */
static mpca_seg *cache_grow_candidate(mpca_source *s, size_t size)
{
  unsigned low = bin_of(size / 2);
  for (unsigned b = bin_of(size) + 1; b-- > low;) {
    mpca_seg *best = NULL;
    unsigned looked = 0;
    for (mpca_list *n = s->bins[b].next; n != &s->bins[b] && looked < BIN_SCAN; n = n->next, looked++) {
      mpca_seg *seg = mpca_container_of(n, mpca_seg, link);
      if (seg->size < size && seg->size >= size / 2 && (best == NULL || seg->size > best->size))
        best = seg;
    }
    if (best)
      return best;
  }
  return NULL;
}

static void seg_setup(mpca_seg *seg, mpca_source *s, size_t size, bool fresh)
{
  seg->size = size;
  seg->source = s;
  seg->node = (uint32_t)source_node(s);
  seg->owner = NULL;
  seg->fresh = fresh;
  seg->sampled = 0;
  mpca_list_init(&seg->link);
  mpca_list_init(&seg->lru);
}

static void seg_unmap(mpca_seg *seg)
{
  void *base = seg;
  size_t size = seg->size;
  mpca_registry_clear(base, size);
  mpca_stats_mapped((int)seg->node, -(uint64_t)size);
  mpca_os_unmap(base, size);
}

/* A block coming back carries its source's node again: the heap profiler
 * marks the blocks of its heap with a node no source has (mpca_prof.h). */
static void renode(mpca_seg *seg) { seg->node = (uint32_t)source_node(seg->source); }

void mpca_source_unmap(mpca_seg *seg)
{
  renode(seg);
  seg_unmap(seg);
}

static void unmap_list(mpca_list *victims)
{
  while (!mpca_list_empty(victims)) {
    mpca_seg *seg = mpca_container_of(victims->next, mpca_seg, link);
    mpca_list_remove(&seg->link);
    seg_unmap(seg);
  }
}

/* Move blocks idle for MPCALLOC_PURGE_DELAY or more onto `victims`, from
 * the old end of the age list (sorted by freed_ms, see lru_insert). */
static void cache_decay(mpca_source *s, uint64_t now, mpca_list *victims)
{
  uint64_t delay = mpca_opt[MPCA_OPT_PURGE_DELAY];
  if (delay == MPCA_TIME_NEVER)
    return;
  while (!mpca_list_empty(&s->lru)) {
    mpca_seg *old = mpca_container_of(s->lru.prev, mpca_seg, lru);
    if (old->freed_ms + delay > now)
      break;
    cache_remove(s, old);
    mpca_list_push(victims, &old->link);
  }
}

/* Move blocks past the limits onto `victims`, oldest first. */
static void cache_enforce(mpca_source *s, size_t source_limit, size_t process_limit, mpca_list *victims)
{
  while (!mpca_list_empty(&s->lru) &&
         (s->cached > source_limit ||
          atomic_load_explicit(&mpca_retained, memory_order_relaxed) > process_limit)) {
    mpca_seg *old = mpca_container_of(s->lru.prev, mpca_seg, lru);
    cache_remove(s, old);
    mpca_list_push(victims, &old->link);
  }
}

/* Blocks of MPCALLOC_THP_MIN and up ask for transparent huge pages: one
 * fault (and one zeroing) per 2 MiB instead of 512. Split tails and blocks
 * moved by mremap keep the advice, so a cached block keeps it on reuse. */
static void advise_thp(void *p, size_t size)
{
  if (mpca_opt[MPCA_OPT_THP_MIN] != 0 && size >= mpca_opt[MPCA_OPT_THP_MIN])
    mpca_os_advise_huge_pages(p, size);
}

/* ---- public --------------------------------------------------------------- */

static mpca_seg *map_fresh(mpca_source *s, size_t size)
{
  void *p = mpca_os_map_aligned(size, MPCA_SEG_SIZE);
  if (p == NULL)
    return NULL;
  mpca_numa_bind(p, size, source_node(s));
  advise_thp(p, size); /* before the header write: that touch may be a huge page */
  mpca_seg *seg = p;
  seg_setup(seg, s, size, true);
  seg->map_id = atomic_fetch_add_explicit(&next_map_id, 1, memory_order_relaxed);
  if (!mpca_registry_set(p, size, seg)) {
    mpca_os_unmap(p, size);
    errno = ENOMEM;
    return NULL;
  }
  mpca_stats_mapped(source_node(s), size);
  return seg;
}

/* (SHRINK_MIN: a cached block taken for a request smaller than half of
 * it, with at least this much to spare, is shrunk to the request.) */

/* Split `seg` so it keeps `size` bytes (rounded to MPCA_SEG_SIZE); the tail
 * goes back to the cache. Called with the lock held. */
static void split_tail(mpca_source *s, mpca_seg *seg, size_t size)
{
  size_t keep = mpca_align_up(size, MPCA_SEG_SIZE);
  if (seg->size <= keep || seg->size - keep < MPCA_SEG_SIZE)
    return;
  mpca_seg *tail = (mpca_seg *)((char *)seg + keep);
  seg_setup(tail, s, seg->size - keep, false);
#ifdef MPCA_HARDENED
  tail->guards = MPCA_GUARDS_NONE; /* (seg has none: it is split) */
#endif
  tail->map_id = seg->map_id;
  seg->size = keep;
  /* registry entries of the tail now name the tail's header */
  mpca_registry_set(tail, tail->size, tail);
  /* cannot fail (`seg` just left the index); the tail has been idle as long
   * as the block it was part of */
  cache_insert(s, tail, seg->freed_ms);
}

bool mpca_source_unguard(mpca_seg *seg)
{
#ifdef MPCA_HARDENED
  if (seg->guards != MPCA_GUARDS_NONE) {
    if (!mpca_os_guard(seg, seg->size, false))
      return false;
    seg->guards = MPCA_GUARDS_NONE;
  }
#else
  (void)seg;
#endif
  return true;
}

/* Hardened build: `seg` (out of the cache) has guard pages that its new
 * use does not want: lifted, or when the kernel refuses, the block is
 * unmapped (false). */
static MPCA_COLD bool unguard_or_unmap(mpca_seg *seg)
{
  if (mpca_source_unguard(seg))
    return true;
  seg_unmap(seg);
  return false;
}

MPCA_INLINE mpca_seg *source_get(mpca_source *s, size_t size, unsigned layout)
{
  size = mpca_align_up(size, mpca_os_page_size());
  source_lock(s);
  mpca_seg *seg = cache_best_fit(s, size, layout);
  if (seg != NULL) {
    cache_remove(s, seg);
    /* hardened build: guard pages this use does not want are lifted (with
     * no lock held); a block whose guards stay is unmapped, and the search
     * starts again */
    while (MPCA_HARDENED_ON && seg != NULL && guards_of(seg) != MPCA_GUARDS_NONE &&
           (guards_of(seg) != layout || !taken_whole(seg, size))) {
      pthread_mutex_unlock(&s->lock);
      bool usable = unguard_or_unmap(seg);
      source_lock(s);
      if (!usable && (seg = cache_best_fit(s, size, layout)) != NULL)
        cache_remove(s, seg);
    }
  }
  if (seg != NULL) {
    split_tail(s, seg, size);
    s->hits++;
    pthread_mutex_unlock(&s->lock);
    seg_setup(seg, s, seg->size, false);
    /* What is left is less than a macro block unit; much more than the
     * request (a small block's 2 MiB for a 100 KiB huge block) would stay
     * mapped, and resident where it was used, for nothing: unmap it. */
    if (seg->size - size >= SHRINK_MIN && seg->size > 2 * size)
      seg = mpca_source_resize(seg, size); /* shrinking never fails: keeps the block at worst */
    return seg;
  }
  mpca_seg *grow = cache_grow_candidate(s, size);
  if (grow != NULL)
    cache_remove(s, grow);
  s->misses++;
  pthread_mutex_unlock(&s->lock);
  if (MPCA_HARDENED_ON && grow != NULL && guards_of(grow) != MPCA_GUARDS_NONE && !unguard_or_unmap(grow))
    grow = NULL; /* mremap moves one mapping, not several */
  if (grow != NULL) {
    seg_setup(grow, s, grow->size, false);
    mpca_seg *grown = mpca_source_resize(grow, size);
    if (grown != NULL)
      return grown;
    mpca_source_put(grow);
  }
  mpca_seg *seg_new = map_fresh(s, size);
  if (seg_new == NULL && mpca_source_release(0) != 0) /* out of address space: */
    seg_new = map_fresh(s, size);                       /* give the cache back, retry */
  return seg_new;
}

mpca_seg *mpca_source_get(mpca_source *s, size_t size) { return source_get(s, size, MPCA_GUARDS_NONE); }

mpca_seg *mpca_source_get_guarded(mpca_source *s, size_t size, unsigned layout)
{
  return source_get(s, size, layout);
}

void mpca_source_put(mpca_seg *seg)
{
  mpca_source *s = seg->source;
  renode(seg);
  if (seg->size > mpca_opt[MPCA_OPT_KEEP_MAX]) {
    seg_unmap(seg);
    return;
  }
  mpca_list victims;
  mpca_list_init(&victims);
  uint64_t now = mpca_os_now_ms();
  demand_note(now); /* the block still counts as handed out: its demand peaks now */
  source_lock(s);
  bool kept = cache_insert(s, seg, now);
  cache_decay(s, now, &victims);
  size_t limit = retain_limit();
  cache_enforce(s, mpca_opt[MPCA_OPT_KEEP_MEM], limit, &victims);
  pthread_mutex_unlock(&s->lock);
  if (!kept)
    seg_unmap(seg);
  unmap_list(&victims);
  /* Other sources may hold the excess of the process-wide budget. */
  if (atomic_load_explicit(&mpca_retained, memory_order_relaxed) > limit)
    mpca_source_release(limit);
}

mpca_seg *mpca_source_resize(mpca_seg *seg, size_t new_size)
{
  size_t page = mpca_os_page_size();
  new_size = mpca_align_up(new_size, page);
  size_t old_size = seg->size;
  if (new_size == old_size)
    return seg;
  /* The registry forgets a range before it is unmapped (here by mremap),
   * never after: once unmapped, another thread may map and register it. */
  if (new_size < old_size) {
    uintptr_t end_unit = mpca_align_up((uintptr_t)seg + new_size, MPCA_REG_UNIT);
    uintptr_t old_end = (uintptr_t)seg + old_size;
    if (old_end > end_unit) /* units the block will no longer touch */
      mpca_registry_clear((void *)end_unit, old_end - end_unit);
    if (!mpca_os_remap_inplace(seg, old_size, new_size)) {
      if (old_end > end_unit)
        mpca_registry_set((void *)end_unit, old_end - end_unit, seg);
      return seg; /* keep the larger mapping: still correct */
    }
    mpca_stats_mapped(source_node(seg->source), -(uint64_t)(old_size - new_size));
    seg->size = new_size;
    return seg;
  }
  if (!mpca_registry_reserve(seg, new_size))
    return NULL;
  if (mpca_os_remap_inplace(seg, old_size, new_size)) {
    mpca_registry_set(seg, new_size, seg);
    mpca_stats_mapped(source_node(seg->source), new_size - old_size);
    mpca_numa_bind((char *)seg + old_size, new_size - old_size, source_node(seg->source));
    advise_thp(seg, new_size);
    seg->size = new_size;
    return seg;
  }
  /* Move to a fresh aligned window whose registry tables exist beforehand,
   * so that nothing can fail once the pages have moved. */
  void *target = mpca_os_reserve_aligned(new_size, MPCA_SEG_SIZE);
  if (target == NULL)
    return NULL;
  if (!mpca_registry_reserve(target, new_size)) {
    mpca_os_unmap_reserved(target, new_size);
    return NULL;
  }
  mpca_registry_clear(seg, old_size);
  if (!mpca_os_remap_fixed(seg, old_size, new_size, target)) {
    mpca_registry_set(seg, old_size, seg); /* tables exist: cannot fail */
    mpca_os_unmap_reserved(target, new_size);
    return NULL;
  }
  mpca_seg *moved = target;
  moved->map_id = atomic_fetch_add_explicit(&next_map_id, 1, memory_order_relaxed); /* a mapping of its own now */
  mpca_registry_set(moved, new_size, moved);
  mpca_stats_mapped(source_node(moved->source), new_size - old_size);
  mpca_numa_bind((char *)moved + old_size, new_size - old_size, source_node(moved->source));
  advise_thp(moved, new_size);
  moved->size = new_size;
  return moved;
}

/* Moves the cached blocks of `s` that must go onto `victims` (lock held). */
typedef void cache_picker(mpca_source *s, uint64_t arg, mpca_list *victims);

static void pick_over_budget(mpca_source *s, uint64_t keep, mpca_list *victims)
{
  cache_enforce(s, SIZE_MAX, keep, victims);
}

/* Unmap, source after source, the blocks `pick` chooses; returns the bytes
 * released. A source's byte count is read without its lock to skip empty
 * sources: a block cached meanwhile waits for the next call. */
static size_t trim_sources(cache_picker *pick, uint64_t arg)
{
  size_t released = 0;
  for (int i = 0; i < NSOURCES; i++) {
    mpca_source *s = &sources[i];
    if (!is_ready(i) || s->cached == 0)
      continue;
    mpca_list victims;
    mpca_list_init(&victims);
    source_lock(s);
    size_t before = s->cached;
    pick(s, arg, &victims);
    released += before - s->cached;
    pthread_mutex_unlock(&s->lock);
    unmap_list(&victims);
  }
  return released;
}

size_t mpca_source_release(size_t keep) { return trim_sources(pick_over_budget, keep); }

size_t mpca_source_decay(uint64_t now) { return trim_sources(cache_decay, now); }

void mpca_sources_fork_prepare(void)
{
  pthread_mutex_lock(&setup_lock); /* no source becomes ready meanwhile */
  for (int i = 0; i < NSOURCES; i++)
    if (is_ready(i))
      pthread_mutex_lock(&sources[i].lock);
}

void mpca_sources_fork_parent(void)
{
  for (int i = NSOURCES; i-- > 0;)
    if (is_ready(i))
      pthread_mutex_unlock(&sources[i].lock);
  pthread_mutex_unlock(&setup_lock);
}

void mpca_sources_fork_child(void)
{
  for (int i = 0; i < NSOURCES; i++)
    if (is_ready(i))
      pthread_mutex_init(&sources[i].lock, NULL);
  pthread_mutex_init(&setup_lock, NULL);
}
