/* SPDX-License-Identifier: MIT */
/* process_mode.c: checking a whole program when it exits.
 *
 * `leakcheck run` preloads the library with LEAKCHECK_MODE=process. The
 * check is the last thing a process does: an exit handler registered while
 * the library initialises, before the C library registers the dynamic
 * linker's finaliser, and bound to no shared object (__cxa_atexit with a
 * null handle, where atexit() in a library would bind it to the library and
 * run it among the library destructors). Exit handlers run in reverse order,
 * so it runs after every handler the program registers and after every
 * shared library's destructor, and sees the program as it leaves it: memory
 * a plugin frees in its destructor is not a leak, output a library writes
 * in its destructor is not lost. In this
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
 * the same way.
 *
 * Under the supervisor (`leakcheck run`, LEAKCHECK_RUN_DIR set) nothing of
 * this reaches the program's own file descriptors or exit status: each
 * process writes into the run directory, under its pid, a start record when
 * it starts (PID.start: parent pid and command line), its report when its
 * check is done (PID.report, then PID.verdict last, each written whole under
 * a temporary name and renamed), notes about profiles and graphs
 * (PID.notes), the reason when it ends with _exit where its check cannot
 * run (PID.ended; elsewhere _exit runs the check), and its thread dump at
 * the run's deadline (PID.dump). The supervisor merges them, writes the one
 * report and decides the exit status; the process exits with its own. The deadline is an absolute
 * CLOCK_MONOTONIC time (LEAKCHECK_DEADLINE_NS), so that an exec does not
 * restart it. */
#include "buf.h"
#include "core.h"
#include "fault.h"
#include "os.h"
#include "run.h"
#include "snapshot.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int error_exitcode = 23;
static bool json;
static bool strict;
static const char *output;
static double timeout_seconds;
/* Copied at start: the program may change its environment before exit. */
static char pprof_path[4096], dot_path[4096];
static bool pprof_path_too_long, dot_path_too_long;
static pid_t file_owner;   /* the process that writes FILE itself; others FILE.PID */
static char run_dir[4096]; /* LEAKCHECK_RUN_DIR, copied: the supervisor's run */
/* Whether run_dir is set: read at every fork, so kept with the fork state
 * (a forked test reads no page of run_dir). */
LC_FORK_STATE static bool supervised;
LC_FORK_STATE static uint64_t deadline_ns; /* LEAKCHECK_DEADLINE_NS: absolute CLOCK_MONOTONIC */
LC_FORK_STATE static bool checked;         /* this process's exit check has run */
LC_FORK_STATE static pid_t self_pid;       /* set at start and by fork's child handler */
static int program_status;                 /* the status the program exits with */
static bool skip_on_failure;               /* LEAKCHECK_CHECK_ON_FAILURE=skip */

/* ------------------------------------------------------------ run directory */

/* Writes DATA whole as RUN_DIR/PID.WHAT: under a temporary name first, then
 * renamed, so that the supervisor never reads half a file. Only system
 * calls: usable at exit, in a fork child and from the _exit interposer.
 * Returns 0, or -1 with errno set. */
static int run_file_write(const char *what, const char *data, size_t len) {
    char tmp[sizeof run_dir + 64], path[sizeof run_dir + 64];
    int pid = (int)getpid();
    int n = snprintf(path, sizeof path, "%s/%d.%s", run_dir, pid, what);
    int m = snprintf(tmp, sizeof tmp, "%s/.%d.%s.tmp", run_dir, pid, what);
    if (n < 0 || (size_t)n >= sizeof path || m < 0 || (size_t)m >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

/* PID.start: "PPID\nCOMMAND LINE\n", the arguments joined by spaces. */
static void run_file_start(void) {
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getppid());
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf + n, sizeof buf - (size_t)n - 2) : -1;
    if (fd >= 0) close(fd);
    size_t len = (size_t)n + (got > 0 ? (size_t)got : 0);
    for (size_t i = (size_t)n; i < len; i++)
        if (buf[i] == '\0') buf[i] = ' ';
    while (len > (size_t)n && buf[len - 1] == ' ')
        len--;
    buf[len++] = '\n';
    run_file_write("start", buf, len);
}

/* Notes about this process's profile and graph files: in the run directory
 * under the supervisor (never inside a JSON report), else with the report. */
static char notes[2048];
LC_FORK_STATE static size_t notes_len;

static void note(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!supervised) {
        vfprintf(out, fmt, ap);
    } else if (notes_len < sizeof notes) {
        int n = vsnprintf(notes + notes_len, sizeof notes - notes_len, fmt, ap);
        if (n > 0)
            notes_len +=
                (size_t)n < sizeof notes - notes_len ? (size_t)n : sizeof notes - notes_len - 1;
    }
    va_end(ap);
}

