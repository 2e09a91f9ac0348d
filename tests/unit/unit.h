/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Shared helpers of the unit tests: they link the allocator's internals
 * (lib/libmpcalloc_core.la) directly, without its malloc entry points, so the
 * test program itself runs on the system allocator (and under ASan/valgrind
 * the tool sees our code). */
#ifndef MPCA_UNIT_H
#define MPCA_UNIT_H

#include <check.h>
#include <signal.h>
#include <stdlib.h>

/* Run one suite; exit status for the automake harness. */
static inline int unit_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
