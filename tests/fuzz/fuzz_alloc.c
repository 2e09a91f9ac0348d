/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Differential fuzz target (libFuzzer's LLVMFuzzerTestOneInput). The input
 * is a sequence of operations on up to NSLOTS live blocks, run through the
 * allocator's internals (mpca_alloc.h: the layer under the exported malloc
 * family, so ASan keeps its own malloc): malloc, calloc, realloc to any
 * size (tiny, small, medium, huge, the edges between them, and absurd
 * sizes), aligned allocation with every power of two up to 2^63, free,
 * usable size, trim and release, a block handed to one of six other
 * threads that frees or reallocates it (or allocates one for us), such a
 * thread exiting (its heap adopted by the next one), bulk allocation and
 * free that fill whole runs and macro blocks, failures injected into the
 * next system calls, and a "quiesce" that frees everything and requires
 * every mapped byte back. A shadow model checks every result:
 *  - a block is aligned (16, or the alignment asked), its usable size is at
 *    least the request and never changes, it overlaps no other live block;
 *  - calloc gives zeroes; every block keeps what was written in its whole
 *    usable size until it is freed, and realloc keeps min(old usable size,
 *    new size) bytes;
 *  - NULL comes only with errno ENOMEM, and only where the model allows it:
 *    a size above PTRDIFF_MAX (then it must), a request plus alignment above
 *    MAY_FAIL, or while failures are injected; a failed realloc leaves its
 *    block as it was; free preserves errno;
 *  - after quiesce: nothing mapped, reserved, cached or in use.
 * A violation prints one line and aborts, so libFuzzer keeps the input.
 * Size limits come from the headers (MPCA_SMALL_MAX, MPCA_MEDIUM_MAX,
 * MPCA_SEG_SIZE), so the target follows the classes when they change.
 * LLVMFuzzerInitialize sets a 1 ms purge delay and small cache limits
 * (unless the environment sets them), so that short inputs reach the purge
 * and limit paths. The input format is the one seeds.py writes: change
 * both together, and rewrite the corpus and the regression inputs.
 * Built twice: with clang -fsanitize=fuzzer,address,undefined over the
 * allocator's sources (make fuzz, tests/fuzz/fuzz.sh), and with the plain
 * compiler and the internals library under replay.c (tests/fuzz/replay),
 * which replays the committed corpus and crash inputs in make check. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mpcalloc.h"
#include "mpca_alloc.h"
#include "mpca_guarded.h"
#include "mpca_heap.h"
#include "mpca_os.h"
#include "mpca_source.h"
#include "../pattern.h"

/* Live blocks at most: enough for bulk operations to fill whole runs and
 * macro blocks of one class. */
#define NSLOTS 4096
#define BULK_MAX 2048
/* Blocks up to twice this are patterned whole, larger ones at both ends. */
#define FILL_HEAD ((size_t)16 << 10)

/* Huge requests reach this far above MPCA_MEDIUM_MAX. */
#define HUGE_SPAN ((size_t)8 << 20)
/* A request (plus its alignment) above this may fail with ENOMEM. */
#define MAY_FAIL ((size_t)1 << 30)

/* The model's own loops (overlaps, patterns, zero checks) are not what the
 * fuzzer should learn from, and coverage callbacks on them cost most of its
 * time: they are built without, and never inlined into instrumented code. */
#ifdef __clang__
#define MODEL_CODE __attribute__((no_sanitize("coverage"), noinline))
#else
#define MODEL_CODE
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct shadow {
  unsigned char *p;
  size_t req, usable;
  uint64_t seed;
} shadow;

static shadow live[NSLOTS];
static uint64_t next_seed = 1;
static bool injecting;

static void violation(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz_alloc: model violation: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* ---- input --------------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static uint8_t rd8(reader *r)
{
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

static unsigned rd_slot(reader *r)
{
  unsigned lo = rd8(r);
  return (lo | (unsigned)rd8(r) << 8) % NSLOTS;
}

/* 1 to BULK_MAX blocks */
static unsigned rd_count(reader *r)
{
  unsigned lo = rd8(r);
  return (lo | (unsigned)rd8(r) << 8) % BULK_MAX + 1;
}

static uint32_t rd32(reader *r)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)rd8(r) << (8 * i);
  return v;
}