static void start_watchdog(void);

/* A forked child is a process of the program of its own: its start record
 * and, under the supervisor's deadline, a watchdog of its own (fork copied
 * only the calling thread), so that at the deadline it too leaves its
 * thread dump. The deadline is absolute: it is the run's, not restarted. */
LC_CHILD_CODE void lc_process_mode_after_fork_child(void) {
    self_pid = getpid();
    checked = false;
    notes_len = 0;
    if (supervised) run_file_start();
    if (supervised && deadline_ns) start_watchdog();
}

static void check_at_exit(void *unused);

/* Whether a process ending with _exit can run its check there. Not in a
 * child made by vfork or clone without fork's handlers (its pid is not the
 * one recorded at start or fork): it shares its parent's memory, which the
 * check would change under the parent. Not inside the library's own code,
 * nor, as far as can be told, inside a signal handler (a signal with a
 * handler is blocked, as it is while its handler runs): the handler may have
 * interrupted malloc with its lock held, and the check would wait for it
 * forever. There the process is reported as not checked instead. */
static const char *early_exit_unsafe(void) {
    if ((pid_t)syscall(SYS_getpid) != self_pid)
        return "in a child made by vfork or clone, which may share its parent's memory";
    if (lc_self_depth) return "inside the checker's own code";
    sigset_t blocked;
    if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0) return "its signal mask is unknown";
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        /* The capture signal's handler is the library's, never running here. */
        if (sig != lc_capture_signal() && sigismember(&blocked, sig) == 1 &&
            sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
            return "maybe in a signal handler (a handled signal is blocked)";
    }
    return NULL;
}

/* A process that ends with _exit (a shell does, and so does a forked child
 * that must not run its parent's exit handlers) is checked there, as
 * valgrind checks it: its exit handlers and destructors do not run, which
 * its report says. When the check cannot run safely, the reason goes to the
 * supervisor, which reports the process as not checked rather than lose it
 * silently. */
