#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# realprogs.sh: `leakcheck run` on real programs of the system, compared with
# the plain run. Not part of `make check`: which programs are installed, and
# what they leak, varies from one machine to the next.
#
# For each program found, every step runs three times, each in a directory
# of its own holding the same inputs: plain, under `leakcheck run` (text
# report on stderr) and under `leakcheck run --format json --output FILE`.
# A row of the table says whether stdout is byte-identical to the plain
# run's, the three exit statuses (the checked ones may differ only by the
# supervisor's 23 when the started process leaks), whether a report came
# (on stderr in text; a valid JSON document in the file), the wall time of
# the plain and the checked run, and the verdict of the JSON report. The
# status of the script is 1 when a row differs in stdout, in status, or has
# no report.
#
# usage: bash tests/realprogs.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
  echo "realprogs.sh: $leakcheck is not an executable (build it first)" >&2
  exit 1
}
command -v jq >/dev/null || {
  echo "realprogs.sh: jq is needed to read the JSON reports" >&2
  exit 1
}
w=$(mktemp -d "${TMPDIR:-/tmp}/realprogs.XXXXXX")
trap 'rm -rf "$w"' EXIT INT TERM

# ------------------------------------------------------------ the inputs
in=$w/in
mkdir -p "$in/tree/src/sub" "$in/tree/doc"
for i in $(seq 40); do
  printf 'int f%d(int x) { return x * %d; }\n' "$i" "$i" >"$in/tree/src/f$i.c"
  printf 'note %d\n' "$i" >"$in/tree/doc/n$i.txt"
done
printf 'deep\n' >"$in/tree/src/sub/deep.h"
touch -d '2024-01-01 00:00:00' $(find "$in/tree")
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "line %d alpha%d beta%d\n", (i * 7919) % 20000, i % 97, i % 13 }' >"$in/words.txt"
# 20 MB of lines in no order, for sort --parallel.
awk 'BEGIN { srand(7); for (i = 0; i < 700000; i++) printf "%08d %s\n", int(rand() * 1e8), "payload-text-xxxxxx" }' >"$in/big.txt"
cat >"$in/hello.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    char *s = malloc(16);
    snprintf(s, 16, "hello");
    puts(s);
    free(s);
    return 0;
}
C
printf 'digraph g { a -> b; b -> c; a -> c [label="x"]; }\n' >"$in/g.dot"
printf '{"a": [1, 2, 3], "b": {"c": "d"}}\n' >"$in/data.json"
for mode in plain text json; do mkdir -p "$w/$mode"; done

