/* SPDX-License-Identifier: MIT */
/* run_cmd.c: `leakcheck run [OPTIONS] -- PROGRAM [ARGS...]`.
 *
 * Validates the options before anything runs (a malformed budget or an
 * unreadable file is an error now, not a surprise at exit), finds the
 * library to preload, and hands the program to the supervisor
 * (supervise.c), which owns the report, the deadline, the signals and the
 * exit status. The settings reach each process of the program through its
 * environment, set in the child just before exec. */
#include "tool.h"
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget.h"
#include "suppress.h"
#include "supervise.h"

static const char usage_text[] =
    "Usage: leakcheck run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "Run PROGRAM with libleakcheck.so preloaded and check it, and every process it\n"
    "starts, for leaked threads and heap memory when it exits. Options end at \"--\"\n"
    "or at PROGRAM: the program's own arguments are never read.\n"
    "\n"
    "Options:\n"
    "  -b, --budget=SPEC        leak budget, e.g. bytes=1M,objects=10,threads=0\n"
    "                           (default 0: any leak fails)\n"
    "      --strict             count reachable blocks too\n"
    "  -f, --format=FORMAT      report format: text (the default), json, or junit\n"
    "                           (JUnit XML for CI dashboards: one test case per\n"
    "                           process, a leak as its failure, a process that\n"
    "                           could not be checked as its error)\n"
    "  -o, --output=FILE        write the report to FILE instead of stderr\n"
    "      --error-exitcode=N   exit status when the budget is exceeded, 1 to 255\n"
    "                           (default 23)\n"
    "  -t, --timeout=SECONDS    dump every thread and kill the program after SECONDS\n"
    "                           (more than 0, at most a year)\n"
    "      --check-on-failure=WHAT\n"
    "                           what to do with a process that fails on its own\n"
    "                           (a non-zero exit status): report (the default:\n"
    "                           check it and report its leaks, keeping its status)\n"
    "                           or skip (do not check it; the report says so)\n"
    "      --suppressions=FILE  LeakSanitizer-style leak:PATTERN / thread:PATTERN\n"
    "                           lines (may be repeated)\n"
    "      --pprof=FILE         write a pprof heap profile at exit (other processes\n"
    "                           of the program: FILE.PID)\n"
    "      --dot=FILE           write the retention paths as a Graphviz graph (other\n"
    "                           processes: FILE.PID)\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  N        the program's own status: when its leaks are within the budget, and\n"
    "           whenever the program fails on its own (its leaks are still reported,\n"
    "           unless --check-on-failure=skip)\n"
    "  23       the budget is exceeded by the started process, which itself exited 0\n"
    "           (the value of --error-exitcode; other processes are reported only)\n"
    "  70       the program could not be checked: the library was not loaded into it\n"
    "           (static, setuid, LD_PRELOAD refused), it was killed before its\n"
    "           check, it ended with _exit where no check could run (in a signal\n"
    "           handler), its malloc is its own (an allocator linked into it), or\n"
    "           its check failed\n"
    "  74       the report could not be written\n"
    "  124      the --timeout expired (every thread dumped, the program killed)\n"
    "  127      PROGRAM cannot be run\n"
    "  128+S    the program was killed by signal S\n"
    "  2        a usage error\n";

/* Finds the library to preload, in order: next to this executable
 * (build/), in ../lib (installed under PREFIX), then where the dynamic
 * linker would find it: LD_LIBRARY_PATH, and the ld.so cache, which holds
 * the full path of every library ldconfig knows (an installed LIBDIR such
 * as /usr/lib/x86_64-linux-gnu). The SONAME comes before the unversioned
 * name: an installed runtime has only the former. */
static int find_in_path_list(const char *list, char *out, size_t len) {
    while (list && *list) {
        size_t n = strcspn(list, ":");
        if (n && snprintf(out, len, "%.*s/libleakcheck.so.0", (int)n, list) < (int)len &&
            access(out, R_OK) == 0)
            return 0;
        list += n + (list[n] == ':');
    }
    return -1;
}

static int find_in_ld_cache(char *out, size_t len) {
    int fd = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    char *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return -1;
    static const char name[] = "/libleakcheck.so.0"; /* with its NUL */
    int rc = -1;
    for (char *p = map;
         rc != 0 && (p = memmem(p, (size_t)(map + st.st_size - p), name, sizeof name)) != NULL;
         p += sizeof name) {
        char *start = p;
        while (start > map && start[-1] != '\0')
            start--;
        if (*start == '/' && snprintf(out, len, "%s", start) < (int)len && access(out, R_OK) == 0)
            rc = 0;
    }
    munmap(map, (size_t)st.st_size);
    return rc;
}

int lc_tool_find_library(char *out, size_t len) {
    char self[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
        const char *candidates[] = {"%s/libleakcheck.so.0", "%s/../lib/libleakcheck.so.0",
                                    "%s/libleakcheck.so", "%s/../lib/libleakcheck.so"};
        for (size_t i = 0; slash && i < sizeof candidates / sizeof *candidates; i++) {
            snprintf(out, len, candidates[i], self);
            if (access(out, R_OK) == 0) return 0;
        }
    }
    if (find_in_path_list(getenv("LD_LIBRARY_PATH"), out, len) == 0) return 0;
    return find_in_ld_cache(out, len);
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
    if (lc_suppress_load_file(path, err, sizeof err) != 0) return lc_opts_fail("run", "%s", err);
    if (!realpath(path, abs))
        return lc_opts_fail("run", "cannot resolve the suppression file '%s': %s", path,
                            strerror(errno));
    if (strchr(abs, ':'))
        return lc_opts_fail(
            "run",
            "a suppression file's path cannot contain ':' (LEAKCHECK_SUPPRESSIONS is a "
            "':'-separated list): '%s'",
            abs);
    size_t used = strlen(list);
    int n = snprintf(list + used, len - used, "%s%s", used ? ":" : "", abs);
    if (n < 0 || (size_t)n >= len - used)
        return lc_opts_fail("run", "%s", "too many suppression files");
    return 0;
}

