/* SPDX-License-Identifier: MIT */
/* merge_cmd.c: `leakcheck merge [--output FILE] FILE...`.
 *
 * Joins the outputs of the N shards of one `scenarios run` or
 * `fault-sweep` (--shard K/N, shard.h) into the report the run would have
 * written unsplit, in the format of its inputs: every variant or failure
 * point in the run's order, the counts of the whole run, one verdict and
 * the exit status the unsplit command gives. The files are read whole and
 * checked to belong together (one command, one format, one N, every K
 * once, one extent of the run) before anything is written: a merge of
 * shards that do not make one run would report on a run that never
 * happened, so every mismatch is an error naming the file. */
#include "tool.h"
#include "opts.h"
#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "Usage: leakcheck merge [OPTIONS] FILE...\n"
    "Join the outputs of the shards of one run (scenarios run or fault-sweep with\n"
    "--shard K/N, every K from 1 to N once, all in --format json or all in junit)\n"
    "into the report the run writes unsplit, in the same format: every variant or\n"
    "failure point in the run's order, the counts of the whole run and one\n"
    "verdict.\n"
    "\n"
    "Options:\n"
    "  -o, --output=FILE        write the report to FILE instead of stdout\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        the run passed: every expectation holds, or no failure point\n"
    "           leaked or crashed\n"
    "  1        an expectation does not hold, or a failure point leaked, crashed,\n"
    "           hung or could not be checked\n"
    "  2        a usage error; a FILE that cannot be read, is not the output of a\n"
    "           shard, or is not of the same run as the others; a shard missing or\n"
    "           given twice; or the report cannot be written\n";

static const char *format_name(merge_format f) {
    return f == MERGE_JSON ? "JSON" : "JUnit XML";
}

static const char *kind_name(merge_kind k) {
    return k == MERGE_SCENARIOS ? "scenarios run" : "fault-sweep";
}

/* Whether file i belongs with files 0..i-1; 2 after saying why not. */
static int check_one(const shard_file *fs, size_t i) {
    const shard_file *f = &fs[i], *first = &fs[0];
    if (f->format != first->format)
        return lc_opts_fail("merge", "%s: %s, while %s is %s: shards merge in one format", f->path,
                            format_name(f->format), first->path, format_name(first->format));
    if (f->kind != first->kind)
        return lc_opts_fail("merge", "%s: a shard of %s, while %s is one of %s", f->path,
                            kind_name(f->kind), first->path, kind_name(first->kind));
    if (f->shard.n != first->shard.n)
        return lc_opts_fail("merge", "%s: shard %d/%d, while %s is a shard of %d", f->path,
                            f->shard.k, f->shard.n, first->path, first->shard.n);
    for (size_t j = 0; j < i; j++)
        if (fs[j].shard.k == f->shard.k)
            return lc_opts_fail("merge", "%s: shard %d/%d again (%s is that shard)", f->path,
                                f->shard.k, f->shard.n, fs[j].path);
    if (strcmp(f->run, first->run) != 0)
        return lc_opts_fail(
            "merge", "%s: a shard of another run than %s (%s)", f->path, first->path,
            f->kind == MERGE_SCENARIOS ? "other scenarios, or in another order"
                                       : "another program, other arguments, --scope or --max");
    if (f->kind == MERGE_SCENARIOS && f->total != first->total)
        return lc_opts_fail("merge", "%s: a shard of a run of %ld variants, while %s is one of %ld",
                            f->path, f->total, first->path, first->total);
    if (f->suite && first->suite && strcmp(f->suite, first->suite) != 0)
        return lc_opts_fail("merge", "%s: '%s', while %s is '%s'", f->path, f->suite, first->path,
                            first->suite);
    for (size_t j = 0; f->kind == MERGE_FAULT_SWEEP && j < i; j++)
        if (f->end && fs[j].end && f->end != fs[j].end)
            return lc_opts_fail("merge",
                                "%s: the sweep ends at allocation %ld, in %s at %ld: the program "
                                "does not allocate alike from run to run",
                                f->path, f->end, fs[j].path, fs[j].end);
    return 0;
}

/* The shards in order of K, when every one of 1..N is there. */
static int order_shards(const shard_file *fs, size_t n, const shard_file **by_k) {
    int total = fs[0].shard.n, missing = 0;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        by_k[fs[i].shard.k - 1] = &fs[i];
    for (int k = 1; k <= total; k++) {
        if (by_k[k - 1]) continue;
        if (missing++ < 8 && used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%d",
                                     missing > 1 ? ", " : "", k);
    }
    if (missing)
        return lc_opts_fail("merge", "shard%s %s%s of %d missing", missing > 1 ? "s" : "", list,
                            missing > 8 ? ", ..." : "", total);
    return 0;
}

/* JSON: the variant lines in the run's order (the i-th is line i / N of
 * shard i mod N + 1), then a line with the whole run's counts. */
