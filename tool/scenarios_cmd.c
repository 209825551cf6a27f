/* SPDX-License-Identifier: MIT */
/* scenarios_cmd.c: `leakcheck scenarios list | run`.
 *
 * The command line of the scenario runner: it reads the options and the
 * scenario names, and hands the run to the runner module (scenarios/runner.c),
 * which the tests also drive with scenario lists of their own. JUnit XML is
 * written here, from the runner's results, by the tool's one XML writer
 * (junit.h). With --shard K/N only the shard's variants run (shard.h), and
 * the JSON or JUnit output says which shard it is, for `leakcheck merge`.
 * Every usage error is one line on stderr and exit status 2, before
 * anything runs. */
#include "tool.h"
#include "opts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "junit.h"
#include "scenarios.h"
#include "shard.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: leakcheck scenarios list\n"
            "  or:  leakcheck scenarios run [OPTIONS] [NAME...]\n"
            "List the reproduction scenarios, or run the leaky and the fixed variant of\n"
            "each (all of them when no NAME is given), each in a forked child, and check\n"
            "that the harness finds every leak as the scenario declares and that every\n"
            "fix is clean. Options and names may come in any order.\n"
            "\n"
            "Options of run:\n"
            "  -v, --verbose            print each full report before the summary table\n"
            "  -j, --jobs=N             run N children at once, 1 to 1024 (default 1)\n"
            "  -t, --timeout=SECONDS    dump the threads of a variant still running after\n"
            "                           SECONDS and kill it (default %g, at most a year)\n"
            "  -f, --format=FORMAT      text (a summary table, the default), json (one\n"
            "                           report per variant), tap, or junit (JUnit XML:\n"
            "                           one test case per variant, failing when its\n"
            "                           expectation does not hold, an error when it\n"
            "                           timed out or crashed)\n"
            "  -o, --output=FILE        write the results to FILE instead of stdout\n"
            "      --shard=K/N          run only shard K of N: the i-th variant of the whole\n"
            "                           run (from 0, leaky before fixed, scenarios in the\n"
            "                           order named) when i mod N is K-1; json and junit\n"
            "                           results of every shard join with leakcheck merge\n"
            "      --pprof=DIR          write the before/after heap profiles of each leak\n"
            "                           to DIR\n"
            "      --wait-for-tracer=SECONDS\n"
            "                           each child prints its pid and waits up to SECONDS\n"
            "                           for a tracer on the toolkit's probes, such as\n"
            "                           bpftrace -p PID scenarios/leaks.bt\n"
            "  -h, --help               print this help\n"
            "\n"
            "Exit status:\n"
            "  0        every expectation holds (list: always)\n"
            "  1        an expectation does not hold\n"
            "  2        a usage error, or the scenarios cannot be run, or the results\n"
            "           cannot be written\n",
            LC_RUNNER_DEFAULT_TIMEOUT);
}

/* What the command line asked for beyond the runner's options. */
typedef struct run_args {
    bool junit;                       /* JUnit XML, written here from the runner's results */
    const char *output;               /* NULL: stdout */
    lc_shard shard;                   /* {0, 0}: every variant */
    char run_id[LC_SHARD_RUN_ID_LEN]; /* of the picked scenarios (shard.h) */
} run_args;

static int parse_format(const char *value, lc_runner_format *out, run_args *a) {
    a->junit = strcmp(value, "junit") == 0;
    if (strcmp(value, "text") == 0 || a->junit)
        *out = LC_RUNNER_TEXT;
    else if (strcmp(value, "json") == 0)
        *out = LC_RUNNER_JSON;
    else if (strcmp(value, "tap") == 0)
        *out = LC_RUNNER_TAP;
    else
        return lc_opts_fail("scenarios run", "--format: '%s' is not text, json, tap or junit",
                            value);
    return 0;
}

enum { OPT_PPROF = 256, OPT_WAIT_FOR_TRACER, OPT_SHARD };

