#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_junit.sh: JUnit XML from run, scenarios run and fault-sweep, from
# Check's own log through scripts/check-junit.xsl, and the CI examples of
# docs/examples/ as written.
#
# Every file must be well-formed (xmllint --noout) and have the structure
# GitLab and the common JUnit readers expect (tests/junit_structure.py:
# a <testsuites> root, counts that match the elements, one-line messages).
# Each leaky input must give a <failure> on exactly its leaky items, each
# clean twin none, an item that could not be checked an <error>, and the
# exit status must be the one the text format gives.
#
# usage: bash tests/cli_junit.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$repo/$leakcheck ;; esac
build=$(dirname "$leakcheck")
[ -x "$leakcheck" ] || {
  echo "cli_junit.sh: $leakcheck is not an executable (build it first)" >&2
  exit 1
}
# Debian's python3, with python3-yaml (scripts/install-deps.sh).
py=/usr/bin/python3
for tool in xmllint xsltproc valgrind $py; do
  command -v $tool >/dev/null || {
    echo "cli_junit.sh: $tool is required (scripts/install-deps.sh)" >&2
    exit 1
  }
done
$py -c 'import yaml' 2>/dev/null || {
  echo "cli_junit.sh: python3's yaml module is required (python3-yaml)" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_junit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export LEAKCHECK_SETTLE=0.2

failures=0
pass() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

# cases FILE: validates FILE and prints its cases, one per line:
# OUTCOME<TAB>TYPE<TAB>CLASSNAME<TAB>NAME; nothing (and a FAIL) when invalid.
cases() {
  if ! xmllint --noout "$1" 2>"$tmp/xmllint.err"; then
    fail "$1 is not well-formed XML: $(head -3 "$tmp/xmllint.err")"
    return
  fi
  $py "$repo/tests/junit_structure.py" "$1" 2>"$tmp/structure.err" ||
    fail "$(cat "$tmp/structure.err")"
}

# expect WHAT FILE WANT: the cases of FILE are exactly WANT (lines of
# "OUTCOME TYPE NAME", classname left out).
expect() {
  local got
  got=$(cases "$2" | awk -F'\t' '{print $1, $2, $4}')
  if [ "$got" = "$3" ]; then
    pass "$1"
  else
    fail "$1: cases"
    printf '%s\n' "$got" | sed 's/^/    got:  /'
    printf '%s\n' "$3" | sed 's/^/    want: /'
  fi
}

# status WHAT GOT WANT
status_is() {
  [ "$2" -eq "$3" ] && pass "$1: exit status $3" || fail "$1: exit status $2, want $3"
}

cc -g -O0 -fno-omit-frame-pointer -o "$tmp/prog" tests/fixtures/supervised.c || exit 1
cc -g -O0 -fno-omit-frame-pointer -DFIXED=0 -o "$tmp/leaky" docs/examples/pair.c || exit 1
cc -g -O0 -fno-omit-frame-pointer -DFIXED=1 -o "$tmp/fixed" docs/examples/pair.c || exit 1
cd "$tmp" || exit 1

# ---------------------------------------------------------------- run

# run NAME ARGS...: leakcheck run --format junit --output NAME.xml ARGS, and
# the same with --format text; sets st (junit) and st_text.
run() {
  local name=$1
  shift
  st=0
  st_text=0
  timeout -k 5 60 "$leakcheck" run --format junit --output "$name.xml" "$@" >/dev/null 2>&1 || st=$?
  timeout -k 5 60 "$leakcheck" run "$@" >/dev/null 2>&1 || st_text=$?
}

run leak -- ./prog plain
expect "run: a leaking process is a failure" leak.xml "failure leak ./prog plain"
status_is "run, leaky" $st 23
[ $st -eq $st_text ] || fail "run, leaky: status $st with junit, $st_text with text"
grep -q '77 B in 1 object' leak.xml && pass "run: the failure holds the full report" ||
  fail "run: the leak report is not in the failure"

run clean -- ./prog plain clean
expect "run: its clean twin passes" clean.xml "passed - ./prog plain clean"
status_is "run, clean" $st 0

run two -- ./prog child-status
expect "run: one case per process, the same command line numbered" two.xml \
  "failure leak ./prog child-status
failure leak ./prog child-status #2"
[ $st -eq $st_text ] && status_is "run, two processes (as with text)" $st 23 ||
  fail "run, two processes: status $st with junit, $st_text with text"

run killed -- ./prog killed
expect "run: a process killed before its check is an error, never a pass" killed.xml \
  "error crash ./prog killed"
[ $st -eq $st_text ] && status_is "run, killed (as with text)" $st 137 ||
  fail "run, killed: status $st with junit, $st_text with text"

run hang --timeout 1 -- ./prog hang
expect "run: a process killed at the deadline is an error" hang.xml "error timeout ./prog hang"
[ $st -eq $st_text ] && status_is "run, timed out (as with text)" $st 124 ||
  fail "run, timed out: status $st with junit, $st_text with text"

# Without --output the document goes where run's reports go, stderr; the
# program's own output stays on stdout.
st=0
"$leakcheck" run --format junit -- ./prog plain >stdout.txt 2>stderr.xml || st=$?
expect "run: without --output, the document is on stderr" stderr.xml "failure leak ./prog plain"
grep -qx 'plain ran' stdout.txt && ! grep -q '<' stdout.txt &&
  pass "run: the program's stdout holds only its own output" ||
  fail "run: the program's stdout: $(head -3 stdout.txt)"

# Markup, quotes, a control character and bytes that are not UTF-8 in a
# command line: escaped or replaced, never a broken document.
run odd -- ./prog plain clean '<a&b>"c'\''d' $'e\001f' $'g\377h'
want=$(printf 'passed - ./prog plain clean <a&b>"c'\''d e\357\277\275f g\357\277\275h')
expect "run: markup, a control character and invalid UTF-8 are escaped or replaced" odd.xml "$want"

st=0
"$leakcheck" run --format xml -- ./prog >usage.out 2>&1 || st=$?
[ $st -eq 2 ] && [ "$(wc -l <usage.out)" -eq 1 ] && grep -q junit usage.out &&
  pass "run: an unknown format is a one-line usage error naming junit" ||
  fail "run --format xml: status $st: $(cat usage.out)"

# ------------------------------------------------------------ scenarios run

# The runner sets the leaky variants' settle window itself; the fixed ones
# keep the library's default, which their clean verdicts rely on.
unset LEAKCHECK_SETTLE

st=0
"$leakcheck" scenarios run --jobs 2 --format junit --output sc.xml \
  map-chan-thread delete-no-shrink >sc.out 2>&1 || st=$?
expect "scenarios run: every variant whose expectation holds passes" sc.xml \
  "passed - leaky
passed - fixed
passed - leaky
passed - fixed"
status_is "scenarios run, expectations hold" $st 0
[ "$(cases sc.xml | cut -f3 | sort -u | tr '\n' ' ')" = "delete-no-shrink map-chan-thread " ] &&
  pass "scenarios run: the scenario is the classname" || fail "scenarios run: classnames"

# Suppressing every leak hides what the leaky variants must find: exactly
# those fail, with the reason as the message.
printf 'leak:*\nthread:*\n' >all.supp
st=0
LEAKCHECK_SUPPRESSIONS=$tmp/all.supp "$leakcheck" scenarios run --jobs 2 --format junit \
  map-chan-thread delete-no-shrink >sc-unmet.xml 2>/dev/null || st=$?
expect "scenarios run: an unmet expectation is a failure, on exactly the leaky variants" \
  sc-unmet.xml "failure expectation leaky
passed - fixed
failure expectation leaky
passed - fixed"
status_is "scenarios run to stdout, expectations unmet" $st 1
grep -q 'message="no leak found"' sc-unmet.xml && pass "scenarios run: the message says why" ||
  fail "scenarios run: no 'no leak found' message"

# A leaky variant waits out its settle window (0.3 s): 0.1 s is always too
# short, so it times out, an error.
st=0
"$leakcheck" scenarios run --format junit --timeout 0.1 --output sc-timeout.xml \
  map-chan-thread >/dev/null 2>&1 || st=$?
got=$(cases sc-timeout.xml | awk -F'\t' '$4 == "leaky" {print $1, $2}')
[ "$got" = "error timeout" ] && pass "scenarios run: a variant that timed out is an error" ||
  fail "scenarios run: the timed-out variant is '$got'"
status_is "scenarios run, timed out" $st 1

# ------------------------------------------------------------ fault-sweep

st=0
"$leakcheck" fault-sweep --scope make_pair --format junit --output sweep.xml -- ./leaky \
  >sweep.out 2>&1 || st=$?
expect "fault-sweep: one case per failure point, the leaking one a failure" sweep.xml \
  "passed - allocation 1 failing
failure leak allocation 2 failing"
status_is "fault-sweep, leaky" $st 1
grep -q 'message="allocation 2 failing at make_pair' sweep.xml &&
  pass "fault-sweep: the message names where the failure was injected" ||
  fail "fault-sweep: message: $(grep -o 'message="[^"]*"' sweep.xml)"

st=0
"$leakcheck" fault-sweep --scope make_pair --format junit -- ./fixed >sweep-fixed.xml 2>&1 || st=$?
expect "fault-sweep: the fixed twin, to stdout, has no failure" sweep-fixed.xml \
  "passed - allocation 1 failing
passed - allocation 2 failing"
status_is "fault-sweep, fixed" $st 0

# A program that dereferences what a failed allocation returned crashes on
# that error path: an error.
cat >crash.c <<'C'
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) static char *make(void) {
    char *p = malloc(32);
    memset(p, 0, 32);
    return p;
}
int main(void) {
    free(make());
    return 0;
}
C
cc -g -O0 -o crash crash.c
st=0
"$leakcheck" fault-sweep --scope make --format junit --output crash.xml -- ./crash \
  >/dev/null 2>&1 || st=$?
expect "fault-sweep: a failure point that crashes is an error" crash.xml \
  "error crash allocation 1 failing"
status_is "fault-sweep, crash" $st 1

# ------------------------------------------------------------ Check's log

# The suite of tests/fixtures/vg_suite.c (one leaky test, one clean), its
# Check XML log in both fork modes, through the stylesheet.
export PKG_CONFIG_PATH=$build
if cc -g -O0 -fno-omit-frame-pointer -o vg_suite "$repo/tests/fixtures/vg_suite.c" \
  $(pkg-config --cflags --libs leakcheck check) 2>cc.err; then
  xsl=$(pkg-config --variable=check_junit leakcheck)
  for mode in yes no; do
    CK_FORK=$mode CK_XML_LOG_FILE_NAME=check-$mode.xml ./vg_suite >/dev/null 2>&1
    if xsltproc -o check-$mode-junit.xml "$xsl" check-$mode.xml 2>xslt.err; then
      expect "Check's XML log as JUnit, CK_FORK=$mode: exactly the leaky test fails" \
        check-$mode-junit.xml "failure failure test_leaky_loses_a_block
passed - test_clean_frees_its_block"
      grep -q 'file="[^"]*/vg_suite.c" line="32"' check-$mode-junit.xml &&
        pass "Check's log as JUnit, CK_FORK=$mode: the test's file and line" ||
        fail "Check's log as JUnit, CK_FORK=$mode: no file and line of the test"
    else
      fail "xsltproc on Check's log (CK_FORK=$mode): $(head -3 xslt.err)"
    fi
  done
else
  fail "cannot build vg_suite: $(head -3 cc.err)"
fi

# ------------------------------------------------------------ CI examples

# The keys that matter, read from the YAML: GitLab takes the junit report
# paths from artifacts:reports:junit (artifacts kept when the job fails),
# GitHub uploads the paths of an actions/upload-artifact step that runs
# always; both lists must be exactly the files the commands write
# (leakcheck's --output, xsltproc's -o), the suite runs under valgrind with
# the suppression file and CK_DEFAULT_TIMEOUT, and xsltproc reads the log
# CK_XML_LOG_FILE_NAME names.
cat >ci_keys.py <<'PY'
import re, sys, yaml

def commands_of(text):
    written = set(re.findall(r"--output[ =](\S+)", text)) | set(re.findall(r"xsltproc -o (\S+)", text))
    log = re.findall(r"CK_XML_LOG_FILE_NAME=(\S+)", text)
    xsl_in = re.findall(r"check_junit leakcheck\)\"\s+(?:\\\s+)?(\S+)", text)
    problems = []
    if not re.search(r"CK_DEFAULT_TIMEOUT=\d+[^\n]*\n?[^\n]*valgrind|CK_DEFAULT_TIMEOUT=\d+.*valgrind", text, re.S):
        problems.append("the suite does not run under valgrind with CK_DEFAULT_TIMEOUT")
    if '--suppressions="$(pkg-config --variable=suppressions leakcheck)"' not in text:
        problems.append("valgrind does not use the installed suppression file")
    if not log or log != xsl_in:
        problems.append("xsltproc does not read Check's log %s (reads %s)" % (log, xsl_in))
    return written, problems

kind, path = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(path))
problems = []
if kind == "gitlab":
    job = doc["leak-checks"]
    text = "\n".join(job["script"])
    art = job["artifacts"]
    junit = art["reports"]["junit"]
    junit = set([junit] if isinstance(junit, str) else junit)
    if art.get("when") != "always":
        problems.append("artifacts are not kept when the job fails (when: always)")
else:
    steps = doc["jobs"]["leaks"]["steps"]
    text = "\n".join(s.get("run", "") for s in steps)
    up = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    if len(up) != 1:
        problems.append("no single upload-artifact step")
        junit = set()
    else:
        junit = set(up[0]["with"]["path"].split())
        if up[0].get("if") != "always()":
            problems.append("the upload does not run when the suite fails (if: always())")
    suite = [s for s in steps if "CK_XML_LOG_FILE_NAME" in s.get("run", "")]
    if not suite or not suite[0].get("continue-on-error"):
        problems.append("a failing suite stops the job before its JUnit file is written")
written, more = commands_of(text)
problems += more
if junit != written:
    problems.append("the JUnit paths %s are not the files written %s" % (sorted(junit), sorted(written)))
if problems:
    print("; ".join(problems))
    sys.exit(1)
print(" ".join(sorted(junit)))
PY
for ci in gitlab:gitlab-ci.yml github:github-actions.yml; do
  if out=$($py ci_keys.py "${ci%%:*}" "$repo/docs/examples/${ci#*:}" 2>&1); then
    pass "docs/examples/${ci#*:}: the JUnit paths are the files the commands write ($out)"
  else
    fail "docs/examples/${ci#*:}: $out"
  fi
done

# The recipes as written, but for installing packages and building
# leakcheck (done): in a directory holding this checkout's build, docs and
# scripts, with the example suite clean and then with its planted leak.
cat >ci_script.py <<'PY'
import sys, yaml
kind, path = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(path))
if kind == "gitlab":
    lines = [c for c in doc["leak-checks"]["script"] if not c.startswith("make")]
