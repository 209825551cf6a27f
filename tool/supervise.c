/* SPDX-License-Identifier: MIT */
/* supervise.c: `leakcheck run` as the parent of the program it checks.
 *
 * Everything that must survive whatever the program does lives here, in a
 * process of its own: the program may close or reuse its stderr, change
 * directory, rewrite its environment, fork, exec, hang or be killed, and the
 * report still arrives, whole, where it was asked for. The program runs in
 * its own process group (so that a deadline or a forwarded signal reaches
 * all of it), with this process as a child subreaper (so that its orphaned
 * processes are still waited for). Each process of the program writes its
 * start record, its report and its verdict as files into a private run
 * directory (harness/process_mode.c), never into the program's descriptors;
 * at the end they are merged into one report: the report itself for a single
 * checked process, else one section (text) or one element of `processes`
 * (JSON) per process, with the processes that could not be checked listed
 * with the reason. The exit status is decided here alone; every process of
 * the program exits with its own. */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "junit.h"

/* ------------------------------------------------------------ the record */

typedef struct proc {
    int pid, ppid;
    char *command; /* from PID.start */
    char *report;  /* PID.report, when the check ran */
    char *notes, *ended, *dump;
    int verdict; /* PID.verdict: 0 clean, 1 leak, <0 error */
    /* When the library started in it (PID.start written) and when it was
     * done (PID.verdict or PID.ended written): wall-clock seconds, 0 if
     * unknown. JUnit's time of its test case. */
    double t_start, t_end;
    bool started, has_verdict;
    bool running; /* alive, outside the process group, when the run ended */
} proc;

typedef struct run {
    char dir[PATH_MAX];
    proc *procs;
    size_t n, cap;
    int main_pid;
    int main_status; /* from waitpid */
    bool main_reaped, timed_out;
    double started, ended; /* wall-clock seconds: the program's start and end */
} run;

static proc *proc_get(run *r, int pid) {
    for (size_t i = 0; i < r->n; i++)
        if (r->procs[i].pid == pid) return &r->procs[i];
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        proc *p = realloc(r->procs, cap * sizeof *p);
        if (!p) return NULL;
        r->procs = p;
        r->cap = cap;
    }
    proc *p = &r->procs[r->n++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

/* The whole file, and in *mtime when it was last written. */
static char *read_file(const char *dir, const char *name, double *mtime) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    struct stat st;
    *mtime = fstat(fileno(f), &st) == 0 ? (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9 : 0;
    char *data = NULL;
    size_t len = 0, cap = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *d = realloc(data, cap);
            if (!d) break;
            data = d;
        }
        memcpy(data + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!data)
        data = calloc(1, 1);
    else
        data[len] = '\0';
    return data;
}

/* Reads every PID.WHAT file of the run directory into the records. */
static void collect(run *r) {
    DIR *d = opendir(r->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '.' || pid <= 0) continue;
        const char *what = end + 1;
        proc *p = proc_get(r, (int)pid);
        if (!p) break;
        double mtime;
        char *data = read_file(r->dir, e->d_name, &mtime);
        if (!data) continue;
        if (strcmp(what, "start") == 0) {
            p->started = true;
            p->t_start = mtime;
            char *nl = strchr(data, '\n');
            p->ppid = atoi(data);
            free(p->command);
            p->command = strdup(nl ? nl + 1 : "");
            if (p->command) p->command[strcspn(p->command, "\n")] = '\0';
            free(data);
        } else if (strcmp(what, "verdict") == 0) {
            p->has_verdict = true;
            p->t_end = mtime;
            p->verdict = atoi(data);
            free(data);
        } else if (strcmp(what, "report") == 0) {
            /* Written once, whole (renamed into place): filled once, though
             * the directory is read again while dumps are awaited. */
            if (p->report)
                free(data);
            else
                p->report = lc_holes_fill(r->dir, (int)pid, data);
        } else if (strcmp(what, "notes") == 0) {
            p->notes = data;
        } else if (strcmp(what, "ended") == 0) {
            p->ended = data;
            if (!p->t_end) p->t_end = mtime;
        } else if (strcmp(what, "dump") == 0) {
            if (p->dump)
                free(data);
            else
                p->dump = lc_holes_fill(r->dir, (int)pid, data);
        } else {
            free(data);
        }
    }
    closedir(d);
}

