/* SPDX-License-Identifier: MIT */
/* supervise.h: `leakcheck run` as the parent of the program it checks.
 *
 * The supervisor starts the program in its own process group and stays its
 * parent (and, as a child subreaper, the parent of every orphaned process
 * of it). It owns what must not depend on the program: the report file,
 * written whole or not at all; the deadline; signal forwarding; and the exit
 * status. Each checked process writes its report into a per-run directory
 * (harness/process_mode.c); the supervisor merges them into one report:
 * text, JSON, or JUnit XML with a test case per process (junit.h). */
#ifndef LC_SUPERVISE_H
#define LC_SUPERVISE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of the supervisor's own (the program's own pass through). */
enum {
    LC_RUN_UNCHECKED = 70, /* the program could not be checked (EX_SOFTWARE) */
    LC_RUN_IOERR = 74,     /* the report could not be written (EX_IOERR) */
    LC_RUN_TIMEOUT = 124,  /* the deadline passed, as timeout(1) */
    LC_RUN_CANNOT_RUN = 127,
};

/* The form of the merged report. */
typedef enum lc_run_format {
    LC_RUN_TEXT,
    LC_RUN_JSON,  /* one JSON document */
    LC_RUN_JUNIT, /* JUnit XML: one test case per process (assertions/junit.h) */
} lc_run_format;

typedef struct lc_supervision {
    char **argv;        /* the program and its arguments */
    const char *output; /* where the report goes; NULL: stderr */
    lc_run_format format;
    int error_exitcode; /* the status when the budget is exceeded */
    double timeout;     /* seconds; 0: none */
    double grace;       /* seconds between the dump request and the kill */
    /* Runs in the child before exec: sets the environment that preloads
     * the library. RUN_DIR and DEADLINE_NS are already in the environment. */
    void (*prepare)(void *ctx);
    void *ctx;
} lc_supervision;

/* One run of the program in a process group of its own (program_group.c),
 * as `leakcheck run` and `leakcheck fault-sweep` both start and wait for
 * it. */
#define LC_FORWARDED_SIGNALS 4
extern const int lc_forwarded_signals[LC_FORWARDED_SIGNALS]; /* INT, TERM, HUP, QUIT */
uint64_t lc_now_ns(void);                                    /* CLOCK_MONOTONIC */
/* Blocks SIGCHLD and the forwarded signals (set), for lc_group_wait; old is
 * the mask the program is to start with. */
void lc_group_block_signals(sigset_t *set, sigset_t *old);
/* In the forked child, before exec: its own group, the tool's signal
 * dispositions and mask undone, the run directory and the deadline in the
 * environment the library reads. */
void lc_group_child_setup(const char *run_dir, double timeout, const sigset_t *mask);
typedef struct lc_group_wait_spec {
    double timeout, grace; /* seconds; timeout 0: none */
    const sigset_t *set;   /* from lc_group_block_signals */
    /* Reaps what ended; true when the run is over (timed_out: the deadline
     * passed and the group is being killed). */
    bool (*done)(void *ctx, bool timed_out);
    bool (*dumps_written)(void *ctx); /* every process's thread dump is there */
    void (*signal_all)(void *ctx, int sig);
    void *ctx;
    bool timed_out; /* out: the deadline passed */
    int forwarded;  /* out: the last signal forwarded, or 0 */
} lc_group_wait_spec;
/* Waits for the run: forwards the signals to it, and at the deadline waits
 * for the dumps (or the grace time) and kills it. */
void lc_group_wait(lc_group_wait_spec *w);

/* Runs the program under supervision and returns the exit status of
 * `leakcheck run`; prints its own errors as one line each. */
int lc_supervise(const lc_supervision *s);

/* A process's report or dump with the holes its frames left for files and
 * lines filled from DWARF (holes.c), through RUN_DIR/PID.modules; takes
 * text (malloc'ed) and returns it or its replacement. */
char *lc_holes_fill(const char *dir, int pid, char *text);
/* The same for a text that carries its maps: each "modules:" ... "end
 * modules" block (removed) is the map of the holes before it. */
char *lc_holes_fill_inline(char *text);
/* The answer to a checked process's question (harness/line_client.c:
 * "KIND ADDR BIAS BUILD-ID PATH"): the file, *line set, or NULL when DWARF
 * does not say. Valid until lc_holes_answers_end. One thread only. */
const char *lc_holes_answer(const char *question, int *line);
void lc_holes_answers_end(void);

/* The line service (line_server.c): the checked processes of a run ask it,
 * on the socket DIR/lines, for the files and lines they need themselves
 * (a suppression by file, a profile, a graph, the program's own diff). A
 * thread of the supervisor answers until stopped. */
typedef struct lc_line_server {
    int listen_fd, stop_fd[2];
    bool running;
    pthread_t thread;
} lc_line_server;
/* false (with nothing started) when the socket cannot be made: the
 * processes then leave holes only. */
bool lc_line_server_start(lc_line_server *s, const char *dir);
void lc_line_server_stop(lc_line_server *s);

#endif
