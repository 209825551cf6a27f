#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_layers.sh: the library's module boundaries, as built.
#
# The include lines and the symbols the built objects use follow the layer
# order of docs/architecture.md, and a copy of the sources with one upward
# include (the OS layer including the check's header), one file missing from
# the table, or one object calling up (core calling lc_verify) fails the
# check, naming the file. libleakcheck.so exports exactly the functions of include/*.h and
# the interposed names: a public function declared without LC_API (a
# declaration the library does not export) and an export no header declares
# each fail the check. A program linked with libleakcheck.a gets the whole
# library (start-up and interposers: its leak is found, its twin's free is
# seen) and no internal name as a global symbol. The tool holds the library
# itself: `leakcheck run` preloads libleakcheck.so into the program it
# starts, never into itself.
#
# usage: bash tests/cli_layers.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_layers.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
root=$(cd "$(dirname "$0")/.." && pwd)
lib=$(dirname "$leakcheck")/libleakcheck.so
objdir=$(dirname "$leakcheck")/obj

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
copy_tree() { # a copy of what the checks read, in $tmp/$1
    mkdir -p "$tmp/$1"
    cp -r "$root/harness" "$root/assertions" "$root/include" "$root/scenarios" "$root/docs" \
        "$tmp/$1/"
}

# --------------------------------------------------------------- layers

if out=$(bash "$root/scripts/check-layers.sh" "$root" "$objdir" 2>&1); then
    pass "the sources and the objects follow the layer order"
else
    fail "the sources and the objects follow the layer order"
    echo "$out"
fi

copy_tree upward
echo '#include "verify.h"' >>"$tmp/upward/harness/os.h"
if out=$(bash "$root/scripts/check-layers.sh" "$tmp/upward" 2>&1); then
    fail "an upward include fails the check"
elif grep -q 'harness/os.h:.*(layer 4, os) includes assertions/verify.h (layer 20, verify)' <<<"$out"; then
    pass "an upward include fails the check, naming the file and both layers"
else
    fail "an upward include fails the check, naming the file and both layers"
    echo "$out"
fi

copy_tree unlisted
printf '#include "core.h"\n' >"$tmp/unlisted/harness/stray.c"
if out=$(bash "$root/scripts/check-layers.sh" "$tmp/unlisted" 2>&1); then
    fail "a file in no layer fails the check"
elif grep -q 'harness/stray.c is in no layer' <<<"$out"; then
    pass "a file in no layer fails the check"
else
    fail "a file in no layer fails the check"
    echo "$out"
fi

mkdir -p "$tmp/objs"
cp -r "$objdir/harness" "$objdir/assertions" "$tmp/objs/"
printf 'int lc_verify(const void *, void *);\nint lc_core_calls_up(void) { return lc_verify(0, 0); }\n' \
    >"$tmp/up.c"
cc -c "$tmp/up.c" -o "$tmp/objs/harness/core.o"
if out=$(bash "$root/scripts/check-layers.sh" "$root" "$tmp/objs" 2>&1); then
    fail "an object calling a higher layer fails the check"
elif grep -q 'harness/core.o (layer 1, core) calls lc_verify of assertions/verify.o (layer 20, verify)' <<<"$out"; then
    pass "an object calling a higher layer fails the check, naming both"
else
    fail "an object calling a higher layer fails the check, naming both"
    echo "$out"
fi

copy_tree toolkit
printf '#include "heap.h"\n' >>"$tmp/toolkit/scenarios/chan.c"
if bash "$root/scripts/check-layers.sh" "$tmp/toolkit" >/dev/null 2>&1; then
    fail "the toolkit including an internal header fails the check"
else
    pass "the toolkit including an internal header fails the check"
fi

# -------------------------------------------------------------- exports

if out=$(bash "$root/scripts/check-exports.sh" "$lib" "$root" 2>&1); then
    pass "the library exports the public API and the interposed names only"
else
    fail "the library exports the public API and the interposed names only"
    echo "$out"
fi

copy_tree unexported
printf '#ifndef LC_EXTRA_H\n#define LC_EXTRA_H\nint lc_not_exported(void);\n#endif\n' \
    >"$tmp/unexported/include/leakcheck_extra.h"
if out=$(bash "$root/scripts/check-exports.sh" "$lib" "$tmp/unexported" 2>&1); then
    fail "a public function without LC_API fails the check"
elif grep -q 'not exported: lc_not_exported' <<<"$out"; then
    pass "a public function without LC_API fails the check"
