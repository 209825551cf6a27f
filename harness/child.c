/* SPDX-License-Identifier: MIT */
/* child.c: run a function in a forked child with a deadline and bring back
 * its result (the contract is in child.h).
 *
 * The result travels in a memory file (memfd) made before the fork: the
 * child writes it at its own pace, whatever its size, and the parent reads
 * it once the child ended. The child seals it with a trailer (a magic and
 * the result's length), so the parent tells a complete result from one cut
 * short by a crash or a kill by looking at the file alone. The child stops
 * itself after sealing, and the parent kills it: the child runs no
 * exit-time code. Nothing here allocates, so the library's own fault sweep
 * uses it inside a checked program without touching its heap. */
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often lc_child_wait looks at a child that has a deadline. */
#define POLL_NS 2000000L

typedef struct seal {
    char magic[8];
    uint64_t len;
} seal;

static const char seal_magic[8] = {'L', 'C', 'C', 'H', 'I', 'L', 'D', '1'};

int lc_child_start(lc_child *c, double timeout_seconds, lc_child_fn fn, void *arg) {
    memset(c, 0, sizeof *c);
    c->fd = memfd_create("leakcheck-child", MFD_CLOEXEC);
    if (c->fd < 0) return -1;
    if (timeout_seconds > 0) c->deadline = lc_os_now_ns() + (uint64_t)(timeout_seconds * 1e9);
    c->pid = fork();
    if (c->pid < 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        errno = e;
        return -1;
    }
    if (c->pid == 0) {
        fn(c->fd, arg);
        lc_child_seal(c->fd, 0);
    }
    return 0;
}

int lc_child_write(int fd, const void *p, size_t len) {
    const char *b = p;
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

_Noreturn void lc_child_seal(int fd, int status) {
    struct stat st;
    seal s;
    memcpy(s.magic, seal_magic, sizeof s.magic);
    if (fstat(fd, &st) != 0) _exit(1);
    s.len = (uint64_t)st.st_size;
    ssize_t w;
    while ((w = pwrite(fd, &s, sizeof s, st.st_size)) < 0 && errno == EINTR)
        continue;
    if (w != (ssize_t)sizeof s) _exit(1);
    raise(SIGSTOP);
    _exit(status);
}

/* Whether the result is sealed; *len is its length (all the file holds
 * when it is not). */
static bool sealed(const lc_child *c, size_t *len) {
    struct stat st;
    *len = 0;
    if (fstat(c->fd, &st) != 0) return false;
    size_t size = (size_t)st.st_size;
    *len = size;
    seal s;
    if (size < sizeof s || lc_child_read(c, &s, sizeof s, size - sizeof s) != sizeof s)
        return false;
    if (memcmp(s.magic, seal_magic, sizeof s.magic) != 0 || s.len != size - sizeof s) return false;
    *len = (size_t)s.len;
    return true;
}

/* What waitpid said about the child; true once it ended. */
static bool saw(lc_child *c, int status) {
    size_t len;
    if (WIFSTOPPED(status)) {
        /* Stopped by itself after sealing: discard it. Stopped by something
         * else (a debugger, job control): let it go on. */
        kill(c->pid, sealed(c, &len) ? SIGKILL : SIGCONT);
        return false;
    }
    c->status = status;
    bool done = sealed(c, &c->len);
    c->end = done                  ? LC_CHILD_DONE
             : c->killed           ? LC_CHILD_TIMED_OUT
             : WIFSIGNALED(status) ? LC_CHILD_SIGNALED
                                   : LC_CHILD_EXITED;
    return true;
}

/* waitpid failed: someone else reaped the child (a SIGCHLD handler that
 * reaps every child, or SIGCHLD ignored). A sealed result still counts. */
static void lost(lc_child *c, int err) {
    c->error = err;
    c->end = sealed(c, &c->len) ? LC_CHILD_DONE : LC_CHILD_LOST;
}

bool lc_child_poll(lc_child *c) {
    if (c->end != LC_CHILD_RUNNING) return true;
    int status;
    pid_t got = waitpid(c->pid, &status, WNOHANG | WUNTRACED);
    if (got == c->pid) return saw(c, status);
    if (got < 0 && errno != EINTR) {
        lost(c, errno);
        return true;
    }
    if (!c->killed && c->deadline && lc_os_now_ns() > c->deadline) {
        kill(c->pid, SIGKILL);
        c->killed = true;
    }
    return false;
}

void lc_child_wait(lc_child *c) {
    while (c->end == LC_CHILD_RUNNING) {
        if (c->deadline && !c->killed) {
            /* waitpid has no timeout: look again every POLL_NS. */
            if (lc_child_poll(c)) return;
            struct timespec ts = {0, POLL_NS};
            nanosleep(&ts, NULL);
            continue;
        }
        int status;
        pid_t got = waitpid(c->pid, &status, WUNTRACED);
        if (got == c->pid) {
            saw(c, status);
        } else if (got < 0 && errno != EINTR) {
            lost(c, errno);
        }
    }
}

size_t lc_child_read(const lc_child *c, void *buf, size_t len, size_t at) {
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(c->fd, (char *)buf + got, len - got, (off_t)(at + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

void lc_child_close(lc_child *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}
