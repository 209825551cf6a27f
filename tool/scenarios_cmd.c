/* scenarios_cmd.c: `leakcheck scenarios list | run`.
 *
 * Each variant of each scenario runs in a forked child, so a leaky variant
 * may leave threads blocked forever and a crashing one takes nobody with it.
 * The child starts a watchdog thread (before its baseline, so it is never a
 * leak), takes the baseline, runs the variant, forces a collection point,
 * verifies at a zero budget and judges the scenario's declared expectations
 * itself; it writes the verdict and both reports to a file the parent reads
 * once the child is gone. A child that hangs prints its thread dump and is
 * killed; one that dies is reported with its signal; the runner goes on. */
#include "tool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leakcheck.h"
#include "scenarios.h"

typedef enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_TAP } out_format;

typedef struct run_opts {
    int verbose;
    int jobs;
    double timeout;
    out_format format;
} run_opts;

/* What a child sends back. */
typedef struct child_msg {
    int expectation_met;
    char why[240];
    double seconds;
    lc_result res;
    size_t text_len, json_len;
} child_msg;

typedef enum { OUTCOME_DONE, OUTCOME_TIMEOUT, OUTCOME_CRASH } outcome;

typedef struct job {
    const lc_scenario *sc;
    int leaky;
    pid_t pid;
    FILE *file;
    double started;
    outcome how;
    int signal;
    child_msg msg;
    char *text, *json;
    int expectation_met;
    char why[240];
    int running, finished;
} job;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ the child */

static double watchdog_seconds;
static FILE *watchdog_out;

static void *watchdog(void *arg) {
    (void)arg;
    struct timespec ts = {(time_t)watchdog_seconds,
                          (long)((watchdog_seconds - (double)(time_t)watchdog_seconds) * 1e9)};
    nanosleep(&ts, NULL);
    fprintf(watchdog_out, "timed out after %.1f s; thread dump:\n", watchdog_seconds);
    lc_dump_threads(watchdog_out);
    fflush(watchdog_out);
    _exit(124);
}

static bool thread_waits_match(const lc_result *r, const char *wait) {
    for (int i = 0; i < r->nthreads; i++)
        if (strcmp(r->threads[i].wait, wait) != 0 && strcmp(r->threads[i].state, wait) != 0)
            return false;
    return true;
}

static int judge(const lc_scenario *sc, int leaky, const lc_result *r, const char *text, char *why,
                 size_t len) {
    if (!leaky) {
        if (r->verdict == 0 && r->leaked_threads == 0 && r->leaked_objects == 0) return 1;
        snprintf(why, len, "the fix is not clean: %lld threads, %lld objects leaked",
                 r->leaked_threads, r->leaked_objects);
        return 0;
    }
    const lc_scenario_expect *e = &sc->expect;
    if (r->verdict != 1) snprintf(why, len, "no leak found");
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
    else return 1;
    return 0;
}

static void write_all(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }

static void run_child(const lc_scenario *sc, int leaky, FILE *out, double timeout) {
    watchdog_seconds = timeout;
    watchdog_out = out;
    pthread_t dog;
    pthread_create(&dog, NULL, watchdog, NULL);
    pthread_setname_np(dog, "lc-watchdog");
    /* The watchdog existed before the baseline, so no check reports it. */
    double t0 = now_seconds();
    lc_baseline();
    (leaky ? sc->leaky : sc->fixed)();
    lc_collect();
    child_msg msg;
    memset(&msg, 0, sizeof msg);
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION, .quiet = 1,
                                  .budget = "bytes=0,objects=0,threads=0"},
              &msg.res);
    msg.seconds = now_seconds() - t0;
    const char *text = lc_last_report(), *json = lc_last_report_json();
    msg.expectation_met = judge(sc, leaky, &msg.res, text, msg.why, sizeof msg.why);
    msg.text_len = strlen(text);
    msg.json_len = strlen(json);
    write_all(out, "LCMSG", 5);
    write_all(out, &msg, sizeof msg);
    write_all(out, text, msg.text_len);
    write_all(out, json, msg.json_len);
    fflush(out);
    _exit(0);
}

/* ------------------------------------------------------------ the parent */

