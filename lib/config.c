/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * MPCALLOC_* environment parsing. Strict: a value that does not parse, or is
 * out of bounds, or a name we do not know, yields exactly one line on stderr
 * that names the variable, the value and what is used instead. Never a crash,
 * never malloc (this runs inside the first malloc). */
#include <string.h>
#include "mpca_config.h"
#include "mpca_os.h"

#define PREFIX "MPCALLOC_"
#define PREFIX_LEN (sizeof PREFIX - 1)

static const char *const mpca_opt_on_error_names[] = {"abort", "warn", NULL};
static const char *const mpca_opt_stats_names[] = {"off", "text", "json", NULL};
static const char *const mpca_opt_numa_names[] = {"auto", "off", NULL};

const mpca_option mpca_options[MPCA_OPT_COUNT] = {
#define MPCA_X(id, type, def, min, max, choices, help) {#id, MPCA_OPT_##type, def, min, max, choices, help},
    MPCA_OPTIONS(MPCA_X)
#undef MPCA_X
};

uint64_t mpca_opt[MPCA_OPT_COUNT] = {
#define MPCA_X(id, type, def, min, max, choices, help) def,
    MPCA_OPTIONS(MPCA_X)
#undef MPCA_X
};

/* Names of the C original that we do not carry over, and why. */
static const struct {
  const char *name, *why;
} unsupported[] = {
    {"NUMA_STRICT", "it meant 'abort on bad free': use MPCALLOC_ON_ERROR"},
    {"NUMA_ROUND_ROBIN", "round-robin placement is not implemented"},
    {"REALLOC_THREASHOLD", "realloc of huge blocks always uses mremap"},
    {"REALLOC_THRESHOLD", "realloc of huge blocks always uses mremap"},
    {"REALLOC_FACTOR", "realloc of huge blocks always uses mremap"},
    {"MM_SOURCES", "one memory source per NUMA node is always used"},
};

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static bool ieq(const char *a, const char *b)
{
  while (*a && lower(*a) == lower(*b))
    a++, b++;
  return *a == 0 && *b == 0;
}

/* What a number of one kind of value may be told off for. */
typedef struct number_words {
  const char *negative, *not_number, *fraction;
} number_words;

/* The decimal number at the start of *sp (whole, not negative, in 64 bits);
 * *sp moves past it. NULL, or what is wrong. */
static const char *parse_number(const char **sp, uint64_t *out, const number_words *w)
{
  const char *s = *sp;
  if (*s == '\0')
    return "empty value";
  if (*s == '-')
    return w->negative;
  if (*s < '0' || *s > '9')
    return w->not_number;
  uint64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return "number too large";
    v = v * 10 + d;
  }
  if (*s == '.')
    return w->fraction;
  *sp = s;
  *out = v;
  return NULL;
}

const char *mpca_parse_size(const char *s, uint64_t *out)
{
  static const number_words words = {"negative size", "not a number",
                                     "fractions are not accepted (write 1536M, not 1.5G)"};
  uint64_t v;
  const char *why = parse_number(&s, &v, &words);
  if (why != NULL)
    return why;
  unsigned shift = 0;
  switch (lower(*s)) {
  case '\0': break;
  case 'k': shift = 10; break;
  case 'm': shift = 20; break;
  case 'g': shift = 30; break;
  case 't': shift = 40; break;
  default: return "unknown size suffix (use K, M, G or T)";
  }
  if (shift) {
    s++;
    if (lower(*s) == 'i')
      s++;
    if (lower(*s) == 'b')
      s++;
    if (*s != '\0')
      return "trailing characters after the size";
    if (v > (UINT64_MAX >> shift))
      return "number too large";
    v <<= shift;
  }
  *out = v;
  return NULL;
}

const char *mpca_parse_time(const char *s, uint64_t *out)
{
  static const number_words words = {"negative time", "not a time (write 10s, 500ms or never)",
                                     "fractions are not accepted (write 1500ms, not 1.5s)"};
  if (ieq(s, "never")) {
    *out = MPCA_TIME_NEVER;
    return NULL;
  }
  uint64_t v;
  const char *why = parse_number(&s, &v, &words);
  if (why != NULL)
    return why;
  uint64_t unit;
  if (*s == '\0' || ieq(s, "ms"))
    unit = 1;
  else if (ieq(s, "s"))
    unit = 1000;
  else if (ieq(s, "min"))
    unit = 60000;
  else
    return "unknown time unit (use ms, s or min)";
  if (v > (MPCA_TIME_NEVER - 1) / unit)
    return "number too large";
  *out = v * unit;
  return NULL;
}

