/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * The option table: every MPCALLOC_* variable, its type, default, bounds and
 * help, read once at start-up without malloc. */
#ifndef MPCA_CONFIG_H
#define MPCA_CONFIG_H

#include "mpca_common.h"

/* STRING: the value is a pointer to a copy kept by config.c (0: unset);
 * read it with mpca_opt_str(). TIME: milliseconds, MPCA_TIME_NEVER for
 * "never". NODE: a NUMA node number, MPCA_NODE_NONE for "none". */
enum mpca_opt_type { MPCA_OPT_SIZE, MPCA_OPT_BOOL, MPCA_OPT_ENUM, MPCA_OPT_STRING, MPCA_OPT_TIME, MPCA_OPT_NODE };

#define MPCA_TIME_NEVER UINT64_MAX
#define MPCA_NODE_NONE UINT64_MAX

#define MPCA_KIB ((uint64_t)1 << 10)
#define MPCA_MIB ((uint64_t)1 << 20)
#define MPCA_GIB ((uint64_t)1 << 30)
#define MPCA_TIB ((uint64_t)1 << 40)

/* X(id, type, default, min, max, choices, help) */
#define MPCA_OPTIONS(X)                                                                                \
  X(KEEP_MAX, SIZE, MPCA_GIB, 0, MPCA_TIB, NULL,                                                 \
    "largest free block a memory source keeps cached for reuse")                                      \
  X(KEEP_MEM, SIZE, 2 * MPCA_GIB, 0, 64 * MPCA_TIB, NULL,                                              \
    "most free memory one memory source (NUMA node) keeps cached")                                   \
  X(RETAIN_MAX, SIZE, 2 * MPCA_GIB, 0, 64 * MPCA_TIB, NULL,                                            \
    "process-wide budget of free memory kept mapped by all sources together")                        \
  X(PURGE_DELAY, TIME, 10000, 0, MPCA_TIME_NEVER, NULL,                                                \
    "free memory unused for this long goes back to the OS (10s, 500ms, 0: at once, never)")         \
  X(THP_MIN, SIZE, 0, 0, MPCA_TIB, NULL,                                                               \
    "blocks mapped from this size up ask for transparent huge pages (madvise); 0: never")           \
  X(ON_ERROR, ENUM, 0, 0, 1, mpca_opt_on_error_names,                                                  \
    "reaction to an invalid or double free: abort (default) or warn and continue")                   \
  X(STATS, ENUM, 0, 0, 2, mpca_opt_stats_names,                                                        \
    "print statistics at exit: off, text or json (see mpc_alloc_stats(3))")                          \
  X(STATS_FILE, STRING, 0, 0, 0, NULL,                                                                 \
    "file the statistics go to at exit (%p: process id, %r: MPI rank, %h: host); stderr when unset")  \
  X(PRINT_CONFIG, BOOL, 0, 0, 1, NULL, "print the effective configuration on stderr at start-up")     \
  X(NUMA, ENUM, 0, 0, 1, mpca_opt_numa_names,                                                          \
    "NUMA placement: auto (heaps bound to their thread's node) or off (one unbound source)")          \
  X(NUMA_MIGRATE, BOOL, 0, 0, 1, NULL,                                                                 \
    "mpc_alloc_numa_rebind also moves the pages the thread's heap owns to the new node")               \
  X(NUMA_INTERLEAVE_MIN, SIZE, 0, 0, MPCA_TIB, NULL,                                                   \
    "blocks of this size and up are interleaved page by page over the NUMA nodes; 0: never")           \
  X(NUMA_NODE, NODE, MPCA_NODE_NONE, 0, MPCA_MAX_NODES - 1, NULL,                                      \
    "NUMA node the memory of threads not bound to one node comes from (none: first touch)")            \
  X(PROF, BOOL, 0, 0, 1, NULL, "sampled heap profiling: call stacks of sampled blocks, profiles at exit")  \
  X(PROF_SAMPLE, SIZE, 512 * MPCA_KIB, 1, MPCA_TIB, NULL,                                              \
    "one sample every this many bytes allocated, on average (randomised: every byte has the same chance)") \
  X(PROF_FILE, STRING, 0, 0, 0, NULL,                                                                  \
    "prefix of the profiles (PREFIX.peak.heap, PREFIX.exit.heap; %p, %r, %h); mpcalloc-prof.%p when unset") \
  X(PROF_SEED, SIZE, 0, 0, UINT64_MAX, NULL,                                                           \
    "seed of the sampler's random intervals, for reproducible profiles; 0: a new seed every run")

enum mpca_opt_id {
#define MPCA_X(id, type, def, min, max, choices, help) MPCA_OPT_##id,
  MPCA_OPTIONS(MPCA_X)
#undef MPCA_X
      MPCA_OPT_COUNT
};

enum mpca_on_error { MPCA_ON_ERROR_ABORT = 0, MPCA_ON_ERROR_WARN = 1 };
enum mpca_stats_mode { MPCA_STATS_OFF = 0, MPCA_STATS_TEXT = 1, MPCA_STATS_JSON = 2 };
enum mpca_numa_mode { MPCA_NUMA_AUTO = 0, MPCA_NUMA_OFF = 1 };

typedef struct mpca_option {
  const char *name; /* without the MPCALLOC_ prefix */
  enum mpca_opt_type type;
  uint64_t def, min, max;
  const char *const *choices; /* enum: NULL-terminated names, value = index */
  const char *help;
} mpca_option;

extern const mpca_option mpca_options[MPCA_OPT_COUNT] MPCA_INTERNAL;
extern uint64_t mpca_opt[MPCA_OPT_COUNT] MPCA_INTERNAL;

/* Parsers: 0 on success, else a static string saying what is wrong. */
MPCA_INTERNAL const char *mpca_parse_size(const char *s, uint64_t *out);
MPCA_INTERNAL const char *mpca_parse_bool(const char *s, uint64_t *out);
/* "10s", "250ms", "2min", a plain number of milliseconds, or "never". */
MPCA_INTERNAL const char *mpca_parse_time(const char *s, uint64_t *out);
/* Value of a STRING option, "" when unset. */
MPCA_INTERNAL const char *mpca_opt_str(int id);
MPCA_INTERNAL const char *mpca_parse_enum(const char *s, const char *const *choices, uint64_t *out);
/* A node number, or "none" (MPCA_NODE_NONE). */
MPCA_INTERNAL const char *mpca_parse_node(const char *s, uint64_t *out);
/* Put option `id` back to its default after a check the table could not
 * make (one line on `fd` naming the variable, the value and `why`). */
MPCA_INTERNAL void mpca_config_refuse(int fd, int id, const char *why);

/* Reset to defaults, then read MPCALLOC_* from `env` (NULL-terminated);
 * diagnostics go to file descriptor `fd`. Returns the number of complaints. */
MPCA_INTERNAL int mpca_config_load(char *const *env, int fd);
/* Write "NAME=value" lines of the effective configuration to fd. */
MPCA_INTERNAL void mpca_config_print(int fd);
MPCA_INTERNAL size_t mpca_format_size(char *buf, size_t n, uint64_t v);

#endif