static int merge_json(const shard_file **by_k, int shards, lc_buf *out) {
    long total = by_k[0]->total, unmet = 0;
    for (long i = 0; i < total; i++)
        lc_buf_printf(out, "%s\n", by_k[i % shards]->lines[i / shards]);
    for (int k = 0; k < shards; k++)
        unmet += by_k[k]->unmet;
    lc_buf_printf(out,
                  "{\"schema\": \"leakcheck/1\", \"kind\": \"merged\", \"command\": \"scenarios "
                  "run\", \"shards\": %d, \"variants\": %ld, \"expectations_not_met\": %ld, "
                  "\"expectations_met\": %s, \"run\": \"%s\"}\n",
                  shards, total, unmet, unmet ? "false" : "true", by_k[0]->run);
    return unmet ? 1 : 0;
}

static int by_json_point(const void *a, const void *b) {
    long x = lc_merge_json_point(*(char *const *)a), y = lc_merge_json_point(*(char *const *)b);
    return (x > y) - (x < y);
}

/* A fault-sweep's JSON: one document as the unsplit sweep writes it, its
 * failure points in order and its counts made from them (a shard's own
 * counts include the runs it made to find where the sweep ends), with the
 * number of shards, the end and the run. Its status is the JUnit merge's:
 * 1 when a point leaked, crashed, hung or went unchecked (never a pass),
 * else 0. */
static int merge_fault_json(const shard_file **by_k, int shards, lc_buf *out) {
    size_t count = 0;
    double seconds = 0;
    long end = 0;
    for (int k = 0; k < shards; k++) {
        count += by_k[k]->nlines;
        seconds += by_k[k]->seconds;
        if (by_k[k]->end) end = by_k[k]->end;
    }
    char **points = calloc(count ? count : 1, sizeof *points);
    if (!points) return lc_opts_fail("merge", "out of memory");
    for (int k = 0, at = 0; k < shards; k++)
        for (size_t i = 0; i < by_k[k]->nlines; i++)
            points[at++] = by_k[k]->lines[i];
    qsort(points, count, sizeof *points, by_json_point);
    long tally[5] = {0}; /* clean, leak, crash, hung, unchecked */
    static const char *const outcomes[5] = {"\"outcome\":\"clean\"", "\"outcome\":\"leak\"",
                                            "\"outcome\":\"crash\"", "\"outcome\":\"hung\"",
                                            "\"outcome\":\"unchecked\""};
    for (size_t i = 0; i < count; i++) {
        if (i && lc_merge_json_point(points[i]) == lc_merge_json_point(points[i - 1])) {
            free(points);
            return lc_opts_fail("merge", "failure point %ld is in two shards",
                                lc_merge_json_point(points[i]));
        }
        for (int o = 0; o < 5; o++)
            if (strstr(points[i], outcomes[o])) {
                tally[o]++;
                break;
            }
    }
    const shard_file *first = by_k[0];
    bool failed = tally[1] || tally[2] || tally[3];
    lc_buf_printf(out, "{\"schema\":\"leakcheck/1\",\"kind\":\"fault-sweep\",\"command\":%.*s",
                  (int)first->header_len[0], first->header[0]);
    lc_buf_printf(out, ",\"scope\":%.*s,\"timeout_seconds\":%.*s", (int)first->header_len[1],
                  first->header[1], (int)first->header_len[2], first->header[2]);
    lc_buf_printf(out,
                  ",\"verdict\":\"%s\",\"runs\":%zu,\"leaked\":%ld,\"crashed\":%ld,\"hung\":%ld,"
                  "\"unchecked\":%ld,\"seconds\":%.3f,\"shards\":%d,",
                  failed     ? "fail"
                  : tally[4] ? "unchecked"
                             : "clean",
                  count, tally[1], tally[2], tally[3], tally[4], seconds, shards);
    if (end)
        lc_buf_printf(out, "\"end\":%ld,", end);
    else
        lc_buf_printf(out, "\"end\":null,");
    lc_buf_printf(out, "\"run\":\"%s\",\"points\":[", first->run);
    for (size_t i = 0; i < count; i++)
        lc_buf_printf(out, "%s%s", i ? "," : "", points[i]);
    lc_buf_printf(out, "]}\n");
    free(points);
    return failed || tally[4] ? 1 : 0;
}

static int by_point(const void *a, const void *b) {
    long x = lc_merge_case_point(a), y = lc_merge_case_point(b);
    return (x > y) - (x < y);
}

/* JUnit: one suite of every case in the run's order; its time is the sum
 * of the shards' (the work done), its start the earliest shard's. */
