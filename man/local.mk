# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Manual pages (included from Makefile.am). tests/local.mk adds $(MAN_TESTS)
# to TESTS; the scripts read the pages and lib/mpca_config.h under $srcdir.
#   tests/man/lint.sh     mandoc, man (lintian's groff check) and lexgrog
#   tests/man/options.sh  the ENVIRONMENT section of mpcalloc(7) against the
#                         option table of lib/mpca_config.h
# tests/pkg/manpages.sh (packaging.mk) checks that after `make install`
# every function of the API has its section 3 page.

dist_man_MANS = man/mpcalloc.7 man/mpc_alloc_release.3 man/mpc_alloc_version.3 \
	man/mpc_alloc_numa_rebind.3 man/mpc_alloc_prof_dump.3 \
	man/mpc_alloc_stats.3 man/mpcalloc.1

# Functions documented on another function's page, as NAME:PAGE: `man 3
# NAME` finds them through a symbolic link NAME.3 -> PAGE.3 installed in
# $(man3dir) (what dh_installman would make of a `.so` stub anyway; a stub
# in man/ would fail mandoc -Tlint and lexgrog, which cannot follow it
# outside an installed tree). Add a line with every new function that has
# no page of its own.
MAN3_LINKS = \
	mpc_alloc_on_node:mpc_alloc_numa_rebind \
	mpc_alloc_numa_node:mpc_alloc_numa_rebind \
	mpc_alloc_stats_get:mpc_alloc_stats \
	mpc_alloc_stats_print:mpc_alloc_stats \
	mpc_alloc_stats_reset:mpc_alloc_stats

install-data-hook: install-man3-links
uninstall-hook: uninstall-man3-links

install-man3-links:
	@$(NORMAL_INSTALL)
	@for l in $(MAN3_LINKS); do \
	  name=$${l%%:*}; page=$${l#*:}; \
	  test -f "$(DESTDIR)$(man3dir)/$$page.3" || \
	    { echo "$@: $$page.3 is not installed in $(DESTDIR)$(man3dir)" >&2; exit 1; }; \
	  echo " cd '$(DESTDIR)$(man3dir)' && $(LN_S) -f $$page.3 $$name.3"; \
	  (cd "$(DESTDIR)$(man3dir)" && rm -f "$$name.3" && $(LN_S) "$$page.3" "$$name.3") || exit 1; \
	done

uninstall-man3-links:
	@$(NORMAL_UNINSTALL)
	@for l in $(MAN3_LINKS); do \
	  name=$${l%%:*}; \
	  echo " rm -f '$(DESTDIR)$(man3dir)/$$name.3'"; \
	  rm -f "$(DESTDIR)$(man3dir)/$$name.3"; \
	done

.PHONY: install-man3-links uninstall-man3-links

MAN_TESTS = tests/man/lint.sh tests/man/options.sh
EXTRA_DIST += $(MAN_TESTS)
