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
#     hole: the marker byte comes out as '?' in text, escaped in JSON;
#   - what the process needs files and lines for itself is asked of the
#     supervisor (harness/line_client.c, tool/line_server.c), still without
#     libdw or libelf in the process: a suppression naming a source file
#     (and its twin naming a file no frame is in), a heap profile and a
#     retention graph with files and lines, a live dump, and the program's
#     own lc_diff_print, which leaves the program's descriptors as they were.
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

# ---------------------------------------------------------------- asked of the supervisor

cat >"$tmp/other.c" <<'EOF'
#include <stdlib.h>
void *other(void);
__attribute__((noinline)) void *other(void) { return malloc(24); }
EOF
cat >"$tmp/two.c" <<'EOF'
#include <stdlib.h>
void *other(void);
static __attribute__((noinline)) void *make(void) { return malloc(40); }
int main(void) {
    void *volatile p = make();
    p = other();
    p = NULL;
    return 0;
}
EOF
cc -g -O0 -o "$tmp/two" "$tmp/two.c" "$tmp/other.c"
echo 'leak:other.c' >"$tmp/by_file.supp"
echo 'leak:nowhere.c' >"$tmp/no_file.supp"
status=0
(cd "$tmp" && LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run \
    --suppressions=by_file.supp -- ./two) >"$tmp/out" 2>&1 || status=$?
traces=$(checked_traces)
if [ $status -eq 23 ] && [ -n "$traces" ] && [ -z "$(loads_libdw $traces)" ] &&
    grep -q '^  1 object, 24 B: leak:other.c$' "$tmp/out" &&
    grep -q '^    make (two.c:3)$' "$tmp/out" && ! grep -q '^    other (' "$tmp/out"; then
    pass "suppressions: a pattern naming a source file suppresses its leak, with no libdw in the process"
else
    fail "suppressions: a pattern naming a source file suppresses its leak, with no libdw in the process (exit $status)"
    show "$tmp/out"
    for t in $traces; do grep -E 'file=lib(dw|elf)' "$t" | sed 's/^/    /'; done
fi
rm -f "$tmp"/ld.*
status=0
(cd "$tmp" && "$leakcheck" run --suppressions=no_file.supp -- ./two) >"$tmp/out" 2>&1 || status=$?
if [ $status -eq 23 ] && grep -q '^    other (other.c:3)$' "$tmp/out" &&
    grep -q '^    make (two.c:3)$' "$tmp/out" && ! grep -q '^suppressed' "$tmp/out"; then
    pass "suppressions: a pattern naming a file no frame is in suppresses nothing"
else
    fail "suppressions: a pattern naming a file no frame is in suppresses nothing (exit $status)"
    show "$tmp/out"
fi

cat >"$tmp/kv.c" <<'EOF'
#include <stdlib.h>
struct node { struct node *next; int v; };
struct node *registry;
__attribute__((noinline)) struct node *make_node(int v) {
    struct node *n = malloc(sizeof *n);
    n->v = v;
    return n;
}
int main(void) {
    registry = make_node(1);
    make_node(2);
    return 0;
}
EOF
cc -g -O0 -o "$tmp/kv" "$tmp/kv.c"
status=0
(cd "$tmp" && LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run --strict \
    --pprof=kv.pb.gz --dot=kv.dot -- ./kv) >"$tmp/out" 2>&1 || status=$?
traces=$(checked_traces)
if [ $status -eq 23 ] && [ -n "$traces" ] && [ -z "$(loads_libdw $traces)" ] &&
    grep -qF 'label="global registry\nkv.c:3"' "$tmp/kv.dot" &&
    zcat "$tmp/kv.pb.gz" | strings | grep -q 'kv\.c'; then
    pass "--pprof and --dot: the profile and the graph have files and lines, with no libdw in the process"
else
    fail "--pprof and --dot: the profile and the graph have files and lines, with no libdw in the process (exit $status)"
    show "$tmp/kv.dot"
    zcat "$tmp/kv.pb.gz" | strings | grep -m5 '\.c' | sed 's/^/    /'
    for t in $traces; do grep -E 'file=lib(dw|elf)' "$t" | sed 's/^/    /'; done
fi
rm -f "$tmp"/ld.*

cat >"$tmp/sleeper.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(void) {
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (int i = 0; i < 1000; i++) usleep(10000);
    return 0;
}
EOF
cc -g -O0 -o "$tmp/sleeper" "$tmp/sleeper.c"
mkdir -p "$tmp/dumps"
status=0
(cd "$tmp" && LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" LEAKCHECK_DUMP_SIGNAL=USR2 \
    LEAKCHECK_DUMP_DIR="$tmp/dumps" exec "$leakcheck" run -- ./sleeper >"$tmp/ready" 2>"$tmp/out") &
run_pid=$!
for _ in $(seq 400); do grep -q ready "$tmp/ready" 2>/dev/null && break; sleep 0.05; done
pid=$(awk '/^ready/ {print $2}' "$tmp/ready")
if [ -n "$pid" ]; then "$leakcheck" dump "$pid" >"$tmp/dump.out" 2>&1 || status=$?; else status=1; fi
[ -n "$pid" ] && kill "$pid" 2>/dev/null
wait $run_pid || true
traces=$(checked_traces)
if [ $status -eq 0 ] && [ -n "$traces" ] && [ -z "$(loads_libdw $traces)" ] &&
    grep -q '^    main (sleeper.c:6)$' "$tmp"/dumps/*.threads.txt; then
    pass "a live dump has files and lines, with no libdw in the process"
else
    fail "a live dump has files and lines, with no libdw in the process (dump exit $status)"
    cat "$tmp"/dumps/*.threads.txt "$tmp/dump.out" 2>/dev/null | sed 's/^/    /' | head -20
fi
rm -f "$tmp"/ld.*

cat >"$tmp/diff.c" <<'EOF'
#include "leakcheck.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
static int open_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d)) n++;
    if (d) closedir(d);
    return n;
}
int main(void) {
    int before = open_fds();
    lc_snapshot *a = lc_snapshot_take();
    void *volatile p = malloc(40);
    lc_snapshot *b = lc_snapshot_take();
    lc_diff *d = lc_snapshot_diff(a, b, NULL);
    lc_diff_print(d, stdout);
    printf("descriptors: %s\n", open_fds() == before ? "as before" : "changed");
    lc_diff_free(d);
    lc_snapshot_free(a);
    lc_snapshot_free(b);
    free(p);
    return 0;
}
EOF
cc -std=gnu11 -g -O0 -Iinclude -o "$tmp/diff" "$tmp/diff.c" -L"$build" -lleakcheck \
    -Wl,-rpath,"$build"
status=0
(cd "$tmp" && LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run -- ./diff) \
    >"$tmp/out" 2>&1 || status=$?
traces=$(checked_traces)
if [ $status -eq 0 ] && [ -n "$traces" ] && [ -z "$(loads_libdw $traces)" ] &&
    grep -q '^    main (diff.c:15)$' "$tmp/out" && grep -q '^descriptors: as before$' "$tmp/out"; then
    pass "lc_diff_print under the supervisor has files and lines and leaves the program's descriptors"
else
    fail "lc_diff_print under the supervisor has files and lines and leaves the program's descriptors (exit $status)"
    show "$tmp/out"
fi
rm -f "$tmp"/ld.*

[ "$failures" -eq 0 ]