static int merge_junit(const shard_file **by_k, int shards, lc_buf *out) {
    size_t count = 0;
    double seconds = 0, started = 0;
    for (int k = 0; k < shards; k++) {
        count += by_k[k]->ncases;
        seconds += by_k[k]->seconds;
        if (by_k[k]->started && (!started || by_k[k]->started < started))
            started = by_k[k]->started;
    }
    lc_junit_case *cases = calloc(count ? count : 1, sizeof *cases);
    if (!cases) return lc_opts_fail("merge", "out of memory");
    const shard_file *first = by_k[0];
    if (first->kind == MERGE_SCENARIOS) {
        for (size_t i = 0; i < count; i++)
            cases[i] = by_k[i % (size_t)shards]->cases[i / (size_t)shards];
    } else {
        for (int k = 0, at = 0; k < shards; k++)
            for (size_t i = 0; i < by_k[k]->ncases; i++)
                cases[at++] = by_k[k]->cases[i];
        qsort(cases, count, sizeof *cases, by_point);
    }
    long end = 0;
    for (int k = 0; k < shards; k++)
        if (by_k[k]->end) end = by_k[k]->end;
    char nshards[16], extent[32] = "none";
    snprintf(nshards, sizeof nshards, "%d", shards);
    if (first->kind == MERGE_SCENARIOS)
        snprintf(extent, sizeof extent, "%ld", first->total);
    else if (end)
        snprintf(extent, sizeof extent, "%ld", end);
    lc_junit_property props[] = {
        {LC_SHARD_PROP_SHARDS, nshards},
        {first->kind == MERGE_SCENARIOS ? LC_SHARD_PROP_TOTAL : LC_SHARD_PROP_END, extent},
        {LC_SHARD_PROP_RUN, first->run}};
    lc_junit_write_suite(out, first->suite, seconds, started, props, 3, cases, count);
    int status = 0;
    for (size_t i = 0; i < count; i++)
        status |= cases[i].outcome != LC_JUNIT_PASSED;
    free(cases);
    return status;
}

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Reads, checks and merges the files; the exit status, with the report in
 * *out when it is 0 or 1. */
static int merge(const char **paths, size_t n, lc_buf *out) {
    shard_file *fs = calloc(n, sizeof *fs);
    const shard_file **by_k = NULL;
    size_t read = 0;
    int status = fs ? 0 : lc_opts_fail("merge", "out of memory");
    for (; status == 0 && read < n; read++) {
        status = lc_merge_read(paths[read], &fs[read]);
        if (status == 0) status = check_one(fs, read);
    }
    if (status == 0 && !(by_k = calloc((size_t)fs[0].shard.n, sizeof *by_k)))
        status = lc_opts_fail("merge", "out of memory");
    if (status == 0) status = order_shards(fs, n, by_k);
    if (status == 0)
        status = fs[0].format == MERGE_JUNIT       ? merge_junit(by_k, fs[0].shard.n, out)
                 : fs[0].kind == MERGE_FAULT_SWEEP ? merge_fault_json(by_k, fs[0].shard.n, out)
                                                   : merge_json(by_k, fs[0].shard.n, out);
    if (status != 2 && out->failed) status = lc_opts_fail("merge", "out of memory");
    for (size_t i = 0; fs && i < read; i++)
        lc_merge_free(&fs[i]);
    free(fs);
    free(by_k);
    return status;
}

int lc_cli_merge(int argc, char **argv) {
    const char *output = NULL;
    lc_opts o = {.command = "merge",
                 .help_command = "merge",
                 .shortopts = "o:h",
                 .longopts = long_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    const char **files = calloc((size_t)argc, sizeof *files);
    size_t nfiles = 0;
    int c;
    if (!files) return lc_opts_fail("merge", "out of memory");
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        if (c == LC_OPTS_OPERAND) {
            files[nfiles++] = o.optarg;
        } else if (c == 'o') {
            output = o.optarg;
        } else if (c == 'h') {
            fputs(usage_text, stdout);
            free(files);
            return 0;
        } else { /* LC_OPTS_ERROR, printed */
            free(files);
            return LC_EXIT_USAGE;
        }
    }
    for (int i = o.optind; i < argc; i++)
        files[nfiles++] = argv[i];
    if (nfiles == 0) {
        free(files);
        return lc_opts_usage_error(&o, "no FILE given (leakcheck merge SHARD-1 ... SHARD-N)");
    }
    lc_buf report = {0};
    int status = merge(files, nfiles, &report);
    free(files);
    if (status == 2) {
        lc_buf_free(&report);
        return status;
    }
    /* Written only once the whole report is there: whole or not at all. */
    FILE *f = output ? fopen(output, "we") : stdout;
    if (!f || fputs(report.data ? report.data : "", f) < 0 || fflush(f) != 0 || ferror(f) ||
        (f != stdout && fclose(f) != 0)) {
        status = lc_opts_fail("merge", "cannot write the report to '%s': %s",
                              output ? output : "stdout", strerror(errno));
    }
    lc_buf_free(&report);
    return status;
}
