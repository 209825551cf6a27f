/* SPDX-License-Identifier: MIT */
/* runner.c: runs scenario variants in forked children and reports on them.
 *
 * Each variant runs in a child of its own (harness/child.c), so a leaky
 * variant may leave threads blocked forever and a crashing one takes nobody
 * with it. The child starts a watchdog thread (before its baseline, so it is
 * never a leak), takes the baseline, runs the variant, forces a collection
 * point, verifies at a zero budget and judges the scenario's declared
 * expectations itself; it hands back its verdict, its text report and the
 * members of its JSON report as its result, and is discarded without
 * running any exit-time code (not even the leak search of a checker it runs
 * under, valgrind, which could only find the leaks its variant made on
 * purpose). In a child that hangs, the watchdog hands back the thread dump
 * instead; a child too broken to run it is killed at its deadline; one that
 * dies is reported with its signal; the runner goes on either way. The
 * parent renders every format itself, JSON with the library's one writer
 * (harness/buf.c).
 *
 * It is part of the library, behind the public scenario API, so that a
 * user's scenario program, `leakcheck scenarios` and the tests run the same
 * code; the tests run it on scenario lists of their own (a crash, a hang).
 * It knows the toolkit's tracing probes only by the name of the function
 * that counts them (lc_toolkit_probes_enabled), looked up when a variant
 * waits for a tracer: the toolkit is a library above this one. */
#include "scenario.h"

#include "buf.h"
#include "child.h"
#include "verify.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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

/* A child's result starts with what it holds: the check of the variant
 * (a child_msg, the text report and the JSON report's members), or the
 * watchdog's thread dump (text). */
enum { RESULT_CHECKED = 'R', RESULT_DUMP = 'D' };

/* What a child writes after RESULT_CHECKED, followed by the two reports. */
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
 * one that moves the state away from RUNNING owns the result. */
enum { CHILD_RUNNING, CHILD_REPORTING, CHILD_TIMED_OUT };
static atomic_int child_state;
static double watchdog_seconds;
static FILE *child_out; /* over a dup of the result file child_fd */
static int child_fd;

static void *watchdog(void *arg) {
    (void)arg;
    sleep_seconds(watchdog_seconds);
    int expected = CHILD_RUNNING;
    if (!atomic_compare_exchange_strong(&child_state, &expected, CHILD_TIMED_OUT)) return NULL;
    fputc(RESULT_DUMP, child_out);
    fprintf(child_out, "timed out after %.1f s; thread dump:\n", watchdog_seconds);
    lc_dump_threads(child_out);
    fflush(child_out);
    lc_child_seal(child_fd, EXIT_TIMED_OUT);
}

/* The toolkit's count of its probes a tracer has enabled, when the toolkit
 * is loaded: int lc_toolkit_probes_enabled(int *total). */
typedef int (*probes_enabled_fn)(int *total);

/* Print which pid to trace, then wait until a tracer has enabled the
 * toolkit's probes and finished attaching, or until `seconds` pass. */
