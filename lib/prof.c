/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Sampled heap profiling: the sampler's intervals and weights, the call
 * stacks of sampled blocks, and the table of sampled blocks with the
 * estimates per call stack that the profiles print (mpca_prof.h).
 *
 * Sampling is a Poisson process over the bytes a heap hands out, one per
 * size class for small blocks and one for medium and huge blocks: the
 * intervals between sample points are exponential with mean
 * MPCALLOC_PROF_SAMPLE, so every byte has the same chance, and a block of
 * `unit` bytes holds a point with probability p = 1 - exp(-unit / rate).
 * A sampled block stands for 1/p blocks and usable/p bytes: the estimates
 * are unbiased, what jemalloc and tcmalloc do too. They are kept per call
 * stack (and NUMA node) in fixed point, so that adding and removing a
 * block leaves no rounding behind.
 *
 * The peak profile is a snapshot of the estimates per stack taken when the
 * estimate in use is above the last snapshot and a sampled block is about
 * to be freed (it is then a local maximum). Only the stacks that changed
 * since the last snapshot are copied (a list of dirty stacks), so its cost
 * is bounded by the sampling events themselves.
 *
 * Stacks come from libgcc's unwinder (_Unwind_Backtrace: no frame pointers
 * needed); while a thread captures one, its own allocations are ordinary
 * ones (mpca_prof_capturing). Everything here is under one mutex, taken only
 * on sampled paths (one in MPCALLOC_PROF_SAMPLE bytes), never on a fast
 * path; memory comes from mmap, never from libc's malloc. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include "mpca_config.h"
#include "mpca_os.h"
#include "mpca_prof.h"
#include "mpca_secret.h"

bool mpca_prof_on;
uint64_t mpca_prof_rate = 512 * 1024;
__thread bool mpca_prof_capturing __attribute__((tls_model("initial-exec")));

static pthread_mutex_t prof_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seed;
static _Atomic uint64_t states_made;

/* Metadata chunks for samplers and stacks (never given back). */
#define META_CHUNK ((size_t)1 << 20)
/* First sizes of the tables of sampled blocks and of stacks (each doubles
 * when half full): small, as a small program's resident size shows them. */
#define REC_FIRST 256
#define STACK_FIRST 256

/* ---- arithmetic without libm ----------------------------------------------- */

static const double LN2 = 0.69314718055994530942;

/* exp(-x) for x >= 0: x = k ln 2 + r, 0 <= r < ln 2, and a Taylor series of
 * exp(-r) (terms below 2^-53 after 18 of them). */
static double exp_neg(double x)
{
  if (x > 700)
    return 0;
  int k = (int)(x / LN2);
  double r = x - k * LN2, term = 1, sum = 1;
  for (int i = 1; i < 20; i++) {
    term *= -r / i;
    sum += term;
  }
  while (k-- > 0)
    sum *= 0.5;
  return sum;
}

double mpca_prof_one_minus_exp_neg(double x)
{
  if (x >= 0.5)
    return 1 - exp_neg(x);
  /* the series of 1 - exp(-x) itself: no cancellation for small x */
  double term = x, sum = x;
  for (int i = 2; i < 20; i++) {
    term *= -x / i;
    sum += term;
  }
  return sum;
}

double mpca_prof_neg_log(double u)
{
  /* u = m 2^e with m in [1, 2); log m = 2 atanh((m - 1) / (m + 1)) */
  union {
    double d;
    uint64_t b;
  } v = {u};
  int e = (int)((v.b >> 52) & 0x7ff) - 1023;
  v.b = (v.b & ~((uint64_t)0x7ff << 52)) | ((uint64_t)1023 << 52);
  double m = v.d;
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  double t = (m - 1) / (m + 1), t2 = t * t, term = t, sum = 0;
  for (int i = 1; i < 40; i += 2) {
    sum += term / i;
    term *= t2;
  }
  return -(2 * sum + e * LN2);
}

