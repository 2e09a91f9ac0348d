/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The mixed workload of the failure-injection tests, written once against a
 * table of allocation functions: the internals (inject_sweep.c) or the
 * exported malloc family (inject_external.c). It touches every path that
 * makes a system call: small, medium and huge blocks, calloc, the aligned
 * allocations, a realloc chain across the three kinds (medium growth in
 * place, huge growth by mremap, shrinking), huge blocks freed into the
 * source cache and taken again (reuse, split, growth of a smaller cached
 * block), trims that purge pages and unmap the cache, and threads that
 * free and reallocate each other's blocks, exit, and have their heaps
 * adopted by the next thread. Every allocation must return a block
 * (aligned, big enough, not overlapping another live block, its content
 * kept until freed) or NULL with errno ENOMEM; a failed realloc must leave
 * its block intact. The first violation prints one line and ends the
 * process with exit status 3 (so a parent tells it from a crash). NULLs
 * are counted: a run without injected failures must see none.
 * Header only; not thread-safe against a second wl_run at once. */
#ifndef MPCA_TEST_WORKLOAD_H
#define MPCA_TEST_WORKLOAD_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../pattern.h"

typedef struct wl_api {
  void *(*alloc)(size_t size);
  void *(*zalloc)(size_t size);
  void *(*aligned)(size_t align, size_t size); /* NULL + errno on failure */
  void *(*realloc)(void *p, size_t size);
  void (*free)(void *p);
  size_t (*usable)(void *p);
  void (*trim)(void); /* give back everything free (malloc_trim(0)) */
} wl_api;

#define WL_KIB ((size_t)1 << 10)
#define WL_MIB ((size_t)1 << 20)
#define WL_EXIT_VIOLATION 3
/* Blocks up to twice this are patterned whole, larger ones at both ends. */
#define WL_HEAD (4 * WL_KIB)
#define WL_SLOTS 96
#define WL_THREAD_OPS 300
#define WL_THREAD_STACK (256 * WL_KIB)
/* Every block address handed out, for the registry check after a run. */
#define WL_SEEN_MAX 16384

typedef struct wl_block {
  unsigned char *p;
  size_t size;
  uint64_t seed;
} wl_block;

typedef struct wl_state {
  const wl_api *api;
  pthread_mutex_t lock; /* slots[] and the counters below */
  wl_block slots[WL_SLOTS];
  _Atomic uint64_t seed;
  _Atomic uint64_t allocs, nulls, frees;
  void *seen[WL_SEEN_MAX];
  _Atomic unsigned nseen;
} wl_state;

static wl_state wl;

#define WL_VIOLATION(...)                                                                                     \
  do {                                                                                                        \
    fprintf(stderr, "workload violation: " __VA_ARGS__);                                                      \
    fputc('\n', stderr);                                                                                      \
    _exit(WL_EXIT_VIOLATION);                                                                                 \
  } while (0)

static inline uint64_t wl_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Du;
}

static void wl_fill(unsigned char *p, size_t n, uint64_t seed)
{
  if (n <= 2 * WL_HEAD) {
    pattern_fill(p, n, seed);
    return;
  }
  pattern_fill(p, WL_HEAD, seed);
  pattern_fill(p + n - WL_HEAD, WL_HEAD, ~seed);
}

/* The first `keep` bytes of a block of `n` bytes filled by wl_fill still
 * hold their pattern (keep == n: the whole block). */
static bool wl_intact(const unsigned char *p, size_t n, size_t keep, uint64_t seed)
{
  if (n <= 2 * WL_HEAD)
    return pattern_verify(p, keep, seed) == keep;
  size_t head = keep < WL_HEAD ? keep : WL_HEAD;
  if (pattern_verify(p, head, seed) != head)
    return false;
  return keep < n || pattern_verify(p + n - WL_HEAD, WL_HEAD, ~seed) == WL_HEAD;
}

static void wl_saw(void *p)
{
  unsigned i = atomic_fetch_add_explicit(&wl.nseen, 1, memory_order_relaxed);
  if (i < WL_SEEN_MAX)
    wl.seen[i] = p;
}

/* A fresh block `p` of `size` bytes asked with alignment `align` (0: the
 * default), or NULL from the call `what`: checks it, patterns it. */
static unsigned char *wl_accept(void *p, size_t size, size_t align, const char *what, int err)
{
  atomic_fetch_add_explicit(&wl.allocs, 1, memory_order_relaxed);
  if (p == NULL) {
    if (err != ENOMEM)
      WL_VIOLATION("%s(%zu) returned NULL with errno %d, not ENOMEM", what, size, err);
    atomic_fetch_add_explicit(&wl.nulls, 1, memory_order_relaxed);
    return NULL;
  }
  size_t a = align > 16 ? align : 16;
  if ((uintptr_t)p % a != 0)
    WL_VIOLATION("%s(%zu) = %p is not %zu-byte aligned", what, size, p, a);
  size_t u = wl.api->usable(p);
  if (u < size)
    WL_VIOLATION("%s(%zu) = %p: usable size %zu", what, size, p, u);
  wl_saw(p);
  return p;
}

