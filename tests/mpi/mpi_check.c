/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * An MPI program on buffers from malloc, run by tests/mpi/mpi.sh under
 * mpirun through the launcher (so libmpcalloc serves Open MPI's own
 * allocations too). Each rank, for sizes from one byte to 24 MiB (small,
 * medium and huge blocks) and over three rounds:
 *  - point to point: a ring of Isend/Irecv; the send buffer is freed as
 *    soon as the message is gone, the received one is checked, grown with
 *    realloc (its bytes kept) and handed to another thread, which frees it:
 *    memory crosses threads on the other side of the message;
 *  - collectives: Bcast from every root, Allreduce, Allgather and Alltoall
 *    on fresh malloc'd buffers, checked, freed;
 *  - MPI_Alloc_mem / MPI_Free_mem buffers used for messages.
 * Rounds reuse freed memory (the allocator's caches, and Open MPI's
 * registration caches that its memory hooks keep in step with our
 * munmap/mremap/madvise). Prints "rank R: OK ..." and exits 0, or one line
 * per mismatch and exits 1. */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t sizes[] = {1, 24, 200, 1000, 5000, 70000, 500000, (size_t)1 << 20, (size_t)3 << 20,
                               (size_t)24 << 20};
#define NSIZES (sizeof sizes / sizeof *sizes)
#define ROUNDS 3

static int rank, nranks, errors;
static long checked;

/* The byte at `i` of a buffer made by `who` for size `size` in `round`. */
static unsigned char pattern(int who, size_t size, int round, size_t i)
{
  return (unsigned char)(i * 31 + (size_t)who * 7 + size * 3 + (size_t)round * 11 + 1);
}

static void fill(unsigned char *b, int who, size_t size, int round)
{
  for (size_t i = 0; i < size; i++)
    b[i] = pattern(who, size, round, i);
}

static void expect(const unsigned char *b, int who, size_t size, int round, const char *what)
{
  for (size_t i = 0; i < size; i++)
    if (b[i] != pattern(who, size, round, i)) {
      fprintf(stderr, "rank %d: %s of %zu bytes from rank %d, round %d: byte %zu is %u, not %u\n", rank, what,
              size, who, round, i, b[i], pattern(who, size, round, i));
      errors++;
      return;
    }
  checked++;
}

