/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Oversubscribed soak: 64 threads pinned to 2 CPUs for a given time,
 * allocating blocks of random sizes across every kind (1 B to 16 MiB) with
 * malloc, calloc and the aligned allocators, and swapping them through
 * 1024 shared slots, so that most blocks are freed or reallocated by another
 * thread than their owner. Threads exit after a random number of
 * operations and new ones start in their place (heaps abandoned and
 * adopted all the time). Every block's content is checked before it is
 * freed or reallocated, and realloc must keep it. The main thread samples
 * the resident size every second and prints the curve; it fails the test
 * on a corrupted block, on a NULL, on 30 s without progress (deadlock),
 * when the resident size after warm-up (the first third of the run, at
 * least 20 s) is not flat: the peak of the last half of the samples after
 * warm-up may exceed the peak of the first half by at most 10 % + 16 MiB
 * (judged on runs of 30 s and more), and when, everything freed and
 * trimmed, the statistics' bytes in use and mapped are not back to what
 * they were before the threads (within what the C library keeps).
 * It runs at the lowest priority (nice 19, inherited by every thread): the
 * oversubscription is its own, and the tests beside it in make check -j2
 * (some with time limits) keep their CPU.
 * Usage: soak [SECONDS [THREADS [CPUS]]]; SECONDS defaults to
 * MPCA_SOAK_SECONDS, else 45 (10 with MPCA_CHECK_QUICK=1). */
#include "stress.h" /* first: it defines _GNU_SOURCE */
#include <malloc.h>
#include <mpcalloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdbool.h>

enum { NSLOTS = 1024, MAX_THREADS = 256, MIN_LIFE = 200, MAX_LIFE = 4000 };
/* Blocks up to this are patterned whole, larger ones on their first and
 * last FILL_HEAD bytes. */
#define FILL_WHOLE (64 * KiB)
#define FILL_HEAD (16 * KiB)
#define STALL_SECONDS 120
#define GROWTH_RATIO 1.10
#define GROWTH_SLACK (16 * MiB)
/* Warm-up: the first third of the run, at least this long (the resident
 * size climbs for about 20 s while every heap and the cache fill up). */
#define WARMUP_MIN 20
/* Left over once everything is freed and trimmed, beyond what was there
 * before the threads: what the C library keeps of its threads (stack
 * cache, thread-local storage), and the macro block holding it. */
#define LEFT_IN_USE (64 * KiB)
#define LEFT_MAPPED (4 * MiB)
#define MAX_SAMPLES 100000

typedef struct slot {
  pthread_mutex_t lock;
  unsigned char *p;
  size_t size;
  uint64_t seed;
} slot;

static slot slots[NSLOTS];
static _Atomic bool stop;
static _Atomic uint64_t next_seed = 1, ops, cross, reallocs, started, checked;
static _Atomic int64_t live_bytes;

typedef struct worker {
  pthread_t thread;
  _Atomic bool done;
  uint64_t rs;
  unsigned id;
} worker;
static worker workers[MAX_THREADS];

static size_t pick_size(uint64_t *rs)
{
  uint64_t r = st_rand(rs) % 1000;
  if (r < 620)
    return 1 + st_rand(rs) % 512;
  if (r < 870)
    return 513 + st_rand(rs) % (16 * KiB);
  if (r < 990)
    return 16 * KiB + st_rand(rs) % (512 * KiB);
  if (r < 998)
    return 512 * KiB + st_rand(rs) % (4 * MiB);
  return 4 * MiB + st_rand(rs) % (12 * MiB);
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
  if (n <= FILL_WHOLE) {
    pattern_fill(p, n, seed);
    return;
  }
  pattern_fill(p, FILL_HEAD, seed);
  pattern_fill(p + n - FILL_HEAD, FILL_HEAD, ~seed);
}

/* The first `keep` bytes of a block of `n` filled by fill() are intact. */
static bool intact(const unsigned char *p, size_t n, size_t keep, uint64_t seed)
{
  if (n <= FILL_WHOLE)
    return pattern_verify(p, keep, seed) == keep;
  size_t head = keep < FILL_HEAD ? keep : FILL_HEAD;
  if (pattern_verify(p, head, seed) != head)
    return false;
  return keep < n || pattern_verify(p + n - FILL_HEAD, FILL_HEAD, ~seed) == FILL_HEAD;
}