static void early_exit(const char *how, int status) {
    if (!supervised || checked) return;
    program_status = status;
    char buf[256];
    const char *unsafe = early_exit_unsafe();
    if (!unsafe) {
        note(NULL,
             "leakcheck: pid %d ended with %s(%d): checked there; its exit handlers and "
             "destructors did not run\n",
             (int)self_pid, how, status);
        check_at_exit(NULL);
        return;
    }
    int n = snprintf(buf, sizeof buf, "ended with %s(%d) before its exit check, %s\n", how, status,
                     unsafe);
    if (n > 0) run_file_write("ended", buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Where the program called exit(): main's frames (or a thread's) above that
 * call are live, and their locals hold what the program still uses when it
 * exits, as valgrind and LeakSanitizer count it. The exit handlers run below
 * that frame, and what main left after returning is dead, so a return from
 * main (libc's own call to exit, which no interposer sees) scans nothing. */
static struct {
    atomic_int tid; /* the first thread to call exit */
    uintptr_t frame;
    lc_registers_at_entry regs;
} exit_call;

/* Resolved at start, so that a forked child (a Check test, which ends with
 * exit) does not look it up again; on the fork state's page, which the
 * child has written by then, not on a page read for these two alone. */
LC_FORK_STATE static void (*real_exit)(int);
/* Whether an exit check will run (LEAKCHECK_MODE=process): only then are
 * the exit call's frame and registers wanted. */
LC_FORK_STATE static bool exit_check_armed;

LC_CHILD_CODE __attribute__((noreturn, noinline, visibility("default"))) void exit(int status) {
    int none = 0;
    if (exit_check_armed &&
        atomic_compare_exchange_strong(&exit_call.tid, &none, (int)lc_os_tid())) {
        program_status = status;
        exit_call.frame = (uintptr_t)__builtin_frame_address(0);
        LC_CALLEE_SAVED_AT_ENTRY(&exit_call.regs, exit_call.frame);
    }
    if (!real_exit) {
        lc_self_enter();
        real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
        lc_self_leave();
    }
    if (real_exit) real_exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

__attribute__((noreturn)) void _exit(int status) {
    early_exit("_exit", status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

__attribute__((noreturn)) void _Exit(int status) {
    early_exit("_Exit", status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

static FILE *open_output(void) {
    if (supervised) return NULL; /* the supervisor's run directory */
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
        note(out, "leakcheck: pid %d: heap profile path too long: %s\n", (int)self, pprof_path);
        return;
    }
    lc_snapshot *s = lc_snapshot_take_heap();
    if (!s) {
        note(out, "leakcheck: pid %d: cannot write heap profile %s: out of memory\n", (int)self,
             path);
        return;
    }
    if (lc_snapshot_write_pprof(s, path) != 0)
        note(out, "leakcheck: pid %d: cannot write heap profile %s: %s\n", (int)self, path,
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
        note(out, "leakcheck: pid %d: cannot write the retention graph %s: %s\n", (int)getpid(),
             dot_path, f ? strerror(errno) : "cannot open it");
    lc_self_leave();
}

/* PID.modules: the module map the report's holes refer to, written before
 * the report or dump whose holes it resolves. */
static bool defer_lines;

static void write_modules(void) {
    if (!defer_lines) return;
    lc_buf b = {0};
    lc_report_modules(&b);
    if (!b.failed && b.data) run_file_write("modules", b.data, b.len);
    lc_buf_free(&b);
}

/* Under the supervisor: the report, the notes, and the verdict last (its
 * presence says the check ran to the end). */
static void report_to_run_dir(const char *report, int verdict) {
    write_modules();
    int e = run_file_write("report", report, strlen(report));
    if (notes_len) run_file_write("notes", notes, notes_len);
    char v[64];
    int n = snprintf(v, sizeof v, "%d\n", e == 0 ? verdict : -2);
    run_file_write("verdict", v, (size_t)n);
}

/* goleak's Cleanup for the exit check (lc_process_cleanup), and the status
 * the program exits with: from exit() and _exit() when it calls them, and
 * from an on_exit handler (which glibc gives the status), registered just
 * after the check and so run just before it, when main returns. */
static struct {
    void (*fn)(int status, void *arg);
    void *arg;
} cleanup;

int lc_process_cleanup(void (*fn)(int status, void *arg), void *arg) {
    cleanup.arg = arg;
    __atomic_store_n(&cleanup.fn, fn, __ATOMIC_RELEASE);
    return 0;
}

static void record_status(int status, void *unused) {
    (void)unused;
    program_status = status;
}

/* The status the process ends with once its check gave `verdict`: the
 * program's own when it passed, when the supervisor decides, or when the
 * program failed on its own (as `leakcheck run` and goleak's VerifyTestMain
 * keep a failing run's status: the report still says what leaked). */
static int final_status(int verdict) {
    if (verdict == 0 || supervised || program_status != 0) return program_status;
    return verdict < 0 ? 2 : error_exitcode;
}

static void run_cleanup(int verdict) {
    void (*fn)(int, void *) = __atomic_load_n(&cleanup.fn, __ATOMIC_ACQUIRE);
    if (!fn) return;
    __atomic_store_n(&cleanup.fn, NULL, __ATOMIC_RELEASE); /* once */
    fn(final_status(verdict), cleanup.arg);
}

/* --check-on-failure=skip: a process that fails on its own (a non-zero
 * exit status) is not checked, as goleak's VerifyTestMain leaves a failed
 * run alone; the supervisor reports it as not checked, with the reason,
 * and the program's status stands. */
static bool skip_failed_check(void) {
    if (!skip_on_failure || program_status == 0) return false;
    char buf[192];
    int n = snprintf(buf, sizeof buf,
                     "it failed on its own (exit status %d), and --check-on-failure=skip "
                     "checks only processes that succeed\n",
                     program_status);
    if (n <= 0) return true;
    if (supervised) {
        run_file_write("ended", buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    } else {
        lc_self_enter();
        FILE *out = open_output();
        fprintf(out, "leakcheck: not checked: %s", buf);
        fflush(out);
        if (out != stderr) fclose(out);
        lc_self_leave();
    }
    run_cleanup(0);
    return true;
}

static void check_at_exit(void *unused) {
    (void)unused;
    if (skip_failed_check()) return;
    lc_line_service_hold(); /* suppressions, profile and graph ask on one connection */
    lc_self_enter();
    FILE *out = open_output();
    if (pprof_path[0]) write_profile(out);
    lc_self_leave();
    lc_result res;
    lc_options opts = {.struct_version = LC_OPTIONS_VERSION, .quiet = 1};
    bool by_exit = atomic_load(&exit_call.tid) == (int)lc_os_tid() && exit_call.frame;
    if (supervised) lc_report_set_holes(defer_lines); /* the report is the supervisor's */
    lc_verify_process(&opts, &res, strict, by_exit ? exit_call.frame : 0,
                      by_exit ? &exit_call.regs : NULL);
    checked = true;
    const char *report = json ? lc_last_report_json() : lc_last_report();
    if (dot_path[0]) write_dot(out);
    lc_line_service_release();
    if (supervised) {
        /* The process keeps its own exit status: only the supervisor's
         * changes. */
        report_to_run_dir(report, res.verdict);
        run_cleanup(res.verdict);
        return;
    }
    fputs(report, out);
    fflush(out);
    if (out != stderr) {
        lc_self_enter();
        fclose(out);
        lc_self_leave();
    }
    run_cleanup(res.verdict);
    int status = final_status(res.verdict);
    if (status != program_status) {
        /* _exit skips the flush of stdio that exit does after the last
         * handler: without this, a leaky program's buffered output to a
         * pipe or file would be lost. */
        fflush(NULL);
        syscall(SYS_exit_group, status);
    }
}

/* At the deadline: under the supervisor, the thread dump goes to the run
 * directory and the supervisor ends the process group; alone, the dump goes
 * with the report and the process ends itself with status 124. */
static void *watchdog(void *arg) {
    (void)arg;
    lc_thread_rec *self = lc_thread_self_rec();
    if (self) self->internal = 1; /* not the program's: not in its dump */
    if (deadline_ns) {
        struct timespec at = {(time_t)(deadline_ns / 1000000000u),
                              (long)(deadline_ns % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
        }
    } else {
        lc_os_sleep_ns((uint64_t)(timeout_seconds * 1e9));
    }
    if (supervised) {
        /* A fault-sweep run that hangs on its error path is killed, never
         * exits: its failed allocation's stack is written now. */
        lc_fault_write_status();
        lc_self_enter();
        char *text = NULL;
        size_t len = 0;
        lc_report_set_holes(defer_lines);
        FILE *mem = open_memstream(&text, &len);
        if (mem) {
            lc_dump_threads(mem);
            fclose(mem);
            write_modules();
            run_file_write("dump", text ? text : "", text ? len : 0);
            free(text);
        }
        lc_self_leave();
        return NULL;
    }
    FILE *out = open_output();
    fprintf(out, "leakcheck: pid %d timed out after %.1f s; every thread:\n", (int)getpid(),
            timeout_seconds);
    lc_dump_threads(out);
    fflush(out);
    syscall(SYS_exit_group, 124);
    return NULL;
}

/* The watchdog is the library's thread: it blocks every signal from its
 * first instruction (the mask is inherited from the creating thread, whose
 * own is restored), so that no signal meant for the program is delivered
 * to it, and it marks itself internal, so that no check or dump shows it. */
static void start_watchdog(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t dog;
    if (pthread_create(&dog, NULL, watchdog, NULL) == 0) pthread_detach(dog);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void lc_process_mode_init(void) {
    lc_self_enter();
    real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
    lc_self_leave();
    const char *mode = getenv("LEAKCHECK_MODE");
    if (!mode || strcmp(mode, "process") != 0) return;
    const char *code = getenv("LEAKCHECK_ERROR_EXITCODE");
    if (code && *code) error_exitcode = atoi(code);
    const char *format = getenv("LEAKCHECK_FORMAT");
    json = format && strcmp(format, "json") == 0;
    strict = getenv("LEAKCHECK_STRICT") != NULL;
    const char *on_failure = getenv("LEAKCHECK_CHECK_ON_FAILURE");
    skip_on_failure = on_failure && strcmp(on_failure, "skip") == 0;
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
    self_pid = getpid();
    const char *dir = getenv("LEAKCHECK_RUN_DIR");
    if (dir && dir[0] == '/' && strlen(dir) < sizeof run_dir - 64) {
        snprintf(run_dir, sizeof run_dir, "%s", dir);
        supervised = true;
        run_file_start();
        /* Symbolization never loads a library into the program: names come
         * from the objects' own symbol tables, files and lines from the
         * supervisor, as holes it fills in the report afterwards or, where
         * the process needs them itself (a suppression by file, a profile,
         * a graph, a live dump), as answers on its socket (symbols.h). */
        char socket_path[sizeof run_dir + 16];
        snprintf(socket_path, sizeof socket_path, "%s/lines", run_dir);
        lc_line_service_use(socket_path);
        defer_lines = true;
        lc_symbolize_defer_lines();
        lc_buf_guard_holes();
    }
    const char *deadline = getenv("LEAKCHECK_DEADLINE_NS");
    if (deadline && *deadline) deadline_ns = strtoull(deadline, NULL, 10);
    if (deadline_ns) timeout_seconds = 1; /* the watchdog waits for the deadline */
    const char *owner = getenv("LEAKCHECK_RUN_PID");
    file_owner = owner && *owner ? (pid_t)atol(owner) : getpid();
    if (timeout_seconds > 0) start_watchdog();
    extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
    exit_check_armed = true;
    __cxa_atexit(check_at_exit, NULL, NULL);
    on_exit(record_status, NULL);
}
