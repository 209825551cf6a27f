/* SPDX-License-Identifier: MIT */
/* runner.c: runs scenario variants in forked children and reports on them.
 *
 * Each variant runs in a child of its own, so a leaky variant may leave
 * threads blocked forever and a crashing one takes nobody with it. The child
 * starts a watchdog thread (before its baseline, so it is never a leak),
 * takes the baseline, runs the variant, forces a collection point, verifies
 * at a zero budget and judges the scenario's declared expectations itself;
 * it writes its verdict and both reports to a file, so no pipe can fill up
 * and stall a child mid-report, and stops itself. The parent, seeing a
 * stopped child with a complete result, kills it: a child discarded that way
 * runs no exit-time code at all, not even the leak search of a checker it
 * runs under (valgrind), which could only find the leaks its variant made on
 * purpose. In a child that hangs, the watchdog writes the thread dump and
 * the child is discarded the same way; one that dies is reported with its
 * signal; the runner goes on either way.
 *
 * The command line (`leakcheck scenarios run`) and the tests share this code;
 * the tests run it on scenario lists of their own (a crash, a hang). */
#include "scenarios.h"

#include "probes.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exit status of a child whose watchdog fired, as timeout(1) uses. */
#define EXIT_TIMED_OUT 124

/* How long past its timeout a child may take to write its thread dump
 * before the parent kills it: symbolizing every thread takes a while. */
#define DUMP_GRACE_SECONDS 10.0

/* How long the tracer wait lets the set of enabled probes settle: a tracer
 * attaches its probes one at a time, and raises a probe's semaphore just
 * before it attaches the probe itself. */
#define ALL_PROBES_GRACE 0.1
#define SOME_PROBES_GRACE 0.5

/* A result starts with child_magic; a thread dump ends with dump_magic. */
static const char child_magic[5] = {'L', 'C', 'M', 'S', 'G'};
static const char dump_magic[5] = {'L', 'C', 'D', 'M', 'P'};

/* What a child writes after its magic, followed by the two reports. */
typedef struct child_msg {
    int expectation_met;
    char why[240];
    double seconds;
    lc_result res;
    size_t text_len, json_len;
} child_msg;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

static const char *variant_name(bool leaky) {
    return leaky ? "leaky" : "fixed";
}

/* ------------------------------------------------------------ the child */

/* Either the main thread reports or the watchdog dumps, never both: the
 * one that moves the state away from RUNNING owns the output file. */
enum { CHILD_RUNNING, CHILD_REPORTING, CHILD_TIMED_OUT };
static atomic_int child_state;
static double watchdog_seconds;
static FILE *child_out;

static void *watchdog(void *arg) {
    (void)arg;
    sleep_seconds(watchdog_seconds);
    int expected = CHILD_RUNNING;
    if (!atomic_compare_exchange_strong(&child_state, &expected, CHILD_TIMED_OUT)) return NULL;
    fprintf(child_out, "timed out after %.1f s; thread dump:\n", watchdog_seconds);
    lc_dump_threads(child_out);
    fwrite(dump_magic, 1, sizeof dump_magic, child_out);
    fflush(child_out);
    /* Discarded as after a result (see run_child). */
    raise(SIGSTOP);
    _exit(EXIT_TIMED_OUT);
}

/* Print which pid to trace, then wait until a tracer has enabled the
 * toolkit's probes and finished attaching, or until `seconds` pass. */
static void wait_for_tracer(const lc_scenario *sc, bool leaky, double seconds) {
    int pid = (int)getpid();
    fprintf(stderr,
            "leakcheck scenarios: %s (%s) runs in pid %d: waiting up to %g s for a tracer, "
            "e.g. bpftrace -p %d scenarios/leaks.bt\n",
            sc->name, variant_name(leaky), pid, seconds, pid);
    double start = now_seconds(), changed = start;
    int seen = 0;
    for (double t = start; t - start < seconds; t = now_seconds()) {
        int enabled = lc_toolkit_probes_enabled();
        if (enabled != seen) {
            seen = enabled;
            changed = t;
        }
        if (seen == LC_TOOLKIT_PROBES && t - changed >= ALL_PROBES_GRACE) return;
        if (seen > 0 && t - changed >= SOME_PROBES_GRACE) return;
        sleep_seconds(0.01);
    }
    if (seen == 0)
        fprintf(stderr, "leakcheck scenarios: no tracer attached to pid %d; running untraced\n",
                pid);
}

