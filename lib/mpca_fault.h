/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Hardened build: reports of accesses to the allocator's guard pages (a
 * SIGSEGV handler, chained to the one that was there before). */
#ifndef MPCA_FAULT_H
#define MPCA_FAULT_H

#include "mpca_common.h"

/* Install the handler (start-up, hardened build only). */
MPCA_INTERNAL void mpca_fault_install(void);

#endif
