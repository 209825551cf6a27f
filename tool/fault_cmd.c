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
 * file of their own and are shown for the runs that leaked. */
#include "tool.h"
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        no failure point leaked or crashed\n"
    "  1        a failure point leaked or crashed\n"
    "  2        a usage error, or PROGRAM cannot be run\n";

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

/* Run the program once with allocation n failing; its wait status, or -1.
 * The child's output goes to /dev/null, so a failed exec cannot say why
 * there: the child writes its errno to a close-on-exec pipe instead, which
 * a successful exec closes empty. *exec_errno is that errno, or 0 when the
 * program started (an exit status of 127 is then the program's own). */
static int run_once(const run_paths *p, long n, const char *scope, char **argv, int *exec_errno) {
    unlink(p->status);
    unlink(p->report);
    *exec_errno = 0;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(pipefd[0]);
        char num[32], preload[PATH_MAX * 2];
        snprintf(num, sizeof num, "%ld", n);
        const char *old = getenv("LD_PRELOAD");
        snprintf(preload, sizeof preload, "%s%s%s", p->lib, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", preload, 1);
        setenv("LEAKCHECK_MODE", "process", 1);
        setenv("LEAKCHECK_FAIL_ALLOC", num, 1);
        setenv("LEAKCHECK_FAULT_STATUS", p->status, 1);
        setenv("LEAKCHECK_OUTPUT", p->report, 1);
        if (scope) setenv("LEAKCHECK_FAIL_SCOPE", scope, 1);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pipefd[1]);
    int e = 0;
    ssize_t got;
    while ((got = read(pipefd[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    if (got == (ssize_t)sizeof e) *exec_errno = e;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

static void print_indented(const char *text, const char *indent) {
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        printf("%s%.*s\n", indent, (int)len, text);
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

static const struct option long_options[] = {
    {"scope", required_argument, NULL, 's'},
    {"max", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int lc_cli_fault_sweep(int argc, char **argv) {
    const char *scope = NULL;
    int64_t max = DEFAULT_MAX;
    int c;
    lc_opts o = {.command = "fault-sweep",
                 .help_command = "fault-sweep",
                 .shortopts = "s:n:h",
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
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX / 2];
    snprintf(dir, sizeof dir, "%s/leakcheck-fault.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return lc_opts_fail("fault-sweep", "cannot create a temporary directory: %s",
                            strerror(errno));
    snprintf(p.status, sizeof p.status, "%s/status", dir);
    snprintf(p.report, sizeof p.report, "%s/report", dir);

    long runs = 0, leaks = 0, crashes = 0;
    int rc = 0;
    for (long n = 1; n <= max; n++) {
        int exec_errno;
        int status = run_once(&p, n, scope, argv + i, &exec_errno);
        runs++;
        if (status < 0 || exec_errno) {
            lc_opts_fail("fault-sweep", "cannot run '%s': %s", argv[i],
                         strerror(status < 0 ? errno : exec_errno));
            rc = 2;
            break;
        }
        char *st = slurp(p.status);
        if (!st) {
            rc = 2;
            break;
        }
        bool hit = strncmp(st, "hit ", 4) == 0;
        bool leaked = WIFEXITED(status) && WEXITSTATUS(status) == LEAK_EXITCODE;
        bool crashed = WIFSIGNALED(status);
        if (leaked || crashed) {
            if (leaked) {
                leaks++;
                printf("allocation %ld failing: leaked; the failed allocation:\n", n);
            } else {
                crashes++;
                printf("allocation %ld failing: killed by signal %d (%s); the failed "
                       "allocation:\n",
                       n, WTERMSIG(status), strsignal(WTERMSIG(status)));
            }
            const char *stack = status_stack(st);
            print_indented(*stack ? stack : "    (no stack: the program did not exit)\n", "");
            if (leaked) {
                char *report = slurp(p.report);
                if (report) {
                    print_indented(report, "  ");
                    free(report);
                }
            }
        }
        free(st);
        if (!hit) break;
    }
    unlink(p.status);
    unlink(p.report);
    rmdir(dir);
    if (rc) return rc;
    printf("leakcheck fault-sweep: %ld runs, %ld failure points leaked, %ld crashed\n", runs, leaks,
           crashes);
    return leaks || crashes ? 1 : 0;
}