static unsigned char *wl_new(uint64_t *rs, size_t size, uint64_t seed)
{
  unsigned kind = (unsigned)(wl_rand(rs) % 8);
  unsigned char *p;
  void *v;
  errno = 0;
  if (kind < 5) {
    v = wl.api->alloc(size);
    p = wl_accept(v, size, 0, "malloc", errno);
  } else if (kind < 7) {
    v = wl.api->zalloc(size);
    p = wl_accept(v, size, 0, "calloc", errno);
    /* zero where wl_fill writes: the whole block, or both ends */
    for (size_t i = 0; p != NULL && i < size; i++) {
      if (p[i] != 0)
        WL_VIOLATION("calloc(%zu) = %p: byte %zu is %d", size, (void *)p, i, p[i]);
      if (i == WL_HEAD && size > 2 * WL_HEAD)
        i = size - WL_HEAD - 1; /* the loop moves on to size - WL_HEAD */
    }
  } else {
    static const size_t aligns[] = {32, 64, 256, 4096, 64 * WL_KIB, 2 * WL_MIB};
    size_t align = aligns[wl_rand(rs) % (sizeof aligns / sizeof aligns[0])];
    v = wl.api->aligned(align, size);
    p = wl_accept(v, size, align, "aligned allocation", errno);
  }
  if (p != NULL)
    wl_fill(p, size, seed);
  return p;
}

static void wl_check(const wl_block *b, const char *when)
{
  if (!wl_intact(b->p, b->size, b->size, b->seed))
    WL_VIOLATION("block %p of %zu bytes damaged (%s)", (void *)b->p, b->size, when);
}

static void wl_free(wl_block *b)
{
  if (b->p == NULL)
    return;
  wl_check(b, "before free");
  errno = 4242;
  wl.api->free(b->p);
  if (errno != 4242)
    WL_VIOLATION("free(%p) changed errno to %d", (void *)b->p, errno);
  atomic_fetch_add_explicit(&wl.frees, 1, memory_order_relaxed);
  b->p = NULL;
}

/* realloc of `b` to `size`: the content is kept, or on failure the block
 * is untouched. */
static void wl_realloc(wl_block *b, size_t size, uint64_t seed)
{
  wl_check(b, "before realloc");
  errno = 0;
  unsigned char *q = wl.api->realloc(b->p, size);
  int err = errno;
  atomic_fetch_add_explicit(&wl.allocs, 1, memory_order_relaxed);
  if (q == NULL) {
    if (err != ENOMEM)
      WL_VIOLATION("realloc(%p, %zu) returned NULL with errno %d", (void *)b->p, size, err);
    atomic_fetch_add_explicit(&wl.nulls, 1, memory_order_relaxed);
    wl_check(b, "after a failed realloc");
    return;
  }
  size_t keep = b->size < size ? b->size : size;
  if (!wl_intact(q, b->size, keep, b->seed))
    WL_VIOLATION("realloc(%p, %zu -> %zu) = %p lost the content", (void *)b->p, b->size, size, (void *)q);
  if ((uintptr_t)q % 16 != 0 || wl.api->usable(q) < size)
    WL_VIOLATION("realloc(%zu) = %p: misaligned or usable size %zu", size, (void *)q, wl.api->usable(q));
  wl_saw(q);
  b->p = q;
  b->size = size;
  b->seed = seed;
  wl_fill(q, size, seed);
}

/* Sizes across the kinds, whatever the limits between them are. */
static size_t wl_size(uint64_t *rs)
{
  unsigned r = (unsigned)(wl_rand(rs) % 100);
  if (r < 45)
    return 1 + wl_rand(rs) % 512;
  if (r < 65)
    return 1 + wl_rand(rs) % (4 * WL_KIB);
  if (r < 85)
    return 4 * WL_KIB + wl_rand(rs) % (256 * WL_KIB);
  if (r < 94)
    return 256 * WL_KIB + wl_rand(rs) % (1792 * WL_KIB);
  return 2 * WL_MIB + wl_rand(rs) % (4 * WL_MIB);
}

static uint64_t wl_seed(void) { return atomic_fetch_add_explicit(&wl.seed, 1, memory_order_relaxed); }

/* One random operation on a shared slot: allocate into an empty slot, or
 * free or reallocate what another thread may have put there. */
