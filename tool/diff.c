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
#include "tool.h"
#include "pprof_decode.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: leakcheck diff BASE AFTER [--top N] [--min-objects N] [--min-bytes N]\n"
    "                      [--sample TYPE] [--format text|json]\n"
    "\n"
    "Compare two heap profiles in pprof's format (written by leakcheck, by Go's\n"
    "runtime/pprof or by the pprof tool) and print, for each call stack, how much\n"
    "it grew from BASE to AFTER, largest growth first. Stacks are matched by the\n"
    "function, file and line of their frames, so profiles of different processes\n"
    "compare; frames without symbols are matched by their offset in their file.\n"
    "\n"
    "  --top N          print only the first N stacks\n"
    "  --min-objects N  keep stacks whose objects grew by at least N\n"
    "  --min-bytes N    keep stacks whose bytes grew by at least N; suffixes k, M, G\n"
    "                   are powers of 1024 (both minimums: stacks that pass both)\n"
    "  --sample TYPE    order by this sample type: inuse_space (the default when the\n"
    "                   profiles have it), inuse_objects, alloc_space, alloc_objects,\n"
    "                   or any type the profiles share; objects and bytes are then\n"
    "                   the alloc_ types when TYPE is one\n"
    "  --format FORMAT  text (the default) or json (schema leakcheck/1, kind diff)\n"
    "  --help           print this help\n"
    "\n"
    "Exit status: 0 when the profiles were compared, 2 on a usage error or a\n"
    "profile that cannot be read.\n";

typedef struct diff_args {
    const char *base, *after;
    lc_pprof_diff_options opts;
    int json;
} diff_args;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("leakcheck diff: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see leakcheck diff --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* A decimal integer with an optional k, M or G suffix (powers of 1024) when
 * `scaled`. */
static int parse_amount(const char *s, int scaled, int64_t *out) {
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno) return -1;
    int64_t unit = 1;
    if (scaled && *end) {
        if (*end == 'k' || *end == 'K')
            unit = 1024;
        else if (*end == 'M')
            unit = 1024 * 1024;
        else if (*end == 'G')
            unit = 1024 * 1024 * 1024;
        else
            return -1;
        end++;
    }
    if (*end) return -1;
    if (__builtin_mul_overflow((int64_t)v, unit, out)) return -1;
    return 0;
}

/* Fill *a from the command line. Returns -1 to go on, else the exit status
 * (after --help or a usage error). */
static int parse_args(int argc, char **argv, diff_args *a) {
    const char *positional[2];
    int npositional = 0, options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == 0) {
            if (npositional == 2) return usage_error("unexpected argument '%s'", arg);
            positional[npositional++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        /* --name VALUE or --name=VALUE */
        static const char *const valued[] = {"--top", "--min-objects", "--min-bytes", "--sample",
                                             "--format"};
        const char *value = NULL;
        size_t which = sizeof valued / sizeof *valued;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) {
            size_t n = strlen(valued[k]);
            if (strncmp(arg, valued[k], n) != 0) continue;
            if (arg[n] == '=') {
                value = arg + n + 1;
            } else if (arg[n] == 0) {
                if (i + 1 == argc) return usage_error("option %s needs a value", valued[k]);
                value = argv[++i];
            } else {
                continue;
            }
            which = k;
            break;
        }
        if (!value) return usage_error("unknown option '%s'", arg);
        int64_t n;
        switch (which) {
        case 0:
            if (parse_amount(value, 0, &n) || n < 0)
                return usage_error("--top needs a count of stacks, not '%s'", value);
            a->opts.top = (size_t)n;
            break;
        case 1:
            if (parse_amount(value, 0, &n))
                return usage_error("--min-objects needs an integer, not '%s'", value);
            a->opts.min_objects = n;
            a->opts.has_min_objects = 1;
            break;
        case 2:
            if (parse_amount(value, 1, &n))
                return usage_error("--min-bytes needs an integer with an optional k, M or G "
                                   "suffix, not '%s'",
                                   value);
            a->opts.min_bytes = n;
            a->opts.has_min_bytes = 1;
            break;
        case 3:
            if (!value[0]) return usage_error("--sample needs a sample type");
            a->opts.sample = value;
            break;
        case 4:
            if (strcmp(value, "json") == 0)
                a->json = 1;
            else if (strcmp(value, "text") == 0)
                a->json = 0;
            else
                return usage_error("--format is text or json, not '%s'", value);
            break;
        }
    }
    if (npositional < 2)
        return usage_error("%s", npositional ? "missing the AFTER profile"
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
    fprintf(out, "; %zu shown\n", d->nstacks);

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

/* Length of the valid UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_length(const unsigned char *s) {
    unsigned c = s[0];
    size_t n = c >= 0xf5 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

/* Profiles carry arbitrary bytes; invalid UTF-8 becomes U+FFFD so that the
 * output is always valid JSON. */
static void print_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            p++;
        } else if (c < 0x20) {
            static const char short_escapes[] = "btn\0fr";
            if (c >= 8 && c <= 13 && c != 11)
                fprintf(out, "\\%c", short_escapes[c - 8]);
            else
                fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            size_t n = utf8_length(p);
            if (n) {
                fwrite(p, 1, n, out);
                p += n;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    fputc('"', out);
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
        return EXIT_USAGE;
    }
    if (a.json)
        print_json(stdout, &a, d);
    else
        print_text(stdout, &a, d);
    lc_pprof_diff_free(d);
    lc_pprof_free(base);
    lc_pprof_free(after);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "leakcheck diff: cannot write the output: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}