static int by_start(const void *a, const void *b) {
    const proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The started process first, then the others by pid. */
static void order(run *r) {
    qsort(r->procs, r->n, sizeof *r->procs, by_start);
    for (size_t i = 0; i < r->n; i++)
        if (r->procs[i].pid == r->main_pid && i) {
            proc main = r->procs[i];
            memmove(r->procs + 1, r->procs, i * sizeof *r->procs);
            r->procs[0] = main;
        }
}

static void remove_run_dir(run *r) {
    DIR *d = opendir(r->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(r->dir);
}

static void free_run(run *r) {
    for (size_t i = 0; i < r->n; i++) {
        proc *p = &r->procs[i];
        free(p->command);
        free(p->report);
        free(p->notes);
        free(p->ended);
        free(p->dump);
    }
    free(r->procs);
}

/* Why a process has no report. */
static const char *unchecked_reason(const run *r, const proc *p) {
    if (p->ended) return p->ended;
    if (p->has_verdict && p->verdict == -2) return "its report could not be written\n";
    if (!p->started && p->pid == r->main_pid && r->main_reaped && WIFSIGNALED(r->main_status))
        return "it was killed by a signal before the library had started in it\n";
    if (!p->started)
        return "the library was not loaded into it (a statically linked or setuid program, "
               "or one that refuses LD_PRELOAD): nothing was checked\n";
    if (r->timed_out) return "killed at the deadline before its exit check\n";
    if (p->running)
        return "still running when the program ended: it left the program's process group "
               "(a daemon), and was not waited for\n";
    return "ended before its exit check (killed by a signal, or exec'd a program the library "
           "cannot be loaded into)\n";
}

static bool checked(const proc *p) {
    return p->has_verdict && p->report && p->verdict >= -1;
}

/* ------------------------------------------------------------ rendering */

static void render_text(const run *r, const lc_supervision *s, lc_buf *out) {
    size_t nchecked = 0;
    for (size_t i = 0; i < r->n; i++)
        nchecked += checked(&r->procs[i]);
    bool sections = r->n > 1 || nchecked != r->n || r->timed_out;
    if (r->timed_out) {
        lc_buf_printf(out, "leakcheck: %s timed out after %g s; every thread of every process:\n",
                      s->argv[0], s->timeout);
        for (size_t i = 0; i < r->n; i++) {
            const proc *p = &r->procs[i];
            if (!p->dump) continue;
            lc_buf_printf(out, "\n== process %d: %s\n%s", p->pid, p->command ? p->command : "?",
                          p->dump);
        }
        lc_buf_printf(out, "\n");
    }
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (sections)
            lc_buf_printf(out, "%s== process %d: %s\n", i || r->timed_out ? "\n" : "", p->pid,
                          p->command ? p->command : s->argv[0]);
        if (checked(p))
            lc_buf_printf(out, "%s", p->report);
        else
            lc_buf_printf(out, "leakcheck: not checked: %s", unchecked_reason(r, p));
        if (p->notes) lc_buf_printf(out, "%s", p->notes);
    }
}

static void json_field(lc_buf *out, const char *key, const char *value) {
    lc_buf_printf(out, ",\"%s\":", key);
    lc_buf_json_str(out, value ? value : "");
}

static void render_json(const run *r, const lc_supervision *s, lc_buf *out) {
    size_t nchecked = 0;
    bool leak = false;
    for (size_t i = 0; i < r->n; i++) {
        nchecked += checked(&r->procs[i]);
        leak |= checked(&r->procs[i]) && r->procs[i].verdict != 0;
    }
    if (r->n == 1 && nchecked == 1 && !r->timed_out && !r->procs[0].notes) {
        lc_buf_printf(out, "%s", r->procs[0].report);
        return;
    }
    /* A process that could not be checked is never a pass: the run is
     * "unchecked" unless a checked one leaked. */
    lc_buf_printf(out, "{\"schema\":\"leakcheck/1\",\"verdict\":\"%s\",\"timed_out\":%s",
                  leak                              ? "leak"
                  : nchecked < r->n || r->timed_out ? "unchecked"
                                                    : "clean",
                  r->timed_out ? "true" : "false");
    if (r->timed_out) lc_buf_printf(out, ",\"timeout_seconds\":%g", s->timeout);
    lc_buf_printf(out, ",\"processes\":[");
    const char *sep = "";
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (!checked(p)) continue;
        /* Each report is a whole JSON object: trailing newlines aside, it
         * goes in as it is. */
        size_t len = strlen(p->report);
        while (len && (p->report[len - 1] == '\n' || p->report[len - 1] == ' '))
            len--;
        lc_buf_printf(out, "%s%.*s", sep, (int)len, p->report);
        sep = ",";
    }
    lc_buf_printf(out, "],\"unchecked\":[");
    sep = "";
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (checked(p)) continue;
        lc_buf_printf(out, "%s{\"pid\":%d", sep, p->pid);
        json_field(out, "command", p->command ? p->command : s->argv[0]);
        json_field(out, "reason", unchecked_reason(r, p));
        lc_buf_printf(out, "}");
        sep = ",";
    }
    lc_buf_printf(out, "],\"thread_dumps\":[");
    sep = "";
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (!p->dump) continue;
        lc_buf_printf(out, "%s{\"pid\":%d", sep, p->pid);
        json_field(out, "command", p->command);
        json_field(out, "dump", p->dump);
        lc_buf_printf(out, "}");
        sep = ",";
    }
    lc_buf_printf(out, "],\"notes\":[");
    sep = "";
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (!p->notes) continue;
        lc_buf_printf(out, "%s", sep);
        lc_buf_json_str(out, p->notes);
        sep = ",";
    }
    lc_buf_printf(out, "]}\n");
}

