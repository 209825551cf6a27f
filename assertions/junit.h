/* SPDX-License-Identifier: MIT */
/* junit.h: JUnit XML, the report format CI dashboards read.
 *
 * One writer for the three commands that can report in it (run, scenarios
 * run, fault-sweep): each turns the results it already holds into a list of
 * test cases, and this module writes the document and owns its escaping.
 * The shape is the one GitLab's `artifacts:reports:junit` and the common
 * readers (Jenkins, the GitHub test-report actions) accept: a <testsuites>
 * root with the totals, one <testsuite> per command run, one <testcase> per
 * item, and in a case that did not pass a <failure> (the item leaked) or an
 * <error> (the item could not be checked: never a pass), whose message is
 * one line and whose text is the item's full report. */
#ifndef LC_TOOL_JUNIT_H
#define LC_TOOL_JUNIT_H

#include <stddef.h>

#include "buf.h"

typedef enum lc_junit_outcome {
    LC_JUNIT_PASSED,
    LC_JUNIT_FAILED,  /* <failure>: the check ran and the item failed it */
    LC_JUNIT_ERRORED, /* <error>: the item could not be checked */
} lc_junit_outcome;

typedef struct lc_junit_case {
    const char *classname, *name;
    double seconds;
    lc_junit_outcome outcome;
    const char *type;    /* of the failure or error: "leak", "timeout", "crash", ... */
    const char *message; /* one line; only its first line is written */
    const char *text;    /* the full report of a failure or error (may be NULL) */
    const char *output;  /* <system-out> of any case (may be NULL) */
} lc_junit_case;

/* The document for one command run: a <testsuites> holding one <testsuite>
 * named `suite` that took `seconds` and started at the wall-clock time
 * `started` (seconds since the epoch), with the n cases in order. Text is
 * escaped as XML 1.0 requires, and what it cannot hold at all (control
 * characters, bytes that are not UTF-8) is replaced by U+FFFD. */
void lc_junit_write(lc_buf *out, const char *suite, double seconds, double started,
                    const lc_junit_case *cases, size_t n);

/* A <property> of the <testsuite>: what a reader of the document needs
 * beyond its cases (`leakcheck merge` reads the shard it came from). */
typedef struct lc_junit_property {
    const char *name, *value;
} lc_junit_property;

/* lc_junit_write, with the nprops properties in a <properties> element
 * at the head of the <testsuite> (none when nprops is 0). */
void lc_junit_write_suite(lc_buf *out, const char *suite, double seconds, double started,
                          const lc_junit_property *props, size_t nprops, const lc_junit_case *cases,
                          size_t n);

/* Seconds since the epoch, for `started`. */
double lc_junit_now(void);

#endif