static unsigned char *new_block(uint64_t *rs, size_t size)
{
  unsigned kind = (unsigned)(st_rand(rs) % 10);
  unsigned char *p;
  size_t align = 16;
  if (kind < 7) {
    p = malloc(size);
  } else if (kind < 9) {
    p = calloc(1, size);
    REQUIRE(p != NULL, "calloc(%zu) failed: %s", size, strerror(errno));
    size_t n = size <= FILL_WHOLE ? size : FILL_HEAD;
    for (size_t i = 0; i < n; i++)
      REQUIRE(p[i] == 0, "calloc(%zu) = %p: byte %zu is not zero", size, (void *)p, i);
  } else {
    align = (size_t)16 << (st_rand(rs) % 13); /* 16 B .. 64 KiB */
    void *v = NULL;
    REQUIRE(posix_memalign(&v, align, size) == 0, "posix_memalign(%zu, %zu) failed", align, size);
    p = v;
  }
  REQUIRE(p != NULL, "allocation of %zu bytes failed: %s", size, strerror(errno));
  REQUIRE((uintptr_t)p % align == 0, "block %p of %zu bytes is not %zu-byte aligned", (void *)p, size, align);
  REQUIRE(malloc_usable_size(p) >= size, "usable size of %p below %zu", (void *)p, size);
  return p;
}

/* One operation on a random slot; seeds carry the thread's id (cross-thread count). */
static void step(worker *w)
{
  slot *s = &slots[st_rand(&w->rs) % NSLOTS];
  pthread_mutex_lock(&s->lock);
  unsigned char *old = s->p;
  size_t old_size = s->size;
  uint64_t old_seed = s->seed;
  s->p = NULL;
  pthread_mutex_unlock(&s->lock);

  unsigned char *p = NULL;
  size_t size = 0;
  uint64_t seed = atomic_fetch_add_explicit(&next_seed, 1, memory_order_relaxed) * MAX_THREADS + w->id;
  if (old != NULL) {
    REQUIRE(intact(old, old_size, old_size, old_seed), "block %p of %zu bytes corrupted", (void *)old, old_size);
    atomic_fetch_add_explicit(&checked, old_size, memory_order_relaxed);
    if (old_seed % MAX_THREADS != w->id)
      atomic_fetch_add_explicit(&cross, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, -(int64_t)old_size, memory_order_relaxed);
    uint64_t r = st_rand(&w->rs) % 10;
    if (r < 3) {
      size = pick_size(&w->rs);
      p = realloc(old, size);
      REQUIRE(p != NULL, "realloc(%p, %zu) failed: %s", (void *)old, size, strerror(errno));
      size_t keep = old_size < size ? old_size : size;
      REQUIRE(intact(p, old_size, keep, old_seed), "realloc %zu -> %zu lost the content", old_size, size);
      atomic_fetch_add_explicit(&reallocs, 1, memory_order_relaxed);
    } else {
      free(old);
      if (r < 6)
        return; /* leave the slot empty */
    }
  }
  if (p == NULL) {
    size = pick_size(&w->rs);
    p = new_block(&w->rs, size);
  }
  fill(p, size, seed);
  atomic_fetch_add_explicit(&live_bytes, (int64_t)size, memory_order_relaxed);
  pthread_mutex_lock(&s->lock);
  bool placed = s->p == NULL;
  if (placed) {
    s->p = p;
    s->size = size;
    s->seed = seed;
  }
  pthread_mutex_unlock(&s->lock);
  if (!placed) {
    atomic_fetch_add_explicit(&live_bytes, -(int64_t)size, memory_order_relaxed);
    free(p);
  }
}

