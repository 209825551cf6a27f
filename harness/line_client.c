/* SPDX-License-Identifier: MIT */
/* line_client.c: files and lines asked of the supervisor, one address at a
 * time.
 *
 * Under `leakcheck run` the checked process never loads libdw (symbolize.c).
 * Its reports leave holes the supervisor fills afterwards, but some output
 * needs a file and line inside the process, at once: a suppression that
 * names a source file decides the verdict, a profile or a graph is written
 * by the process, a program prints its own diff (lc_diff_print). For those
 * the supervisor answers on a Unix socket in the run directory
 * (tool/line_server.c), from the same DWARF it fills holes with.
 *
 * A question is "KIND ADDR BIAS BUILD-ID PATH" and a NUL, the answer "LINE
 * FILE" and a NUL (LINE 0 when the supervisor does not know). A question
 * alone has a connection of its own, opened and closed around it; a run of
 * them (a check matching suppressions, a profile, a dump: the caller holds
 * the service) shares one, closed when the hold ends. So the process keeps
 * no descriptor of its own while the program runs, and the one it holds is
 * checked before each use to still be its socket (a program that closes
 * every descriptor, or reuses the number, never meets ours), kept out of
 * the low numbers the program's next open would take, and never used by a
 * forked child. A supervisor that does not answer within a few seconds, or
 * a socket that cannot be reached, leaves the frame without a file, as no
 * debug information would. */
#include "core.h"
#include "os.h"
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ANSWER_TIMEOUT_MS 5000

static struct sockaddr_un service;
static bool service_known;

/* Reset in every forked child: kept with the other state each fork writes
 * (core.h), so that the reset costs the child no page of its own. */
LC_FORK_STATE static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
LC_FORK_STATE static int holds;
LC_FORK_STATE static struct {
    int fd; /* -1: none */
    pid_t pid;
    dev_t dev;
    ino_t ino;
} held = {.fd = -1};

bool lc_line_service_use(const char *socket_path) {
    size_t len = strlen(socket_path);
    if (len >= sizeof service.sun_path) return false;
    memset(&service, 0, sizeof service);
    service.sun_family = AF_UNIX;
    memcpy(service.sun_path, socket_path, len);
    service_known = true;
    return true;
}

bool lc_line_service_known(void) {
    return service_known;
}

static bool send_all(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n, len -= (size_t)n;
    }
    return true;
}

/* Answers arrive in order, several to a read: what follows an answer's
 * NUL is the start of the next. */
typedef struct reader {
    size_t len;
    char buf[8192];
} reader;

/* The next answer (NUL-terminated, in r->buf up to its NUL), waiting at
 * most the timeout in all: a signal storm does not stretch it. The caller
 * calls consume() when done with it. */
static const char *next_answer(int fd, reader *r) {
    uint64_t deadline = lc_os_now_ns() + (uint64_t)ANSWER_TIMEOUT_MS * 1000000u;
    while (!memchr(r->buf, '\0', r->len)) {
        if (r->len + 1 >= sizeof r->buf) return NULL;
        uint64_t now = lc_os_now_ns();
        if (now >= deadline) return NULL;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return NULL;
        ssize_t got = recv(fd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return NULL;
        r->len += (size_t)got;
    }
    return r->buf;
}

static void consume(reader *r) {
    char *end = memchr(r->buf, '\0', r->len);
    size_t used = (size_t)(end - r->buf) + 1;
    memmove(r->buf, end + 1, r->len - used);
    r->len -= used;
}

static int connect_service(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int r;
    while ((r = connect(fd, (const struct sockaddr *)&service, sizeof service)) < 0 &&
           errno == EINTR) {
    }
    if (r == 0) return fd;
    close(fd);
    return -1;
}

/* A held connection moves near the top of the descriptor table, where the
 * program's next open() would not have gone. */
static int out_of_the_way(int fd) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 64) return fd;
    rlim_t top = lim.rlim_cur > 4096 ? 4096 : lim.rlim_cur;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - 32));
    if (high < 0) return fd;
    close(fd);
    return high;
}

static bool still_ours(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == held.dev &&
           st.st_ino == held.ino;
}

/* The held connection is dropped: closed when it is still ours (the
 * forked child's copy is its own too), forgotten when the number now
 * belongs to the program. */
