/* SPDX-License-Identifier: MIT */
/* scenario_cli.c: the command line of a scenario program, and the
 * registered scenarios it runs.
 *
 * `list | run [OPTIONS] [NAME...]`, the same for `leakcheck scenarios` (the
 * tool's built-in catalogue) and for a user's program that ends in
 * lc_scenarios_main (the scenarios its LC_SCENARIO declarations
 * registered): one parser, one help text, one set of exit statuses. It
 * reads the options and the names and hands the run to the runner
 * (scenario_runner.c). With --shard K/N only the shard's variants run
 * (shard.h), and the JSON or JUnit output says which shard it is, for
 * `leakcheck merge`. Every usage error is one line on stderr and exit
 * status 2, before anything runs.
 *
 * Registration happens in constructors, before main and before anything
 * could report an error, so a bad registration is kept and refused when
 * the command line runs. The table lives in pages of the library's own,
 * not in the program's heap, where it would be counted against the
 * program. */
#include "scenario.h"

#include "opts.h"
#include "os.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "junit.h"
#include "shard.h"

/* ------------------------------------------------------ registration */

static const lc_scenario **registered;
static size_t nregistered, registered_cap;
static char registration_error[256]; /* the first refusal, for the command line */

static bool valid_name(const char *name) {
    if (!name || !*name) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static const lc_scenario *find(const lc_scenario *const *list, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->name, name) == 0) return list[i];
    return NULL;
}

static int refuse(int err, const char *fmt, const char *name) {
    if (!registration_error[0])
        snprintf(registration_error, sizeof registration_error, fmt, name ? name : "(null)");
    errno = err;
    return -1;
}

int lc_scenario_register(const lc_scenario *s) {
    if (!s) return refuse(EINVAL, "a scenario registered as a null pointer%s", "");
    if (!valid_name(s->name))
        return refuse(EINVAL, "scenario name '%s' is not letters, digits, '-' and '_'", s->name);
    if (!s->leaky || !s->fixed)
        return refuse(EINVAL, "scenario '%s' lacks its leaky or its fixed variant", s->name);
    if (find(registered, nregistered, s->name))
        return refuse(EEXIST, "two scenarios are named '%s'", s->name);
    if (nregistered == registered_cap) {
        size_t cap = registered_cap ? 2 * registered_cap : 64;
        const lc_scenario **grown = lc_os_alloc(cap * sizeof *grown);
        if (!grown) return refuse(ENOMEM, "out of memory registering scenario '%s'", s->name);
        if (registered) {
            memcpy(grown, registered, nregistered * sizeof *grown);
            lc_os_free(registered, registered_cap * sizeof *registered);
        }
        registered = grown;
        registered_cap = cap;
    }
    registered[nregistered++] = s;
    return 0;
}

/* The program as usage and messages name it ("leakcheck scenarios" or the
 * user's program), and the scenarios it runs. */
typedef struct cli {
    const char *program, *prefix;   /* "leakcheck", "scenarios"; "example", "" */
    char run_cmd[64], list_cmd[64]; /* "scenarios run", "run" */
    const lc_scenario *const *list;
    size_t n;
} cli;

static void usage(const cli *c, FILE *out) {
    const char *sep = *c->prefix ? " " : "";
    fprintf(out,
            "Usage: %s%s%s list\n"
            "  or:  %s%s%s run [OPTIONS] [NAME...]\n"
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
            c->program, sep, c->prefix, c->program, sep, c->prefix, LC_SCENARIOS_DEFAULT_TIMEOUT);
}

/* What the command line asked for beyond the runner's options. */
typedef struct run_args {
    const char *output;               /* NULL: stdout */
    lc_shard shard;                   /* {0, 0}: every variant */
    char run_id[LC_SHARD_RUN_ID_LEN]; /* of the picked scenarios (shard.h) */
} run_args;

