# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# configure checks of libmpcalloc's own: compiler flags that the compiler
# accepts, and linker version scripts.

# MPCA_CHECK_CFLAGS(VARIABLE, FLAG...)
# Appends to VARIABLE (and AC_SUBSTs it) each FLAG the C compiler accepts
# without a diagnostic: each is tried alone with -Werror, so a flag that
# is merely ignored with a warning is left out.
AC_DEFUN([MPCA_CHECK_CFLAGS],
[AC_REQUIRE([AC_PROG_CC])dnl
for mpca_flag in $2; do
  AC_MSG_CHECKING([whether $CC accepts $mpca_flag])
  mpca_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $mpca_flag"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes])
     AS_CASE([" $$1 "], [*" $mpca_flag "*], [], [$1="${$1:+$$1 }$mpca_flag"])],
    [AC_MSG_RESULT([no])])
  CFLAGS=$mpca_save_CFLAGS
done
AC_SUBST([$1])dnl
])

# MPCA_CHECK_VSCRIPT
# Whether the linker takes a GNU version script (-Wl,--version-script) with
# named version nodes and a "local: *;" catch-all. Sets VSCRIPT_LDFLAGS to
# the flag (without the script's name) and the Automake conditional
# HAVE_VSCRIPT.
AC_DEFUN([MPCA_CHECK_VSCRIPT],
[AC_REQUIRE([AC_PROG_CC])dnl
AC_MSG_CHECKING([whether the linker takes version scripts])
cat >conftest.map <<_MPCA_EOF
MPCA_TEST_1.0 { global: mpca_conftest_fn; local: *; };
_MPCA_EOF
mpca_save_LDFLAGS=$LDFLAGS
LDFLAGS="$LDFLAGS -Wl,--version-script,conftest.map"
AC_LINK_IFELSE([AC_LANG_PROGRAM([[int mpca_conftest_fn(void); int mpca_conftest_fn(void) { return 0; }]], [[return mpca_conftest_fn();]])],
  [mpca_vscript=yes], [mpca_vscript=no])
LDFLAGS=$mpca_save_LDFLAGS
rm -f conftest.map
AC_MSG_RESULT([$mpca_vscript])
AS_IF([test "x$mpca_vscript" = xyes], [VSCRIPT_LDFLAGS=-Wl,--version-script], [VSCRIPT_LDFLAGS=])
AC_SUBST([VSCRIPT_LDFLAGS])
AM_CONDITIONAL([HAVE_VSCRIPT], [test "x$mpca_vscript" = xyes])dnl
])

# MPCA_CHECK_FUZZ
# A compiler for the fuzz target (make fuzz, tests/fuzz/fuzz.sh): FUZZ_CC
# (default: clang, then clang-14) must link a libFuzzer target with
# -fsanitize=fuzzer,address,undefined (on Debian, clang needs
# libclang-rt-14-dev for the runtime). Sets the Automake conditional
# HAVE_FUZZ; without such a compiler the fuzz test skips.
AC_DEFUN([MPCA_CHECK_FUZZ],
[AC_ARG_VAR([FUZZ_CC], [C compiler with libFuzzer for make fuzz (default: clang)])
AC_CHECK_PROGS([FUZZ_CC], [clang clang-14])
mpca_fuzz=no
AS_IF([test -n "$FUZZ_CC"],
  [AC_MSG_CHECKING([whether $FUZZ_CC links a libFuzzer target under ASan and UBSan])
   cat >conftest-fuzz.c <<_MPCA_EOF
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return size > 0 && data[[0]] == 1; }
_MPCA_EOF
   AS_IF([$FUZZ_CC -fsanitize=fuzzer,address,undefined conftest-fuzz.c -o conftest-fuzz$EXEEXT >&AS_MESSAGE_LOG_FD 2>&1],
     [mpca_fuzz=yes])
   rm -f conftest-fuzz.c conftest-fuzz$EXEEXT
   AC_MSG_RESULT([$mpca_fuzz])])
AM_CONDITIONAL([HAVE_FUZZ], [test "x$mpca_fuzz" = xyes])dnl
])