/* One test case per process, in the report's order: a process whose check
 * passed passes, one that leaked fails with its report, and one that could
 * not be checked (never started the library, killed, timed out, its check
 * failed) is an error, never a pass. Cases are named by command line, which
 * stays the same from one CI run to the next where a pid does not; a
 * repeated command line gets " #2", " #3". */
static void render_junit(const run *r, const lc_supervision *s, lc_buf *out) {
    lc_junit_case *cases = calloc(r->n ? r->n : 1, sizeof *cases);
    lc_buf *texts = calloc(r->n ? r->n : 1, sizeof *texts);
    lc_buf *names = calloc(r->n ? r->n : 1, sizeof *names);
    lc_buf suite = {0};
    if (!cases || !texts || !names) {
        out->failed = true;
        goto done;
    }
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        lc_junit_case *c = &cases[i];
        const char *command = p->command && *p->command ? p->command : s->argv[0];
        size_t same = 1;
        for (size_t j = 0; j < i; j++) {
            const proc *q = &r->procs[j];
            same += strcmp(q->command && *q->command ? q->command : s->argv[0], command) == 0;
        }
        lc_buf_printf(&names[i], "%s", command);
        if (same > 1) lc_buf_printf(&names[i], " #%zu", same);
        c->classname = s->argv[0];
        c->name = names[i].data;
        c->seconds = p->t_start && p->t_end >= p->t_start ? p->t_end - p->t_start
                     : p->pid == r->main_pid              ? r->ended - r->started
                                                          : 0;
        lc_buf *t = &texts[i];
        lc_buf_printf(t, "process %d: %s\n", p->pid, command);
        if (checked(p)) {
            lc_buf_printf(t, "%s", p->report);
            c->outcome = p->verdict == 0  ? LC_JUNIT_PASSED
                         : p->verdict > 0 ? LC_JUNIT_FAILED
                                          : LC_JUNIT_ERRORED;
            c->type = p->verdict > 0 ? "leak" : "check-failed";
            c->message = p->report;
        } else {
            lc_buf_printf(t, "leakcheck: not checked: %s", unchecked_reason(r, p));
            c->outcome = LC_JUNIT_ERRORED;
            c->type = r->timed_out ? "timeout"
                      : p->pid == r->main_pid && r->main_reaped && WIFSIGNALED(r->main_status)
                          ? "crash"
                          : "unchecked";
            c->message = t->data + strcspn(t->data, "\n") + 1;
        }
        if (p->dump) lc_buf_printf(t, "\nits threads at the deadline:\n%s", p->dump);
        if (p->notes) lc_buf_printf(t, "%s", p->notes);
        if (t->failed) out->failed = true;
        /* A passing case shows its report as output: what a reader of the
         * dashboard wants to see of a clean check too. */
        if (c->outcome == LC_JUNIT_PASSED)
            c->output = t->data;
        else
            c->text = t->data;
    }
    lc_buf_printf(&suite, "leakcheck run %s", s->argv[0]);
    if (!suite.failed)
        lc_junit_write(out, suite.data, r->ended - r->started, r->started, cases, r->n);
