/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Every core structure of the allocator, and the invariants that hold them
 * together. Read this first.
 *
 *  - A macro block ("seg") is MPCA_SEG_SIZE-aligned and a multiple of a page
 *    long; its first bytes are a mpca_seg header. The registry maps each
 *    MPCA_SEG_SIZE unit the block covers to that header, from the moment the
 *    block is handed out by its source until it is unmapped.
 *  - seg->kind says who owns the rest: a heap's small runs, a heap's medium
 *    chunks, one huge block, or the source cache (MPCA_KIND_CACHED). The
 *    registry entries of the units of a small run name the run's owner heap
 *    and class (tagged MPCA_REG_SMALL) instead of the header, which is at
 *    the 2 MiB boundary; a unit of a small macro block that no run uses
 *    names the header. A block in use keeps its run's entries fixed.
 *  - A small macro block is of one flavour for its whole life: runs of
 *    MPCA_RUN_SIZE (classes up to MPCA_SPAN_MIN) or spans of MPCA_SPAN_SIZE
 *    (the classes above); ss->shift says which. Both are "runs" to the code:
 *    one descriptor each, runs[(p & MPCA_SEG_MASK) >> shift], and every
 *    invariant below holds for both.
 *  - seg->owner never changes while a small or medium seg is in use: heaps are
 *    never destroyed, only abandoned and adopted, so a remote free can always
 *    reach the owner's queue.
 *  - A heap's fast-path state (its free, foreign and pending lists: h->cls,
 *    foreign[], pend[]) is touched by its thread only. Its slow-path state
 *    (runs, chunks, macro blocks, run and chunk lists, statistics gauges)
 *    by whoever holds it: its thread, which takes h->hold on every slow
 *    path (state ACTIVE), a thread that took h->hold to settle the blocks
 *    queued to an active heap whose thread does not come, or a drainer of
 *    an abandoned heap (state CLAIMED). Other threads only push on its
 *    remote-free queue.
 *  - Every slot of a small run that is not allocated is marked free (its
 *    second word holds mpca_free_mark) and is in exactly one list: its run's
 *    local_free, a heap's free list (its owner's, or another heap's after a
 *    foreign refill) or held list (profiling), a heap's foreign[] list, a
 *    remote-free queue, or in the part of the run never carved; or, freed
 *    by a thread that does not own it and not marked yet, in that thread's
 *    heap's pend[] ring, where nothing links it. run->used counts the slots
 *    out of the run (allocated, pending, or in a free or held list,
 *    foreign[] or a queue): a run reaches used 0
 *    only when all its carved slots are in its local_free list. A FULL run
 *    (not current, every slot out) keeps used at 1. A run not in use has
 *    below == 0, so no slot check passes on it, and the registry entries of
 *    its units name the macro block's header.
 *  - With profiling on (MPCALLOC_PROF), a heap's free list of class c holds
 *    blocks already counted by its sampler (h->prof, mpca_prof.h): its
 *    free_max is 0, so every owner free reaches mpca_heap_free_overflow,
 *    which counts the block or, from the next sample point on, moves it to
 *    h->prof->held[c]; refills go there too past the point. Held blocks
 *    are like the free list's (free, marked, out of their runs, fast-path
 *    state of the owner): the malloc that finds the free list empty while
 *    some are held is the sampled one, and a flush gives them back. A
 *    sampled small block lives in the profiling heap, which no thread
 *    holds (the profiler's lock stands for h->hold; its macro blocks carry
 *    seg->node MPCA_NODE_PROF, so no foreign list takes its blocks); a
 *    sampled medium or huge block stays in its heap or macro block, marked
 *    (MPCA_CHUNK_SAMPLED, seg->sampled).
 *  - A medium chunk's head word holds its size and the INUSE/PREV_INUSE bits;
 *    a free chunk stores its size again in the next chunk's prev_size.
 *  - A cached seg (kind CACHED) is still mapped; cached bytes are counted in
 *    its source and in the process-wide retention counter. Only the source
 *    lock holder changes a seg to or from CACHED. Two cached segs of one
 *    source that touch and come from the same mmap (same map_id) are always
 *    merged into one, unless one keeps guard pages (hardened build).
 */