static const struct option run_options[] = {
    {"verbose", no_argument, NULL, 'v'},
    {"jobs", required_argument, NULL, 'j'},
    {"timeout", required_argument, NULL, 't'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"pprof", required_argument, NULL, OPT_PPROF},
    {"wait-for-tracer", required_argument, NULL, OPT_WAIT_FOR_TRACER},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Read the options and names of `scenarios run` into *o and picked[].
 * Returns -1 to go on, else the exit status (after --help or an error). */
static int parse_run(int argc, char **argv, lc_runner_opts *ro, run_args *a,
                     const lc_scenario **picked, size_t *npicked) {
    lc_opts o = {.command = "scenarios run",
                 .help_command = "scenarios",
                 .shortopts = "vj:t:f:o:h",
                 .longopts = run_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    int c;
    int64_t jobs;
    const lc_scenario *sc;
    char why[128];
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (c) {
        case LC_OPTS_OPERAND:
            if (!(sc = lc_scenario_find(o.optarg)))
                return lc_opts_fail("scenarios run", "no scenario named '%s' (see scenarios list)",
                                    o.optarg);
            picked[(*npicked)++] = sc;
            break;
        case 'v':
            ro->verbose = 1;
            break;
        case 'j':
            if (lc_opts_integer(&o, 1, 1024, 0, &jobs) != 0) return LC_EXIT_USAGE;
            ro->jobs = (int)jobs;
            break;
        case 't':
            if (lc_opts_seconds(&o, 0, &ro->timeout) != 0) return LC_EXIT_USAGE;
            break;
        case 'f':
            if (parse_format(o.optarg, &ro->format, a) != 0) return LC_EXIT_USAGE;
            break;
        case 'o':
            a->output = o.optarg;
            break;
        case OPT_PPROF:
            /* Children inherit it: each failing check writes its before and
             * after heap profiles there. */
            if (!o.optarg[0] || access(o.optarg, W_OK) != 0)
                return lc_opts_fail("scenarios run", "--pprof: '%s' is not a writable directory",
                                    o.optarg);
            setenv("LEAKCHECK_PPROF_DIR", o.optarg, 1);
            break;
        case OPT_WAIT_FOR_TRACER:
            if (lc_opts_seconds(&o, 1, &ro->wait_for_tracer) != 0) return LC_EXIT_USAGE;
            break;
        case OPT_SHARD:
            if (lc_shard_parse(o.optarg, &a->shard, why, sizeof why) != 0)
                return lc_opts_fail("scenarios run", "--shard: %s", why);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default: /* LC_OPTS_ERROR, printed */
            return LC_EXIT_USAGE;
        }
    }
    for (int i = o.optind; i < argc; i++) { /* names after "--" */
        if (!(sc = lc_scenario_find(argv[i])))
            return lc_opts_fail("scenarios run", "no scenario named '%s' (see scenarios list)",
                                argv[i]);
        picked[(*npicked)++] = sc;
    }
    return -1;
}

/* One test case per variant: it passes when its expectation holds (a
 * leaky variant passes by leaking as declared), fails when the check ran
 * and the expectation does not hold, and is an error when the variant
 * could not be checked (it timed out or crashed). */
static void write_junit(const lc_variant_result *res, size_t count, const run_args *a, size_t total,
                        double started, double seconds, lc_buf *out) {
    lc_junit_case *cases = calloc(count ? count : 1, sizeof *cases);
    lc_buf *texts = calloc(count ? count : 1, sizeof *texts);
    if (!cases || !texts) {
        out->failed = true;
    } else {
        for (size_t i = 0; i < count; i++) {
            const lc_variant_result *r = &res[i];
            lc_junit_case *c = &cases[i];
            c->classname = r->scenario->name;
            c->name = r->leaky ? "leaky" : "fixed";
            c->seconds = r->seconds;
            c->message = r->why;
            lc_buf_printf(&texts[i], "%s (%s): %s\n", r->scenario->name, c->name,
                          r->scenario->summary);
            if (r->report) lc_buf_printf(&texts[i], "%s", r->report);
            if (r->expectation_met) {
                c->outcome = LC_JUNIT_PASSED;
                c->output = texts[i].data;
                continue;
            }
            lc_buf_printf(&texts[i], "expectation not met: %s\n", r->why);
            c->text = texts[i].data;
            if (r->outcome == LC_VARIANT_TIMED_OUT) {
                c->outcome = LC_JUNIT_ERRORED;
                c->type = "timeout";
            } else if (r->outcome == LC_VARIANT_CRASHED) {
                c->outcome = LC_JUNIT_ERRORED;
                c->type = "crash";
            } else if (r->check.verdict < 0) {
                c->outcome = LC_JUNIT_ERRORED;
                c->type = "check-failed";
            } else {
                c->outcome = LC_JUNIT_FAILED;
                /* The fix leaked, or the leak was not found as declared. */
                c->type = r->leaky ? "expectation" : "leak";
            }
        }
        /* A shard says which one it is and how many variants the whole run
         * has, for leakcheck merge. */
        char shard[32], all[32];
        snprintf(shard, sizeof shard, "%d/%d", a->shard.k, a->shard.n);
        snprintf(all, sizeof all, "%zu", total);
        lc_junit_property props[] = {{LC_SHARD_PROP_SHARD, shard},
                                     {LC_SHARD_PROP_TOTAL, all},
                                     {LC_SHARD_PROP_RUN, a->run_id}};
        lc_junit_write_suite(out, "leakcheck scenarios run", seconds, started, props,
                             a->shard.n ? 3 : 0, cases, count);
    }
    for (size_t i = 0; texts && i < count; i++)
        lc_buf_free(&texts[i]);
    free(cases);
    free(texts);
}

/* The last line of a shard's JSON: which shard it is, how many variants
 * the whole run has and how many this shard ran, for leakcheck merge. */
static void print_shard_line(const run_args *a, size_t total, size_t count, int unmet, FILE *f) {
    fprintf(f,
            "{\"schema\": \"leakcheck/1\", \"kind\": \"shard\", \"command\": \"scenarios run\", "
            "\"shard\": %d, \"shards\": %d, \"total\": %zu, \"variants\": %zu, "
            "\"expectations_not_met\": %d, \"run\": \"%s\"}\n",
            a->shard.k, a->shard.n, total, count, unmet, a->run_id);
}

/* Runs the shard's variants of the picked scenarios (all of them when the
 * run is not split) and writes their results to f; the number of
 * expectations not met, or -1 after printing why the runner failed. */
static int execute(const lc_scenario **picked, size_t npicked, const lc_runner_opts *o, run_args *a,
                   FILE *f) {
    size_t total = 2 * npicked, count = 0;
    lc_variant_result *res = calloc(total ? total : 1, sizeof *res);
    if (!res) {
        fprintf(stderr, "leakcheck scenarios run: cannot run the scenarios: out of memory\n");
        return -1;
    }
    /* The run is its scenarios in their order. */
    const char **names = calloc(npicked ? npicked : 1, sizeof *names);
    if (!names) {
        free(res);
        fprintf(stderr, "leakcheck scenarios run: cannot run the scenarios: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < npicked; i++)
        names[i] = picked[i]->name;
    lc_shard_run_id(names, npicked, a->run_id);
    free(names);
    for (size_t i = 0; i < total; i++) {
        if (!lc_shard_owns(&a->shard, i)) continue;
        res[count].scenario = picked[i / 2];
        res[count++].leaky = i % 2 == 0;
    }
    double started = lc_junit_now();
    int unmet = lc_variants_execute(res, count, o);
    if (unmet < 0) {
        fprintf(stderr, "leakcheck scenarios run: cannot run the scenarios: %s\n", strerror(errno));
        free(res);
        return -1;
    }
    if (!a->junit) {
        lc_scenarios_print(res, count, o, f);
        if (a->shard.n && o->format == LC_RUNNER_JSON)
            print_shard_line(a, total, count, unmet, f);
        else if (a->shard.n && o->format == LC_RUNNER_TEXT)
            fprintf(f, "shard %d/%d: %zu of the run's %zu variants\n", a->shard.k, a->shard.n,
                    count, total);
        lc_variant_results_free(res, count);
        return unmet;
    }
    lc_buf xml = {0};
    write_junit(res, count, a, total, started, lc_junit_now() - started, &xml);
    lc_variant_results_free(res, count);
    if (xml.failed) {
        fprintf(stderr, "leakcheck scenarios run: cannot write the results: out of memory\n");
        unmet = -1;
    } else if (xml.data) {
        fputs(xml.data, f);
    }
    lc_buf_free(&xml);
    return unmet;
}

static int run(int argc, char **argv) {
    lc_runner_opts o = {.jobs = 1, .timeout = LC_RUNNER_DEFAULT_TIMEOUT};
    run_args a = {0};
    const lc_scenario **picked = calloc(lc_scenario_count + (size_t)argc, sizeof *picked);
    if (!picked) return lc_opts_fail("scenarios run", "out of memory");
    size_t npicked = 0;
    int status = parse_run(argc, argv, &o, &a, picked, &npicked);
    /* The file is opened before anything runs, so that a bad path fails
     * first; a write error is found when it is closed. */
    FILE *f = stdout;
    if (status < 0 && a.output && !(f = fopen(a.output, "we"))) {
        status = lc_opts_fail("scenarios run", "cannot write the results to '%s': %s", a.output,
                              strerror(errno));
    }
    if (status < 0) {
        if (!npicked)
            for (size_t i = 0; i < lc_scenario_count; i++)
                picked[npicked++] = &lc_scenarios[i];
        int unmet = execute(picked, npicked, &o, &a, f);
        status = unmet < 0 ? 2 : unmet > 0 ? 1 : 0;
        if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
            fprintf(stderr, "leakcheck scenarios run: cannot write the results to '%s': %s\n",
                    a.output ? a.output : "stdout", strerror(errno));
            status = 2;
        }
    }
    free(picked);
    return status;
}

static const struct option list_options[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int list(int argc, char **argv) {
    lc_opts o = {.command = "scenarios list",
                 .help_command = "scenarios",
                 .shortopts = "h",
                 .longopts = list_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    int c;
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == LC_OPTS_OPERAND)
            return lc_opts_usage_error(&o, "unexpected argument '%s'", o.optarg);
        return LC_EXIT_USAGE;
    }
    if (o.optind < argc) return lc_opts_usage_error(&o, "unexpected argument '%s'", argv[o.optind]);
    for (size_t i = 0; i < lc_scenario_count; i++)
        printf("%-26s %s\n", lc_scenarios[i].name, lc_scenarios[i].summary);
    return 0;
}

int lc_cli_scenarios(int argc, char **argv) {
    if (argc < 2)
        return lc_opts_fail("scenarios",
                            "no subcommand given (list or run); try 'leakcheck scenarios --help'");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "list") == 0) return list(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0) return run(argc - 1, argv + 1);
    return lc_opts_fail("scenarios",
                        "unknown subcommand '%s' (list or run); try 'leakcheck scenarios --help'",
                        argv[1]);
}