static void *xmalloc(size_t n)
{
  void *p = malloc(n);
  if (p == NULL) {
    fprintf(stderr, "rank %d: malloc(%zu) failed\n", rank, n);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  return p;
}

/* ---- the thread that frees received buffers ---------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static void *handed[64];
static int nhanded;
static int done;

static void hand_over(void *p)
{
  pthread_mutex_lock(&lock);
  while (nhanded == 64)
    pthread_cond_wait(&cond, &lock);
  handed[nhanded++] = p;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void *freer(void *arg)
{
  (void)arg;
  free(malloc(16)); /* a heap of its own: the frees below are remote */
  pthread_mutex_lock(&lock);
  while (!done || nhanded) {
    while (nhanded) {
      free(handed[--nhanded]);
      pthread_cond_broadcast(&cond);
    }
    if (!done)
      pthread_cond_wait(&cond, &lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* ---- the exchanges ------------------------------------------------------------- */

static void ring(size_t size, int round)
{
  int to = (rank + 1) % nranks, from = (rank + nranks - 1) % nranks;
  unsigned char *out = xmalloc(size), *in = xmalloc(size);
  fill(out, rank, size, round);
  MPI_Request req[2];
  /* sizes above INT_MAX are not used: counts fit an int */
  MPI_Irecv(in, (int)size, MPI_UNSIGNED_CHAR, from, round, MPI_COMM_WORLD, &req[0]);
  MPI_Isend(out, (int)size, MPI_UNSIGNED_CHAR, to, round, MPI_COMM_WORLD, &req[1]);
  MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
  free(out); /* gone with the message */
  expect(in, from, size, round, "ring message");
  unsigned char *grown = realloc(in, size * 2 + 100);
  if (grown == NULL) {
    fprintf(stderr, "rank %d: realloc to %zu failed\n", rank, size * 2 + 100);
    errors++;
    return;
  }
  expect(grown, from, size, round, "ring message after realloc");
  hand_over(grown);
}

static void bcast(size_t size, int round)
{
  for (int root = 0; root < nranks; root++) {
    unsigned char *b = xmalloc(size);
    if (rank == root)
      fill(b, root, size, round);
    MPI_Bcast(b, (int)size, MPI_UNSIGNED_CHAR, root, MPI_COMM_WORLD);
    expect(b, root, size, round, "broadcast");
    free(b);
  }
}

static void allreduce(size_t size, int round)
{
  size_t n = size / sizeof(int) + 1;
  int *in = xmalloc(n * sizeof(int)), *out = xmalloc(n * sizeof(int));
  for (size_t i = 0; i < n; i++)
    in[i] = (int)(i % 1000) * (rank + 1) + round;
  MPI_Allreduce(in, out, (int)n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  int ranks_sum = nranks * (nranks + 1) / 2;
  for (size_t i = 0; i < n; i++)
    if (out[i] != (int)(i % 1000) * ranks_sum + round * nranks) {
      fprintf(stderr, "rank %d: allreduce of %zu ints, round %d: element %zu is %d\n", rank, n, round, i, out[i]);
      errors++;
      break;
    }
  checked++;
  free(in);
  free(out);
}

static void gather_and_alltoall(size_t size, int round)
{
  unsigned char *mine = xmalloc(size), *all = xmalloc(size * (size_t)nranks);
  fill(mine, rank, size, round);
  MPI_Allgather(mine, (int)size, MPI_UNSIGNED_CHAR, all, (int)size, MPI_UNSIGNED_CHAR, MPI_COMM_WORLD);
  for (int r = 0; r < nranks; r++)
    expect(all + (size_t)r * size, r, size, round, "allgather");
  free(mine);
  /* alltoall: block r of rank q's buffer goes to rank r */
  unsigned char *send = xmalloc(size * (size_t)nranks), *recv = xmalloc(size * (size_t)nranks);
  for (int r = 0; r < nranks; r++)
    fill(send + (size_t)r * size, rank * 100 + r, size, round);
  MPI_Alltoall(send, (int)size, MPI_UNSIGNED_CHAR, recv, (int)size, MPI_UNSIGNED_CHAR, MPI_COMM_WORLD);
  for (int q = 0; q < nranks; q++)
    expect(recv + (size_t)q * size, q * 100 + rank, size, round, "alltoall");
  free(send);
  free(recv);
  free(all);
}

static void alloc_mem(size_t size, int round)
{
  int to = (rank + 1) % nranks, from = (rank + nranks - 1) % nranks;
  unsigned char *out, *in;
  if (MPI_Alloc_mem((MPI_Aint)size, MPI_INFO_NULL, &out) != MPI_SUCCESS ||
      MPI_Alloc_mem((MPI_Aint)size, MPI_INFO_NULL, &in) != MPI_SUCCESS) {
    fprintf(stderr, "rank %d: MPI_Alloc_mem(%zu) failed\n", rank, size);
    errors++;
    return;
  }
  fill(out, rank, size, round);
  MPI_Sendrecv(out, (int)size, MPI_UNSIGNED_CHAR, to, 1000 + round, in, (int)size, MPI_UNSIGNED_CHAR, from,
               1000 + round, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  expect(in, from, size, round, "MPI_Alloc_mem message");
  MPI_Free_mem(out);
  MPI_Free_mem(in);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  pthread_t t;
  if (pthread_create(&t, NULL, freer, NULL) != 0) {
    fprintf(stderr, "rank %d: pthread_create failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  for (int round = 0; round < ROUNDS; round++)
    for (size_t k = 0; k < NSIZES; k++) {
      size_t size = sizes[k];
      ring(size, round);
      bcast(size, round);
      allreduce(size, round);
      if (size <= ((size_t)3 << 20)) /* nranks copies of the biggest: enough */
        gather_and_alltoall(size, round);
      alloc_mem(size, round);
    }
  pthread_mutex_lock(&lock);
  done = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  pthread_join(t, NULL);
  int local = errors, total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (errors == 0)
    printf("rank %d: OK %ld buffers checked\n", rank, checked);
  fflush(stdout);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
