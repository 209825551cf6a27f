/* SPDX-License-Identifier: MIT */
/* dump_cmd.c: `leakcheck dump PID`, a running process asked for its heap
 * profile, thread profile and thread dump.
 *
 * The process does the work (assertions/live_dump.c): started with the
 * library and LEAKCHECK_DUMP_SIGNAL, it keeps a thread named
 * "leakcheck-dump" that writes the three files into its dump directory
 * when the signal reaches it. This command finds that thread and the
 * directory from /proc (the process's environment says the signal and the
 * directory), sends the signal to the thread alone, so that no thread of
 * the program is interrupted, waits for the text dump, which the process
 * writes last, and prints the paths of the files written. Sending a signal
 * the process does not handle would end it, so nothing is sent unless the
 * dump thread is there. */
#include "opts.h"
#include "os.h"
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: leakcheck dump [OPTIONS] PID\n"
    "Ask the running process PID for its heap profile, its thread profile and a\n"
    "dump of its threads. The process must have been started with the library\n"
    "(preloaded, as `leakcheck run` does, or linked) and LEAKCHECK_DUMP_SIGNAL set,\n"
    "for example LEAKCHECK_DUMP_SIGNAL=USR2. It writes, into LEAKCHECK_DUMP_DIR\n"
    "(default $TMPDIR, else /tmp), leakcheck-PID-N.heap.pb.gz,\n"
    "leakcheck-PID-N.threads.pb.gz and leakcheck-PID-N.threads.txt, N counting its\n"
    "dumps from 1; this command prints their paths, one per line. Two heap\n"
    "profiles of the same process compare with `leakcheck diff`.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout=SECONDS    wait this long for the dump (default 30)\n"
    "  -h, --help               print this help\n"
    "\n"
    "Exit status:\n"
    "  0        the dump was written; its files are printed\n"
    "  1        no dump: no such process, not started with the library and\n"
    "           LEAKCHECK_DUMP_SIGNAL, not ours to read, or no dump within the\n"
    "           timeout\n"
    "  2        a usage error\n";

#define DUMP_EXIT_NONE 1
#define DUMP_THREAD_NAME "leakcheck-dump"

static const struct option long_options[] = {
    {"timeout", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct dump_target {
    pid_t pid;
    pid_t thread; /* the dump thread */
    int signal;   /* LEAKCHECK_DUMP_SIGNAL */
    char signal_name[64];
    char dir[3072]; /* LEAKCHECK_DUMP_DIR, else TMPDIR, else /tmp */
} dump_target;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("leakcheck dump: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return DUMP_EXIT_NONE;
}

/* The environment the process started with, from /proc/PID/environ:
 * NUL-separated NAME=VALUE entries. */
static int read_environment(dump_target *t) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)t->pid);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) return fail("no process %d", (int)t->pid);
        return fail("cannot read the environment of process %d: %s", (int)t->pid, strerror(errno));
    }
    char entry[4096];
    const char *tmpdir = NULL;
    char tmpdir_buf[sizeof t->dir];
    int c, len = 0, have_dir = 0;
    t->signal_name[0] = 0;
    do {
        c = fgetc(f);
        if (c != 0 && c != EOF) {
            if (len < (int)sizeof entry - 1) entry[len++] = (char)c;
            continue;
        }
        entry[len] = 0;
        len = 0;
        if (strncmp(entry, "LEAKCHECK_DUMP_SIGNAL=", 22) == 0)
            snprintf(t->signal_name, sizeof t->signal_name, "%.63s", entry + 22);
        else if (strncmp(entry, "LEAKCHECK_DUMP_DIR=", 19) == 0 && entry[19])
            have_dir = snprintf(t->dir, sizeof t->dir, "%s", entry + 19) > 0;
        else if (strncmp(entry, "TMPDIR=", 7) == 0 && entry[7])
            tmpdir = strcpy(tmpdir_buf, entry + 7);
    } while (c != EOF);
    fclose(f);
    if (!t->signal_name[0])
        return fail("process %d was not started with LEAKCHECK_DUMP_SIGNAL set (for example "
                    "LEAKCHECK_DUMP_SIGNAL=USR2, with the library loaded)",
                    (int)t->pid);
    t->signal = lc_os_signal_from_name(t->signal_name);
    if (!t->signal)
        return fail("process %d has LEAKCHECK_DUMP_SIGNAL='%s', which is not a signal it can "
                    "dump on",
                    (int)t->pid, t->signal_name);
    if (!have_dir) snprintf(t->dir, sizeof t->dir, "%s", tmpdir ? tmpdir : "/tmp");
    return 0;
}

