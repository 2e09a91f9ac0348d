/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The mpc_alloc_* functions of <mpcalloc.h>. */
#include "config.h"
#include "mpcalloc.h"
#include "mpca_guarded.h"
#include "mpca_heap.h"
#include "mpca_init.h"
#include "mpca_source.h"

MPCA_EXPORT const char *mpc_alloc_version(void) { return PACKAGE_VERSION; }

MPCA_EXPORT size_t mpc_alloc_release(size_t keep)
{
  mpca_global_init();
  /* The thread's empty macro blocks go to the cache first; with keep == 0
   * the pages of its free runs and large free chunks go back to the OS too.
   * What counts is what leaves the process. */
  mpca_heap *h = mpca_heap_mine();
  size_t purged = 0;
  if (h != NULL) {
    mpca_heap_trim(h);
    if (keep == 0)
      purged = mpca_heap_purge(h);
  }
  if (MPCA_HARDENED_ON) /* the guarded blocks' spare macro blocks, to the cache */
    mpca_guarded_release();
  return purged + mpca_source_release(keep);
}
