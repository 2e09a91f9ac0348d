/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Linked statically (cc -static prog.c -lmpcalloc -lpthread, by static.sh):
 * the program's malloc, and the C library's own allocations (strdup,
 * open_memstream, a thread's), must be libmpcalloc's. Proof: the statistics
 * of mpc_alloc_stats_get and mallinfo2 see every block at once, and
 * malloc_usable_size accepts the C library's blocks (libmpcalloc aborts on a
 * pointer it does not own). Prints "static: ok" and exits 0 on success. */
#define _GNU_SOURCE
#include <malloc.h>
#include <mpcalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                  \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fputc('\n', stderr);                                                                                   \
      failures++;                                                                                            \
    }                                                                                                        \
  } while (0)

static unsigned long long in_use(void)
{
  struct mpc_alloc_stats s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  if (mpc_alloc_stats_get(&s) != 0)
    return 0;
  return s.in_use;
}

static void *thread_main(void *arg)
{
  (void)arg;
  return strdup("a C library block made in a thread");
}

int main(void)
{
  unsigned long long u0 = in_use();
  struct mallinfo2 mi0 = mallinfo2(); /* medium: uordblks; huge (hardened build): hblkhd */
  size_t m0 = mi0.uordblks + mi0.hblkhd;
  void *p = malloc(100000);
  CHECK(p != NULL, "malloc(100000)");
  memset(p, 1, 100000);
  unsigned long long u1 = in_use();
  CHECK(u1 >= u0 + 100000, "in_use %llu -> %llu: the program's malloc is not libmpcalloc's", u0, u1);
  struct mallinfo2 mi1 = mallinfo2();
  CHECK(mi1.uordblks + mi1.hblkhd >= m0 + 100000, "mallinfo2 does not see the program's block");

  /* the C library's own allocations */
  char *s = strdup("hello, static world");
  CHECK(malloc_usable_size(s) >= 20, "strdup block");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  for (int i = 0; i < 10000; i++)
    fprintf(f, "%d,", i);
  fclose(f);
  CHECK(len > 10000 && malloc_usable_size(buf) >= len, "open_memstream buffer");
  unsigned long long u2 = in_use();
  CHECK(u2 >= u1 + len, "in_use %llu -> %llu: the C library's blocks are not libmpcalloc's", u1, u2);
  pthread_t th;
  void *r = NULL;
  CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0 && pthread_join(th, &r) == 0, "thread");
  CHECK(r != NULL && malloc_usable_size(r) >= 35, "strdup in a thread");
  free(r);
  free(buf);
  free(s);
  free(p);

  pid_t pid = fork();
  if (pid == 0) {
    void *q = malloc(5000);
    _exit(q != NULL && in_use() >= 5000 ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "allocation in a forked child");
  if (failures)
    return 1;
  puts("static: ok");
  return 0;
}