/* ---- the sampler -------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void mpca_prof_init(void)
{
  mpca_prof_rate = mpca_opt[MPCA_OPT_PROF_SAMPLE];
  seed = mpca_opt[MPCA_OPT_PROF_SEED];
  if (seed == 0) {
    /* the kernel's 16 random bytes (no system call; not aligned), and the time */
    const void *at_random = (const void *)getauxval(AT_RANDOM);
    uint64_t r[2] = {0, 0};
    if (at_random != NULL)
      memcpy(r, at_random, sizeof r);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = r[0] ^ r[1] ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
  }
  mpca_prof_on = mpca_opt[MPCA_OPT_PROF] != 0;
  if (MPCA_HARDENED_ON && mpca_prof_on) {
    /* its blocks of medium sizes are guarded blocks, which the sampler
     * does not mark yet */
    mpca_prof_on = false;
    mpca_printf_fd(2, "mpcalloc: MPCALLOC_PROF: the heap profiler is not available in the hardened build; "
                      "ignored\n");
  }
}

int64_t mpca_prof_interval(mpca_prof_state *st)
{
  /* u in (0, 1] */
  double u = (double)((splitmix(&st->rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
  double d = mpca_prof_neg_log(u) * (double)mpca_prof_rate;
  if (d < 1)
    return 1;
  if (d > (double)INT64_MAX / 2)
    return INT64_MAX / 2;
  return (int64_t)d;
}

/* ---- metadata ----------------------------------------------------------------- */

static char *meta_cur, *meta_end;

/* Zeroed metadata memory aligned to `align`, under the lock. */
static void *meta_take(size_t size, size_t align)
{
  size = mpca_align_up(size, align);
  char *p = meta_cur ? (char *)mpca_align_up((uintptr_t)meta_cur, align) : NULL;
  if (p == NULL || p > meta_end || (size_t)(meta_end - p) < size) {
    size_t chunk = size > META_CHUNK ? size : META_CHUNK;
    if ((p = mpca_os_meta_map(chunk)) == NULL)
      return NULL;
    meta_end = p + chunk;
  }
  meta_cur = p + size;
  return p;
}

void mpca_prof_lock(void) { pthread_mutex_lock(&prof_mutex); }
void mpca_prof_unlock(void) { pthread_mutex_unlock(&prof_mutex); }

mpca_prof_state *mpca_prof_state_new(void)
{
  mpca_prof_lock();
  mpca_prof_state *st = meta_take(sizeof *st, MPCA_CACHE_LINE); /* its own lines: each heap writes its own */
  mpca_prof_unlock();
  if (st == NULL)
    return NULL;
  /* heaps made in the same order get the same intervals: with
   * MPCALLOC_PROF_SEED, a program's profile is reproducible */
  uint64_t n = atomic_fetch_add_explicit(&states_made, 1, memory_order_relaxed);
  st->rng = seed ^ (n * 0xd1b54a32d192ed03ull);
  splitmix(&st->rng);
  for (unsigned c = 0; c < MPCA_SMALL_NCLASSES; c++)
    st->left[c] = mpca_prof_interval(st);
  st->big_left = mpca_prof_interval(st);
  return st;
}

void *mpca_prof_take_held(mpca_heap *h, unsigned c)
{
  mpca_prof_state *st = h->prof;
  if (st == NULL || st->held[c] == NULL)
    return NULL;
  void *list = st->held[c];
  st->held[c] = NULL;
  st->nheld[c] = 0;
  return list;
}

/* ---- call stacks ---------------------------------------------------------------- */

/* The executable ranges of the library's own code when it is a shared
 * object (its frames are dropped); none when it is part of the program
 * (static archive, unit tests): the frame count of mpca_prof_backtrace
 * does the work then. */
#define MAX_OWN_RANGES 4
static uintptr_t own_lo[MAX_OWN_RANGES], own_hi[MAX_OWN_RANGES];
static _Atomic unsigned own_ranges_state; /* 0 not looked for, 1 being looked for, 2 done */
static unsigned own_nranges;

static int find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size, (void)arg;
  uintptr_t me = (uintptr_t)&mpca_prof_bt_frame;
  bool mine = false;
  for (unsigned i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < lo + ph->p_memsz)
      mine = true;
  }
  if (!mine)
    return 0;
  if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
    return 1; /* the program itself */
  for (unsigned i = 0; i < info->dlpi_phnum && own_nranges < MAX_OWN_RANGES; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      own_lo[own_nranges] = info->dlpi_addr + ph->p_vaddr;
      own_hi[own_nranges] = own_lo[own_nranges] + ph->p_memsz;
      own_nranges++;
    }
  }
  return 1;
}