#ifndef MPCA_TYPES_H
#define MPCA_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include "mpca_common.h"

typedef struct mpca_heap mpca_heap;
typedef struct mpca_source mpca_source;
struct mpca_prof_state;

enum mpca_kind {
  MPCA_KIND_SMALL = 0x534d4131u,  /* "SMA1" */
  MPCA_KIND_MEDIUM = 0x4d454431u, /* "MED1" */
  MPCA_KIND_HUGE = 0x48554731u,   /* "HUG1" */
  MPCA_KIND_CACHED = 0x43414331u, /* "CAC1" */
  MPCA_KIND_GUARDED = 0x47524431u, /* "GRD1": hardened build, guarded.c */
};

/* Intrusive doubly linked list node. */
typedef struct mpca_list {
  struct mpca_list *next, *prev;
} mpca_list;

/* --- small runs --------------------------------------------------------- */
enum mpca_run_state { MPCA_RUN_FREE = 0, MPCA_RUN_CURRENT, MPCA_RUN_PARTIAL, MPCA_RUN_FULL };

/* A run's descriptor: one cache line in the macro block header, written by
 * the owner only. The free fast path reads and writes nothing else of the
 * run. Blocks of a run are in one of these places: allocated by the program,
 * linked in the run's local_free list (freed by the owner), in a heap's
 * per-class free list (h->free, ready for malloc), in another heap's foreign
 * list or a remote-free queue (freed by another thread, on their way back),
 * or not carved yet (slot index >= carved). */
typedef struct mpca_run {
  void *local_free; /* blocks freed by the owner since the last refill */
  uint64_t magic;   /* with `below`, tells the slots' offsets (mpca_run_is_slot) */
  uint64_t below;
  int32_t used;     /* slots out: allocated, in a free list, in transit (see above);
                     * 1 for a FULL run (all nslots out), so that the free fast
                     * path's one test, used reaching 0, also catches the
                     * first block coming back into a full run */
  int32_t used_seen; /* slots out last added into the heap's gauge */
  char *base;       /* first slot: the run's first byte */
  uint16_t nslots;
  uint16_t carved;  /* slots linked into a free list at least once */
  uint8_t cls;
  uint8_t state;    /* enum mpca_run_state */
  uint8_t purged;   /* free run whose pages went back to the OS */
  uint8_t aged;     /* free run already free at the last purge tick */
  mpca_list link;   /* heap partial list of its class */
} mpca_run;

static_assert(sizeof(mpca_run) == MPCA_CACHE_LINE, "a run descriptor is one cache line");

/* --- macro block header ------------------------------------------------- */
typedef struct mpca_seg {
  uint32_t kind;       /* enum mpca_kind */
  uint32_t node;       /* node of the source (int: a node, MPCA_NODE_UNBOUND or _INTERLEAVED) */
  size_t size;         /* mapped bytes, a page multiple */
  mpca_heap *owner;    /* small/medium: owning heap */
  mpca_source *source; /* where it goes back to */
  mpca_list link;      /* heap list (small/medium) or source cache bin */
  mpca_list lru;       /* source cache age order */
  /* huge */
  size_t payload_off;  /* offset of the user pointer */
  size_t req_size;     /* bytes asked for (stats) */
  /* small */
  uint64_t free_runs;  /* bit i: run i not in use */
  uint32_t map_id;     /* the mmap this block was carved from (see source.c) */
  uint64_t freed_ms;   /* cached: since when its pages are unused (mpca_os_now_ms) */
  uint8_t fresh;       /* memory known zero (straight from the OS) */
  uint8_t sampled;     /* huge: a sampled block of the heap profiler (prof_heap.c) */
#ifdef MPCA_HARDENED
  /* Hardened build: which guard pages the block has (enum mpca_guards,
   * mpca_source.h), kept while it is cached so that a user of the same
   * layout reuses it without a system call; 0: none. */
  uint8_t guards;
#endif
} mpca_seg;