done:
    for (size_t i = 0; cases && i < r->n; i++) {
        lc_buf_free(&texts[i]);
        lc_buf_free(&names[i]);
    }
    lc_buf_free(&suite);
    free(cases);
    free(texts);
    free(names);
}

/* ------------------------------------------------------------ the output */

/* The report's destination, opened before the program runs so that a bad
 * path fails first. A regular file (or a new one) is written under a
 * temporary name in its directory and renamed into place when complete:
 * whatever happens, FILE holds a whole report or its earlier content. */
typedef struct output {
    int fd;
    char final[PATH_MAX], tmp[2 * PATH_MAX + 32];
} output;

static int output_open(output *o, const char *path) {
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (!path) return 0;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or a pipe (/dev/stdout, /dev/full): written directly. */
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        return o->fd < 0 ? -1 : 0;
    }
    if (snprintf(o->final, sizeof o->final, "%s", path) >= (int)sizeof o->final) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash) *slash = '\0';
    int n =
        snprintf(o->tmp, sizeof o->tmp, "%s/.%s.XXXXXX", slash ? (dir[0] ? dir : "/") : ".", base);
    if (n < 0 || (size_t)n >= sizeof o->tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0) return -1;
    /* mkostemp makes it 0600; a report is as readable as any new file. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(o->fd, 0666 & ~mask);
    return 0;
}

/* Writes the whole report; 0, or -1 with errno set (the file keeps its
 * earlier content). */
static int output_commit(output *o, const char *data, size_t len) {
    int fd = o->fd >= 0 ? o->fd : STDERR_FILENO;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (o->tmp[0]) unlink(o->tmp);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    if (o->fd < 0) return 0;
    int rc = close(o->fd);
    o->fd = -1;
    if (rc != 0 || (o->tmp[0] && rename(o->tmp, o->final) != 0)) {
        int e = errno;
        if (o->tmp[0]) unlink(o->tmp);
        errno = e;
        return -1;
    }
    return 0;
}

static void output_abandon(output *o) {
    if (o->fd >= 0) close(o->fd);
    if (o->tmp[0]) unlink(o->tmp);
}

/* ------------------------------------------------------------ the program */

/* Kills every process of the program: its group, and the processes that
 * left the group but wrote a start record. */
static void kill_all(void *ctx, int sig) {
    run *r = ctx;
    kill(-r->main_pid, sig);
    collect(r);
    for (size_t i = 0; i < r->n; i++)
        if (r->procs[i].pid != r->main_pid) kill(r->procs[i].pid, sig);
}

/* Whether every started, unchecked process has written its dump. */
static bool dumps_done(void *ctx) {
    run *r = ctx;
    collect(r);
    for (size_t i = 0; i < r->n; i++) {
        const proc *p = &r->procs[i];
        if (p->started && !p->has_verdict && !p->dump && kill(p->pid, 0) == 0) return false;
    }
    return true;
}

