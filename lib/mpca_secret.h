/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Per-process secrets, and the link word of a free block. A leaf: anything
 * may include it. mpca_free_mark is what a free block carries in its second
 * word (mpca_small_marked_free); mpca_link_secret scrambles the link word of
 * free blocks in the hardened build (configure --enable-hardened): stored
 * as next ^ the block's own address ^ the secret, so an overwrite of a freed
 * block, or a list forged by a program, decodes to an address nobody chose,
 * which the hardened checks then catch (mpca_small.h), instead of steering
 * malloc to memory of the writer's choice. The default build stores the
 * link as it is. */
#ifndef MPCA_SECRET_H
#define MPCA_SECRET_H

#include "mpca_common.h"

#ifdef MPCA_HARDENED
#define MPCA_HARDENED_ON 1
#else
#define MPCA_HARDENED_ON 0
#endif

/* Random per process, odd (never a block address). */
extern uintptr_t mpca_free_mark MPCA_INTERNAL;
/* Random per process (hardened build only; 0 otherwise). */
extern uintptr_t mpca_link_secret MPCA_INTERNAL;

/* Sets both from the kernel's AT_RANDOM bytes: no system call, no
 * allocation. Start-up only. */
MPCA_INTERNAL void mpca_secret_init(void);

/* The link word to store in the free block `at` for the block `next`. */
MPCA_INLINE void *mpca_link_enc(const void *at, const void *next)
{
  if (!MPCA_HARDENED_ON)
    return (void *)next;
  return (void *)((uintptr_t)next ^ (uintptr_t)at ^ mpca_link_secret);
}

/* The next block from the link word `stored` of the free block `at`. */
MPCA_INLINE void *mpca_link_dec(const void *at, const void *stored)
{
  return mpca_link_enc(at, stored);
}

/* The next block of the free block `at`. */
MPCA_INLINE void *mpca_link_next(const void *at) { return mpca_link_dec(at, *(void *const *)at); }

/* Links the free block `at` to `next`. */
MPCA_INLINE void mpca_link_set(void *at, const void *next) { *(void **)at = mpca_link_enc(at, next); }

/* ---- hardened build: the fill of free blocks ---------------------------- */

/* A free block's first bytes (at most this many) hold a fill, written
 * when it is freed and checked when it is handed out again: a write after
 * free into them is caught then. One cache line, the one a free list's
 * link is written to anyway, so the check costs no cache miss. */
#define MPCA_HARD_FILL_BYTES 64
#define MPCA_HARD_FILL_WORDS (MPCA_HARD_FILL_BYTES / 8)

/* Words of a block of `size` bytes that carry the fill. */
MPCA_INLINE unsigned mpca_hard_fill_words(size_t size)
{
  return size >= MPCA_HARD_FILL_BYTES ? MPCA_HARD_FILL_WORDS : (unsigned)(size / 8);
}

/* Words [from, to) of the free block `p` get the fill (mpca_free_mark). */
MPCA_INLINE void mpca_hard_fill(void *p, unsigned from, unsigned to)
{
  uintptr_t *w = p;
  for (unsigned i = from; i < to; i++)
    w[i] = mpca_free_mark;
}

/* Whether words [from, to) of `p` all still hold the fill. */
MPCA_INLINE bool mpca_hard_filled(const void *p, unsigned from, unsigned to)
{
  const uintptr_t *w = p;
  uintptr_t diff = 0;
  for (unsigned i = from; i < to; i++)
    diff |= w[i] ^ mpca_free_mark;
  return diff == 0;
}

/* The same for a small block, whose first 16 bytes are its link and its
 * free mark: its fill is the 16-byte lines 1 to `lines` (at most 3: the
 * rest of the first 64 bytes; mpca_small_fill_lines), written and checked
 * 16 bytes at a time. `p` is 16-byte aligned. */
/* 16 bytes (GCC's vector extension: SSE2 on x86-64), for the lines. */
typedef uint64_t mpca_line __attribute__((vector_size(16)));

MPCA_INLINE void mpca_hard_fill_lines_set(void *p, unsigned lines)
{
  mpca_line m = {mpca_free_mark, mpca_free_mark};
  mpca_line *l = p;
  if (mpca_likely(lines == 3)) { /* blocks of 64 bytes and more */
    l[1] = l[2] = l[3] = m;
    return;
  }
  switch (lines) {
  case 3: l[3] = m; /* fall through */
  case 2: l[2] = m; /* fall through */
  case 1: l[1] = m; /* fall through */
  default: break;
  }
}

MPCA_INLINE bool mpca_hard_fill_lines_ok(const void *p, unsigned lines)
{
  mpca_line m = {mpca_free_mark, mpca_free_mark}, diff = {0, 0};
  const mpca_line *l = p;
  if (mpca_likely(lines == 3)) { /* blocks of 64 bytes and more */
    diff = (l[1] ^ m) | (l[2] ^ m) | (l[3] ^ m);
    return (diff[0] | diff[1]) == 0;
  }
  switch (lines) {
  case 3: diff |= l[3] ^ m; /* fall through */
  case 2: diff |= l[2] ^ m; /* fall through */
  case 1: diff |= l[1] ^ m; /* fall through */
  default: break;
  }
  return (diff[0] | diff[1]) == 0;
}

/* The first byte of words [from, to) of `p` that differs from the fill
 * (`to` * 8 when none does), for the report. */
MPCA_INLINE size_t mpca_hard_fill_damage(const void *p, unsigned from, unsigned to)
{
  const unsigned char *b = p;
  uintptr_t mark = mpca_free_mark;
  for (size_t i = (size_t)from * 8; i < (size_t)to * 8; i++)
    if (b[i] != ((const unsigned char *)&mark)[i % 8])
      return i;
  return (size_t)to * 8;
}

#endif
