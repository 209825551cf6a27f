/* main.c: the leakcheck command-line tool: reads the command and hands the
 * rest of the command line to it. Each command lives in its own file. */
#include "tool.h"

#include <stdio.h>
#include <string.h>

#include "leakcheck.h"

static void usage(FILE *out) {
    fprintf(out, "usage: leakcheck COMMAND [ARGS...]\n"
                 "\n"
                 "commands:\n"
                 "  scenarios list             the reproduction scenarios, one line each\n"
                 "  scenarios run [NAME...]    run them, each variant in a forked child\n"
                 "  run [OPTIONS] -- PROGRAM [ARGS...]\n"
                 "                             run PROGRAM and check it for leaks at exit\n"
                 "  diff BASE AFTER [OPTIONS]  growth per call stack between two heap profiles\n"
                 "\n"
                 "  leakcheck COMMAND --help   the options of a command\n"
                 "  leakcheck --version\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("leakcheck %s\n", LEAKCHECK_VERSION);
        return 0;
    }
    if (strcmp(cmd, "scenarios") == 0) return lc_cli_scenarios(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return lc_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0) return lc_cli_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "fault-sweep") == 0) return lc_cli_fault_sweep(argc - 1, argv + 1);
    fprintf(stderr, "leakcheck: unknown command '%s' (see leakcheck --help)\n", cmd);
    return 2;
}
