/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * libmpcalloc public API. The standard allocation functions (malloc, free,
 * ...) are declared by <stdlib.h> and <malloc.h>; this header declares what
 * libmpcalloc adds. Every function here is versioned MPCALLOC_1.0, but
 * mpc_alloc_prof_dump (MPCALLOC_1.1, libmpcalloc 0.3.0). */
#ifndef MPCALLOC_H
#define MPCALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPC_ALLOC_VERSION_MAJOR 0
#define MPC_ALLOC_VERSION_MINOR 3
#define MPC_ALLOC_VERSION_PATCH 0

/* Version of the library actually loaded, as "X.Y.Z". */
const char *mpc_alloc_version(void);

/* Give free memory the allocator keeps cached back to the operating system
 * until at most `keep` bytes stay cached; returns the number of bytes
 * released. The calling thread's empty macro blocks join the cache first;
 * with keep == 0 the pages of its free runs and large free chunks are
 * released as well. */
size_t mpc_alloc_release(size_t keep);

/* ---- statistics (mpc_alloc_stats(3)) ------------------------------------ */

/* Entries of mpc_alloc_stats.nodes: the unbound source, the interleaved
 * source and every node (65 in 0.1.0, which had no interleaved source). */
#define MPC_ALLOC_STATS_MAX_NODES 66
/* mpc_alloc_stats_node.node of the sources that are not a node's: pages
 * placed by first touch (or the process's policy), and pages interleaved
 * over the nodes (MPCALLOC_NUMA_INTERLEAVE_MIN). */
#define MPC_ALLOC_STATS_NODE_UNBOUND (-1)
#define MPC_ALLOC_STATS_NODE_INTERLEAVED (-2)

struct mpc_alloc_stats_node {
  int64_t node;      /* NUMA node, or one of the MPC_ALLOC_STATS_NODE_* */
  uint64_t mapped;   /* bytes mapped from the OS by this node's source */
  uint64_t in_use;   /* bytes of live blocks of heaps (and huge blocks) of the node */
  uint64_t cached;   /* free bytes kept mapped in the node's source cache */
};

/* Set `size` to sizeof(struct mpc_alloc_stats) before the call: members may
 * be added at the end in later versions, and the library fills only the
 * bytes both sides know of (a program built against 0.1.0 gets the
 * interleaved figures under the unbound source). Figures are approximate
 * while other threads run. */
struct mpc_alloc_stats {
  uint64_t size;             /* in: sizeof the caller's struct; out: bytes filled */
  uint64_t requested;        /* bytes asked for by live blocks (see the manual) */
  uint64_t in_use;           /* bytes of live blocks (usable sizes) */
  uint64_t peak_in_use;      /* upper bound of the high-water mark of in_use */
  uint64_t thread_cached;    /* free small blocks held in threads' free lists */
  uint64_t mapped;           /* bytes mapped from the OS for heaps and caches */
  uint64_t peak_mapped;      /* high-water mark of mapped */
  uint64_t cached;           /* free bytes kept mapped in the source caches */
  uint64_t retained;         /* bytes counted against the retention budget */
  uint64_t retain_max;       /* the budget (MPCALLOC_RETAIN_MAX) */
  uint64_t mmap_calls, munmap_calls, mremap_calls, madvise_calls;
  uint64_t remote_frees_sent, remote_frees_received;
  uint64_t threads_live, threads_abandoned, threads_adopted, heaps;
  uint64_t huge_allocs, huge_frees, realloc_moves, realloc_copied;
  uint64_t nnodes;           /* entries used in nodes[] */
  struct mpc_alloc_stats_node nodes[MPC_ALLOC_STATS_MAX_NODES];
};

/* Fill *st; 0 on success, -1 with errno EINVAL when st is NULL or
 * st->size is smaller than the size member. */
int mpc_alloc_stats_get(struct mpc_alloc_stats *st);

/* Print the statistics (text with per-size-class rows, or JSON with
 * MPC_ALLOC_STATS_JSON) on file descriptor `fd` without allocating;
 * 0 on success, -1 with errno set on a write error or bad flags. */
#define MPC_ALLOC_STATS_JSON 1u
int mpc_alloc_stats_print(int fd, unsigned flags);

/* Restart the cumulative counters and the high-water marks from now. */
void mpc_alloc_stats_reset(void);

/* ---- heap profiling (mpc_alloc_prof_dump(3)) ----------------------------- */

/* With MPCALLOC_PROF=1, write the sampled heap profile of the blocks live
 * now to `path` (%p: process id, %r: MPI rank, %h: host), in the format of
 * gperftools' heap profiler (google-pprof, pprof); NULL: PREFIX.N.heap, N
 * counting from 1, PREFIX as for the profiles at exit (MPCALLOC_PROF_FILE).
 * Never allocates. 0 on success; -1 with errno ENOTSUP when profiling is
 * off, or the errno of open(2) or write(2). */
int mpc_alloc_prof_dump(const char *path);

/* NUMA placement (see mpc_alloc_numa_rebind(3)). Re-detect the node the
 * calling thread's CPU affinity lies in and allocate from it from now on;
 * returns that node, or -1 when the affinity spans nodes (unbound). */
int mpc_alloc_numa_rebind(void);
/* `size` bytes placed on NUMA node `node`, released with free(); NULL with
 * errno EINVAL for a node that is not online, ENOMEM when out of memory. */
void *mpc_alloc_on_node(int node, size_t size);
/* The node the calling thread allocates from, or -1 (unbound). */
int mpc_alloc_numa_node(void);

#ifdef __cplusplus
}
#endif

#endif