static char *read_rest(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
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

static void collect_child(job *j, int status) {
    j->finished = 1;
    j->running = 0;
    rewind(j->file);
    size_t len = 0;
    char *data = read_rest(j->file, &len);
    fclose(j->file);
    j->file = NULL;
    if (data && len >= 5 + sizeof(child_msg) && memcmp(data, "LCMSG", 5) == 0) {
        memcpy(&j->msg, data + 5, sizeof j->msg);
        size_t at = 5 + sizeof j->msg;
        if (at + j->msg.text_len + j->msg.json_len <= len) {
            j->text = strndup(data + at, j->msg.text_len);
            j->json = strndup(data + at + j->msg.text_len, j->msg.json_len);
            j->how = OUTCOME_DONE;
            j->expectation_met = j->msg.expectation_met;
            snprintf(j->why, sizeof j->why, "%s", j->msg.why);
            free(data);
            return;
        }
    }
    j->text = data; /* whatever the child wrote: the thread dump of a hang */
    j->expectation_met = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 124) {
        j->how = OUTCOME_TIMEOUT;
        snprintf(j->why, sizeof j->why, "timed out after %.1f s", now_seconds() - j->started);
    } else if (WIFSIGNALED(status)) {
        j->how = j->signal ? OUTCOME_TIMEOUT : OUTCOME_CRASH;
        snprintf(j->why, sizeof j->why, "%s (signal %d, %s)",
                 j->signal ? "timed out and killed" : "crashed", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        j->how = OUTCOME_CRASH;
        snprintf(j->why, sizeof j->why, "exited with status %d before reporting",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

static int start_job(job *j, double timeout) {
    j->file = tmpfile();
    if (!j->file) return -1;
    fflush(NULL);
    j->started = now_seconds();
    j->pid = fork();
    if (j->pid < 0) return -1;
    if (j->pid == 0) run_child(j->sc, j->leaky, j->file, timeout);
    j->running = 1;
    return 0;
}

static void run_jobs(job *jobs, size_t n, const run_opts *o) {
    size_t next = 0, done = 0;
    int running = 0;
    while (done < n) {
        while (next < n && running < o->jobs) {
            if (start_job(&jobs[next], o->timeout) != 0) {
                jobs[next].finished = 1;
                jobs[next].how = OUTCOME_CRASH;
                snprintf(jobs[next].why, sizeof jobs[next].why, "could not start: %s",
                         strerror(errno));
                done++;
            } else running++;
            next++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (size_t i = 0; i < n; i++)
                if (jobs[i].running && jobs[i].pid == pid) {
                    collect_child(&jobs[i], status);
                    running--;
                    done++;
                }
            continue;
        }
        /* The child's watchdog dumps and exits on time; this is the backstop
         * for a child too broken to run its watchdog. */
        for (size_t i = 0; i < n; i++)
            if (jobs[i].running && !jobs[i].signal && now_seconds() - jobs[i].started > o->timeout + 5) {
                jobs[i].signal = SIGKILL;
                kill(jobs[i].pid, SIGKILL);
            }
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
    }
}

/* ------------------------------------------------------------ output */

static const char *verdict_name(const job *j) {
    switch (j->how) {
    case OUTCOME_TIMEOUT: return "TIMEOUT";
    case OUTCOME_CRASH: return "CRASH";
    default: return j->msg.res.verdict == 1 ? "leak" : j->msg.res.verdict == 0 ? "clean" : "error";
    }
}

static void top_suspect(const job *j, char *out, size_t len) {
    const lc_result *r = &j->msg.res;
    if (j->how != OUTCOME_DONE) snprintf(out, len, "-");
    else if (r->nthreads && (r->threads[0].start[0] || r->threads[0].function[0]))
        snprintf(out, len, "%s [%s]",
                 r->threads[0].start[0] ? r->threads[0].start : r->threads[0].function,
                 r->threads[0].wait[0] ? r->threads[0].wait : r->threads[0].state);
    else if (r->nsites) snprintf(out, len, "%s", r->sites[0].function);
    else snprintf(out, len, "-");
}

static void print_table(const job *jobs, size_t n) {
    printf("%-26s %-6s %-8s %7s %8s %10s  %-38s %7s  %s\n", "scenario", "variant", "verdict",
           "threads", "objects", "bytes", "top suspect", "time", "expected");
    for (size_t i = 0; i < n; i++) {
        const job *j = &jobs[i];
        char suspect[128];
        top_suspect(j, suspect, sizeof suspect);
        printf("%-26s %-7s %-8s %7lld %8lld %10lld  %-38.38s %6.2fs  %s\n", j->sc->name,
               j->leaky ? "leaky" : "fixed", verdict_name(j), j->msg.res.leaked_threads,
               j->msg.res.leaked_objects, j->msg.res.leaked_bytes, suspect,
               j->how == OUTCOME_DONE ? j->msg.seconds : now_seconds() - j->started,
               j->expectation_met ? "ok" : j->why);
    }
}

static void print_json(const job *jobs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const job *j = &jobs[i];
        printf("{\"scenario\": \"%s\", \"variant\": \"%s\", \"expectation_met\": %s, ", j->sc->name,
               j->leaky ? "leaky" : "fixed", j->expectation_met ? "true" : "false");
        if (j->how == OUTCOME_DONE && j->json && j->json[0] == '{') {
            /* Splice the child's report object in, field by field. */
            size_t len = strlen(j->json);
            while (len && (j->json[len - 1] == '\n' || j->json[len - 1] == '}')) len--;
            printf("%.*s}\n", (int)(len - 1), j->json + 1);
        } else {
            printf("\"schema\": \"leakcheck/1\", \"verdict\": \"%s\", \"error\": \"%s\"}\n",
                   j->how == OUTCOME_TIMEOUT ? "timeout" : "crash", j->why);
        }
    }
}

static void print_tap(const job *jobs, size_t n) {
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const job *j = &jobs[i];
        printf("%s %zu - %s %s: %s\n", j->expectation_met ? "ok" : "not ok", i + 1, j->sc->name,
               j->leaky ? "leaky" : "fixed", j->expectation_met ? verdict_name(j) : j->why);
    }
}

static void print_reports(const job *jobs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const job *j = &jobs[i];
        printf("\n=== %s (%s): %s\n", j->sc->name, j->leaky ? "leaky" : "fixed", j->sc->summary);
        if (j->text) fputs(j->text, stdout);
        if (!j->expectation_met) printf("!!! expectation not met: %s\n", j->why);
    }
}

/* ------------------------------------------------------------ commands */

static void usage(FILE *out) {
    fprintf(out, "usage: leakcheck scenarios list\n"
                 "       leakcheck scenarios run [-v] [--jobs N] [--timeout SECONDS]\n"
                 "                               [--format text|json|tap] [NAME...]\n");
}

static int list(void) {
    for (size_t i = 0; i < lc_scenario_count; i++)
        printf("%-26s %s\n", lc_scenarios[i].name, lc_scenarios[i].summary);
    return 0;
}

static int parse_positive(const char *flag, const char *value, double *out) {
    char *end;
    double v = value ? strtod(value, &end) : 0;
    if (!value || *end || v <= 0) {
        fprintf(stderr, "leakcheck scenarios: %s needs a positive number, got '%s'\n", flag,
                value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

static int run(int argc, char **argv) {
    run_opts o = {.jobs = 1, .timeout = 10, .format = FORMAT_TEXT};
    const lc_scenario *picked[64];
    size_t npicked = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v;
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) o.verbose = 1;
        else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
            if (parse_positive(a, i + 1 < argc ? argv[++i] : NULL, &v)) return 2;
            o.jobs = (int)v;
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_positive(a, i + 1 < argc ? argv[++i] : NULL, &v)) return 2;
            o.timeout = v;
        } else if (strcmp(a, "--format") == 0) {
            const char *f = i + 1 < argc ? argv[++i] : "";
            if (strcmp(f, "text") == 0) o.format = FORMAT_TEXT;
            else if (strcmp(f, "json") == 0) o.format = FORMAT_JSON;
            else if (strcmp(f, "tap") == 0) o.format = FORMAT_TAP;
            else {
                fprintf(stderr, "leakcheck scenarios: unknown format '%s' (text, json or tap)\n", f);
                return 2;
            }
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "leakcheck scenarios: unknown option '%s'\n", a);
            return 2;
        } else {
            const lc_scenario *sc = lc_scenario_find(a);
            if (!sc) {
                fprintf(stderr, "leakcheck scenarios: no scenario named '%s' (see scenarios list)\n",
                        a);
                return 2;
            }
            if (npicked < 64) picked[npicked++] = sc;
        }
    }
    if (!npicked)
        for (size_t i = 0; i < lc_scenario_count && i < 64; i++) picked[npicked++] = &lc_scenarios[i];
    size_t n = npicked * 2;
    job *jobs = calloc(n, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "leakcheck scenarios: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < npicked; i++) {
        jobs[2 * i] = (job){.sc = picked[i], .leaky = 1};
        jobs[2 * i + 1] = (job){.sc = picked[i], .leaky = 0};
    }
    run_jobs(jobs, n, &o);
    if (o.format == FORMAT_JSON) print_json(jobs, n);
    else if (o.format == FORMAT_TAP) print_tap(jobs, n);
    else {
        if (o.verbose) print_reports(jobs, n);
        if (o.verbose) printf("\n");
        print_table(jobs, n);
    }
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        failures += !jobs[i].expectation_met;
        free(jobs[i].text);
        free(jobs[i].json);
    }
    free(jobs);
    if (o.format == FORMAT_TEXT)
        printf("%zu variants, %d expectation%s not met\n", n, failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}

int lc_cli_scenarios(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "list") == 0) return list();
    if (strcmp(argv[1], "run") == 0) return run(argc - 1, argv + 1);
    fprintf(stderr, "leakcheck scenarios: unknown subcommand '%s' (list or run)\n", argv[1]);
    return 2;
}
