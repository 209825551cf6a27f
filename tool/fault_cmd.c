/* SPDX-License-Identifier: MIT */
/* fault_cmd.c: `leakcheck fault-sweep [OPTIONS] -- PROGRAM [ARGS...]`.
 *
 * The fault sweep of a whole program: PROGRAM runs with the library
 * preloaded in process mode once for every N = 1, 2, 3, ..., with its N-th
 * allocation failing (LEAKCHECK_FAIL_ALLOC=N), until a run never reaches
 * the injected failure. The library says whether it did through a status
 * file (LEAKCHECK_FAULT_STATUS, see harness/fault.c): "hit" the moment the
 * allocation fails, then the failed allocation's stack at exit.
 *
 * Each run is supervised as `leakcheck run` supervises a program
 * (supervise.c), with the same channel: the run has a process group of its
 * own, and its exit check writes its start record, report and verdict into
 * a private run directory (assertions/process_mode.c), never into the
 * program's descriptors or exit status. The verdict of a run is that
 * check's: a program's own exit status (23, 1, ...) says nothing about a
 * leak. A run with no start record never had the library (a static
 * program): the sweep refuses it. With --timeout the run gets the absolute
 * deadline of LEAKCHECK_DEADLINE_NS; its watchdog writes the thread dump
 * there, this process kills the group and reports the run as hung, and the
 * sweep goes on. The runs are forked by harness/child.c, as the library's
 * own sweep's are; results are written by fault_report.c.
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
#include "fault.h"
#include "fault_report.h"
#include "shard.h"
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX 100000
#define MAX_RUNS 100000000
/* How long a hung run has, after its deadline, to write its thread dump. */
#define DUMP_GRACE_SECONDS 2.0
/* The sweep's own status for a program it cannot check (as `leakcheck run`'s
 * LC_RUN_UNCHECKED, EX_SOFTWARE). */
#define EXIT_UNCHECKED 70

static const char usage_text[] =
    "Usage: leakcheck fault-sweep [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "Run PROGRAM once for every N = 1, 2, 3, ... with its N-th allocation failing,\n"
    "until a run no longer reaches the injected failure, and report every failure\n"
    "point the program leaked on (with the leak report), crashed on or hung on,\n"
    "with the failed allocation's stack. The verdict of a run is its exit check's,\n"
    "never the program's exit status. The program's own output is discarded; on a\n"
    "terminal, a progress line on stderr names the run. Options end at \"--\" or at\n"
    "PROGRAM: the program's own arguments are never read.\n"
    "\n"
    "Options:\n"
    "  -s, --scope=FUNCTION     count only allocations with FUNCTION on their stack\n"
    "  -n, --max=N              stop after N runs, 1 to 100000000 (default 100000)\n"
    "  -t, --timeout=SECONDS    end a run still running after SECONDS (every thread\n"
    "                           dumped, its process group killed), report it as\n"
    "                           hung and go on with the next failure point\n"
    "  -f, --format=FORMAT      text (the default), json (one leakcheck/1 document\n"
    "                           of kind \"fault-sweep\": every failure point, its\n"
    "                           outcome, stack and report) or junit (JUnit XML: one\n"
    "                           test case per failure point, a leak as its failure,\n"
    "                           a crash or a hang as its error)\n"
    "  -o, --output=FILE        write the results to FILE instead of stdout\n"
    "      --shard=K/N          run only failure points K, K+N, K+2N, ...; the\n"
    "                           junit results of every shard join with leakcheck\n"
    "                           merge\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        every failure point was checked and is clean\n"
    "  1        a failure point leaked, crashed or hung\n"
    "  2        a usage error, or PROGRAM cannot be run, or the results cannot be\n"
    "           written\n"
    "  70       PROGRAM cannot be checked: the library was not loaded into it (a\n"
    "           statically linked or setuid program, or one that refuses\n"
    "           LD_PRELOAD), or a run ended before its exit check\n"
    "  128+N    the sweep was stopped by signal N (forwarded to the run)\n";