static size_t pick_size(reader *r)
{
  uint8_t kind = rd8(r);
  uint32_t v = rd32(r);
  switch (kind % 8) {
  case 0: return v % (2 * MPCA_ALIGNMENT + 1);
  case 1: return v % (MPCA_SMALL_MAX + 1);
  case 2: return MPCA_SMALL_MAX + 1 + v % (MPCA_MEDIUM_MAX - MPCA_SMALL_MAX);
  case 3: return MPCA_MEDIUM_MAX + 1 + v % HUGE_SPAN;
  case 4: { /* around the edges between classes and kinds */
    static const size_t edges[] = {MPCA_ALIGNMENT, MPCA_SMALL_MAX, MPCA_MEDIUM_MAX, MPCA_SEG_SIZE,
                                   2 * MPCA_SEG_SIZE, 4096, MPCA_MEDIUM_MAX / 2};
    size_t e = edges[v % (sizeof edges / sizeof edges[0])];
    size_t d = (v >> 8) % 129;
    return d < 64 ? (d < e ? e - d : 0) : e + (d - 64);
  }
  case 5: { /* absurd */
    static const size_t absurd[] = {PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX, SIZE_MAX - 4095,
                                    (size_t)1 << 48, (size_t)1 << 40, ((size_t)1 << 47) - 4096};
    return absurd[v % (sizeof absurd / sizeof absurd[0])] - ((v >> 8) & 0xff);
  }
  default: return 1 + v % 256;
  }
}

/* Every power of two; mostly the ones programs use. */
static size_t pick_align(reader *r)
{
  uint8_t b = rd8(r);
  unsigned e = b < 200 ? b % 22 : 22 + b % 42;
  return (size_t)1 << e;
}

/* ---- the model ------------------------------------------------------------ */

/* May a request of `size` bytes aligned to `align` fail? */
static bool may_fail(size_t size, size_t align)
{
  size_t need;
  if (injecting || __builtin_add_overflow(size, align, &need))
    return true;
  return need > MAY_FAIL;
}

/* pattern_verify(p, n, seed) == n, a word at a time (no memcmp per word:
 * under ASan each call checks its range). */
MODEL_CODE static bool same(const unsigned char *p, size_t n, uint64_t seed)
{
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t v;
    memcpy(&v, p + 8 * i, 8);
    if (v != pattern_mix(seed, i))
      return false;
  }
  return n % 8 == 0 || pattern_verify(p, n, seed) == n;
}

MODEL_CODE static void fill(unsigned char *p, size_t n, uint64_t seed)
{
  if (n <= 2 * FILL_HEAD) {
    pattern_fill(p, n, seed);
    return;
  }
  pattern_fill(p, FILL_HEAD, seed);
  pattern_fill(p + n - FILL_HEAD, FILL_HEAD, ~seed);
}

/* The first `keep` bytes of a block of `n` filled by fill() are intact. */
MODEL_CODE static bool intact(const unsigned char *p, size_t n, size_t keep, uint64_t seed)
{
  if (n <= 2 * FILL_HEAD)
    return same(p, keep, seed);
  if (!same(p, keep < FILL_HEAD ? keep : FILL_HEAD, seed))
    return false;
  size_t tail = n - FILL_HEAD;
  return keep <= tail || same(p + tail, keep - tail, ~seed);
}

/* calloc's zeroes, where fill() will write. */
MODEL_CODE static bool zeroed(const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (p[i] != 0)
      return false;
    if (i == FILL_HEAD && n > 2 * FILL_HEAD)
      i = n - FILL_HEAD - 1; /* the loop moves on to n - FILL_HEAD */
  }
  return true;
}

static void check_block(const shadow *b, const char *when)
{
  if (!intact(b->p, b->usable, b->usable, b->seed))
    violation("block %p (%zu bytes asked, %zu usable) damaged %s", (void *)b->p, b->req, b->usable, when);
}

MODEL_CODE static void check_all(void)
{
  for (unsigned i = 0; i < NSLOTS; i++)
    if (live[i].p != NULL)
      check_block(&live[i], "at a check");
}

/* A live block that [p, p + u) overlaps, or NULL. */
MODEL_CODE static const shadow *overlapping(const unsigned char *p, size_t u)
{
  for (unsigned i = 0; i < NSLOTS; i++) {
    const shadow *o = &live[i];
    if (o->p != NULL && p < o->p + o->usable && o->p < p + u)
      return o;
  }
  return NULL;
}

