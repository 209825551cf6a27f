#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_check_profiles.sh: `scenarios run --pprof DIR` leaves the before/after heap
# profiles of every failing check, and `leakcheck diff` of the pair names the
# leaking function first; a fixed variant leaves none; a bad directory is an error.
set -euo pipefail
lc=${1:-build/leakcheck}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$lc" scenarios run --pprof "$dir" delete-no-shrink >/dev/null
before=$(ls "$dir"/*.before.pb.gz)
after=$(ls "$dir"/*.after.pb.gz)
[ "$(echo "$before" | wc -l)" -eq 1 ] || { echo "want one before profile (the leaky variant only), got: $before"; exit 1; }
top=$("$lc" diff --top 1 "$before" "$after")
echo "$top" | grep -q "+524288 bytes" || { echo "diff does not show the 512 KiB bucket array:"; echo "$top"; exit 1; }
echo "$top" | grep -q "log_in" || { echo "diff does not name log_in:"; echo "$top"; exit 1; }

if "$lc" scenarios run --pprof "$dir/missing" delete-no-shrink 2>"$dir/err"; then
  echo "an unwritable --pprof directory was accepted"; exit 1
fi
[ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "missing" "$dir/err" || { echo "error not one line naming the directory:"; cat "$dir/err"; exit 1; }
echo "profiles of failing checks: ok"
