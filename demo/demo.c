/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The demo workload: three phases an HPC code goes through, timed one by one.
 *  1. objects: build and tear down a tree of a million small nodes;
 *  2. pipeline: one thread produces messages, another consumes and frees
 *     them (every free is remote);
 *  3. arrays: allocate, fill and free 64 MiB arrays in a loop, where page
 *     faults and page zeroing dominate unless the allocator reuses memory.
 * It uses only the standard malloc API: run it plain and with
 * LD_PRELOAD=libmpcalloc.so to compare (demo/run-demo.sh does). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* ---- phase 1: a binary search tree of small nodes ---- */
struct node {
  struct node *left, *right;
  uint64_t key;
  char payload[];
};

static struct node *insert(struct node *root, struct node *n)
{
  struct node **at = &root;
  while (*at)
    at = n->key < (*at)->key ? &(*at)->left : &(*at)->right;
  *at = n;
  return root;
}

static uint64_t destroy(struct node *n)
{
  uint64_t sum = 0;
  while (n) {
    sum += n->key + (uint8_t)n->payload[0];
    destroy(n->left);
    struct node *r = n->right;
    free(n);
    n = r;
  }
  return sum;
}

static uint64_t phase_objects(int count)
{
  struct node *root = NULL;
  for (int i = 0; i < count; i++) {
    size_t extra = 8 + next_rand() % 120;
    struct node *n = malloc(sizeof *n + extra);
    if (!n)
      abort();
    n->left = n->right = NULL;
    n->key = next_rand();
    memset(n->payload, (int)(n->key & 0xff), extra);
    root = insert(root, n);
  }
  return destroy(root);
}

/* ---- phase 2: producer / consumer ---- */
#define RING 4096
static _Atomic(char *) ring[RING];
static long messages;

static void *consumer(void *arg)
{
  (void)arg;
  uint64_t sum = 0;
  for (long i = 0; i < messages; i++) {
    char *m;
    while ((m = atomic_exchange_explicit(&ring[i % RING], NULL, memory_order_acquire)) == NULL)
      ;
    sum += (uint8_t)m[0];
    free(m);
  }
  return (void *)(uintptr_t)sum;
}

static uint64_t phase_pipeline(long count)
{
  messages = count;
  pthread_t t;
  pthread_create(&t, NULL, consumer, NULL);
  for (long i = 0; i < count; i++) {
    size_t len = 16 + (size_t)(i % 17) * 24;
    char *m = malloc(len);
    if (!m)
      abort();
    m[0] = (char)i;
    while (atomic_load_explicit(&ring[i % RING], memory_order_relaxed) != NULL)
      ;
    atomic_store_explicit(&ring[i % RING], m, memory_order_release);
  }
  void *sum;
  pthread_join(t, &sum);
  return (uint64_t)(uintptr_t)sum;
}

/* ---- phase 3: big arrays ---- */
static uint64_t phase_arrays(int loops, size_t bytes)
{
  uint64_t sum = 0;
  for (int i = 0; i < loops; i++) {
    double *a = malloc(bytes);
    if (!a)
      abort();
    size_t n = bytes / sizeof *a;
    for (size_t j = 0; j < n; j += 512)
      a[j] = (double)(i + j);
    sum += (uint64_t)a[n / 2 - (n / 2) % 512];
    free(a);
  }
  return sum;
}

int main(int argc, char **argv)
{
  int scale = argc > 1 ? atoi(argv[1]) : 1;
  if (scale < 1)
    scale = 1;
  double t0 = now();
  uint64_t s1 = phase_objects(1000000 * scale);
  double t1 = now();
  uint64_t s2 = phase_pipeline(1000000L * scale);
  double t2 = now();
  uint64_t s3 = phase_arrays(20 * scale, (size_t)64 << 20);
  double t3 = now();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("objects  %8.3f s  (checksum %llu)\n", t1 - t0, (unsigned long long)(s1 & 0xffffff));
  printf("pipeline %8.3f s  (checksum %llu)\n", t2 - t1, (unsigned long long)s2);
  printf("arrays   %8.3f s  (checksum %llu)\n", t3 - t2, (unsigned long long)(s3 & 0xffffff));
  printf("total    %8.3f s  peak RSS %ld MiB, minor faults %ld\n", t3 - t0, ru.ru_maxrss / 1024, ru.ru_minflt);
  return 0;
}
