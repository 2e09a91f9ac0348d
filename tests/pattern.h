/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Content patterns of the tests that check what a block holds: byte j of
 * the pattern of `seed` is byte j % 8 of pattern_mix(seed, j / 8), so any
 * prefix of a block checks alike (realloc). Header only, no allocation. */
#ifndef MPCA_TEST_PATTERN_H
#define MPCA_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t pattern_mix(uint64_t seed, uint64_t i)
{
  uint64_t x = seed * 0x9E3779B97F4A7C15u + i * 0xBF58476D1CE4E5B9u + 1;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBu;
  return x ^ (x >> 29);
}

static inline void pattern_fill(void *p, size_t n, uint64_t seed)
{
  unsigned char *b = p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t v = pattern_mix(seed, i);
    memcpy(b + 8 * i, &v, 8);
  }
  if (n % 8) {
    uint64_t v = pattern_mix(seed, words);
    memcpy(b + 8 * words, &v, n % 8);
  }
}

/* Index of the first byte that differs from pattern_fill(p, n, seed), or n. */
static inline size_t pattern_verify(const void *p, size_t n, uint64_t seed)
{
  const unsigned char *b = p;
  for (size_t i = 0; 8 * i < n; i++) {
    uint64_t v = pattern_mix(seed, i);
    size_t len = n - 8 * i < 8 ? n - 8 * i : 8;
    if (memcmp(b + 8 * i, &v, len) != 0)
      for (size_t j = 8 * i;; j++)
        if (b[j] != ((const unsigned char *)&v)[j - 8 * i])
          return j;
  }
  return n;
}

#endif
