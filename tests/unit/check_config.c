/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Unit tests of MPCALLOC_* parsing: sizes, times, booleans and words, and the one
 * line of complaint for every bad input (unparsable, negative, overflowing,
 * out of range, unknown name with a suggestion, duplicate). */
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "mpca_config.h"

#define MIB ((uint64_t)1 << 20)

typedef const char *(*parser)(const char *, uint64_t *);

static uint64_t parsed(parser parse, const char *s)
{
  uint64_t v = 12345;
  const char *why = parse(s, &v);
  ck_assert_msg(why == NULL, "'%s' rejected: %s", s, why ? why : "");
  return v;
}

static void refused(parser parse, const char *s)
{
  uint64_t v = 12345;
  ck_assert_msg(parse(s, &v) != NULL, "'%s' accepted", s);
  ck_assert_uint_eq(v, 12345);
}

#define size_ok(s) parsed(mpca_parse_size, s)
#define size_bad(s) refused(mpca_parse_size, s)
#define time_ok(s) parsed(mpca_parse_time, s)
#define time_bad(s) refused(mpca_parse_time, s)
#define node_ok(s) parsed(mpca_parse_node, s)
#define node_bad(s) refused(mpca_parse_node, s)

START_TEST(test_sizes)
{
  ck_assert_uint_eq(size_ok("0"), 0);
  ck_assert_uint_eq(size_ok("4096"), 4096);
  ck_assert_uint_eq(size_ok("8K"), 8192);
  ck_assert_uint_eq(size_ok("8k"), 8192);
  ck_assert_uint_eq(size_ok("64M"), 64 * MIB);
  ck_assert_uint_eq(size_ok("2G"), 2048 * MIB);
  ck_assert_uint_eq(size_ok("2g"), 2048 * MIB);
  ck_assert_uint_eq(size_ok("2GiB"), 2048 * MIB);
  ck_assert_uint_eq(size_ok("2gb"), 2048 * MIB);
  ck_assert_uint_eq(size_ok("1T"), 1024 * 1024 * MIB);
  size_bad("");
  size_bad(" ");
  size_bad(" 64M");
  size_bad("64M ");
  size_bad("-1");
  size_bad("1.5G");
  size_bad("99999999999999999999G");
  size_bad("99999999999999999999");
  size_bad("17179869184G"); /* 2^34 G overflows 64 bits */
  size_bad("12Q");
  size_bad("M");
  size_bad("0x10");
  size_bad("12KX");
}
END_TEST

START_TEST(test_times)
{
  ck_assert_uint_eq(time_ok("0"), 0);
  ck_assert_uint_eq(time_ok("250"), 250);
  ck_assert_uint_eq(time_ok("250ms"), 250);
  ck_assert_uint_eq(time_ok("250MS"), 250);
  ck_assert_uint_eq(time_ok("10s"), 10000);
  ck_assert_uint_eq(time_ok("2min"), 120000);
  ck_assert_uint_eq(time_ok("never"), MPCA_TIME_NEVER);
  ck_assert_uint_eq(time_ok("Never"), MPCA_TIME_NEVER);
  time_bad("");
  time_bad("-1");
  time_bad("1.5s");
  time_bad("10 s");
  time_bad("10h");
  time_bad("s");
  time_bad("off");
  time_bad("99999999999999999999");
  time_bad("999999999999999999min"); /* overflows 64 bits in ms */
}
END_TEST

START_TEST(test_nodes)
{
  ck_assert_uint_eq(node_ok("0"), 0);
  ck_assert_uint_eq(node_ok("63"), 63);
  ck_assert_uint_eq(node_ok("none"), MPCA_NODE_NONE);
  ck_assert_uint_eq(node_ok("None"), MPCA_NODE_NONE);
  node_bad("");
  node_bad("-1");
  node_bad("1.5");
  node_bad("1K");
  node_bad("node1");
  node_bad(" 1");
  node_bad("99999999999999999999");
}
END_TEST

