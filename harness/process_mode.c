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
 * process of a program that forks checks itself and names its pid. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int error_exitcode = 23;
static bool json;
static bool strict;
static const char *output;
static double timeout_seconds;

static FILE *open_output(void) {
    if (!output) return stderr;
    /* Append: a program that forks has several processes reporting. */
    FILE *f = fopen(output, "a");
    return f ? f : stderr;
}

static void check_at_exit(void) {
    lc_self_enter();
    FILE *out = open_output();
    lc_self_leave();
    lc_result res;
    lc_options opts = {.struct_version = LC_OPTIONS_VERSION, .quiet = 1};
    lc_verify_process(&opts, &res, strict);
    fputs(json ? lc_last_report_json() : lc_last_report(), out);
    fflush(out);
    if (out != stderr) {
        lc_self_enter();
        fclose(out);
        lc_self_leave();
    }
    if (res.verdict != 0) _exit(res.verdict < 0 ? 2 : error_exitcode);
}

static void *watchdog(void *arg) {
    (void)arg;
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
    if (timeout_seconds > 0) {
        pthread_t dog;
        if (pthread_create(&dog, NULL, watchdog, NULL) == 0) {
            pthread_detach(dog);
            lc_ignore_current();
        }
    }
    atexit(check_at_exit);
}
