/* SPDX-License-Identifier: MIT */
/* fault_cmd.c: `leakcheck fault-sweep [--scope FUNCTION] [--max N] -- PROGRAM [ARGS...]`.
 *
 * The fault sweep of a whole program: PROGRAM runs with the library
 * preloaded in process mode once for every N = 1, 2, 3, ..., with its N-th
 * allocation failing (LEAKCHECK_FAIL_ALLOC=N), until a run never reaches
 * the injected failure. The library says whether it did through a status
 * file (LEAKCHECK_FAULT_STATUS, see harness/fault.c): "hit" the moment the
 * allocation fails, then the failed allocation's stack at exit. A run the
 * process-mode check ends with the error exit code leaked on that error
 * path; a run that dies of a signal crashed on it. Both are reported with
 * the failed allocation's stack, and the sweep goes on. The program's own
 * output is discarded (it runs hundreds of times); the leak reports go to a
 * file of their own and are shown for the runs that leaked, as text while
 * the sweep goes, or at its end as JUnit XML (junit.h) with one test case
 * per failure point, from the same records. Each run is a child of
 * harness/child.c, as the library's own sweep's are.
 *
 * With --shard K/N the sweep runs only points K, K+N, K+2N, ... and must
 * still end where the whole sweep would, at the first point not reached,
 * so that `leakcheck merge` knows the whole sweep's extent: when one of
 * its points is not reached, the shard looks for that end among the
 * N-1 points before it (run only to see whether they are reached), by
 * bisection, since a deterministic program that reaches its N-th
 * allocation reaches every one before it. */
#include "tool.h"
#include "opts.h"
#include "junit.h"
#include "child.h"
#include "shard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The process-mode check's exit status for a leak (process_mode.c). */
#define LEAK_EXITCODE 23
#define DEFAULT_MAX 100000
#define MAX_RUNS 100000000

static const char usage_text[] =
    "Usage: leakcheck fault-sweep [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "Run PROGRAM once for every N = 1, 2, 3, ... with its N-th allocation failing,\n"
    "until a run no longer reaches the injected failure, and report every failure\n"
    "point the program leaked on (with the leak report) or crashed on, with the\n"
    "failed allocation's stack. The program's own output is discarded. Options end\n"
    "at \"--\" or at PROGRAM: the program's own arguments are never read.\n"
    "\n"
    "Options:\n"
    "  -s, --scope=FUNCTION     count only allocations with FUNCTION on their stack\n"
    "  -n, --max=N              stop after N runs, 1 to 100000000 (default 100000)\n"
    "  -f, --format=FORMAT      text (the default) or junit (JUnit XML: one test\n"
    "                           case per failure point, a leak as its failure, a\n"
    "                           crash as its error)\n"
    "  -o, --output=FILE        write the results to FILE instead of stdout\n"
    "      --shard=K/N          run only failure points K, K+N, K+2N, ...; the\n"
    "                           junit results of every shard join with leakcheck\n"
    "                           merge\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        no failure point leaked or crashed\n"
    "  1        a failure point leaked or crashed\n"
    "  2        a usage error, or PROGRAM cannot be run, or the results cannot be\n"
    "           written\n";

/* The whole of a small file, NUL-terminated; "" when it does not exist. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    size_t cap = 4096, len = 0;
    char *t = malloc(cap);
    if (!t) {
        if (f) fclose(f);
        return NULL;
    }
    if (f) {
        size_t got;
        while ((got = fread(t + len, 1, cap - 1 - len, f)) > 0) {
            len += got;
            if (len + 1 == cap) {
                char *g = realloc(t, cap *= 2);
                if (!g) break;
                t = g;
            }
        }
        fclose(f);
    }
    t[len] = '\0';
    return t;
}

typedef struct run_paths {
    char status[PATH_MAX], report[PATH_MAX], lib[PATH_MAX];
} run_paths;

/* What the child of one run execs, with allocation n failing. */
typedef struct exec_job {
    const run_paths *p;
    long n;
    const char *scope;
    char **argv;
} exec_job;

/* In the child (lc_child_fn): the program, its output to /dev/null. A
 * failed exec cannot say why there: the child hands back its errno as its
 * result instead. The result file is close-on-exec, so a program that
 * started leaves it empty and unsealed. */
