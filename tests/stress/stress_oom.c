/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Out of memory. A child process limits its address space (RLIMIT_AS) to
 * its current size + 256 MiB, then allocates small (512 B), medium (64 KiB)
 * and huge (8 MiB) blocks until allocation fails, twice over in that order;
 * two more children do the same starting with medium, and with huge.
 * Each failure must be NULL with errno ENOMEM (posix_memalign: ENOMEM), never
 * a crash or a hang (watchdog); calloc, realloc and the aligned allocators
 * must fail the same way at the limit, leaving existing blocks intact. After
 * everything is freed, allocation must work again, and with any size class:
 * each fill must reach at least half of the 256 MiB headroom, whatever was
 * allocated and freed before it. */
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "stress.h"

#define HEADROOM ((size_t)256 << 20)
#define MAX_BLOCKS ((size_t)1 << 20)

static unsigned char **blocks; /* mapped before the limit is set */

typedef struct phase {
  const char *name;
  size_t size;
} phase;

static const phase kinds[] = {{"small", 512}, {"medium", 64 * KiB}, {"huge", 8 * MiB}};
#define NKINDS 3
#define NPHASES (2 * NKINDS)
static int failures;

#define SOFT_FAIL(...)                                                                                       \
  do {                                                                                                       \
    fprintf(stderr, "FAIL: " __VA_ARGS__);                                                                   \
    fputc('\n', stderr);                                                                                     \
    failures++;                                                                                              \
  } while (0)

/* At the limit: every entry point fails cleanly, and `live` is intact. */
static void check_at_limit(unsigned char *live, size_t live_size)
{
  static const size_t big = 512 * MiB;
  errno = 0;
  REQUIRE(malloc(big) == NULL && errno == ENOMEM, "malloc(512 MiB) at the limit: errno %d", errno);
  errno = 0;
  REQUIRE(calloc(1, big) == NULL && errno == ENOMEM, "calloc at the limit: errno %d", errno);
  errno = 0;
  REQUIRE(realloc(live, big) == NULL && errno == ENOMEM, "realloc at the limit: errno %d", errno);
  REQUIRE(live[0] == 0x5A && live[live_size - 1] == 0xA5, "realloc failure damaged the block");
  void *p = (void *)1;
  REQUIRE(posix_memalign(&p, 4096, big) == ENOMEM && p == (void *)1, "posix_memalign at the limit");
  errno = 0;
  REQUIRE(aligned_alloc(2 * MiB, big) == NULL && errno == ENOMEM, "aligned_alloc at the limit: errno %d", errno);
  errno = 0;
  REQUIRE(memalign(64, big) == NULL && errno == ENOMEM, "memalign at the limit: errno %d", errno);
  errno = 0;
  REQUIRE(valloc(big) == NULL && errno == ENOMEM, "valloc at the limit: errno %d", errno);
}

/* Allocate blocks of `size` until failure; returns how many. */
static size_t fill_up(const phase *ph)
{
  size_t n = 0;
  for (;;) {
    REQUIRE(n < MAX_BLOCKS, "%s: more than %zu blocks of %zu bytes under a 256 MiB limit", ph->name, n,
            ph->size);
    errno = 0;
    unsigned char *p = malloc(ph->size);
    if (p == NULL) {
      REQUIRE(errno == ENOMEM, "%s: malloc(%zu) failed with errno %d, not ENOMEM", ph->name, ph->size, errno);
      break;
    }
    /* touch it: first and last byte carry the block number */
    p[0] = (unsigned char)n;
    p[ph->size - 1] = (unsigned char)(n >> 8);
    blocks[n++] = p;
  }
  return n;
}

static void free_all(const phase *ph, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char *p = blocks[i];
    REQUIRE(p[0] == (unsigned char)i && p[ph->size - 1] == (unsigned char)(i >> 8),
            "%s: block %zu damaged", ph->name, i);
    free(p);
  }
}

/* Phases kinds[first], kinds[first + 1], ... twice round. */
static void child(int first)
{
  st_watchdog(200);
  blocks = mmap(NULL, MAX_BLOCKS * sizeof *blocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(blocks != MAP_FAILED, "mmap of the block table failed");
  /* make sure the allocator and stdio are set up before measuring */
  free(malloc(100));
  fprintf(stderr, "oom child starting\n");
  size_t vs, rss;
  st_statm(&vs, &rss);
  struct rlimit lim = {vs + HEADROOM, vs + HEADROOM};
  REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit failed: %s", strerror(errno));

  size_t count[NPHASES];
  const phase *phases[NPHASES];
  for (size_t k = 0; k < NPHASES; k++) {
    const phase *ph = phases[k] = &kinds[(first + k) % NKINDS];
    size_t n = fill_up(ph);
    count[k] = n;
    if (n > 0) {
      unsigned char *live = blocks[0];
      for (size_t i = 1; i < ph->size - 1; i++)
        live[i] = 0;
      live[0] = 0x5A;
      live[ph->size - 1] = 0xA5;
      check_at_limit(live, ph->size);
      live[0] = 0;
      live[ph->size - 1] = 0;
    }
    free_all(ph, n);
    /* allocation works again at once */
    void *again = malloc(ph->size);
    if (again == NULL)
      SOFT_FAIL("phase %zu (%s): malloc(%zu) still fails after everything was freed", k + 1, ph->name, ph->size);
    free(again);
    fprintf(stderr, "phase %zu (%s, %zu bytes): %zu blocks = %zu MiB before ENOMEM\n", k + 1, ph->name,
            ph->size, n, n * ph->size >> 20);
  }
  for (size_t k = 0; k < NPHASES; k++) {
    size_t bytes = count[k] * phases[k]->size;
    if (bytes < HEADROOM / 2)
      SOFT_FAIL("phase %zu (%s): only %zu MiB allocated out of 256 MiB of headroom%s", k + 1, phases[k]->name,
                bytes >> 20, k ? " after the previous phases freed everything" : "");
  }
  _exit(failures != 0);
}

int main(void)
{
  st_watchdog(700);
  int failed = 0;
  for (int first = 0; first < NKINDS; first++) {
    fprintf(stderr, "--- starting with %s blocks\n", kinds[first].name);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork failed");
    if (pid == 0)
      child(first);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid failed");
    if (WIFSIGNALED(status)) {
      fprintf(stderr, "FAIL: the out-of-memory child was killed by signal %d (%s)\n", WTERMSIG(status),
              strsignal(WTERMSIG(status)));
      failed = 1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed = 1;
    }
  }
  if (failed)
    return 1;
  printf("out of memory handled: NULL + ENOMEM at the limit, memory reusable after free\n");
  return 0;
}
