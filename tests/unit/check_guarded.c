/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of guarded blocks (lib/guarded.c), without heaps: the class
 * and slot a request gets, right alignment against the slot's end for
 * every alignment, the size kept, reuse of a freed slot and of a whole
 * macro block (spare, then cached) without a system call, zeroing, and
 * what aborts: double frees (same thread, other thread), interior
 * pointers, the canaries before and after a block, a write after free,
 * a freed block's usable size. In the hardened build also the guard pages
 * (an overflow past the slot, an underflow before slot 0, the header's
 * and a small macro block's guard pages reported by fault.c). The logic
 * runs in both builds; the default build has no guard pages. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_guarded.h"
#include "mpca_os.h"
#include "mpca_secret.h"
#include "mpca_small.h"
#include "mpca_source.h"
#include "mpca_stats.h"

#define KIB ((size_t)1 << 10)
static mpca_source *src;

static void setup(void)
{
  mpca_global_init();
  src = mpca_source_for_node(MPCA_NODE_UNBOUND);
}

static mpca_gseg *gseg_of(const void *p)
{
  mpca_seg *seg = mpca_registry_lookup(p);
  ck_assert_ptr_nonnull(seg);
  ck_assert_uint_eq(seg->kind, MPCA_KIND_GUARDED);
  return (mpca_gseg *)seg;
}

/* The end of the slot of p. */
static char *slot_end(const void *p)
{
  mpca_gseg *gs = gseg_of(p);
  size_t off = (size_t)((const char *)p - (const char *)gs) - gs->first;
  return (char *)gs + gs->first + (off / gs->stride) * gs->stride + gs->slot_bytes;
}

static void gfree(void *p) { mpca_guarded_free(mpca_registry_lookup(p), p, "free"); }

START_TEST(test_classes_and_slots)
{
  /* 4 classes per doubling: 40, 48, 56, 64, 80, ... 1024 KiB */
  size_t expect[] = {40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024};
  ck_assert_uint_eq(sizeof expect / sizeof expect[0], MPCA_GUARDED_NCLASSES);
  size_t page = mpca_os_page_size();
  for (unsigned c = 0; c < MPCA_GUARDED_NCLASSES; c++) {
    size_t lo = c == 0 ? MPCA_SMALL_MAX + 1 : expect[c - 1] * KIB + 1, hi = expect[c] * KIB;
    size_t sizes[] = {lo, (lo + hi) / 2, hi};
    for (int k = 0; k < 3; k++) {
      char *p = mpca_guarded_malloc(src, sizes[k], MPCA_ALIGNMENT, false);
      ck_assert_ptr_nonnull(p);
      mpca_gseg *gs = gseg_of(p);
      ck_assert_uint_eq(gs->cls, c);
      ck_assert_uint_eq(gs->slot_bytes, mpca_align_up(expect[c] * KIB, page));
      ck_assert_uint_eq(gs->stride, gs->slot_bytes + page);
      ck_assert_uint_le(gs->nslots, MPCA_GUARDED_MAX_SLOTS);
      ck_assert_uint_ge(gs->nslots, MPCA_GUARDED_MIN_SLOTS);
      ck_assert_uint_le(gs->first + gs->nslots * gs->stride, gs->hdr.size);
      ck_assert_uint_eq((uintptr_t)p % MPCA_ALIGNMENT, 0);
      /* right-aligned: the block's last 16-byte unit ends its slot */
      ck_assert_ptr_eq(p + mpca_align_up(sizes[k], MPCA_ALIGNMENT), slot_end(p));
      ck_assert_uint_eq(mpca_guarded_usable(&gs->hdr, p, "t"), sizes[k]);
      memset(p, 0x11, sizes[k]);
      gfree(p);
    }
  }
  ck_assert(!mpca_guarded_fits(MPCA_MEDIUM_MAX + 1, MPCA_ALIGNMENT));
  ck_assert(mpca_guarded_fits(MPCA_MEDIUM_MAX, MPCA_ALIGNMENT));
  ck_assert(!mpca_guarded_fits(MPCA_MEDIUM_MAX, 2 * MPCA_ALIGNMENT));
  mpca_guarded_release();
  mpca_source_release(0);
}
END_TEST

START_TEST(test_alignments)
{
  for (size_t align = MPCA_ALIGNMENT; align <= MPCA_MEDIUM_ALIGN_MAX; align *= 2)
    for (size_t size = 1; size <= 300 * KIB; size = size * 3 + 7) {
      if (!mpca_guarded_fits(size, align))
        continue;
      char *p = mpca_guarded_malloc(src, size, align, false);
      ck_assert_ptr_nonnull(p);
      ck_assert_uint_eq((uintptr_t)p % align, 0);
      ck_assert((uintptr_t)(p + size) <= (uintptr_t)slot_end(p));
      ck_assert((uintptr_t)(p + size + align) > (uintptr_t)slot_end(p)); /* as far right as the alignment allows */
      memset(p, 0x22, size);
      gfree(p);
    }
  mpca_guarded_release();
  mpca_source_release(0);
}
END_TEST

START_TEST(test_reuse_and_zero)
{
  char *p = mpca_guarded_malloc(src, 50000, MPCA_ALIGNMENT, true);
  for (size_t i = 0; i < 50000; i++)
    ck_assert_int_eq(p[i], 0);
  memset(p, 0xff, 50000);
  gfree(p);
  /* the same slot again (the lowest free one), zeroed on request */
  char *q = mpca_guarded_malloc(src, 50000, MPCA_ALIGNMENT, true);
  ck_assert_ptr_eq(q, p);
  for (size_t i = 0; i < 50000; i++)
    ck_assert_int_eq(q[i], 0);
  gfree(q);
  mpca_guarded_release();
  mpca_source_release(0);
}
END_TEST

static uint64_t system_calls(void)
{
  return atomic_load(&mpca_os_cnt.mprotect_calls) + atomic_load(&mpca_os_cnt.mmap_calls) +
         atomic_load(&mpca_os_cnt.munmap_calls) + atomic_load(&mpca_os_cnt.mremap_calls);
}

/* Every slot of a macro block taken, all freed (it becomes the class's
 * spare), taken again: no system call; given back to the source, taken
 * again: the cached block comes back with its guard pages, still no
 * system call. (Round 0 maps the block and the source's index.) */
START_TEST(test_no_system_call_on_reuse)
{
  void *b[MPCA_GUARDED_MAX_SLOTS];
  mpca_gseg *gs = NULL;
  uint64_t calls = 0;
  for (int round = 0; round < 3; round++) {
    if (round == 1)
      calls = system_calls();
    for (unsigned i = 0; i == 0 || i < gs->nslots; i++) {
      b[i] = mpca_guarded_malloc(src, 40000 - 100 * i, MPCA_ALIGNMENT, false);
      if (gs == NULL)
        gs = gseg_of(b[i]);
      ck_assert_ptr_eq(gseg_of(b[i]), gs);
      memset(b[i], 0x33, 40000 - 100 * i);
    }
    for (unsigned i = 0; i < gs->nslots; i++)
      gfree(b[i]);
    ck_assert_uint_eq(mpca_guarded_release(), gs->hdr.size); /* to the cache, with its guard pages */
  }
  uint64_t now = system_calls();
  ck_assert_uint_eq(now, calls);
  mpca_source_release(0);
}
END_TEST

START_TEST(test_statistics)
{
  mpca_stats_node *st = mpca_stats_node_of(MPCA_NODE_UNBOUND);
  uint64_t used = atomic_load(&st->huge_used), live = atomic_load(&st->huge_live);
  void *p = mpca_guarded_malloc(src, 77777, MPCA_ALIGNMENT, false);
  ck_assert_uint_eq(atomic_load(&st->huge_used), used + 77777);
  ck_assert_uint_eq(atomic_load(&st->huge_live), live + 1);
  gfree(p);
  ck_assert_uint_eq(atomic_load(&st->huge_used), used);
  ck_assert_uint_eq(atomic_load(&st->huge_live), live);
}
END_TEST

/* ---- what aborts (one line on stderr, then abort()) ---------------------- */

START_TEST(test_double_free)
{
  void *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  gfree(p);
  gfree(p);
}
END_TEST

static void *free_it(void *p)
{
  gfree(p);
  return NULL;
}

START_TEST(test_double_free_other_thread)
{
  void *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, free_it, p), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  gfree(p);
}
END_TEST