static size_t usable_of(void *p) { return mpca_usable_size(mpca_registry_lookup(p), p, "fuzz"); }

/* A new block from `what`, or NULL with `err`: check it against the model
 * and every live block, pattern it, put it in `slot` (which is empty). */
static void accept(unsigned slot, void *v, int err, size_t req, size_t align, bool zero, const char *what)
{
  if (v == NULL) {
    if (err != ENOMEM)
      violation("%s(%zu, align %zu) returned NULL with errno %d", what, req, align, err);
    if (!may_fail(req, align))
      violation("%s(%zu, align %zu) failed where it must not", what, req, align);
    return;
  }
  if (req > PTRDIFF_MAX)
    violation("%s(%zu) above PTRDIFF_MAX returned %p", what, req, v);
  unsigned char *p = v;
  size_t a = align > MPCA_ALIGNMENT ? align : MPCA_ALIGNMENT;
  if ((uintptr_t)p % a != 0)
    violation("%s(%zu, align %zu) = %p is misaligned", what, req, align, v);
  size_t u = usable_of(p);
  if (u < req)
    violation("%s(%zu) = %p: usable size %zu", what, req, v, u);
  const shadow *o = overlapping(p, u);
  if (o != NULL)
    violation("%s(%zu) = %p (%zu usable) overlaps live block %p (%zu usable)", what, req, v, u, (void *)o->p,
              o->usable);
  if (zero && !zeroed(p, req))
    violation("%s(%zu) = %p is not zeroed", what, req, v);
  shadow *b = &live[slot];
  b->p = p;
  b->req = req;
  b->usable = u;
  b->seed = next_seed++;
  fill(p, u, b->seed);
}

/* ---- other threads ------------------------------------------------------------ */

enum helper_op { H_NONE, H_FREE, H_REALLOC, H_ALLOC, H_TRIM, H_EXIT };

/* Other threads, each started on its first use; more than the owners a
 * thread cache flush sends to at once, so that flushes meet many heaps. */
#define NHELPERS 6

typedef struct helper {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool running;
  pthread_t thread;
  enum helper_op op;
  bool done;
  void *p;
  size_t size;
  void *result;
  int err;
} helper;

static helper helpers[NHELPERS];

static void trim_heap(size_t keep)
{
  mpca_heap *h = mpca_heap_mine();
  if (h != NULL) {
    mpca_heap_trim(h);
    if (keep == 0)
      mpca_heap_purge(h);
  }
  if (MPCA_HARDENED_ON)
    mpca_guarded_release();
  mpca_source_release(keep);
}

static void *helper_main(void *arg)
{
  helper *t = arg;
  pthread_mutex_lock(&t->lock);
  for (;;) {
    while (t->op == H_NONE || t->done)
      pthread_cond_wait(&t->cond, &t->lock);
    enum helper_op op = t->op;
    int saved = errno;
    errno = 0;
    switch (op) {
    case H_FREE:
      errno = 4242;
      mpca_free(t->p);
      if (errno != 4242)
        violation("free(%p) by another thread changed errno to %d", t->p, errno);
      break;
    case H_REALLOC: t->result = mpca_realloc(t->p, t->size); break;
    case H_ALLOC: t->result = mpca_alloc(t->size, false); break;
    case H_TRIM: trim_heap(0); break;
    default: break;
    }
    t->err = errno;
    errno = saved;
    t->done = true;
    pthread_cond_broadcast(&t->cond);
    if (op == H_EXIT)
      break;
  }
  pthread_mutex_unlock(&t->lock);
  return NULL; /* the thread-exit key abandons its heap */
}

/* Run `op` on helper thread `t` (started on demand) and wait for it. */
static void helper_call(helper *t, enum helper_op op, void *p, size_t size)
{
  if (!t->running) {
    if (op == H_EXIT || op == H_TRIM)
      return;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->op = H_NONE;
    if (pthread_create(&t->thread, NULL, helper_main, t) != 0)
      violation("cannot start a helper thread");
    t->running = true;
  }
  pthread_mutex_lock(&t->lock);
  t->op = op;
  t->p = p;
  t->size = size;
  t->result = NULL;
  t->done = false;
  pthread_cond_broadcast(&t->cond);
  while (!t->done)
    pthread_cond_wait(&t->cond, &t->lock);
  t->op = H_NONE;
  pthread_mutex_unlock(&t->lock);
  if (op == H_EXIT) {
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    t->running = false;
  }
}

