/* SPDX-License-Identifier: MIT */
/* scenario.h: the scenario runner and its command line (layer scenario).
 *
 * The public side is leakcheck_scenario.h: scenarios, their registration,
 * lc_scenarios_run and lc_scenarios_main. This header adds what the tool
 * and the tests need beyond it: each variant's result as data, a run of a
 * selection of variants (one shard), the results printed or written as
 * JUnit with a shard's properties, and the command line over a list of the
 * caller's (the tool's built-in catalogue). */
#ifndef LC_SCENARIO_H
#define LC_SCENARIO_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "junit.h"
#include "leakcheck_scenario.h"

typedef enum lc_variant_outcome {
    LC_VARIANT_CHECKED,   /* the child ran the variant and its check */
    LC_VARIANT_TIMED_OUT, /* it ran past the timeout; report is its thread dump */
    LC_VARIANT_CRASHED,   /* it died of a signal or exited without a result */
} lc_variant_outcome;

typedef struct lc_variant_result {
    const lc_scenario *scenario;
    bool leaky;
    lc_variant_outcome outcome;
    int signal;           /* the signal that ended the child, or 0 */
    bool expectation_met; /* the leak found as declared, or the fix clean */
    char why[240];        /* when not met: what went wrong, one line */
    double seconds;       /* the variant and its check */
    lc_result check;      /* the check's result (LC_VARIANT_CHECKED only) */
    char *report;         /* the check's text report, or the thread dump of a
                             hang; NULL when the child left nothing */
    char *json_members;   /* the members of the check's "leakcheck/1" report,
                             without its braces (to be rendered in an object
                             of the caller's), or NULL */
} lc_variant_result;

/* Run both variants of each of the n scenarios of list, leaky first, each in
 * a forked child, at most o->jobs at a time (o may be NULL for defaults).
 * *results receives 2 * n results in that order, to be released with
 * lc_variant_results_free. Returns the number of expectations not met, or
 * -1 with errno set when the runner itself failed (nothing to release). */
int lc_scenarios_execute(const lc_scenario *const *list, size_t n, const lc_scenarios_opts *o,
                         lc_variant_result **results);

/* Run the count variants whose scenario and leaky members are set in r[]
 * (the rest zeroed), as lc_scenarios_execute does; they are filled in
 * place. For a selection of variants, such as one shard of a run. Returns
 * the number of expectations not met, or -1 with errno set. */
int lc_variants_execute(lc_variant_result *r, size_t count, const lc_scenarios_opts *o);

/* Print results in o->format to out (JUnit without properties). 0, or -1
 * with errno set when they could not be rendered. */
int lc_scenarios_print(const lc_variant_result *results, size_t count, const lc_scenarios_opts *o,
                       FILE *out);

/* The results as one JUnit document into out, a suite of that name with
 * one test case per variant and the suite's properties (a shard's, for
 * leakcheck merge); started is lc_junit_now() when the run began. */
void lc_scenarios_junit(const char *suite, const lc_variant_result *results, size_t count,
                        const lc_junit_property *props, size_t nprops, double started,
                        double seconds, lc_buf *out);

void lc_variant_results_free(lc_variant_result *results, size_t count);

/* The command line of lc_scenarios_main over the n scenarios of list, for
 * `program` and a command prefix, as usage and messages name them:
 * "leakcheck" and "scenarios" for the tool, the user's program and "" for
 * lc_scenarios_main. argv[0] is skipped; argv[1] is list or run. Returns
 * the exit status. */
int lc_scenarios_cli(const char *program, const char *prefix, const lc_scenario *const *list,
                     size_t n, int argc, char **argv);

#endif