static bool thread_waits_match(const lc_result *r, const char *wait) {
    for (int i = 0; i < r->nthreads; i++)
        if (strcmp(r->threads[i].wait, wait) != 0 && strcmp(r->threads[i].state, wait) != 0)
            return false;
    return true;
}

/* Whether the check of a variant meets what its scenario declares; when it
 * does not, why (one line). */
static bool judge(const lc_scenario *sc, bool leaky, const lc_result *r, const char *text,
                  char *why, size_t len) {
    if (!leaky) {
        if (r->verdict == 0 && r->leaked_threads == 0 && r->leaked_objects == 0) return true;
        snprintf(why, len, "the fix is not clean: %lld threads, %lld objects leaked",
                 r->leaked_threads, r->leaked_objects);
        return false;
    }
    const lc_scenario_expect *e = &sc->expect;
    if (r->verdict != 1)
        snprintf(why, len, "no leak found");
    else if (r->leaked_threads != e->threads)
        snprintf(why, len, "%lld leaked threads, expected %d", r->leaked_threads, e->threads);
    else if (e->wait && !thread_waits_match(r, e->wait))
        snprintf(why, len, "leaked threads are not all in \"%s\"", e->wait);
    else if (r->leaked_objects < e->min_objects)
        snprintf(why, len, "%lld leaked objects, expected at least %lld", r->leaked_objects,
                 e->min_objects);
    else if (r->leaked_bytes < e->min_bytes)
        snprintf(why, len, "%lld leaked bytes, expected at least %lld", r->leaked_bytes,
                 e->min_bytes);
    else if (e->must_name && !strstr(text, e->must_name))
        snprintf(why, len, "the report does not name %s", e->must_name);
    else
        return true;
    return false;
}

static _Noreturn void run_child(const lc_scenario *sc, bool leaky, FILE *out,
                                const lc_runner_opts *o) {
    if (o->wait_for_tracer > 0) wait_for_tracer(sc, leaky, o->wait_for_tracer);
    watchdog_seconds = o->timeout;
    child_out = out;
    atomic_store(&child_state, CHILD_RUNNING);
    pthread_t dog;
    if (pthread_create(&dog, NULL, watchdog, NULL) == 0) pthread_setname_np(dog, "lc-watchdog");
    /* The watchdog existed before the baseline, so no check reports it. */
    double t0 = now_seconds();
    lc_baseline();
    (leaky ? sc->leaky : sc->fixed)();
    lc_collect();
    child_msg msg;
    memset(&msg, 0, sizeof msg);
    double settle = 0; /* the library's default window */
    if (leaky) settle = o->leaky_settle > 0 ? o->leaky_settle : LC_RUNNER_LEAKY_SETTLE;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .budget = "bytes=0,objects=0,threads=0",
                                  .settle_seconds = settle},
              &msg.res);
    msg.seconds = now_seconds() - t0;
    const char *text = lc_last_report(), *json = lc_last_report_json();
    msg.expectation_met = judge(sc, leaky, &msg.res, text, msg.why, sizeof msg.why);
    msg.text_len = strlen(text);
    msg.json_len = strlen(json);
    int expected = CHILD_RUNNING;
    if (!atomic_compare_exchange_strong(&child_state, &expected, CHILD_REPORTING))
        for (;;)
            pause(); /* the watchdog fired and is writing the dump */
    fwrite(child_magic, 1, sizeof child_magic, out);
    fwrite(&msg, 1, sizeof msg, out);
    fwrite(text, 1, msg.text_len, out);
    fwrite(json, 1, msg.json_len, out);
    fflush(out);
    /* What the variant left behind is its point: nothing of it is freed.
     * The parent kills the stopped child; should something continue it
     * instead, it leaves without running any exit-time code. */
    raise(SIGSTOP);
    _exit(0);
}

/* ------------------------------------------------------------ the parent */

typedef struct job {
    lc_variant_result *r;
    pid_t pid;
    FILE *file;
    double started, deadline, timeout;
    bool running, killed, dumped;
} job;

/* The whole file, NUL-terminated. With pread, so that the offset the child
 * may still be writing at is left alone. */
