#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_pprof.sh: `leakcheck run --pprof FILE`, end to end.
#
# A program that keeps growing a cache from one named function is run twice
# under `leakcheck run --pprof`: once without growth (the base) and once with
# it. The profiles written at exit must tell the story a user would look for:
#   (a) `leakcheck diff BASE AFTER` puts the growing function on top, with
#       exactly the objects and bytes it kept;
#   (b) `go tool pprof -top -sample_index=inuse_space` reads the profile and
#       shows the same function and the same total (skipped without go);
#   (c) `leakcheck diff --fail-on-growth` exits 1 exactly when a stack grew
#       past the minimums (inclusive, or exclusive with --strict-minimums);
# and the surrounding behaviour holds: an unwritable profile path is a
# one-line error before the program runs (exit 2), a relative path is the
# caller's even when the program changes directory, and a forked child
# writes FILE.PID instead of overwriting its parent's profile.
#
# The cached blocks stay reachable from a global, so the check at exit lists
# them without failing (they would count only with --strict): the exit status
# is the program's own, 0, and the profile is what is tested.
#
# usage: bash tests/cli_pprof.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_pprof.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_pprof.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# Objects and bytes the program keeps per growth step: distinctive numbers,
# so that a match cannot be a coincidence.
objects=7
size=1234
bytes=$((objects * size))

cat >"$tmp/prog.c" <<EOF
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *cache[64];
static int cached;

/* Keeps every block it allocates: growth, not a lost pointer. */
static void grow_cache(int n) {
    for (int i = 0; i < n; i++) {
        char *p = malloc($size);
        memset(p, 'x', $size);
        cache[cached++] = p;
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "base";
    if (strcmp(mode, "grow") == 0) grow_cache($objects);
    if (strcmp(mode, "chdir") == 0) {
        grow_cache(1);
        if (chdir("/") != 0) return 1;
    }
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            grow_cache(2);
            exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
    }
    return 0;
}
EOF
cc -g -O0 -fno-omit-frame-pointer "$tmp/prog.c" -o "$tmp/prog"

run() { # profile, mode: the program under leakcheck run --pprof
    "$leakcheck" run --pprof "$1" -- "$tmp/prog" "$2" >"$tmp/run.out" 2>&1
}

# ------------------------------------------------------- the two profiles
if ! run "$tmp/base.pb.gz" base; then
    fail "base run exited non-zero: $(cat "$tmp/run.out")"
fi
if ! run "$tmp/heap.pb.gz" grow; then
    fail "growing run exited non-zero: $(cat "$tmp/run.out")"
fi
for f in base heap; do
    [ -s "$tmp/$f.pb.gz" ] || fail "no profile written at $tmp/$f.pb.gz"
done

# ------------------------------------------------------------------- (a)
if "$leakcheck" diff "$tmp/base.pb.gz" "$tmp/heap.pb.gz" >"$tmp/diff.out" 2>&1; then
    # Line 3 is the first stack's growth, line 4 its leaf frame.
    row=$(sed -n 3p "$tmp/diff.out")
    leaf=$(sed -n 4p "$tmp/diff.out" | awk '{ print $1 }')
    case $row in
    "+$objects objects  +$bytes bytes"*)
        if [ "$leaf" = grow_cache ]; then
            pass "(a) leakcheck diff: top stack $row in $leaf"
        else
            fail "(a) the top stack's leaf is '$leaf', not grow_cache: $(cat "$tmp/diff.out")"
        fi
        ;;
    *) fail "(a) the top stack is not +$objects objects +$bytes bytes: $(cat "$tmp/diff.out")" ;;
    esac
else
    fail "(a) leakcheck diff failed: $(cat "$tmp/diff.out")"
fi

# ------------------------------------------------------------------- (c)
# --fail-on-growth is the CI gate: 1 when a stack grew past the minimums,
# 0 when none did (the same profile against itself; a minimum above the
# growth; the growth itself with --strict-minimums), 2 stays trouble.
gate() { # expected-status description diff-arguments...
    local want=$1 what=$2 got=0
    shift 2
    "$leakcheck" diff --fail-on-growth "$@" >"$tmp/gate.out" 2>&1 || got=$?
    if [ "$got" -eq "$want" ]; then
        pass "(c) --fail-on-growth $what: exit $got"
    else
        fail "(c) --fail-on-growth $what: exit $got, want $want: $(cat "$tmp/gate.out")"
    fi
}
gate 1 "on growth" "$tmp/base.pb.gz" "$tmp/heap.pb.gz"
gate 0 "on the same profile" "$tmp/heap.pb.gz" "$tmp/heap.pb.gz"
gate 0 "in the other direction" "$tmp/heap.pb.gz" "$tmp/base.pb.gz"
gate 1 "at exactly the minimum" --min-objects "$objects" "$tmp/base.pb.gz" "$tmp/heap.pb.gz"
gate 0 "at the minimum, strict" --strict-minimums --min-objects "$objects" \
    "$tmp/base.pb.gz" "$tmp/heap.pb.gz"
gate 0 "under a higher minimum" --min-bytes "$((bytes + 1))" "$tmp/base.pb.gz" "$tmp/heap.pb.gz"
gate 2 "on a missing profile" "$tmp/base.pb.gz" "$tmp/missing.pb.gz"