static void *work(void *arg)
{
  worker *w = arg;
  uint64_t life = MIN_LIFE + st_rand(&w->rs) % (MAX_LIFE - MIN_LIFE);
  uint64_t n = 0;
  for (; n < life && !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
    step(w);
    if ((n & 255) == 255)
      atomic_fetch_add_explicit(&ops, 256, memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&ops, n & 255, memory_order_relaxed);
  atomic_store_explicit(&w->done, true, memory_order_release);
  return NULL;
}

static void start(worker *w, unsigned id)
{
  w->id = id;
  w->rs = 0x9E3779B97F4A7C15u * (atomic_fetch_add(&started, 1) + 1) + id;
  atomic_store(&w->done, false);
  REQUIRE(pthread_create(&w->thread, NULL, work, w) == 0, "pthread_create failed");
}

/* Keep the process on the first `n` CPUs it may use. */
static unsigned pin(unsigned n)
{
  cpu_set_t all, use;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0, "sched_getaffinity failed");
  CPU_ZERO(&use);
  unsigned got = 0;
  for (int c = 0; c < CPU_SETSIZE && got < n; c++)
    if (CPU_ISSET(c, &all)) {
      CPU_SET(c, &use);
      got++;
    }
  REQUIRE(sched_setaffinity(0, sizeof use, &use) == 0, "sched_setaffinity failed");
  return got;
}

typedef struct sample {
  double rss, live, in_use, mapped, cached; /* MiB */
  int64_t queued; /* blocks sent to an owner's queue and not drained yet */
} sample;
static sample samples[MAX_SAMPLES];