/* The whole of a small file, NUL-terminated; "" when it does not exist. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "re");
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
    char status[PATH_MAX], run_dir[PATH_MAX], lib[PATH_MAX];
} run_paths;

/* What the child of one run execs, with allocation n failing. */
typedef struct exec_job {
    const run_paths *p;
    long n;
    const char *scope;
    char **argv;
    double timeout;
    bool json;
    const sigset_t *mask; /* the signal mask the program starts with */
} exec_job;

/* In the child (lc_child_fn): the program, in a process group of its own
 * (a deadline or a forwarded signal reaches every process of it), its
 * output to /dev/null, its reports to the run directory as under `leakcheck
 * run` (process_mode.c). A failed exec cannot say why there: the child
 * hands back its errno as its result instead. The result file is
 * close-on-exec, so a program that started leaves it empty and unsealed. */
static void exec_program(int fd, void *arg) {
    const exec_job *j = arg;
    const run_paths *p = j->p;
    lc_group_child_setup(p->run_dir, j->timeout, j->mask);
    char num[32], preload[PATH_MAX * 2];
    snprintf(num, sizeof num, "%ld", j->n);
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", p->lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("LEAKCHECK_MODE", "process", 1);
    setenv("LEAKCHECK_FAIL_ALLOC", num, 1);
    setenv("LEAKCHECK_FAULT_STATUS", p->status, 1);
    setenv("LEAKCHECK_FORMAT", j->json ? "json" : "text", 1);
    unsetenv("LEAKCHECK_OUTPUT");
    unsetenv("LEAKCHECK_TIMEOUT");
    unsetenv("LEAKCHECK_CHECK_ON_FAILURE");
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

/* RUN_DIR/PID.WHAT, or NULL when the run did not write it. */
static char *run_file(const run_paths *p, int pid, const char *what) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%d.%s", p->run_dir, pid, what);
    if (access(path, F_OK) != 0) return NULL;
    char *data = slurp(path);
    /* A report's and a dump's files and lines are the supervisor's to find. */
    if (strcmp(what, "report") == 0 || strcmp(what, "dump") == 0)
        data = lc_holes_fill(p->run_dir, pid, data);
    return data;
}

