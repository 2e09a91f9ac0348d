/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Helper of json.sh: allocates N blocks of S bytes, prints the statistics as
 * JSON (mpc_alloc_stats_print) to the three files given:
 * at start, with the blocks live, and after they are freed. Linked with
 * -lmpcalloc. Uses no stdio between the measurements (stdio allocates).
 * Usage: stats_dump N S START.json DURING.json AFTER.json [text] */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mpcalloc.h>

static void dump(const char *path, unsigned flags)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || mpc_alloc_stats_print(fd, flags) != 0)
    exit(2);
  close(fd);
}

int main(int argc, char **argv)
{
  if (argc < 6)
    return 2;
  size_t n = strtoul(argv[1], NULL, 10), s = strtoul(argv[2], NULL, 10);
  unsigned flags = argc > 6 && strcmp(argv[6], "text") == 0 ? 0 : MPC_ALLOC_STATS_JSON;
  void **p = malloc(n * sizeof *p);
  if (p == NULL)
    return 2;
  dump(argv[3], flags);
  for (size_t i = 0; i < n; i++)
    if ((p[i] = malloc(s)) == NULL)
      return 2;
  dump(argv[4], flags);
  for (size_t i = 0; i < n; i++)
    free(p[i]);
  dump(argv[5], flags);
  free(p);
  return 0;
}