enum {
    OPT_STRICT = 256,
    OPT_ERROR_EXITCODE,
    OPT_SUPPRESSIONS,
    OPT_PPROF,
    OPT_DOT,
    OPT_CHECK_ON_FAILURE
};

static const struct option long_options[] = {
    {"budget", required_argument, NULL, 'b'},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE},
    {"timeout", required_argument, NULL, 't'},
    {"suppressions", required_argument, NULL, OPT_SUPPRESSIONS},
    {"pprof", required_argument, NULL, OPT_PPROF},
    {"dot", required_argument, NULL, OPT_DOT},
    {"check-on-failure", required_argument, NULL, OPT_CHECK_ON_FAILURE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the program's environment gets, set in the child before exec. */
struct child_env {
    const char *lib;
    long exitcode;
    const char *format, *budget, *supp;
    int strict;
    const char *pprof, *dot;
    int skip_failed;
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
    if (e->skip_failed)
        setenv("LEAKCHECK_CHECK_ON_FAILURE", "skip", 1);
    else
        unsetenv("LEAKCHECK_CHECK_ON_FAILURE");
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
    int64_t exitcode = 23;
    double timeout = 0;
    int strict = 0, skip_failed = 0, c;
    lc_opts o = {.command = "run",
                 .help_command = "run",
                 .shortopts = "b:f:o:t:h",
                 .longopts = long_options,
                 .order = LC_OPTS_IN_ORDER,
                 .argc = argc,
                 .argv = argv};
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (c) {
        case 'b':
            budget = o.optarg;
            break;
        case OPT_STRICT:
            strict = 1;
            break;
        case 'f':
            if (strcmp(o.optarg, "text") != 0 && strcmp(o.optarg, "json") != 0 &&
                strcmp(o.optarg, "junit") != 0)
                return lc_opts_fail("run", "--format: '%s' is not text, json or junit", o.optarg);
            format = o.optarg;
            break;
        case 'o':
            output = o.optarg;
            break;
        case OPT_ERROR_EXITCODE:
            if (lc_opts_integer(&o, 1, 255, 0, &exitcode) != 0) return LC_EXIT_USAGE;
            break;
        case 't':
            if (lc_opts_seconds(&o, 0, &timeout) != 0) return LC_EXIT_USAGE;
            break;
        case OPT_SUPPRESSIONS:
            if (add_suppressions(o.optarg, supp, sizeof supp) != 0) return LC_EXIT_USAGE;
            break;
        case OPT_PPROF:
            pprof = o.optarg;
            break;
        case OPT_DOT:
            dot = o.optarg;
            break;
        case OPT_CHECK_ON_FAILURE:
            if (strcmp(o.optarg, "report") != 0 && strcmp(o.optarg, "skip") != 0)
                return lc_opts_fail("run", "--check-on-failure: '%s' is not report or skip",
                                    o.optarg);
            skip_failed = strcmp(o.optarg, "skip") == 0;
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
        return lc_opts_usage_error(&o, "no program given (leakcheck run [OPTIONS] -- PROGRAM)");
    if (budget) {
        lc_budget b = {0, 0, 0};
        char err[256];
        if (lc_budget_parse(budget, &b, err, sizeof err) != 0)
            return lc_opts_fail("run", "%s", err);
    }
    char lib[PATH_MAX];
    if (lc_tool_find_library(lib, sizeof lib) != 0)
        return lc_opts_fail("run", "%s",
                            "cannot find libleakcheck.so.0 (looked next to the leakcheck "
                            "executable, in ../lib, LD_LIBRARY_PATH and the ld.so cache)");
    char pprof_abs[PATH_MAX];
    if (pprof) {
        if (check_profile_path(pprof, pprof_abs, sizeof pprof_abs) != 0)
            return lc_opts_fail("run", "cannot write the heap profile '%s': %s", pprof,
                                strerror(errno));
        pprof = pprof_abs;
    }
    char dot_abs[PATH_MAX];
    if (dot) {
        if (check_profile_path(dot, dot_abs, sizeof dot_abs) != 0)
            return lc_opts_fail("run", "cannot write the retention graph '%s': %s", dot,
                                strerror(errno));
        dot = dot_abs;
    }

    /* JUnit is written by this process from the processes' text reports. */
    lc_run_format fmt = strcmp(format, "json") == 0    ? LC_RUN_JSON
                        : strcmp(format, "junit") == 0 ? LC_RUN_JUNIT
                                                       : LC_RUN_TEXT;
    struct child_env env = {
        lib, (long)exitcode, fmt == LC_RUN_JUNIT ? "text" : format, budget, supp, strict, pprof,
        dot, skip_failed};
    lc_supervision sup = {
        .argv = argv + i,
        .output = output,
        .format = fmt,
        .error_exitcode = (int)exitcode,
        .timeout = timeout,
        .grace = 2.0,
        .prepare = prepare_child,
        .ctx = &env,
    };
    return lc_supervise(&sup);
}