static void exec_program(int fd, void *arg) {
    const exec_job *j = arg;
    const run_paths *p = j->p;
    char num[32], preload[PATH_MAX * 2];
    snprintf(num, sizeof num, "%ld", j->n);
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", p->lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("LEAKCHECK_MODE", "process", 1);
    setenv("LEAKCHECK_FAIL_ALLOC", num, 1);
    setenv("LEAKCHECK_FAULT_STATUS", p->status, 1);
    setenv("LEAKCHECK_OUTPUT", p->report, 1);
    if (j->scope) setenv("LEAKCHECK_FAIL_SCOPE", j->scope, 1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    execvp(j->argv[0], j->argv);
    int e = errno;
    if (lc_child_write(fd, &e, sizeof e) != 0) _exit(127);
}

/* Run the program once with allocation n failing; its wait status, or -1.
 * *exec_errno is why it could not be started, or 0 when it started (an
 * exit status of 127 is then the program's own). */
static int run_once(const run_paths *p, long n, const char *scope, char **argv, int *exec_errno) {
    unlink(p->status);
    unlink(p->report);
    *exec_errno = 0;
    exec_job j = {p, n, scope, argv};
    lc_child c;
    if (lc_child_start(&c, 0, exec_program, &j) != 0) return -1;
    lc_child_wait(&c);
    if (c.end == LC_CHILD_DONE) {
        int e = 0;
        bool said = lc_child_read(&c, &e, sizeof e, 0) == sizeof e && e != 0;
        *exec_errno = said ? e : EIO;
    }
    lc_child_close(&c);
    if (c.end == LC_CHILD_LOST) {
        errno = c.error;
        return -1;
    }
    return c.status;
}

static void print_indented(FILE *f, const char *text, const char *indent) {
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        fprintf(f, "%s%.*s\n", indent, (int)len, text);
        text += len + (nl ? 1 : 0);
    }
}

/* The stack lines of a status file (after its "stack" line); "" if none. */
static const char *status_stack(const char *status) {
    const char *s = strstr(status, "\nstack ");
    if (!s) return "";
    s = strchr(s + 1, '\n');
    return s ? s + 1 : "";
}

/* One run of the sweep: the failure point N, and what became of it. */
typedef struct point {
    long n;
    bool hit;       /* the N-th allocation was reached and failed */
    bool leaked;    /* the process-mode check found a leak */
    int signal;     /* the signal that killed the run, or 0 */
    double seconds; /* the run, from fork to exit */
    char *stack;    /* the failed allocation's stack lines, or NULL */
    char *report;   /* the leak report of a leaked run, or NULL */
} point;

static void print_point(FILE *f, const point *pt) {
    if (pt->leaked)
        fprintf(f, "allocation %ld failing: leaked; the failed allocation:\n", pt->n);
    else
        fprintf(f, "allocation %ld failing: killed by signal %d (%s); the failed allocation:\n",
                pt->n, pt->signal, strsignal(pt->signal));
    print_indented(f, pt->stack ? pt->stack : "    (no stack: the program did not exit)\n", "");
    if (pt->report) print_indented(f, pt->report, "  ");
}

/* One test case per failure point the program reached, and the last run
 * too when it leaked or crashed: a leak is the case's failure, a crash
 * its error (the error path could not be checked). */
