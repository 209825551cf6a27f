/* SPDX-License-Identifier: MIT */
/* opts.c: the option parser of every leakcheck command (see opts.h).
 *
 * getopt_long does the parsing; this file owns what it leaves to its
 * caller: the ordering each command wants whatever POSIXLY_CORRECT says,
 * error messages that name the option as one line (getopt's own are two
 * words on one line and nothing about where to look), and numeric values
 * checked to the end of the string. Options are named in messages by their
 * long name whatever form was typed, so that `-t inf`, `--time=inf` and
 * `--timeout inf` are refused with the same line. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The program named in messages: the tool, or a user's scenario program. */
static const char *program = "leakcheck";

void lc_opts_set_program(const char *name) {
    program = name && *name ? name : "leakcheck";
}

static void vfail(const char *command, const char *hint, const char *fmt, va_list ap) {
    char msg[8192];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One line, whatever the message quotes (a value may hold a newline). */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    /* The tool itself is command "": "leakcheck: ...; try 'leakcheck --help'". */
    const char *sep = *command ? " " : "";
    if (hint)
        fprintf(stderr, "%s%s%s: %s; try '%s%s%s --help'\n", program, sep, command, msg, program,
                *hint ? " " : "", hint);
    else
        fprintf(stderr, "%s%s%s: %s\n", program, sep, command, msg);
}

int lc_opts_fail(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(command, NULL, fmt, ap);
    va_end(ap);
    return LC_EXIT_USAGE;
}

int lc_opts_usage_error(const lc_opts *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(o->command, o->help_command, fmt, ap);
    va_end(ap);
    return LC_EXIT_USAGE;
}

/* The name an option is known by in messages: "--" and its long name when
 * it has one, else "-" and its letter. */
static void name_option(lc_opts *o, int val, int longindex) {
    const struct option *lo = o->longopts;
    if (longindex < 0)
        for (int i = 0; lo && lo[i].name; i++)
            if (lo[i].val == val && !lo[i].flag) {
                longindex = i;
                break;
            }
    if (longindex >= 0)
        snprintf(o->namebuf, sizeof o->namebuf, "--%s", lo[longindex].name);
    else
        snprintf(o->namebuf, sizeof o->namebuf, "-%c", val);
    o->name = o->namebuf;
}

/* getopt_long said '?' or ':' about the word argv[at]; say which option and
 * what is wrong with it. getopt leaves optopt at 0 for a long option it does
 * not know (or that is ambiguous), at the option's value otherwise; a word
 * that starts with "--" is a long option, any other a bundle of letters
 * (getopt never moves words, with the '+' and '-' orderings used here, so
 * the word is the one optind pointed at before the call). */
static int report(lc_opts *o, int c, int at) {
    const char *word = at >= 1 && at < o->argc ? o->argv[at] : "";
    int is_long = strncmp(word, "--", 2) == 0;
    char given[64];
    if (is_long)
        snprintf(given, sizeof given, "%.*s", (int)strcspn(word, "="), word);
    else
        snprintf(given, sizeof given, "-%c", optopt ? optopt : '?');

    if (c == ':' && is_long && optopt) { /* named in full, even when abbreviated */
        name_option(o, optopt, -1);
        snprintf(given, sizeof given, "%s", o->name);
    }
    if (c == ':') return lc_opts_usage_error(o, "option '%s' needs a value", given);
    if (optopt && is_long) return lc_opts_usage_error(o, "option '%s' takes no value", given);
    if (optopt) return lc_opts_usage_error(o, "unknown option '%s'", given);

    /* An abbreviation of several long options, or none. */
    char matches[256] = "";
    int n = 0;
    size_t len = strlen(given + 2);
    for (int i = 0; o->longopts && o->longopts[i].name; i++) {
        if (strncmp(o->longopts[i].name, given + 2, len) != 0) continue;
        size_t used = strlen(matches);
        snprintf(matches + used, sizeof matches - used, "%s--%s", n ? ", " : "",
                 o->longopts[i].name);
        n++;
    }
    if (n > 1 && len > 0)
        return lc_opts_usage_error(o, "ambiguous option '%s' (%s)", given, matches);
    return lc_opts_usage_error(o, "unknown option '%s'", given);
}

int lc_opts_next(lc_opts *o) {
    if (!o->started) {
        /* '+' stops at the first operand, '-' hands operands back in order;
         * either overrides POSIXLY_CORRECT. ':' has getopt tell a missing
         * value from an unknown option, and opterr = 0 silences its own
         * messages. optind = 0 makes glibc start afresh, prefix included. */
        snprintf(o->shortbuf, sizeof o->shortbuf, "%c:%s", o->order == LC_OPTS_IN_ORDER ? '+' : '-',
                 o->shortopts ? o->shortopts : "");
        optind = 0;
        opterr = 0;
        o->started = 1;
    }
    int longindex = -1;
    int at = optind < 1 ? 1 : optind; /* the word getopt is about to read */
    optopt = 0;
    int c = getopt_long(o->argc, o->argv, o->shortbuf, o->longopts, &longindex);
    o->optind = optind;
    o->optarg = optarg;
    if (c == -1) return LC_OPTS_END;
    if (c == 1) return LC_OPTS_OPERAND;
    if (c == '?' || c == ':') {
        report(o, c, at);
        return LC_OPTS_ERROR;
    }
    name_option(o, c, longindex);
    return c;
}

/* ---------------------------------------------------------------- numbers */

/* A decimal integer to the end of s, with an optional k/M/G when scaled.
 * No sign but '-', no blanks, no overflow. */
static int parse_integer(const char *s, int scaled, int64_t *out) {
    if (!(s[0] == '-' ? isdigit((unsigned char)s[1]) : isdigit((unsigned char)s[0]))) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno) return -1;
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
    return __builtin_mul_overflow((int64_t)v, unit, out) ? -1 : 0;
}

int lc_opts_integer(const lc_opts *o, int64_t min, int64_t max, int scaled, int64_t *out) {
    int64_t v;
    if (parse_integer(o->optarg, scaled, &v) == 0 && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    char range[96] = "";
    if (min != INT64_MIN && max != INT64_MAX)
        snprintf(range, sizeof range, " from %lld to %lld", (long long)min, (long long)max);
    else if (min != INT64_MIN)
        snprintf(range, sizeof range, " of at least %lld", (long long)min);
    return lc_opts_fail(o->command, "%s: '%s' is not a whole number%s%s", o->name, o->optarg, range,
                        scaled ? " (suffixes k, M, G: powers of 1024)" : "");
}

int lc_opts_seconds(const lc_opts *o, int zero_ok, double *out) {
    const char *s = o->optarg;
    char *end = NULL;
    double v = 0;
    int ok = *s && !isspace((unsigned char)*s);
    if (ok) {
        v = strtod(s, &end);
        ok = end != s && *end == '\0' && isfinite(v) && v <= LC_OPTS_MAX_SECONDS &&
             (zero_ok ? v >= 0 : v > 0);
    }
    if (ok) {
        *out = v;
        return 0;
    }
    return lc_opts_fail(o->command, "%s: '%s' is not a finite number of seconds %s 0 %s %.0f",
                        o->name, s, zero_ok ? "from" : "between", zero_ok ? "to" : "and",
                        LC_OPTS_MAX_SECONDS);
}
