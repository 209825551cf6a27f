/* SPDX-License-Identifier: MIT */
/* opts.h: the option parser every leakcheck command uses.
 *
 * One parser, glibc's getopt_long, so that `--opt value`, `--opt=value`,
 * `-o value`, `-ovalue`, bundled flags and abbreviated long names work alike
 * in every command, and one way to report a bad command line: a single line
 * on stderr, "leakcheck COMMAND: WHAT", and exit status 2. The numeric
 * parsers check what strtol and strtod leave to the caller (trailing
 * garbage, overflow, NaN, infinity, range), so that every command refuses
 * the same inputs with the same words. */
#ifndef LC_TOOL_OPTS_H
#define LC_TOOL_OPTS_H

#include <getopt.h>
#include <stdint.h>

/* The exit status of a usage error, in every command. */
#define LC_EXIT_USAGE 2

/* The longest --timeout / --wait-for-tracer: a year, in seconds. */
#define LC_OPTS_MAX_SECONDS 31536000.0

/* What lc_opts_next returns besides an option's value. */
#define LC_OPTS_END (-1)   /* no option left: the operands start at o->optind */
#define LC_OPTS_OPERAND 1  /* an operand, in o->optarg (LC_OPTS_PERMUTE only) */
#define LC_OPTS_ERROR (-2) /* a usage error, already printed */

typedef enum lc_opts_order {
    /* Options stop at "--" or the first operand: what follows is a program
     * and its own arguments, never parsed ("+" in getopt's terms). */
    LC_OPTS_IN_ORDER,
    /* Options and operands in any order; operands come back one by one as
     * LC_OPTS_OPERAND ("-" in getopt's terms), whatever POSIXLY_CORRECT
     * says. */
    LC_OPTS_PERMUTE,
} lc_opts_order;

typedef struct lc_opts {
    const char *command;      /* in messages: "run", "scenarios run"; "" for the tool */
    const char *help_command; /* in the hint: "leakcheck HELP_COMMAND --help" */
    const char *shortopts;    /* getopt's, without the leading '+', '-' or ':' */
    const struct option *longopts;
    lc_opts_order order;
    int argc;
    char **argv; /* argv[0] names the command and is skipped */
    /* Set by lc_opts_next: */
    const char *optarg; /* the value of the option returned, or the operand */
    const char *name;   /* the option as given, "--timeout" or "-t", for messages */
    int optind;         /* after LC_OPTS_END: the index of the first operand */
    int started;
    char namebuf[64];
    char shortbuf[256]; /* the prefix and shortopts given to getopt_long */
} lc_opts;

/* The next option of the command line: its `val` (the short letter or the
 * long option's code), LC_OPTS_OPERAND, LC_OPTS_END, or LC_OPTS_ERROR after
 * printing an unknown, ambiguous or incomplete option as one line. */
int lc_opts_next(lc_opts *o);

/* The program messages name, "leakcheck" unless set (a scenario program
 * built on lc_scenarios_main names itself). */
void lc_opts_set_program(const char *name);

/* Print "leakcheck COMMAND: MESSAGE" as one line on stderr; returns
 * LC_EXIT_USAGE so that callers can `return lc_opts_fail(...)`. */
int lc_opts_fail(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same, ending with "; try 'leakcheck HELP_COMMAND --help'". */
int lc_opts_usage_error(const lc_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The value of the current option (o->optarg) as a decimal integer in
 * [min, max]; with `scaled`, an optional suffix k, M or G multiplies it by
 * a power of 1024. 0, or LC_EXIT_USAGE after printing, e.g.
 * "leakcheck scenarios run: --jobs: '0' is not a whole number from 1 to 1024". */
int lc_opts_integer(const lc_opts *o, int64_t min, int64_t max, int scaled, int64_t *out);

/* The value of the current option as a finite number of seconds, more than
 * 0 (or at least 0 with `zero_ok`) and at most LC_OPTS_MAX_SECONDS. 0, or
 * LC_EXIT_USAGE after printing. */
int lc_opts_seconds(const lc_opts *o, int zero_ok, double *out);

#endif
