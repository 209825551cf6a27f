#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_install.sh: the quick start and `make install` / `make uninstall`.
#
# The README's quick start must work from the checkout right after `make`
# (PKG_CONFIG_PATH=build, no LD_LIBRARY_PATH), and from an installed tree.
# `make install` follows the library conventions: PREFIX, LIBDIR and DESTDIR
# honoured, a versioned SONAME with its links, the pkg-config file naming the
# installed suppression file, the man pages; `make uninstall` removes every
# file it installed. Each check compiles tests/fixtures/quickstart.c, whose
# leaky twin must fail with a report and whose clean twin must pass.
#
# usage: bash tests/cli_install.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
build=$(cd "$(dirname "$leakcheck")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# compile_and_run LABEL PKG_CONFIG_PATH [env...]: the quick start's twins.
compile_and_run() {
  local label=$1 pcpath=$2
  shift 2
  local exe=$tmp/quickstart-$label
  # shellcheck disable=SC2046
  if ! cc -g -fno-omit-frame-pointer $(PKG_CONFIG_PATH=$pcpath pkg-config --cflags leakcheck check) \
    tests/fixtures/quickstart.c $(PKG_CONFIG_PATH=$pcpath pkg-config --libs leakcheck check) \
    -o "$exe" 2>"$tmp/cc.log"; then
    fail "$label: the quick start does not compile: $(head -3 "$tmp/cc.log")"
    return
  fi
  if ! env "$@" CK_FORK=yes "$exe" >"$tmp/clean.log" 2>&1; then
    fail "$label: the clean twin fails: $(head -5 "$tmp/clean.log")"
  fi
  if env "$@" QUICKSTART_LEAK=1 CK_FORK=yes "$exe" >"$tmp/leaky.log" 2>&1; then
    fail "$label: the leaky twin passes"
  elif ! grep -q 'remember_is_freed' "$tmp/leaky.log" || ! grep -q '6 B' "$tmp/leaky.log"; then
    fail "$label: the leaky twin's report does not name the leak: $(head -5 "$tmp/leaky.log")"
  fi
}

# 1. Uninstalled: right after `make`, nothing but PKG_CONFIG_PATH=build.
[ -f "$build/leakcheck.pc" ] || fail "make wrote no $build/leakcheck.pc"
compile_and_run uninstalled "$build"

# 2. Installed under a PREFIX with its own LIBDIR.
prefix=$tmp/prefix
libdir=$prefix/lib64
make --no-print-directory -s install PREFIX="$prefix" LIBDIR="$libdir" >"$tmp/install.log" 2>&1 ||
  fail "make install PREFIX=... LIBDIR=... failed: $(tail -3 "$tmp/install.log")"
for f in include/leakcheck.h include/leakcheck_check.h lib64/libleakcheck.a \
  lib64/libleakcheck.so.0.1.0 lib64/pkgconfig/leakcheck.pc bin/leakcheck \
  share/leakcheck/leakcheck.supp share/leakcheck/check-junit.xsl share/man/man1/leakcheck.1 share/man/man3/leakcheck.3; do
  [ -f "$prefix/$f" ] || fail "make install did not install $f"
done
[ "$(readlink "$libdir/libleakcheck.so.0" 2>/dev/null)" = libleakcheck.so.0.1.0 ] ||
  fail "libleakcheck.so.0 is not a link to the real file"
[ "$(readlink "$libdir/libleakcheck.so" 2>/dev/null)" = libleakcheck.so.0 ] ||
  fail "libleakcheck.so is not a link to the SONAME"
soname=$(readelf -d "$libdir/libleakcheck.so.0.1.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libleakcheck.so.0 ] || fail "SONAME is '$soname', not libleakcheck.so.0"
pc=$libdir/pkgconfig
PKG_CONFIG_PATH=$pc pkg-config --validate leakcheck || fail "the installed leakcheck.pc does not validate"
supp=$(PKG_CONFIG_PATH=$pc pkg-config --variable=suppressions leakcheck)
[ "$supp" = "$prefix/share/leakcheck/leakcheck.supp" ] && [ -f "$supp" ] ||
  fail "pkg-config --variable=suppressions gives '$supp', not the installed file"
xsl=$(PKG_CONFIG_PATH=$pc pkg-config --variable=check_junit leakcheck)
[ "$xsl" = "$prefix/share/leakcheck/check-junit.xsl" ] && [ -f "$xsl" ] ||
  fail "pkg-config --variable=check_junit gives '$xsl', not the installed stylesheet"
compile_and_run installed "$pc" LD_LIBRARY_PATH="$libdir"

# The installed tool finds the installed library, wherever LIBDIR put it.
if ! out=$(LD_LIBRARY_PATH=$libdir "$prefix/bin/leakcheck" run -- true 2>&1); then
  fail "the installed leakcheck cannot run a program: $out"
fi

# 3. Uninstall removes every file it installed.
make --no-print-directory -s uninstall PREFIX="$prefix" LIBDIR="$libdir" >"$tmp/uninstall.log" 2>&1 ||
  fail "make uninstall failed: $(tail -3 "$tmp/uninstall.log")"
left=$(find "$prefix" \( -type f -o -type l \) | sed "s|^$prefix/||")
[ -z "$left" ] || fail "make uninstall left: $left"

# 4. DESTDIR stages the tree without changing what it says about PREFIX.
make --no-print-directory -s install DESTDIR="$tmp/stage" PREFIX=/usr >"$tmp/stage.log" 2>&1 ||
  fail "make install DESTDIR=... failed: $(tail -3 "$tmp/stage.log")"
grep -qx 'prefix=/usr' "$tmp/stage/usr/lib/pkgconfig/leakcheck.pc" 2>/dev/null ||
  fail "the staged leakcheck.pc does not say prefix=/usr"
[ -e "$tmp/stage/usr/lib/libleakcheck.so.0" ] || fail "DESTDIR install has no libleakcheck.so.0"

if [ $failures -ne 0 ]; then
  echo "cli_install.sh: $failures failure(s)"
  exit 1
fi
echo "cli_install.sh: quick start (uninstalled and installed), install, uninstall, DESTDIR: ok"
