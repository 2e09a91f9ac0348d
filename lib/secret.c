/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The per-process secrets of mpca_secret.h, from the 16 random bytes the
 * kernel gives every process (AT_RANDOM): no system call, no allocation,
 * usable inside the first malloc. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/auxv.h>
#include "mpca_secret.h"

uintptr_t mpca_free_mark;
uintptr_t mpca_link_secret;

void mpca_secret_init(void)
{
  const void *at_random = (const void *)getauxval(AT_RANDOM);
  uint64_t rnd[2] = {0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull};
  if (at_random)
    memcpy(rnd, at_random, sizeof rnd); /* not necessarily 8-byte aligned */
  /* mixed with an address, so that two processes with the same bytes
   * (there are none) and a library loaded at another place still differ */
  mpca_free_mark = (uintptr_t)(rnd[0] ^ ((uintptr_t)&mpca_free_mark * 0x9e3779b97f4a7c15ull)) | 1;
  mpca_link_secret = MPCA_HARDENED_ON ? (uintptr_t)(rnd[1] ^ (rnd[0] >> 17) ^ (uintptr_t)&mpca_link_secret) : 0;
}
