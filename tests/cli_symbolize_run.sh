#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_symbolize_run.sh: under `leakcheck run` a checked process loads no
# library to name its frames; the supervisor finds files and lines.
#
# The process names functions from the objects' own symbol tables
# (harness/elf_symbols.c) and leaves each frame's file and line as a hole
# that the supervisor fills from DWARF (tool/holes.c). Specified here:
#   - the dynamic linker's own trace (LD_DEBUG=files) of the checked process
#     shows no libdw or libelf, while its report has files and lines; the
#     same trace of a test-mode check (lc_verify in the program, no
#     supervisor) does show libdw: the trace would see a load;
#   - a block allocated by a plugin the program unloaded with dlclose is
#     reported with the plugin's function, file and line; freed before the
#     dlclose, nothing is reported;
#   - text the program controls (a thread name) cannot forge or break a
#     hole: the marker byte comes out as '?' in text, escaped in JSON.
#
# usage: bash tests/cli_symbolize_run.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
build=$(dirname "$leakcheck")
[ -e "$build/libleakcheck.so" ] || {
    echo "cli_symbolize_run.sh: no $build/libleakcheck.so (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_symrun.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}
show() { sed 's/^/    /' "$1" | head -40; }

# The trace files of the processes that loaded the library (the tool links
# libdw itself, and is no checked process).
checked_traces() { grep -l 'libleakcheck\.so' "$tmp"/ld.* 2>/dev/null || true; }
loads_libdw() { grep -lE 'file=lib(dw|elf)\.so' "$@" 2>/dev/null || true; }

# ---------------------------------------------------------------- nothing loaded

cat >"$tmp/leaky.c" <<'EOF'
#include <stdlib.h>
static __attribute__((noinline)) void *make(void) { return malloc(40); }
int main(void) {
    void *volatile p = make();
    p = NULL;
    return 0;
}
EOF
cc -g -O0 -o "$tmp/leaky" "$tmp/leaky.c"
status=0
(cd "$tmp" && LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run -- ./leaky) \
    >"$tmp/out" 2>&1 || status=$?
traces=$(checked_traces)
if [ $status -eq 23 ] && [ -n "$traces" ] && [ -z "$(loads_libdw $traces)" ] &&
    grep -q '^    make (leaky.c:2)$' "$tmp/out" && grep -q '^    main (leaky.c:4)$' "$tmp/out"; then
    pass "run: the checked process loads neither libdw nor libelf, and its frames have files and lines"
else
    fail "run: the checked process loads neither libdw nor libelf, and its frames have files and lines (exit $status)"
    show "$tmp/out"
    for t in $traces; do grep -E 'file=lib(dw|elf)' "$t" | sed 's/^/    /'; done
fi
rm -f "$tmp"/ld.*

# The twin: in test mode the program symbolizes its failing check itself,
# and the same trace shows libdw loaded.
cat >"$tmp/verify.c" <<'EOF'
#include "leakcheck.h"
#include <stdlib.h>
int main(void) {
    lc_baseline();
    void *volatile p = malloc(40);
    p = NULL;
    return LC_VERIFY_NONE() != 0;
}
EOF
cc -std=gnu11 -g -O0 -Iinclude -o "$tmp/verify" "$tmp/verify.c" -L"$build" -lleakcheck \
    -Wl,-rpath,"$build"
status=0
LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$tmp/verify" >"$tmp/out" 2>&1 || status=$?
traces=$(checked_traces)
if [ $status -eq 1 ] && [ -n "$traces" ] && [ -n "$(loads_libdw $traces)" ]; then
    pass "test mode: the same trace shows libdw loaded by a check that symbolizes in the program"
else
    fail "test mode: the same trace shows libdw loaded by a check that symbolizes in the program (exit $status)"
    show "$tmp/out"
fi
rm -f "$tmp"/ld.*

# ---------------------------------------------------------------- dlclose

cat >"$tmp/plugin.c" <<'EOF'
#include <stdlib.h>
void *plugin_make(void);
void *plugin_make(void) {
    return malloc(48);
}
EOF
cat >"$tmp/host.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    (void)argc;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) return 2;
    void *(*make)(void) = (void *(*)(void))dlsym(h, "plugin_make");
    void *volatile p = make();
#ifdef FIXED
    free(p);
#endif
    p = NULL;
    return dlclose(h) != 0;
}
EOF
cc -g -O0 -fPIC -shared -o "$tmp/libplugin.so" "$tmp/plugin.c"
cc -g -O0 -o "$tmp/host" "$tmp/host.c" -ldl
cc -g -O0 -DFIXED -o "$tmp/host_fixed" "$tmp/host.c" -ldl
status=0
(cd "$tmp" && "$leakcheck" run -- ./host "$tmp/libplugin.so") >"$tmp/out" 2>&1 || status=$?
if [ $status -eq 23 ] && grep -q '^    plugin_make (plugin.c:4)$' "$tmp/out" &&
    grep -q '^    main (host.c:9)$' "$tmp/out"; then
    pass "dlclose: a block a plugin allocated is reported with the unloaded plugin's function, file and line"
