/* SPDX-License-Identifier: MIT */
/* live_dump.c: a running process asked for its heap and threads.
 *
 * Go answers SIGQUIT with a dump of every goroutine and serves its profiles
 * at /debug/pprof; a C service has neither. With LEAKCHECK_DUMP_SIGNAL set
 * (off by default), the signal makes the process write, into
 * LEAKCHECK_DUMP_DIR (default $TMPDIR, else /tmp):
 *   leakcheck-PID-N.heap.pb.gz      its heap as a pprof heap profile
 *   leakcheck-PID-N.threads.pb.gz   its threads as a pprof thread profile
 *   leakcheck-PID-N.threads.txt     the thread dump, as on a timeout
 * N counting the dumps of the process from 1. Each file is written under a
 * temporary name and renamed, the text dump last, so a reader that sees the
 * text dump sees all three whole (`leakcheck dump PID` waits for it).
 *
 * Nothing of this may run in a signal handler (it allocates, takes the
 * tracker's locks and captures stacks with a signal of its own), so the
 * handler only posts a semaphore, which is async-signal-safe, and a thread
 * of the library's does the work. That thread is started at start-up only
 * when the variable is set, is the library's own (never in a check, a dump
 * or a profile), and blocks every signal, so that no signal meant for the
 * program is ever delivered to it. A handler is installed only over the
 * default or ignored disposition: a program that installs its own handler
 * for the signal later replaces this one, and the dump is off. A child
 * made by fork without exec has no dump thread (fork copies only the
 * calling thread); a program it executes starts its own. */
#include "core.h"
#include "os.h"
#include "run.h"
#include "snapshot.h"
#include "symbols.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <leakcheck.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The name of the dump thread, by which `leakcheck dump` finds it. */
#define DUMP_THREAD_NAME "leakcheck-dump"

static sem_t requested;
static int dump_signal;
static char dump_dir[3072];
static unsigned dumps_written;

static void on_dump_signal(int sig) {
    (void)sig;
    int saved = errno;
    sem_post(&requested);
    errno = saved;
}

/* Write by `fn` to a temporary name, then rename it to `path`. */
static int write_renamed(const char *path, int (*fn)(const char *path, void *arg), void *arg) {
    char tmp[sizeof dump_dir + 96];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) return -1;
    if (fn(tmp, arg) != 0) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

static int write_heap(const char *path, void *arg) {
    (void)arg;
    lc_snapshot *s = lc_snapshot_take_heap();
    if (!s) return -1;
    int rc = lc_snapshot_write_pprof(s, path);
    lc_snapshot_free(s);
    return rc;
}

static int write_thread_profile(const char *path, void *arg) {
    (void)arg;
    return lc_threads_write_pprof(path);
}

static int write_thread_text(const char *path, void *arg) {
    (void)arg;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    fprintf(f, "leakcheck: pid %d, dump %u; every thread:\n", (int)getpid(), dumps_written + 1);
    lc_dump_threads(f);
    return fclose(f) == 0 ? 0 : -1;
}

static void dump_once(void) {
    static const struct {
        const char *suffix;
        int (*fn)(const char *, void *);
    } parts[] = {{"heap.pb.gz", write_heap},
                 {"threads.pb.gz", write_thread_profile},
                 {"threads.txt", write_thread_text}};
    unsigned n = dumps_written + 1;
    lc_line_service_hold(); /* the parts' files and lines, on one connection */
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char path[sizeof dump_dir + 64];
        snprintf(path, sizeof path, "%s/leakcheck-%d-%u.%s", dump_dir, (int)getpid(), n,
                 parts[i].suffix);
        /* A part that cannot be written is left out; the text dump, the
         * last, is written even so, and the waiting tool reads what is
         * missing from the directory. */
        write_renamed(path, parts[i].fn, NULL);
    }
    lc_line_service_release();
    dumps_written = n;
}

static void *dump_thread(void *arg) {
    (void)arg;
    lc_thread_rec *self = lc_thread_self_rec();
    if (self) self->internal = 1; /* the library's: in no check, dump or profile */
    /* Born with every signal blocked; only the dump signal is let in, so
     * that a signal sent to this thread alone (as `leakcheck dump` does)
     * wakes it without interrupting any thread of the program. */
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, dump_signal);
    pthread_sigmask(SIG_UNBLOCK, &only, NULL);
    for (;;) {
        while (sem_wait(&requested) != 0) {
        }
        dump_once();
    }
    return NULL;
}

/* Start the thread with every signal blocked from its first instruction:
 * the mask is inherited from the creating thread, whose own is restored. */
static int start_dump_thread(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int rc = pthread_create(&t, NULL, dump_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        pthread_setname_np(t, DUMP_THREAD_NAME);
        pthread_detach(t);
    }
    return rc;
}

static void live_dump_off(const char *why) {
    fprintf(stderr, "leakcheck: LEAKCHECK_DUMP_SIGNAL: %s; live dumps are off\n", why);
}

/* Defined by the leakcheck tool, which links the library but is not a
 * program to dump: with LEAKCHECK_DUMP_SIGNAL exported, `leakcheck run`
 * passes it to the program and keeps no dump thread of its own. */
extern const int lc_tool_process __attribute__((weak));

void lc_live_dump_init(void) {
    const char *name = getenv("LEAKCHECK_DUMP_SIGNAL");
    if (!name || !*name || &lc_tool_process) return;
    char why[160];
    int sig = lc_os_signal_from_name(name);
    if (!sig) {
        snprintf(why, sizeof why, "'%.40s' is not a signal a handler can be installed for", name);
        live_dump_off(why);
        return;
    }
    const char *dir = getenv("LEAKCHECK_DUMP_DIR");
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int n = snprintf(dump_dir, sizeof dump_dir, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof dump_dir) {
        live_dump_off("the dump directory's name is too long");
        return;
    }
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0 || (cur.sa_flags & SA_SIGINFO) ||
        (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN)) {
        snprintf(why, sizeof why, "the program handles SIG%s itself", sigabbrev_np(sig));
        live_dump_off(why);
        return;
    }
    dump_signal = sig;
    if (sem_init(&requested, 0, 0) != 0 || start_dump_thread() != 0) {
        live_dump_off("the dump thread could not be started");
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_dump_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}