static int parse_format(const cli *c, const char *value, lc_scenarios_format *out) {
    if (strcmp(value, "text") == 0)
        *out = LC_SCENARIOS_TEXT;
    else if (strcmp(value, "junit") == 0)
        *out = LC_SCENARIOS_JUNIT;
    else if (strcmp(value, "json") == 0)
        *out = LC_SCENARIOS_JSON;
    else if (strcmp(value, "tap") == 0)
        *out = LC_SCENARIOS_TAP;
    else
        return lc_opts_fail(c->run_cmd, "--format: '%s' is not text, json, tap or junit", value);
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

static int pick(const cli *c, const char *name, const lc_scenario **picked, size_t *npicked) {
    const lc_scenario *sc = find(c->list, c->n, name);
    if (!sc) {
        char hint[80];
        snprintf(hint, sizeof hint, "%s%s%s list", c->program, *c->prefix ? " " : "", c->prefix);
        return lc_opts_fail(c->run_cmd, "no scenario named '%s' (see %s)", name, hint);
    }
    picked[(*npicked)++] = sc;
    return 0;
}

/* Read the options and names of `run` into *ro, *a and picked[]. Returns
 * -1 to go on, else the exit status (after --help or an error). */
static int parse_run(const cli *c, int argc, char **argv, lc_scenarios_opts *ro, run_args *a,
                     const lc_scenario **picked, size_t *npicked) {
    lc_opts o = {.command = c->run_cmd,
                 .help_command = c->prefix,
                 .shortopts = "vj:t:f:o:h",
                 .longopts = run_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    int ch;
    int64_t jobs;
    char why[128];
    while ((ch = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (ch) {
        case LC_OPTS_OPERAND:
            if (pick(c, o.optarg, picked, npicked) != 0) return LC_EXIT_USAGE;
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
            if (parse_format(c, o.optarg, &ro->format) != 0) return LC_EXIT_USAGE;
            break;
        case 'o':
            a->output = o.optarg;
            break;
        case OPT_PPROF:
            /* Children inherit it: each failing check writes its before and
             * after heap profiles there. */
            if (!o.optarg[0] || access(o.optarg, W_OK) != 0)
                return lc_opts_fail(c->run_cmd, "--pprof: '%s' is not a writable directory",
                                    o.optarg);
            setenv("LEAKCHECK_PPROF_DIR", o.optarg, 1);
            break;
        case OPT_WAIT_FOR_TRACER:
            if (lc_opts_seconds(&o, 1, &ro->wait_for_tracer) != 0) return LC_EXIT_USAGE;
            break;
        case OPT_SHARD:
            if (lc_shard_parse(o.optarg, &a->shard, why, sizeof why) != 0)
                return lc_opts_fail(c->run_cmd, "--shard: %s", why);
            break;
        case 'h':
            usage(c, stdout);
            return 0;
        default: /* LC_OPTS_ERROR, printed */
            return LC_EXIT_USAGE;
        }
    }
    for (int i = o.optind; i < argc; i++) /* names after "--" */
        if (pick(c, argv[i], picked, npicked) != 0) return LC_EXIT_USAGE;
    return -1;
}

/* A shard says in JUnit which one it is and how many variants the whole
 * run has, for leakcheck merge. */
static void write_junit(const cli *c, const lc_variant_result *res, size_t count, const run_args *a,
                        size_t total, double started, double seconds, lc_buf *out) {
    char shard[32], all[32];
    snprintf(shard, sizeof shard, "%d/%d", a->shard.k, a->shard.n);
    snprintf(all, sizeof all, "%zu", total);
    lc_junit_property props[] = {
        {LC_SHARD_PROP_SHARD, shard}, {LC_SHARD_PROP_TOTAL, all}, {LC_SHARD_PROP_RUN, a->run_id}};
    char suite[160];
    snprintf(suite, sizeof suite, "%s %s", c->program, c->run_cmd);
    lc_scenarios_junit(suite, res, count, props, a->shard.n ? 3 : 0, started, seconds, out);
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
static int execute(const cli *c, const lc_scenario **picked, size_t npicked,
                   const lc_scenarios_opts *o, run_args *a, FILE *f) {
    size_t total = 2 * npicked, count = 0;
    lc_variant_result *res = calloc(total ? total : 1, sizeof *res);
    /* The run is its scenarios in their order. */
    const char **names = calloc(npicked ? npicked : 1, sizeof *names);
    if (!res || !names) {
        free(res);
        free(names);
        fprintf(stderr, "%s: cannot run the scenarios: out of memory\n", c->run_cmd);
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
        lc_opts_fail(c->run_cmd, "cannot run the scenarios: %s", strerror(errno));
        free(res);
        return -1;
    }
    if (o->format != LC_SCENARIOS_JUNIT) {
        if (lc_scenarios_print(res, count, o, f) != 0) unmet = -1;
        if (a->shard.n && o->format == LC_SCENARIOS_JSON)
            print_shard_line(a, total, count, unmet, f);
        else if (a->shard.n && o->format == LC_SCENARIOS_TEXT)
            fprintf(f, "shard %d/%d: %zu of the run's %zu variants\n", a->shard.k, a->shard.n,
                    count, total);
        lc_variant_results_free(res, count);
        if (unmet < 0) lc_opts_fail(c->run_cmd, "cannot write the results: out of memory");
        return unmet;
    }
    lc_buf xml = {0};
    write_junit(c, res, count, a, total, started, lc_junit_now() - started, &xml);
    lc_variant_results_free(res, count);
    if (xml.failed) {
        lc_opts_fail(c->run_cmd, "cannot write the results: out of memory");
        unmet = -1;
    } else if (xml.data) {
        fputs(xml.data, f);
    }
    lc_buf_free(&xml);
    return unmet;
}

static int run(const cli *c, int argc, char **argv) {
    lc_scenarios_opts o = {.jobs = 1, .timeout = LC_SCENARIOS_DEFAULT_TIMEOUT};
    run_args a = {0};
    const lc_scenario **picked = calloc(c->n + (size_t)argc, sizeof *picked);
    if (!picked) return lc_opts_fail(c->run_cmd, "out of memory");
    size_t npicked = 0;
    int status = parse_run(c, argc, argv, &o, &a, picked, &npicked);
    /* The file is opened before anything runs, so that a bad path fails
     * first; a write error is found when it is closed. */
    FILE *f = stdout;
    if (status < 0 && a.output && !(f = fopen(a.output, "we"))) {
        status = lc_opts_fail(c->run_cmd, "cannot write the results to '%s': %s", a.output,
                              strerror(errno));
    }
    if (status < 0) {
        if (!npicked)
            for (size_t i = 0; i < c->n; i++)
                picked[npicked++] = c->list[i];
        int unmet = execute(c, picked, npicked, &o, &a, f);
        status = unmet < 0 ? 2 : unmet > 0 ? 1 : 0;
        if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
            lc_opts_fail(c->run_cmd, "cannot write the results to '%s': %s",
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

static int list_command(const cli *c, int argc, char **argv) {
    lc_opts o = {.command = c->list_cmd,
                 .help_command = c->prefix,
                 .shortopts = "h",
                 .longopts = list_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    int ch;
    while ((ch = lc_opts_next(&o)) != LC_OPTS_END) {
        if (ch == 'h') {
            usage(c, stdout);
            return 0;
        }
        if (ch == LC_OPTS_OPERAND)
            return lc_opts_usage_error(&o, "unexpected argument '%s'", o.optarg);
        return LC_EXIT_USAGE;
    }
    if (o.optind < argc) return lc_opts_usage_error(&o, "unexpected argument '%s'", argv[o.optind]);
    for (size_t i = 0; i < c->n; i++)
        printf("%-26s %s\n", c->list[i]->name, c->list[i]->summary);
    return 0;
}

int lc_scenarios_cli(const char *program, const char *prefix, const lc_scenario *const *list,
                     size_t n, int argc, char **argv) {
    cli c = {.program = program, .prefix = prefix, .list = list, .n = n};
    const char *sep = *prefix ? " " : "";
    snprintf(c.run_cmd, sizeof c.run_cmd, "%s%srun", prefix, sep);
    snprintf(c.list_cmd, sizeof c.list_cmd, "%s%slist", prefix, sep);
    lc_opts_set_program(program);
    const char *what = *prefix ? prefix : "";
    char hint[96];
    snprintf(hint, sizeof hint, "try '%s%s%s --help'", program, sep, prefix);
    if (argc < 2) return lc_opts_fail(what, "no subcommand given (list or run); %s", hint);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(&c, stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(list[i]->name, list[j]->name) == 0)
                return lc_opts_fail(what, "two scenarios are named '%s'", list[i]->name);
    if (strcmp(argv[1], "list") == 0) return list_command(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0) return run(&c, argc - 1, argv + 1);
    return lc_opts_fail(what, "unknown subcommand '%s' (list or run); %s", argv[1], hint);
}

int lc_scenarios_main(int argc, char **argv) {
    const char *program = argc > 0 && argv[0] ? argv[0] : "scenarios";
    const char *slash = strrchr(program, '/');
    if (slash) program = slash + 1;
    if (registration_error[0]) {
        fprintf(stderr, "%s: %s\n", program, registration_error);
        return LC_EXIT_USAGE;
    }
    if (nregistered == 0) {
        fprintf(stderr, "%s: no scenario is registered (declare them with LC_SCENARIO)\n", program);
        return LC_EXIT_USAGE;
    }
    return lc_scenarios_cli(program, "", registered, nregistered, argc, argv);
}
