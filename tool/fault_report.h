/* SPDX-License-Identifier: MIT */
/* fault_report.h: the results of `leakcheck fault-sweep` (fault_cmd.c), one
 * record per failure point, written as text while the sweep goes, or whole
 * at its end as one leakcheck/1 JSON document or as JUnit XML (junit.h).
 * The three are made from the same records, so they say the same. */
#ifndef LC_FAULT_REPORT_H
#define LC_FAULT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "shard.h"

/* What became of a run, from the exit check's own result, never from the
 * program's exit status. */
typedef enum lc_fault_outcome {
    LC_FAULT_CLEAN,
    LC_FAULT_LEAK,      /* the exit check found a leak */
    LC_FAULT_CRASH,     /* killed by a signal */
    LC_FAULT_HUNG,      /* still running at --timeout: dumped and killed */
    LC_FAULT_UNCHECKED, /* ended without its exit check (reason says why) */
} lc_fault_outcome;

/* One run of the sweep: the failure point N, and what became of it. */
typedef struct lc_fault_run {
    long n;
    bool hit; /* the N-th allocation was reached and failed */
    lc_fault_outcome outcome;
    int signal;     /* the signal that killed a crashed run */
    int exit_code;  /* the program's own status, when it exited */
    double seconds; /* the run, from fork to exit */
    char *stack;    /* the failed allocation's stack lines, or NULL */
    char *report;   /* the exit check's report (text or JSON), or NULL */
    char *dump;     /* every thread of a hung run, or NULL */
    char *reason;   /* why an unchecked run has no check, or NULL */
} lc_fault_run;

/* What the sweep was, for the document's header and summary. */
typedef struct lc_fault_sweep_info {
    char **argv;
    const char *scope;
    double timeout; /* 0: none */
    lc_shard shard; /* {0, 0}: the whole sweep */
    long end;       /* a shard: the first point not reached; 0 when --max stopped it */
    char run_id[LC_SHARD_RUN_ID_LEN];
    long runs, leaked, crashed, hung, unchecked;
    double started, seconds; /* wall-clock start, and duration */
} lc_fault_sweep_info;

void lc_fault_run_free(lc_fault_run *r);
const char *lc_fault_outcome_name(lc_fault_outcome o);
/* The text of one failure point that is not clean, as the sweep finds it. */
void lc_fault_print_run(FILE *f, const lc_fault_run *r, const lc_fault_sweep_info *s);
/* The summary line of the text. */
void lc_fault_print_summary(FILE *f, const lc_fault_sweep_info *s);
/* Every failure point as one JSON document (kind "fault-sweep"). */
void lc_fault_write_json(const lc_fault_run *runs, size_t n, const lc_fault_sweep_info *s,
                         lc_buf *out);
/* One JUnit test case per failure point reached, and the last run too when
 * it did not end clean. */
void lc_fault_write_junit(const lc_fault_run *runs, size_t n, const lc_fault_sweep_info *s,
                          lc_buf *out);

#endif