/* Between runs the line service's socket stays (line_server.c). */
static void clear_run_dir(const run_paths *p, bool all) {
    DIR *d = opendir(p->run_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (all || strcmp(e->d_name, "lines")))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

/* Every thread dump of the run's processes, the started one first; NULL
 * when none was written. */
static char *collect_dumps(const run_paths *p, int main_pid) {
    lc_buf b = {0};
    char *own = run_file(p, main_pid, "dump");
    if (own) lc_buf_printf(&b, "%s", own);
    free(own);
    DIR *d = opendir(p->run_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".dump") != 0 || pid == main_pid) continue;
        char *more = run_file(p, (int)pid, "dump");
        if (more) lc_buf_printf(&b, "== process %ld\n%s", pid, more);
        free(more);
    }
    if (d) closedir(d);
    if (b.failed || !b.data) {
        lc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* How a run ended, as the wait saw it. */
typedef struct run_end {
    int pid;        /* the started process */
    int status;     /* the wait status of the started process */
    int exec_errno; /* why it could not be started; 0 when it started */
    bool hung;      /* still running at the deadline: dumped and killed */
    int stopped_by; /* a signal the sweep received and forwarded, or 0 */
} run_end;

/* The run as lc_group_wait sees it: the forked child and its group. */
typedef struct run_wait {
    lc_child *child;
    const char *run_dir;
} run_wait;

static bool run_ended(void *ctx, bool timed_out) {
    (void)timed_out;
    return lc_child_poll(((run_wait *)ctx)->child);
}

static bool dump_written(void *ctx) {
    const run_wait *w = ctx;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%d.dump", w->run_dir, (int)w->child->pid);
    return access(path, F_OK) == 0;
}

static void signal_run(void *ctx, int sig) {
    pid_t pid = ((run_wait *)ctx)->child->pid;
    kill(-pid, sig);
    if (sig == SIGKILL) kill(pid, sig); /* not yet in its group */
}

/* Waits for the run as `leakcheck run` does (program_group.c): a hung run
 * writes its thread dump at the deadline, and a signal meant for the sweep
 * reaches the run first, then stops the sweep. */
static void wait_run(lc_child *c, const char *run_dir, double timeout, const sigset_t *set,
                     run_end *e) {
    run_wait rw = {c, run_dir};
    lc_group_wait_spec w = {.timeout = timeout,
                            .grace = DUMP_GRACE_SECONDS,
                            .set = set,
                            .done = run_ended,
                            .dumps_written = dump_written,
                            .signal_all = signal_run,
                            .ctx = &rw};
    lc_group_wait(&w);
    e->hung = w.timed_out;
    e->stopped_by = w.forwarded;
}

/* Run the program once with allocation n failing. 0, or -1 with errno
 * when it could not be forked or waited for. */
static int run_once(const exec_job *j, const sigset_t *set, run_end *e) {
    unlink(j->p->status);
    clear_run_dir(j->p, false);
    memset(e, 0, sizeof *e);
    lc_child c;
    if (lc_child_start(&c, 0, exec_program, (void *)j) != 0) return -1;
    setpgid(c.pid, c.pid); /* as the child does: whichever runs first */
    e->pid = (int)c.pid;
    wait_run(&c, j->p->run_dir, j->timeout, set, e);
    e->status = c.status;
    if (c.end == LC_CHILD_DONE) {
        int err = 0;
        bool said = lc_child_read(&c, &err, sizeof err, 0) == sizeof err && err != 0;
        e->exec_errno = said ? err : EIO;
    }
    lc_child_close(&c);
    if (c.end == LC_CHILD_LOST) {
        errno = c.error;
        return -1;
    }
    return 0;
}

/* The stack lines of a status file (after its "stack" line); "" if none. */
static const char *status_stack(const char *status) {
    const char *s = strstr(status, "\nstack ");
    if (!s) return "";
    s = strchr(s + 1, '\n');
    return s ? s + 1 : "";
}

static double now_seconds(void) {
    return (double)lc_now_ns() / 1e9;
}

/* What became of run n: from the exit check's own files in the run
 * directory (PID.verdict, PID.report), never from the program's exit
 * status, which is the program's own (a program may well exit 23, or 1, on
 * an allocation failure). A run that never started the library is no run
 * at all: *refused is set. */
static int judge(const run_paths *p, int pid, const run_end *e, lc_fault_run *r, bool *refused) {
    char *start = run_file(p, pid, "start");
    char *verdict = run_file(p, pid, "verdict");
    bool signaled = WIFSIGNALED(e->status) && !e->hung;
    if (WIFEXITED(e->status)) r->exit_code = WEXITSTATUS(e->status);
    *refused = !start && !signaled && !e->hung && !e->stopped_by;
    free(start);
    if (e->stopped_by) {
        /* Ended by the signal the sweep received and passed on: not the
         * program's crash. */
        r->outcome = LC_FAULT_UNCHECKED;
        char why[128];
        snprintf(why, sizeof why, "stopped by signal %d (%s), sent to leakcheck fault-sweep\n",
                 e->stopped_by, strsignal(e->stopped_by));
        r->reason = strdup(why);
    } else if (e->hung) {
        r->outcome = LC_FAULT_HUNG;
        r->dump = collect_dumps(p, pid);
    } else if (signaled) {
        r->outcome = LC_FAULT_CRASH;
        r->signal = WTERMSIG(e->status);
    } else if (verdict && (atoi(verdict) == 0 || atoi(verdict) == 1)) {
        r->outcome = atoi(verdict) == 0 ? LC_FAULT_CLEAN : LC_FAULT_LEAK;
        if (r->outcome == LC_FAULT_LEAK) r->report = run_file(p, pid, "report");
    } else {
        r->outcome = LC_FAULT_UNCHECKED;
        char *ended = run_file(p, pid, "ended");
        r->reason = ended     ? ended
                    : verdict ? strdup("its exit check failed or its report could "
                                       "not be written\n")
                              : strdup("it ended before its exit check (it exec'd "
                                       "a program the library cannot be loaded into)\n");
        if (verdict && atoi(verdict) == -1) r->report = run_file(p, pid, "report");
    }
    free(verdict);
    return 0;
}

/* The progress line: on a terminal only, rewritten in place. */
static void progress(bool on, long n) {
    if (on) fprintf(stderr, "\r\033[Kfault-sweep: run %ld (allocation %ld fails)...", n, n);
}

static void progress_clear(bool on) {
    if (on) fputs("\r\033[K", stderr);
}

/* Whether a run with allocation n failing reaches it: 1 or 0, or -1
 * after printing why it could not run. */
static int reaches(const run_paths *p, exec_job *job, const sigset_t *set, long n, long *runs) {
    run_end e;
    job->n = n;
    int started = run_once(job, set, &e);
    (*runs)++;
    if (started < 0 || e.exec_errno) {
        lc_opts_fail("fault-sweep", "cannot run '%s': %s", job->argv[0],
                     strerror(started < 0 ? errno : e.exec_errno));
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
static long find_end(const run_paths *p, exec_job *job, const sigset_t *set, long last,
                     const lc_shard *sh, long *runs) {
    long step = sh->n ? sh->n : 1, lo = last > step ? last - step + 1 : 1, hi = last;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        int hit = reaches(p, job, set, mid, runs);
        if (hit < 0) return 0;
        if (hit)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The sweep's state between runs. */
typedef struct sweep_state {
    lc_fault_run *runs;
    size_t n, cap;
    lc_fault_sweep_info info;
    int stopped_by; /* a signal that stopped the sweep */
} sweep_state;

/* Runs the sweep, keeping in st->runs the points a report needs: every one
 * for JSON and JUnit (keep_all), else those that did not end clean, each
 * printed to f as it is found. 0; 2 or EXIT_UNCHECKED after printing why
 * the sweep could not go on. */
static int sweep(const run_paths *p, int64_t max, exec_job *job, bool keep_all, FILE *f,
                 sweep_state *st) {
    sigset_t set, old_mask;
    lc_group_block_signals(&set, &old_mask);
    job->mask = &old_mask;
    bool tty = isatty(STDERR_FILENO);
    int rc = 0;
    const lc_shard *sh = &st->info.shard;
    long step = sh->n ? sh->n : 1;
    st->info.end = 0;
    for (long n = sh->n ? sh->k : 1; n <= max; n += step) {
        progress(tty, n);
        job->n = n;
        run_end e;
        double t0 = now_seconds();
        int started = run_once(job, &set, &e);
        double t1 = now_seconds();
        st->info.runs++;
        if (started < 0 || e.exec_errno) {
            progress_clear(tty);
            lc_opts_fail("fault-sweep", "cannot run '%s': %s", job->argv[0],
                         strerror(started < 0 ? errno : e.exec_errno));
            rc = 2;
            break;
        }
        char *status = lc_holes_fill_inline(slurp(p->status));
        if (!status) {
            rc = 2;
            break;
        }
        lc_fault_run r = {.n = n, .hit = strncmp(status, "hit ", 4) == 0, .seconds = t1 - t0};
        bool refused;
        judge(p, e.pid, &e, &r, &refused);
        if (!r.hit && !refused && !e.stopped_by && r.outcome != LC_FAULT_HUNG) {
            /* The end of the whole sweep: this point, or one of another
             * shard's before it. Past it, the unsplit sweep never runs
             * this point. */
            st->info.end = sh->n ? find_end(p, job, &set, n, sh, &st->info.runs) : n;
            if (!st->info.end) {
                free(status);
                lc_fault_run_free(&r);
                rc = 2;
                break;
            }
            if (st->info.end < n) {
                free(status);
                lc_fault_run_free(&r);
                break;
            }
        }
        if (refused) {
            /* No start record: the library never ran in the program, so
             * nothing was injected and nothing checked. */
            free(status);
            free(r.reason);
            free(r.report);
            progress_clear(tty);
            lc_opts_fail("fault-sweep",
                         "cannot check '%s': the library was not loaded into it (a statically "
                         "linked or setuid program, or one that refuses LD_PRELOAD)",
                         job->argv[0]);
            rc = EXIT_UNCHECKED;
            break;
        }
        const char *stack = status_stack(status);
        if (*stack && (keep_all || r.outcome != LC_FAULT_CLEAN)) r.stack = strdup(stack);
        /* Only the first stack: a process the program forked appends its
         * own after it. */
        char *next = r.stack ? strstr(r.stack, "\nstack ") : NULL;
        if (next) next[1] = '\0';
        free(status);
        st->info.leaked += r.outcome == LC_FAULT_LEAK;
        st->info.crashed += r.outcome == LC_FAULT_CRASH;
        st->info.hung += r.outcome == LC_FAULT_HUNG;
        st->info.unchecked += r.outcome == LC_FAULT_UNCHECKED;
        if (r.outcome != LC_FAULT_CLEAN) {
            progress_clear(tty);
            lc_fault_print_run(f, &r, &st->info);
            fflush(f);
        }
        if (keep_all || r.outcome != LC_FAULT_CLEAN) {
            if (st->n == st->cap) {
                size_t cap = st->cap ? 2 * st->cap : 64;
                lc_fault_run *g = realloc(st->runs, cap * sizeof *g);
                if (!g) {
                    lc_fault_run_free(&r);
                    progress_clear(tty);
                    lc_opts_fail("fault-sweep", "out of memory after %ld runs", n);
                    rc = 2;
                    break;
                }
                st->runs = g;
                st->cap = cap;
            }
            st->runs[st->n++] = r;
        } else {
            lc_fault_run_free(&r);
        }
        if (e.stopped_by) {
            st->stopped_by = e.stopped_by;
            break;
        }
        /* A run that hung before the failure point does not say whether the
         * point is reached: the sweep stops there as at the end. */
        if (!r.hit) break;
    }
    progress_clear(tty);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

enum { OPT_SHARD = 256 }; /* long only */

static const struct option long_options[] = {
    {"scope", required_argument, NULL, 's'},   {"max", required_argument, NULL, 'n'},
    {"timeout", required_argument, NULL, 't'}, {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},  {"shard", required_argument, NULL, OPT_SHARD},
    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
};

/* The sweep's directory (its status file and run directory), in memory when
 * the system has a place for it, as `leakcheck run`'s (supervise.c): every
 * run creates and deletes three or four files there, which on a disk file
 * system costs about 2 ms a run. Then TMPDIR, then /tmp. */
static bool make_sweep_dir(char *dir, size_t len) {
    const char *places[] = {getenv("XDG_RUNTIME_DIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        const char *at = places[i];
        if (!at || at[0] != '/' || access(at, W_OK | X_OK) != 0) continue;
        int n = snprintf(dir, len, "%s/leakcheck-fault.XXXXXX", at);
        if (n > 0 && (size_t)n < len && mkdtemp(dir)) return true;
    }
    return false;
}

typedef enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_JUNIT } format;

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

int lc_cli_fault_sweep(int argc, char **argv) {
    const char *scope = NULL, *output = NULL;
    format fmt = FORMAT_TEXT;
    int64_t max = DEFAULT_MAX;
    double timeout = 0;
    lc_shard shard = {0, 0};
    char why[128];
    int c;
    lc_opts o = {.command = "fault-sweep",
                 .help_command = "fault-sweep",
                 .shortopts = "s:n:t:f:o:h",
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
        case 't':
            if (lc_opts_seconds(&o, 0, &timeout) != 0) return LC_EXIT_USAGE;
            break;
        case 'f':
            if (strcmp(o.optarg, "text") == 0)
                fmt = FORMAT_TEXT;
            else if (strcmp(o.optarg, "json") == 0)
                fmt = FORMAT_JSON;
            else if (strcmp(o.optarg, "junit") == 0)
                fmt = FORMAT_JUNIT;
            else
                return lc_opts_fail("fault-sweep", "--format: '%s' is not text, json or junit",
                                    o.optarg);
            break;
        case 'o':
            output = o.optarg;
            break;
        case OPT_SHARD:
            if (lc_shard_parse(o.optarg, &shard, why, sizeof why) != 0)
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
    run_paths p;
    if (lc_tool_find_library(p.lib, sizeof p.lib) != 0)
        return lc_opts_fail("fault-sweep",
                            "cannot find libleakcheck.so.0 (looked next to the leakcheck "
                            "executable, in ../lib, LD_LIBRARY_PATH and the ld.so cache)");
    /* Opened before anything runs, so that a bad path fails first. The
     * text goes there as the sweep finds it; JSON and JUnit at the end,
     * whole. */
    FILE *out = stdout;
    if (output && !(out = fopen(output, "we")))
        return lc_opts_fail("fault-sweep", "cannot write the results to '%s': %s", output,
                            strerror(errno));
    char dir[PATH_MAX / 4];
    if (!make_sweep_dir(dir, sizeof dir)) {
        if (out != stdout) fclose(out);
        return lc_opts_fail("fault-sweep", "cannot create a temporary directory: %s",
                            strerror(errno));
    }
    snprintf(p.status, sizeof p.status, "%s/status", dir);
    snprintf(p.run_dir, sizeof p.run_dir, "%s/run", dir);
    if (mkdir(p.run_dir, 0700) != 0) {
        int e = errno;
        rmdir(dir);
        if (out != stdout) fclose(out);
        return lc_opts_fail("fault-sweep", "cannot create a temporary directory: %s", strerror(e));
    }

    /* With JSON or JUnit, the text lines go nowhere: the document is the
     * output. */
    FILE *text = fmt != FORMAT_TEXT ? fopen("/dev/null", "we") : out;
    sweep_state st = {
        .info = {.argv = argv + i, .scope = scope, .timeout = timeout, .shard = shard}};
    if (sweep_run_id(scope, max, argv + i, argc - i, st.info.run_id) != 0) {
        if (fmt != FORMAT_TEXT && text) fclose(text);
        rmdir(p.run_dir);
        rmdir(dir);
        if (out != stdout) fclose(out);
        return lc_opts_fail("fault-sweep", "out of memory");
    }
    exec_job job = {
        .p = &p, .scope = scope, .argv = argv + i, .timeout = timeout, .json = fmt == FORMAT_JSON};
    st.info.started = lc_junit_now();
    double t0 = now_seconds();
    lc_line_server lines;
    lc_line_server_start(&lines, p.run_dir);
    int rc = text ? sweep(&p, max, &job, fmt != FORMAT_TEXT, text, &st) : 2;
    lc_line_server_stop(&lines);
    if (!text) lc_opts_fail("fault-sweep", "cannot open /dev/null: %s", strerror(errno));
    st.info.seconds = now_seconds() - t0;
    if (fmt != FORMAT_TEXT && text) fclose(text);
    unlink(p.status);
    clear_run_dir(&p, true);
    rmdir(p.run_dir);
    rmdir(dir);
    if (rc == 0 && fmt != FORMAT_TEXT) {
        lc_buf doc = {0};
        if (fmt == FORMAT_JSON)
            lc_fault_write_json(st.runs, st.n, &st.info, &doc);
        else
            lc_fault_write_junit(st.runs, st.n, &st.info, &doc);
        if (doc.failed || !doc.data) {
            lc_opts_fail("fault-sweep", "cannot write the results: out of memory");
            rc = 2;
        } else {
            fputs(doc.data, out);
        }
        lc_buf_free(&doc);
    } else if (rc == 0) {
        lc_fault_print_summary(out, &st.info);
    }
    for (size_t k = 0; k < st.n; k++)
        lc_fault_run_free(&st.runs[k]);
    free(st.runs);
    if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0)) {
        fprintf(stderr, "leakcheck fault-sweep: cannot write the results to '%s': %s\n",
                output ? output : "stdout", strerror(errno));
        return 2;
    }
    if (rc) return rc;
    if (st.stopped_by) {
        fprintf(stderr, "leakcheck fault-sweep: stopped by signal %d (%s)\n", st.stopped_by,
                strsignal(st.stopped_by));
        return 128 + st.stopped_by;
    }
    if (st.info.leaked || st.info.crashed || st.info.hung) return 1;
    return st.info.unchecked ? EXIT_UNCHECKED : 0;
}