static void wait_for_tracer(const lc_scenario *sc, bool leaky, double seconds) {
    int pid = (int)getpid();
    probes_enabled_fn probes_enabled;
    *(void **)&probes_enabled = dlsym(RTLD_DEFAULT, "lc_toolkit_probes_enabled");
    if (!probes_enabled) {
        fprintf(stderr,
                "leakcheck scenarios: %s (%s) runs in pid %d: no tracer to wait for, the toolkit "
                "(libleakcheck_toolkit) and its probes are not loaded\n",
                sc->name, variant_name(leaky), pid);
        return;
    }
    fprintf(stderr,
            "leakcheck scenarios: %s (%s) runs in pid %d: waiting up to %g s for a tracer, "
            "e.g. bpftrace -p %d scenarios/leaks.bt\n",
            sc->name, variant_name(leaky), pid, seconds, pid);
    double start = now_seconds(), changed = start;
    int seen = 0, total = 0;
    for (double t = start; t - start < seconds; t = now_seconds()) {
        int enabled = probes_enabled(&total);
        if (enabled != seen) {
            seen = enabled;
            changed = t;
        }
        if (seen == total && t - changed >= ALL_PROBES_GRACE) return;
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

/* One variant to run: its result, and its child while it runs. */
typedef struct job {
    lc_variant_result *r;
    const lc_scenarios_opts *o;
    lc_child child;
    double started;
    bool running;
} job;

/* The child of a job (lc_child_fn): runs the variant, checks it, and hands
 * back the result; or the watchdog hands back the thread dump. */
static void run_child(int fd, void *arg) {
    const job *j = arg;
    const lc_scenario *sc = j->r->scenario;
    bool leaky = j->r->leaky;
    const lc_scenarios_opts *o = j->o;
    /* A stream for the reports and the dump, opened before the baseline. */
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    FILE *out = dup_fd >= 0 ? fdopen(dup_fd, "w") : NULL;
    if (!out) _exit(EXIT_FAILURE);
    if (o->wait_for_tracer > 0) wait_for_tracer(sc, leaky, o->wait_for_tracer);
    watchdog_seconds = o->timeout;
    child_out = out;
    child_fd = fd;
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
    if (leaky) settle = o->leaky_settle > 0 ? o->leaky_settle : LC_SCENARIOS_LEAKY_SETTLE;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .budget = "bytes=0,objects=0,threads=0",
                                  .settle_seconds = settle},
              &msg.res);
    msg.seconds = now_seconds() - t0;
    const char *text = lc_last_report(), *json = lc_last_report_json_members(&msg.json_len);
    msg.expectation_met = judge(sc, leaky, &msg.res, text, msg.why, sizeof msg.why);
    msg.text_len = strlen(text);
    int expected = CHILD_RUNNING;
    if (!atomic_compare_exchange_strong(&child_state, &expected, CHILD_REPORTING))
        for (;;)
            pause(); /* the watchdog fired and is writing the dump */
    fputc(RESULT_CHECKED, out);
    fwrite(&msg, 1, sizeof msg, out);
    fwrite(text, 1, msg.text_len, out);
    fwrite(json, 1, msg.json_len, out);
    /* What the variant left behind is its point: nothing of it is freed. */
    if (fflush(out) != 0) _exit(EXIT_FAILURE);
    lc_child_seal(fd, 0);
}

/* ------------------------------------------------------------ the parent */

/* Whether data (len bytes) holds the check's result; its header goes to
 * *msg and its reports start at data + *at. */
static bool complete_message(const char *data, size_t len, child_msg *msg, size_t *at) {
    if (!data || len < 1 + sizeof *msg || data[0] != RESULT_CHECKED) return false;
    memcpy(msg, data + 1, sizeof *msg);
    *at = 1 + sizeof *msg;
    return msg->text_len <= len - *at && msg->json_len <= len - *at - msg->text_len;
}

/* The child's result, when it handed back a complete one. */
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
    r->json_members = strndup(data + at + msg.text_len, msg.json_len);
    return true;
}

static void fail_job(job *j, const char *what, int err) {
    j->running = false;
    j->r->outcome = LC_VARIANT_CRASHED;
    j->r->expectation_met = false;
    snprintf(j->r->why, sizeof j->r->why, "%s: %s", what, strerror(err));
}

