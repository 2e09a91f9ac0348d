/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A shared library whose constructor allocates, preloaded after libmpcalloc
 * by startup.sh (LD_PRELOAD="libmpcalloc.so libearly_ctor.so"): the dynamic
 * loader runs its constructor before libmpcalloc's, so this malloc is the
 * process's first call into the allocator and takes the lazy start-up path.
 * It writes (with write(2), never stdio) a line before and after the call,
 * so that the order of the messages shows where the start-up happened. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char *s)
{
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

__attribute__((constructor)) static void early_ctor(void)
{
  say("early_ctor: calling malloc\n");
  char *p = malloc(100);
  if (p == NULL) {
    say("early_ctor: malloc failed\n");
    return;
  }
  memset(p, 1, 100);
  free(p);
  say("early_ctor: malloc returned\n");
}
