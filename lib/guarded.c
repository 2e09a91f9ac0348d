/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Guarded blocks (hardened build): blocks above MPCA_SMALL_MAX and up to the
 * medium limit in slots of whole pages, each followed by a guard page, in
 * macro blocks of one size class whose header is out of line (mpca_guarded.h).
 * The guard pages are set when a macro block is first made; the block keeps
 * them in its source's cache (seg->guards), so that a macro block of the
 * same class reuses it without a system call. Nothing the allocator needs
 * lives next to a block: an overflow or an underflow past a block's slot
 * hits a guard page (fault.c reports it), a smaller one breaks a canary
 * checked at free, a write into a freed block breaks its fill, checked when
 * its slot is handed out again, and the taken bitmap makes every double
 * free exact, from any thread.
 *
 * All threads share the macro blocks of a class and a source (no owner, no
 * remote free): one mutex per class, held for a few dozen instructions
 * (a find-first-set, the bitmap, a list move, the fill); never a system
 * call under it. Fully free macro blocks stay with their class, guard
 * pages and all, until they have been unused for MPCALLOC_PURGE_DELAY
 * (checked when another one empties, and at the heaps' purge ticks) or
 * the program calls malloc_trim: then they go to their source. Handing
 * them back sooner made the source cache a mix of blocks of every layout,
 * each reused for another one after n + 1 system calls. Never allocates. */
#include <pthread.h>
#include <string.h>
#include "mpca_config.h"
#include "mpca_error.h"
#include "mpca_guarded.h"
#include "mpca_list.h"
#include "mpca_os.h"
#include "mpca_secret.h"
#include "mpca_source.h"
#include "mpca_stats.h"

static_assert(MPCA_GUARDED_NCLASSES == 4 * (MPCA_SEG_SHIFT - 1 - 15), "classes of 32 KiB - 1 MiB");
static_assert(MPCA_SMALL_MAX == (size_t)1 << 15 && MPCA_MEDIUM_MAX == (size_t)1 << 20,
              "4 classes per doubling from 32 KiB to 1 MiB");
#define CLASS_BASE_LOG 15
/* Bytes of canary checked past a block's end (the rest of an aligned
 * block's slack is not). */
#define TAIL_CANARY_MAX 64
#define HEAD_CANARY 16

/* Per class: its lock, per source the macro blocks with a free slot and
 * the fully free ones (most recently emptied first; hdr.freed_ms says
 * when). Lists are set up at their first use. */
typedef struct MPCA_ALIGNED(MPCA_CACHE_LINE) gclass {
  pthread_mutex_t lock;
  mpca_list avail[MPCA_NSOURCES];
  mpca_list idle[MPCA_NSOURCES];
} gclass;
static gclass gclasses[MPCA_GUARDED_NCLASSES];

/* ---- classes and geometry ---------------------------------------------- */

MPCA_INLINE size_t class_size(unsigned c)
{
  size_t base = (size_t)1 << (CLASS_BASE_LOG + c / 4);
  return base + (base / 4) * (c % 4 + 1);
}

/* The class whose blocks hold `need` bytes (at most MPCA_MEDIUM_MAX). */
MPCA_INLINE unsigned class_of(size_t need)
{
  if (need <= MPCA_SMALL_MAX)
    return 0;
  unsigned l = mpca_log2(need - 1);
  return (l - CLASS_BASE_LOG) * 4 + (unsigned)((need - 1 - ((size_t)1 << l)) >> (l - 2));
}

/* Bytes of the slot a request needs: its size rounded to MPCA_ALIGNMENT,
 * and room to align its start down. */
MPCA_INLINE size_t slot_need(size_t size, size_t align)
{
  size_t asize = size < MPCA_ALIGNMENT ? MPCA_ALIGNMENT : mpca_align_up(size, MPCA_ALIGNMENT);
  return asize + (align > MPCA_ALIGNMENT ? align - MPCA_ALIGNMENT : 0);
}

bool mpca_guarded_fits(size_t size, size_t align)
{
  return size <= MPCA_MEDIUM_MAX && slot_need(size, align) <= MPCA_MEDIUM_MAX;
}

typedef struct geometry {
  size_t slot_bytes, stride, first, seg_size;
  unsigned nslots;
} geometry;

static geometry geometry_of(unsigned c)
{
  size_t page = mpca_os_page_size();
  geometry g;
  g.slot_bytes = mpca_align_up(class_size(c), page);
  g.stride = g.slot_bytes + page;
  g.first = mpca_align_up(sizeof(mpca_gseg), page) + page;
  size_t fit = (MPCA_SEG_SIZE - g.first) / g.stride;
  g.nslots = (unsigned)(fit < MPCA_GUARDED_MIN_SLOTS ? MPCA_GUARDED_MIN_SLOTS
                        : fit > MPCA_GUARDED_MAX_SLOTS ? MPCA_GUARDED_MAX_SLOTS : fit);
  g.seg_size = g.first + g.nslots * g.stride;
  return g;
}

MPCA_INLINE char *slot_at(const mpca_gseg *gs, unsigned i) { return (char *)gs + gs->first + i * gs->stride; }

/* The slot of `p` in gs (false: p is in no slot). */
static bool slot_of(const mpca_gseg *gs, const void *p, unsigned *i)
{
  uintptr_t off = (uintptr_t)p - (uintptr_t)gs;
  if ((uintptr_t)p < (uintptr_t)gs || off < gs->first)
    return false;
  off -= gs->first;
  *i = (unsigned)(off / gs->stride);
  return *i < gs->nslots && off % gs->stride < gs->slot_bytes;
}

/* ---- canaries ------------------------------------------------------------ */

/* The canary word of the block at `p`: per process and per block. */
MPCA_INLINE uintptr_t canary_of(const void *p) { return mpca_free_mark ^ ((uintptr_t)p * 0x9e3779b97f4a7c15ull); }

MPCA_INLINE size_t tail_len(const char *p, size_t req, const char *end)
{
  size_t room = (size_t)(end - p) - req;
  return room < TAIL_CANARY_MAX ? room : TAIL_CANARY_MAX;
}

static void canaries_set(char *p, size_t req, char *slot, char *end)
{
  uintptr_t c = canary_of(p);
  if (p - slot >= HEAD_CANARY) {
    memcpy(p - HEAD_CANARY, &c, sizeof c);
    memcpy(p - HEAD_CANARY + sizeof c, &c, sizeof c);
  }
  size_t n = tail_len(p, req, end);
  for (size_t k = 0; k < n; k++)
    p[req + k] = (char)(c >> (8 * (k % 8)));
}

/* Bytes of the canary before `p` damaged (0: none), and the offset past
 * the block's end of the first damaged byte after it (SIZE_MAX: none). */
static size_t head_damaged(const char *p, const char *slot)
{
  if (p - slot < HEAD_CANARY)
    return 0;
  uintptr_t c = canary_of(p);
  for (size_t k = 0; k < HEAD_CANARY; k++)
    if (p[-HEAD_CANARY + (ptrdiff_t)k] != (char)(c >> (8 * (k % 8))))
      return HEAD_CANARY - k;
  return 0;
}

static size_t tail_damaged(const char *p, size_t req, const char *end)
{
  uintptr_t c = canary_of(p);
  size_t n = tail_len(p, req, end);
  for (size_t k = 0; k < n; k++)
    if (p[req + k] != (char)(c >> (8 * (k % 8))))
      return k;
  return SIZE_MAX;
}

/* ---- macro blocks ---------------------------------------------------------- */

MPCA_INLINE uint64_t slots_mask(unsigned n) { return n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1; }

static mpca_list *list_ready(mpca_list *l)
{
  if (mpca_unlikely(l->next == NULL))
    mpca_list_init(l);
  return l;
}

/* Move the idle macro blocks of `l` unused since `before` (all of them:
 * UINT64_MAX) onto `out` (lock held). */
static void idle_take(mpca_list *l, uint64_t before, mpca_list *out)
{
  if (l->next == NULL)
    return;
  while (!mpca_list_empty(l)) {
    mpca_gseg *gs = mpca_container_of(l->prev, mpca_gseg, hdr.link);
    if (before != UINT64_MAX && gs->hdr.freed_ms >= before)
      break;
    mpca_list_remove(&gs->hdr.link);
    mpca_list_push(out, &gs->hdr.link);
  }
}

/* Give the macro blocks of `out` to their sources (no lock held); returns
 * their bytes. */
static size_t give_back(mpca_list *out)
{
  size_t bytes = 0;
  while (!mpca_list_empty(out)) {
    mpca_gseg *gs = mpca_container_of(out->next, mpca_gseg, hdr.link);
    mpca_list_remove(&gs->hdr.link);
    bytes += gs->hdr.size;
    mpca_source_put(&gs->hdr); /* with its guard pages */
  }
  return bytes;
}

/* The time before which an idle macro block goes back (0: none does). */
static uint64_t idle_limit(uint64_t now)
{
  uint64_t delay = mpca_opt[MPCA_OPT_PURGE_DELAY];
  return delay == MPCA_TIME_NEVER || now < delay ? 0 : now - delay + 1;
}

/* The guard pages of a new macro block of geometry `geo`: after its header
 * and after every slot (n + 1 system calls, once per macro block). */
static MPCA_COLD __attribute__((unused)) bool guards_on(mpca_gseg *gs, const geometry *geo)
{
  size_t page = mpca_os_page_size();
  bool ok = mpca_os_guard((char *)gs + geo->first - page, page, true);
  for (unsigned i = 0; ok && i < geo->nslots; i++)
    ok = mpca_os_guard((char *)gs + geo->first + i * geo->stride + geo->slot_bytes, page, true);
  return ok;
}

static mpca_gseg *gseg_new(mpca_source *s, unsigned c)
{
  geometry geo = geometry_of(c);
  unsigned layout = MPCA_GUARDS_GUARDED + c;
  mpca_seg *seg = mpca_source_get_guarded(s, geo.seg_size, layout);
  if (seg == NULL)
    return NULL;
  mpca_gseg *gs = (mpca_gseg *)seg;
#ifdef MPCA_HARDENED
  if (seg->guards != layout) {
    seg->guards = (uint8_t)layout; /* what the source lifts, whatever happens next */
    if (!guards_on(gs, &geo)) {
      mpca_source_put(seg);
      return NULL;
    }
  }
#endif
  seg->kind = MPCA_KIND_GUARDED;
  seg->owner = NULL;
  gs->cls = c;
  gs->nslots = geo.nslots;
  gs->used = 0;
  gs->slot_bytes = (uint32_t)geo.slot_bytes;
  gs->stride = geo.stride;
  gs->first = geo.first;
  gs->taken = 0;
  gs->filled = 0;
  memset(gs->off, 0, sizeof gs->off);
  memset(gs->req, 0, sizeof gs->req);
  return gs;
}

/* ---- malloc and free --------------------------------------------------------- */

static MPCA_COLD __attribute__((noreturn)) void written_after_free(const char *p, size_t req, unsigned c)
{
  size_t at = mpca_hard_fill_damage(p, 0, mpca_hard_fill_words(req));
  mpca_fatal("mpcalloc: write after free: block %p (%zu bytes, guarded class %zu KiB) was written at byte %zu "
             "after it was freed (found when its slot was handed out again); aborting\n",
             (const void *)p, req, class_size(c) >> 10, at);
}

void *mpca_guarded_malloc(mpca_source *s, size_t size, size_t align, bool zero)
{
  if (size == 0)
    size = 1; /* req 0 marks a slot never used */
  size_t asize = size < MPCA_ALIGNMENT ? MPCA_ALIGNMENT : mpca_align_up(size, MPCA_ALIGNMENT);
  unsigned c = class_of(slot_need(size, align));
  unsigned si = mpca_source_id(s);
  gclass *g = &gclasses[c];
  pthread_mutex_lock(&g->lock);
  mpca_list *l = list_ready(&g->avail[si]);
  if (mpca_list_empty(l)) {
    mpca_list *idle = list_ready(&g->idle[si]);
    mpca_gseg *gs;
    if (!mpca_list_empty(idle)) {
      gs = mpca_container_of(idle->next, mpca_gseg, hdr.link);
      mpca_list_remove(&gs->hdr.link);
    } else {
      pthread_mutex_unlock(&g->lock);
      if ((gs = gseg_new(s, c)) == NULL)
        return NULL;
      pthread_mutex_lock(&g->lock);
    }
    mpca_list_push(l, &gs->hdr.link);
  }
  mpca_gseg *gs = mpca_container_of(l->next, mpca_gseg, hdr.link);
  unsigned i = (unsigned)__builtin_ctzll(~gs->taken & slots_mask(gs->nslots));
  uint64_t bit = (uint64_t)1 << i;
  bool filled = (gs->filled & bit) != 0;
  char *slot = slot_at(gs, i);
  char *old = slot + gs->off[i];
  size_t old_req = gs->req[i];
  gs->taken |= bit;
  gs->filled &= ~bit;
  if (++gs->used == gs->nslots)
    mpca_list_remove(&gs->hdr.link);
  char *end = slot + gs->slot_bytes;
  char *p = (char *)((uintptr_t)(end - asize) & ~(uintptr_t)(align - 1));
  gs->off[i] = (uint32_t)(p - slot);
  gs->req[i] = (uint32_t)size;
  bool dirty = filled || old_req != 0 || !gs->hdr.fresh;
  pthread_mutex_unlock(&g->lock);

  if (filled && !mpca_hard_filled(old, 0, mpca_hard_fill_words(old_req)))
    written_after_free(old, old_req, c);
  canaries_set(p, size, slot, end);
  if (zero && dirty)
    memset(p, 0, size);
  mpca_stats_huge((int)gs->hdr.node, size, size, 1);
  return p;
}

static MPCA_COLD __attribute__((noreturn)) void canary_broken(const char *fn, const char *p, size_t req,
                                                               size_t before, size_t after)
{
  if (before != 0)
    mpca_fatal("mpcalloc: %s(%p): heap underflow: the block (%zu bytes) was written before its start, %zu bytes "
               "before it; aborting\n",
               fn, (const void *)p, req, before);
  mpca_fatal("mpcalloc: %s(%p): heap overflow: the block (%zu bytes) was written past its end, at byte %zu; "
             "aborting\n",
             fn, (const void *)p, req, req + after);
}

void mpca_guarded_free(mpca_seg *seg, void *ptr, const char *fn)
{
  mpca_gseg *gs = (mpca_gseg *)seg;
  char *p = ptr;
  unsigned i;
  if (!slot_of(gs, p, &i)) {
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated block)");
    return;
  }
  gclass *g = &gclasses[gs->cls];
  uint64_t bit = (uint64_t)1 << i;
  char *slot = slot_at(gs, i);
  pthread_mutex_lock(&g->lock);
  if (p != slot + gs->off[i] || (gs->req[i] == 0 && !(gs->taken & bit))) {
    pthread_mutex_unlock(&g->lock);
    mpca_bad_pointer(fn, p, "invalid pointer (not the start of an allocated block)");
    return;
  }
  if (!(gs->taken & bit)) {
    pthread_mutex_unlock(&g->lock);
    mpca_bad_pointer(fn, p, "double free (block is already free)");
    return;
  }
  size_t req = gs->req[i];
  char *end = slot + gs->slot_bytes;
  size_t before = head_damaged(p, slot), after = tail_damaged(p, req, end);
  if (before != 0 || after != SIZE_MAX) {
    pthread_mutex_unlock(&g->lock);
    canary_broken(fn, p, req, before, after);
  }
  gs->taken &= ~bit;
  gs->filled |= bit;
  mpca_hard_fill(p, 0, mpca_hard_fill_words(req));
  unsigned si = mpca_source_id(gs->hdr.source);
  mpca_list old;
  mpca_list_init(&old);
  if (gs->used-- == gs->nslots)
    mpca_list_push(list_ready(&g->avail[si]), &gs->hdr.link);
  if (gs->used == 0) {
    uint64_t now = mpca_os_now_ms();
    mpca_list *idle = list_ready(&g->idle[si]);
    mpca_list_remove(&gs->hdr.link);
    gs->hdr.freed_ms = now;
    mpca_list_push(idle, &gs->hdr.link);
    idle_take(idle, idle_limit(now), &old);
  }
  int node = (int)gs->hdr.node; /* (once unlocked, gs may go back: another free's idle_take) */
  pthread_mutex_unlock(&g->lock);
  mpca_stats_huge(node, req, req, -1);
  give_back(&old);
}

