/* run_cmd.c: `leakcheck run [OPTIONS] -- PROGRAM [ARGS...]`.
 *
 * Starts PROGRAM with the library preloaded in process mode; the library
 * checks the program when it exits (process_mode.c) and ends it with the
 * error exit code when its leaks exceed the budget. This side validates the
 * options before anything runs (a malformed budget or an unreadable file is
 * an error now, not a surprise at exit), passes them through the
 * environment, waits, and turns the way the program ended into the exit
 * status: the program's own, the error exit code, or a signal reported as
 * such. */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "supervise.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: leakcheck run [OPTIONS] -- PROGRAM [ARGS...]\n"
            "\n"
            "  --budget SPEC          leak budget, e.g. bytes=1M,objects=10,threads=0 (default 0)\n"
            "  --strict               count reachable blocks too\n"
            "  --format text|json     report format (default text)\n"
            "  --output FILE          write the report to FILE instead of stderr\n"
            "  --error-exitcode N     exit status when the budget is exceeded (default 23)\n"
            "  --timeout SECONDS      dump every thread and kill the program after SECONDS\n"
            "  --suppressions FILE    LeakSanitizer-style leak:PATTERN / thread:PATTERN lines\n"
            "                         (may be repeated)\n"
            "  --pprof FILE           write a pprof heap profile at exit (other processes\n"
            "                         of the program: FILE.PID)\n"
            "  --dot FILE             write the retention paths as a Graphviz graph (other\n"
            "                         processes: FILE.PID)\n");
}

struct found_library {
    char *path;
    size_t len;
};

static int fail(const char *fmt, const char *arg) {
    return lc_tool_fail("run", fmt, arg);
}

int lc_tool_fail(const char *command, const char *fmt, const char *arg) {
    fprintf(stderr, "leakcheck %s: ", command);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}

/* Finds the library to preload, in order: the copy this executable itself
 * loaded (wherever LIBDIR put it), the one next to the executable (build/)
 * and the one in ../lib (installed under PREFIX). The SONAME comes before
 * the unversioned name: an installed runtime has only the former. */
static int find_loaded_library(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    const char *base = strrchr(info->dlpi_name, '/');
    if (!base || strncmp(base, "/libleakcheck.so", 16) != 0) return 0;
    struct found_library *found = data;
    snprintf(found->path, found->len, "%s", info->dlpi_name);
    return 1;
}

