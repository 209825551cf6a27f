#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: the test runner behind `make check`.
#
#   run.sh [--jobs N] SEGMENT...
#
# Each SEGMENT adds jobs to one plan; the jobs run N at a time (default: the
# number of CPUs), longest kinds first, and each prints one progress line
# when it ends: ok or FAIL, its label and its wall time. A failing job's log
# tail follows its line.
#
#   native="PROG..."       every Check suite in fork mode and in no-fork mode
#   glibc="PROG..."        the same with glibc's malloc under the header store
#                          instead of the library's own allocator
#                          (LEAKCHECK_ALLOCATOR=glibc)
#   valgrind="PROG..."     the same under valgrind memcheck: the verdicts must
#                          not change, and memcheck must find no definite leak
#                          and no error in the library or the tests
#   tools                  the command-line tests (tests/cli_*.sh)
#   docs                   the outputs shown in README.md and docs/ are current
#                          (scripts/update-docs.sh --check)
#   asan="PROG..."         ASan builds in both fork modes (ASAN_RUN_OPTIONS)
#   asan-nofork="PROG..."  ASan builds in no-fork mode only
#   tsan-nofork="PROG..."  TSan builds in no-fork mode only
#
# The old forms `run.sh native PROG...`, `run.sh valgrind PROG...` and
# `run.sh tools` still work. Exit status: 0 when every job passed, 1 when any
# failed, 2 on a usage error.
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
labels=()
cmds=()

add() { # label, command...
  labels+=("$1")
  shift
  cmds+=("$(printf '%q ' "$@")")
}

# The recommended command line for suites using leakcheck (docs/ci.md):
# memcheck must replace libc's allocator, not leakcheck's interposers, and
# libunwind's address probes are not defects. Unlike the recommendation it
# keeps the forked children's own memcheck output: here an error of the
# library inside a child must show. memcheck's per-check leak searches are
# on (the valgrind engine's default) and print nothing. --fair-sched=yes:
# valgrind runs one thread at a time under a lock that is not fair by
# default, and a thread coming back from a blocking call (a test's waitpid
# while four threads allocate) waited 8 to 34 s for it, past the test's
# timeout on some runs and not on others.
vg=(valgrind -q --fair-sched=yes --soname-synonyms=somalloc=nouseroverride
  --suppressions=scripts/leakcheck.supp
  --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1)

plan_valgrind() {
  local prog
  for prog in "$@"; do
    # Suites that only make sense at native speed declare it in their name.
    case $prog in *_native_only) continue ;; esac
    add "$(basename "$prog") valgrind CK_FORK=no" \
      env CK_FORK=no CK_DEFAULT_TIMEOUT=120 "${vg[@]}" "$prog"
    add "$(basename "$prog") valgrind CK_FORK=yes" \
      env CK_FORK=yes CK_DEFAULT_TIMEOUT=120 "${vg[@]}" "$prog"
  done
}

plan_native() { # tag, fork modes, extra environment, progs...
  local tag=$1 fork=$2 extra=$3
  shift 3
  local prog mode
  for prog in "$@"; do
    for mode in $fork; do
      # shellcheck disable=SC2086
      add "$(basename "$prog")${tag:+ $tag} CK_FORK=$mode" env CK_FORK="$mode" $extra "$prog"
    done
  done
}

plan_tools() {
  local t
  for t in tests/cli_*.sh; do
    [ -e "$t" ] || continue
    add "$(basename "$t")" bash "$t" build/leakcheck
  done
}

usage() {
  echo "run.sh: $1 (see the head of tests/run.sh)" >&2
  exit 2
}

# The old positional forms.
case ${1:-} in
native | valgrind)
  m=$1
  shift
  set -- "$m=$*"
  ;;
esac

# Valgrind jobs are the longest: planned first so that the pool ends evenly.
valgrind_segs=()
other_segs=()
while [ $# -gt 0 ]; do
  case $1 in
  --jobs) jobs=${2:-}; shift ;;
  --jobs=*) jobs=${1#--jobs=} ;;
  valgrind=*) valgrind_segs+=("$1") ;;
  native=* | glibc=* | tools | docs | asan=* | asan-nofork=* | tsan-nofork=*) other_segs+=("$1") ;;
  *) usage "unknown segment '$1'" ;;
  esac
  shift
done
case $jobs in '' | *[!0-9]* | 0) usage "--jobs wants a positive number, not '$jobs'" ;; esac

for seg in "${valgrind_segs[@]}" "${other_segs[@]}"; do
  name=${seg%%=*}
  # shellcheck disable=SC2206
  progs=(${seg#*=})
  case $name in
  valgrind) plan_valgrind "${progs[@]}" ;;
  native) plan_native "" "yes no" "" "${progs[@]}" ;;
  glibc) plan_native glibc "yes no" "LEAKCHECK_ALLOCATOR=glibc" "${progs[@]}" ;;
  tools) plan_tools ;;
  docs) add "docs are current" bash scripts/update-docs.sh --check ;;
  asan) plan_native asan "yes no" "ASAN_OPTIONS=${ASAN_RUN_OPTIONS:-}" "${progs[@]}" ;;
  asan-nofork) plan_native asan "no" "ASAN_OPTIONS=${ASAN_RUN_OPTIONS:-}" "${progs[@]}" ;;
  tsan-nofork) plan_native tsan "no" "" "${progs[@]}" ;;
  esac
done

[ ${#labels[@]} -eq 0 ] && usage "nothing to run"

work=$(mktemp -d "${TMPDIR:-/tmp}/lc-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM

run_job() { # index
  local i=$1 start end status
  start=$(date +%s)
  bash -c "${cmds[$i]}" >"$work/$i.log" 2>&1
  status=$?
  end=$(date +%s)
  {
    flock 9
    if [ $status -eq 0 ]; then
      printf '  ok    %-44s %4ss\n' "${labels[$i]}" $((end - start))
    else
      printf '  FAIL  %-44s %4ss (status %d)\n' "${labels[$i]}" $((end - start)) $status
      # Check's failure lines first (valgrind's output can bury them), then
      # the end of the log.
      grep -E '^[^ ]+:[0-9]+:[FE]:' "$work/$i.log" | head -20 | sed 's/^/        /'
      sed 's/^/        /' "$work/$i.log" | tail -40
      echo "$i" >"$work/$i.failed"
    fi
  } 9>"$work/lock"
}

echo "== ${#labels[@]} test jobs, $jobs at a time"
begin=$(date +%s)
for i in "${!labels[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_job "$i" &
done
wait

failed=()
for i in "${!labels[@]}"; do
  [ -e "$work/$i.failed" ] && failed+=("${labels[$i]}")
done
elapsed=$(($(date +%s) - begin))
if [ ${#failed[@]} -ne 0 ]; then
  echo "${#failed[@]} of ${#labels[@]} failed in ${elapsed}s:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "all ${#labels[@]} passed in ${elapsed}s"
