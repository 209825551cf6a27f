#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_timeline.sh: the library's USDT probes and scenarios/timeline.bt.
#
#   bash tests/cli_timeline.sh build/leakcheck     (from the repository root)
#
# The probes must be in libleakcheck.so whatever the machine. When bpftrace
# can attach uprobes here (root, a kernel with BPF and uprobes),
# timeline.bt is attached to tests/timeline_prog.c before it runs its check,
# and the timeline must show, in the order they must happen: the baseline;
# a worker's start and end (it is joined before the check); the check's
# start; the watched "session" still live; the verdict, a leak of one block
# of 48 bytes and one thread; the parked worker's end after the verdict.
# Otherwise the test says why it skipped and passes.
set -uo pipefail

tool=${1:-build/leakcheck}
build=$(cd "$(dirname "$tool")" && pwd)
lib=$build/libleakcheck.so
script=scenarios/timeline.bt
probes=(baseline thread_start thread_end check_begin watch_hit verdict)

# shellcheck source=tests/usdt.sh
. "$(dirname "$0")/usdt.sh"

[ -f "$lib" ] || fail "no $lib (run make first)"
[ -f "$script" ] || fail "no $script"

# ------------------------------------------------ the probes in the library

expect_probes "$lib" leakcheck "${probes[@]}"

# ------------------------------------------------ can bpftrace trace here?

expect_bpftrace "$lib" leakcheck baseline

# ------------------------------------------------ the timeline of a check

work=$(mktemp -d)
tracer=
cleanup() {
  [ -n "$tracer" ] && kill "$tracer" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cc -g -O0 -Iinclude -Itests tests/timeline_prog.c -L"$build" -lleakcheck -Wl,-rpath,"$build" \
  -pthread -o "$work/prog" || fail "cannot build tests/timeline_prog.c"
coproc PROG { LEAKCHECK_SETTLE=0.1 "$work/prog"; }
read -r word pid <&"${PROG[0]}"
[ "$word" = ready ] || fail "the program did not start: '$word $pid'"
timeout 120 bpftrace -p "$pid" "$script" >"$work/timeline" 2>"$work/bpftrace.err" &
tracer=$!
for _ in $(seq 300); do
  grep -q ' event ' "$work/timeline" 2>/dev/null && break
  sleep 0.1
done
grep -q ' event ' "$work/timeline" || fail "timeline.bt did not start: $(cat "$work/bpftrace.err")"
echo go >&"${PROG[1]}"
read -r word verdict <&"${PROG[0]}"
[ "$word $verdict" = "done 1" ] || fail "the program's check gave '$word $verdict', want 'done 1'"
wait "$tracer"
tracer=

# The line number of the first line matching $1 (0 when none).
at() {
  local n
  n=$(grep -n -m1 -E "$1" "$work/timeline" | cut -d: -f1)
  echo "${n:-0}"
}
baseline=$(at ' baseline +blocks from #[0-9]+ on are new')
quick_start=$(at ' thread_start +thread [0-9]+ runs returns_at_once')
quick_tid=$(grep -m1 -oE 'thread [0-9]+ runs returns_at_once' "$work/timeline" | cut -d' ' -f2)
quick_end=$(at " thread_end +thread ${quick_tid:-x} is done")
check=$(at ' check_begin +blocks from #[0-9]+ on count')
watch=$(at ' watch_hit +"session" is still live')
verdict=$(at ' verdict +leak: 1 objects \(48 B\), 1 threads')
parked_tid=$(grep -m1 -oE 'thread [0-9]+ runs parked' "$work/timeline" | cut -d' ' -f2)
parked_end=$(at " thread_end +thread ${parked_tid:-x} is done")
show="$(cat "$work/timeline")"
for v in baseline quick_start quick_end check watch verdict parked_end; do
  [ "${!v}" -gt 0 ] || fail "no $v line in the timeline:
$show"
done
[ "$baseline" -lt "$quick_start" ] && [ "$quick_start" -lt "$quick_end" ] &&
  [ "$quick_end" -lt "$check" ] && [ "$check" -lt "$watch" ] && [ "$watch" -lt "$verdict" ] &&
  [ "$verdict" -lt "$parked_end" ] || fail "the timeline is out of order:
$show"
echo "ok: timeline.bt: baseline, a joined worker, the check, the watched block, the verdict, the parked worker's end, in order"
