#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_options.sh: the command line of every leakcheck command, and its manuals.
#
# Specification:
#   - `--opt value`, `--opt=value`, `-o value`, `-ovalue` and an unambiguous
#     abbreviation give the same result in run, fault-sweep, diff and
#     scenarios run, and options may follow the operands of diff and
#     scenarios run;
#   - run and fault-sweep never read the program's own arguments;
#   - a bad numeric value (not a number, trailing garbage, overflow, NaN,
#     infinity, out of range), an unknown, ambiguous or incomplete option, or
#     an unknown command is one line on stderr naming the option and the
#     value, nothing on stdout, exit status 2, and runs nothing;
#   - the tool's help lists every command; every command's help lists its
#     options and its exit statuses; -V prints the version of the headers;
#   - leakcheck(1) and leakcheck(3) exist beside the executable, render
#     without a groff warning, and name every option of every command's help,
#     every LEAKCHECK_ variable the library reads, and every function and
#     macro of the public headers.
#
# usage: bash tests/cli_options.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
cd "$(dirname "$0")/.." || exit 1 # the headers and the library's sources
[ -x "$leakcheck" ] || {
    echo "cli_options.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
mandir=$(dirname "$leakcheck")/man

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_options.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# lc ARGS...: run the tool; $status, $tmp/out and $tmp/err hold the result.
lc() {
    "$leakcheck" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# same LABEL EXPECTED_STATUS // FORM1 // FORM2 ...: every form exits with
# the status and prints the same stdout as the first. ("//" separates the
# forms: "--" belongs to them.)
same() {
    local label=$1 want=$2 first=1 form=() ok=1
    shift 3
    while [ $# -gt 0 ]; do
        form=()
        while [ $# -gt 0 ] && [ "$1" != // ]; do
            form+=("$1")
            shift
        done
        [ $# -gt 0 ] && shift
        lc "${form[@]}"
        if [ "$status" != "$want" ]; then
            fail "$label: '${form[*]}' exited $status, expected $want: $(head -3 "$tmp/err")"
            ok=0
        elif [ $first = 1 ]; then
            cp "$tmp/out" "$tmp/first"
            first=0
        elif ! cmp -s "$tmp/out" "$tmp/first"; then
            fail "$label: '${form[*]}' printed something else:"
            diff "$tmp/first" "$tmp/out" | head -10 | sed 's/^/    /'
            ok=0
        fi
    done
    [ $ok = 1 ] && pass "$label"
}

# usage_error NEEDLE ARGS...: exit 2, nothing on stdout, one line on stderr
# naming NEEDLE, and (for run and fault-sweep) the program did not run.
usage_error() {
    local needle=$1
    shift
    rm -f "$tmp/ran"
    lc "$@"
    if [ "$status" != 2 ]; then
        fail "'$*' exited $status, expected 2: $(head -3 "$tmp/err")"
    elif [ -s "$tmp/out" ]; then
        fail "'$*' printed on stdout: $(head -3 "$tmp/out")"
    elif [ "$(grep -c '' "$tmp/err")" != 1 ]; then
        fail "'$*' printed $(grep -c '' "$tmp/err") lines on stderr: $(cat "$tmp/err")"
    elif ! grep -qF -- "$needle" "$tmp/err"; then
        fail "'$*': the error does not name '$needle': $(cat "$tmp/err")"
    elif [ -e "$tmp/ran" ]; then
        fail "'$*': the program ran anyway"
    else
        return 0
    fi
    return 1
}

# ------------------------------------------------------------ programs

# keep: N blocks of 100 B from grow_big and N of 10 B from grow_small, kept
# in globals (reachable: a leak only with --strict), then five blocks
# allocated and freed by churn.
cat >"$tmp/keep.c" <<'C'
#include <stdlib.h>
void *big[64], *small[64];
__attribute__((noinline)) static void grow_big(int n) {
    for (int i = 0; i < n; i++) big[i] = malloc(100);
}
__attribute__((noinline)) static void grow_small(int n) {
    for (int i = 0; i < n; i++) small[i] = malloc(10);
}
__attribute__((noinline)) static void churn(void) {
    for (int i = 0; i < 5; i++) free(malloc(24));
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    grow_big(n);
    grow_small(n);
    churn();
    return 0;
}
C
cc -g -O0 -fno-omit-frame-pointer -o "$tmp/keep" "$tmp/keep.c" || exit 1

# ------------------------------------------------------------ the tool

version=$(sed -n 's/^#define LEAKCHECK_VERSION "\(.*\)"/\1/p' include/leakcheck.h)
same "-V and --version print the version" 0 // -V // --version
if [ -n "$version" ] && [ "$(cat "$tmp/first")" = "leakcheck $version" ]; then
    pass "the version is the headers' ($version)"
else
    fail "-V printed '$(cat "$tmp/first")', the headers say '$version'"
fi
same "-h, --help and help print the same help" 0 // -h // --help // help
for cmd in "run " "fault-sweep " "diff " "scenarios list" "scenarios run "; do
    grep -q "^  $cmd" "$tmp/first" || fail "leakcheck --help does not list '$cmd'"
done
grep -q "^Exit status:" "$tmp/first" || fail "leakcheck --help has no exit statuses"
pass "leakcheck --help lists run, fault-sweep, diff, scenarios list and run"

usage_error "unknown command 'frob'" frob
usage_error "unknown option '--bogus'" --bogus && usage_error "try 'leakcheck --help'" --bogus
usage_error "no command given" &&
    pass "no, an unknown command or an unknown tool option: one line, status 2"

# ------------------------------------------------------------ every command's help

# The long options each command's help must list, and its exit statuses.
declare -A options statuses
options[run]="budget strict format output error-exitcode timeout suppressions pprof dot help"
statuses[run]="23 124 127 128+ 2"
options[fault-sweep]="scope max timeout format output help"
statuses[fault-sweep]="0 1 2 70 128+"
options[diff]="top min-objects min-bytes sample format help"
statuses[diff]="0 2"
options[scenarios]="verbose jobs timeout format pprof wait-for-tracer help"
statuses[scenarios]="0 1 2"
for cmd in run fault-sweep diff scenarios; do
    same "$cmd: -h and --help print the same help" 0 // $cmd -h // $cmd --help
    missing=""
    for o in ${options[$cmd]}; do
        grep -qE -- "--$o\b" "$tmp/first" || missing+=" --$o"
    done
    section=$(awk '/^Exit status:/ { on = 1; next } on && /^[^ ]/ { exit } on' "$tmp/first")
    for s in ${statuses[$cmd]}; do
        grep -qE "^  $s" <<<"$section" || missing+=" status $s"
    done
    if [ -z "$section" ]; then
        fail "$cmd --help has no 'Exit status:' section"
    elif [ -n "$missing" ]; then
        fail "$cmd --help lacks$missing"
    else
        pass "$cmd --help lists its options and exit statuses (${statuses[$cmd]})"
    fi
done
same "scenarios run --help is scenarios --help" 0 // scenarios --help // scenarios run --help

# ------------------------------------------------------------ run

same "run: --error-exitcode N, =N and an abbreviation" 42 \
    // run --strict --error-exitcode 42 -- "$tmp/keep" \
    // run --strict --error-exitcode=42 -- "$tmp/keep" \
    // run --strict --error-exit=42 "$tmp/keep"
same "run: without a budget the kept blocks are a leak under --strict" 23 \
    // run --strict -- "$tmp/keep"
same "run: -b SPEC, -bSPEC, --budget SPEC and --budget=SPEC" 0 \
    // run --strict -b bytes=1k,objects=2 -- "$tmp/keep" \
    // run --strict -bbytes=1k,objects=2 -- "$tmp/keep" \
    // run --strict --budget bytes=1k,objects=2 -- "$tmp/keep" \
    // run --strict --budget=bytes=1k,objects=2 "$tmp/keep"
n=0
for form in "-o $tmp/r1.json -f json" "-o$tmp/r2.json -fjson" "--output $tmp/r3.json --format json" \
    "--output=$tmp/r4.json --format=json"; do
    n=$((n + 1))
    # shellcheck disable=SC2086 # the form is words
    lc run $form -- "$tmp/keep"
    if [ "$status" = 0 ] && [ ! -s "$tmp/err" ] && jq -e '.schema == "leakcheck/1" and .verdict == "clean"' \
        "$tmp/r$n.json" >/dev/null 2>&1; then
        :
    else
        fail "run $form: exit $status, report: $(head -c 200 "$tmp/r$n.json" 2>&1) $(head -2 "$tmp/err")"
    fi
done
pass "run: -o/-f, -oFILE/-fjson, --output/--format and --output=/--format= write the same JSON report"
same "run: -t S, -tS, --timeout S and --timeout=S end a hanging program with 124" 124 \
    // run -t 0.5 -- sleep 30 // run -t0.5 -- sleep 30 \
    // run --timeout 0.5 -- sleep 30 // run --timeout=0.5 sleep 30

# The program's own arguments, with and without "--", are never parsed.
same "run: the program's arguments are its own" 0 \
    // run -- printf '%s\n' --timeout=inf -V --bogus -- -x \
    // run printf '%s\n' --timeout=inf -V --bogus -- -x
if [ "$(cat "$tmp/first")" = "$(printf '%s\n' --timeout=inf -V --bogus -- -x)" ]; then
    pass "run: printf received --timeout=inf -V --bogus -- -x untouched"
else
    fail "run: the program's arguments were changed: $(cat "$tmp/first")"
fi

# ------------------------------------------------------------ fault-sweep

same "fault-sweep: -s F, -sF, --scope F, --scope=F" 0 \
    // fault-sweep -s churn -- "$tmp/keep" // fault-sweep -schurn -- "$tmp/keep" \
    // fault-sweep --scope churn -- "$tmp/keep" // fault-sweep --scope=churn "$tmp/keep"
if grep -q '^leakcheck fault-sweep: 6 runs, 0 failure points leaked, 0 crashed$' "$tmp/first"; then
    pass "fault-sweep: the scope keeps the sweep to churn's five allocations (6 runs)"
else
    fail "fault-sweep --scope churn: $(cat "$tmp/first")"
fi
same "fault-sweep: -n N, -nN, --max N, --max=N" 0 \
    // fault-sweep -s churn -n 2 -- "$tmp/keep" // fault-sweep -s churn -n2 -- "$tmp/keep" \
    // fault-sweep -s churn --max 2 -- "$tmp/keep" // fault-sweep --scope=churn --max=2 "$tmp/keep"
if grep -q '^leakcheck fault-sweep: 2 runs,' "$tmp/first"; then
    pass "fault-sweep: --max 2 stops after 2 runs"
else
    fail "fault-sweep --max 2: $(cat "$tmp/first")"
fi
lc fault-sweep -- "$tmp/no-such-program"
if [ "$status" = 2 ] && [ "$(grep -c '' "$tmp/err")" = 1 ] &&
    grep -q "cannot run '$tmp/no-such-program': No such file or directory" "$tmp/err"; then
    pass "fault-sweep: a program that cannot run is one line with the reason, status 2"
else
    fail "fault-sweep of a missing program: exit $status: $(cat "$tmp/err")"
fi
lc run --output "$tmp/no-dir/report" -- "$tmp/keep"
if [ "$status" = 2 ] && grep -q "cannot write the report file.*: No such file or directory" "$tmp/err"; then
    pass "run --output into a missing directory: one line with the reason"
else
    fail "run --output into a missing directory: exit $status: $(cat "$tmp/err")"
fi

# ------------------------------------------------------------ diff

lc run --pprof "$tmp/base.pb.gz" -- "$tmp/keep" 1
lc run --pprof "$tmp/after.pb.gz" -- "$tmp/keep" 20
if [ -s "$tmp/base.pb.gz" ] && [ -s "$tmp/after.pb.gz" ]; then
    B=$tmp/base.pb.gz A=$tmp/after.pb.gz
    same "diff: -n N, -nN, --top N, --top=N, before, between and after the profiles" 0 \
        // diff -n 1 "$B" "$A" // diff -n1 "$B" "$A" // diff --top 1 "$B" "$A" \
        // diff "$B" "$A" --top=1 // diff "$B" --top 1 "$A" // diff --top=1 -- "$B" "$A"
    if grep -q '2 stacks changed.*; 1 shown$' "$tmp/first" && grep -q grow_big "$tmp/first"; then
        pass "diff: --top 1 shows grow_big, the largest of the 2 stacks that grew"
    else
        fail "diff --top 1: $(head -3 "$tmp/first")"
    fi
    same "diff: -f json, -fjson, --format json, --format=json" 0 \
        // diff -f json "$B" "$A" // diff -fjson "$B" "$A" // diff --format json "$B" "$A" \
        // diff "$B" "$A" --format=json
    jq -e '.kind == "diff"' "$tmp/first" >/dev/null 2>&1 || fail "diff -f json is not the JSON diff"
    same "diff: --min-bytes 1k and --min-bytes=1024 keep grow_big alone" 0 \
        // diff --min-bytes 1k "$B" "$A" // diff --min-bytes=1024 "$B" "$A" \
        // diff --min-b=1K "$B" "$A"
    if grep -q '; 1 shown$' "$tmp/first" && grep -q grow_big "$tmp/first"; then
        pass "diff: --min-bytes 1k keeps only grow_big (1900 B)"
    else
        fail "diff --min-bytes 1k: $(head -3 "$tmp/first")"
    fi
else
    fail "run --pprof wrote no profiles for the diff checks"
fi

# ------------------------------------------------------------ scenarios

same "scenarios run: -j2 -ftap, --jobs=2 --format=tap, and options after the name" 0 \
    // scenarios run -j2 -ftap blocked-channel \
    // scenarios run --jobs=2 --format=tap blocked-channel \
    // scenarios run blocked-channel --jobs 2 --format tap \
    // scenarios run -j 2 -f tap -- blocked-channel
grep -v '^#' "$tmp/first" >"$tmp/tap"
if [ "$(cat "$tmp/tap")" = "$(printf '1..2\nok 1 - blocked-channel leaky: leak\nok 2 - blocked-channel fixed: clean')" ]; then
    pass "scenarios run: the TAP of blocked-channel, both variants ok"
else
    fail "scenarios run TAP: $(cat "$tmp/first")"
fi
same "scenarios list: the same with --" 0 // scenarios list // scenarios list --

# ------------------------------------------------------------ bad values

bad=0
check_bad() { usage_error "$@" || bad=$((bad + 1)); }
for v in inf nan NaN 1e11 -1 0 abc 5s '' ' 5' 0x; do
    check_bad "--timeout: '$v'" run --timeout "$v" -- touch "$tmp/ran"
    check_bad "--timeout: '$v'" run "--timeout=$v" -- touch "$tmp/ran"
    check_bad "--timeout: '$v'" scenarios run --timeout "$v"
done
check_bad "--timeout: 'inf' is not a finite number of seconds between 0 and 31536000" \
    run -t inf -- touch "$tmp/ran"
check_bad "--timeout: '31536001'" run -t31536001 touch "$tmp/ran"
for v in 0 256 -1 abc 4x 99999999999999999999 ''; do
    check_bad "--error-exitcode: '$v'" run --error-exitcode "$v" -- touch "$tmp/ran"
done
for v in 0 -1 abc 1e3 99999999999999999999 100000001 ''; do
    check_bad "--max: '$v'" fault-sweep --max "$v" -- touch "$tmp/ran"
done
for v in -1 abc 1.5 99999999999999999999 ''; do
    check_bad "--top: '$v'" diff --top "$v" a b
done
for v in abc 1k 99999999999999999999; do
    check_bad "--min-objects: '$v'" diff --min-objects "$v" a b
done
for v in 1X k 9999999999G 1kk ''; do
    check_bad "--min-bytes: '$v'" diff --min-bytes="$v" a b
done
for v in 0 1025 abc 2.5 -3 99999999999999999999; do
    check_bad "--jobs: '$v'" scenarios run --jobs "$v"
    check_bad "--jobs: '$v'" scenarios run "-j$v"
done
for v in -1 inf nan abc; do
    check_bad "--wait-for-tracer: '$v'" scenarios run --wait-for-tracer "$v"
done
[ $bad = 0 ] && pass "bad numbers: one line naming the option and the value, status 2, nothing run"

# ------------------------------------------------------------ bad options

bad=0
for cmd in run fault-sweep; do
    check_bad "unknown option '--bogus'; try 'leakcheck $cmd --help'" $cmd --bogus -- touch "$tmp/ran"
    check_bad "unknown option '-x'; try 'leakcheck $cmd --help'" $cmd -x -- touch "$tmp/ran"
    check_bad "no program given" $cmd
done
check_bad "unknown option '--bogus'; try 'leakcheck diff --help'" diff a b --bogus
check_bad "unknown option '--bogus'; try 'leakcheck scenarios --help'" scenarios run --bogus
check_bad "option '--timeout' needs a value" run --timeout
check_bad "option '-t' needs a value" run -t
check_bad "option '--max' needs a value" fault-sweep --max
check_bad "option '--top' needs a value" diff a b --top
check_bad "option '-j' needs a value" scenarios run -vj
check_bad "option '--strict' takes no value" run --strict=1 -- touch "$tmp/ran"
check_bad "unknown option '-v'" run --strict -vx -- touch "$tmp/ran"
check_bad "option '--timeout' needs a value" run --strict --time
check_bad "ambiguous option '--min' (--min-objects, --min-bytes)" diff --min=1 a b
check_bad "unexpected argument 'c'" diff a b c
check_bad "missing the AFTER profile" diff a
check_bad "--format: 'yaml'" run --format yaml -- touch "$tmp/ran"
check_bad "--format: 'yaml'" diff --format yaml a b
check_bad "--format: 'yaml'" scenarios run -f yaml
check_bad "no scenario named 'nope'" scenarios run nope
check_bad "unknown subcommand 'frob'" scenarios frob
check_bad "unexpected argument 'x'" scenarios list x
[ $bad = 0 ] && pass "unknown, ambiguous and incomplete options: one line naming them, status 2, nothing run"

# ------------------------------------------------------------ manuals

for page in leakcheck.1 leakcheck.3; do
    if [ ! -s "$mandir/$page" ]; then
        fail "no $mandir/$page (make all builds it)"
    elif w=$(groff -ww -man -z "$mandir/$page" 2>&1) && [ -z "$w" ]; then
        pass "$page renders without a warning"
    else
        fail "$page: groff warns: $w"
    fi
done
if [ -s "$mandir/leakcheck.1" ]; then
    groff -man -Tascii -P-cbou -rLL=200n "$mandir/leakcheck.1" 2>/dev/null >"$tmp/man1"
    missing=""
    for cmd in run fault-sweep diff scenarios; do
        grep -q "^LEAKCHECK ${cmd^^}\$" "$tmp/man1" || missing+=" section:$cmd"
        "$leakcheck" $cmd --help >"$tmp/help" 2>&1
        for o in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help" | sort -u); do
            grep -qF -- "$o" "$tmp/man1" || missing+=" $cmd:$o"
        done
        section=$(awk '/^Exit status:/ { on = 1; next } on && /^  [^ ]/ { print $1 }' "$tmp/help")
        for s in $section; do
            grep -qE "^ +${s//+/\\+} +" "$tmp/man1" || missing+=" $cmd:status:$s"
        done
    done
    for v in $(grep -rhoE 'getenv\("LEAKCHECK_[A-Z_]+"\)|"LEAKCHECK_[A-Z_]+"' harness assertions |
        grep -oE 'LEAKCHECK_[A-Z_]+' | sort -u); do
        grep -q "^ *$v\$" "$tmp/man1" || missing+=" env:$v"
    done
    grep -q '^EXIT STATUS$' "$tmp/man1" || missing+=" section:EXIT-STATUS"
    grep -q '^ENVIRONMENT$' "$tmp/man1" || missing+=" section:ENVIRONMENT"
    if [ -z "$missing" ]; then
        pass "leakcheck(1) has every command, option, exit status and LEAKCHECK_ variable"
    else
        fail "leakcheck(1) lacks:$missing"
    fi
fi
if [ -s "$mandir/leakcheck.3" ]; then
    groff -man -Tascii -P-cbou -rLL=200n "$mandir/leakcheck.3" 2>/dev/null >"$tmp/man3"
    missing=""
    names=$(sed 's,/\*.*\*/,,; s,//.*,,' include/leakcheck.h include/leakcheck_check.h \
        include/leakcheck_scenario.h |
        grep -oE '\b(lc_[a-z_]+|LC_VERIFY_NONE|LC_SCENARIO|ck_assert_no_leaks) *\(' | tr -d ' (' |
        grep -v '_$' | sort -u)
    for f in $names; do
        grep -qE "\b$f\(" "$tmp/man3" || missing+=" $f"
    done
    if [ -z "$names" ]; then
        fail "found no function in include/*.h"
    elif [ -z "$missing" ]; then
        pass "leakcheck(3) names all $(wc -w <<<"$names") functions and macros of the headers"
    else
        fail "leakcheck(3) lacks:$missing"
    fi
fi

[ "$failures" = 0 ] || {
    echo "cli_options.sh: $failures failure(s)"
    exit 1
}
echo "cli_options.sh: all passed"
