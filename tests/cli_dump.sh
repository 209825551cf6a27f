#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_dump.sh: `leakcheck dump PID` and LEAKCHECK_DUMP_SIGNAL, end to end.
#
# tests/dump_service.c runs under `leakcheck run` with
# LEAKCHECK_DUMP_SIGNAL=USR2, as a service would; the test asks it for two
# dumps, with ten cache entries added between them, and checks:
#   (a) `leakcheck dump PID` prints the heap profile, the thread profile and
#       the thread dump, and the dump names the parked workers;
#   (b) the two heap profiles compare: fill_cache +10 objects, and
#       `diff --fail-on-growth` fails on it; the thread profiles, taken with
#       the same threads parked, do not grow (the twin);
#   (c) the service never noticed: its output and exit status are a plain
#       run's, and `leakcheck run` finds nothing to report;
#   (d) a process started without LEAKCHECK_DUMP_SIGNAL is not signalled
#       (it would die of SIGUSR2's default action): exit 1 and a reason, and
#       the process lives on;
#   (e) bad command lines are usage errors (exit 2);
#   (f) a LEAKCHECK_DUMP_SIGNAL that names no signal a handler can take
#       (SIGKILL) turns dumps off with one line on stderr, and the program
#       runs as it would.
#
# usage: bash tests/cli_dump.sh [path/to/leakcheck]
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_dump.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
root=$(cd "$(dirname "$0")/.." && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_dump.XXXXXX")
cleanup() {
    [ -n "${svc:-}" ] && kill "$svc" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

cc -g -O0 -fno-omit-frame-pointer "$root/tests/dump_service.c" -pthread -o "$tmp/service"
mkdir "$tmp/dumps"

# The service's stdout comes back on SVC[0]; its last line is its status.
coproc SVC {
    status=0
    LEAKCHECK_DUMP_SIGNAL=USR2 LEAKCHECK_DUMP_DIR="$tmp/dumps" \
        "$leakcheck" run -- "$tmp/service" 2>"$tmp/run.err" || status=$?
    echo "exit $status"
}
svc=$SVC_PID
in=${SVC[1]}
out=${SVC[0]}
read -r ready pid <&"$out"
[ "$ready" = ready ] || fail "the service did not start: '$ready $pid'"

# ------------------------------------------------------------------- (a)
dump() { # N: the N-th dump, its paths into dump.N
    local status=0
    "$leakcheck" dump --timeout 60 "$pid" >"$tmp/dump.$1" 2>"$tmp/dump.$1.err" || status=$?
    if [ "$status" -ne 0 ]; then
        fail "(a) dump $1: exit $status: $(cat "$tmp/dump.$1.err")"
        return
    fi
    local want
    want=$(printf '%s\n' "$tmp/dumps/leakcheck-$pid-$1".{heap.pb.gz,threads.pb.gz,threads.txt})
    if [ "$(cat "$tmp/dump.$1")" != "$want" ]; then
        fail "(a) dump $1 printed '$(cat "$tmp/dump.$1")', want '$want'"
    elif [ "$(grep -c '^    park_worker ' "$tmp/dumps/leakcheck-$pid-$1.threads.txt")" != 2 ]; then
        fail "(a) dump $1 does not show the two parked workers: $(cat "$tmp/dumps/leakcheck-$pid-$1.threads.txt")"
    else
        pass "(a) dump $1: three files, both workers in park_worker"
    fi
}
dump 1
echo grow >&"$in"
read -r grown <&"$out"
[ "$grown" = grown ] || fail "the service did not grow: '$grown'"
dump 2

# ------------------------------------------------------------------- (b)
heap1=$tmp/dumps/leakcheck-$pid-1.heap.pb.gz
heap2=$tmp/dumps/leakcheck-$pid-2.heap.pb.gz
status=0
"$leakcheck" diff --fail-on-growth "$heap1" "$heap2" >"$tmp/diff.out" 2>&1 || status=$?
row=$(awk '/^[-+][0-9]+ objects/ { head = $1 " " $2 } $1 == "fill_cache" { print head; exit }' "$tmp/diff.out")
if [ "$status" -eq 1 ] && [ "$row" = "+10 objects" ]; then
    pass "(b) heap: fill_cache $row between the dumps, --fail-on-growth exit 1"
else
    fail "(b) heap diff (exit $status): fill_cache '$row': $(cat "$tmp/diff.out")"
fi
status=0
"$leakcheck" diff --fail-on-growth "$tmp/dumps/leakcheck-$pid-1.threads.pb.gz" \
    "$tmp/dumps/leakcheck-$pid-2.threads.pb.gz" >"$tmp/tdiff.out" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
    pass "(b) threads: no stack gained threads between the dumps"
else
    fail "(b) thread diff (exit $status): $(cat "$tmp/tdiff.out")"
fi

# ------------------------------------------------------------------- (c)
exec {in}>&-
read -r word status <&"$out" || true
wait "$svc" 2>/dev/null || true
svc=
plain=$(printf 'grow\n' | "$tmp/service" | sed 's/^ready [0-9]*$/ready PID/')
if [ "$word $status" = "exit 0" ] && [ "$plain" = "$(printf 'ready PID\ngrown')" ] &&
    grep -q "within budget: 0 threads and 0 objects" "$tmp/run.err"; then
    pass "(c) the service's output and status are a plain run's; nothing leaked"
else
    fail "(c) service: '$word $status', plain run '$plain', report: $(cat "$tmp/run.err")"
fi

# ------------------------------------------------------------------- (d)
sleep 60 &
sleeper=$!
status=0
"$leakcheck" dump "$sleeper" >"$tmp/d.out" 2>&1 || status=$?
if [ "$status" -eq 1 ] && grep -q "not started with LEAKCHECK_DUMP_SIGNAL" "$tmp/d.out" &&
    kill -0 "$sleeper" 2>/dev/null; then
    pass "(d) no LEAKCHECK_DUMP_SIGNAL: exit 1, not signalled"
else
    fail "(d) exit $status: $(cat "$tmp/d.out")"
fi
kill "$sleeper" 2>/dev/null || true
wait "$sleeper" 2>/dev/null || true

# ------------------------------------------------------------------- (e)
for args in "" "0" "12x" "1 2" "--timeout=0 1"; do
    status=0
    # shellcheck disable=SC2086
    "$leakcheck" dump $args >"$tmp/e.out" 2>&1 || status=$?
    if [ "$status" -eq 2 ] && [ "$(wc -l <"$tmp/e.out")" -eq 1 ]; then
        pass "(e) 'leakcheck dump $args': usage error"
    else
        fail "(e) 'leakcheck dump $args': exit $status: $(cat "$tmp/e.out")"
    fi
done

# ------------------------------------------------------------------- (f)
status=0
out_f=$(LEAKCHECK_DUMP_SIGNAL=KILL LD_PRELOAD="$(dirname "$leakcheck")/libleakcheck.so" \
    sh -c 'echo program; exit 3' 2>"$tmp/f.err") || status=$?
if [ "$status" -eq 3 ] && [ "$out_f" = program ] && [ "$(wc -l <"$tmp/f.err")" -eq 1 ] &&
    grep -q "LEAKCHECK_DUMP_SIGNAL: 'KILL' is not a signal" "$tmp/f.err"; then
    pass "(f) LEAKCHECK_DUMP_SIGNAL=KILL: $(cat "$tmp/f.err")"
else
    fail "(f) exit $status, output '$out_f', stderr: $(cat "$tmp/f.err")"
fi

if [ "$failures" -ne 0 ]; then
    echo "cli_dump.sh: $failures failure(s)"
    exit 1
fi
echo "cli_dump.sh: all passed"
