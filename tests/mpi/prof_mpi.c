/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * An MPI program for the heap profiler (tests/mpi/prof.sh, run as four ranks
 * through the launcher with --prof): each rank holds 4 MiB from site_halo
 * and (rank + 1) * 4 MiB from site_field, except rank 2, which holds 32 MiB
 * there and peaks highest; the ranks exchange a message, meet at a barrier
 * at their peak, free everything and end. Prints "rank R: field BYTES halo
 * BYTES" (usable bytes held at the peak). */
#define _GNU_SOURCE
#include <malloc.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "../prof/sites.h"

#define BLOCK 8192

static NOINLINE void *site_field(size_t n) { return check(malloc(n), 1); }
static NOINLINE void *site_halo(size_t n) { return check(malloc(n), 2); }

static size_t hold(void *(*site)(size_t), void **v, size_t n)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    v[i] = site(BLOCK);
    total += malloc_usable_size(v[i]);
  }
  return total;
}

int main(int argc, char **argv)
{
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t nfield = (rank == 2 ? 32 : (size_t)(rank + 1) * 4) * MIB / BLOCK, nhalo = 4 * MIB / BLOCK;
  void **field = malloc(nfield * sizeof *field), **halo = malloc(nhalo * sizeof *halo);
  size_t f = hold(site_field, field, nfield), h = hold(site_halo, halo, nhalo);
  int token = rank;
  MPI_Sendrecv_replace(&token, 1, MPI_INT, (rank + 1) % size, 0, (rank + size - 1) % size, 0, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE);
  MPI_Barrier(MPI_COMM_WORLD);
  printf("rank %d: field %zu halo %zu\n", rank, f, h);
  for (size_t i = 0; i < nfield; i++)
    free(field[i]);
  for (size_t i = 0; i < nhalo; i++)
    free(halo[i]);
  free(field);
  free(halo);
  MPI_Finalize();
  return token == (rank + size - 1) % size ? 0 : 1;
}