/* The result of a job whose child ended. */
static void collect_child(job *j) {
    lc_variant_result *r = j->r;
    const lc_child *c = &j->child;
    j->running = false;
    r->seconds = now_seconds() - j->started;
    size_t len = c->len;
    char *data = malloc(len + 1);
    if (data) data[len = lc_child_read(c, data, len, 0)] = '\0';
    lc_child_close(&j->child);
    if (c->end == LC_CHILD_DONE && take_message(r, data, len)) {
        free(data);
        return;
    }
    r->expectation_met = false;
    /* A thread dump, whole or cut short by the kill at the deadline. */
    bool has_dump = data && len > 1 && data[0] == RESULT_DUMP;
    bool dumped = has_dump && c->end == LC_CHILD_DONE;
    r->report = has_dump ? strdup(data + 1) : NULL;
    free(data);
    int status = c->status;
    if (c->end == LC_CHILD_LOST) {
        fail_job(j, "lost the child", c->error);
        return;
    }
    if (WIFSIGNALED(status) && !dumped) r->signal = WTERMSIG(status);
    if (dumped) {
        r->outcome = LC_VARIANT_TIMED_OUT;
        snprintf(r->why, sizeof r->why, "timed out after %.1f s", j->o->timeout);
    } else if (c->end == LC_CHILD_TIMED_OUT) {
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

/* Start the child of a job; false (with the job failed) when it could not
 * be started. Its deadline is the backstop for a child too broken to run
 * its watchdog, which dumps and ends on time. */
static bool start_job(job *j, const lc_scenarios_opts *o) {
    fflush(NULL); /* nothing buffered may be written twice */
    j->o = o;
    j->started = now_seconds();
    double deadline = o->wait_for_tracer + o->timeout + DUMP_GRACE_SECONDS;
    if (lc_child_start(&j->child, deadline, run_child, j) != 0) {
        fail_job(j, "could not start", errno);
        return false;
    }
    j->running = true;
    return true;
}

/* Reap every child that ended (lc_child_poll discards those that stopped
 * after their result and kills those past their deadline). Returns how
 * many ended. */
static size_t reap(job *jobs, size_t n) {
    size_t ended = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (!j->running || !lc_child_poll(&j->child)) continue;
        collect_child(j);
        ended++;
    }
    return ended;
}

static void run_jobs(job *jobs, size_t n, const lc_scenarios_opts *o) {
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

static lc_scenarios_opts effective_opts(const lc_scenarios_opts *o) {
    lc_scenarios_opts e = o ? *o : (lc_scenarios_opts){0};
    if (e.jobs <= 0) e.jobs = 1;
    if (e.timeout <= 0) e.timeout = LC_SCENARIOS_DEFAULT_TIMEOUT;
    if (e.leaky_settle <= 0) e.leaky_settle = LC_SCENARIOS_LEAKY_SETTLE;
    if (e.wait_for_tracer < 0) e.wait_for_tracer = 0;
    return e;
}

int lc_scenarios_execute(const lc_scenario *const *list, size_t n, const lc_scenarios_opts *o,
                         lc_variant_result **results) {
    *results = NULL;
    if (n == 0) return 0;
    size_t count = 2 * n;
    lc_variant_result *r = calloc(count, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        r[i].scenario = list[i / 2];
        r[i].leaky = i % 2 == 0;
    }
    int unmet = lc_variants_execute(r, count, o);
    if (unmet < 0) {
        free(r);
        return -1;
    }
    *results = r;
    return unmet;
}

int lc_variants_execute(lc_variant_result *r, size_t count, const lc_scenarios_opts *o) {
    if (count == 0) return 0;
    lc_scenarios_opts e = effective_opts(o);
    job *jobs = calloc(count, sizeof *jobs);
    if (!jobs) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        jobs[i].r = &r[i];
    run_jobs(jobs, count, &e);
    free(jobs);
    int unmet = 0;
    for (size_t i = 0; i < count; i++)
        unmet += !r[i].expectation_met;
    return unmet;
}

void lc_variant_results_free(lc_variant_result *results, size_t count) {
    for (size_t i = 0; results && i < count; i++) {
        free(results[i].report);
        free(results[i].json_members);
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

/* One JSON object per line: the scenario fields, then the members of the
 * check's own report in the "leakcheck/1" schema, or a verdict of "timeout"
 * or "crash" with the signal and whatever the child left (a hang's thread
 * dump). */
static void json_line(lc_buf *b, const lc_variant_result *r) {
    lc_buf_printf(b, "{\"scenario\": ");
    lc_buf_json_str(b, r->scenario->name);
    lc_buf_printf(b, ", \"variant\": \"%s\", \"expectation_met\": %s, \"seconds\": %.3f",
                  variant_name(r->leaky), r->expectation_met ? "true" : "false", r->seconds);
    if (!r->expectation_met) {
        lc_buf_printf(b, ", \"why\": ");
        lc_buf_json_str(b, r->why);
    }
    if (r->outcome == LC_VARIANT_CHECKED && r->json_members && r->json_members[0]) {
        lc_buf_printf(b, ", %s}\n", r->json_members);
        return;
    }
    lc_buf_printf(b, ", \"schema\": \"leakcheck/1\", \"verdict\": \"%s\", \"signal\": %d",
                  r->outcome == LC_VARIANT_TIMED_OUT ? "timeout"
                  : r->outcome == LC_VARIANT_CRASHED ? "crash"
                                                     : "error",
                  r->signal);
    if (r->report) {
        lc_buf_printf(b, r->outcome == LC_VARIANT_TIMED_OUT ? ", \"thread_dump\": "
                                                            : ", \"output\": ");
        lc_buf_json_str(b, r->report);
    }
    lc_buf_printf(b, "}\n");
}

static void print_json(const lc_variant_result *results, size_t count, FILE *out) {
    for (size_t i = 0; i < count; i++) {
        lc_buf b = {0};
        json_line(&b, &results[i]);
        if (!b.failed && b.data)
            fputs(b.data, out);
        else
            fprintf(stderr, "leakcheck scenarios: out of memory writing the JSON line of %s (%s)\n",
                    results[i].scenario->name, variant_name(results[i].leaky));
        lc_buf_free(&b);
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

/* One test case per variant: it passes when its expectation holds (a
 * leaky variant passes by leaking as declared), fails when the check ran
 * and the expectation does not hold, and is an error when the variant
 * could not be checked (it timed out or crashed). */
void lc_scenarios_junit(const char *suite, const lc_variant_result *results, size_t count,
                        const lc_junit_property *props, size_t nprops, double started,
                        double seconds, lc_buf *out) {
    lc_junit_case *cases = calloc(count ? count : 1, sizeof *cases);
    lc_buf *texts = calloc(count ? count : 1, sizeof *texts);
    if (!cases || !texts) {
        out->failed = true;
        free(cases);
        free(texts);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const lc_variant_result *r = &results[i];
        lc_junit_case *c = &cases[i];
        c->classname = r->scenario->name;
        c->name = variant_name(r->leaky);
        c->seconds = r->seconds;
        c->message = r->why;
        lc_buf_printf(&texts[i], "%s (%s): %s\n", r->scenario->name, c->name, r->scenario->summary);
        if (r->report) lc_buf_printf(&texts[i], "%s", r->report);
        if (r->expectation_met) {
            c->outcome = LC_JUNIT_PASSED;
            c->output = texts[i].data;
            continue;
        }
        lc_buf_printf(&texts[i], "expectation not met: %s\n", r->why);
        c->text = texts[i].data;
        c->outcome = LC_JUNIT_ERRORED;
        if (r->outcome == LC_VARIANT_TIMED_OUT)
            c->type = "timeout";
        else if (r->outcome == LC_VARIANT_CRASHED)
            c->type = "crash";
        else if (r->check.verdict < 0)
            c->type = "check-failed";
        else {
            c->outcome = LC_JUNIT_FAILED;
            /* The fix leaked, or the leak was not found as declared. */
            c->type = r->leaky ? "expectation" : "leak";
        }
    }
    lc_junit_write_suite(out, suite, seconds, started, props, nprops, cases, count);
    for (size_t i = 0; i < count; i++)
        lc_buf_free(&texts[i]);
    free(cases);
    free(texts);
}

/* JUnit of results printed after the run: its time is the variants' own.
 * 0, or -1 when the document could not be made (out of memory). */
static int print_junit(const lc_variant_result *results, size_t count, FILE *out) {
    double seconds = 0;
    for (size_t i = 0; i < count; i++)
        seconds += results[i].seconds;
    lc_buf xml = {0};
    lc_scenarios_junit("scenarios", results, count, NULL, 0, lc_junit_now() - seconds, seconds,
                       &xml);
    int failed = xml.failed;
    if (!failed && xml.data) fputs(xml.data, out);
    lc_buf_free(&xml);
    if (failed) errno = ENOMEM;
    return failed ? -1 : 0;
}

int lc_scenarios_print(const lc_variant_result *results, size_t count, const lc_scenarios_opts *o,
                       FILE *out) {
    lc_scenarios_opts e = effective_opts(o);
    int status = 0;
    if (e.format == LC_SCENARIOS_JSON) {
        print_json(results, count, out);
    } else if (e.format == LC_SCENARIOS_JUNIT) {
        status = print_junit(results, count, out);
    } else if (e.format == LC_SCENARIOS_TAP) {
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
    return status;
}

int lc_scenarios_run(const lc_scenario *const *list, size_t n, const lc_scenarios_opts *o,
                     FILE *out) {
    lc_variant_result *results;
    int unmet = lc_scenarios_execute(list, n, o, &results);
    if (unmet < 0) return -1;
    int printed = lc_scenarios_print(results, 2 * n, o, out);
    lc_variant_results_free(results, 2 * n);
    return printed < 0 ? -1 : unmet;
}
