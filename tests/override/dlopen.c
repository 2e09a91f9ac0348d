/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * libmpcalloc loaded with dlopen() (as Python's ctypes or a plugin host
 * does), by a program that is not linked with it: its functions work
 * through dlsym (the process's own malloc stays glibc's), threads get heaps
 * of it, and dlclose() does not unload it (-z nodelete): the threads that
 * exit afterwards run its pthread key destructor, fork() runs its atfork
 * handlers and exit() its destructor, all in code that must still be
 * mapped. Usage: dlopen PATH-TO-libmpcalloc.so; prints "dlopen: ok". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4

static void *(*lib_malloc)(size_t);
static void (*lib_free)(void *);
static size_t (*lib_usable)(void *);
static pthread_barrier_t started, closed;
static void *handed[NTHREADS]; /* freed by another thread */

static void die(const char *what)
{
  fprintf(stderr, "dlopen: %s\n", what);
  exit(1);
}

static void *sym(void *h, const char *name)
{
  void *f = dlsym(h, name);
  if (f == NULL)
    die(dlerror());
  return f;
}

static void *worker(void *arg)
{
  size_t id = (size_t)(uintptr_t)arg;
  void *mine[64];
  for (int i = 0; i < 64; i++) {
    mine[i] = lib_malloc((size_t)16 << (i % 12));
    if (mine[i] == NULL)
      die("malloc in a thread");
    memset(mine[i], (int)id, 16);
  }
  for (int i = 0; i < 64; i += 2)
    lib_free(mine[i]);
  handed[id] = lib_malloc(100);
  pthread_barrier_wait(&started);
  pthread_barrier_wait(&closed); /* exit after dlclose: key destructor */
  lib_free(handed[(id + 1) % NTHREADS]); /* a remote free */
  for (int i = 1; i < 64; i += 2)
    lib_free(mine[i]);
  return NULL;
}

/* A mapping of the library file (directories such as the libmpcalloc-X.Y.Z
 * of make distcheck do not count). */
static int mapped(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, "/libmpcalloc.so"))
      found = 1;
  if (f)
    fclose(f);
  return found;
}

int main(int argc, char **argv)
{
  if (argc != 2)
    die("usage: dlopen PATH-TO-libmpcalloc.so");
  if (mapped())
    die("libmpcalloc is already mapped (preloaded or linked?)");
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    die(dlerror());
  lib_malloc = (void *(*)(size_t))sym(h, "malloc");
  lib_free = (void (*)(void *))sym(h, "free");
  lib_usable = (size_t (*)(void *))sym(h, "malloc_usable_size");
  if (lib_malloc == malloc)
    die("dlsym(malloc) gave the process's malloc");
  char *p = lib_malloc(1000);
  if (p == NULL || lib_usable(p) < 1000)
    die("malloc through dlsym");
  strcpy(p, "a block of the dlopen'ed libmpcalloc");

  pthread_barrier_init(&started, NULL, NTHREADS + 1);
  pthread_barrier_init(&closed, NULL, NTHREADS + 1);
  pthread_t th[NTHREADS];
  for (size_t i = 0; i < NTHREADS; i++)
    if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) != 0)
      die("pthread_create");
  pthread_barrier_wait(&started);

  if (dlclose(h) != 0)
    die(dlerror());
  if (!mapped())
    die("dlclose unmapped libmpcalloc although threads still hold its heaps");
  pthread_barrier_wait(&closed);
  for (size_t i = 0; i < NTHREADS; i++)
    pthread_join(th[i], NULL);

  /* fork after dlclose: its atfork handlers run in the parent and child */
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    char *q = lib_malloc(5000);
    _exit(q != NULL && strcmp(p, "a block of the dlopen'ed libmpcalloc") == 0 ? 0 : 1);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("the child of fork failed");

  /* opened again: the same library, still working */
  h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL || sym(h, "malloc") != (void *)lib_malloc)
    die("dlopen after dlclose");
  lib_free(p);
  puts("dlopen: ok");
  return 0; /* exit(): its destructor runs (MPCALLOC_STATS) */
}
