/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Reports of invalid frees and heap corruption. Never allocates. */
#include "mpca_config.h"
#include "mpca_error.h"
#include "mpca_init.h"
#include "mpca_os.h"

void mpca_bad_pointer(const char *fn, const void *p, const char *what)
{
  mpca_global_init(); /* a bad free may come before any malloc: options first */
  if (mpca_opt[MPCA_OPT_ON_ERROR] == MPCA_ON_ERROR_WARN) {
    mpca_printf_fd(2, "mpcalloc: %s(%p): %s; ignored (MPCALLOC_ON_ERROR=warn)\n", fn, p, what);
    return;
  }
  mpca_fatal("mpcalloc: %s(%p): %s; aborting\n", fn, p, what);
}
