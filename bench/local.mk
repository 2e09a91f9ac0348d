# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Benchmark suite (included from the top Makefile.am). The workload programs
# are EXTRA_PROGRAMS: a plain `make` does not build them; `make bench` and
# `make bench-quick` build them and run bench/run.sh, which runs each one
# under glibc and under libmpcalloc, jemalloc, tcmalloc and mimalloc by
# LD_PRELOAD (so they are NOT linked with libmpcalloc). Pass more options
# with BENCH_ARGS, e.g. make bench BENCH_ARGS="--only larson --rounds 3".
# See bench/README.md.

BENCH_PROGS = \
	bench/runone \
	bench/wl_churn \
	bench/wl_larson \
	bench/wl_prodcons \
	bench/wl_falseshare \
	bench/wl_sizes \
	bench/wl_realloc \
	bench/wl_bigarrays \
	bench/wl_threads \
	bench/wl_retention \
	bench/wl_swap \
	bench/wl_mixed \
	bench/wl_mid
EXTRA_PROGRAMS = $(BENCH_PROGS)

BENCH_LIBS = -lpthread -ldl

bench_runone_SOURCES = bench/runone.c
bench_wl_churn_SOURCES = bench/wl_churn.c bench/bench.h
bench_wl_churn_LDADD = $(BENCH_LIBS)
bench_wl_larson_SOURCES = bench/wl_larson.c bench/bench.h
bench_wl_larson_LDADD = $(BENCH_LIBS)
bench_wl_prodcons_SOURCES = bench/wl_prodcons.c bench/bench.h
bench_wl_prodcons_LDADD = $(BENCH_LIBS)
bench_wl_falseshare_SOURCES = bench/wl_falseshare.c bench/bench.h
bench_wl_falseshare_LDADD = $(BENCH_LIBS)
bench_wl_sizes_SOURCES = bench/wl_sizes.c bench/bench.h
bench_wl_sizes_LDADD = $(BENCH_LIBS)
bench_wl_realloc_SOURCES = bench/wl_realloc.c bench/bench.h
bench_wl_realloc_LDADD = $(BENCH_LIBS)
bench_wl_bigarrays_SOURCES = bench/wl_bigarrays.c bench/bench.h
bench_wl_bigarrays_LDADD = $(BENCH_LIBS)
bench_wl_threads_SOURCES = bench/wl_threads.c bench/bench.h
bench_wl_threads_LDADD = $(BENCH_LIBS)
bench_wl_retention_SOURCES = bench/wl_retention.c bench/bench.h
bench_wl_retention_LDADD = $(BENCH_LIBS)
bench_wl_swap_SOURCES = bench/wl_swap.c bench/bench.h
bench_wl_swap_LDADD = $(BENCH_LIBS)
bench_wl_mixed_SOURCES = bench/wl_mixed.c bench/bench.h
bench_wl_mixed_LDADD = $(BENCH_LIBS) -lm
bench_wl_mid_SOURCES = bench/wl_mid.c bench/bench.h
bench_wl_mid_LDADD = $(BENCH_LIBS)

EXTRA_DIST += bench/run.sh bench/run.py bench/wl_python.py bench/wl_numpy.py \
	bench/README.md bench/RESULTS.md
CLEANFILES += $(BENCH_PROGS)

BENCH_RUN = $(SHELL) $(srcdir)/bench/run.sh \
	--lib $(abs_top_builddir)/lib/.libs/libmpcalloc.so \
	--bin $(abs_top_builddir)/bench \
	--out $(abs_top_builddir)/bench/out

bench: $(BENCH_PROGS) lib/libmpcalloc.la
	$(BENCH_RUN) $(BENCH_ARGS)

bench-quick: $(BENCH_PROGS) lib/libmpcalloc.la
	$(BENCH_RUN) --quick $(BENCH_ARGS)

.PHONY: bench bench-quick
