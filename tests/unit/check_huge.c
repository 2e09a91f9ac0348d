/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of huge blocks (lib/huge.c) on the calling thread's heap: the
 * payload is aligned as asked, every alignment from the default to 256 MiB,
 * and the mapping is no larger than the header, the alignment and the
 * request need (an alignment above the macro block unit once mapped twice
 * the alignment); the whole payload is usable and freed blocks go back to
 * the source. */
#include <string.h>
#include "unit.h"
#include "mpca_alloc.h"
#include "mpca_heap.h"
#include "mpca_huge.h"
#include "mpca_os.h"
#include "mpca_source.h"

#define MIB ((size_t)1 << 20)

static void setup(void) { mpca_global_init(); }

START_TEST(test_aligned_mapping_is_tight)
{
  size_t page = mpca_os_page_size();
  for (size_t align = MPCA_ALIGNMENT; align <= 256 * MIB; align *= 4)
    for (size_t size = MPCA_MEDIUM_MAX + 1; size <= 5 * MPCA_MEDIUM_MAX; size += 2 * MPCA_MEDIUM_MAX) {
      mpca_source_release(0); /* a fresh mapping, not a larger cached block */
      mpca_heap *h = mpca_heap_get();
      unsigned char *p = mpca_huge_malloc(h, h->source, size, align, false);
      ck_assert_ptr_nonnull(p);
      ck_assert_uint_eq((uintptr_t)p % align, 0);
      mpca_seg *seg = mpca_registry_lookup(p);
      ck_assert_ptr_nonnull(seg);
      ck_assert(mpca_huge_valid(seg, p));
      ck_assert(seg->fresh);
      /* the hardened build: the header's page and a guard page in front,
       * a guard page behind */
      size_t front = MPCA_HARDENED_ON ? 2 * page : MPCA_HUGE_HDR;
      size_t need = (align > MPCA_SEG_SIZE ? align : mpca_align_up(front, align)) + size;
      if (MPCA_HARDENED_ON)
        need = mpca_align_up(need, page) + page;
      ck_assert_msg(seg->size <= mpca_align_up(need, page), "align %zu size %zu: %zu bytes mapped for %zu", align,
                    size, seg->size, need);
      ck_assert_uint_ge(mpca_huge_usable(seg), size);
      memset(p, 0x3c, mpca_huge_usable(seg)); /* all of it is ours */
      mpca_free(p);
    }
  mpca_source_release(0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("huge");
  TCase *tc = tcase_create("huge");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_aligned_mapping_is_tight);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
