/* SPDX-License-Identifier: MIT */
/* diff.c: `leakcheck diff`, the growth of each call stack between two heap
 * profiles.
 *
 * A leak that a single check cannot prove (memory a program keeps reachable,
 * such as a cache that never evicts) shows as a stack whose live bytes keep
 * growing from one profile to the next. This command reads two profiles in
 * pprof's format, from leakcheck, Go's runtime/pprof or the pprof tool alike,
 * and lists the stacks that grew, largest first. The reading and the
 * comparison belong to the library (pprof_decode.c), which reports errors
 * as values; this file owns the command line and the two output formats, and
 * is where those errors are printed. */
#include "buf.h"
#include "profiles.h"
#include "tool.h"
#include "opts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "Usage: leakcheck diff [OPTIONS] BASE AFTER\n"
    "Compare two heap profiles in pprof's format (written by leakcheck, by Go's\n"
    "runtime/pprof or by the pprof tool) and print, for each call stack, how much\n"
    "it grew from BASE to AFTER, largest growth first. Stacks are matched by the\n"
    "function, file and line of their frames, so profiles of different processes\n"
    "compare; frames without symbols are matched by their offset in their file.\n"
    "Options may come before, between or after the two profiles.\n"
    "\n"
    "Options:\n"
    "  -n, --top=N              print only the first N stacks\n"
    "      --min-objects=N      keep stacks whose objects grew by at least N\n"
    "      --min-bytes=N        keep stacks whose bytes grew by at least N; suffixes\n"
    "                           k, M, G are powers of 1024 (both minimums: stacks\n"
    "                           that pass both)\n"
    "      --sample=TYPE        order by this sample type: inuse_space (the default\n"
    "                           when the profiles have it), inuse_objects,\n"
    "                           alloc_space, alloc_objects, or any type the profiles\n"
    "                           share; objects and bytes are then the alloc_ types\n"
    "                           when TYPE is one\n"
    "  -f, --format=FORMAT      text (the default) or json (schema leakcheck/1, kind\n"
    "                           diff)\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        the profiles were compared (with --fail-on-growth: and no\n"
    "           stack passed the minimums and grew)\n"
    "  1        with --fail-on-growth: a stack passed the minimums and grew\n"
    "  2        a usage error, a profile that cannot be read, or output that\n"
    "           cannot be written\n";

typedef struct diff_args {
    const char *base, *after;
    lc_pprof_diff_options opts;
    int json;
    int fail_on_growth;
} diff_args;

/* The status of --fail-on-growth when a stack grew past the minimums: 1, as
 * diff(1) and cmp(1) say "the inputs differ", apart from 2 for trouble. */
#define DIFF_EXIT_GREW 1

enum { OPT_MIN_OBJECTS = 256, OPT_MIN_BYTES, OPT_SAMPLE, OPT_STRICT_MINIMUMS, OPT_FAIL_ON_GROWTH };

