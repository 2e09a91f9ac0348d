/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Reports of invalid frees and heap corruption. Never allocates. A low
 * layer: the options must be loaded by the caller (alloc.c makes sure of
 * it for a bad pointer that comes before any malloc). */
#include "mpca_config.h"
#include "mpca_error.h"
#include "mpca_os.h"

void mpca_bad_pointer(const char *fn, const void *p, const char *what)
{
  if (mpca_opt[MPCA_OPT_ON_ERROR] == MPCA_ON_ERROR_WARN) {
    mpca_printf_fd(2, "mpcalloc: %s(%p): %s; ignored (MPCALLOC_ON_ERROR=warn)\n", fn, p, what);
    return;
  }
  mpca_fatal("mpcalloc: %s(%p): %s; aborting\n", fn, p, what);
}
