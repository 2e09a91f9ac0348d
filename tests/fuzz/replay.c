/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Replays inputs of the fuzz target (fuzz_alloc.c) without libFuzzer: every
 * file of the directories (or the files) given, or by default of the
 * committed seed corpus and of the crash inputs kept as regression tests
 * (tests/fuzz/corpus, tests/fuzz/regress), in name order. Built with the
 * plain compiler against the internals, like the unit tests, so make check
 * runs it, and the sanitizer and valgrind runs of the unit tests too. A
 * model violation aborts, naming the input file first. Exit 0 when every
 * input passed, 99 when there is nothing to replay. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned replayed;

static void replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(99);
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 4096;
      buf = realloc(buf, cap);
      if (buf == NULL)
        exit(99);
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  fclose(f);
  printf("%s (%zu bytes)\n", path, len);
  fflush(stdout); /* named before a violation aborts */
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  replayed++;
}

static int skip_dots(const struct dirent *e) { return e->d_name[0] != '.'; }

static void replay(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    exit(99);
  }
  if (!S_ISDIR(st.st_mode)) {
    replay_file(path);
    return;
  }
  struct dirent **names;
  int n = scandir(path, &names, skip_dots, alphasort);
  if (n < 0) {
    perror(path);
    exit(99);
  }
  for (int i = 0; i < n; i++) {
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
    replay_file(file);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv)
{
  LLVMFuzzerInitialize(&argc, &argv);
  if (argc > 1) {
    for (int i = 1; i < argc; i++)
      replay(argv[i]);
  } else {
    replay(FUZZ_SRCDIR "/corpus");
    replay(FUZZ_SRCDIR "/regress");
  }
  if (replayed == 0) {
    fprintf(stderr, "no input to replay\n");
    return 99;
  }
  printf("%u inputs replayed, every result as the model says\n", replayed);
  return 0;
}
