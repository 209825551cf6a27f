#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# stress.sh: the suites that involve threads or timing, run again and again
# on a machine kept busy, to show that no verdict depends on an idle machine.
#
#   tests/stress.sh        (make stress builds what it needs first)
#   STRESS_RUNS=N          runs of each suite (default 10)
#
# Two busy loops keep both cores of a 2-core machine busy for the whole run;
# they are killed when the script ends, however it ends. Each suite runs
# STRESS_RUNS times with Check's log (CK_LOG_FILE_NAME), one verdict line per test;
# a command-line test counts as one test. The script reports every test
# whose verdict changed between runs and every test that failed, and exits
# 1 if there is any, 0 when every run of every test passed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${STRESS_RUNS:-10}
case $runs in
'' | *[!0-9]* | 0)
  echo "stress.sh: STRESS_RUNS must be a positive integer, not '$runs'" >&2
  exit 2
  ;;
esac

hogs=()
vg_suite=
work=$(mktemp -d)
cleanup() {
  if [ -n "$vg_suite" ]; then
    pkill -P "$vg_suite" 2>/dev/null
    kill "$vg_suite" 2>/dev/null
  fi
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
for _ in 1 2; do
  (while :; do :; done) &
  hogs+=($!)
done

# The command line of tests/run.sh's valgrind mode.
vg=(valgrind -q --fair-sched=yes --soname-synonyms=somalloc=nouseroverride
    --suppressions=scripts/leakcheck.supp
    --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1)

# suite LABEL COMMAND...: one suite, run STRESS_RUNS times; each run's
# verdicts land in $work/KEY.RUN, one "TEST passed|FAILED" line per test.
suite() {
  local label=$1
  shift
  local key=${label//[^A-Za-z0-9_]/_}
  local i start log rc
  for i in $(seq "$runs"); do
    log=$work/$key.log
    rm -f "$work/$key.check"
    start=$SECONDS
    if [ -n "${WHOLE_RUN:-}" ]; then
      "$@" >"$log" 2>&1
    else
      CK_LOG_FILE_NAME=$work/$key.check "$@" >"$log" 2>&1
    fi
    rc=$?
    # Check's log: FILE:LINE:RESULT:TCASE:TEST:ITERATION:MESSAGE per test.
    cat "$work/$key.check" 2>/dev/null |
      grep -aE '^[^:]+:[0-9]+:[PFE]:[^:]+:[^:]+:[0-9]+:' |
      awk -F: '{ t = $4 "/" $5 "#" $6; gsub(/ /, "_", t); print t, ($3 == "P" ? "passed" : "FAILED") }' \
        >"$work/$key.$i"
    if [ ! -s "$work/$key.$i" ]; then
      # A command-line test, a suite judged as a whole, or one that died
      # before any verdict: the run's status, and the tests it printed as
      # failed.
      echo "(whole-run) $([ "$rc" -eq 0 ] && echo passed || echo "FAILED")" >"$work/$key.$i"
      grep -aE '^[^:]+:[0-9]+:[FE]:[^:]+:[^:]+:[0-9]+:' "$log" |
        awk -F: '{ t = $4 "/" $5 "#" $6; gsub(/ /, "_", t); print t, "FAILED" }' >>"$work/$key.$i"
    elif [ "$rc" -ne 0 ] && ! grep -q ' FAILED$' "$work/$key.$i"; then
      # Every test passed, yet the run failed: a memcheck error, a crash.
      echo "(exit-status) FAILED" >>"$work/$key.$i"
    fi
    if grep -q ' FAILED$' "$work/$key.$i"; then
      cp "$log" "$work/$key.failed.$i"
    fi
    printf '  %-40s run %2d/%d  %3d s  %s\n' "$label" "$i" "$runs" $((SECONDS - start)) \
      "$(awk '{ n[$2]++ } END { printf "%d passed, %d failed", n["passed"], n["FAILED"] }' "$work/$key.$i")"
  done
}

began=$SECONDS
echo "== stress: $runs runs of each suite, two busy loops running ($(nproc) cores)"
# The valgrind suite, the slowest by far, runs alongside the others: more
# load still, and the whole takes about as long as it alone.
vg_label="test_scenarios valgrind CK_FORK=yes"
suite "$vg_label" env CK_FORK=yes CK_DEFAULT_TIMEOUT=120 "${vg[@]}" build/tests/test_scenarios &
vg_suite=$!
suites=("$vg_label")
for mode in yes no; do
  for prog in test_threads test_scenarios test_suppress test_toolkit; do
    suites+=("$prog CK_FORK=$mode")
    suite "$prog CK_FORK=$mode" env CK_FORK=$mode build/tests/$prog
  done
  # test_heap runs a Check suite of its own inside, which writes the same
  # log: it is judged as a whole, with the tests it prints as failed.
  suites+=("test_heap CK_FORK=$mode")
  WHOLE_RUN=1 suite "test_heap CK_FORK=$mode" env CK_FORK=$mode build/tests/test_heap
done
suites+=("test_threads TSan CK_FORK=no")
suite "test_threads TSan CK_FORK=no" env CK_FORK=no build-tsan/tests/test_threads
for cli in cli_scenarios.sh cli_suppress.sh; do
  suites+=("$cli")
  suite "$cli" bash "tests/$cli" build/leakcheck
done
wait "$vg_suite"

echo "== verdicts"
bad=0
for label in "${suites[@]}"; do
  key=${label//[^A-Za-z0-9_]/_}
  if ! ls "$work/$key".[0-9]* >/dev/null 2>&1; then
    bad=1
    printf '  FAIL  %s: no run recorded\n' "$label"
    continue
  fi
  # TEST VERDICT per line over all runs -> one line per test that did not
  # pass in every run: its verdicts and how many runs gave each.
  report=$(cat "$work/$key".[0-9]* | awk -v runs="$runs" '
    { seen[$1]++; n[$1, $2]++; tests[$1] = 1 }
    END {
      for (t in tests) {
        if (n[t, "passed"] == runs && seen[t] == runs) continue
        line = t ":"
        if (n[t, "passed"]) line = line " passed " n[t, "passed"] "x"
        if (n[t, "FAILED"]) line = line " FAILED " n[t, "FAILED"] "x"
        if (seen[t] < runs) line = line " missing " (runs - seen[t]) "x"
        print line
      }
    }' | sort)
  if [ -z "$report" ]; then
    printf '  ok    %s: %d tests, the same verdict in %d runs\n' "$label" \
      "$(cat "$work/$key".[0-9]* | awk '{ print $1 }' | sort -u | wc -l)" "$runs"
    continue
  fi
  bad=1
  printf '  FAIL  %s: verdicts changed or failed:\n' "$label"
  sed 's/^/          /' <<<"$report"
  for f in "$work/$key".failed.*; do
    [ -e "$f" ] || continue
    echo "        output of the first failed run (${f##*.}):"
    grep -vE '^[^:]+:[0-9]+:P:' "$f" | tail -40 | sed 's/^/          /'
    break
  done
done
echo "== stress: $((SECONDS - began)) s"
exit $bad