/* runs[0] (the header's own space) is never a run: its descriptor, like
 * that of any run not in use, passes no slot check. */
#define MPCA_RUN_NO_CLASS MPCA_SMALL_NCLASSES
/* The two flavours of small macro blocks, and their run shifts. */
enum mpca_flavor { MPCA_FLAVOR_RUNS = 0, MPCA_FLAVOR_SPANS = 1, MPCA_FLAVORS = 2 };
typedef struct mpca_small_seg {
  mpca_seg hdr;
  uint8_t shift;  /* MPCA_RUN_SHIFT or MPCA_SPAN_SHIFT */
  uint8_t flavor; /* enum mpca_flavor */
  MPCA_ALIGNED(MPCA_CACHE_LINE) mpca_run runs[MPCA_RUNS_PER_SEG];
#ifdef MPCA_HARDENED
  /* Hardened build: bit s of taken[i] is set while slot s of run i is
   * allocated (owner only), so every double free is caught exactly,
   * whatever the program wrote into the freed block. */
  uint64_t taken[MPCA_RUNS_PER_SEG][MPCA_RUN_SIZE / MPCA_ALIGNMENT / 64];
#endif
} mpca_small_seg;

static_assert(sizeof(mpca_small_seg) <= MPCA_RUN_SIZE, "small seg header must fit in run 0");
static_assert(MPCA_SMALL_NCLASSES <= 64, "a heap's classes in use are one 64-bit word");
static_assert(MPCA_RUNS_PER_SEG <= 64, "free_runs is one 64-bit word");

/* --- medium chunks ------------------------------------------------------ */
typedef struct mpca_chunk {
  size_t prev_size; /* valid only when the previous chunk is free */
  size_t head;      /* size | flags */
  mpca_list link;   /* free chunks only: bin list */
} mpca_chunk;

#define MPCA_CHUNK_HDR ((size_t)16)
#define MPCA_CHUNK_INUSE ((size_t)1)
#define MPCA_CHUNK_PREV_INUSE ((size_t)2)
#define MPCA_CHUNK_PURGED ((size_t)4) /* free chunk whose inner pages went back to the OS */
#define MPCA_CHUNK_AGED ((size_t)8)   /* free chunk already free at the last purge tick */
#define MPCA_CHUNK_SAMPLED MPCA_CHUNK_AGED /* chunk in use: sampled by the heap profiler */
#define MPCA_CHUNK_FLAGS ((size_t)15)

/* --- remote-free queue (MPSC) ------------------------------------------ */
typedef struct mpca_rnode {
  struct mpca_rnode *next;
} mpca_rnode;

typedef struct mpca_remote_queue {
  _Atomic(mpca_rnode *) head;
} mpca_remote_queue;

/* --- statistics counters (per heap, plain) ------------------------------ */
#define MPCA_HEAP_COUNTERS(X)                                                   \
  X(small_runs_made, "small runs taken from macro blocks")                     \
  X(small_runs_released, "empty small runs given back")                        \
  X(segs_acquired, "small/medium macro blocks taken from a source")           \
  X(segs_released, "small/medium macro blocks given back to a source")        \
  X(huge_allocs, "huge blocks allocated")                                      \
  X(huge_frees, "huge blocks freed")                                           \
  X(remote_sent, "blocks freed to another heap")                               \
  X(remote_received, "blocks drained from the remote-free queue")              \
  X(realloc_moves, "reallocs that moved the block (allocate, copy, free)")     \
  X(realloc_copied, "bytes copied by those reallocs")                          \
  X(adoptions, "times an abandoned heap was adopted by a new thread")          \
  X(medium_used, "bytes of medium chunks in use (gauge, wraps: sum as unsigned)") \
  X(small_peak, "high-water mark of small_used")                             \
  X(medium_peak, "high-water mark of medium_used")