START_TEST(test_interior_pointer)
{
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  gfree(p + 16);
}
END_TEST

START_TEST(test_slot_never_used)
{
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  mpca_gseg *gs = gseg_of(p);
  gfree((char *)gs + gs->first + (gs->nslots - 1) * gs->stride); /* (slot 0 is p's) */
}
END_TEST

START_TEST(test_overflow_into_padding)
{
  char *p = mpca_guarded_malloc(src, 60001, MPCA_ALIGNMENT, false);
  p[60001] = 1; /* inside the slot, past the block */
  gfree(p);
}
END_TEST

START_TEST(test_underflow_before_block)
{
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  p[-3] = 1; /* inside the slot (the 64 KiB class), before the block */
  gfree(p);
}
END_TEST

START_TEST(test_write_after_free)
{
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  gfree(p);
  p[63] = 1; /* the last byte of the fill */
  mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
}
END_TEST

START_TEST(test_write_after_free_missed_past_the_fill)
{
  /* what the fill does not cover: written after its first 64 bytes */
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  gfree(p);
  p[MPCA_HARD_FILL_BYTES] = 1;
  char *q = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  ck_assert_ptr_eq(q, p);
  gfree(q);
}
END_TEST

START_TEST(test_usable_size_of_freed)
{
  char *p = mpca_guarded_malloc(src, 60000, MPCA_ALIGNMENT, false);
  gfree(p);
  mpca_guarded_usable(mpca_registry_lookup(p), p, "malloc_usable_size");
}
END_TEST

