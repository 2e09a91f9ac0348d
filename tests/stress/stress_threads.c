/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Multi-threaded random allocation with cross-thread frees. Six threads
 * allocate blocks of 1 B to 2 MiB (mostly small) with malloc, calloc,
 * realloc and the aligned allocators, fill each with a pattern derived from
 * a unique id, and swap them through shared slots: a block is usually freed
 * (or reallocated) by another thread than the one that allocated it. Every
 * block's content is checked before it is freed or reallocated. Bounded in
 * operations and in time (about 8 s), with a watchdog. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include "stress.h"

enum { NTHREADS = 6, NSLOTS = 4096, OPS_PER_THREAD = 300000 };
#define TIME_BUDGET 8.0

typedef struct slot {
  pthread_mutex_t lock;
  unsigned char *p;
  size_t size;
  uint64_t id;
} slot;

static slot slots[NSLOTS];
static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t ops_done, cross_frees, reallocs, bytes_checked;
static double deadline;

static size_t pick_size(uint64_t *rs)
{
  uint64_t r = st_rand(rs) % 1000;
  if (r < 500)
    return 1 + st_rand(rs) % 128;
  if (r < 800)
    return 1 + st_rand(rs) % 1024;
  if (r < 950)
    return 1025 + st_rand(rs) % (64 * KiB - 1024);
  if (r < 995)
    return 64 * KiB + st_rand(rs) % (MiB - 64 * KiB);
  return MiB + st_rand(rs) % (MiB + 1);
}

static void check_new(const unsigned char *p, size_t size, const char *how)
{
  REQUIRE(p != NULL, "%s(%zu) failed: %s", how, size, strerror(errno));
  REQUIRE(((uintptr_t)p & 15) == 0, "%s(%zu) = %p is not 16-byte aligned", how, size, (const void *)p);
  size_t u = malloc_usable_size((void *)p);
  REQUIRE(u >= size, "%s(%zu): usable size %zu", how, size, u);
}

static unsigned char *new_block(uint64_t *rs, size_t size)
{
  unsigned char *p;
  unsigned kind = (unsigned)(st_rand(rs) % 20);
  if (kind < 14) {
    p = malloc(size);
    check_new(p, size, "malloc");
  } else if (kind < 17) {
    p = calloc(1, size);
    check_new(p, size, "calloc");
    for (size_t i = 0; i < size; i++)
      REQUIRE(p[i] == 0, "calloc(%zu) = %p: byte %zu not zero", size, (void *)p, i);
  } else {
    size_t align = (size_t)16 << (st_rand(rs) % 9); /* 16 .. 4096 */
    void *v = NULL;
    if (kind == 17) {
      REQUIRE(posix_memalign(&v, align, size) == 0, "posix_memalign(%zu, %zu) failed", align, size);
    } else if (kind == 18) {
      v = aligned_alloc(align, size);
    } else {
      v = memalign(align, size);
    }
    p = v;
    check_new(p, size, "aligned allocation");
    REQUIRE(((uintptr_t)p & (align - 1)) == 0, "aligned allocation (%zu, %zu) = %p misaligned", align, size, v);
  }
  return p;
}

static void *worker(void *arg)
{
  int me = (int)(intptr_t)arg;
  uint64_t rs = 0x1234567ull * (uint64_t)(me + 1) + 77;
  uint64_t ops = 0, local_cross = 0, local_realloc = 0, checked = 0;
  for (; ops < OPS_PER_THREAD; ops++) {
    if ((ops & 1023) == 0 && st_now() > deadline)
      break;
    slot *s = &slots[st_rand(&rs) % NSLOTS];
    pthread_mutex_lock(&s->lock);
    unsigned char *old = s->p;
    size_t old_size = s->size;
    uint64_t old_id = s->id;
    s->p = NULL;
    pthread_mutex_unlock(&s->lock);

    unsigned char *p = NULL;
    size_t size = 0;
    uint64_t id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    if (old != NULL) {
      size_t bad = pattern_verify(old, old_size, old_id);
      REQUIRE(bad == old_size, "block id %llu (%zu bytes at %p) corrupted at byte %zu",
              (unsigned long long)old_id, old_size, (void *)old, bad);
      checked += old_size;
      /* the id encodes the allocating thread in its low bits */
      if ((old_id & 7) != (uint64_t)me)
        local_cross++;
      if (st_rand(&rs) % 4 == 0) {
        size = pick_size(&rs);
        p = realloc(old, size);
        REQUIRE(p != NULL, "realloc(%p, %zu) failed", (void *)old, size);
        REQUIRE(((uintptr_t)p & 15) == 0, "realloc result %p misaligned", (void *)p);
        size_t keep = old_size < size ? old_size : size;
        bad = pattern_verify(p, keep, old_id);
        REQUIRE(bad == keep, "realloc %zu -> %zu lost the content at byte %zu", old_size, size, bad);
        REQUIRE(malloc_usable_size(p) >= size, "realloc usable size");
        local_realloc++;
      } else {
        free(old);
      }
    }
    if (p == NULL) {
      size = pick_size(&rs);
      p = new_block(&rs, size);
    }
    id = (id << 3) | (uint64_t)me;
    pattern_fill(p, size, id);

    pthread_mutex_lock(&s->lock);
    if (s->p == NULL) {
      s->p = p;
      s->size = size;
      s->id = id;
      p = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (p != NULL)
      free(p);
  }
  atomic_fetch_add(&ops_done, ops);
  atomic_fetch_add(&cross_frees, local_cross);
  atomic_fetch_add(&reallocs, local_realloc);
  atomic_fetch_add(&bytes_checked, checked);
  return NULL;
}

int main(void)
{
  st_watchdog(300);
  for (int i = 0; i < NSLOTS; i++)
    pthread_mutex_init(&slots[i].lock, NULL);
  double t0 = st_now();
  deadline = t0 + TIME_BUDGET;
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0, "pthread_create");
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(t[i], NULL);
  size_t left = 0;
  for (int i = 0; i < NSLOTS; i++) {
    slot *s = &slots[i];
    if (s->p == NULL)
      continue;
    size_t bad = pattern_verify(s->p, s->size, s->id);
    REQUIRE(bad == s->size, "leftover block id %llu corrupted at byte %zu", (unsigned long long)s->id, bad);
    free(s->p);
    left++;
  }
  malloc_trim(0);
  printf("%d threads, %llu operations (%llu freed by another thread, %llu reallocs), %llu MiB checked, "
         "%zu blocks left at the end, %.1f s\n",
         NTHREADS, (unsigned long long)ops_done, (unsigned long long)cross_frees, (unsigned long long)reallocs,
         (unsigned long long)(bytes_checked >> 20), left, st_now() - t0);
  REQUIRE(cross_frees > 1000, "too few cross-thread frees (%llu): the test did not test them",
          (unsigned long long)cross_frees);
  return 0;
}