static void find_own_ranges(void)
{
  unsigned expected = 0;
  if (!atomic_compare_exchange_strong(&own_ranges_state, &expected, 1))
    return; /* done, or another thread does it (its frames are kept meanwhile) */
  dl_iterate_phdr(find_own, NULL);
  atomic_store_explicit(&own_ranges_state, 2, memory_order_release);
}

static bool own_code(uintptr_t ip)
{
  unsigned state = atomic_load_explicit(&own_ranges_state, memory_order_acquire);
  if (mpca_unlikely(state != 2)) {
    if (state != 0)
      return false; /* another thread looks for them */
    find_own_ranges();
    if (atomic_load_explicit(&own_ranges_state, memory_order_acquire) != 2)
      return false;
  }
  for (unsigned i = 0; i < own_nranges; i++)
    if (ip >= own_lo[i] && ip < own_hi[i])
      return true;
  return false;
}

_Unwind_Reason_Code mpca_prof_bt_frame(struct _Unwind_Context *ctx, void *arg)
{
  mpca_prof_bt *b = arg;
  uintptr_t ip = _Unwind_GetIP(ctx);
  if (ip == 0)
    return _URC_END_OF_STACK;
  if (b->dropping) {
    /* the stack pointer of a frame (what libgcc calls the CFA of the
     * context whose IP is in it) lies below the marker in the sampling
     * function and the functions it called */
    if (_Unwind_GetCFA(ctx) <= b->marker)
      return _URC_NO_REASON;
    if (b->outer > 0) {
      b->outer--;
      return _URC_NO_REASON;
    }
    if (own_code(ip))
      return _URC_NO_REASON;
    b->dropping = false;
  }
  b->pc[b->n++] = ip;
  return b->n == MPCA_PROF_DEPTH ? _URC_END_OF_STACK : _URC_NO_REASON;
}

void mpca_prof_prime(void)
{
  if (!mpca_prof_on)
    return;
  uintptr_t pc[MPCA_PROF_DEPTH];
  char here = 0;
  mpca_prof_backtrace(pc, &here, 0);
}

/* ---- the tables ----------------------------------------------------------------- */

/* One call stack (and the node of the heaps that sampled it), with its
 * estimates now, at the last peak snapshot, and since the start. */
typedef struct stack_ent {
  struct stack_ent *chain; /* same hash bucket */
  struct stack_ent *all;   /* every stack */
  struct stack_ent *dirty; /* changed since the last snapshot */
  uint64_t hash;
  int32_t node;
  uint16_t depth;
  bool is_dirty;
  uint64_t live_objs, live_bytes, alloc_objs, alloc_bytes;
  uint64_t peak_objs, peak_bytes, peak_alloc_objs, peak_alloc_bytes;
  uintptr_t pc[];
} stack_ent;

/* One sampled block: its estimates (fixed point blocks, bytes). */
typedef struct rec {
  uintptr_t addr; /* 0: empty slot */
  stack_ent *stack;
  uint64_t objs, bytes;
} rec;

static stack_ent **stacks, *stacks_all, *dirty_list;
static size_t stacks_cap, stacks_n;
static rec *recs;
static size_t recs_cap, recs_n;
static uint64_t live_bytes, peak_bytes, peak_samples, samples_taken;