typedef struct mpca_heap_counters {
#define MPCA_X(name, help) uint64_t name;
  MPCA_HEAP_COUNTERS(MPCA_X)
#undef MPCA_X
} mpca_heap_counters;

/* --- thread heap -------------------------------------------------------- */
/* Foreign frees waiting in a heap's ring (a power of two). */
#define MPCA_HEAP_PEND 8
/* Heaps start on this boundary: a registry entry keeps its low bits for the
 * class and the tag. */
#define MPCA_HEAP_ALIGN 4096

/* A heap's state for one small class, and the class's constants the free
 * fast path needs, together: 32 bytes, so that the registry entry of a
 * block gives its offset in h->cls directly. */
typedef struct mpca_heap_class {
  /* free blocks ready for malloc (a pop), linked through their first word,
   * mpca_free_mark in their second, last freed first: the owner's frees of
   * its blocks (of any of its runs), and what a refill brought when the
   * list ran dry (the current run's local frees, freshly carved slots, or
   * the foreign list). Each still counts as used in its run. */
  void *free;
  uint64_t magic, below; /* the class's slot check (mpca_size_class) */
  uint32_t run_mask;     /* its runs' size - 1 */
  /* blocks `free` may still take: free_max less the blocks in it; below
   * zero, the oldest half of the list goes back to the runs */
  int16_t room;
  uint16_t free_max;
} mpca_heap_class;

/* The blocks in hc's free list. */
MPCA_INLINE unsigned mpca_heap_class_count(const mpca_heap_class *hc) { return (unsigned)(hc->free_max - hc->room); }
static_assert(sizeof(mpca_heap_class) == 32, "indexed by the registry's class offset");
enum mpca_heap_state { MPCA_HEAP_ACTIVE = 1, MPCA_HEAP_ABANDONED, MPCA_HEAP_CLAIMED, MPCA_HEAP_ORPHAN };

struct MPCA_ALIGNED(MPCA_HEAP_ALIGN) mpca_heap {
  /* owner-only up to rfq */
  /* Per class: the free list and the constants of its fast paths. First in
   * the heap: the malloc fast path adds no offset. */
  mpca_heap_class cls[MPCA_SMALL_NCLASSES];
  /* Per class: blocks of other heaps (same NUMA node) freed by this thread,
   * reused by its next mallocs or sent back to their owners in batches. */
  void *foreign[MPCA_SMALL_NCLASSES];
  uint16_t nforeign[MPCA_SMALL_NCLASSES];
  /* Blocks of other heaps freed by this thread, settled into foreign[]
   * MPCA_HEAP_PEND frees later (mpca_heap_free_foreign_fast): a ring, with
   * each block's class. */
  void *pend[MPCA_HEAP_PEND];
  uint8_t pend_cls[MPCA_HEAP_PEND];
  unsigned pend_next;
  mpca_run *cur[MPCA_SMALL_NCLASSES];
  mpca_list partial[MPCA_SMALL_NCLASSES];
  mpca_list small_avail[MPCA_FLAVORS]; /* small segs with a free run, per flavour */
  mpca_list small_full[MPCA_FLAVORS];  /* small segs with none */
  unsigned small_empty_segs[MPCA_FLAVORS];

  uint64_t bin_map; /* bit b: medium bin b is not empty */
  mpca_list bins[MPCA_MEDIUM_NBINS];
  mpca_list medium_segs;
  unsigned medium_empty_segs;

