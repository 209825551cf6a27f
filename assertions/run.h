/* SPDX-License-Identifier: MIT */
/* run.h: what runs the check for the program: start-up and fork
 * (init.c), process mode (process_mode.c), the fault sweep
 * (fault_sweep.c), dumps on a signal (live_dump.c). */
#ifndef LC_RUN_H
#define LC_RUN_H

#include "core.h"

/* Process mode (`leakcheck run`): installs the check at exit when
 * LEAKCHECK_MODE=process; called at the end of start-up. */
void lc_process_mode_init(void);
/* In a forked child: its own start record under the supervisor. */
void lc_process_mode_after_fork_child(void);

/* With LEAKCHECK_DUMP_SIGNAL set: the signal's handler and the thread that
 * writes the dumps; called at the end of start-up. */
void lc_live_dump_init(void);

/* Interposed: a process that ends with _exit or _Exit before its exit check
 * leaves the reason for the supervisor, then ends as asked. */
LC_API __attribute__((noreturn)) void _exit(int status);
LC_API __attribute__((noreturn)) void _Exit(int status);

#endif