else
    fail "a public function without LC_API fails the check"
    echo "$out"
fi

copy_tree undeclared
sed -i '/lc_watch(const void \*ptr/d' "$tmp/undeclared/include/leakcheck.h"
if out=$(bash "$root/scripts/check-exports.sh" "$lib" "$tmp/undeclared" 2>&1); then
    fail "an export no public header declares fails the check"
elif grep -q 'exported but not public: lc_watch' <<<"$out"; then
    pass "an export no public header declares fails the check"
else
    fail "an export no public header declares fails the check"
    echo "$out"
fi

# ------------------------------------------------------- the static archive

cat >"$tmp/static.c" <<'EOF'
#include "leakcheck.h"
#include <stdlib.h>
int main(int argc, char **argv) {
    (void)argv;
    lc_baseline();
    char *volatile p = malloc(100);
    p[0] = 1;
    if (argc > 1) free(p);
    p = NULL;
    return LC_VERIFY_NONE(.quiet = 1) != 0;
}
EOF
if cc -g -O0 -I"$root/include" "$tmp/static.c" "$(dirname "$leakcheck")/libleakcheck.a" \
    -lunwind -lz -ldl -pthread -o "$tmp/static" 2>"$tmp/static.err"; then
    if ! "$tmp/static" && "$tmp/static" free; then
        pass "a program linked with libleakcheck.a has its leak found, and its twin none"
    else
        fail "a program linked with libleakcheck.a has its leak found, and its twin none"
    fi
    # Global lc_ names of the program, less the public API (LC_API in the
    # headers): none may be left.
    public=$(grep -ho 'LC_API[^(;]*(' "$root"/include/*.h | grep -o 'lc_[a-z0-9_]*' | sort -u)
    internal=$(nm "$tmp/static" | awk '$2 ~ /^[TDB]$/ && $3 ~ /^lc_/ {print $3}' | sort -u |
        comm -23 - <(printf '%s\n' "$public"))
    if [ -n "$internal" ]; then
        fail "libleakcheck.a keeps internal names local"
        head -5 <<<"$internal"
    else
        pass "libleakcheck.a keeps internal names local"
    fi
else
    fail "a program links with libleakcheck.a"
    cat "$tmp/static.err"
fi

# ------------------------------------------------------- one copy per process

# The program `leakcheck run` starts maps libleakcheck.so; the tool (its
# parent) maps none: it holds the library statically. Each grep is its own
# checked process; only their output is judged.
maps=$("$leakcheck" run -- sh -c 'grep -c libleakcheck /proc/$PPID/maps; grep -c libleakcheck.so /proc/self/maps' 2>/dev/null || true)
tool_maps=$(sed -n 1p <<<"$maps")
child_maps=$(sed -n 2p <<<"$maps")
if [ "$tool_maps" = 0 ] && [ "${child_maps:-0}" -gt 0 ]; then
    pass "leakcheck run preloads the library into the program, not into itself"
else
    fail "leakcheck run preloads the library into the program, not into itself" \
        "(tool maps: '$tool_maps', program maps: '$child_maps')"
fi

# ------------------------------------------------------ one page for a fork

# What every forked child writes (the fork handlers' state, a forked test's
# first stacks and scratch bookkeeping: lc_fork_state) and what every malloc
# reads (lc_hot) lie in one page with .data: each further page would be one
# more copy-on-write fault in every forked Check test (core.h).
page_of_sections=$(readelf -SW "$lib" | awk '
    { for (i = 1; i <= NF; i++) if ($i == ".data" || $i == "lc_hot" || $i == "lc_fork_state")
          print $i, $(i + 2), $(i + 4) }' |
    while read -r name addr size; do
        echo "$name $((16#$addr / 4096)) $(((16#$addr + 16#$size - 1) / 4096))"
    done || true)
if [ "$(awk '{ print $2; print $3 }' <<<"$page_of_sections" | sort -u | wc -l)" = 1 ] &&
    [ "$(wc -l <<<"$page_of_sections")" = 3 ]; then
    pass "the state every fork writes lies in one page of libleakcheck.so"
else
    fail "the state every fork writes lies in one page of libleakcheck.so" \
        "(section, first page, last page: $(tr '\n' ';' <<<"$page_of_sections"))"
fi

[ "$failures" -eq 0 ] || {
    echo "cli_layers.sh: $failures failed"
    exit 1
}
echo "cli_layers.sh: all passed"