/* Reaps every child; returns false once there is none left. */
static bool reap(run *r) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) return true;
        if (pid < 0) return errno != ECHILD;
        if (pid == r->main_pid) {
            r->main_status = status;
            r->main_reaped = true;
        }
    }
}

/* Whether the run is over once the started process has ended: no process is
 * left in its process group. A process of the program that left the group
 * (setsid: a daemon, such as an agent a command starts for later commands)
 * is not waited for, or the run would never end; it is reported as still
 * running. Orphans still in the group (a shell's background job) are. */
static bool program_done(const run *r) {
    return r->main_reaped && kill(-r->main_pid, 0) != 0 && errno == ESRCH;
}

/* With the deadline passed, the run lasts until no child is left (as a
 * subreaper, every orphan of the program is one). */
static bool run_over(void *ctx, bool timed_out) {
    run *r = ctx;
    if (!reap(r)) return true;
    return !timed_out && program_done(r);
}

static void wait_for_program(run *r, const lc_supervision *s, const sigset_t *set) {
    lc_group_wait_spec w = {.timeout = s->timeout,
                            .grace = s->grace,
                            .set = set,
                            .done = run_over,
                            .dumps_written = dumps_done,
                            .signal_all = kill_all,
                            .ctx = r};
    lc_group_wait(&w);
    r->timed_out = w.timed_out;
}

/* The terminal, when the program should have it: this process is in the
 * foreground of its controlling terminal. */
static int foreground_tty(void) {
    if (!isatty(STDIN_FILENO)) return -1;
    return tcgetpgrp(STDIN_FILENO) == getpgrp() ? STDIN_FILENO : -1;
}

static void give_terminal(int tty, pid_t pgrp) {
    if (tty < 0) return;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGTTOU, &ign, &old);
    tcsetpgrp(tty, pgrp);
    sigaction(SIGTTOU, &old, NULL);
}

static int start_program(run *r, const lc_supervision *s, const sigset_t *old_mask, int tty,
                         int report_pipe[2]) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        lc_group_child_setup(r->dir, s->timeout, old_mask);
        if (tty >= 0) give_terminal(tty, getpid());
        s->prepare(s->ctx);
        close(report_pipe[0]);
        execvp(s->argv[0], s->argv);
        int e = errno;
        (void)!write(report_pipe[1], &e, sizeof e);
        _exit(LC_RUN_CANNOT_RUN);
    }
    setpgid(pid, pid);
    r->main_pid = pid;
    return 0;
}

/* The run directory, in memory when the system has a place for it: every
 * checked process creates two or three files there, and on a disk file
 * system creating them (an inode allocated, then freed) is most of the fixed
 * cost of a checked process (ext4's allocator scans for inodes not recently
 * deleted: about 10 ms per process on a busy machine, against under 1 ms on
 * tmpfs). Then TMPDIR, then /tmp. Returns false when none can be made. */
