/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The allocator must work before main: from this program's own constructor,
 * and from the constructors and first calls of libraries that allocate while
 * they set themselves up (libnuma reads /sys and allocates its bitmasks).
 * Run under LD_PRELOAD by early.sh; prints what it saw, exits 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#ifdef HAVE_LIBNUMA
#include <numa.h>
#endif

static char *from_ctor;
static void *blocks[64];

__attribute__((constructor(101))) static void early_ctor(void)
{
  /* before main and before most other constructors */
  from_ctor = malloc(100);
  if (from_ctor)
    strcpy(from_ctor, "allocated in a constructor");
  for (int i = 0; i < 64; i++)
    blocks[i] = malloc((size_t)1 << (i % 22));
}

int main(void)
{
  if (from_ctor == NULL || strcmp(from_ctor, "allocated in a constructor") != 0) {
    fprintf(stderr, "constructor allocation lost\n");
    return 1;
  }
  for (int i = 0; i < 64; i++) {
    if (blocks[i] == NULL) {
      fprintf(stderr, "constructor allocation %d failed\n", i);
      return 1;
    }
    memset(blocks[i], i, (size_t)1 << (i % 22));
    free(blocks[i]);
  }
  free(from_ctor);
#ifdef HAVE_LIBNUMA
  /* libnuma allocates in its constructor and in these calls */
  int avail = numa_available();
  if (avail >= 0) {
    struct bitmask *m = numa_allocate_nodemask();
    numa_bitmask_setbit(m, 0);
    numa_bitmask_free(m);
    printf("libnuma: %d node(s)\n", numa_max_node() + 1);
  } else {
    printf("libnuma: no NUMA support on this machine\n");
  }
#endif
  printf("early allocations ok\n");
  return 0;
}
