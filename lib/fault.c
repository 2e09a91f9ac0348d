/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Hardened build: the report of an access to one of the allocator's guard
 * pages. The guard pages (small.c, huge.c, guarded.c) turn an overflow or
 * an underflow that leaves a block's slot into a fault at the faulting
 * instruction; a SIGSEGV handler installed at start-up says which block was
 * overrun, by how many bytes, in one line, and aborts, as the other checks
 * do. A fault anywhere else goes to the handler that was there before
 * (the default one: the process dies of SIGSEGV as it would have). A
 * program that installs its own SIGSEGV handler afterwards replaces this
 * one. Async-signal-safe: registry loads, header reads, write(2). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <ucontext.h>
#include "mpca_fault.h"
#include "mpca_guarded.h"
#include "mpca_os.h"
#include "mpca_registry.h"
#include "mpca_small.h"
#include "mpca_source.h"

static struct sigaction previous;

/* The class of run i of `ss`, or MPCA_RUN_NO_CLASS while it is unused. */
static unsigned run_class(const mpca_small_seg *ss, unsigned i)
{
  return ss->runs[i].state == MPCA_RUN_FREE ? MPCA_RUN_NO_CLASS : ss->runs[i].cls;
}

/* Guard pages of a small macro block (small.c): after the header, up to
 * run 1, and the whole last run (runs of 64 KiB, or spans of 256 KiB). */
static bool small_describe(const mpca_small_seg *ss, uintptr_t a, char *buf, size_t n)
{
  uintptr_t off = a - (uintptr_t)ss;
  size_t hdr = mpca_align_up(sizeof *ss, mpca_os_page_size());
  size_t run = (size_t)1 << ss->shift;
  unsigned nruns = (unsigned)(MPCA_SEG_SIZE >> ss->shift);
  if (off >= hdr && off < run) {
    const char *first = (const char *)ss + run; /* run 1's first slot */
    unsigned cls = run_class(ss, 1);
    if (cls == MPCA_RUN_NO_CLASS)
      mpca_snprintf(buf, n, "in the guard pages after the header of a macro block of small blocks");
    else
      mpca_snprintf(buf, n, "heap underflow, %zu bytes before block %p (size class %zu bytes)",
                    (size_t)((uintptr_t)first - a), (const void *)first, (size_t)mpca_classes[cls].size);
    return true;
  }
  if (off >= (nruns - 1) * run && off < MPCA_SEG_SIZE) {
    unsigned cls = run_class(ss, nruns - 2);
    if (cls == MPCA_RUN_NO_CLASS) {
      mpca_snprintf(buf, n, "in the guard run at the end of a macro block of small blocks");
    } else {
      const mpca_run *r = &ss->runs[nruns - 2];
      const char *last = r->base + (size_t)(r->nslots - 1) * mpca_classes[cls].size;
      mpca_snprintf(buf, n, "heap overflow at byte %zu of block %p (size class %zu bytes)",
                    (size_t)(a - (uintptr_t)last), (const void *)last, (size_t)mpca_classes[cls].size);
    }
    return true;
  }
  return false;
}

/* Guard pages of a huge block (huge.c): its second page and its last. */
static bool huge_describe(const mpca_seg *seg, uintptr_t a, char *buf, size_t n)
{
  size_t page = mpca_os_page_size();
  uintptr_t off = a - (uintptr_t)seg;
  const char *p = (const char *)seg + seg->payload_off;
  if (off >= page && off < 2 * page) {
    mpca_snprintf(buf, n, "heap underflow, %zu bytes before block %p (%zu bytes)", (size_t)((uintptr_t)p - a),
                  (const void *)p, seg->req_size);
    return true;
  }
  if (off >= seg->size - page && off < seg->size) {
    mpca_snprintf(buf, n, "heap overflow at byte %zu of block %p (%zu bytes)", (size_t)(a - (uintptr_t)p),
                  (const void *)p, seg->req_size);
    return true;
  }
  return false;
}

/* What the guard page at `addr` guards, into buf; false when addr is not
 * in a guard page of ours. */
static bool describe(const void *addr, char *buf, size_t n)
{
  uintptr_t e = mpca_registry_entry(addr);
  if (e == 0)
    return false;
  mpca_seg *seg = mpca_registry_seg(e, addr);
  if (e & MPCA_REG_SMALL) /* (a run in use: never a guard page) */
    return false;
  switch (seg->kind) {
  case MPCA_KIND_SMALL: return small_describe((const mpca_small_seg *)seg, (uintptr_t)addr, buf, n);
  case MPCA_KIND_HUGE: return huge_describe(seg, (uintptr_t)addr, buf, n);
  case MPCA_KIND_GUARDED: return mpca_guarded_describe(seg, addr, buf, n);
  case MPCA_KIND_CACHED:
#ifdef MPCA_HARDENED
    if (seg->guards != MPCA_GUARDS_NONE) {
      mpca_snprintf(buf, n, "in a guard page of memory the allocator keeps cached (a use after free?)");
      return true;
    }
#endif
    return false;
  default: return false;
  }
}

static const char *access_kind(const void *uctx)
{
#if defined(__x86_64__) && defined(REG_ERR)
  /* the page fault's error code: bit 1 set for a write */
  return (((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_ERR] & 2) ? "write" : "read";
#else
  (void)uctx;
  return "access";
#endif
}

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
  char what[200];
  if (si->si_code == SEGV_ACCERR && describe(si->si_addr, what, sizeof what)) {
    mpca_printf_fd(2, "mpcalloc: %s at %p hit a guard page: %s; aborting\n", access_kind(uctx), si->si_addr, what);
    abort();
  }
  /* not ours: the handler that was there before */
  if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL) {
    previous.sa_sigaction(sig, si, uctx);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  } else {
    /* the fault happens again on return, and does what it did without us */
    sigaction(SIGSEGV, &previous, NULL);
  }
}

void mpca_fault_install(void)
{
  struct sigaction sa;
  sigemptyset(&sa.sa_mask);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, &previous);
}