else:
    lines = []
    for s in doc["jobs"]["leaks"]["steps"]:
        if "run" not in s or s.get("name") in ("Install the dependencies", "Build leakcheck"):
            continue
        run = s["run"]
        if s.get("continue-on-error"):
            run = "( set -e\n%s\n) || suite_failed=1" % run
        elif s.get("if") == "steps.suite.outcome == 'failure'":
            run = 'if [ -n "${suite_failed:-}" ]; then\n%s\nfi' % run
        else:
            run = "( set -e\n%s\n)" % run
        lines.append(run)
print("\n".join(lines))
PY
for ci in gitlab:gitlab-ci.yml github:github-actions.yml; do
  for leak in "" 1; do
    d=ci-${ci%%:*}${leak:+-leaky}
    mkdir -p "$d" && ln -s "$repo/build" "$repo/docs" "$repo/scripts" "$d/"
    $py ci_script.py "${ci%%:*}" "$repo/docs/examples/${ci#*:}" >"$d/script.sh"
    st=0
    (cd "$d" && env -u PKG_CONFIG_PATH ${leak:+CACHE_TEST_LEAK=1} bash -e script.sh) >"$d.out" 2>&1 || st=$?
    want="passed - test_entry_round_trip
passed - test_entry_key_is_cut_to_fit"
    [ -n "$leak" ] && want="failure failure test_entry_round_trip
passed - test_entry_key_is_cut_to_fit"
    what="docs/examples/${ci#*:} as written${leak:+, with a leak in the suite}"
    if [ -f "$d/reports/check-junit.xml" ]; then
      expect "$what: Check's results as JUnit" "$d/reports/check-junit.xml" "$want"
    else
      fail "$what: no reports/check-junit.xml; its output:"
      sed 's/^/    /' "$d.out" | tail -15
    fi
    [ -f "$d/reports/leakcheck-run.xml" ] &&
      expect "$what: leakcheck run's JUnit" "$d/reports/leakcheck-run.xml" "passed - ./pair" ||
      fail "$what: no reports/leakcheck-run.xml"
    if [ -n "$leak" ]; then
      [ $st -ne 0 ] && pass "$what: the job fails" || fail "$what: the job passed"
    else
      [ $st -eq 0 ] && pass "$what: the job passes" || {
        fail "$what: the job failed (status $st):"
        sed 's/^/    /' "$d.out" | tail -15
      }
    fi
  done
done

[ "$failures" -eq 0 ]
