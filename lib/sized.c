/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * C23 sized deallocation: free_sized and free_aligned_sized. The size (and
 * alignment) the program passes must be ones the block can have been
 * allocated with; one that cannot match is an invalid free, reported like
 * any other (one line, then abort, or with MPCALLOC_ON_ERROR=warn the block
 * is left alone) before the block is touched. The rule, documented in
 * mpcalloc(7): the size is at most the usable size, and either at least
 * half of it (realloc keeps a block for any size down to half its usable
 * size, see mpca_realloc) or a size for which a fresh allocation gives this
 * very block: its small size class, a medium chunk whose remainder was too
 * small to split off, a huge block's recorded request. The size never
 * replaces the block's own header: it is checked, not trusted. A pointer
 * the registry does not know goes to the process's free(): ours reports it,
 * and a memory debugger that replaced our malloc family but knows nothing
 * of these two functions (valgrind 3.19) gets its own blocks back. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include "mpca_alloc.h"
#include "mpca_error.h"
#include "mpca_medium.h"
#include "mpca_os.h"

/* Could a request of `size` bytes aligned to `align` (0 for malloc's
 * alignment) have produced, or realloc have left in place, the block of
 * macro block `seg` whose usable size is `usable`? */
static bool size_matches(const mpca_seg *seg, size_t usable, size_t size, size_t align)
{
  if (size > usable)
    return false;
  size_t need = size > align ? size : align;
  if (need >= usable / 2)
    return true;
  switch (seg->kind) {
  case MPCA_KIND_SMALL: /* aligned small blocks are the power of two >= need */
    return align <= MPCA_ALIGNMENT && mpca_classes[mpca_small_class(size)].size == usable;
  case MPCA_KIND_MEDIUM: /* trim_tail keeps remainders below the minimum chunk */
    return usable + MPCA_CHUNK_HDR < mpca_medium_chunk_for(size) + MPCA_MEDIUM_MIN_CHUNK;
  case MPCA_KIND_HUGE: return size == seg->req_size;
  default: return false;
  }
}

static void report(const char *fn, void *p, const char *fmt, size_t a, size_t b)
{
  char what[160];
  mpca_snprintf(what, sizeof what, fmt, a, b);
  mpca_bad_pointer(fn, p, what);
}

/* The usable size of p when p is a live block whose size (and, when
 * `aligned`, alignment `align`) match; 0 after a report otherwise. */
static size_t checked(void *p, bool aligned, size_t align, size_t size, const char *fn)
{
  mpca_seg *seg = mpca_registry_lookup(p);
  size_t usable = mpca_usable_size(seg, p, fn); /* reports a bad pointer */
  if (usable == 0)
    return 0;
  if (aligned && !mpca_is_pow2(align)) {
    report(fn, p, "alignment %zu is not a power of two (size %zu)", align, size);
    return 0;
  }
  if (aligned && ((uintptr_t)p & (align - 1)) != 0) {
    report(fn, p, "block is not aligned to %zu (size %zu)", align, size);
    return 0;
  }
  if (!size_matches(seg, usable, size, align)) {
    report(fn, p, "size %zu does not match the block (usable size %zu)", size, usable);
    return 0;
  }
  return usable;
}

MPCA_EXPORT void free_sized(void *p, size_t size)
{
  if (p == NULL)
    return;
  if (mpca_unlikely(mpca_registry_lookup(p) == NULL))
    free(p); /* through the PLT, see above */
  else if (checked(p, false, 0, size, "free_sized") != 0)
    mpca_free(p);
}

MPCA_EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
  if (p == NULL)
    return;
  if (mpca_unlikely(mpca_registry_lookup(p) == NULL))
    free(p);
  else if (checked(p, true, align, size, "free_aligned_sized") != 0)
    mpca_free(p);
}
