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

static void usage(FILE *out) {
    fprintf(out, "usage: leakcheck fault-sweep [OPTIONS] -- PROGRAM [ARGS...]\n"
                 "\n"
                 "  --scope FUNCTION   count only allocations with FUNCTION on their stack\n"
                 "  --max N            stop after N runs (default 100000)\n"
                 "\n"
                 "Exit status: 0 when no failure point leaked or crashed, 1 when one did,\n"
                 "2 on a usage error.\n");
}

static int fail(const char *fmt, const char *arg) {
    return lc_tool_fail("fault-sweep", fmt, arg);
}

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

/* Run the program once with allocation n failing; its wait status, or -1. */
static int run_once(const run_paths *p, long n, const char *scope, char **argv) {
    unlink(p->status);
    unlink(p->report);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
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
        _exit(127);
    }
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

int lc_cli_fault_sweep(int argc, char **argv) {
    const char *scope = NULL;
    long max = DEFAULT_MAX;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-') break;
        if (strcmp(a, "--scope") != 0 && strcmp(a, "--max") != 0)
            return fail("unknown option '%s' (see leakcheck fault-sweep --help)", a);
        if (i + 1 >= argc) return fail("%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--scope") == 0) {
            scope = v;
        } else {
            char *end;
            max = strtol(v, &end, 10);
            if (*end || max < 1) return fail("--max wants a positive number, got '%s'", v);
        }
    }
    if (i >= argc) return fail("%s", "no program given (leakcheck fault-sweep -- PROGRAM)");
    run_paths p;
    if (lc_tool_find_library(p.lib, sizeof p.lib) != 0)
        return fail("%s", "cannot find libleakcheck.so next to the leakcheck executable");
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX / 2];
    snprintf(dir, sizeof dir, "%s/leakcheck-fault.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return fail("cannot create a temporary directory: %s", strerror(errno));
    snprintf(p.status, sizeof p.status, "%s/status", dir);
    snprintf(p.report, sizeof p.report, "%s/report", dir);

    long runs = 0, leaks = 0, crashes = 0;
    int rc = 0;
    for (long n = 1; n <= max; n++) {
        int status = run_once(&p, n, scope, argv + i);
        runs++;
        if (status < 0) {
            fprintf(stderr, "leakcheck fault-sweep: cannot run '%s': %s\n", argv[i],
                    strerror(errno));
            rc = 2;
            break;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && n == 1) {
            fprintf(stderr, "leakcheck fault-sweep: cannot run '%s'\n", argv[i]);
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
