#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_check_logs.sh: Check's XML and TAP logs of a suite whose leak reports
# are far over Check's message limit stay valid, in both fork modes.
#
# The inner suite of tests/test_check_integration.c (a 190 KiB report, a
# thread leak, fixtures in both orders, 200 clean tests) writes its logs
# through CK_XML_LOG_FILE_NAME and CK_TAP_LOG_FILE_NAME. The XML must be
# well-formed (xmllint) with every test in it and the seven failures marked
# failures; the TAP log must be accepted by prove and by the strict reader
# below, which refuses any line that is not the plan, a result or a
# comment (as Meson's TAP reader does). The strict reader is itself shown
# to reject the multi-line message the log held before.
#
# usage: bash tests/cli_check_logs.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
build=$(cd "$(dirname "$leakcheck")" && pwd)
suite=$build/tests/test_check_integration
[ -x "$suite" ] || {
    echo "cli_check_logs.sh: $suite is not an executable (make tests first)" >&2
    exit 1
}
for tool in xmllint prove; do
    command -v $tool >/dev/null || {
        echo "cli_check_logs.sh: $tool is required" >&2
        exit 1
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_check_logs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# Strict TAP (version 12 or 13): the plan once, first or last; results
# numbered 1, 2, 3...; as many as planned; comments; nothing else.
strict_tap() { # file
    awk '
        NR == 1 && /^TAP version 1[34]$/ { next }
        /^1\.\.[0-9]+$/ {
            if (plan != "") { print "line " NR ": second plan"; bad = 1 }
            plan = substr($0, 4) + 0
            if (n > 0 && NR != lines) { print "line " NR ": plan in the middle"; bad = 1 }
            next
        }
        /^(not )?ok( |$)/ {
            num = $0; sub(/^(not )?ok /, "", num); sub(/[^0-9].*$/, "", num)
            if (num != "" && num + 0 != n + 1) { print "line " NR ": result " num " after " n; bad = 1 }
            n++
            next
        }
        /^#/ { next }
        { print "line " NR ": not TAP: " substr($0, 1, 80); bad = 1 }
        END {
            if (plan == "") { print "no plan"; bad = 1 }
            else if (plan != n) { print "plan " plan ", " n " results"; bad = 1 }
            exit bad
        }' lines="$(wc -l <"$1")" "$1"
}

printf '1..2\nnot ok 1 - leak: 20 objects\n\n3 B in 1 object, allocated at:\n    f (x.c:1)\nok 2 - clean\n' >"$tmp/bad.tap"
if strict_tap "$tmp/bad.tap" >/dev/null; then
    fail "the strict TAP reader accepts a report line after a result"
else
    pass "the strict TAP reader rejects a report line after a result"
fi

for mode in yes no; do
    # A '#' in the summary (here in the report file's path) could start a
    # TAP directive: it must come out as TAP's escape, '\#'.
    reports="$tmp/reports#$mode"
    mkdir -p "$reports"
    env -u CK_RUN_CASE -u CK_RUN_SUITE LC_CHECK_INNER=1 CK_FORK=$mode LEAKCHECK_REPORT_DIR="$reports" \
        CK_XML_LOG_FILE_NAME="$tmp/$mode.xml" CK_TAP_LOG_FILE_NAME="$tmp/$mode.tap" \
        "$suite" >"$tmp/$mode.out" 2>"$tmp/$mode.err" || true
    if grep -q "inner: 214 run, 7 failed" "$tmp/$mode.out"; then
        pass "CK_FORK=$mode: every test ran, the seven leaky ones failed"
    else
        fail "CK_FORK=$mode: $(tail -3 "$tmp/$mode.out")"
    fi

    if xmllint --noout "$tmp/$mode.xml" 2>"$tmp/xmllint.err"; then
        pass "CK_FORK=$mode: the XML log is well-formed"
    else
        fail "CK_FORK=$mode: xmllint: $(head -3 "$tmp/xmllint.err")"
    fi
    tests=$(xmllint --xpath 'count(//*[local-name()="test"])' "$tmp/$mode.xml")
    failed=$(xmllint --xpath 'count(//*[local-name()="test"][@result="failure"])' "$tmp/$mode.xml")
    big=$(xmllint --xpath 'string(//*[local-name()="test"][*[local-name()="id"]="inner_assert_huge_report_leaky"]/*[local-name()="message"])' "$tmp/$mode.xml")
    if [ "$tests" = 214 ] && [ "$failed" = 7 ] && [[ $big == *"256 objects"*"full report"* ]]; then
        pass "CK_FORK=$mode: the XML log has 214 tests, 7 failures, the summary as message"
    else
        fail "CK_FORK=$mode: XML has $tests tests, $failed failures, message '${big:0:120}'"
    fi

    if prove -e cat "$tmp/$mode.tap" >"$tmp/prove.out" 2>&1; then
        fail "CK_FORK=$mode: prove passed a log with failures"
    elif grep -q "Parse errors" "$tmp/prove.out" || ! grep -q "Failed 7/214 subtests" "$tmp/prove.out"; then
        fail "CK_FORK=$mode: prove: $(grep -E 'Parse|Failed' "$tmp/prove.out" | head -3)"
    else
        pass "CK_FORK=$mode: prove reads the TAP log: 7 of 214 failed, no parse error"
    fi

    if grep -qF "reports\\#$mode/inner_assert_huge_report_leaky.txt" "$tmp/$mode.tap" &&
        [ -s "$reports/inner_assert_huge_report_leaky.txt" ]; then
        pass "CK_FORK=$mode: a '#' in the summary is escaped in the TAP log"
    else
        fail "CK_FORK=$mode: no escaped report path in: $(grep -m1 huge_report "$tmp/$mode.tap" | cut -c1-200)"
    fi

    if strict_tap "$tmp/$mode.tap" >"$tmp/strict.out"; then
        pass "CK_FORK=$mode: the strict TAP reader accepts the log"
    else
        fail "CK_FORK=$mode: strict TAP: $(head -3 "$tmp/strict.out")"
    fi
done

if [ $failures -ne 0 ]; then
    echo "cli_check_logs.sh: $failures failed"
    exit 1
fi
echo "cli_check_logs.sh: all passed"
