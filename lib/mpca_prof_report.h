/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The heap profiles as files (prof_report.c): mpc_alloc_prof_dump(3) and
 * the profiles at exit. */
#ifndef MPCA_PROF_REPORT_H
#define MPCA_PROF_REPORT_H

#include "mpca_common.h"

/* With MPCALLOC_PROF, PREFIX.peak.heap and PREFIX.exit.heap: called by the
 * library's destructor (posix.c). */
MPCA_INTERNAL void mpca_prof_report_at_exit(void);

#endif