size_t mpca_guarded_usable(mpca_seg *seg, const void *p, const char *fn)
{
  const mpca_gseg *gs = (const mpca_gseg *)seg;
  unsigned i;
  if (slot_of(gs, p, &i) && (const char *)p == slot_at(gs, i) + gs->off[i] && gs->req[i] != 0) {
    if (gs->taken & ((uint64_t)1 << i))
      return gs->req[i] ? gs->req[i] : 1; /* (a block of 0 bytes: 1, so 0 says "bad") */
    mpca_bad_pointer(fn, p, "use after free (block is free)");
    return 0;
  }
  mpca_bad_pointer(fn, p, "invalid pointer (not an allocated block)");
  return 0;
}

/* Every class's idle macro blocks unused since `before` to their sources. */
static size_t release_idle(uint64_t before)
{
  size_t released = 0;
  for (unsigned c = 0; c < MPCA_GUARDED_NCLASSES; c++) {
    gclass *g = &gclasses[c];
    mpca_list out;
    mpca_list_init(&out);
    pthread_mutex_lock(&g->lock);
    for (unsigned si = 0; si < MPCA_NSOURCES; si++)
      idle_take(&g->idle[si], before, &out);
    pthread_mutex_unlock(&g->lock);
    released += give_back(&out);
  }
  return released;
}