int main(int argc, char **argv)
{
  double seconds = 45;
  const char *quick = getenv("MPCA_CHECK_QUICK");
  if (quick && *quick && strcmp(quick, "0") != 0)
    seconds = 10;
  if (getenv("MPCA_SOAK_SECONDS"))
    seconds = atof(getenv("MPCA_SOAK_SECONDS"));
  if (argc > 1)
    seconds = atof(argv[1]);
  unsigned nthreads = argc > 2 ? (unsigned)atoi(argv[2]) : 64;
  unsigned ncpus = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
  REQUIRE(seconds >= 3 && nthreads >= 2 && nthreads <= MAX_THREADS && ncpus >= 1, "bad arguments");
  st_watchdog((unsigned)seconds + STALL_SECONDS + 300);
  ncpus = pin(ncpus);
  errno = 0;
  if (setpriority(PRIO_PROCESS, 0, 19) != 0) /* this thread; the workers inherit it */
    fprintf(stderr, "soak: setpriority: %s (running at the normal priority)\n", strerror(errno));
  for (int i = 0; i < NSLOTS; i++)
    pthread_mutex_init(&slots[i].lock, NULL);
  printf("soak: %u threads on %u CPUs for %.0f s\n", nthreads, ncpus, seconds);
  struct mpc_alloc_stats base = {.size = sizeof base};
  REQUIRE(mpc_alloc_stats_get(&base) == 0, "mpc_alloc_stats_get failed");

  double t0 = st_now(), next = t0 + 1, last_progress = t0;
  uint64_t last_ops = 0;
  unsigned n = 0;
  for (unsigned i = 0; i < nthreads; i++)
    start(&workers[i], i);
  while (st_now() - t0 < seconds) {
    /* threads that ended are joined and replaced */
    for (unsigned i = 0; i < nthreads; i++)
      if (atomic_load_explicit(&workers[i].done, memory_order_acquire)) {
        pthread_join(workers[i].thread, NULL);
        start(&workers[i], i);
      }
    if (st_now() >= next) {
      size_t vs, rss;
      st_statm(&vs, &rss);
      struct mpc_alloc_stats st = {.size = sizeof st};
      REQUIRE(mpc_alloc_stats_get(&st) == 0, "mpc_alloc_stats_get failed");
      if (n < MAX_SAMPLES)
        samples[n++] = (sample){(double)rss / MiB,
                                (double)atomic_load(&live_bytes) / MiB,
                                (double)st.in_use / MiB,
                                (double)st.mapped / MiB,
                                (double)st.cached / MiB,
                                (int64_t)(st.remote_frees_sent - st.remote_frees_received)};
      uint64_t o = atomic_load(&ops);
      if (o != last_ops) {
        last_ops = o;
        last_progress = st_now();
      }
      REQUIRE(st_now() - last_progress < STALL_SECONDS, "no progress for %d s: deadlock", STALL_SECONDS);
      next += 1;
    }
    usleep(10000);
  }
  atomic_store(&stop, true);
  for (unsigned i = 0; i < nthreads; i++)
    pthread_join(workers[i].thread, NULL);
  size_t left = 0;
  for (int i = 0; i < NSLOTS; i++)
    if (slots[i].p != NULL) {
      REQUIRE(intact(slots[i].p, slots[i].size, slots[i].size, slots[i].seed), "leftover block corrupted");
      free(slots[i].p);
      left++;
    }
  malloc_trim(0);
  struct mpc_alloc_stats end = {.size = sizeof end};
  REQUIRE(mpc_alloc_stats_get(&end) == 0, "mpc_alloc_stats_get failed");

  /* the curve, at most 60 lines */
  unsigned every = n / 60 + 1;
  printf("MiB at   RSS    live  in use  mapped  cached  queued blocks\n");
  for (unsigned i = 0; i < n; i += every)
    printf("%5u s %6.0f %7.0f %7.0f %7.0f %7.0f %9lld\n", i + 1, samples[i].rss, samples[i].live, samples[i].in_use,
           samples[i].mapped, samples[i].cached, (long long)samples[i].queued);
  printf("(live: the test's blocks; the rest from mpc_alloc_stats, queued = remote frees sent - received)\n");
  unsigned warm = n / 3 > WARMUP_MIN ? n / 3 : WARMUP_MIN;
  if (warm > n)
    warm = n;
  unsigned mid = warm + (n - warm) / 2;
  double peak_a = 0, peak_b = 0, peak_warm = 0;
  for (unsigned i = 0; i < n; i++) {
    double *peak = i < warm ? &peak_warm : i < mid ? &peak_a : &peak_b;
    if (samples[i].rss > *peak)
      *peak = samples[i].rss;
  }
  printf("%llu operations in %.0f s by %llu threads, %llu blocks freed or reallocated by another thread, %llu "
         "reallocs, %llu MiB of content checked, %zu blocks left\n",
         (unsigned long long)atomic_load(&ops), st_now() - t0, (unsigned long long)atomic_load(&started),
         (unsigned long long)atomic_load(&cross), (unsigned long long)atomic_load(&reallocs),
         (unsigned long long)(atomic_load(&checked) >> 20), left);
  if (warm < n)
    printf("peak RSS: warm-up (first %u s) %.1f MiB, then %.1f MiB (s %u-%u), %.1f MiB (s %u-%u)\n", warm,
           peak_warm, peak_a, warm + 1, mid, peak_b, mid + 1, n);
  else
    printf("peak RSS: %.1f MiB\n", peak_warm);
  printf("everything freed, malloc_trim(0): in use %llu bytes, mapped %llu, cached %llu (before the threads: %llu, "
         "%llu, %llu), %llu heaps\n",
         (unsigned long long)end.in_use, (unsigned long long)end.mapped, (unsigned long long)end.cached,
         (unsigned long long)base.in_use, (unsigned long long)base.mapped, (unsigned long long)base.cached,
         (unsigned long long)end.heaps);
  REQUIRE(n >= 3, "too few samples");
  REQUIRE(atomic_load(&cross) > 1000, "too few cross-thread frees: the test did not test them");
  REQUIRE(atomic_load(&started) > nthreads, "no thread exited and was replaced");
  REQUIRE(end.in_use <= base.in_use + LEFT_IN_USE && end.mapped <= base.mapped + LEFT_MAPPED,
          "memory left behind once everything was freed");
  if (n < WARMUP_MIN + 10) {
    printf("run too short to judge whether the resident size is flat after warm-up\n");
    return 0;
  }
  REQUIRE(peak_b <= peak_a * GROWTH_RATIO + (double)GROWTH_SLACK / MiB,
          "RSS not flat after warm-up: peak %.1f MiB, then %.1f MiB", peak_a, peak_b);
  printf("RSS flat after warm-up: %.1f <= %.1f * %.2f + %zu MiB\n", peak_b, peak_a, GROWTH_RATIO,
         GROWTH_SLACK / MiB);
  return 0;
}