int lc_tool_find_library(char *out, size_t len) {
    struct found_library found = {out, len};
    if (dl_iterate_phdr(find_loaded_library, &found) && access(out, R_OK) == 0) return 0;
    char self[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    const char *candidates[] = {"%s/libleakcheck.so.0", "%s/../lib/libleakcheck.so.0",
                                "%s/libleakcheck.so", "%s/../lib/libleakcheck.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        snprintf(out, len, candidates[i], self);
        if (access(out, R_OK) == 0) return 0;
    }
    return -1;
}

/* The heap profile is written when the program exits, possibly after it
 * changed directory: make the path absolute now, and prove it writable by
 * creating it, so that a typo fails before the program runs rather than
 * after. The file is removed again: it exists afterwards only if the program
 * wrote it, never as a stale profile of an earlier run. Returns 0, or -1
 * with errno set. */
static int check_profile_path(const char *path, char *abs, size_t len) {
    int n;
    if (path[0] == '/') {
        n = snprintf(abs, len, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return -1;
        n = snprintf(abs, len, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    close(fd);
    unlink(abs);
    return 0;
}

/* Suppression files are parsed here, before the program runs, so that a
 * typo is an error naming FILE:LINE now rather than a failed check at exit;
 * the program gets their absolute paths (it may change directory) after
 * any it already had. Returns 0, or 2 after printing the error. */
static int add_suppressions(const char *path, char *list, size_t len) {
    char err[PATH_MAX + 256], abs[PATH_MAX];
    if (lc_suppress_load_file(path, err, sizeof err) != 0) return fail("%s", err);
    if (!realpath(path, abs)) {
        snprintf(err, sizeof err, "cannot resolve the suppression file '%s': %s", path,
                 strerror(errno));
        return fail("%s", err);
    }
    if (strchr(abs, ':'))
        return fail("a suppression file's path cannot contain ':' (LEAKCHECK_SUPPRESSIONS is a "
                    "':'-separated list): '%s'",
                    abs);
    size_t used = strlen(list);
    int n = snprintf(list + used, len - used, "%s%s", used ? ":" : "", abs);
    if (n < 0 || (size_t)n >= len - used) return fail("%s", "too many suppression files");
    return 0;
}

/* What the program's environment gets, set in the child before exec. */
struct child_env {
    const char *lib;
    long exitcode;
    const char *format, *budget, *supp;
    int strict;
    const char *pprof, *dot;
};

static void prepare_child(void *ctx) {
    const struct child_env *e = ctx;
    char code[16];
    snprintf(code, sizeof code, "%ld", e->exitcode);
    const char *old = getenv("LD_PRELOAD");
    static char preload[PATH_MAX * 2];
    snprintf(preload, sizeof preload, "%s%s%s", e->lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("LEAKCHECK_MODE", "process", 1);
    setenv("LEAKCHECK_ERROR_EXITCODE", code, 1);
    setenv("LEAKCHECK_FORMAT", e->format, 1);
    if (e->budget) setenv("LEAKCHECK_BUDGET", e->budget, 1);
    if (e->supp[0]) {
        const char *had = getenv("LEAKCHECK_SUPPRESSIONS");
        static char all[8 * PATH_MAX + PATH_MAX];
        snprintf(all, sizeof all, "%s%s%s", had && *had ? had : "", had && *had ? ":" : "",
                 e->supp);
        setenv("LEAKCHECK_SUPPRESSIONS", all, 1);
    }
    if (e->strict) setenv("LEAKCHECK_STRICT", "1", 1);
    /* The report goes through the run directory, never the program's fds. */
    unsetenv("LEAKCHECK_OUTPUT");
    /* This process becomes the program: it writes FILE, the processes it
     * forks or starts write FILE.PID. */
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    setenv("LEAKCHECK_RUN_PID", self, 1);
    if (e->pprof) setenv("LEAKCHECK_PPROF", e->pprof, 1);
    if (e->dot) setenv("LEAKCHECK_DOT", e->dot, 1);
}

int lc_cli_run(int argc, char **argv) {
    const char *budget = NULL, *format = "text", *output = NULL, *pprof = NULL, *dot = NULL;
    static char supp[8 * PATH_MAX];
    long exitcode = 23;
    double timeout = 0;
    int strict = 0, i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--strict") == 0) {
            strict = 1;
            continue;
        }
        if (a[0] != '-') break; /* the program, without a "--" */
        bool takes_value = strcmp(a, "--budget") == 0 || strcmp(a, "--format") == 0 ||
                           strcmp(a, "--output") == 0 || strcmp(a, "--error-exitcode") == 0 ||
                           strcmp(a, "--timeout") == 0 || strcmp(a, "--suppressions") == 0 ||
                           strcmp(a, "--pprof") == 0 || strcmp(a, "--dot") == 0;
        if (!takes_value) return fail("unknown option '%s' (see leakcheck run --help)", a);
        if (!v) return fail("%s needs a value", a);
        i++;
        if (strcmp(a, "--budget") == 0)
            budget = v;
        else if (strcmp(a, "--format") == 0)
            format = v;
        else if (strcmp(a, "--output") == 0)
            output = v;
        else if (strcmp(a, "--suppressions") == 0) {
            if (add_suppressions(v, supp, sizeof supp) != 0) return 2;
        } else if (strcmp(a, "--pprof") == 0)
            pprof = v;
        else if (strcmp(a, "--dot") == 0)
            dot = v;
        else if (strcmp(a, "--error-exitcode") == 0) {
            char *end;
            exitcode = strtol(v, &end, 10);
            if (*end || exitcode < 1 || exitcode > 255)
                return fail("--error-exitcode wants a number from 1 to 255, got '%s'", v);
        } else {
            char *end;
            timeout = strtod(v, &end);
            if (*end || timeout <= 0) return fail("--timeout wants a positive number, got '%s'", v);
        }
    }
    if (i >= argc) return fail("%s", "no program given (leakcheck run [OPTIONS] -- PROGRAM)");
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
        return fail("unknown format '%s' (text or json)", format);
    if (budget) {
        lc_budget b = {0, 0, 0};
        char err[256];
        if (lc_budget_parse(budget, &b, err, sizeof err) != 0) return fail("%s", err);
    }
    char lib[PATH_MAX];
    if (lc_tool_find_library(lib, sizeof lib) != 0)
        return fail("%s", "cannot find libleakcheck.so next to the leakcheck executable");
    char pprof_abs[PATH_MAX];
    if (pprof) {
        if (check_profile_path(pprof, pprof_abs, sizeof pprof_abs) != 0) {
            char msg[PATH_MAX + 128];
            snprintf(msg, sizeof msg, "cannot write the heap profile '%s': %s", pprof,
                     strerror(errno));
            return fail("%s", msg);
        }
        pprof = pprof_abs;
    }
    char dot_abs[PATH_MAX];
    if (dot) {
        if (check_profile_path(dot, dot_abs, sizeof dot_abs) != 0) {
            char msg[PATH_MAX + 128];
            snprintf(msg, sizeof msg, "cannot write the retention graph '%s': %s", dot,
                     strerror(errno));
            return fail("%s", msg);
        }
        dot = dot_abs;
    }

    struct child_env env = {lib, exitcode, format, budget, supp, strict, pprof, dot};
    lc_supervision sup = {
        .argv = argv + i,
        .output = output,
        .json = strcmp(format, "json") == 0,
        .error_exitcode = (int)exitcode,
        .timeout = timeout,
        .grace = 2.0,
        .prepare = prepare_child,
        .ctx = &env,
    };
    return lc_supervise(&sup);
}