size_t mpca_guarded_release(void) { return release_idle(UINT64_MAX); }

size_t mpca_guarded_decay(uint64_t now)
{
  uint64_t before = idle_limit(now);
  return before == 0 ? 0 : release_idle(before);
}

/* ---- reports of faults ------------------------------------------------------- */

bool mpca_guarded_describe(const mpca_seg *seg, const void *addr, char *buf, size_t n)
{
  const mpca_gseg *gs = (const mpca_gseg *)seg;
  uintptr_t a = (uintptr_t)addr, base = (uintptr_t)gs + gs->first;
  size_t page = mpca_os_page_size();
  if (a < base ? a < base - page : (a - base) % gs->stride < gs->slot_bytes || (a - base) / gs->stride >= gs->nslots)
    return false; /* not a guard page */
  /* the guard page after slot i - 1 (i == 0: after the header) precedes slot i */
  unsigned i = a < base ? 0 : (unsigned)((a - base) / gs->stride) + 1;
  if (i > 0 && (gs->taken >> (i - 1)) & 1) {
    const char *p = slot_at(gs, i - 1) + gs->off[i - 1];
    mpca_snprintf(buf, n, "heap overflow at byte %zu of block %p (%zu bytes)", (size_t)(a - (uintptr_t)p),
                  (const void *)p, (size_t)gs->req[i - 1]);
  } else if (i < gs->nslots && (gs->taken >> i) & 1) {
    const char *p = slot_at(gs, i) + gs->off[i];
    mpca_snprintf(buf, n, "heap underflow, %zu bytes before block %p (%zu bytes)", (size_t)((uintptr_t)p - a),
                  (const void *)p, (size_t)gs->req[i]);
  } else {
    mpca_snprintf(buf, n, "between free blocks of the %zu KiB class (a use after free?)", class_size(gs->cls) >> 10);
  }
  return true;
}

/* ---- fork ---------------------------------------------------------------------- */

void mpca_guarded_fork_prepare(void)
{
  for (unsigned c = 0; c < MPCA_GUARDED_NCLASSES; c++)
    pthread_mutex_lock(&gclasses[c].lock);
}

void mpca_guarded_fork_parent(void)
{
  for (unsigned c = MPCA_GUARDED_NCLASSES; c-- > 0;)
    pthread_mutex_unlock(&gclasses[c].lock);
}

void mpca_guarded_fork_child(void)
{
  for (unsigned c = 0; c < MPCA_GUARDED_NCLASSES; c++)
    pthread_mutex_init(&gclasses[c].lock, NULL);
}
