#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_shard.sh: `--shard K/N` and `leakcheck merge`, end to end.
#
# A run split in shards and merged must be the run unsplit: four shards of
# `scenarios run` (every scenario, in JSON and in JUnit) and four shards of
# a fault sweep, merged, give the same verdict for every variant or failure
# point, the same counts and the same exit status as one unsplit run; so do
# more shards than items (empty shards) and a sweep cut by --max. The fault
# fixture leaks on some error paths and crashes on one, and has a clean
# twin. Every bad input is one line on stderr naming the problem (and the
# file), with exit status 2.
#
# usage: bash tests/cli_shard.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_shard.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
structure=$(pwd)/tests/junit_structure.py

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_shard.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# same LABEL WANT GOT: the two texts are equal.
same() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1"
        diff <(echo "$2") <(echo "$3") | sed 's/^/    /'
    fi
}

# What must agree between a split run and the unsplit one, read from a
# JUnit file: every test case's outcome, type, class and name in order,
# and the suite's counts.
junit_view() {
    python3 "$structure" "$1" &&
        sed -n 's/.*<testsuite name="[^"]*" \(tests="[0-9]*" failures="[0-9]*" errors="[0-9]*"\).*/\1/p' "$1"
}

# The same from JSON lines: every variant's verdict and expectation, and
# the count of expectations not met.
json_view() {
    jq -c 'select(.scenario) | [.scenario, .variant, .verdict, .expectation_met]' "$1" &&
        jq -s '[.[] | select(.scenario) | select(.expectation_met | not)] | length' "$1"
}

# ------------------------------------------------------------ scenarios run

# run_split N FORMAT PREFIX [ARGS...]: the N shards of scenarios run into
# PREFIX1.out ... PREFIXN.out; their statuses are not the run's.
run_split() {
    local n=$1 format=$2 prefix=$3 k
    shift 3
    for k in $(seq 1 "$n"); do
        "$leakcheck" scenarios run -j2 --shard "$k/$n" --format "$format" "$@" \
            >"$prefix$k.out" 2>"$prefix$k.err"
    done
}

status=0
"$leakcheck" scenarios run -j2 --format json >whole.jsonl 2>/dev/null || status=$?
run_split 4 json sj
mstatus=0
"$leakcheck" merge sj1.out sj2.out sj3.out sj4.out >merged.jsonl 2>merge.err || mstatus=$?
same "scenarios run: four JSON shards merged give every variant's verdict as one run" \
    "$(json_view whole.jsonl)" "$(json_view merged.jsonl)"
same "scenarios run: the merged JSON exits as the unsplit run ($status)" "$status" "$mstatus"
want="{\"variants\":$(jq -s '[.[] | select(.scenario)] | length' whole.jsonl),\"kind\":\"merged\",\"shards\":4}"
same "scenarios run: the merged JSON ends with the whole run's counts" "$want" \
    "$(tail -n 1 merged.jsonl | jq -c '{variants, kind, shards}')"
got=$(for k in 1 2 3 4; do jq -s '[.[] | select(.scenario)] | length' "sj$k.out"; done | tr '\n' ' ')
same "scenarios run: 14 variants dealt to four shards in turn" "4 4 3 3 " "$got"

status=0
"$leakcheck" scenarios run -j2 --format junit >whole.xml 2>/dev/null || status=$?
run_split 4 junit sx
mstatus=0
"$leakcheck" merge sx1.out sx2.out sx3.out sx4.out >merged.xml 2>merge.err || mstatus=$?
same "scenarios run: four JUnit shards merged give every test case and count of one run" \
    "$(junit_view whole.xml)" "$(junit_view merged.xml)"
same "scenarios run: the merged JUnit exits as the unsplit run ($status)" "$status" "$mstatus"