START_TEST(test_bools_and_words)
{
  uint64_t v;
  const char *yes[] = {"1", "yes", "YES", "on", "On", "true"};
  const char *no[] = {"0", "no", "No", "off", "OFF", "false"};
  for (size_t i = 0; i < 6; i++) {
    ck_assert_ptr_null(mpca_parse_bool(yes[i], &v));
    ck_assert_uint_eq(v, 1);
    ck_assert_ptr_null(mpca_parse_bool(no[i], &v));
    ck_assert_uint_eq(v, 0);
  }
  ck_assert_ptr_nonnull(mpca_parse_bool("", &v));
  ck_assert_ptr_nonnull(mpca_parse_bool("2", &v));
  ck_assert_ptr_nonnull(mpca_parse_bool("yess", &v));
  static const char *const words[] = {"abort", "warn", NULL};
  ck_assert_ptr_null(mpca_parse_enum("WARN", words, &v));
  ck_assert_uint_eq(v, 1);
  ck_assert_ptr_nonnull(mpca_parse_enum("warning", words, &v));
}
END_TEST

/* Load `env` and return what was written to the diagnostics fd. */
static int load(char **env, char *out, size_t n)
{
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  int complaints = mpca_config_load(env, fds[1]);
  close(fds[1]);
  ssize_t len = read(fds[0], out, n - 1);
  close(fds[0]);
  out[len > 0 ? len : 0] = '\0';
  return complaints;
}

static int lines(const char *s)
{
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

START_TEST(test_load_good)
{
  char out[4096];
  char *env[] = {"PATH=/bin", "MPCALLOC_KEEP_MAX=64M", "MPCALLOC_PRINT_CONFIG=yes", "MPCALLOC_ON_ERROR=warn",
                 "MPCALLOC_PURGE_DELAY=1500ms", NULL};
  ck_assert_int_eq(load(env, out, sizeof out), 0);
  ck_assert_str_eq(out, "");
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_KEEP_MAX], 64 * MIB);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_PURGE_DELAY], 1500);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_PRINT_CONFIG], 1);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_ON_ERROR], MPCA_ON_ERROR_WARN);
  char *numa[] = {"MPCALLOC_NUMA_NODE=3", "MPCALLOC_NUMA_INTERLEAVE_MIN=16M", NULL};
  ck_assert_int_eq(load(numa, out, sizeof out), 0);
  ck_assert_str_eq(out, "");
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_NODE], 3);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_INTERLEAVE_MIN], 16 * MIB);
  /* a reload starts from the defaults again */
  char *none[] = {NULL};
  load(none, out, sizeof out);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_KEEP_MAX], mpca_options[MPCA_OPT_KEEP_MAX].def);
}
END_TEST

static void one_bad(const char *var, const char *expect)
{
  char out[4096];
  char buf[256];
  strcpy(buf, var);
  char *env[] = {buf, NULL};
  ck_assert_int_eq(load(env, out, sizeof out), 1);
  ck_assert_msg(lines(out) == 1, "for %s: %s", var, out);
  ck_assert_msg(strstr(out, expect) != NULL, "for %s, expected '%s' in: %s", var, expect, out);
  for (int i = 0; i < MPCA_OPT_COUNT; i++)
    ck_assert_uint_eq(mpca_opt[i], mpca_options[i].def);
}

START_TEST(test_load_bad_values)
{
  one_bad("MPCALLOC_KEEP_MAX=", "MPCALLOC_KEEP_MAX='': empty value; using the default 1G");
  one_bad("MPCALLOC_KEEP_MAX= 1M", "MPCALLOC_KEEP_MAX=' 1M'");
  one_bad("MPCALLOC_KEEP_MAX=-1", "negative");
  one_bad("MPCALLOC_KEEP_MAX=1.5G", "fractions");
  one_bad("MPCALLOC_KEEP_MAX=99999999999999999999G", "too large");
  one_bad("MPCALLOC_KEEP_MAX=12Q", "MPCALLOC_KEEP_MAX='12Q': unknown size suffix");
  one_bad("MPCALLOC_KEEP_MAX=2T", "out of range");
  one_bad("MPCALLOC_PRINT_CONFIG=maybe", "MPCALLOC_PRINT_CONFIG='maybe': not a boolean");
  one_bad("MPCALLOC_ON_ERROR=explode", "MPCALLOC_ON_ERROR='explode'");
  one_bad("MPCALLOC_PURGE_DELAY=5h", "MPCALLOC_PURGE_DELAY='5h': unknown time unit (use ms, s or min); using the default 10s");
  one_bad("MPCALLOC_PURGE_DELAY=soon", "MPCALLOC_PURGE_DELAY='soon': not a time");
  one_bad("MPCALLOC_NUMA_NODE=64", "MPCALLOC_NUMA_NODE='64' is out of range [0, 63]; using the default none");
  one_bad("MPCALLOC_NUMA_NODE=-1", "MPCALLOC_NUMA_NODE='-1': negative node; using the default none");
  one_bad("MPCALLOC_NUMA_NODE=one", "MPCALLOC_NUMA_NODE='one': not a node number");
  one_bad("MPCALLOC_NUMA_INTERLEAVE_MIN=big", "MPCALLOC_NUMA_INTERLEAVE_MIN='big': not a number; using the default 0");
}
END_TEST