static helper *pick_helper(reader *r) { return &helpers[rd8(r) % NHELPERS]; }

/* ---- operations ---------------------------------------------------------------- */

/* Free (or realloc) by `by`, a helper thread, or by this thread (NULL). */
static void do_free(unsigned slot, helper *by)
{
  shadow *b = &live[slot];
  if (b->p == NULL)
    return;
  check_block(b, "before free");
  if (by != NULL) {
    helper_call(by, H_FREE, b->p, 0);
  } else {
    errno = 4242;
    mpca_free(b->p);
    if (errno != 4242)
      violation("free(%p) changed errno to %d", (void *)b->p, errno);
  }
  b->p = NULL;
}

static void do_realloc(unsigned slot, size_t size, helper *by)
{
  shadow *b = &live[slot];
  void *q;
  int err;
  if (b->p != NULL)
    check_block(b, "before realloc");
  errno = 0;
  if (by != NULL) {
    helper_call(by, H_REALLOC, b->p, size);
    q = by->result;
    err = by->err;
  } else {
    q = mpca_realloc(b->p, size);
    err = errno;
  }
  if (b->p == NULL) { /* realloc(NULL, size) is malloc(size), even for 0 */
    accept(slot, q, err, size, 0, false, "realloc(NULL)");
    return;
  }
  if (size == 0) { /* frees, as glibc */
    if (q != NULL)
      violation("realloc(%p, 0) returned %p, not NULL", (void *)b->p, q);
    b->p = NULL;
    return;
  }
  if (q == NULL) {
    if (err != ENOMEM)
      violation("realloc(%p, %zu) returned NULL with errno %d", (void *)b->p, size, err);
    if (!may_fail(size, 0))
      violation("realloc(%p, %zu) failed where it must not", (void *)b->p, size);
    check_block(b, "after a failed realloc");
    return;
  }
  size_t keep = b->usable < size ? b->usable : size;
  if (!intact(q, b->usable, keep, b->seed))
    violation("realloc(%p, %zu -> %zu) = %p did not keep the first %zu bytes", (void *)b->p, b->usable, size, q,
              keep);
  b->p = NULL; /* gone: accept() checks the new block against the others */
  accept(slot, q, 0, size, 0, false, "realloc");
}

MODEL_CODE static void free_all(void)
{
  for (unsigned i = 0; i < NSLOTS; i++)
    if (live[i].p != NULL)
      do_free(i, NULL);
}

/* Free everything, give everything back: no byte may stay mapped. */
static void quiesce(void)
{
  bool was = injecting;
  mpca_os_fault_disarm();
  injecting = false;
  free_all();
  /* A trim drains the thread's queue and sends the blocks of other heaps
   * in its cache to their owners' queues, which may have been trimmed
   * already: a second round drains those (the caches hold no other heap's
   * block after the first). */
  for (int round = 0; round < 2; round++) {
    trim_heap(0);
    for (unsigned i = 0; i < NHELPERS; i++)
      helper_call(&helpers[i], H_TRIM, NULL, 0);
  }
  trim_heap(0);
  uint64_t mapped = atomic_load(&mpca_os_cnt.mapped), reserved = atomic_load(&mpca_os_cnt.reserved);
  struct mpc_alloc_stats st = {.size = sizeof st};
  if (mpc_alloc_stats_get(&st) != 0)
    violation("mpc_alloc_stats_get failed");
  if (mapped != 0 || reserved != 0 || st.mapped != 0 || st.in_use != 0 || st.cached != 0)
    violation("everything freed and released, yet %llu bytes mapped, %llu reserved; statistics: mapped %llu, "
              "in use %llu, cached %llu%s",
              (unsigned long long)mapped, (unsigned long long)reserved, (unsigned long long)st.mapped,
              (unsigned long long)st.in_use, (unsigned long long)st.cached,
              was ? " (failures had been injected)" : "");
}

enum op {
  OP_MALLOC,
  OP_CALLOC,
  OP_ALIGNED,
  OP_REALLOC,
  OP_FREE,
  OP_USABLE,
  OP_TRIM,
  OP_REMOTE_FREE,
  OP_REMOTE_REALLOC,
  OP_REMOTE_ALLOC,
  OP_THREAD_EXIT,
  OP_INJECT,
  OP_CHECK,
  OP_QUIESCE,
  OP_BULK_MALLOC, /* many blocks of one size: fills runs and macro blocks */
  OP_BULK_FREE,   /* many frees, some by other threads */
  OP_COUNT
};