# More shards than variants: the empty shards still say which they are.
names="delete-no-shrink self-registration"
"$leakcheck" scenarios run --format junit $names >few.xml 2>/dev/null
run_split 6 junit few $names
"$leakcheck" merge few1.out few2.out few3.out few4.out few5.out few6.out >fewm.xml 2>merge.err
same "scenarios run: six shards of four variants, two of them empty, merge as one run" \
    "$(junit_view few.xml)" "$(junit_view fewm.xml)"

# ------------------------------------------------------------ fault-sweep

# Five pairs of allocations: a failure of a pair's second allocation leaks
# its first (failure points 2, 4, 8 and 10), except in the third pair,
# where it crashes (point 6); FIXED=1 frees and never crashes. Scoped to
# make_pair, the sweep has 10 failure points and ends at the 11th.
cat >pairs.c <<'C'
#include <stdlib.h>
#include <string.h>
struct pair { char *a, *b; };
__attribute__((noinline)) static int make_pair(struct pair *p, int i) {
    p->a = malloc(16);
    if (!p->a) return -1;
    p->b = malloc(32);
    if (!p->b) {
        if (!FIXED && i == 2) memset(p->b, 0, 32); /* the crash */
        if (FIXED) free(p->a);
        return -1;
    }
    return 0;
}
int main(void) {
    struct pair p[5];
    int made = 0, rc = 0;
    while (made < 5 && make_pair(&p[made], made) == 0)
        made++;
    if (made < 5) rc = 1;
    while (made--) {
        free(p[made].a);
        free(p[made].b);
    }
    return rc;
}
C
cc -g -O0 -fno-omit-frame-pointer -DFIXED=0 -o leaky pairs.c || exit 1
cc -g -O0 -fno-omit-frame-pointer -DFIXED=1 -o fixed pairs.c || exit 1

# sweep_split N PREFIX PROGRAM [OPTIONS...]: the N shards of the sweep.
sweep_split() {
    local n=$1 prefix=$2 prog=$3 k
    shift 3
    for k in $(seq 1 "$n"); do
        "$leakcheck" fault-sweep --shard "$k/$n" --format junit --scope make_pair "$@" -- "$prog" \
            >"$prefix$k.out" 2>"$prefix$k.err"
    done
}

# check_sweep LABEL N PROGRAM [OPTIONS...]: N shards merged == unsplit.
check_sweep() {
    local label=$1 n=$2 prog=$3 status=0 mstatus=0 k files=()
    shift 3
    "$leakcheck" fault-sweep --format junit --scope make_pair "$@" -- "$prog" >sweep.xml 2>/dev/null ||
        status=$?
    sweep_split "$n" fs "$prog" "$@"
    for k in $(seq 1 "$n"); do files+=("fs$k.out"); done
    "$leakcheck" merge "${files[@]}" >sweepm.xml 2>merge.err || mstatus=$?
    same "fault-sweep: $label: every failure point and count as one sweep" \
        "$(junit_view sweep.xml)" "$(junit_view sweepm.xml)"
    same "fault-sweep: $label: exits as the unsplit sweep ($status)" "$status" "$mstatus"
}

check_sweep "four shards of a sweep that leaks and crashes" 4 ./leaky
if [ "$(grep -c '<failure' sweep.xml) $(grep -c '<error' sweep.xml)" = "4 1" ]; then
    pass "fault-sweep: the fixture leaks at four failure points and crashes at one"
else
    fail "fault-sweep: the fixture should leak at 4 points and crash at 1:"
    sed 's/^/    /' sweep.xml | head -40
fi
check_sweep "four shards of its clean twin" 4 ./fixed
check_sweep "sixteen shards, more than the sweep's points" 16 ./leaky
check_sweep "four shards of a sweep cut by --max 6" 4 ./leaky --max 6

