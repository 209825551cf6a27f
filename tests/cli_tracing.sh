#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_tracing.sh: scenarios/leaks.bt lists what a running scenario leaves.
#
#   bash tests/cli_tracing.sh build/leakcheck     (from the repository root)
#
# The toolkit's USDT probes must be in the binary, whatever the machine. When
# bpftrace can attach uprobes here (root, a kernel with BPF and uprobes), each
# variant of two scenarios runs with --wait-for-tracer and leaks.bt is
# attached to its child: the leaky self-registration must show its eight job
# keys never deleted and their eight control channels never closed, the
# leaky map-chan-thread its four tenant inboxes never closed (their keys were
# deleted), and both fixed variants nothing at all. Otherwise the test says
# why it skipped and passes.
set -uo pipefail

tool=${1:-build/leakcheck}
script=scenarios/leaks.bt
probes=(map_insert map_delete chan_make chan_close chan_send chan_recv chan_free)

# shellcheck source=tests/usdt.sh
. "$(dirname "$0")/usdt.sh"

[ -x "$tool" ] || fail "no executable $tool (run make first)"
[ -f "$script" ] || fail "no $script"

# ------------------------------------------------ the probes in the binary

expect_probes "$tool" leakcheck_toolkit "${probes[@]}"

# ------------------------------------------------ can bpftrace trace here?

expect_bpftrace "$tool" leakcheck_toolkit chan_make

# ------------------------------------------------ tracing the scenarios

work=$(mktemp -d)
runner=
cleanup() {
  [ -n "$runner" ] && kill "$runner" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The pid of the child running variant $2 of scenario $1, from the runner's
# stderr: the child announces it before it waits for a tracer.
child_pid() {
  local line="$1 ($2) runs in pid"
  for _ in $(seq 200); do
    pid=$(grep -F "$line" "$work/$1.err" | grep -o 'runs in pid [0-9]*' | grep -o '[0-9]*$')
    [ -n "$pid" ] && {
      echo "$pid"
      return 0
    }
    sleep 0.1
  done
  return 1
}

# Run scenario $1 with leaks.bt attached to each of its children; the traces
# land in $work/$1.leaky and $work/$1.fixed.
trace_scenario() {
  local name=$1 variant pid
  "$tool" scenarios run --wait-for-tracer 30 "$name" >"$work/$name.out" 2>"$work/$name.err" &
  runner=$!
  for variant in leaky fixed; do
    pid=$(child_pid "$name" "$variant") || fail "$name ($variant) never announced its pid:
$(cat "$work/$name.err")"
    # bpftrace ends when the traced child exits, and prints the lists then.
    timeout 90 bpftrace -p "$pid" "$script" >"$work/$name.$variant" 2>"$work/$name.$variant.err" ||
      fail "bpftrace on $name ($variant) failed: $(grep -m3 ERROR "$work/$name.$variant.err")"
    grep -q '== map keys inserted and never deleted' "$work/$name.$variant" ||
      fail "leaks.bt printed no lists for $name ($variant):
$(cat "$work/$name.$variant" "$work/$name.$variant.err")"
  done
  wait "$runner" || fail "scenarios run $name failed under tracing:
$(cat "$work/$name.out" "$work/$name.err")"
  runner=
}

count() { # pattern, file
  grep -cE "$1" "$2"
}

expect_count() { # what, pattern, file, expected
  local n
  n=$(count "$2" "$3")
  [ "$n" -eq "$4" ] || fail "$1: $n, expected $4, in:
$(cat "$3")"
}

never_deleted='^@never_deleted\['
never_closed='^@never_closed\['

trace_scenario self-registration
for job in 0 1 2 3 4 5 6 7; do
  grep -qE "^@never_deleted\[[0-9]+, job-$job\]" "$work/self-registration.leaky" ||
    fail "self-registration (leaky): key job-$job not listed as never deleted:
$(cat "$work/self-registration.leaky")"
done
expect_count "self-registration (leaky): keys never deleted" "$never_deleted" \
  "$work/self-registration.leaky" 8
expect_count "self-registration (leaky): control channels (capacity 1) never closed" \
  '^@never_closed\[[0-9]+, 1\]' "$work/self-registration.leaky" 8
expect_count "self-registration (fixed): keys never deleted" "$never_deleted" \
  "$work/self-registration.fixed" 0
expect_count "self-registration (fixed): channels never closed" "$never_closed" \
  "$work/self-registration.fixed" 0
echo "ok: self-registration: the leaky jobs' keys and channels listed, the fixed ones not"

trace_scenario map-chan-thread
expect_count "map-chan-thread (leaky): inboxes (capacity 8) never closed" \
  '^@never_closed\[[0-9]+, 8\]' "$work/map-chan-thread.leaky" 4
expect_count "map-chan-thread (leaky): channels never closed" "$never_closed" \
  "$work/map-chan-thread.leaky" 4
expect_count "map-chan-thread (leaky): keys never deleted" "$never_deleted" \
  "$work/map-chan-thread.leaky" 0
expect_count "map-chan-thread (fixed): channels never closed" "$never_closed" \
  "$work/map-chan-thread.fixed" 0
expect_count "map-chan-thread (fixed): keys never deleted" "$never_deleted" \
  "$work/map-chan-thread.fixed" 0
echo "ok: map-chan-thread: the leaky inboxes listed as never closed, the fixed ones not"