const char *mpca_parse_node(const char *s, uint64_t *out)
{
  static const number_words words = {"negative node", "not a node number (write 0, 1, ... or none)",
                                     "fractions are not accepted"};
  if (ieq(s, "none")) {
    *out = MPCA_NODE_NONE;
    return NULL;
  }
  uint64_t v;
  const char *why = parse_number(&s, &v, &words);
  if (why != NULL)
    return why;
  if (*s != '\0')
    return "trailing characters after the node number";
  *out = v;
  return NULL;
}

const char *mpca_parse_bool(const char *s, uint64_t *out)
{
  static const char *const yes[] = {"1", "yes", "on", "true"};
  static const char *const no[] = {"0", "no", "off", "false"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (ieq(s, yes[i])) {
      *out = 1;
      return NULL;
    }
    if (ieq(s, no[i])) {
      *out = 0;
      return NULL;
    }
  }
  return *s ? "not a boolean (use 0/1, yes/no, on/off, true/false)" : "empty value";
}

const char *mpca_parse_enum(const char *s, const char *const *choices, uint64_t *out)
{
  for (uint64_t i = 0; choices[i]; i++)
    if (ieq(s, choices[i])) {
      *out = i;
      return NULL;
    }
  return *s ? "not one of the accepted words" : "empty value";
}

/* Copies of the values of STRING options: the environment may change. */
static char str_pool[4096];
static size_t str_used;

const char *mpca_opt_str(int id)
{
  const char *s = (const char *)(uintptr_t)mpca_opt[id];
  return s ? s : "";
}

static const char *parse_string(const char *s, uint64_t *out)
{
  size_t n = strlen(s);
  if (n >= sizeof str_pool - str_used)
    return "value too long";
  memcpy(str_pool + str_used, s, n + 1);
  *out = (uintptr_t)(str_pool + str_used);
  str_used += n + 1;
  return NULL;
}

size_t mpca_format_size(char *buf, size_t n, uint64_t v)
{
  static const char suffix[] = "KMGT";
  int i = -1;
  while (v != 0 && (v & 1023) == 0 && i < 3) {
    v >>= 10;
    i++;
  }
  if (i < 0)
    return mpca_snprintf(buf, n, "%llu", (unsigned long long)v);
  return mpca_snprintf(buf, n, "%llu%c", (unsigned long long)v, suffix[i]);
}

static void format_value(char *buf, size_t n, const mpca_option *o, uint64_t v)
{
  switch (o->type) {
  case MPCA_OPT_SIZE: mpca_format_size(buf, n, v); break;
  case MPCA_OPT_BOOL: mpca_snprintf(buf, n, "%s", v ? "1" : "0"); break;
  case MPCA_OPT_ENUM: mpca_snprintf(buf, n, "%s", o->choices[v]); break;
  case MPCA_OPT_STRING: mpca_snprintf(buf, n, "%s", v ? (const char *)(uintptr_t)v : ""); break;
  case MPCA_OPT_NODE:
    if (v == MPCA_NODE_NONE)
      mpca_snprintf(buf, n, "none");
    else
      mpca_snprintf(buf, n, "%llu", (unsigned long long)v);
    break;
  case MPCA_OPT_TIME:
    if (v == MPCA_TIME_NEVER)
      mpca_snprintf(buf, n, "never");
    else if (v % 1000 == 0)
      mpca_snprintf(buf, n, "%llus", (unsigned long long)(v / 1000));
    else
      mpca_snprintf(buf, n, "%llums", (unsigned long long)v);
    break;
  }
}

