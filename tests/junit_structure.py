#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# junit_structure.py: the JUnit structure CI dashboards rely on, checked.
#
#   junit_structure.py FILE
#
# GitLab's junit report parser and the common readers (Jenkins, the GitHub
# test-report actions) want: a <testsuites> root; <testsuite> children with
# name, tests, failures and errors; <testcase> children with classname,
# name and a time in seconds; at most one <failure> or <error> in a case,
# with a one-line message and a type. The counts in the attributes must be
# the counted elements, at the root too. Prints one line per test case,
# "OUTCOME<TAB>TYPE<TAB>CLASSNAME<TAB>NAME" (OUTCOME passed, failure or
# error), for the shell test to assert on; exits 1 after naming the first
# rule a file breaks.
import sys
import xml.etree.ElementTree as ET


def fail(msg):
    print("junit_structure.py: %s: %s" % (sys.argv[1], msg), file=sys.stderr)
    sys.exit(1)


def count_attr(el, name, want):
    got = el.get(name)
    if got is None:
        fail("<%s> has no %s attribute" % (el.tag, name))
    if not got.isdigit() or int(got) != want:
        fail("<%s %s=\"%s\"> but %d counted" % (el.tag, name, got, want))


def seconds(el):
    t = el.get("time")
    try:
        if t is None or float(t) < 0:
            raise ValueError
    except ValueError:
        fail("<%s name=\"%s\"> has no time in seconds (%r)" % (el.tag, el.get("name"), t))


root = ET.parse(sys.argv[1]).getroot()
if root.tag != "testsuites":
    fail("the root is <%s>, not <testsuites>" % root.tag)
suites = root.findall("testsuite")
if not suites or len(suites) != len(list(root)):
    fail("<testsuites> must hold <testsuite> elements only, at least one")
lines, totals = [], [0, 0, 0]
for suite in suites:
    if not suite.get("name"):
        fail("a <testsuite> has no name")
    seconds(suite)
    cases = suite.findall("testcase")
    n = [len(cases), 0, 0]
    for case in cases:
        for attr in ("classname", "name"):
            if not case.get(attr):
                fail("a <testcase> has no %s" % attr)
        seconds(case)
        verdicts = case.findall("failure") + case.findall("error")
        if len(verdicts) > 1:
            fail("<testcase name=\"%s\"> has %d failures and errors" % (case.get("name"), len(verdicts)))
        outcome, kind = "passed", "-"
        if verdicts:
            v = verdicts[0]
            outcome, kind = v.tag, v.get("type") or ""
            msg = v.get("message")
            if not msg or "\n" in msg:
                fail("<%s> in \"%s\" has no one-line message" % (v.tag, case.get("name")))
            if not kind:
                fail("<%s> in \"%s\" has no type" % (v.tag, case.get("name")))
            n[1 if v.tag == "failure" else 2] += 1
        lines.append("\t".join((outcome, kind, case.get("classname"), case.get("name"))))
    count_attr(suite, "tests", n[0])
    count_attr(suite, "failures", n[1])
    count_attr(suite, "errors", n[2])
    totals = [a + b for a, b in zip(totals, n)]
count_attr(root, "tests", totals[0])
count_attr(root, "failures", totals[1])
count_attr(root, "errors", totals[2])
print("\n".join(lines))
