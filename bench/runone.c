/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * runone: run one command and report what it cost. The benchmark runner
 * starts every workload through this small program rather than from Python
 * itself because Linux folds the resident set of the process that calls
 * exec into the peak RSS of the program it becomes: started straight from
 * the runner, every workload would inherit the Python interpreter's tens of
 * MiB as a floor. runone is tiny, sets LD_PRELOAD for the child only (so it
 * never runs under the allocator being measured itself), forks, execs, and
 * writes one line to a result file:
 *   status=exit:N|signal:N wall_s=S user_s=S sys_s=S maxrss_kb=K minflt=N majflt=N
 * The child's rusage (from wait4) includes the descendants it waited for.
 *
 * usage: runone -o RESULT_FILE [-p PRELOAD] -- COMMAND [ARG]... */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double secs(struct timeval tv)
{
  return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void usage(void)
{
  fputs("usage: runone -o RESULT_FILE [-p PRELOAD] -- COMMAND [ARG]...\n",
        stderr);
  exit(64);
}

int main(int argc, char **argv)
{
  const char *result = NULL, *preload = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "+o:p:")) != -1) {
    switch (opt) {
    case 'o': result = optarg; break;
    case 'p': preload = optarg; break;
    default: usage();
    }
  }
  if (result == NULL || optind >= argc)
    usage();
  char **cmd = argv + optind;

  FILE *out = fopen(result, "w");
  if (out == NULL) {
    fprintf(stderr, "runone: %s: %s\n", result, strerror(errno));
    return 70;
  }
  fflush(NULL);
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "runone: fork: %s\n", strerror(errno));
    return 71;
  }
  if (pid == 0) {
    fclose(out);
    if (preload != NULL && *preload != '\0')
      setenv("LD_PRELOAD", preload, 1);
    else
      unsetenv("LD_PRELOAD");
    execvp(cmd[0], cmd);
    fprintf(stderr, "runone: %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "runone: wait4: %s\n", strerror(errno));
      return 71;
    }
  }
  double wall = now() - t0;
  if (WIFSIGNALED(status))
    fprintf(out, "status=signal:%d", WTERMSIG(status));
  else
    fprintf(out, "status=exit:%d", WEXITSTATUS(status));
  fprintf(out,
          " wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kb=%ld minflt=%ld "
          "majflt=%ld\n",
          wall, secs(ru.ru_utime), secs(ru.ru_stime), ru.ru_maxrss,
          ru.ru_minflt, ru.ru_majflt);
  if (fclose(out) != 0) {
    fprintf(stderr, "runone: %s: %s\n", result, strerror(errno));
    return 70;
  }
  return 0;
}