START_TEST(test_load_names)
{
  one_bad("MPCALLOC_KEEPMAX=1", "did you mean MPCALLOC_KEEP_MAX?");
  one_bad("MPCALLOC_keep_max=1", "did you mean MPCALLOC_KEEP_MAX?");
  one_bad("MPCALLOC_RETAIN_MAXX=1", "did you mean MPCALLOC_RETAIN_MAX?");
  one_bad("MPCALLOC_ZZZZZZZZZZZZ=1", "unknown variable MPCALLOC_ZZZZZZZZZZZZ ignored");
  one_bad("MPCALLOC_REALLOC_THREASHOLD=1", "not supported");
}
END_TEST

START_TEST(test_load_duplicate)
{
  char out[4096];
  char *env[] = {"MPCALLOC_KEEP_MAX=1M", "MPCALLOC_KEEP_MAX=2M", NULL};
  ck_assert_int_eq(load(env, out, sizeof out), 1);
  ck_assert_int_eq(lines(out), 1);
  ck_assert_ptr_nonnull(strstr(out, "more than once; using the first value 1M"));
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_KEEP_MAX], MIB);
}
END_TEST

START_TEST(test_print)
{
  int fds[2];
  char out[8192];
  ck_assert_int_eq(pipe(fds), 0);
  mpca_config_load(NULL, 2);
  mpca_config_print(fds[1]);
  close(fds[1]);
  ssize_t n = read(fds[0], out, sizeof out - 1);
  close(fds[0]);
  out[n > 0 ? n : 0] = '\0';
  ck_assert_int_eq(lines(out), MPCA_OPT_COUNT);
  ck_assert_ptr_nonnull(strstr(out, "mpcalloc: MPCALLOC_KEEP_MAX=1G  ("));
  ck_assert_ptr_nonnull(strstr(out, "MPCALLOC_ON_ERROR=abort"));
  ck_assert_ptr_nonnull(strstr(out, "MPCALLOC_PURGE_DELAY=10s  ("));
  ck_assert_ptr_nonnull(strstr(out, "MPCALLOC_NUMA_INTERLEAVE_MIN=0  ("));
  ck_assert_ptr_nonnull(strstr(out, "MPCALLOC_NUMA_NODE=none  ("));
}
END_TEST

/* A check made after the table's (a node that is not online): one line,
 * the default back. */
START_TEST(test_refuse)
{
  char *env[] = {"MPCALLOC_NUMA_NODE=7", NULL};
  mpca_config_load(env, 2);
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_NODE], 7);
  int fds[2];
  char out[512];
  ck_assert_int_eq(pipe(fds), 0);
  mpca_config_refuse(fds[1], MPCA_OPT_NUMA_NODE, "no such NUMA node is online");
  close(fds[1]);
  ssize_t n = read(fds[0], out, sizeof out - 1);
  close(fds[0]);
  out[n > 0 ? n : 0] = '\0';
  ck_assert_str_eq(out, "mpcalloc: MPCALLOC_NUMA_NODE='7': no such NUMA node is online; using the default none\n");
  ck_assert_uint_eq(mpca_opt[MPCA_OPT_NUMA_NODE], MPCA_NODE_NONE);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, test_sizes);
  tcase_add_test(tc, test_times);
  tcase_add_test(tc, test_nodes);
  tcase_add_test(tc, test_bools_and_words);
  tcase_add_test(tc, test_load_good);
  tcase_add_test(tc, test_load_bad_values);
  tcase_add_test(tc, test_load_names);
  tcase_add_test(tc, test_load_duplicate);
  tcase_add_test(tc, test_print);
  tcase_add_test(tc, test_refuse);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
