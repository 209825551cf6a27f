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
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

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
    "  -f, --format=FORMAT      report format: text (the default) or json\n"
    "  -o, --output=FILE        write the report to FILE instead of stderr\n"
    "      --error-exitcode=N   exit status when the budget is exceeded, 1 to 255\n"
    "                           (default 23)\n"
    "  -t, --timeout=SECONDS    dump every thread and kill the program after SECONDS\n"
    "                           (more than 0, at most a year)\n"
    "      --suppressions=FILE  LeakSanitizer-style leak:PATTERN / thread:PATTERN\n"
    "                           lines (may be repeated)\n"
    "      --pprof=FILE         write a pprof heap profile at exit (other processes\n"
    "                           of the program: FILE.PID)\n"
    "      --dot=FILE           write the retention paths as a Graphviz graph (other\n"
    "                           processes: FILE.PID)\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  N        the program's own status, when its leaks are within the budget\n"
    "  23       the budget is exceeded (the value of --error-exitcode)\n"
    "  124      the --timeout expired\n"
    "  127      PROGRAM cannot be run\n"
    "  128+S    the program was killed by signal S\n"
    "  2        a usage error, or the check could not be made\n";

int lc_tool_find_library(char *out, size_t len) {
    char self[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    const char *candidates[] = {"%s/libleakcheck.so", "%s/../lib/libleakcheck.so"};
    for (size_t i = 0; i < 2; i++) {
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

enum { OPT_STRICT = 256, OPT_ERROR_EXITCODE, OPT_SUPPRESSIONS, OPT_PPROF, OPT_DOT };

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
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int lc_cli_run(int argc, char **argv) {
    const char *budget = NULL, *format = "text", *output = NULL, *pprof = NULL, *dot = NULL;
    static char supp[8 * PATH_MAX];
    int64_t exitcode = 23;
    double timeout = 0;
    int strict = 0, c;
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
            if (strcmp(o.optarg, "text") != 0 && strcmp(o.optarg, "json") != 0)
                return lc_opts_fail("run", "--format: '%s' is not text or json", o.optarg);
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
                            "cannot find libleakcheck.so next to the leakcheck executable");
    if (output) {
        FILE *f = fopen(output, "w"); /* truncate once; processes then append */
        if (!f)
            return lc_opts_fail("run", "cannot write the report file '%s': %s", output,
                                strerror(errno));
        fclose(f);
    }
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

    pid_t pid = fork();
    if (pid < 0) return lc_opts_fail("run", "fork failed: %s", strerror(errno));
    if (pid == 0) {
        char code[16], secs[32];
        snprintf(code, sizeof code, "%d", (int)exitcode);
        const char *old = getenv("LD_PRELOAD");
        char preload[PATH_MAX * 2];
        snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", preload, 1);
        setenv("LEAKCHECK_MODE", "process", 1);
        setenv("LEAKCHECK_ERROR_EXITCODE", code, 1);
        setenv("LEAKCHECK_FORMAT", format, 1);
        if (budget) setenv("LEAKCHECK_BUDGET", budget, 1);
        if (supp[0]) {
            const char *had = getenv("LEAKCHECK_SUPPRESSIONS");
            static char all[sizeof supp + PATH_MAX];
            snprintf(all, sizeof all, "%s%s%s", had && *had ? had : "", had && *had ? ":" : "",
                     supp);
            setenv("LEAKCHECK_SUPPRESSIONS", all, 1);
        }
        if (strict) setenv("LEAKCHECK_STRICT", "1", 1);
        if (output) setenv("LEAKCHECK_OUTPUT", output, 1);
        /* This process becomes the program: it writes FILE, the processes
         * it forks or starts write FILE.PID. */
        char self[32];
        snprintf(self, sizeof self, "%d", (int)getpid());
        setenv("LEAKCHECK_RUN_PID", self, 1);
        if (pprof) setenv("LEAKCHECK_PPROF", pprof, 1);
        if (dot) setenv("LEAKCHECK_DOT", dot, 1);
        if (timeout > 0) {
            snprintf(secs, sizeof secs, "%.17g", timeout); /* exact: strtod reads it back */
            setenv("LEAKCHECK_TIMEOUT", secs, 1);
        }
        execvp(argv[i], argv + i);
        fprintf(stderr, "leakcheck run: cannot run '%s': %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return lc_opts_fail("run", "waitpid failed: %s", strerror(errno));
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        fprintf(stderr, "leakcheck run: %s was killed by signal %d (%s)\n", argv[i], sig,
                strsignal(sig));
        return 128 + sig;
    }
    int code = WEXITSTATUS(status);
    if (timeout > 0 && code == 124)
        fprintf(stderr, "leakcheck run: %s timed out after %g s\n", argv[i], timeout);
    return code;
}