static size_t edit_distance(const char *a, size_t la, const char *b)
{
  size_t lb = strlen(b);
  size_t row[64];
  if (la >= 63 || lb >= 63)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      size_t best = diag + cost;
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static int find_option(const char *name, size_t len)
{
  for (int i = 0; i < MPCA_OPT_COUNT; i++)
    if (strlen(mpca_options[i].name) == len && memcmp(mpca_options[i].name, name, len) == 0)
      return i;
  return -1;
}

static void complain_unknown(int fd, const char *name, size_t len)
{
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (strlen(unsupported[i].name) == len && memcmp(unsupported[i].name, name, len) == 0) {
      mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s is not supported (%s); ignored\n", unsupported[i].name,
                     unsupported[i].why);
      return;
    }
  int best = -1;
  size_t best_d = 4; /* suggest only close matches */
  for (int i = 0; i < MPCA_OPT_COUNT; i++) {
    size_t d = edit_distance(name, len, mpca_options[i].name);
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  char nm[80];
  size_t l = len < sizeof nm - 1 ? len : sizeof nm - 1;
  memcpy(nm, name, l);
  nm[l] = '\0';
  if (best >= 0)
    mpca_printf_fd(fd, "mpcalloc: unknown variable " PREFIX "%s ignored; did you mean " PREFIX "%s?\n", nm,
                   mpca_options[best].name);
  else
    mpca_printf_fd(fd, "mpcalloc: unknown variable " PREFIX "%s ignored (see mpcalloc(7))\n", nm);
}

int mpca_config_load(char *const *env, int fd)
{
  int complaints = 0;
  bool seen[MPCA_OPT_COUNT] = {false};
  for (int i = 0; i < MPCA_OPT_COUNT; i++)
    mpca_opt[i] = mpca_options[i].def;
  str_used = 0;
  for (; env && *env; env++) {
    const char *e = *env;
    if (strncmp(e, PREFIX, PREFIX_LEN) != 0)
      continue;
    const char *name = e + PREFIX_LEN;
    const char *eq = strchr(name, '=');
    if (eq == NULL)
      continue;
    size_t len = (size_t)(eq - name);
    /* values are quoted back in messages: keep them short */
    char val[72];
    size_t vlen = strlen(eq + 1);
    if (vlen < sizeof val) {
      memcpy(val, eq + 1, vlen + 1);
    } else {
      memcpy(val, eq + 1, sizeof val - 4);
      memcpy(val + sizeof val - 4, "...", 4);
    }
    int id = find_option(name, len);
    if (id < 0) {
      complain_unknown(fd, name, len);
      complaints++;
      continue;
    }
    const mpca_option *o = &mpca_options[id];
    char cur[32];
    if (seen[id]) {
      format_value(cur, sizeof cur, o, mpca_opt[id]);
      mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s is set more than once; using the first value %s\n", o->name, cur);
      complaints++;
      continue;
    }
    seen[id] = true;
    uint64_t v = 0;
    const char *why;
    switch (o->type) {
    case MPCA_OPT_SIZE: why = mpca_parse_size(eq + 1, &v); break;
    case MPCA_OPT_BOOL: why = mpca_parse_bool(eq + 1, &v); break;
    case MPCA_OPT_STRING: why = parse_string(eq + 1, &v); break;
    case MPCA_OPT_TIME: why = mpca_parse_time(eq + 1, &v); break;
    case MPCA_OPT_NODE: why = mpca_parse_node(eq + 1, &v); break;
    default: why = mpca_parse_enum(eq + 1, o->choices, &v); break;
    }
    bool unbounded = o->type == MPCA_OPT_STRING || (o->type == MPCA_OPT_NODE && v == MPCA_NODE_NONE);
    if (why == NULL && !unbounded && (v < o->min || v > o->max)) {
      char lo[32], hi[32];
      format_value(lo, sizeof lo, o, o->min);
      format_value(hi, sizeof hi, o, o->max);
      format_value(cur, sizeof cur, o, o->def);
      mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s='%s' is out of range [%s, %s]; using the default %s\n", o->name, val,
                     lo, hi, cur);
      complaints++;
      continue;
    }
    if (why != NULL) {
      format_value(cur, sizeof cur, o, o->def);
      mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s='%s': %s; using the default %s\n", o->name, val, why, cur);
      complaints++;
      continue;
    }
    mpca_opt[id] = v;
  }
  return complaints;
}

void mpca_config_refuse(int fd, int id, const char *why)
{
  const mpca_option *o = &mpca_options[id];
  char val[32], def[32];
  format_value(val, sizeof val, o, mpca_opt[id]);
  format_value(def, sizeof def, o, o->def);
  mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s='%s': %s; using the default %s\n", o->name, val, why, def);
  mpca_opt[id] = o->def;
}

void mpca_config_print(int fd)
{
  for (int i = 0; i < MPCA_OPT_COUNT; i++) {
    char v[32];
    format_value(v, sizeof v, &mpca_options[i], mpca_opt[i]);
    mpca_printf_fd(fd, "mpcalloc: " PREFIX "%s=%s  (%s)\n", mpca_options[i].name, v, mpca_options[i].help);
  }
}