static const struct option long_options[] = {
    {"top", required_argument, NULL, 'n'},
    {"min-objects", required_argument, NULL, OPT_MIN_OBJECTS},
    {"min-bytes", required_argument, NULL, OPT_MIN_BYTES},
    {"sample", required_argument, NULL, OPT_SAMPLE},
    {"strict-minimums", no_argument, NULL, OPT_STRICT_MINIMUMS},
    {"fail-on-growth", no_argument, NULL, OPT_FAIL_ON_GROWTH},
    {"format", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Fill *a from the command line. Returns -1 to go on, else the exit status
 * (after --help or a usage error). */
static int parse_args(int argc, char **argv, diff_args *a) {
    const char *positional[2];
    int npositional = 0, c;
    int64_t n;
    lc_opts o = {.command = "diff",
                 .help_command = "diff",
                 .shortopts = "n:f:h",
                 .longopts = long_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (c) {
        case LC_OPTS_OPERAND:
            if (npositional == 2)
                return lc_opts_usage_error(&o, "unexpected argument '%s'", o.optarg);
            positional[npositional++] = o.optarg;
            break;
        case 'n':
            if (lc_opts_integer(&o, 0, INT64_MAX, 0, &n) != 0) return LC_EXIT_USAGE;
            a->opts.top = (size_t)n;
            break;
        case OPT_MIN_OBJECTS:
            if (lc_opts_integer(&o, INT64_MIN, INT64_MAX, 0, &n) != 0) return LC_EXIT_USAGE;
            a->opts.min_objects = n;
            a->opts.has_min_objects = 1;
            break;
        case OPT_MIN_BYTES:
            if (lc_opts_integer(&o, INT64_MIN, INT64_MAX, 1, &n) != 0) return LC_EXIT_USAGE;
            a->opts.min_bytes = n;
            a->opts.has_min_bytes = 1;
            break;
        case OPT_STRICT_MINIMUMS:
            a->opts.strict_minimums = 1;
            break;
        case OPT_FAIL_ON_GROWTH:
            a->fail_on_growth = 1;
            break;
        case OPT_SAMPLE:
            if (!o.optarg[0]) return lc_opts_fail("diff", "--sample: the sample type is empty");
            a->opts.sample = o.optarg;
            break;
        case 'f':
            if (strcmp(o.optarg, "json") == 0)
                a->json = 1;
            else if (strcmp(o.optarg, "text") == 0)
                a->json = 0;
            else
                return lc_opts_fail("diff", "--format: '%s' is not text or json", o.optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default: /* LC_OPTS_ERROR, printed */
            return LC_EXIT_USAGE;
        }
    }
    /* Operands after "--". */
    for (int i = o.optind; i < argc; i++) {
        if (npositional == 2) return lc_opts_usage_error(&o, "unexpected argument '%s'", argv[i]);
        positional[npositional++] = argv[i];
    }
    if (npositional < 2)
        return lc_opts_usage_error(&o, "%s",
                                   npositional ? "missing the AFTER profile"
                                               : "missing the BASE and AFTER profiles");
    a->base = positional[0];
    a->after = positional[1];
    return -1;
}

/* ------------------------------------------------------------------- text */

static void print_size(FILE *out, int64_t bytes) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    if (v > -1024 && v < 1024) return;
    int u = -1;
    while (u < 3 && (v <= -1024 || v >= 1024)) {
        v /= 1024;
        u++;
    }
    fprintf(out, " (%+.1f %s)", v, units[u]);
}

/* Names come from files of unknown origin: control characters are shown
 * escaped, never sent to the terminal. */
static void print_name(FILE *out, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

static void print_frame_text(FILE *out, const lc_pprof_frame *f) {
    fputs("    ", out);
    if (!f->symbolized) {
        fprintf(out, "0x%" PRIx64, f->address);
        if (f->mapping[0]) {
            fputc(' ', out);
            print_name(out, f->mapping);
            fprintf(out, "+0x%" PRIx64, f->file_offset);
        }
        fputc('\n', out);
        return;
    }
    print_name(out, f->function[0] ? f->function : "?");
    if (f->file[0]) {
        fputc(' ', out);
        print_name(out, f->file);
        if (f->line > 0) fprintf(out, ":%" PRId64, f->line);
    }
    fputc('\n', out);
}

static void print_text(FILE *out, const diff_args *a, const lc_pprof_diff *d) {
    int own_column = (!d->objects_type || strcmp(d->sample, d->objects_type) != 0) &&
                     (!d->bytes_type || strcmp(d->sample, d->bytes_type) != 0);
    fputs("leakcheck diff ", out);
    print_name(out, a->base);
    fputs(" -> ", out);
    print_name(out, a->after);
    fputs(", by ", out);
    print_name(out, d->sample);
    fprintf(out, ": %zu stack%s changed", d->total_stacks, d->total_stacks == 1 ? "" : "s");
    if (d->objects_type) fprintf(out, ", %+" PRId64 " objects", d->total_delta_objects);
    if (d->bytes_type) {
        fprintf(out, ", %+" PRId64 " bytes", d->total_delta_bytes);
        print_size(out, d->total_delta_bytes);
    }
    if (own_column) {
        fprintf(out, ", %+" PRId64 " ", d->total_delta);
        print_name(out, d->sample_unit);
    }
    fprintf(out, "; %zu shown", d->nstacks);
    if (a->fail_on_growth)
        fprintf(out, "; %zu grew past the minimums (--fail-on-growth)", d->grown_stacks);
    fputc('\n', out);

    for (size_t i = 0; i < d->nstacks; i++) {
        const lc_pprof_diff_stack *s = &d->stacks[i];
        fputc('\n', out);
        const char *sep = "";
        if (d->objects_type) {
            fprintf(out, "%+" PRId64 " objects", s->delta_objects);
            sep = "  ";
        }
        if (d->bytes_type) {
            fprintf(out, "%s%+" PRId64 " bytes", sep, s->delta_bytes);
            print_size(out, s->delta_bytes);
            sep = "  ";
        }
        if (own_column) {
            fprintf(out, "%s%+" PRId64 " ", sep, s->delta);
            print_name(out, d->sample_unit);
        }
        fputc('\n', out);
        for (size_t k = 0; k < s->nframes; k++)
            print_frame_text(out, &s->frames[k]);
        if (s->nframes == 0) fputs("    (empty stack)\n", out);
    }
}

/* ------------------------------------------------------------------- JSON */

/* Profiles carry arbitrary bytes: the project's one JSON string writer
 * (lc_buf_json_str) turns invalid UTF-8 into U+FFFD, so that the output is
 * always valid JSON. */
static void print_json_string(FILE *out, const char *s) {
    lc_buf b = {0};
    lc_buf_json_str(&b, s);
    if (b.data) fputs(b.data, out);
    lc_buf_free(&b);
}

static void print_json_frame(FILE *out, const lc_pprof_frame *f) {
    fputs("{\"function\":", out);
    if (f->symbolized && f->function[0])
        print_json_string(out, f->function);
    else
        fputs("null", out);
    fputs(",\"file\":", out);
    if (f->symbolized && f->file[0])
        print_json_string(out, f->file);
    else
        fputs("null", out);
    fprintf(out, ",\"line\":%" PRId64, f->symbolized ? f->line : 0);
    if (!f->symbolized) {
        fprintf(out, ",\"address\":\"0x%" PRIx64 "\"", f->address);
        if (f->mapping[0]) {
            fputs(",\"mapping\":", out);
            print_json_string(out, f->mapping);
            fprintf(out, ",\"offset\":\"0x%" PRIx64 "\"", f->file_offset);
        }
    }
    fputc('}', out);
}

static void print_json_value(FILE *out, const char *name, const char *type, int64_t v) {
    if (type)
        fprintf(out, ",\"%s\":%" PRId64, name, v);
    else
        fprintf(out, ",\"%s\":null", name);
}

static void print_json(FILE *out, const diff_args *a, const lc_pprof_diff *d) {
    fputs("{\"schema\":\"leakcheck/1\",\"kind\":\"diff\",\"base\":", out);
    print_json_string(out, a->base);
    fputs(",\"after\":", out);
    print_json_string(out, a->after);
    fputs(",\"sample\":", out);
    print_json_string(out, d->sample);
    fputs(",\"unit\":", out);
    print_json_string(out, d->sample_unit);
    fprintf(out, ",\"total_stacks\":%zu,\"total_delta\":%" PRId64, d->total_stacks, d->total_delta);
    print_json_value(out, "total_delta_objects", d->objects_type, d->total_delta_objects);
    print_json_value(out, "total_delta_bytes", d->bytes_type, d->total_delta_bytes);
    fprintf(out, ",\"grown_stacks\":%zu", d->grown_stacks);
    fputs(",\"stacks\":[", out);
    for (size_t i = 0; i < d->nstacks; i++) {
        const lc_pprof_diff_stack *s = &d->stacks[i];
        fprintf(out, "%s\n{\"delta\":%" PRId64, i ? "," : "", s->delta);
        print_json_value(out, "delta_objects", d->objects_type, s->delta_objects);
        print_json_value(out, "delta_bytes", d->bytes_type, s->delta_bytes);
        print_json_value(out, "after_objects", d->objects_type, s->after_objects);
        print_json_value(out, "after_bytes", d->bytes_type, s->after_bytes);
        fputs(",\"stack\":[", out);
        for (size_t k = 0; k < s->nframes; k++) {
            if (k) fputc(',', out);
            print_json_frame(out, &s->frames[k]);
        }
        fputs("]}", out);
    }
    fputs("]}\n", out);
}

int lc_cli_diff(int argc, char **argv) {
    diff_args a;
    memset(&a, 0, sizeof a);
    int status = parse_args(argc, argv, &a);
    if (status >= 0) return status;

    char err[512];
    lc_pprof *base = NULL, *after = NULL;
    lc_pprof_diff *d = NULL;
    if (lc_pprof_read(a.base, &base, err, sizeof err) ||
        lc_pprof_read(a.after, &after, err, sizeof err) ||
        lc_pprof_diff_compute(base, after, &a.opts, &d, err, sizeof err)) {
        fprintf(stderr, "leakcheck diff: %s\n", err);
        lc_pprof_free(base);
        lc_pprof_free(after);
        return LC_EXIT_USAGE;
    }
    if (a.json)
        print_json(stdout, &a, d);
    else
        print_text(stdout, &a, d);
    int grew = d->grown_stacks > 0;
    lc_pprof_diff_free(d);
    lc_pprof_free(base);
    lc_pprof_free(after);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "leakcheck diff: cannot write the output: %s\n", strerror(errno));
        return LC_EXIT_USAGE;
    }
    return a.fail_on_growth && grew ? DIFF_EXIT_GREW : 0;
}