# The same in JSON: the merged document has the unsplit sweep's verdict,
# counts and failure points (times aside), and its exit status.
sweep_view() {
    jq -c '[.verdict, .runs, .leaked, .crashed, .hung, .unchecked,
            [.points[] | [.allocation, .reached, .outcome, .signal, .exit_status,
                          (.failed_allocation // [] | map(.function))]]]' "$1"
}
check_sweep_json() {
    local label=$1 n=$2 prog=$3 status=0 mstatus=0 k files=()
    shift 3
    "$leakcheck" fault-sweep --format json --scope make_pair "$@" -- "$prog" >sweep.json 2>/dev/null ||
        status=$?
    for k in $(seq 1 "$n"); do
        "$leakcheck" fault-sweep --shard "$k/$n" --format json --scope make_pair "$@" -- "$prog" \
            >fj$k.out 2>/dev/null
        files+=("fj$k.out")
    done
    "$leakcheck" merge "${files[@]}" >sweepm.json 2>merge.err || mstatus=$?
    same "fault-sweep json: $label: every failure point and count as one sweep" \
        "$(sweep_view sweep.json)" "$(sweep_view sweepm.json 2>&1 || cat merge.err)"
    same "fault-sweep json: $label: exits as the unsplit sweep ($status)" "$status" "$mstatus"
}
check_sweep_json "four shards of a sweep that leaks and crashes" 4 ./leaky
check_sweep_json "four shards of its clean twin" 4 ./fixed
check_sweep_json "sixteen shards, more than the sweep's points" 16 ./leaky
check_sweep_json "four shards of a sweep cut by --max 6" 4 ./leaky --max 6
if jq -e '.shards == 16 and .end == 11 and (.run | test("^[0-9a-f]{16}$"))' sweepm.json \
    >/dev/null 2>&1 || jq -e '.shards == 4 and .end == null' sweepm.json >/dev/null 2>&1; then
    pass "fault-sweep json: the merged document names its shards, end and run"
else
    fail "fault-sweep json: the merged document lacks shards, end or run: $(head -c 300 sweepm.json)"
fi

# Each shard ends where the whole sweep ends, and says so.
sweep_split 4 fe ./leaky
got=$(for k in 1 2 3 4; do sed -n 's/.*name="leakcheck.end" value="\([^"]*\)".*/\1/p' "fe$k.out"; done | tr '\n' ' ')
same "fault-sweep: every shard finds the sweep's end at allocation 11" "11 11 11 11 " "$got"

# ------------------------------------------------------------ bad input

# refused LABEL PATTERN COMMAND...: exit status 2, one line on stderr
# matching PATTERN, nothing on stdout.
refused() {
    local label=$1 pattern=$2 status=0
    shift 2
    "$@" >refused.out 2>refused.err || status=$?
    if [ "$status" -eq 2 ] && [ "$(wc -l <refused.err)" -eq 1 ] && grep -q -- "$pattern" refused.err &&
        [ ! -s refused.out ]; then
        pass "$label"
    else
        fail "$label (exit $status):"
        sed 's/^/    stderr: /' refused.err
        head -3 refused.out | sed 's/^/    stdout: /'
    fi
}

for bad in 0/4 5/4 1/0 1/1001 a/b 1/4x 1 "" -1/4 "1 /4"; do
    refused "scenarios run --shard '$bad' is a usage error" "--shard" \
        "$leakcheck" scenarios run --shard "$bad" delete-no-shrink
    refused "fault-sweep --shard '$bad' is a usage error" "--shard" \
        "$leakcheck" fault-sweep --shard "$bad" -- ./fixed
done

refused "merge without a file" "no FILE" "$leakcheck" merge
refused "merge of an unreadable file names it" "nosuch.xml: cannot read" \
    "$leakcheck" merge sx1.out nosuch.xml
mkdir adir
refused "merge of a directory names it" "adir: cannot read it" "$leakcheck" merge adir
refused "merge of a missing shard names it" "shard 3 of 4 missing" \
    "$leakcheck" merge sx1.out sx2.out sx4.out
refused "merge of shards 2 and 4 missing names both" "shards 2, 4 of 4 missing" \
    "$leakcheck" merge sx1.out sx3.out
refused "merge of a shard given twice" "sx2.out: shard 2/4 again" \
    "$leakcheck" merge sx1.out sx2.out sx2.out sx3.out sx4.out
refused "merge of JSON with JUnit" "sj2.out: JSON, while sx1.out is JUnit XML" \
    "$leakcheck" merge sx1.out sj2.out sx3.out sx4.out
refused "merge of a scenarios shard with a sweep's" "fe2.out: a shard of fault-sweep" \
    "$leakcheck" merge sx1.out fe2.out sx3.out sx4.out
refused "merge of shards of different N" "few2.out: shard 2/6, while sx1.out is a shard of 4" \
    "$leakcheck" merge sx1.out few2.out
run_split 4 junit other map-chan-thread delete-no-shrink self-registration blocked-channel
refused "merge of a shard of other scenarios" "other2.out: a shard of another run than sx1.out" \
    "$leakcheck" merge sx1.out other2.out sx3.out sx4.out
"$leakcheck" fault-sweep --shard 2/4 --format junit --scope make_pair --max 50 -- ./leaky \
    >max2.out 2>/dev/null
refused "merge of a shard of a sweep with other options" "max2.out: a shard of another run" \
    "$leakcheck" merge fe1.out max2.out fe3.out fe4.out
refused "merge of an unsplit run's output" "whole.xml: no leakcheck.shard property" \
    "$leakcheck" merge whole.xml
refused "merge of an unsplit run's JSON" "whole.jsonl: no shard line" \
    "$leakcheck" merge whole.jsonl
refused "merge of a merged report" "merged.jsonl: .*kind \"merged\"" \
    "$leakcheck" merge merged.jsonl
"$leakcheck" fault-sweep --format json --scope make_pair -- ./leaky >whole-sweep.json 2>/dev/null
refused "merge of an unsplit sweep's JSON" "whole-sweep.json: a fault-sweep document without a valid shard" \
    "$leakcheck" merge whole-sweep.json
refused "merge of JSON sweep shards with JUnit ones" "fj2.out: JSON, while fe1.out is JUnit XML" \
    "$leakcheck" merge fe1.out fj2.out fe3.out fe4.out
refused "merge of a C file" "pairs.c: neither JSON nor JUnit XML" "$leakcheck" merge pairs.c
: >empty.out
refused "merge of an empty file" "empty.out: empty" "$leakcheck" merge empty.out
printf '<?xml version="1.0"?>\n<testsuites><testsuite name="x"/></testsuites>\n' >other.xml
refused "merge of JUnit XML another tool wrote" "other.xml: not JUnit XML as leakcheck writes it" \
    "$leakcheck" merge other.xml
sed 1d sj1.out >cut.out
refused "merge of a JSON shard that lost a line" "cut.out: .*incomplete" \
    "$leakcheck" merge cut.out sj2.out sj3.out sj4.out
sed 's/tests="4" failures="0"/tests="3" failures="0"/' sx1.out >altered.out
refused "merge of JUnit whose counts were altered" "altered.out: its suite counts" \
    "$leakcheck" merge altered.out sx2.out sx3.out sx4.out
printf '{"schema": "leakcheck/1", "kind": "diff"}\n' >diff.json
refused "merge of another leakcheck/1 document" "diff.json: .*kind \"diff\"" \
    "$leakcheck" merge diff.json
printf '{"schema": "leakcheck/1", "scenario": "x",\n' >broken.jsonl
refused "merge of broken JSON" "broken.jsonl: line 1 is not one JSON object" \
    "$leakcheck" merge broken.jsonl

if [ "$failures" -ne 0 ]; then
    echo "cli_shard.sh: $failures failed"
    exit 1
fi
echo "cli_shard.sh: all passed"