static void wl_slot_op(uint64_t *rs)
{
  wl_block b;
  unsigned i = (unsigned)(wl_rand(rs) % WL_SLOTS);
  pthread_mutex_lock(&wl.lock);
  b = wl.slots[i];
  wl.slots[i].p = NULL;
  pthread_mutex_unlock(&wl.lock);
  if (b.p == NULL) {
    b.size = wl_size(rs);
    b.seed = wl_seed();
    b.p = wl_new(rs, b.size, b.seed);
  } else if (wl_rand(rs) % 3 == 0) {
    wl_realloc(&b, wl_size(rs), wl_seed());
  } else {
    wl_free(&b);
  }
  if (b.p == NULL)
    return;
  pthread_mutex_lock(&wl.lock);
  bool placed = wl.slots[i].p == NULL;
  if (placed)
    wl.slots[i] = b;
  pthread_mutex_unlock(&wl.lock);
  if (!placed)
    wl_free(&b);
}

static void *wl_thread(void *arg)
{
  uint64_t rs = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15u + 1;
  for (unsigned k = 0; k < WL_THREAD_OPS; k++)
    wl_slot_op(&rs);
  return NULL;
}

/* Run `n` copies of wl_thread at once (inline when a thread cannot be
 * made, e.g. under RLIMIT_AS), then wait for them: they exit, so their
 * heaps are abandoned and the next threads adopt them. */
static void wl_threads(unsigned n, uint64_t seed)
{
  pthread_t t[8];
  bool made[8];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WL_THREAD_STACK);
  for (unsigned i = 0; i < n && i < 8; i++)
    made[i] = pthread_create(&t[i], &attr, wl_thread, (void *)(uintptr_t)(seed + i)) == 0;
  for (unsigned i = 0; i < n && i < 8; i++) {
    if (made[i])
      pthread_join(t[i], NULL);
    else
      wl_thread((void *)(uintptr_t)(seed + i));
  }
  pthread_attr_destroy(&attr);
}

/* The whole workload; `seed` varies the sizes. Everything it allocates is
 * freed before it returns. */
static void wl_run(const wl_api *api, uint64_t seed)
{
  wl.api = api;
  pthread_mutex_init(&wl.lock, NULL);
  uint64_t rs = seed * 2 + 1;
  wl_block local[24];
  memset(local, 0, sizeof local);

  /* 1. One of each kind, from the main thread. */
  static const size_t sizes[] = {1, 16, 100, 700, 1500, 9000, 70000, 300000, 1100000, 3000000, 5000000};
  unsigned nl = 0;
  for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++, nl++) {
    local[nl].size = sizes[i];
    local[nl].seed = wl_seed();
    local[nl].p = wl_new(&rs, sizes[i], local[nl].seed);
  }

  /* 2. A realloc chain through every kind and back. */
  static const size_t chain[] = {24, 2000, 150000, 900000, 3 * WL_MIB, 7 * WL_MIB, 3 * WL_MIB + 5, 400000, 60};
  wl_block *c = &local[nl++];
  c->size = chain[0];
  c->seed = wl_seed();
  c->p = wl_new(&rs, c->size, c->seed);
  for (unsigned i = 1; c->p != NULL && i < sizeof chain / sizeof chain[0]; i++)
    wl_realloc(c, chain[i], wl_seed());

  /* 3. Huge blocks into the source cache and out again: same size (reuse),
   * smaller (split), larger (growth of a cached block). */
  for (unsigned i = 8; i < nl; i += 2)
    wl_free(&local[i]);
  api->trim();
  for (unsigned k = 0; k < 3; k++) {
    wl_block *h = &local[nl + k];
    h->size = k == 0 ? 4 * WL_MIB : k == 1 ? 3 * WL_MIB : 7 * WL_MIB;
    h->seed = wl_seed();
    h->p = wl_new(&rs, h->size, h->seed);
    wl_free(h);
  }
  wl_block *g = &local[nl++];
  g->size = 2 * WL_MIB + 1;
  g->seed = wl_seed();
  g->p = wl_new(&rs, g->size, g->seed);
  if (g->p != NULL)
    wl_realloc(g, 9 * WL_MIB, wl_seed());

  /* 4. Threads, all at once, freeing and reallocating each other's blocks
   * and the main thread's; then a second wave, which adopts the heaps of
   * the first and frees what it left. */
  for (unsigned i = 0; i < 8 && i < nl; i++) {
    pthread_mutex_lock(&wl.lock);
    if (wl.slots[i].p == NULL && local[i].p != NULL) {
      wl.slots[i] = local[i];
      local[i].p = NULL;
    }
    pthread_mutex_unlock(&wl.lock);
  }
  wl_threads(3, seed * 16 + 1);
  api->trim();
  wl_threads(2, seed * 16 + 5);

  /* 5. The main thread frees what is left (blocks of exited threads go to
   * their abandoned heaps), then gives everything back. */
  for (unsigned i = 0; i < WL_SLOTS; i++)
    wl_free(&wl.slots[i]);
  for (unsigned i = 0; i < sizeof local / sizeof local[0]; i++)
    wl_free(&local[i]);
  api->trim();
}

#endif
