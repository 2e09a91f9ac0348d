/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Helpers shared by the stress programs (linked with -lmpcalloc): a cheap
 * random generator, content patterns (tests/pattern.h), checks that
 * report and exit, memory figures from /proc, and a watchdog. */
#ifndef MPCA_STRESS_H
#define MPCA_STRESS_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../pattern.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#define FAIL(...)                                                                                            \
  do {                                                                                                       \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                    \
    fprintf(stderr, __VA_ARGS__);                                                                            \
    fputc('\n', stderr);                                                                                     \
    _exit(1);                                                                                                \
  } while (0)

#define REQUIRE(cond, ...)                                                                                   \
  do {                                                                                                       \
    if (!(cond))                                                                                             \
      FAIL(__VA_ARGS__);                                                                                     \
  } while (0)

/* xorshift64*: per-thread state, never zero. */
static inline uint64_t st_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Du;
}

/* Resident and virtual size of the process in bytes (/proc/self/statm). */
static inline void st_statm(size_t *vsize, size_t *rss)
{
  unsigned long v = 0, r = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%lu %lu", &v, &r) != 2)
    FAIL("cannot read /proc/self/statm");
  fclose(f);
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  *vsize = v * pg;
  *rss = r * pg;
}

static inline double st_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void st_on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "FAIL: watchdog: the test hung (SIGALRM)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

/* Fail the test instead of hanging past `seconds`; stdout line-buffered so
 * that what was printed survives a FAIL (which uses _exit). A watchdog only
 * catches hangs: give it 20 to 50 times what the test takes alone, so that
 * a machine loaded several times over (make -j, other jobs) never trips it. */
static inline void st_watchdog(unsigned seconds)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGALRM, st_on_alarm);
  alarm(seconds);
}

#endif