static void drop_held(void) {
    if (held.fd >= 0 && still_ours(held.fd)) close(held.fd);
    held.fd = -1;
}

/* In a forked child: a fork in the middle of a hold or a question leaves
 * neither to the child, which starts with no connection and a free lock. */
LC_CHILD_CODE void lc_line_service_after_fork_child(void) {
    /* An assignment, not pthread_mutex_init: that would fault in a page of
     * libc's code in every forked child. */
    lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    holds = 0;
    if (held.fd >= 0 && still_ours(held.fd)) close(held.fd);
    held.fd = -1;
}

void lc_line_service_hold(void) {
    pthread_mutex_lock(&lock);
    holds++;
    pthread_mutex_unlock(&lock);
}

void lc_line_service_release(void) {
    pthread_mutex_lock(&lock);
    if (holds > 0 && --holds == 0) drop_held();
    pthread_mutex_unlock(&lock);
}

/* The connection for a question: the held one when it is still this
 * process's socket, else a new one (held when a hold is on). */
static int connection(bool *keep) {
    if (held.fd >= 0 && (held.pid != getpid() || !still_ours(held.fd))) drop_held();
    *keep = held.fd >= 0;
    if (*keep) return held.fd;
    int fd = connect_service();
    if (fd < 0 || holds == 0) return fd;
    struct stat st;
    fd = out_of_the_way(fd);
    if (fstat(fd, &st) != 0) return fd;
    held.fd = fd, held.pid = getpid(), held.dev = st.st_dev, held.ino = st.st_ino;
    *keep = true;
    return fd;
}

/* "KIND ADDR BIAS BUILD-ID PATH" and its NUL into buf; its length with the
 * NUL. A question that cannot be put is sent as "?", which the supervisor
 * answers with nothing known, so that answers stay in step. */
static size_t put_question(const lc_line_question *q, char *buf, size_t size) {
    const lc_module *m = q->module;
    int at = m && m->path ? snprintf(buf, size, "%c %lx %lx ", q->kind, (unsigned long)q->addr,
                                     (unsigned long)m->bias)
                          : -1;
    for (int i = 0; at > 0 && i < m->build_id_len && (size_t)at + 3 < size; i++)
        at += snprintf(buf + at, size - (size_t)at, "%02x", m->build_id[i]);
    int n =
        at > 0 ? snprintf(buf + at, size - (size_t)at, "%s %s", m->build_id_len ? "" : "-", m->path)
               : -1;
    if (n < 0 || (size_t)(at + n) >= size) return (size_t)snprintf(buf, size, "?") + 1;
    return (size_t)(at + n) + 1;
}

/* Questions go in groups small enough that neither side's socket buffer
 * fills while the other is not reading. */
#define GROUP 32

/* All of q on one connection; false when it broke (answers before the
 * break were given). *given counts the answers read. */
static bool exchange(int fd, const lc_line_question *q, size_t n, lc_line_answer_fn *answer,
                     void *arg, size_t *given) {
    static char text[GROUP * 4200]; /* under the lock */
    reader r = {0};
    for (size_t first = 0; first < n; first += GROUP) {
        size_t len = 0, count = n - first < GROUP ? n - first : GROUP;
        for (size_t i = 0; i < count; i++)
            len += put_question(&q[first + i], text + len, 4200);
        if (!send_all(fd, text, len)) return false;
        for (size_t i = 0; i < count; i++) {
            const char *a = next_answer(fd, &r);
            if (!a) return false;
            int number = 0, skip = 0;
            if (sscanf(a, "%d %n", &number, &skip) >= 1 && skip && number > 0 && a[skip])
                answer(first + i, a + skip, number, arg);
            consume(&r);
            ++*given;
        }
    }
    return true;
}

int lc_line_service_ask_all(const lc_line_question *q, size_t n, lc_line_answer_fn *answer,
                            void *arg) {
    if (!service_known) return -1;
    if (n == 0) return 0;
    int rc = -1;
    pthread_mutex_lock(&lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool keep;
        int fd = connection(&keep);
        if (fd < 0) break;
        size_t given = 0;
        bool whole = exchange(fd, q, n, answer, arg, &given);
        if (!keep)
            close(fd);
        else if (!whole)
            drop_held();
        if (whole) rc = 0;
        /* A held connection the supervisor found broken: once more, anew. */
        if (whole || !keep || given) break;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