static void write_junit(const point *pts, size_t npts, char **argv, const lc_shard *sh, long end,
                        const char *run_id, double started, double seconds, lc_buf *out) {
    lc_junit_case *cases = calloc(npts ? npts : 1, sizeof *cases);
    lc_buf *texts = calloc(npts ? npts : 1, sizeof *texts);
    lc_buf *names = calloc(npts ? npts : 1, sizeof *names);
    lc_buf *msgs = calloc(npts ? npts : 1, sizeof *msgs);
    lc_buf suite = {0};
    size_t n = 0;
    if (!cases || !texts || !names || !msgs) {
        out->failed = true;
        goto done;
    }
    for (size_t i = 0; i < npts; i++) {
        const point *pt = &pts[i];
        if (!pt->hit && !pt->leaked && !pt->signal) continue;
        lc_junit_case *c = &cases[n];
        lc_buf *t = &texts[n], *name = &names[n];
        n++;
        lc_buf_printf(name, "allocation %ld failing%s", pt->n, pt->hit ? "" : " (not reached)");
        c->classname = argv[0];
        c->name = name->data;
        c->seconds = pt->seconds;
        if (!pt->leaked && !pt->signal) continue;
        if (pt->leaked)
            lc_buf_printf(t, "allocation %ld failing: leaked", pt->n);
        else
            lc_buf_printf(t, "allocation %ld failing: killed by signal %d (%s)", pt->n, pt->signal,
                          strsignal(pt->signal));
        lc_buf_printf(t, "; the failed allocation:\n%s",
                      pt->stack ? pt->stack : "    (no stack: the program did not exit)\n");
        if (pt->report) lc_buf_printf(t, "\n%s", pt->report);
        c->outcome = pt->leaked ? LC_JUNIT_FAILED : LC_JUNIT_ERRORED;
        c->type = pt->leaked ? "leak" : "crash";
        /* The message: where the failure was injected (the stack's first
         * line) and the report's headline or the signal. */
        lc_buf *m = &msgs[n - 1];
        const char *at = pt->stack ? pt->stack + strspn(pt->stack, " ") : "";
        lc_buf_printf(m, "allocation %ld failing", pt->n);
        if (*at) lc_buf_printf(m, " at %.*s", (int)strcspn(at, "\n"), at);
        if (pt->report && *pt->report)
            lc_buf_printf(m, ": %.*s", (int)strcspn(pt->report, "\n"), pt->report);
        else if (pt->leaked)
            lc_buf_printf(m, ": leaked");
        else
            lc_buf_printf(m, ": killed by signal %d (%s)", pt->signal, strsignal(pt->signal));
        c->message = m->data;
        c->text = t->data;
        if (t->failed || m->failed) out->failed = true;
    }
    lc_buf_printf(&suite, "leakcheck fault-sweep %s", argv[0]);
    /* A shard says which one it is and where the whole sweep ends (the
     * first point not reached; "none" when --max stopped it first), for
     * leakcheck merge. */
    char shard[32], last[32] = "none";
    snprintf(shard, sizeof shard, "%d/%d", sh->k, sh->n);
    if (end) snprintf(last, sizeof last, "%ld", end);
    lc_junit_property props[] = {
        {LC_SHARD_PROP_SHARD, shard}, {LC_SHARD_PROP_END, last}, {LC_SHARD_PROP_RUN, run_id}};
    lc_junit_write_suite(out, suite.data ? suite.data : "leakcheck fault-sweep", seconds, started,
                         props, sh->n ? 3 : 0, cases, n);
done:
    for (size_t i = 0; texts && names && msgs && i < npts; i++) {
        lc_buf_free(&texts[i]);
        lc_buf_free(&names[i]);
        lc_buf_free(&msgs[i]);
    }
    free(msgs);
    lc_buf_free(&suite);
    free(cases);
    free(texts);
    free(names);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether a run with allocation n failing reaches it: 1 or 0, or -1
 * after printing why it could not run. */
static int reaches(const run_paths *p, long n, const char *scope, char **argv, long *runs) {
    int exec_errno;
    int status = run_once(p, n, scope, argv, &exec_errno);
    (*runs)++;
    if (status < 0 || exec_errno) {
        lc_opts_fail("fault-sweep", "cannot run '%s': %s", argv[0],
                     strerror(status < 0 ? errno : exec_errno));
        return -1;
    }
    char *st = slurp(p->status);
    if (!st) return -1;
    int hit = strncmp(st, "hit ", 4) == 0;
    free(st);
    return hit;
}

/* The first point not reached, knowing that point `last` of the shard is
 * not and the shard's point before it (last - N) is: one of the points of
 * other shards in between, or `last`. 0 after printing why a run failed. */
static long find_end(const run_paths *p, long last, const lc_shard *sh, const char *scope,
                     char **argv, long *runs) {
    long step = sh->n ? sh->n : 1, lo = last > step ? last - step + 1 : 1, hi = last;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        int hit = reaches(p, mid, scope, argv, runs);
        if (hit < 0) return 0;
        if (hit)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Runs the sweep (with a shard, its points only), keeping in *pts the
 * points a report needs: every one for JUnit (keep_all), else those that
 * leaked or crashed, each printed to f as it is found; *end is where the
 * whole sweep ends (0 when max stopped it first). 0, or 2 after printing
 * why the sweep could not go on. */
static int sweep(const run_paths *p, int64_t max, const char *scope, const lc_shard *sh,
                 char **argv, bool keep_all, FILE *f, point **pts, size_t *npts, long *runs,
                 long *end) {
    size_t cap = 0;
    long step = sh->n ? sh->n : 1;
    *end = 0;
    for (long n = sh->n ? sh->k : 1; n <= max; n += step) {
        int exec_errno;
        double t0 = now_seconds();
        int status = run_once(p, n, scope, argv, &exec_errno);
        double t1 = now_seconds();
        (*runs)++;
        if (status < 0 || exec_errno) {
            lc_opts_fail("fault-sweep", "cannot run '%s': %s", argv[0],
                         strerror(status < 0 ? errno : exec_errno));
            return 2;
        }
        char *st = slurp(p->status);
        if (!st) return 2;
        point pt = {.n = n,
                    .hit = strncmp(st, "hit ", 4) == 0,
                    .leaked = WIFEXITED(status) && WEXITSTATUS(status) == LEAK_EXITCODE,
                    .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                    .seconds = t1 - t0};
        const char *stack = status_stack(st);
        if ((pt.leaked || pt.signal) && *stack) pt.stack = strdup(stack);
        if (pt.leaked) pt.report = slurp(p->report);
        free(st);
        if (!pt.hit && (*end = find_end(p, n, sh, scope, argv, runs)) == 0) {
            free(pt.stack);
            free(pt.report);
            return 2;
        }
        if (!pt.hit && *end < n) {
            /* Past the whole sweep's end: the unsplit sweep never runs it. */
            free(pt.stack);
            free(pt.report);
            break;
        }
        if (pt.leaked || pt.signal) print_point(f, &pt);
        if (keep_all || pt.leaked || pt.signal) {
            if (*npts == cap) {
                cap = cap ? 2 * cap : 64;
                point *g = realloc(*pts, cap * sizeof *g);
                if (!g) {
                    lc_opts_fail("fault-sweep", "out of memory after %ld runs", n);
                    free(pt.stack);
                    free(pt.report);
                    return 2;
                }
                *pts = g;
            }
            (*pts)[(*npts)++] = pt;
        }
        if (!pt.hit) break;
    }
    return 0;
}

/* Which sweep a shard is of (shard.h): the program, its arguments, the
 * scope and the limit. 0, or -1 when out of memory. */
static int sweep_run_id(const char *scope, int64_t max, char **argv, int argc,
                        char out[LC_SHARD_RUN_ID_LEN]) {
    char limit[32];
    snprintf(limit, sizeof limit, "%lld", (long long)max);
    const char **parts = calloc((size_t)argc + 2, sizeof *parts);
    if (!parts) return -1;
    parts[0] = scope;
    parts[1] = limit;
    for (int k = 0; k < argc; k++)
        parts[k + 2] = argv[k];
    lc_shard_run_id(parts, (size_t)argc + 2, out);
    free(parts);
    return 0;
}

enum { OPT_SHARD = 256 }; /* long only */

static const struct option long_options[] = {
    {"scope", required_argument, NULL, 's'},
    {"max", required_argument, NULL, 'n'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int lc_cli_fault_sweep(int argc, char **argv) {
    const char *scope = NULL, *output = NULL;
    bool junit = false;
    lc_shard sh = {0, 0};
    char why[128];
    int64_t max = DEFAULT_MAX;
    int c;
    lc_opts o = {.command = "fault-sweep",
                 .help_command = "fault-sweep",
                 .shortopts = "s:n:f:o:h",
                 .longopts = long_options,
                 .order = LC_OPTS_IN_ORDER,
                 .argc = argc,
                 .argv = argv};
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (c) {
        case 's':
            scope = o.optarg;
            break;
        case 'n':
            if (lc_opts_integer(&o, 1, MAX_RUNS, 0, &max) != 0) return LC_EXIT_USAGE;
            break;
        case 'f':
            if (strcmp(o.optarg, "text") != 0 && strcmp(o.optarg, "junit") != 0)
                return lc_opts_fail("fault-sweep", "--format: '%s' is not text or junit", o.optarg);
            junit = strcmp(o.optarg, "junit") == 0;
            break;
        case 'o':
            output = o.optarg;
            break;
        case OPT_SHARD:
            if (lc_shard_parse(o.optarg, &sh, why, sizeof why) != 0)
                return lc_opts_fail("fault-sweep", "--shard: %s", why);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default: /* LC_OPTS_ERROR, printed */
            return LC_EXIT_USAGE;
        }
    }
    int i = o.optind;
    if (i >= argc)
        return lc_opts_usage_error(&o, "no program given (leakcheck fault-sweep -- PROGRAM)");
    char run_id[LC_SHARD_RUN_ID_LEN];
    if (sweep_run_id(scope, max, argv + i, argc - i, run_id) != 0)
        return lc_opts_fail("fault-sweep", "out of memory");
    run_paths p;
    if (lc_tool_find_library(p.lib, sizeof p.lib) != 0)
        return lc_opts_fail("fault-sweep",
                            "cannot find libleakcheck.so.0 (looked next to the leakcheck "
                            "executable, in ../lib, LD_LIBRARY_PATH and the ld.so cache)");
    /* Opened before anything runs, so that a bad path fails first. The
     * text goes there as the sweep finds it; JUnit at the end, whole. */
    FILE *out = stdout;
    if (output && !(out = fopen(output, "we")))
        return lc_opts_fail("fault-sweep", "cannot write the results to '%s': %s", output,
                            strerror(errno));
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX / 2];
    snprintf(dir, sizeof dir, "%s/leakcheck-fault.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        if (out != stdout) fclose(out);
        return lc_opts_fail("fault-sweep", "cannot create a temporary directory: %s",
                            strerror(errno));
    }
    snprintf(p.status, sizeof p.status, "%s/status", dir);
    snprintf(p.report, sizeof p.report, "%s/report", dir);

    /* With JUnit, the text lines go nowhere: the document is the output. */
    FILE *text = junit ? fopen("/dev/null", "we") : out;
    point *pts = NULL;
    size_t npts = 0;
    long runs = 0, leaks = 0, crashes = 0, end = 0;
    double started = lc_junit_now(), t0 = now_seconds();
    int rc = text ? sweep(&p, max, scope, &sh, argv + i, junit, text, &pts, &npts, &runs, &end) : 2;
    if (!text) lc_opts_fail("fault-sweep", "cannot open /dev/null: %s", strerror(errno));
    double seconds = now_seconds() - t0;
    if (junit && text) fclose(text);
    unlink(p.status);
    unlink(p.report);
    rmdir(dir);
    for (size_t k = 0; k < npts; k++) {
        leaks += pts[k].leaked;
        crashes += pts[k].signal != 0;
    }
    if (rc == 0 && junit) {
        lc_buf xml = {0};
        write_junit(pts, npts, argv + i, &sh, end, run_id, started, seconds, &xml);
        if (xml.failed) {
            lc_opts_fail("fault-sweep", "cannot write the results: out of memory");
            rc = 2;
        } else {
            fputs(xml.data, out);
        }
        lc_buf_free(&xml);
    } else if (rc == 0 && sh.n) {
        fprintf(out,
                "leakcheck fault-sweep: shard %d/%d: %ld runs, %ld failure points leaked, %ld "
                "crashed; ",
                sh.k, sh.n, runs, leaks, crashes);
        if (end)
            fprintf(out, "the sweep ends at allocation %ld, the first not reached\n", end);
        else
            fprintf(out, "--max %lld stopped the sweep\n", (long long)max);
    } else if (rc == 0) {
        fprintf(out, "leakcheck fault-sweep: %ld runs, %ld failure points leaked, %ld crashed\n",
                runs, leaks, crashes);
    }
    for (size_t k = 0; k < npts; k++) {
        free(pts[k].stack);
        free(pts[k].report);
    }
    free(pts);
    if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0)) {
        fprintf(stderr, "leakcheck fault-sweep: cannot write the results to '%s': %s\n",
                output ? output : "stdout", strerror(errno));
        return 2;
    }
    if (rc) return rc;
    return leaks || crashes ? 1 : 0;
}
