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

# scenario_project LABEL PKG_CONFIG_PATH LIBDIR LEAKCHECK: the example project
# of docs/examples/scenarios, copied out of the checkout and built with its own
# Makefile against the tree pkg-config names. Its two scenarios must hold, a
# twin whose fix is removed must fail, and shards of its run must merge.
scenario_project() {
  local label=$1 pcpath=$2 libdir=$3 tool=$4 dir=$tmp/project-$1 out
  mkdir -p "$dir"
  cp docs/examples/scenarios/Makefile docs/examples/scenarios/scenarios.c "$dir/"
  if ! PKG_CONFIG_PATH=$pcpath make --no-print-directory -s -C "$dir" >"$tmp/project.log" 2>&1; then
    fail "$label: the scenario example does not build: $(head -5 "$tmp/project.log")"
    return
  fi
  out=$(LD_LIBRARY_PATH=$libdir "$dir/scenarios" list 2>&1)
  [ "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" = "queue_never_closed cache_never_evicts " ] ||
    fail "$label: the example lists '$out', not its two scenarios"
  if ! LD_LIBRARY_PATH=$libdir "$dir/scenarios" run --jobs 2 >"$tmp/project-run.log" 2>&1; then
    fail "$label: the example's scenarios do not hold: $(cat "$tmp/project-run.log")"
  elif ! grep -q '^queue_never_closed  *leaky  *leak  *2 .*worker_main \[chan receive\].* ok$' \
    "$tmp/project-run.log" || ! grep -q '^cache_never_evicts  *leaky  *leak  *0  *200 .*cache_put.* ok$' \
    "$tmp/project-run.log" || ! grep -q '^4 variants, 0 expectations not met$' "$tmp/project-run.log"; then
    fail "$label: the example's table is not what its scenarios declare: $(cat "$tmp/project-run.log")"
  fi
  # The twin: the cache's fix taken out, its fixed variant leaks.
  sed 's/^\( *\)cache_clear();$/\1(void)0;/' "$dir/scenarios.c" >"$dir/broken.c"
  if grep -q 'cache_clear();' "$dir/broken.c"; then fail "$label: the twin still calls cache_clear"; fi
  cc $(PKG_CONFIG_PATH=$pcpath pkg-config --cflags leakcheck-toolkit) "$dir/broken.c" \
    $(PKG_CONFIG_PATH=$pcpath pkg-config --libs leakcheck-toolkit) -o "$dir/broken" 2>"$tmp/cc.log" ||
    fail "$label: the twin does not compile: $(head -3 "$tmp/cc.log")"
  local status=0
  LD_LIBRARY_PATH=$libdir "$dir/broken" run cache_never_evicts >"$tmp/broken.log" 2>&1 || status=$?
  if [ $status != 1 ] || ! grep -q '^cache_never_evicts  *fixed  *leak .* 200 ' "$tmp/broken.log"; then
    fail "$label: the twin without its fix exits $status: $(cat "$tmp/broken.log")"
  fi
  # Two shards in JUnit, merged by the tool, give the whole run's verdict.
  for k in 1 2; do
    LD_LIBRARY_PATH=$libdir "$dir/scenarios" run --shard $k/2 --format junit -o "$dir/shard$k.xml" ||
      fail "$label: shard $k/2 of the example fails"
  done
  if ! LD_LIBRARY_PATH=$libdir "$tool" merge "$dir/shard1.xml" "$dir/shard2.xml" >"$dir/merged.xml" 2>"$tmp/merge.log"; then
    fail "$label: the example's shards do not merge: $(cat "$tmp/merge.log")"
  elif ! grep -q '<testsuite name="scenarios run" tests="4" failures="0" errors="0"' "$dir/merged.xml"; then
    fail "$label: the merged shards are not the whole run: $(head -3 "$dir/merged.xml")"
  fi
}

# 1. Uninstalled: right after `make`, nothing but PKG_CONFIG_PATH=build.
[ -f "$build/leakcheck.pc" ] || fail "make wrote no $build/leakcheck.pc"
compile_and_run uninstalled "$build"
scenario_project uninstalled "$build" "$build" "$build/leakcheck"

# 2. Installed under a PREFIX with its own LIBDIR.
prefix=$tmp/prefix
libdir=$prefix/lib64
make --no-print-directory -s install PREFIX="$prefix" LIBDIR="$libdir" >"$tmp/install.log" 2>&1 ||
  fail "make install PREFIX=... LIBDIR=... failed: $(tail -3 "$tmp/install.log")"
for f in include/leakcheck.h include/leakcheck_check.h lib64/libleakcheck.a \
  lib64/libleakcheck.so.0.1.0 lib64/pkgconfig/leakcheck.pc bin/leakcheck \
  include/leakcheck_scenario.h include/leakcheck_toolkit.h lib64/libleakcheck_toolkit.a \
  lib64/libleakcheck_toolkit.so.0.1.0 lib64/pkgconfig/leakcheck-toolkit.pc \
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
PKG_CONFIG_PATH=$pc pkg-config --validate leakcheck-toolkit ||
  fail "the installed leakcheck-toolkit.pc does not validate"
[ "$(readlink "$libdir/libleakcheck_toolkit.so" 2>/dev/null)" = libleakcheck_toolkit.so.0 ] ||
  fail "libleakcheck_toolkit.so is not a link to the SONAME"
scenario_project installed "$pc" "$libdir" "$prefix/bin/leakcheck"

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
echo "cli_install.sh: quick start and scenario project (uninstalled and installed), install, uninstall, DESTDIR: ok"
