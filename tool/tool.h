/* SPDX-License-Identifier: MIT */
/* tool.h: the commands of the leakcheck command-line tool.
 *
 * main.c reads the tool's own options and the command, and hands the rest
 * of the command line to one of these; each takes its own argv with argv[0]
 * naming the command ("diff"), parses its options with opts.h, prints its
 * own output and errors, and returns the process exit status. Each
 * command's --help lists its exit statuses; 2 is a usage error in all. */
#ifndef LC_TOOL_H
#define LC_TOOL_H

/* `leakcheck diff BASE AFTER [--top N] [--min-objects N] [--min-bytes N]
 * [--sample TYPE] [--format text|json]`: growth per call stack between two
 * heap profiles in pprof's format. 0 on success, 2 on a usage error or an
 * unreadable profile. */
int lc_cli_diff(int argc, char **argv);

/* `leakcheck scenarios list | run [NAME...]`: the reproduction scenarios,
 * each variant in a forked child. 0 when every expectation holds. */
int lc_cli_scenarios(int argc, char **argv);

/* `leakcheck run [OPTIONS] -- PROGRAM [ARGS...]`: PROGRAM with the library
 * preloaded, checked at exit. The program's status, or the error exit code
 * when its leaks exceed the budget, 124 after --timeout, 127 when it cannot
 * run, 128+signal when a signal killed it. */
int lc_cli_run(int argc, char **argv);

/* `leakcheck fault-sweep [--scope FUNCTION] [--max N] [--format text|junit]
 * [--output FILE] -- PROGRAM [ARGS...]`:
 * PROGRAM with its N-th allocation failing, N = 1, 2, ...; 1 when a failure
 * point leaked or crashed, 0 when none did, 2 on a usage error or a
 * program that cannot run. */
int lc_cli_fault_sweep(int argc, char **argv);

/* `leakcheck merge [--output FILE] FILE...`: the outputs of the shards of
 * one scenarios run or fault-sweep (--shard K/N) joined into one report in
 * their format. The unsplit command's status (0 or 1), or 2 on a usage
 * error or a file that is not a shard of the same run. */
int lc_cli_merge(int argc, char **argv);

/* `leakcheck dump [--timeout SECONDS] PID`: a running process started with
 * the library and LEAKCHECK_DUMP_SIGNAL writes its heap profile, thread
 * profile and thread dump; their paths are printed. 0 when it did, 1 when
 * it did not, 2 on a usage error. */
int lc_cli_dump(int argc, char **argv);

/* libleakcheck.so beside this executable (build/) or in ../lib (installed),
 * for the commands that preload it. 0, or -1 when there is none. */
#include <stddef.h>
int lc_tool_find_library(char *out, size_t len);

#endif
