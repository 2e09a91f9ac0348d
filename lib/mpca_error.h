/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The documented reaction to bad input from the program: one precise line on
 * stderr, then abort() (default) or, with MPCALLOC_ON_ERROR=warn, carry on
 * without touching the block. */
#ifndef MPCA_ERROR_H
#define MPCA_ERROR_H

#include "mpca_common.h"

/* `fn` is the public call ("free", "realloc", ...), `what` the error. The
 * options (MPCALLOC_ON_ERROR) must have been read: mpca_global_init. */
MPCA_INTERNAL MPCA_COLD void mpca_bad_pointer(const char *fn, const void *p, const char *what);

#endif
