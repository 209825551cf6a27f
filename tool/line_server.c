/* SPDX-License-Identifier: MIT */
/* line_server.c: the supervisor's answers to files and lines a checked
 * process needs at once.
 *
 * A checked process names its frames without libdw and leaves their files
 * and lines as holes the supervisor fills in its report (holes.c). What the
 * process must know itself (a suppression that names a source file decides
 * its verdict; a profile, a graph or the program's own lc_diff_print is
 * written by the process) it asks here, on a Unix socket in the run
 * directory, one question a connection (harness/line_client.c). The answers
 * come from the same DWARF reading as the holes, in a thread of the
 * supervisor, so that no library is loaded into the program to find them.
 *
 * One thread answers every connection as its questions arrive (poll), so a
 * process that holds its connection open, or stops, never keeps the others
 * waiting; it blocks every signal (the supervisor takes them with
 * sigwait). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "supervise.h"

#define MAX_CONNECTIONS 256

typedef struct connection {
    int fd;
    size_t len;
    char question[8192];
} connection;

static bool reply(int fd, const char *question) {
    int line = 0;
    const char *file = lc_holes_answer(question, &line);
    char text[8192];
    int n = snprintf(text, sizeof text, "%d %s", file ? line : 0, file ? file : "");
    if (n < 0 || (size_t)n >= sizeof text) n = snprintf(text, sizeof text, "0 ");
    const char *p = text;
    size_t left = (size_t)n + 1;
    while (left) {
        ssize_t w = send(fd, p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w, left -= (size_t)w;
    }
    return true;
}

/* Reads what the connection has and answers every whole question in it;
 * false when it is to be closed (ended, broken, or a question too long). */
static bool serve_connection(connection *c) {
    ssize_t n;
    while ((n = recv(c->fd, c->question + c->len, sizeof c->question - 1 - c->len, 0)) < 0 &&
           errno == EINTR) {
    }
    if (n <= 0) return false;
    c->len += (size_t)n;
    char *end;
    while ((end = memchr(c->question, '\0', c->len))) {
        if (!reply(c->fd, c->question)) return false;
        size_t used = (size_t)(end - c->question) + 1;
        memmove(c->question, end + 1, c->len - used);
        c->len -= used;
    }
    return c->len + 1 < sizeof c->question;
}

static void *serve(void *arg) {
    lc_line_server *s = arg;
    static connection conns[MAX_CONNECTIONS];
    size_t n = 0;
    struct pollfd p[MAX_CONNECTIONS + 2];
    for (;;) {
        p[0] = (struct pollfd){.fd = s->stop_fd[0], .events = POLLIN};
        /* At the limit, new askers wait in the backlog. */
        p[1] = (struct pollfd){.fd = n < MAX_CONNECTIONS ? s->listen_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            p[i + 2] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(p, n + 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[0].revents) break;
        for (size_t i = n; i-- > 0;) {
            if (!p[i + 2].revents || serve_connection(&conns[i])) continue;
            close(conns[i].fd);
            conns[i] = conns[--n]; /* the moved one was already served this round */
        }
        if (p[1].revents) {
            int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) conns[n].fd = fd, conns[n++].len = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        close(conns[i].fd);
    lc_holes_answers_end();
    return NULL;
}

bool lc_line_server_start(lc_line_server *s, const char *dir) {
    memset(s, 0, sizeof *s);
    s->listen_fd = s->stop_fd[0] = s->stop_fd[1] = -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/lines", dir);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path) return false;
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, 64) != 0 || pipe2(s->stop_fd, O_CLOEXEC) != 0)
        goto fail;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, serve, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) goto fail;
    s->running = true;
    return true;
fail:
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->stop_fd[0] >= 0) close(s->stop_fd[0]), close(s->stop_fd[1]);
    unlink(addr.sun_path);
    s->listen_fd = s->stop_fd[0] = s->stop_fd[1] = -1;
    return false;
}

void lc_line_server_stop(lc_line_server *s) {
    if (!s->running) return;
    char byte = 0;
    while (write(s->stop_fd[1], &byte, 1) < 0 && errno == EINTR) {
    }
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_fd[0]);
    close(s->stop_fd[1]);
    s->running = false;
}
