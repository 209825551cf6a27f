/* SPDX-License-Identifier: MIT */
/* main.c: the leakcheck command-line tool: reads the tool's own options and
 * the command, and hands the rest of the command line to the command. Each
 * command lives in its own file and parses its options with opts.c. */
#include "tool.h"
#include "opts.h"

#include <stdio.h>
#include <string.h>

#include "leakcheck.h"

/* The text help2man turns into leakcheck(1) (Makefile, scripts/man.sh):
 * "Usage:", indented two-column lists and headings ending in ':' are its
 * conventions. */
static const char usage_text[] =
    "Usage: leakcheck COMMAND [OPTIONS] [ARGS...]\n"
    "  or:  leakcheck --help | --version\n"
    "Check C programs and their test suites for leaked threads and heap memory:\n"
    "whole programs at exit, allocation-failure sweeps, heap-profile diffs, and the\n"
    "reproduction scenarios.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "                           run PROGRAM with the library preloaded and check it\n"
    "                           and every process it starts for leaks at exit\n"
    "  fault-sweep [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "                           run PROGRAM with its 1st, 2nd, 3rd... allocation\n"
    "                           failing; report the failure points that leak or crash\n"
    "  diff [OPTIONS] BASE AFTER\n"
    "                           growth per call stack between two heap profiles\n"
    "  merge [OPTIONS] FILE...  join the JSON or JUnit outputs of the shards of a\n"
    "                           scenarios run or fault-sweep (--shard K/N) into\n"
    "                           one report with one verdict\n"
    "  dump [OPTIONS] PID       ask a running process for its heap profile, thread\n"
    "                           profile and thread dump\n"
    "  scenarios list           the reproduction scenarios, one line each\n"
    "  scenarios run [OPTIONS] [NAME...]\n"
    "                           run them, each variant in a forked child\n"
    "\n"
    "Options:\n"
    "  -h, --help               print this help\n"
    "  -V, --version            print the version\n"
    "\n"
    "'leakcheck COMMAND --help' lists the options and exit statuses of COMMAND.\n"
    "\n"
    "Exit status:\n"
    "  0        the help or the version was printed; otherwise the status of\n"
    "           COMMAND (see its --help)\n"
    "  2        a usage error: no command, or an unknown command or option\n";

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"run", lc_cli_run},   {"fault-sweep", lc_cli_fault_sweep}, {"diff", lc_cli_diff},
    {"dump", lc_cli_dump}, {"scenarios", lc_cli_scenarios},     {"merge", lc_cli_merge},
};

/* The library this tool links keeps no dump thread in it (live_dump.c). */
const int lc_tool_process = 1;

int main(int argc, char **argv) {
    /* LEAKCHECK_FAIL_ALLOC is for the program the tool runs, never for the
     * tool: the library it links armed itself from the environment, and an
     * injected failure in the tool's own setenv would run the program
     * unchecked. The variable itself reaches the program untouched. */
    lc_fault_inject(0, 0);
    /* The tool's own options end at the command, whose options are its own. */
    lc_opts o = {.command = "",
                 .help_command = "",
                 .shortopts = "hV",
                 .longopts = long_options,
                 .order = LC_OPTS_IN_ORDER,
                 .argc = argc,
                 .argv = argv};
    int c;
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        }
        if (c == 'V') {
            printf("leakcheck %s\n", LEAKCHECK_VERSION);
            return 0;
        }
        return LC_EXIT_USAGE; /* LC_OPTS_ERROR, printed */
    }
    if (o.optind >= argc) return lc_opts_fail("", "no command given; try 'leakcheck --help'");
    const char *name = argv[o.optind];
    if (strcmp(name, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - o.optind, argv + o.optind);
    return lc_opts_fail("", "unknown command '%s'; try 'leakcheck --help'", name);
}