/* ---- guard pages (hardened build): fault.c's report, then abort() -------- */

START_TEST(test_guard_after_slot)
{
  char *p = mpca_guarded_malloc(src, 64 * KIB, MPCA_ALIGNMENT, false);
  ((volatile char *)p)[64 * KIB] = 1;
}
END_TEST

START_TEST(test_guard_after_header)
{
  char *p = mpca_guarded_malloc(src, 64 * KIB, MPCA_ALIGNMENT, false);
  mpca_gseg *gs = gseg_of(p);
  ck_assert_ptr_eq(p, (char *)gs + gs->first); /* slot 0, the whole slot */
  ((volatile char *)p)[-1] = 1;
}
END_TEST

START_TEST(test_guard_of_small_macro_block)
{
  char *p = mpca_alloc(100, false);
  mpca_small_seg *ss = mpca_small_seg_of(p);
  ((volatile char *)ss)[MPCA_RUN_SIZE - 1] = 1; /* just before run 1 */
}
END_TEST

START_TEST(test_guard_of_huge_block)
{
  char *p = mpca_alloc(3 << 20, false);
  ((volatile char *)p)[3 << 20] = 1;
}
END_TEST

int main(void)
{
  Suite *s = suite_create("guarded");
  TCase *tc = tcase_create("blocks");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_classes_and_slots);
  tcase_add_test(tc, test_alignments);
  tcase_add_test(tc, test_reuse_and_zero);
  tcase_add_test(tc, test_no_system_call_on_reuse);
  tcase_add_test(tc, test_statistics);
  tcase_add_test(tc, test_write_after_free_missed_past_the_fill);
  suite_add_tcase(s, tc);

  tc = tcase_create("aborts");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test_raise_signal(tc, test_double_free, SIGABRT);
  tcase_add_test_raise_signal(tc, test_double_free_other_thread, SIGABRT);
  tcase_add_test_raise_signal(tc, test_interior_pointer, SIGABRT);
  tcase_add_test_raise_signal(tc, test_slot_never_used, SIGABRT);
  tcase_add_test_raise_signal(tc, test_overflow_into_padding, SIGABRT);
  tcase_add_test_raise_signal(tc, test_underflow_before_block, SIGABRT);
  tcase_add_test_raise_signal(tc, test_write_after_free, SIGABRT);
  tcase_add_test_raise_signal(tc, test_usable_size_of_freed, SIGABRT);
  if (MPCA_HARDENED_ON) {
    tcase_add_test_raise_signal(tc, test_guard_after_slot, SIGABRT);
    tcase_add_test_raise_signal(tc, test_guard_after_header, SIGABRT);
    tcase_add_test_raise_signal(tc, test_guard_of_small_macro_block, SIGABRT);
    tcase_add_test_raise_signal(tc, test_guard_of_huge_block, SIGABRT);
  }
  suite_add_tcase(s, tc);
  return unit_run(s);
}
