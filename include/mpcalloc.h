/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * libmpcalloc public API. The standard allocation functions (malloc, free,
 * ...) are declared by <stdlib.h> and <malloc.h>; this header declares what
 * libmpcalloc adds. Every function here is versioned MPCALLOC_1.0. */
#ifndef MPCALLOC_H
#define MPCALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPC_ALLOC_VERSION_MAJOR 0
#define MPC_ALLOC_VERSION_MINOR 1
#define MPC_ALLOC_VERSION_PATCH 0

/* Version of the library actually loaded, as "X.Y.Z". */
const char *mpc_alloc_version(void);

/* Give free memory the allocator keeps cached back to the operating system
 * until at most `keep` bytes stay cached; returns the number of bytes
 * released. The calling thread's empty macro blocks join the cache first;
 * with keep == 0 the pages of its free runs and large free chunks are
 * released as well. */
size_t mpc_alloc_release(size_t keep);

#ifdef __cplusplus
}
#endif

#endif
