/* SPDX-License-Identifier: MIT */
/* leakcheck_scenario.h: leak reproductions that users write, run in forked
 * children.
 *
 * A scenario is a small program in the shape of real code that reproduces
 * one leak twice: a leaky variant, which leaves threads blocked or memory
 * live, and a fixed variant, which ends every thread it starts and frees
 * what it allocates. The runner forks a child per variant, takes the
 * baseline, runs the variant, checks at a zero budget and judges what the
 * scenario declares a leak must look like: how many threads, in which wait,
 * how many objects and bytes at least, and a function the report must name.
 * A hung variant is killed at its timeout with a dump of its threads; one
 * that crashes is reported with its signal. The child is thrown away after
 * its check, which is what lets a leaky variant leave threads blocked for
 * good. `leakcheck scenarios` runs the built-in reproductions with the same
 * code.
 *
 *   #include <leakcheck_scenario.h>
 *
 *   LC_SCENARIO(cache_never_evicts, "a cache that only grows",
 *               .min_objects = 100, .must_name = "cache_put") {
 *       for (int i = 0; i < 100; i++) cache_put(i);
 *       if (!leaky) cache_clear();
 *   }
 *
 *   int main(int argc, char **argv) { return lc_scenarios_main(argc, argv); }
 *
 * `./prog list` lists the scenarios, `./prog run [OPTIONS] [NAME...]` runs
 * them (`./prog --help`: jobs, timeouts, text, JSON, TAP and JUnit output,
 * shards). Link with -lleakcheck (pkg-config leakcheck); the Go-like
 * channels, maps and wait groups that reproductions are often written with
 * are in leakcheck_toolkit.h (pkg-config leakcheck-toolkit). */
#ifndef LEAKCHECK_SCENARIO_H
#define LEAKCHECK_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "leakcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the check after the leaky variant must find. Every member left at 0
 * asks nothing; the check must fail all the same (a leaky variant that
 * leaks nothing does not meet its expectation), and the fixed variant must
 * pass it. */
typedef struct lc_scenario_expect {
    int threads;           /* leaked threads, exactly */
    const char *wait;      /* their wait or state, e.g. "chan receive" (NULL: any) */
    long long min_objects; /* at least this many leaked objects */
    long long min_bytes;   /* at least this many leaked bytes */
    const char *must_name; /* a function the leak report must name (NULL: none) */
} lc_scenario_expect;

typedef struct lc_scenario {
    const char *name;    /* how `run NAME` selects it */
    const char *summary; /* one line, for `list` and the reports */
    void (*leaky)(void);
    void (*fixed)(void);
    lc_scenario_expect expect;
} lc_scenario;

/* Add a scenario to the ones lc_scenarios_main runs, in the order added.
 * The scenario is used in place and must outlive the run. 0, or -1 with
 * errno EINVAL (no name, a name that is not letters, digits, '-' and '_',
 * or a variant missing) or EEXIST (a scenario of that name is already
 * registered); lc_scenarios_main then refuses to run and says why. */
LC_API int lc_scenario_register(const lc_scenario *s);

/* Declares and registers a scenario named after `id`, with its one-line
 * summary and the members of its lc_scenario_expect; the braces that follow
 * are its body, run with `leaky` true in the leaky variant and false in the
 * fixed one. In C++ it needs C++20, for the designated initializers. */
#define LC_SCENARIO(id, summary_text, ...)                                                         \
    static void lc_scenario_body_##id(bool leaky);                                                 \
    static void lc_scenario_leaky_##id(void) {                                                     \
        lc_scenario_body_##id(true);                                                               \
    }                                                                                              \
    static void lc_scenario_fixed_##id(void) {                                                     \
        lc_scenario_body_##id(false);                                                              \
    }                                                                                              \
    LC_SCENARIO_PARTIAL_INIT_BEGIN                                                                 \
    static const lc_scenario lc_scenario_##id = {                                                  \
        #id, summary_text, lc_scenario_leaky_##id, lc_scenario_fixed_##id, {__VA_ARGS__}};         \
    LC_SCENARIO_PARTIAL_INIT_END                                                                   \
    __attribute__((constructor)) static void lc_scenario_register_##id(void) {                     \
        lc_scenario_register(&lc_scenario_##id);                                                   \
    }                                                                                              \
    static void lc_scenario_body_##id(bool leaky)

/* The expectation names only the members it needs: C++20's designated
 * initializers would have -Wextra ask for the others. */
#ifdef __cplusplus
#define LC_SCENARIO_PARTIAL_INIT_BEGIN                                                             \
    _Pragma("GCC diagnostic push")                                                                 \
        _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define LC_SCENARIO_PARTIAL_INIT_END _Pragma("GCC diagnostic pop")
#else
#define LC_SCENARIO_PARTIAL_INIT_BEGIN
#define LC_SCENARIO_PARTIAL_INIT_END
#endif

typedef enum lc_scenarios_format {
    LC_SCENARIOS_TEXT,  /* a summary table (and each full report with verbose) */
    LC_SCENARIOS_JSON,  /* one "leakcheck/1" report per variant and line */
    LC_SCENARIOS_TAP,   /* TAP version 12: a plan and one test line per variant */
    LC_SCENARIOS_JUNIT, /* JUnit XML: one test case per variant */
} lc_scenarios_format;

/* The defaults of the options left at 0. */
#define LC_SCENARIOS_DEFAULT_TIMEOUT 10.0
#define LC_SCENARIOS_LEAKY_SETTLE 0.3

typedef struct lc_scenarios_opts {
    int verbose;    /* text: each full report before the table; tap: as comments */
    int jobs;       /* children at once; 0 means 1 */
    double timeout; /* seconds a variant may run before its threads are dumped
                       and it is killed; 0 means LC_SCENARIOS_DEFAULT_TIMEOUT */
    lc_scenarios_format format;
    /* The settle window of the leaky variants' checks; 0 means
     * LC_SCENARIOS_LEAKY_SETTLE. Their leaked threads are blocked for good,
     * so waiting longer only delays the verdict; the fixed variants get the
     * library's default window, where waiting is what keeps a verdict right. */
    double leaky_settle;
    /* > 0: each child first prints its pid on stderr and waits up to this
     * long for a tracer on the toolkit's probes (leakcheck_toolkit.h) */
    double wait_for_tracer;
} lc_scenarios_opts;

/* Run the leaky and the fixed variant of each of the n scenarios of list,
 * each in a forked child, at most o->jobs at a time (o may be NULL), and
 * print the results to out in o->format. The number of expectations not
 * met (0: every leak found as declared and every fix clean), or -1 with
 * errno set when the runner itself failed. */
LC_API int lc_scenarios_run(const lc_scenario *const *list, size_t n, const lc_scenarios_opts *o,
                            FILE *out);

/* The command line of a scenario program, over the registered scenarios:
 * `list`, or `run [OPTIONS] [NAME...]` (`--help` for the options). Returns
 * the exit status: 0 when every expectation holds, 1 when one does not, 2
 * on a usage error or when the scenarios cannot be run. */
LC_API int lc_scenarios_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
