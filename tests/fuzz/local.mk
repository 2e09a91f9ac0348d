# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Fuzzing (included from tests/local.mk, which adds tests/fuzz/replay to
# the unit tests and $(FUZZ_TESTS) to TESTS):
#   fuzz_alloc.c  the target: operation sequences checked against a shadow
#                 model (see its header comment)
#   replay        the committed seed corpus (tests/fuzz/corpus) and the
#                 crash inputs kept as regression tests (tests/fuzz/regress)
#                 replayed with the plain compiler: a unit test, so also run
#                 under ASan+UBSan and valgrind
#   fuzz.sh       libFuzzer for MPCA_FUZZ_SECONDS (default 120) from the
#                 corpus; skips without clang+libFuzzer or with
#                 MPCA_CHECK_QUICK=1 (the package builds set it)
#   make fuzz     libFuzzer for FUZZ_TIME seconds (default 600; 0: until
#                 interrupted), new inputs kept in tests/fuzz/corpus-run,
#                 crashes in tests/fuzz/artifacts; FUZZ_ARGS adds options
#                 (e.g. FUZZ_ARGS=-jobs=2)
# The libFuzzer build compiles the allocator's own sources (the internals,
# not the malloc entry points: ASan keeps its own malloc) with FUZZ_CC,
# found by configure (MPCA_CHECK_FUZZ).

FUZZ_TESTS = tests/fuzz/fuzz.sh

tests_fuzz_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_alloc.c tests/pattern.h
tests_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SRCDIR='"$(abs_top_srcdir)/tests/fuzz"'
tests_fuzz_replay_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_LDADD = lib/libmpcalloc_core.la -lpthread
tests_fuzz_replay_LDFLAGS = -no-install

FUZZ_BIN = tests/fuzz/fuzz_alloc$(EXEEXT)
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer $(MPCA_WARN_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
FUZZ_TIME = 600
FUZZ_ARGS =

if HAVE_FUZZ
$(FUZZ_BIN): $(lib_libmpcalloc_core_la_SOURCES) tests/fuzz/fuzz_alloc.c tests/pattern.h include/mpcalloc.h config.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)srcs=; \
	for f in $(lib_libmpcalloc_core_la_SOURCES) tests/fuzz/fuzz_alloc.c; do \
	  case $$f in *.c) srcs="$$srcs $(srcdir)/$$f" ;; esac; \
	done; \
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(top_srcdir)/include -I$(top_srcdir)/lib -I$(top_builddir) \
	  -o $@ $$srcs -lpthread

# make check runs fuzz.sh on an up-to-date target
tests/fuzz/fuzz.log: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@$(MKDIR_P) tests/fuzz/corpus-run tests/fuzz/artifacts
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -timeout=60 -print_final_stats=1 \
	  -artifact_prefix=tests/fuzz/artifacts/ $(FUZZ_ARGS) \
	  tests/fuzz/corpus-run $(srcdir)/tests/fuzz/corpus $(srcdir)/tests/fuzz/regress
else
fuzz:
	@echo "make fuzz: configure found no C compiler with libFuzzer (on Debian: clang libclang-rt-14-dev)" >&2
	@exit 1
endif

clean-local: clean-local-fuzz
# (fuzz.sh leaves what it found in tests/fuzz: crash-*, timeout-*, ...)
clean-local-fuzz:
	-rm -rf tests/fuzz/corpus-run tests/fuzz/artifacts
	-rm -f tests/fuzz/crash-* tests/fuzz/timeout-* tests/fuzz/leak-* tests/fuzz/oom-* tests/fuzz/slow-unit-*
.PHONY: fuzz clean-local-fuzz

CLEANFILES += $(FUZZ_BIN)
EXTRA_DIST += tests/fuzz/fuzz.sh tests/fuzz/seeds.py tests/fuzz/corpus tests/fuzz/regress