static uint64_t hash_words(const uintptr_t *w, unsigned n, uint64_t h)
{
  for (unsigned i = 0; i < n; i++) {
    h ^= w[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h * 0x9e3779b97f4a7c15ull;
}

static size_t rec_slot(uintptr_t addr, size_t cap)
{
  return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* A zeroed table of `cap` entries of `size` bytes (the caller moves the
 * old one's entries in); NULL when no memory. */
static void *table_new(size_t cap, size_t size) { return mpca_os_meta_map(cap * size); }

static bool stacks_grow(void)
{
  size_t cap = stacks_cap ? stacks_cap * 2 : STACK_FIRST;
  stack_ent **t = table_new(cap, sizeof *t);
  if (t == NULL)
    return false;
  for (stack_ent *s = stacks_all; s; s = s->all) {
    size_t i = (size_t)(s->hash >> 20) & (cap - 1);
    s->chain = t[i];
    t[i] = s;
  }
  if (stacks)
    mpca_os_meta_unmap(stacks, stacks_cap * sizeof *stacks);
  stacks = t;
  stacks_cap = cap;
  return true;
}

static stack_ent *stack_intern(const uintptr_t *pc, unsigned depth, int node)
{
  uint64_t h = hash_words(pc, depth, (uint64_t)(int64_t)node * 0xff51afd7ed558ccdull + depth);
  if (stacks_cap) {
    for (stack_ent *s = stacks[(size_t)(h >> 20) & (stacks_cap - 1)]; s; s = s->chain)
      if (s->hash == h && s->node == node && s->depth == depth && memcmp(s->pc, pc, depth * sizeof *pc) == 0)
        return s;
  }
  if ((stacks_n + 1 > stacks_cap / 2) && !stacks_grow() && stacks_cap == 0)
    return NULL;
  stack_ent *s = meta_take(sizeof *s + depth * sizeof *pc, sizeof(uint64_t));
  if (s == NULL)
    return NULL;
  s->hash = h;
  s->node = node;
  s->depth = (uint16_t)depth;
  memcpy(s->pc, pc, depth * sizeof *pc);
  size_t i = (size_t)(h >> 20) & (stacks_cap - 1);
  s->chain = stacks[i];
  stacks[i] = s;
  s->all = stacks_all;
  stacks_all = s;
  stacks_n++;
  return s;
}

static bool recs_grow(void)
{
  size_t cap = recs_cap ? recs_cap * 2 : REC_FIRST;
  rec *t = table_new(cap, sizeof *t);
  if (t == NULL)
    return false;
  for (size_t i = 0; i < recs_cap; i++) {
    if (recs[i].addr == 0)
      continue;
    size_t j = rec_slot(recs[i].addr, cap);
    while (t[j].addr != 0)
      j = (j + 1) & (cap - 1);
    t[j] = recs[i];
  }
  if (recs)
    mpca_os_meta_unmap(recs, recs_cap * sizeof *recs);
  recs = t;
  recs_cap = cap;
  return true;
}

static rec *rec_find(uintptr_t addr)
{
  if (recs_cap == 0)
    return NULL;
  for (size_t i = rec_slot(addr, recs_cap);; i = (i + 1) & (recs_cap - 1)) {
    if (recs[i].addr == addr)
      return &recs[i];
    if (recs[i].addr == 0)
      return NULL;
  }
}

/* Remove the entry at `r`: the entries after it in its run move back so
 * that no lookup stops early (linear probing without tombstones). */
static void rec_delete(rec *r)
{
  size_t i = (size_t)(r - recs), j = i;
  for (;;) {
    j = (j + 1) & (recs_cap - 1);
    if (recs[j].addr == 0)
      break;
    size_t home = rec_slot(recs[j].addr, recs_cap);
    /* recs[j] may fill the hole at i unless its home lies in (i, j] */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      recs[i] = recs[j];
      i = j;
    }
  }
  recs[i].addr = 0;
  recs_n--;
}

static void mark_dirty(stack_ent *s)
{
  if (!s->is_dirty) {
    s->is_dirty = true;
    s->dirty = dirty_list;
    dirty_list = s;
  }
}

static void snapshot(void)
{
  for (stack_ent *s = dirty_list; s; s = s->dirty) {
    s->peak_objs = s->live_objs;
    s->peak_bytes = s->live_bytes;
    s->peak_alloc_objs = s->alloc_objs;
    s->peak_alloc_bytes = s->alloc_bytes;
    s->is_dirty = false;
  }
  dirty_list = NULL;
  peak_bytes = live_bytes;
  peak_samples = recs_n;
}

void mpca_prof_peak_update(void)
{
  if (live_bytes > peak_bytes)
    snapshot();
}

/* Remove what record `r` stands for from its stack and the totals. */
static void unaccount(rec *r)
{
  stack_ent *s = r->stack;
  s->live_objs -= r->objs;
  s->live_bytes -= r->bytes;
  live_bytes -= r->bytes;
  mark_dirty(s);
}

bool mpca_prof_record(void *p, const uintptr_t *pc, unsigned depth, int node, size_t unit, size_t usable)
{
  double chance = mpca_prof_one_minus_exp_neg((double)unit / (double)mpca_prof_rate);
  uint64_t objs = (uint64_t)((double)MPCA_PROF_ONE / chance + 0.5);
  uint64_t bytes = (uint64_t)((double)usable / chance + 0.5);
  samples_taken++;
  rec *old = rec_find((uintptr_t)p);
  if (old != NULL) { /* a record left behind (cannot happen); the block is new */
    unaccount(old);
    rec_delete(old);
  }
  if (recs_n + 1 > recs_cap / 2 && !recs_grow() && recs_n + 1 >= recs_cap)
    return false;
  stack_ent *s = stack_intern(pc, depth, node);
  if (s == NULL)
    return false;
  size_t i = rec_slot((uintptr_t)p, recs_cap);
  while (recs[i].addr != 0)
    i = (i + 1) & (recs_cap - 1);
  recs[i] = (rec){(uintptr_t)p, s, objs, bytes};
  recs_n++;
  s->live_objs += objs;
  s->live_bytes += bytes;
  s->alloc_objs += objs;
  s->alloc_bytes += bytes;
  live_bytes += bytes;
  mark_dirty(s);
  return true;
}

bool mpca_prof_forget(void *p)
{
  rec *r = rec_find((uintptr_t)p);
  if (r == NULL)
    return false;
  /* a free after growth: the estimate is at a maximum */
  mpca_prof_peak_update();
  unaccount(r);
  rec_delete(r);
  return true;
}

void mpca_prof_moved(void *p, void *q, size_t usable)
{
  rec *r = rec_find((uintptr_t)p);
  if (r == NULL)
    return;
  rec moved = *r;
  uint64_t bytes = (uint64_t)((unsigned __int128)usable * moved.objs / MPCA_PROF_ONE);
  if (bytes < moved.bytes)
    mpca_prof_peak_update(); /* it shrinks */
  unaccount(r);
  rec_delete(r);
  moved.addr = (uintptr_t)q;
  moved.bytes = bytes;
  size_t i = rec_slot(moved.addr, recs_cap);
  while (recs[i].addr != 0)
    i = (i + 1) & (recs_cap - 1);
  recs[i] = moved;
  recs_n++;
  stack_ent *s = moved.stack;
  s->live_objs += moved.objs;
  s->live_bytes += bytes;
  live_bytes += bytes;
}

void mpca_prof_release(void *p)
{
  mpca_prof_lock();
  mpca_prof_forget(p);
  mpca_prof_unlock();
}

void mpca_prof_resized(void *p, size_t usable)
{
  mpca_prof_lock();
  mpca_prof_moved(p, p, usable);
  mpca_prof_unlock();
}

void mpca_prof_each(enum mpca_prof_kind kind, void (*visit)(void *arg, const mpca_prof_entry *e), void *arg)
{
  for (stack_ent *s = stacks_all; s; s = s->all) {
    mpca_prof_entry e = {s->pc, s->depth, s->node, s->live_objs, s->live_bytes, s->alloc_objs, s->alloc_bytes};
    if (kind == MPCA_PROF_PEAK) {
      e.objs = s->peak_objs;
      e.bytes = s->peak_bytes;
      e.alloc_objs = s->peak_alloc_objs;
      e.alloc_bytes = s->peak_alloc_bytes;
    }
    if (e.objs || e.alloc_objs)
      visit(arg, &e);
  }
}

void mpca_prof_counts(enum mpca_prof_kind kind, uint64_t *samples, uint64_t *taken)
{
  *samples = kind == MPCA_PROF_PEAK ? peak_samples : recs_n;
  *taken = samples_taken;
}

void mpca_prof_fork_prepare(void) { mpca_prof_lock(); }
void mpca_prof_fork_parent(void) { mpca_prof_unlock(); }
void mpca_prof_fork_child(void) { pthread_mutex_init(&prof_mutex, NULL); }
