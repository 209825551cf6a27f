#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_scenarios.sh: the command line of the scenario runner.
#
#   bash tests/cli_scenarios.sh build/leakcheck     (from the repository root)
#
# `scenarios list` names the seven patterns; `scenarios run` with two jobs
# meets every expectation (fourteen "ok" rows) within the ten seconds the
# issue allows; TAP and JSON outputs are well-formed; an unknown scenario
# name, option or format is a one-line error with exit status 2 and runs
# nothing.
set -uo pipefail

tool=${1:-build/leakcheck}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ -x "$tool" ] || fail "no executable $tool (run make first)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Run the tool; its status, stdout and stderr land in $status, $work/out
# and $work/err.
run() {
  "$tool" "$@" >"$work/out" 2>"$work/err"
  status=$?
}

lines() { # file
  grep -c '' "$1"
}

# ------------------------------------------------------------ list

run scenarios list
[ "$status" -eq 0 ] || fail "scenarios list exited $status: $(cat "$work/err")"
[ "$(lines "$work/out")" -eq 7 ] || fail "scenarios list printed $(lines "$work/out") lines, expected 7:
$(cat "$work/out")"
for name in map-chan-thread chan-waitgroup-thread closure-captures-map self-registration \
  delete-no-shrink cleanup-never-runs blocked-channel; do
  grep -qE "^$name +[^ ]" "$work/out" || fail "scenarios list lacks $name with its description"
done
echo "ok: scenarios list names the 7 scenarios"

# ------------------------------------------------------------ usage errors

# A usage error: exit 2, nothing on stdout, one line on stderr containing $1.
expect_usage_error() { # needle, args...
  local needle=$1
  shift
  run "$@"
  [ "$status" -eq 2 ] || fail "'$*' exited $status, expected 2"
  [ ! -s "$work/out" ] || fail "'$*' printed on stdout: $(cat "$work/out")"
  [ "$(lines "$work/err")" -eq 1 ] || fail "'$*' printed $(lines "$work/err") error lines:
$(cat "$work/err")"
  grep -qF -- "$needle" "$work/err" || fail "'$*': the error does not name '$needle': $(cat "$work/err")"
}

expect_usage_error "no-such-name" scenarios run no-such-name
expect_usage_error "no-such-name" scenarios run map-chan-thread no-such-name
expect_usage_error "--no-such-option" scenarios run --no-such-option
expect_usage_error "yaml" scenarios run --format yaml
expect_usage_error "--jobs" scenarios run --jobs 0
expect_usage_error "--timeout" scenarios run --timeout soon
expect_usage_error "frobnicate" scenarios frobnicate
echo "ok: unknown names, options, formats and values are one-line errors with exit 2"

run scenarios --help
[ "$status" -eq 0 ] || fail "scenarios --help exited $status"
grep -q -- "--wait-for-tracer" "$work/out" || fail "scenarios --help does not list its options"
echo "ok: scenarios --help"

# ------------------------------------------------------------ the suite

start=$(date +%s.%N)
run scenarios run --jobs 2
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
[ "$status" -eq 0 ] || fail "scenarios run --jobs 2 exited $status:
$(cat "$work/out" "$work/err")"
rows=$(grep -cE '^[a-z-]+ +(leaky|fixed) +(leak|clean) .*  ok$' "$work/out")
[ "$rows" -eq 14 ] || fail "$rows rows with ok, expected 14:
$(cat "$work/out")"
grep -q '^14 variants, 0 expectations not met$' "$work/out" || fail "no summary line:
$(cat "$work/out")"
# Two jobs run variants side by side: the suite takes less than the sum of
# its variants' own times (each row's time column). A bound in seconds
# would hold only on an idle machine; this ratio holds however busy it is,
# as a loaded machine stretches both sides alike.
sum=$(grep -E ' (leaky|fixed) ' "$work/out" | grep -oE ' [0-9]+\.[0-9]+s ' | tr -d ' s' |
  awk '{ t += $1 } END { printf "%.2f", t }')
awk -v t="$elapsed" -v sum="$sum" 'BEGIN { exit !(t < 0.9 * sum) }' ||
  fail "the suite took $elapsed s with --jobs 2, its variants $sum s together: not side by side"
echo "ok: scenarios run --jobs 2: 14 rows ok in $elapsed s (variants $sum s together)"

# ------------------------------------------------------------ TAP

run scenarios run --jobs 2 --format tap
[ "$status" -eq 0 ] || fail "--format tap exited $status: $(cat "$work/err")"
[ "$(head -1 "$work/out")" = "1..14" ] || fail "TAP plan: $(head -1 "$work/out")"
tests=$(grep -vc '^#' "$work/out")
[ "$tests" -eq 15 ] || fail "TAP: $((tests - 1)) test lines, expected 14"
n=0
while IFS= read -r line; do
  case $line in
  '#'* | 1..14) continue ;;
  esac
  n=$((n + 1))
  [[ $line =~ ^ok\ $n\ -\ [a-z-]+\ (leaky|fixed):\ (leak|clean)$ ]] || fail "TAP line $n: $line"
done <"$work/out"
echo "ok: --format tap: plan 1..14 and 14 'ok' lines in order"

# ------------------------------------------------------------ JSON

run scenarios run --jobs 2 --format json
[ "$status" -eq 0 ] || fail "--format json exited $status: $(cat "$work/err")"
[ "$(lines "$work/out")" -eq 14 ] || fail "--format json printed $(lines "$work/out") lines, expected 14"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$work/out" ||
    fail "--format json is not one JSON object per line"
  python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    for field in ("scenario", "variant", "verdict", "schema", "budget", "threads", "heap"):
        assert field in r, "missing %s in %s" % (field, line[:120])
    assert r["schema"] == "leakcheck/1"
    assert r["verdict"] == ("leak" if r["variant"] == "leaky" else "clean"), line[:120]
    assert r["expectation_met"] is True, line[:120]
' <"$work/out" || fail "--format json lacks the report schema fields"
  echo "ok: --format json: 14 well-formed leakcheck/1 reports with scenario fields"
else
  echo "note: python3 not found; JSON counted, not parsed"
fi
