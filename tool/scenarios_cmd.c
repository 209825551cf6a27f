/* scenarios_cmd.c: `leakcheck scenarios list | run`.
 *
 * The command line of the scenario runner: it reads the options and the
 * scenario names, and hands the run to the runner module (scenarios/runner.c),
 * which the tests also drive with scenario lists of their own. Every usage
 * error is one line on stderr and exit status 2, before anything runs. */
#include "tool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenarios.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: leakcheck scenarios list\n"
            "       leakcheck scenarios run [-v] [--jobs N] [--timeout SECONDS]\n"
            "                               [--format text|json|tap]\n"
            "                               [--pprof DIR] [--wait-for-tracer SECONDS] [NAME...]\n"
            "\n"
            "Runs the leaky and the fixed variant of each scenario (all of them when no\n"
            "NAME is given), each in a forked child, and checks that the harness finds\n"
            "every leak as the scenario declares and that every fix is clean.\n"
            "\n"
            "  -v, --verbose            print each full report before the summary table\n"
            "  -j, --jobs N             run N children at once (default 1)\n"
            "  --timeout SECONDS        dump the threads of a variant still running after\n"
            "                           SECONDS and kill it (default %g)\n"
            "  --format text|json|tap   summary table, one JSON report per variant, or TAP\n"
            "  --pprof DIR              write the before/after heap profiles of each leak to DIR\n"
            "  --wait-for-tracer SECONDS\n"
            "                           each child prints its pid and waits up to SECONDS\n"
            "                           for a tracer on the toolkit's probes, such as\n"
            "                           bpftrace -p PID scenarios/leaks.bt\n"
            "\n"
            "Exit status: 0 when every expectation holds, 1 when one does not, 2 on a\n"
            "usage error.\n",
            LC_RUNNER_DEFAULT_TIMEOUT);
}

static int list(void) {
    for (size_t i = 0; i < lc_scenario_count; i++)
        printf("%-26s %s\n", lc_scenarios[i].name, lc_scenarios[i].summary);
    return 0;
}

/* The value of a numeric option: > 0, or >= 0 when zero is allowed. */
static int parse_number(const char *flag, const char *value, bool zero_ok, double *out) {
    char *end = NULL;
    errno = 0;
    double v = value ? strtod(value, &end) : 0;
    if (!value || !*value || *end || errno || v < 0 || (v == 0 && !zero_ok)) {
        fprintf(stderr, "leakcheck scenarios: %s needs a %s number, got '%s'\n", flag,
                zero_ok ? "non-negative" : "positive", value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_format(const char *value, lc_runner_format *out) {
    if (value && strcmp(value, "text") == 0)
        *out = LC_RUNNER_TEXT;
    else if (value && strcmp(value, "json") == 0)
        *out = LC_RUNNER_JSON;
    else if (value && strcmp(value, "tap") == 0)
        *out = LC_RUNNER_TAP;
    else {
        fprintf(stderr, "leakcheck scenarios: unknown format '%s' (text, json or tap)\n",
                value ? value : "");
        return -1;
    }
    return 0;
}

static int run(int argc, char **argv) {
    lc_runner_opts o = {.jobs = 1, .timeout = LC_RUNNER_DEFAULT_TIMEOUT};
    const lc_scenario **picked = calloc(lc_scenario_count + (size_t)argc, sizeof *picked);
    if (!picked) {
        fprintf(stderr, "leakcheck scenarios: out of memory\n");
        return 2;
    }
    size_t npicked = 0;
    int status = -1;
    for (int i = 1; i < argc && status < 0; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        double v = 0;
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
        } else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
            i++;
            if (parse_number(a, value, false, &v) != 0 || v > 1024) {
                if (v > 1024) fprintf(stderr, "leakcheck scenarios: %s: at most 1024\n", a);
                status = 2;
            } else {
                o.jobs = (int)v;
            }
        } else if (strcmp(a, "--timeout") == 0) {
            i++;
            if (parse_number(a, value, false, &o.timeout) != 0) status = 2;
        } else if (strcmp(a, "--pprof") == 0) {
            /* Children inherit it: each failing check writes its before and
             * after heap profiles there. */
            i++;
            if (!value || !*value || access(value, W_OK) != 0) {
                fprintf(stderr,
                        "leakcheck scenarios: --pprof needs a writable directory, got '%s'\n",
                        value ? value : "");
                status = 2;
            } else
                setenv("LEAKCHECK_PPROF_DIR", value, 1);
        } else if (strcmp(a, "--wait-for-tracer") == 0) {
            i++;
            if (parse_number(a, value, true, &o.wait_for_tracer) != 0) status = 2;
        } else if (strcmp(a, "--format") == 0) {
            i++;
            if (parse_format(value, &o.format) != 0) status = 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            status = 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "leakcheck scenarios: unknown option '%s' (see scenarios --help)\n", a);
            status = 2;
        } else {
            const lc_scenario *sc = lc_scenario_find(a);
            if (sc) {
                picked[npicked++] = sc;
            } else {
                fprintf(stderr,
                        "leakcheck scenarios: no scenario named '%s' (see scenarios list)\n", a);
                status = 2;
            }
        }
    }
    if (status < 0) {
        if (!npicked)
            for (size_t i = 0; i < lc_scenario_count; i++)
                picked[npicked++] = &lc_scenarios[i];
        int unmet = lc_scenarios_run(picked, npicked, &o, stdout);
        if (unmet < 0)
            fprintf(stderr, "leakcheck scenarios: cannot run the scenarios: %s\n", strerror(errno));
        status = unmet < 0 ? 2 : unmet > 0 ? 1 : 0;
    }
    free(picked);
    return status;
}

int lc_cli_scenarios(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "list") == 0) return list();
    if (strcmp(argv[1], "run") == 0) return run(argc - 1, argv + 1);
    fprintf(stderr, "leakcheck scenarios: unknown subcommand '%s' (list or run)\n", argv[1]);
    return 2;
}
