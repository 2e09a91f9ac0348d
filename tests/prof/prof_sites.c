/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Known allocation sites for the heap profiler's tests (tests/prof/prof.sh),
 * run with libmpcalloc preloaded and MPCALLOC_PROF=1. Each site is a
 * function of its own that calls the allocator once (not as a tail call,
 * so that it is a frame of the stack):
 *   site_churn   256-byte blocks freed at once, CHURN bytes in all
 *   site_small   64-byte blocks, kept
 *   site_page    4 KiB blocks (small), kept
 *   site_medium  100,000-byte blocks (medium), kept
 *   site_huge    3 MiB blocks (huge), zeroed (calloc), kept
 *   site_grow    blocks grown by realloc from 24 bytes to 2 MiB, kept
 *   site_leak    1 KiB blocks never freed
 * Everything kept is live at once (the peak), then freed but the leaks.
 * Prints one line per site, "site NAME live BYTES alloc BYTES", the usable
 * bytes (malloc_usable_size) live at the peak and allocated in all, then
 * "peak BYTES", what the sites held at the peak. Arguments: MiB kept per
 * site (default 24), MiB allocated by site_churn (default 8 times that),
 * and a file: mpc_alloc_prof_dump writes the live profile there at the
 * peak. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sites.h"

typedef struct site {
  const char *name;
  size_t live, alloc;
} site;

static site churn = {"site_churn", 0, 0}, small = {"site_small", 0, 0}, page = {"site_page", 0, 0},
            medium = {"site_medium", 0, 0}, huge = {"site_huge", 0, 0}, grow = {"site_grow", 0, 0},
            leak = {"site_leak", 0, 0};

/* The sites: the call is followed by work, so it is no tail call. */
static NOINLINE void *site_churn(size_t n) { return check(malloc(n), 1); }
static NOINLINE void *site_small(size_t n) { return check(malloc(n), 2); }
static NOINLINE void *site_page(size_t n) { return check(malloc(n), 3); }
static NOINLINE void *site_medium(size_t n) { return check(malloc(n), 4); }
static NOINLINE void *site_huge(size_t n) { return check(calloc(1, n), 5); }
static NOINLINE void *site_grow(void *p, size_t n) { return check(realloc(p, n), 6); }
static NOINLINE void *site_leak(size_t n) { return check(malloc(n), 7); }

/* `count` blocks of `size` from `fn`, kept in a new array. */
static void **keep(site *s, void *(*fn)(size_t), size_t size, size_t count)
{
  void **v = check(malloc(count * sizeof *v), 0); /* (counted under keep) */
  for (size_t i = 0; i < count; i++) {
    v[i] = fn(size);
    size_t u = malloc_usable_size(v[i]);
    s->live += u;
    s->alloc += u;
  }
  return v;
}

static void drop(void **v, size_t count)
{
  for (size_t i = 0; i < count; i++)
    free(v[i]);
  free(v);
}

int main(int argc, char **argv)
{
  size_t scale = (argc > 1 ? strtoul(argv[1], NULL, 10) : 24) * MIB;
  size_t churned = argc > 2 ? strtoul(argv[2], NULL, 10) * MIB : 8 * scale;
  /* allocated and freed at once: in the allocation columns only */
  for (size_t done = 0; done < churned; done += 256) {
    void *p = site_churn(256);
    churn.alloc += malloc_usable_size(p);
    free(p);
  }
  size_t nsmall = scale / 64, npage = scale / 4096, nmedium = scale / 100000, nhuge = scale / (3 * MIB) + 1,
         ngrow = scale / (2 * MIB) + 1, nleak = scale / 1024;
  void **vs = keep(&small, site_small, 64, nsmall);
  void **vp = keep(&page, site_page, 4096, npage);
  void **vm = keep(&medium, site_medium, 100000, nmedium);
  void **vh = keep(&huge, site_huge, 3 * MIB, nhuge);
  void **vg = check(malloc(ngrow * sizeof *vg), 0);
  for (size_t i = 0; i < ngrow; i++) {
    void *p = NULL;
    for (size_t n = 24; n <= 2 * MIB; n *= 4)
      p = site_grow(p, n);
    vg[i] = site_grow(p, 2 * MIB);
    grow.live += malloc_usable_size(vg[i]);
  }
  grow.alloc = grow.live;
  void **vl = keep(&leak, site_leak, 1024, nleak);
  free(vl); /* the blocks stay */
  if (argc > 3) {
    int (*dump)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "mpc_alloc_prof_dump");
    if (dump == NULL || dump(argv[3]) != 0) {
      perror("mpc_alloc_prof_dump");
      return 3;
    }
  }
  site *all[] = {&churn, &small, &page, &medium, &huge, &grow, &leak};
  size_t peak = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    printf("site %s live %zu alloc %zu\n", all[i]->name, all[i]->live, all[i]->alloc);
    peak += all[i]->live;
  }
  printf("peak %zu\n", peak);
  drop(vs, nsmall);
  drop(vp, npage);
  drop(vm, nmedium);
  drop(vh, nhuge);
  drop(vg, ngrow);
  return 0;
}
