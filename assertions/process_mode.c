/* process_mode.c: checking a whole program when it exits.
 *
 * `leakcheck run` preloads the library with LEAKCHECK_MODE=process. The
 * check is an atexit handler registered while the library initialises, so
 * it runs after every handler the program registers itself (atexit runs
 * handlers in reverse order) and sees the program as it leaves it. In this
 * mode every thread but the main one is a leak, and so is every block that
 * is unreachable or held only by leaked threads; blocks still reachable from
 * globals are listed but count only with LEAKCHECK_STRICT. A timeout starts
 * a watchdog thread that dumps every thread and ends the process. Each
 * process of a program that forks checks itself and names its pid.
 *
 * With LEAKCHECK_PPROF=FILE the heap as the program leaves it is also
 * written as a pprof profile, from a snapshot taken just before the check
 * (the check's own collection point may run cleanup hooks; the profile shows
 * what the program itself left). The process `leakcheck run` started
 * (LEAKCHECK_RUN_PID) writes FILE; every other process, forked or started
 * by it, writes FILE.PID, so that no process overwrites another's profile.
 * Without LEAKCHECK_RUN_PID the process that loaded the library counts as
 * the one started, and its forked children write FILE.PID. LEAKCHECK_DOT=FILE
 * (`--dot`) writes the check's retention paths as a Graphviz graph, named
 * the same way. */
#include "core.h"
#include "os.h"
#include "run.h"
#include "thread.h"
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int error_exitcode = 23;
static bool json;
static bool strict;
static const char *output;
static double timeout_seconds;
/* Copied at start: the program may change its environment before exit. */
static char pprof_path[4096], dot_path[4096];
static bool pprof_path_too_long, dot_path_too_long;
static pid_t file_owner; /* the process that writes FILE itself; others FILE.PID */

static FILE *open_output(void) {
    if (!output) return stderr;
    /* Append: a program that forks has several processes reporting. */
    FILE *f = fopen(output, "a");
    return f ? f : stderr;
}

/* FILE for the process `leakcheck run` started, FILE.PID for the others.
 * Returns false when the path does not fit. */
static bool process_file(const char *file, bool too_long, char *path, size_t len) {
    pid_t self = getpid();
    int n = too_long             ? -1
            : self == file_owner ? snprintf(path, len, "%s", file)
                                 : snprintf(path, len, "%s.%d", file, (int)self);
    return n >= 0 && (size_t)n < len;
}

/* Write the heap profile of this process; a failure is reported with the
 * check's report and does not change the verdict. */
static void write_profile(FILE *out) {
    char path[sizeof pprof_path + 16];
    pid_t self = getpid();
    if (!process_file(pprof_path, pprof_path_too_long, path, sizeof path)) {
        fprintf(out, "leakcheck: pid %d: heap profile path too long: %s\n", (int)self, pprof_path);
        return;
    }
    lc_snapshot *s = lc_snapshot_take();
    if (!s) {
        fprintf(out, "leakcheck: pid %d: cannot write heap profile %s: out of memory\n", (int)self,
                path);
        return;
    }
    if (lc_snapshot_write_pprof(s, path) != 0)
        fprintf(out, "leakcheck: pid %d: cannot write heap profile %s: %s\n", (int)self, path,
                strerror(errno));
    lc_snapshot_free(s);
}

/* The retention paths of the check as a Graphviz graph (`--dot FILE`). */
static void write_dot(FILE *out) {
    char path[sizeof dot_path + 16];
    lc_self_enter();
    FILE *f =
        process_file(dot_path, dot_path_too_long, path, sizeof path) ? fopen(path, "w") : NULL;
    if (!f || fputs(lc_last_report_dot(), f) < 0 || fclose(f) != 0)
        fprintf(out, "leakcheck: pid %d: cannot write the retention graph %s: %s\n", (int)getpid(),
                dot_path, f ? strerror(errno) : "cannot open it");
    lc_self_leave();
}

static void check_at_exit(void) {
    lc_self_enter();
    FILE *out = open_output();
    if (pprof_path[0]) write_profile(out);
    lc_self_leave();
    lc_result res;
    lc_options opts = {.struct_version = LC_OPTIONS_VERSION, .quiet = 1};
    lc_verify_process(&opts, &res, strict);
    fputs(json ? lc_last_report_json() : lc_last_report(), out);
    if (dot_path[0]) write_dot(out);
    fflush(out);
    if (out != stderr) {
        lc_self_enter();
        fclose(out);
        lc_self_leave();
    }
    if (res.verdict != 0) {
        /* _exit skips the flush of stdio that exit does after the last
         * handler: without this, a leaky program's buffered output to a
         * pipe or file would be lost. */
        fflush(NULL);
        _exit(res.verdict < 0 ? 2 : error_exitcode);
    }
}

static void *watchdog(void *arg) {
    (void)arg;
    lc_thread_rec *self = lc_thread_self_rec();
    if (self) self->internal = 1; /* not the program's: not in its dump */
    lc_os_sleep_ns((uint64_t)(timeout_seconds * 1e9));
    FILE *out = open_output();
    fprintf(out, "leakcheck: pid %d timed out after %.1f s; every thread:\n", (int)getpid(),
            timeout_seconds);
    lc_dump_threads(out);
    fflush(out);
    _exit(124);
}

void lc_process_mode_init(void) {
    const char *mode = getenv("LEAKCHECK_MODE");
    if (!mode || strcmp(mode, "process") != 0) return;
    const char *code = getenv("LEAKCHECK_ERROR_EXITCODE");
    if (code && *code) error_exitcode = atoi(code);
    const char *format = getenv("LEAKCHECK_FORMAT");
    json = format && strcmp(format, "json") == 0;
    strict = getenv("LEAKCHECK_STRICT") != NULL;
    output = getenv("LEAKCHECK_OUTPUT");
    const char *t = getenv("LEAKCHECK_TIMEOUT");
    if (t && *t) timeout_seconds = strtod(t, NULL);
    const char *pprof = getenv("LEAKCHECK_PPROF");
    if (pprof && *pprof) {
        int n = snprintf(pprof_path, sizeof pprof_path, "%s", pprof);
        pprof_path_too_long = n < 0 || (size_t)n >= sizeof pprof_path;
    }
    const char *dot = getenv("LEAKCHECK_DOT");
    if (dot && *dot) {
        int n = snprintf(dot_path, sizeof dot_path, "%s", dot);
        dot_path_too_long = n < 0 || (size_t)n >= sizeof dot_path;
        lc_cfg.retention_graph = true;
    }
    const char *owner = getenv("LEAKCHECK_RUN_PID");
    file_owner = owner && *owner ? (pid_t)atol(owner) : getpid();
    if (timeout_seconds > 0) {
        pthread_t dog;
        if (pthread_create(&dog, NULL, watchdog, NULL) == 0) {
            pthread_detach(dog);
            lc_ignore_current();
        }
    }
    atexit(check_at_exit);
}