static char *read_all(FILE *f, size_t *len) {
    int fd = fileno(f);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = pread(fd, buf + n, cap - n - 1, (off_t)n)) != 0) {
        if (got < 0) {
            if (errno == EINTR) continue;
            break;
        }
        n += (size_t)got;
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* Whether data holds a complete message from a child; its header goes to
 * *msg and its reports start at data + *at. */
static bool complete_message(const char *data, size_t len, child_msg *msg, size_t *at) {
    if (!data || len < sizeof child_magic + sizeof *msg ||
        memcmp(data, child_magic, sizeof child_magic) != 0)
        return false;
    memcpy(msg, data + sizeof child_magic, sizeof *msg);
    *at = sizeof child_magic + sizeof *msg;
    return msg->text_len <= len - *at && msg->json_len <= len - *at - msg->text_len;
}

/* Whether data is a complete thread dump from the watchdog. */
static bool complete_dump(const char *data, size_t len) {
    return data && len >= sizeof dump_magic &&
           memcmp(data + len - sizeof dump_magic, dump_magic, sizeof dump_magic) == 0;
}

/* The child's result, when it left a complete one. */
static bool take_message(lc_variant_result *r, const char *data, size_t len) {
    child_msg msg;
    size_t at;
    if (!complete_message(data, len, &msg, &at)) return false;
    r->outcome = LC_VARIANT_CHECKED;
    r->check = msg.res;
    r->seconds = msg.seconds;
    r->expectation_met = msg.expectation_met;
    snprintf(r->why, sizeof r->why, "%s", msg.why);
    r->report = strndup(data + at, msg.text_len);
    r->json = strndup(data + at + msg.text_len, msg.json_len);
    return true;
}

static void collect_child(job *j, int status) {
    lc_variant_result *r = j->r;
    j->running = false;
    r->seconds = now_seconds() - j->started;
    size_t len = 0;
    char *data = read_all(j->file, &len);
    fclose(j->file);
    j->file = NULL;
    if (take_message(r, data, len)) {
        free(data);
        return;
    }
    r->expectation_met = false;
    bool has_dump = complete_dump(data, len);
    if (has_dump) data[len - sizeof dump_magic] = '\0';
    bool dumped = has_dump || j->dumped;
    r->report = data && data[0] ? data : NULL; /* the thread dump of a hang */
    if (!r->report) free(data);
    if (WIFSIGNALED(status) && !dumped) r->signal = WTERMSIG(status);
    if (dumped) {
        r->outcome = LC_VARIANT_TIMED_OUT;
        snprintf(r->why, sizeof r->why, "timed out after %.1f s", j->timeout);
    } else if (j->killed) {
        r->outcome = LC_VARIANT_TIMED_OUT;
        snprintf(r->why, sizeof r->why, "timed out after %.1f s and was killed (signal %d, %s)",
                 r->seconds, r->signal, strsignal(r->signal));
    } else if (WIFSIGNALED(status)) {
        r->outcome = LC_VARIANT_CRASHED;
        snprintf(r->why, sizeof r->why, "crashed (signal %d, %s)", r->signal, strsignal(r->signal));
    } else {
        r->outcome = LC_VARIANT_CRASHED;
        snprintf(r->why, sizeof r->why, "exited with status %d before reporting",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

static void fail_job(job *j, const char *what, int err) {
    j->running = false;
    if (j->file) fclose(j->file);
    j->file = NULL;
    j->r->outcome = LC_VARIANT_CRASHED;
    j->r->expectation_met = false;
    snprintf(j->r->why, sizeof j->r->why, "%s: %s", what, strerror(err));
}

/* Start the child of a job; false (with the job failed) when it could not
 * be started. */
static bool start_job(job *j, const lc_runner_opts *o) {
    j->file = tmpfile();
    if (!j->file) {
        fail_job(j, "could not start", errno);
        return false;
    }
    fflush(NULL); /* nothing buffered may be written twice */
    j->started = now_seconds();
    j->timeout = o->timeout;
    j->deadline = j->started + o->wait_for_tracer + o->timeout + DUMP_GRACE_SECONDS;
    j->pid = fork();
    if (j->pid < 0) {
        fail_job(j, "could not start", errno);
        return false;
    }
    if (j->pid == 0) run_child(j->r->scenario, j->r->leaky, j->file, o);
    j->running = true;
    return true;
}

/* A child stopped: discard it when it stopped itself after its result or
 * its thread dump (kill it), and let it go on when something else stopped
 * it before. */
static void stopped_child(job *j) {
    size_t len = 0;
    char *data = read_all(j->file, &len);
    child_msg msg;
    size_t at;
    j->dumped = complete_dump(data, len);
    bool done = j->dumped || complete_message(data, len, &msg, &at);
    free(data);
    kill(j->pid, done ? SIGKILL : SIGCONT);
}

/* Reap every child that ended; discard those that stopped after their
 * result; kill those past their deadline (the watchdog dumps and exits on
 * time, this is the backstop for a child too broken to run it). Returns how
 * many ended. */
static size_t reap(job *jobs, size_t n) {
    size_t ended = 0;
    double now = now_seconds();
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (!j->running) continue;
        int status;
        pid_t got = waitpid(j->pid, &status, WNOHANG | WUNTRACED);
        if (got == j->pid && WIFSTOPPED(status)) {
            stopped_child(j);
        } else if (got == j->pid) {
            collect_child(j, status);
            ended++;
        } else if (got < 0 && errno != EINTR) {
            fail_job(j, "lost the child", errno);
            ended++;
        } else if (!j->killed && now > j->deadline) {
            kill(j->pid, SIGKILL);
            j->killed = true;
        }
    }
    return ended;
}

static void run_jobs(job *jobs, size_t n, const lc_runner_opts *o) {
    size_t next = 0, done = 0;
    int running = 0;
    while (done < n) {
        while (next < n && running < o->jobs) {
            if (start_job(&jobs[next++], o))
                running++;
            else
                done++;
        }
        size_t ended = reap(jobs, n);
        running -= (int)ended;
        done += ended;
        if (!ended) sleep_seconds(0.002);
    }
}

static lc_runner_opts effective_opts(const lc_runner_opts *o) {
    lc_runner_opts e = o ? *o : (lc_runner_opts){0};
    if (e.jobs <= 0) e.jobs = 1;
    if (e.timeout <= 0) e.timeout = LC_RUNNER_DEFAULT_TIMEOUT;
    if (e.leaky_settle <= 0) e.leaky_settle = LC_RUNNER_LEAKY_SETTLE;
    if (e.wait_for_tracer < 0) e.wait_for_tracer = 0;
    return e;
}

int lc_scenarios_execute(const lc_scenario *const *list, size_t n, const lc_runner_opts *o,
                         lc_variant_result **results) {
    *results = NULL;
    if (n == 0) return 0;
    lc_runner_opts e = effective_opts(o);
    size_t count = 2 * n;
    lc_variant_result *r = calloc(count, sizeof *r);
    job *jobs = calloc(count, sizeof *jobs);
    if (!r || !jobs) {
        free(r);
        free(jobs);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        r[i].scenario = list[i / 2];
        r[i].leaky = i % 2 == 0;
        jobs[i].r = &r[i];
    }
    run_jobs(jobs, count, &e);
    free(jobs);
    int unmet = 0;
    for (size_t i = 0; i < count; i++)
        unmet += !r[i].expectation_met;
    *results = r;
    return unmet;
}

void lc_variant_results_free(lc_variant_result *results, size_t count) {
    for (size_t i = 0; results && i < count; i++) {
        free(results[i].report);
        free(results[i].json);
    }
    free(results);
}

/* ------------------------------------------------------------ output */

static const char *verdict_name(const lc_variant_result *r) {
    switch (r->outcome) {
    case LC_VARIANT_TIMED_OUT:
        return "TIMEOUT";
    case LC_VARIANT_CRASHED:
        return "CRASH";
    case LC_VARIANT_CHECKED:
        break;
    }
    return r->check.verdict == 1 ? "leak" : r->check.verdict == 0 ? "clean" : "error";
}

static void top_suspect(const lc_variant_result *r, char *out, size_t len) {
    const lc_result *c = &r->check;
    const lc_result_thread *t = &c->threads[0];
    if (r->outcome != LC_VARIANT_CHECKED)
        snprintf(out, len, "-");
    else if (c->nthreads && (t->start[0] || t->function[0]))
        snprintf(out, len, "%s [%s]", t->start[0] ? t->start : t->function,
                 t->wait[0] ? t->wait : t->state);
    else if (c->nsites)
        snprintf(out, len, "%s", c->sites[0].function);
    else
        snprintf(out, len, "-");
}

static void print_table(const lc_variant_result *results, size_t count, FILE *out) {
    fprintf(out, "%-26s %-6s %-8s %7s %8s %10s  %-38s %7s  %s\n", "scenario", "variant", "verdict",
            "threads", "objects", "bytes", "top suspect", "time", "expected");
    for (size_t i = 0; i < count; i++) {
        const lc_variant_result *r = &results[i];
        char suspect[128];
        top_suspect(r, suspect, sizeof suspect);
        fprintf(out, "%-26s %-7s %-8s %7lld %8lld %10lld  %-38.38s %6.2fs  %s\n", r->scenario->name,
                variant_name(r->leaky), verdict_name(r), r->check.leaked_threads,
                r->check.leaked_objects, r->check.leaked_bytes, suspect, r->seconds,
                r->expectation_met ? "ok" : r->why);
    }
}

static void print_reports(const lc_variant_result *results, size_t count, FILE *out) {
    for (size_t i = 0; i < count; i++) {
        const lc_variant_result *r = &results[i];
        fprintf(out, "\n=== %s (%s): %s\n", r->scenario->name, variant_name(r->leaky),
                r->scenario->summary);
        if (r->report) fputs(r->report, out);
        if (!r->expectation_met) fprintf(out, "!!! expectation not met: %s\n", r->why);
    }
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* The members of the child's report object, without its braces; NULL when
 * it has none. */
static const char *report_members(const char *json, int *len) {
    if (!json) return NULL;
    const char *open = strchr(json, '{'), *close = strrchr(json, '}');
    if (!open || !close || close <= open) return NULL;
    const char *start = open + 1;
    while (start < close && (*start == ' ' || *start == '\n'))
        start++;
    if (start == close) return NULL;
    *len = (int)(close - start);
    return start;
}

/* One JSON object per line: the scenario fields, then the check's own
 * report in the "leakcheck/1" schema, or a verdict of "timeout" or "crash"
 * with the signal and whatever the child left (a hang's thread dump). */
static void print_json(const lc_variant_result *results, size_t count, FILE *out) {
    for (size_t i = 0; i < count; i++) {
        const lc_variant_result *r = &results[i];
        fputs("{\"scenario\": ", out);
        json_string(out, r->scenario->name);
        fprintf(out, ", \"variant\": \"%s\", \"expectation_met\": %s, \"seconds\": %.3f",
                variant_name(r->leaky), r->expectation_met ? "true" : "false", r->seconds);
        if (!r->expectation_met) {
            fputs(", \"why\": ", out);
            json_string(out, r->why);
        }
        int len = 0;
        const char *members =
            r->outcome == LC_VARIANT_CHECKED ? report_members(r->json, &len) : NULL;
        if (members) {
            fprintf(out, ", %.*s}\n", len, members);
            continue;
        }
        fprintf(out, ", \"schema\": \"leakcheck/1\", \"verdict\": \"%s\", \"signal\": %d",
                r->outcome == LC_VARIANT_TIMED_OUT ? "timeout"
                : r->outcome == LC_VARIANT_CRASHED ? "crash"
                                                   : "error",
                r->signal);
        if (r->report) {
            fputs(r->outcome == LC_VARIANT_TIMED_OUT ? ", \"thread_dump\": " : ", \"output\": ",
                  out);
            json_string(out, r->report);
        }
        fputs("}\n", out);
    }
}

/* Lines of text as TAP diagnostics. */
static void tap_comment(FILE *out, const char *text) {
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        int len = nl ? (int)(nl - text) : (int)strlen(text);
        fprintf(out, "# %.*s\n", len, text);
        text += len + (nl != NULL);
    }
}

static void print_tap(const lc_variant_result *results, size_t count, bool verbose, FILE *out) {
    fprintf(out, "1..%zu\n", count);
    for (size_t i = 0; i < count; i++) {
        const lc_variant_result *r = &results[i];
        fprintf(out, "%s %zu - %s %s: %s\n", r->expectation_met ? "ok" : "not ok", i + 1,
                r->scenario->name, variant_name(r->leaky),
                r->expectation_met ? verdict_name(r) : r->why);
        if (verbose || r->outcome == LC_VARIANT_TIMED_OUT) tap_comment(out, r->report);
    }
}

void lc_scenarios_print(const lc_variant_result *results, size_t count, const lc_runner_opts *o,
                        FILE *out) {
    lc_runner_opts e = effective_opts(o);
    if (e.format == LC_RUNNER_JSON) {
        print_json(results, count, out);
    } else if (e.format == LC_RUNNER_TAP) {
        print_tap(results, count, e.verbose, out);
    } else {
        if (e.verbose) {
            print_reports(results, count, out);
            fputc('\n', out);
        }
        print_table(results, count, out);
        int unmet = 0;
        for (size_t i = 0; i < count; i++)
            unmet += !results[i].expectation_met;
        fprintf(out, "%zu variants, %d expectation%s not met\n", count, unmet,
                unmet == 1 ? "" : "s");
    }
    fflush(out);
}

int lc_scenarios_run(const lc_scenario *const *list, size_t n, const lc_runner_opts *o, FILE *out) {
    lc_variant_result *results;
    int unmet = lc_scenarios_execute(list, n, o, &results);
    if (unmet < 0) return -1;
    lc_scenarios_print(results, 2 * n, o, out);
    lc_variant_results_free(results, 2 * n);
    return unmet;
}
