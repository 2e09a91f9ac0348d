/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Workload "bigarrays": the HPC large-buffer pattern. Each thread, in a
 * loop, allocates an array of 16-256 MiB (random size; one in four with
 * calloc), writes all of it, reads a sample back, and frees it. Page faults
 * and the kernel's page zeroing dominate: an allocator that gives every
 * big buffer back to the OS pays them again for the next buffer, one that
 * keeps (and reuses) freed big buffers does not, at the price of memory.
 * calloc'ed arrays are checked to be zero (on a sample of pages), written
 * arrays are checked to hold what was written.
 *
 * The loop runs long enough to have a steady state: the program reports the
 * page faults per array of the second half of each thread's loop
 * (warm_faults_per_array, from getrusage(RUSAGE_THREAD)), where an allocator
 * that reuses its buffers takes almost none, besides the faults of the
 * first half (cold_faults_per_array). */
#include "bench.h"
#include <pthread.h>
#include <sys/resource.h>

enum { O_THREADS, O_ITERS, O_MIN, O_MAX, O_SEED };
static bench_opt opts[] = {
  [O_THREADS] = {"threads", 2, 2, "threads"},
  [O_ITERS] = {"iters", 12, 4, "arrays allocated per thread"},
  [O_MIN] = {"min", 16 << 20, 16 << 20, "smallest array (bytes)"},
  [O_MAX] = {"max", 256 << 20, 64 << 20, "largest array (bytes)"},
  [O_SEED] = {"seed", 42, 42, "PRNG seed"},
};

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
#define SAMPLE 16 /* check one page in SAMPLE */

static uint64_t iters;
static size_t minsz, maxsz;

typedef struct {
  pthread_t th;
  uint64_t seed;
  uint64_t bytes, sum;
  uint64_t cold_faults, warm_faults; /* first and second half of the loop */
} worker;

static uint64_t thread_faults(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0)
    bench_die(BENCH_EXIT_VERIFY, "getrusage(RUSAGE_THREAD) failed");
  return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static void *work(void *arg)
{
  worker *w = arg;
  bench_rng r;
  bench_rng_seed(&r, w->seed);
  uint64_t sum = 0, bytes = 0;
  uint64_t f0 = thread_faults(), fhalf = f0;
  for (uint64_t it = 0; it < iters; it++) {
    if (it == iters / 2)
      fhalf = thread_faults();
    size_t size = bench_rng_range(&r, minsz, maxsz) & ~(size_t)7;
    size_t n = size / sizeof(uint64_t);
    bool zeroed = bench_rng_below(&r, 4) == 0;
    uint64_t *a = zeroed ? calloc(n, sizeof *a) : malloc(size);
    if (a == NULL)
      bench_die(BENCH_EXIT_VERIFY, "%s of %zu bytes returned NULL",
                zeroed ? "calloc" : "malloc", size);
    BENCH_CHECK(bench_aligned(a, size));
    if (zeroed)
      for (size_t i = 0; i < n; i += WORDS_PER_PAGE * SAMPLE)
        BENCH_CHECK(a[i] == 0 && a[n - 1 - i] == 0);
    uint64_t salt = bench_rng_next(&r);
    for (size_t i = 0; i < n; i++)
      a[i] = i ^ salt;
    for (size_t i = 0; i < n; i += WORDS_PER_PAGE * SAMPLE + 1) {
      BENCH_CHECK(a[i] == (i ^ salt));
      sum += a[i];
    }
    free(a);
    bytes += size;
  }
  uint64_t fend = thread_faults();
  w->cold_faults = fhalf - f0;
  w->warm_faults = fend - fhalf;
  w->sum = sum;
  w->bytes = bytes;
  return NULL;
}

int main(int argc, char **argv)
{
  bench_parse(argc, argv,
              "HPC large buffers: threads allocate, fill and free arrays of "
              "16-256 MiB.",
              opts, BENCH_NOPTS(opts));
  size_t nthreads = (size_t)opts[O_THREADS].value;
  iters = (uint64_t)opts[O_ITERS].value;
  minsz = (size_t)opts[O_MIN].value;
  maxsz = (size_t)opts[O_MAX].value;
  if (nthreads == 0 || minsz < 8 || maxsz < minsz)
    bench_die(BENCH_EXIT_USAGE, "bad parameters (try --help)");
  worker *ws = calloc(nthreads, sizeof *ws);
  if (ws == NULL)
    bench_die(BENCH_EXIT_VERIFY, "calloc failed");
  double t0 = bench_now();
  for (size_t t = 0; t < nthreads; t++) {
    ws[t].seed = (uint64_t)opts[O_SEED].value * 1000 + t;
    if (pthread_create(&ws[t].th, NULL, work, &ws[t]) != 0)
      bench_die(BENCH_EXIT_VERIFY, "pthread_create failed");
  }
  uint64_t sum = 0, bytes = 0, cold = 0, warm = 0;
  for (size_t t = 0; t < nthreads; t++) {
    pthread_join(ws[t].th, NULL);
    sum += ws[t].sum;
    bytes += ws[t].bytes;
    cold += ws[t].cold_faults;
    warm += ws[t].warm_faults;
  }
  uint64_t ncold = nthreads * (iters / 2), nwarm = nthreads * (iters - iters / 2);
  double t = bench_now() - t0;
  free(ws);
  printf("bigarrays threads=%zu arrays=%llu mib=%llu checksum=0x%016llx "
         "cold_faults_per_array=%llu warm_faults_per_array=%llu secs=%.3f\n",
         nthreads, (unsigned long long)(iters * nthreads),
         (unsigned long long)(bytes >> 20), (unsigned long long)sum,
         (unsigned long long)(ncold ? cold / ncold : 0),
         (unsigned long long)(nwarm ? warm / nwarm : 0), t);
  return 0;
}
