#!/usr/bin/env bash
# run.sh: the test runner behind `make check`.
#
#   run.sh native PROG...    every Check suite in fork mode and in no-fork mode
#   run.sh valgrind PROG...  the same under valgrind memcheck: the verdicts must
#                            not change, and memcheck must find no definite leak
#                            and no error in the library or the tests
#   run.sh tools             the command-line tests (tests/cli_*.sh)
set -uo pipefail
cd "$(dirname "$0")/.."

mode=$1
shift
failed=()

run_one() { # label, command...
  local label=$1
  shift
  local log
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    printf '  ok    %s\n' "$label"
  else
    printf '  FAIL  %s\n' "$label"
    sed 's/^/        /' "$log" | tail -60
    failed+=("$label")
  fi
  rm -f "$log"
}

case $mode in
native)
  echo "== tests (Check fork mode and no-fork mode)"
  for prog in "$@"; do
    run_one "$(basename "$prog") CK_FORK=yes" env CK_FORK=yes "$prog"
    run_one "$(basename "$prog") CK_FORK=no" env CK_FORK=no "$prog"
  done
  ;;
valgrind)
  echo "== tests under valgrind memcheck (both fork modes)"
  # The recommended command line for suites using leakcheck (README, "CI
  # recipes"): memcheck must replace libc's allocator, not leakcheck's
  # interposers, and libunwind's address probes are not defects. Unlike the
  # recommendation it keeps the forked children's own memcheck output: here
  # an error of the library inside a child must show. memcheck's per-check
  # leak searches are on (the valgrind engine's default) and print nothing.
  vg=(valgrind -q --soname-synonyms=somalloc=nouseroverride
      --suppressions=scripts/leakcheck.supp
      --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1)
  for prog in "$@"; do
    # Suites that only make sense at native speed declare it in their name.
    case $prog in *_native_only) continue ;; esac
    run_one "$(basename "$prog") valgrind CK_FORK=no" \
      env CK_FORK=no CK_DEFAULT_TIMEOUT=120 "${vg[@]}" "$prog"
    run_one "$(basename "$prog") valgrind CK_FORK=yes" \
      env CK_FORK=yes CK_DEFAULT_TIMEOUT=120 "${vg[@]}" "$prog"
  done
  ;;
tools)
  echo "== command-line tests"
  for t in tests/cli_*.sh; do
    [ -e "$t" ] || continue
    run_one "$(basename "$t")" bash "$t" build/leakcheck
  done
  ;;
*)
  echo "run.sh: unknown mode '$mode' (want native, valgrind or tools)" >&2
  exit 2
  ;;
esac

if [ ${#failed[@]} -ne 0 ]; then
  echo "${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "all passed"