# ------------------------------------------------------------ one step
rows=()
bad=0
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# trial NAME CMD...: the step in the three modes, in $w/MODE as cwd.
trial() {
  local name=$1
  shift
  local t ps ts js pms tms
  t=$(date +%s%N)
  (cd "$w/plain" && exec "$@" >"$w/$name.plain.out" 2>"$w/$name.plain.err" </dev/null)
  ps=$?
  pms=$(ms_since "$t")
  t=$(date +%s%N)
  (cd "$w/text" && exec timeout -k 5 600 "$leakcheck" run -- "$@" >"$w/$name.text.out" 2>"$w/$name.text.err" </dev/null)
  ts=$?
  tms=$(ms_since "$t")
  (cd "$w/json" && exec timeout -k 5 600 "$leakcheck" run --format json --output "$w/$name.json" -- "$@" \
    >"$w/$name.json.out" 2>"$w/$name.json.err" </dev/null)
  js=$?
  local same=yes report=yes verdict status_ok=yes
  cmp -s "$w/$name.plain.out" "$w/$name.text.out" || same=no-text
  cmp -s "$w/$name.plain.out" "$w/$name.json.out" || same=${same/yes/}${same:+ }no-json
  grep -q '^leakcheck: ' "$w/$name.text.err" || report=no-text
  jq -e . "$w/$name.json" >/dev/null 2>&1 || report=${report/yes/}${report:+ }no-json
  for s in $ts $js; do
    [ "$s" -eq "$ps" ] || { [ "$ps" -eq 0 ] && [ "$s" -eq 23 ]; } || status_ok=no
  done
  verdict=$(jq -r 'if .processes then
      "\((.processes | length) + (.unchecked | length)) procs, \([.processes[] | select(.verdict != "clean")] | length) leak, \(.unchecked | length) unchecked"
    else "\(.verdict) \(.heap.unreachable_bytes) B lost" end' "$w/$name.json" 2>/dev/null || echo "-")
  [ "$same" = yes ] && [ "$report" = yes ] && [ $status_ok = yes ] || bad=$((bad + 1))
  rows+=("$(printf '%-22s %-11s %-8s %-8s %7s %7s  %s' "$name" "$ps/$ts/$js" "$same" "$report" \
    "$pms" "$tms" "$verdict")")
}

have() { command -v "$1" >/dev/null; }

# ------------------------------------------------------------ the programs
have ls && trial ls ls -lR "$in/tree"
have sort && trial sort sort "$in/words.txt"
have sort && trial sort-parallel sort --parallel=2 -S 8M "$in/big.txt"
have cat && trial cat cat "$in/words.txt"
have sed && trial sed sed -e 's/alpha/ALPHA/g' "$in/words.txt"
have grep && trial grep grep -c -E 'alpha(1|2)7' "$in/words.txt"
have grep && trial grep-nomatch grep nosuchword "$in/words.txt"
have find && trial find find "$in/tree" -name '*.c' -newer "$in/words.txt" -o -name '*.h' -print
if have tar; then
  trial tar-create tar -C "$in" -cvf tree.tar tree
  for mode in plain text json; do mkdir -p "$w/$mode/x"; done
  trial tar-extract tar -xvf tree.tar -C x
  have gzip && trial tar-czf tar -C "$in" -czf tree.tgz tree
fi
have gzip && trial gzip gzip -c -n "$in/words.txt"
have gzip && gzip -c -n "$in/words.txt" >"$in/words.gz" && trial gunzip gzip -dc "$in/words.gz"
have xz && trial xz xz -c -T2 "$in/words.txt"
have xz && xz -c "$in/words.txt" >"$in/words.xz" && trial unxz xz -dc "$in/words.xz"
have zstd && trial zstd zstd -q -c -T2 "$in/words.txt"
have pigz && trial pigz pigz -c -n -p 2 "$in/big.txt"
if have git; then
  export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.org GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' \
    GIT_COMMITTER_DATE='2024-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$w
  for mode in plain text json; do cp -a "$in/tree" "$w/$mode/repo"; done
  trial git-init git init -q -b main repo
  trial git-add git -C repo add .
  trial git-commit git -C repo commit -q -m first
  trial git-log git -C repo log --stat
  trial git-grep git -C repo grep -n 'x \* 3'
fi
have curl && trial curl-file curl -s "file://$in/words.txt"
have curl && trial curl-version curl --version
have openssl && trial openssl-dgst openssl dgst -sha256 "$in/words.txt"
have openssl && trial openssl-enc openssl enc -aes-256-cbc -K "$(printf '%064d' 7)" -iv "$(printf '%032d' 3)" -in "$in/words.txt"
have sqlite3 && trial sqlite3 sqlite3 db.sqlite 'create table t(a, b); insert into t values (1, "x"), (2, "y"); create index i on t(b); select sum(a), group_concat(b) from t;'
have rsync && trial rsync rsync -ai "$in/tree/" copy/
have perl && trial perl perl -e 'my %h; $h{$_} = [1 .. 10] for 1 .. 20000; print scalar(keys %h), "\n"'
# The system's python3, not a version manager's shim (a shell script) before it.
python3=python3
[ -x /usr/bin/python3 ] && python3=/usr/bin/python3
have python3 && trial python3 "$python3" -c 'x = [str(i) * 10 for i in range(200000)]; d = {i: i for i in range(50000)}; print(len(x), len(d))'
if have gcc; then
  trial gcc gcc -O1 -o hello "$in/hello.c"
  # The executable each gcc produced: missing, it would be status 127.
  trial gcc-output ./hello
fi
have dot && trial dot dot -Tsvg "$in/g.dot"
have jq && trial jq jq -c '.a | map(. * 2)' "$in/data.json"

printf '%-22s %-11s %-8s %-8s %7s %7s  %s\n' program 'status p/t/j' stdout report 'plain' 'checked' 'verdict (json)'
printf '%-22s %-11s %-8s %-8s %7s %7s\n' '' '' '' '' ms ms
printf '%s\n' "${rows[@]}"
if [ $bad -ne 0 ]; then
  echo "realprogs.sh: $bad of ${#rows[@]} differ (kept in $w)"
  trap - EXIT
  exit 1
fi
echo "realprogs.sh: ${#rows[@]} steps, stdout and status as plain, a report each"