static bool make_run_dir(run *r) {
    const char *places[] = {getenv("XDG_RUNTIME_DIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        const char *dir = places[i];
        if (!dir || dir[0] != '/' || access(dir, W_OK | X_OK) != 0) continue;
        int n = snprintf(r->dir, sizeof r->dir, "%s/leakcheck-run.XXXXXX", dir);
        if (n > 0 && (size_t)n < sizeof r->dir && mkdtemp(r->dir)) return true;
    }
    return false;
}

int lc_supervise(const lc_supervision *s) {
    run r = {0};
    if (!make_run_dir(&r)) {
        fprintf(stderr, "leakcheck run: cannot create a run directory: %s\n", strerror(errno));
        return LC_RUN_IOERR;
    }
    output out;
    if (output_open(&out, s->output) != 0) {
        fprintf(stderr, "leakcheck run: cannot write the report file '%s': %s\n", s->output,
                strerror(errno));
        remove_run_dir(&r);
        return 2;
    }

    /* Before the program starts: its first question may come at once. */
    lc_line_server lines;
    lc_line_server_start(&lines, r.dir);

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t set, old_mask;
    lc_group_block_signals(&set, &old_mask);

    /* The exec error, if any, comes back through a close-on-exec pipe: an
     * exec that succeeds closes it empty. */
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0) report_pipe[0] = report_pipe[1] = -1;
    int tty = foreground_tty();
    r.started = lc_junit_now();
    if (start_program(&r, s, &old_mask, tty, report_pipe) != 0) {
        fprintf(stderr, "leakcheck run: fork failed: %s\n", strerror(errno));
        lc_line_server_stop(&lines);
        output_abandon(&out);
        remove_run_dir(&r);
        return LC_RUN_CANNOT_RUN;
    }
    give_terminal(tty, r.main_pid);
    close(report_pipe[1]);
    int exec_errno = 0;
    if (read(report_pipe[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno) exec_errno = 0;
    close(report_pipe[0]);

    wait_for_program(&r, s, &set);
    r.ended = lc_junit_now();
    give_terminal(tty, getpgrp());
    sigprocmask(SIG_SETMASK, &old_mask, NULL);

    if (exec_errno) {
        fprintf(stderr, "leakcheck run: cannot run '%s': %s\n", s->argv[0], strerror(exec_errno));
        lc_line_server_stop(&lines);
        output_abandon(&out);
        remove_run_dir(&r);
        return LC_RUN_CANNOT_RUN;
    }
    collect(&r);
    lc_line_server_stop(&lines); /* no process is left to ask: every one has ended or been left */
    for (size_t i = 0; i < r.n; i++) {
        proc *p = &r.procs[i];
        p->running = p->pid != r.main_pid && !p->has_verdict && !p->ended && kill(p->pid, 0) == 0;
    }
    proc *main = proc_get(&r, r.main_pid);
    if (main && !main->command) main->command = strdup(s->argv[0]);
    order(&r);

    lc_buf text = {0};
    if (s->format == LC_RUN_JSON)
        render_json(&r, s, &text);
    else if (s->format == LC_RUN_JUNIT)
        render_junit(&r, s, &text);
    else
        render_text(&r, s, &text);
    /* A report cut short (out of memory) is not written: a half XML or
     * JSON document would be worse than none. */
    int write_error = text.failed                                                           ? ENOMEM
                      : text.data && output_commit(&out, text.data, strlen(text.data)) != 0 ? errno
                                                                                            : 0;
    if (!text.data || text.failed) output_abandon(&out);
    lc_buf_free(&text);

    /* The exit status: the program's own failure first, then the deadline,
     * then a report that could not be delivered, then a process that could
     * not be checked, then the leak verdict. */
    int status = 0;
    bool leak = false, unchecked_main = false;
    for (size_t i = 0; i < r.n; i++) {
        const proc *p = &r.procs[i];
        /* Only the started process's verdict decides: the other processes
         * are reported, as valgrind and LSan report children, but a leak in
         * one of them does not fail a program that passes its own check. */
        if (p->pid == r.main_pid && checked(p) && p->verdict != 0) leak = true;
        if (p->pid == r.main_pid && !checked(p)) unchecked_main = true;
        if (checked(p) && p->verdict < 0) unchecked_main = true;
    }
    int ms = r.main_status;
    if (r.timed_out) {
        fprintf(stderr, "leakcheck run: %s timed out after %g s\n", s->argv[0], s->timeout);
        status = LC_RUN_TIMEOUT;
    } else if (WIFSIGNALED(ms)) {
        int sig = WTERMSIG(ms);
        fprintf(stderr, "leakcheck run: %s was killed by signal %d (%s)\n", s->argv[0], sig,
                strsignal(sig));
        status = 128 + sig;
    } else if (WEXITSTATUS(ms) != 0) {
        status = WEXITSTATUS(ms);
    } else if (write_error) {
        status = LC_RUN_IOERR;
    } else if (unchecked_main) {
        status = LC_RUN_UNCHECKED;
    } else if (leak) {
        status = s->error_exitcode;
    }
    if (write_error)
        fprintf(stderr, "leakcheck run: cannot write the report to '%s': %s\n",
                s->output ? s->output : "stderr", strerror(write_error));
    free_run(&r);
    remove_run_dir(&r);
    return status;
}