/* The process's dump thread, by its name. */
static int find_dump_thread(dump_target *t) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
    DIR *d = opendir(path);
    if (!d) return fail("cannot list the threads of process %d: %s", (int)t->pid, strerror(errno));
    struct dirent *de;
    t->thread = 0;
    while (!t->thread && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        char comm_path[96], comm[32] = "";
        long tid = atol(de->d_name);
        snprintf(comm_path, sizeof comm_path, "/proc/%d/task/%ld/comm", (int)t->pid, tid);
        FILE *f = fopen(comm_path, "re");
        if (!f) continue;
        if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
        fclose(f);
        if (strcmp(comm, DUMP_THREAD_NAME) == 0) t->thread = (pid_t)tid;
    }
    closedir(d);
    if (!t->thread)
        return fail("process %d has no dump thread: the library is not loaded in it, or the "
                    "program handles SIG%s itself (its stderr says why)",
                    (int)t->pid, sigabbrev_np(t->signal));
    return 0;
}

/* The highest N of the process's dumps in its directory, 0 when none. */
static unsigned last_dump(const dump_target *t) {
    DIR *d = opendir(t->dir);
    if (!d) return 0;
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "leakcheck-%d-", (int)t->pid);
    unsigned last = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, (size_t)plen) != 0) continue;
        char *end;
        unsigned long n = strtoul(de->d_name + plen, &end, 10);
        if (strcmp(end, ".threads.txt") == 0 && n > last) last = (unsigned)n;
    }
    closedir(d);
    return last;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void dump_path(const dump_target *t, unsigned n, const char *suffix, char *out, size_t len) {
    snprintf(out, len, "%s/leakcheck-%d-%u.%s", t->dir, (int)t->pid, n, suffix);
}

static int request_and_wait(const dump_target *t, double timeout) {
    unsigned n = last_dump(t) + 1;
    char text[sizeof t->dir + 96];
    dump_path(t, n, "threads.txt", text, sizeof text);
    if (syscall(SYS_tgkill, t->pid, t->thread, t->signal) != 0)
        return fail("cannot signal process %d: %s", (int)t->pid, strerror(errno));
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (exists(text)) break;
        if (kill(t->pid, 0) != 0 && errno == ESRCH)
            return fail("process %d ended before its dump was written", (int)t->pid);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (waited >= timeout)
            return fail("process %d wrote no dump into %s within %g s", (int)t->pid, t->dir,
                        timeout);
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    static const char *const suffixes[] = {"heap.pb.gz", "threads.pb.gz", "threads.txt"};
    int missing = 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[sizeof text];
        dump_path(t, n, suffixes[i], path, sizeof path);
        if (exists(path))
            printf("%s\n", path);
        else
            missing++;
    }
    if (fflush(stdout) != 0) return fail("cannot write the output: %s", strerror(errno));
    if (missing)
        return fail("process %d could not write %d of its dump's files", (int)t->pid, missing);
    return 0;
}

int lc_cli_dump(int argc, char **argv) {
    double timeout = 30;
    const char *pid_arg = NULL;
    int c;
    lc_opts o = {.command = "dump",
                 .help_command = "dump",
                 .shortopts = "t:h",
                 .longopts = long_options,
                 .order = LC_OPTS_PERMUTE,
                 .argc = argc,
                 .argv = argv};
    while ((c = lc_opts_next(&o)) != LC_OPTS_END) {
        switch (c) {
        case LC_OPTS_OPERAND:
            if (pid_arg) return lc_opts_usage_error(&o, "unexpected argument '%s'", o.optarg);
            pid_arg = o.optarg;
            break;
        case 't':
            if (lc_opts_seconds(&o, 0, &timeout) != 0) return LC_EXIT_USAGE;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return LC_EXIT_USAGE;
        }
    }
    for (int i = o.optind; i < argc; i++) {
        if (pid_arg) return lc_opts_usage_error(&o, "unexpected argument '%s'", argv[i]);
        pid_arg = argv[i];
    }
    if (!pid_arg) return lc_opts_usage_error(&o, "missing the PID of the process to dump");
    char *end;
    errno = 0;
    long pid = strtol(pid_arg, &end, 10);
    if (errno || *end || end == pid_arg || pid <= 0 || pid > 0x7fffffff)
        return lc_opts_usage_error(&o, "'%s' is not a process id", pid_arg);

    dump_target t;
    memset(&t, 0, sizeof t);
    t.pid = (pid_t)pid;
    if (read_environment(&t) || find_dump_thread(&t)) return DUMP_EXIT_NONE;
    return request_and_wait(&t, timeout);
}