# ------------------------------------------------------------------- (b)
if command -v go >/dev/null 2>&1; then
    # Offline, and nothing written outside the scratch directory.
    export GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GOPROXY=off GOFLAGS=-mod=mod
    export GOTOOLCHAIN=local PPROF_TMPDIR=$tmp
    if go tool pprof -top -unit=B -sample_index=inuse_space "$tmp/heap.pb.gz" \
        >"$tmp/top.out" 2>"$tmp/top.err"; then
        total=$(sed -n 's/^Showing nodes accounting for .* of \([0-9]*\)B total$/\1/p' "$tmp/top.out")
        flat=$(awk '$6 == "grow_cache" { v = $1; sub(/B$/, "", v); print v }' "$tmp/top.out")
        if [ "$total" = "$bytes" ] && [ "$flat" = "$bytes" ]; then
            pass "(b) go tool pprof: grow_cache ${flat}B of ${total}B total"
        else
            fail "(b) go tool pprof shows grow_cache '$flat' of '$total', want $bytes: $(cat "$tmp/top.out")"
        fi
    else
        fail "(b) go tool pprof rejected the profile: $(head -n 5 "$tmp/top.err")"
    fi
else
    echo "skip (b) go is not on PATH: go tool pprof not checked (Debian: apt-get install golang-go)"
fi

# ---------------------------------------------------- unwritable path
set +e
"$leakcheck" run --pprof "$tmp/no-such-dir/heap.pb.gz" -- touch "$tmp/ran" >"$tmp/bad.out" 2>&1
status=$?
set -e
if [ "$status" -ne 2 ]; then
    fail "unwritable path: exit status $status, want 2: $(cat "$tmp/bad.out")"
elif [ "$(wc -l <"$tmp/bad.out")" -ne 1 ] || ! grep -q "cannot write the heap profile" "$tmp/bad.out"; then
    fail "unwritable path: not a one-line error: $(cat "$tmp/bad.out")"
elif [ -e "$tmp/ran" ]; then
    fail "unwritable path: the program ran anyway"
else
    pass "unwritable path: $(cat "$tmp/bad.out")"
fi

# ---------------------------------------------------- relative path, chdir
mkdir "$tmp/cwd"
if ! (cd "$tmp/cwd" && "$leakcheck" run --pprof rel.pb.gz -- "$tmp/prog" chdir >"$tmp/run.out" 2>&1); then
    fail "relative path: run failed: $(cat "$tmp/run.out")"
elif [ ! -s "$tmp/cwd/rel.pb.gz" ]; then
    fail "relative path: no profile in the caller's directory after the program's chdir"
else
    pass "relative path: written in the caller's directory despite the program's chdir"
fi

# ---------------------------------------------------- forked child
if ! run "$tmp/fork.pb.gz" fork; then
    fail "fork: run failed: $(cat "$tmp/run.out")"
else
    children=("$tmp"/fork.pb.gz.*)
    if [ ! -s "$tmp/fork.pb.gz" ]; then
        fail "fork: the parent wrote no $tmp/fork.pb.gz"
    elif [ ${#children[@]} -ne 1 ] || [ ! -s "${children[0]}" ]; then
        fail "fork: want one FILE.PID profile of the child, got: ${children[*]}"
    elif ! "$leakcheck" diff --top 1 "$tmp/fork.pb.gz" "${children[0]}" >"$tmp/fork.out" 2>&1 ||
        ! sed -n 3p "$tmp/fork.out" | grep -q "^+2 objects  +$((2 * size)) bytes"; then
        fail "fork: the child's profile does not show its 2 blocks: $(cat "$tmp/fork.out")"
    else
        pass "fork: parent FILE, child $(basename "${children[0]}") with its own blocks"
    fi
fi

# zlib is the profile writer's alone: loaded by the process that writes a
# profile, never by one that writes none (the dynamic linker's own trace).
zlib_loads() { # trace files...: the lines that map zlib
    cat "$@" 2>/dev/null | grep -E 'file=libz\.so' || true
}
rm -f "$tmp"/ld.*
LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run -- "$tmp/prog" base >"$tmp/run.out" 2>&1 || true
prog_traces=$(grep -l "$tmp/prog" "$tmp"/ld.* 2>/dev/null || true)
if [ -n "$prog_traces" ] && [ -z "$(zlib_loads $prog_traces)" ]; then
    pass "zlib: a process that writes no profile does not load it"
else
    fail "zlib: a process that writes no profile does not load it (traces: ${prog_traces:-none})"
fi
rm -f "$tmp"/ld.*
LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" "$leakcheck" run --pprof "$tmp/z.pb.gz" -- "$tmp/prog" base \
    >"$tmp/run.out" 2>&1 || true
prog_traces=$(grep -l "$tmp/prog" "$tmp"/ld.* 2>/dev/null || true)
if [ -s "$tmp/z.pb.gz" ] && [ -n "$(zlib_loads $prog_traces)" ] &&
    gzip -t "$tmp/z.pb.gz" 2>/dev/null; then
    pass "zlib: the process that writes a profile loads it, and the profile is gzip"
else
    fail "zlib: the process that writes a profile loads it, and the profile is gzip"
fi
rm -f "$tmp"/ld.*

if [ "$failures" -ne 0 ]; then
    echo "cli_pprof.sh: $failures failure(s)"
    exit 1
fi
echo "cli_pprof.sh: all passed"