else
    fail "dlclose: a block a plugin allocated is reported with the unloaded plugin's function, file and line (exit $status)"
    show "$tmp/out"
fi
status=0
"$leakcheck" run --format json -- "$tmp/host" "$tmp/libplugin.so" >"$tmp/out.json" 2>&1 ||
    status=$?
if [ $status -eq 23 ] && jq -e '[.. | objects | select(.function? == "plugin_make")][0]
        | .file == "'"$tmp"'/plugin.c" and .line == 4' "$tmp/out.json" >/dev/null 2>&1; then
    pass "dlclose: the JSON frame of the unloaded plugin has its file and line"
else
    fail "dlclose: the JSON frame of the unloaded plugin has its file and line (exit $status)"
    show "$tmp/out.json"
fi
status=0
(cd "$tmp" && "$leakcheck" run -- ./host_fixed "$tmp/libplugin.so") >"$tmp/out" 2>&1 ||
    status=$?
if [ $status -eq 0 ] && ! grep -q 'plugin_make' "$tmp/out"; then
    pass "dlclose: freed before the dlclose, nothing is reported"
else
    fail "dlclose: freed before the dlclose, nothing is reported (exit $status)"
    show "$tmp/out"
fi

# ---------------------------------------------------------------- forged holes

cat >"$tmp/named.c" <<'EOF'
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>
static void *park(void *arg) {
    (void)arg;
    pause();
    return NULL;
}
int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, park, NULL);
    pthread_setname_np(t, "a\001T0,0,0\001b");
    usleep(100000);
    return 0;
}
EOF
cc -g -O0 -pthread -o "$tmp/named" "$tmp/named.c"
status=0
(cd "$tmp" && "$leakcheck" run -- ./named) >"$tmp/out" 2>&1 || status=$?
if [ $status -eq 23 ] && grep -q 'thread [0-9]* "a?T0,0,0?b"' "$tmp/out" &&
    grep -q '^    park (named.c:6)$' "$tmp/out" && ! grep -q $'\x01' "$tmp/out"; then
    pass "a thread name holding the hole marker is written with '?' and forges no hole (text)"
else
    fail "a thread name holding the hole marker is written with '?' and forges no hole (text, exit $status)"
    show "$tmp/out"
fi
status=0
(cd "$tmp" && "$leakcheck" run --format json -- ./named) >"$tmp/out.json" 2>&1 || status=$?
if [ $status -eq 23 ] && jq -e '[.. | objects | select(.name? == "a\u0001T0,0,0\u0001b")] | length == 1' \
    "$tmp/out.json" >/dev/null 2>&1; then
    pass "a thread name holding the hole marker is escaped and forges no hole (JSON)"
else
    fail "a thread name holding the hole marker is escaped and forges no hole (JSON, exit $status)"
    show "$tmp/out.json"
fi

[ "$failures" -eq 0 ]
