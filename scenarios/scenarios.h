/* SPDX-License-Identifier: MIT */
/* scenarios.h: the catalogue of leak reproductions.
 *
 * Each scenario is a small program in the shape of real code (a dispatcher,
 * a fan-out, a cache, a pool) that reproduces one pattern of PATTERNS.md
 * twice: a leaky variant that leaves threads blocked forever or memory live,
 * and a fixed variant that ends every thread it starts and frees every block
 * before it returns. A variant runs the scenario body only; the runner forks
 * a child per variant, takes the baseline, calls the variant, and verifies at
 * a zero budget. The child is discarded afterwards, which is what lets a leaky
 * variant leave threads blocked for good.
 *
 * The runner (runner.c) is part of this module so that the command line and
 * the tests run the same code, the tests on scenario lists of their own. */
#ifndef LC_SCENARIOS_H
#define LC_SCENARIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "leakcheck.h"

/* What a check after the leaky variant must find. */
typedef struct lc_scenario_expect {
    int threads;           /* leaked threads expected in the leaky variant */
    const char *wait;      /* their wait state, e.g. "chan receive" (NULL: any) */
    long long min_objects; /* at least this many leaked objects */
    long long min_bytes;   /* at least this many leaked bytes */
    const char *must_name; /* a function of the scenario that the leak report must name */
} lc_scenario_expect;

typedef struct lc_scenario {
    const char *name;    /* "map-chan-thread", ... kebab-case */
    const char *summary; /* one line */
    void (*leaky)(void);
    void (*fixed)(void);
    lc_scenario_expect expect;
} lc_scenario;

extern const lc_scenario lc_scenarios[];
extern const size_t lc_scenario_count;

/* The scenario called `name`, or NULL. */
const lc_scenario *lc_scenario_find(const char *name);

/* The variants, one pair per scenario file. */
void sc_map_chan_thread_leaky(void);
void sc_map_chan_thread_fixed(void);
void sc_chan_waitgroup_thread_leaky(void);
void sc_chan_waitgroup_thread_fixed(void);
void sc_closure_captures_map_leaky(void);
void sc_closure_captures_map_fixed(void);
void sc_self_registration_leaky(void);
void sc_self_registration_fixed(void);
void sc_delete_no_shrink_leaky(void);
void sc_delete_no_shrink_fixed(void);
void sc_cleanup_never_runs_leaky(void);
void sc_cleanup_never_runs_fixed(void);
void sc_blocked_channel_leaky(void);
void sc_blocked_channel_fixed(void);

/* ------------------------------------------------------------- the runner */

typedef enum lc_runner_format {
    LC_RUNNER_TEXT, /* the summary table (and each full report with verbose) */
    LC_RUNNER_JSON, /* one "leakcheck/1" report per line, with scenario fields */
    LC_RUNNER_TAP,  /* TAP version 12: a plan and one test line per variant */
} lc_runner_format;

/* The defaults of the options left at 0. The settle window of a leaky
 * variant is short: its leaked threads are blocked for good, so waiting
 * longer only delays the verdict (goleak settles in about 0.4 s), and a
 * thread on its way out counts as exited once its start routine returns.
 * Fixed variants get the library's default window, where waiting is what
 * keeps a verdict right. */
#define LC_RUNNER_DEFAULT_TIMEOUT 10.0
#define LC_RUNNER_LEAKY_SETTLE 0.3

typedef struct lc_runner_opts {
    /* text: each full report before the table; tap: each report as comment
     * lines */
    int verbose;
    /* children running at once; 0 means 1 */
    int jobs;
    /* seconds a variant may run before its thread dump is taken and it is
     * killed; 0 means LC_RUNNER_DEFAULT_TIMEOUT */
    double timeout;
    lc_runner_format format;
    /* settle window of the leaky variants' checks; 0 means
     * LC_RUNNER_LEAKY_SETTLE */
    double leaky_settle;
    /* > 0: each child first tells on stderr which pid it runs in and waits
     * up to this long for a tracer on the toolkit's probes (leaks.bt) */
    double wait_for_tracer;
} lc_runner_opts;

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
int lc_scenarios_execute(const lc_scenario *const *list, size_t n, const lc_runner_opts *o,
                         lc_variant_result **results);

/* Run the count variants whose scenario and leaky members are set in r[]
 * (the rest zeroed), as lc_scenarios_execute does; they are filled in
 * place. For a selection of variants, such as one shard of a run. Returns
 * the number of expectations not met, or -1 with errno set. */
int lc_variants_execute(lc_variant_result *r, size_t count, const lc_runner_opts *o);

/* Print results in o->format to out. */
void lc_scenarios_print(const lc_variant_result *results, size_t count, const lc_runner_opts *o,
                        FILE *out);

void lc_variant_results_free(lc_variant_result *results, size_t count);

/* Execute, print to out, release: the number of expectations not met, or -1
 * with errno set. */
int lc_scenarios_run(const lc_scenario *const *list, size_t n, const lc_runner_opts *o, FILE *out);

#endif