static void step(reader *r)
{
  uint8_t op = rd8(r) % OP_COUNT;
  unsigned slot = rd_slot(r);
  shadow *b = &live[slot];
  switch (op) {
  case OP_MALLOC:
  case OP_CALLOC: {
    size_t size = pick_size(r);
    if (b->p != NULL)
      do_free(slot, NULL);
    errno = 0;
    void *p = mpca_alloc(size, op == OP_CALLOC);
    accept(slot, p, errno, size, 0, op == OP_CALLOC, op == OP_CALLOC ? "calloc" : "malloc");
    break;
  }
  case OP_ALIGNED: {
    size_t align = pick_align(r), size = pick_size(r);
    if (b->p != NULL)
      do_free(slot, NULL);
    errno = 0;
    void *p = mpca_alloc_aligned(align, size);
    accept(slot, p, errno, size, align, false, "aligned alloc");
    break;
  }
  case OP_REALLOC: do_realloc(slot, pick_size(r), NULL); break;
  case OP_REMOTE_REALLOC: {
    helper *t = pick_helper(r);
    do_realloc(slot, pick_size(r), t);
    break;
  }
  case OP_FREE: do_free(slot, NULL); break;
  case OP_BULK_MALLOC: {
    unsigned n = rd_count(r);
    size_t size = pick_size(r);
    for (unsigned i = 0; i < n; i++) {
      unsigned s = (slot + i) % NSLOTS;
      if (live[s].p != NULL)
        continue;
      errno = 0;
      void *p = mpca_alloc(size, false);
      accept(s, p, errno, size, 0, false, "malloc (bulk)");
    }
    break;
  }
  case OP_BULK_FREE: {
    unsigned n = rd_count(r);
    uint8_t remote = rd8(r); /* bit i % 8: block i freed by helper i % 8 */
    for (unsigned i = 0; i < n; i++)
      do_free((slot + i) % NSLOTS, (remote >> (i % 8)) & 1 ? &helpers[i % 8 % NHELPERS] : NULL);
    break;
  }
  case OP_REMOTE_FREE: do_free(slot, pick_helper(r)); break;
  case OP_REMOTE_ALLOC: {
    helper *t = pick_helper(r);
    size_t size = pick_size(r);
    if (b->p != NULL)
      do_free(slot, NULL);
    helper_call(t, H_ALLOC, NULL, size);
    accept(slot, t->result, t->err, size, 0, false, "malloc (helper thread)");
    break;
  }
  case OP_USABLE:
    if (b->p != NULL) {
      size_t u = usable_of(b->p);
      if (u != b->usable)
        violation("usable size of %p changed from %zu to %zu", (void *)b->p, b->usable, u);
      check_block(b, "at a usable-size query");
    }
    break;
  case OP_TRIM: {
    uint8_t k = rd8(r);
    trim_heap(k < 128 ? 0 : (size_t)(k - 128) << 20);
    break;
  }
  case OP_THREAD_EXIT: helper_call(pick_helper(r), H_EXIT, NULL, 0); break;
  case OP_INJECT: {
    uint8_t a = rd8(r), c = rd8(r);
    if (a == 0) {
      mpca_os_fault_disarm();
      injecting = false;
    } else {
      /* the a-th call from now fails, and c % 4 after it, or all from it,
       * or it and every k-th call (k = 2..7: some fail, some do not) */
      uint64_t count = c >= 192 ? UINT64_MAX : c >= 128 ? 1 : (uint64_t)(1 + c % 4);
      mpca_os_fault_arm(a % 16 + 1, count, c >= 128 && c < 192 ? (uint64_t)(2 + c % 6) : 0);
      injecting = true;
    }
    break;
  }
  case OP_CHECK: check_all(); break;
  case OP_QUIESCE: quiesce(); break;
  default: break;
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  /* read by the allocator's set-up, at the first allocation */
  setenv("MPCALLOC_PURGE_DELAY", "1ms", 0);
  setenv("MPCALLOC_RETAIN_MAX", "256M", 0);
  setenv("MPCALLOC_KEEP_MEM", "128M", 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  reader r = {data, size};
  while (r.n > 0)
    step(&r);
  mpca_os_fault_disarm();
  injecting = false;
  free_all();
  return 0;
}