  mpca_source *source;
  int node;
  unsigned ticks;      /* slow-path events left before the next clock read */
  uint64_t decay_next; /* time of the next purge tick (mpca_os_now_ms) */
  mpca_heap_counters cnt;
  /* statistics gauges (stats.c), updated on slow paths only: per class the
   * sum of `used` of its runs as last seen (free-list blocks included), runs
   * in use per class, and small_used = their bytes */
  uint64_t small_slots[MPCA_SMALL_NCLASSES];
  uint64_t small_runs[MPCA_SMALL_NCLASSES];
  uint64_t small_used;

  mpca_heap *all_next;  /* global list of every heap ever made */
  mpca_heap *pool_next; /* abandoned pool */
  struct mpca_prof_state *prof; /* heap profiler's sampler, NULL while off (mpca_prof.h) */

  unsigned depth; /* nested holds of the owner (mpca_heap_enter) */
  /* holds taken by the owner, and their count at the last settling of its
   * queue by another thread (both written under the hold); when settlers
   * first found the count unchanged since the settling before (ms, 0:
   * the owner came back since) */
  unsigned visits, visits_settled;
  uint64_t away_since;

  /* written by other threads: keep it on its own cache line */
  MPCA_ALIGNED(MPCA_CACHE_LINE) mpca_remote_queue rfq;
  _Atomic int state;
  /* 1 while a thread holds the heap's slow-path state: its owner on any
   * slow path, or another thread settling its queue (mpca_heap_enter) */
  _Atomic int hold;
  _Atomic size_t queued; /* bytes pushed on rfq since its last drain (approximate) */
  char pad0[MPCA_CACHE_LINE - sizeof(mpca_remote_queue) - 2 * sizeof(int) - sizeof(size_t)];
};

/* --- memory source ------------------------------------------------------ */
/* Sources that are not a NUMA node's: the unbound source (pages placed by
 * first touch, or by the process's memory policy) and the interleaved source
 * (pages spread over the nodes, MPCALLOC_NUMA_INTERLEAVE_MIN). seg->node and
 * source->node hold one of these or a node number. */
#define MPCA_NODE_UNBOUND (-1)
#define MPCA_NODE_INTERLEAVED (-2)
/* Every source, and its statistics: index 0 the unbound source, n + 1 node
 * n, and the interleaved source last. */
#define MPCA_NSOURCES (MPCA_MAX_NODES + 2)
#define MPCA_SOURCE_INTERLEAVED_INDEX (MPCA_MAX_NODES + 1)
MPCA_INLINE unsigned mpca_source_index(int node)
{
  if (node >= 0 && node < MPCA_MAX_NODES)
    return (unsigned)node + 1;
  return node == MPCA_NODE_INTERLEAVED ? MPCA_SOURCE_INTERLEAVED_INDEX : 0;
}
MPCA_INLINE int mpca_source_node(unsigned index)
{
  if (index == MPCA_SOURCE_INTERLEAVED_INDEX)
    return MPCA_NODE_INTERLEAVED;
  return (int)index - 1;
}

/* Cache bins: 4 per doubling of the page count (see bin_of in source.c). */
#define MPCA_SOURCE_BINS_PER_DOUBLING 4
#define MPCA_SOURCE_NBINS (40 * MPCA_SOURCE_BINS_PER_DOUBLING)
/* Most blocks one source caches: its address index is a fixed array. At
 * 2 MiB or more a block, that is more than the default budgets allow. */
#define MPCA_SOURCE_MAX_CACHED 4096
/* Set up at its first use (source.c); its node follows from its place in
 * the array of sources (mpca_source_node). */
struct mpca_source {
  pthread_mutex_t lock;
  mpca_list bins[MPCA_SOURCE_NBINS]; /* cached segs by size, most recent first */
  mpca_list lru;                     /* cached segs, most recently freed first */
  mpca_seg **by_addr;                /* cached segs in address order (MPCA_SOURCE_MAX_CACHED) */
  unsigned naddr;
  size_t cached;                     /* bytes in the cache */
  size_t cached_hwm;
  uint64_t hits, misses;
};

#endif
