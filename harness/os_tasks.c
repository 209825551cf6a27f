/* SPDX-License-Identifier: MIT */
/* os_tasks.c: the threads of the process as the kernel sees them (the OS
 * layer's part about tasks: /proc/self/task, their states, system calls
 * and signal masks, signalling one, and the names of signals and system
 * calls). Apart from prim_linux.c so that each file keeps to one concern;
 * like it, it never calls malloc. */
#include "core.h"
#include "os.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIGRTMIN_KERNEL 32 /* the kernel's first real-time signal, glibc's SIGTIMER */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static ssize_t read_small_file(const char *path, char *buf, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = '\0';
    return n;
}

bool lc_os_task_exists(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    return access(path, F_OK) == 0;
}

bool lc_os_task_info(pid_t tid, lc_task_info *out) {
    char path[64], buf[1024];
    memset(out, 0, sizeof *out);
    out->syscall = -1;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if (read_small_file(path, buf, sizeof buf) <= 0) return false;
    /* "tid (comm) S ...": comm may hold spaces and parentheses, so the
     * state follows the last ')'. */
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren[1] != ' ') return false;
    size_t clen = (size_t)(close_paren - open_paren - 1);
    if (clen >= sizeof out->comm) clen = sizeof out->comm - 1;
    memcpy(out->comm, open_paren + 1, clen);
    out->state = close_paren[2];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    if (read_small_file(path, buf, sizeof buf) > 0) {
        char *end = buf;
        if (strncmp(buf, "running", 7) == 0)
            out->syscall = -1;
        else
            out->syscall = strtol(buf, &end, 10);
        if (out->syscall >= 0) out->arg0 = (uintptr_t)strtoull(end, NULL, 16);
    }
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    if (read_small_file(path, buf, sizeof buf) > 0) {
        char *blk = strstr(buf, "SigBlk:");
        if (blk) out->sig_blocked = strtoull(blk + 7, NULL, 16);
    }
    return true;
}

bool lc_os_task_is_runtime_helper(pid_t tid) {
    /* glibc's SIGEV_THREAD helper blocks every signal and waits in
     * sigwaitinfo for SIGTIMER, the first real-time signal, which glibc
     * reserves (its sigwaitinfo drops it from any set a program passes):
     * a thread waiting for exactly that signal is the runtime's. */
    lc_task_info info;
    if (!lc_os_task_info(tid, &info) || info.syscall != SYS_rt_sigtimedwait || !info.arg0)
        return false;
    uint64_t set;
    if (lc_os_read_self(&set, info.arg0, sizeof set) != sizeof set) return false;
    return set == 1ull << (SIGRTMIN_KERNEL - 1);
}

size_t lc_os_list_tasks(pid_t *out, size_t cap) {
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t n = 0;
    char buf[1024]; /* a few threads fit; more take more reads */
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got <= 0) break;
        for (long off = 0; off < got;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
            if (n < cap) out[n] = (pid_t)atoi(d->d_name);
            n++;
        }
    }
    close(fd);
    return n;
}

static void use_few(lc_task_list *l) {
    if (l->cap) return;
    l->tid = l->few;
    l->cap = sizeof l->few / sizeof l->few[0];
}

LC_CHILD_CODE void lc_os_task_list_self(lc_task_list *l) {
    use_few(l);
    l->tid[0] = lc_os_tid();
    l->n = 1;
}

bool lc_os_list_all_tasks(lc_task_list *l) {
    use_few(l);
    for (;;) {
        size_t n = l->cap ? lc_os_list_tasks(l->tid, l->cap) : 0;
        if (l->cap && n <= l->cap) {
            l->n = n;
            return true;
        }
        /* Threads start while /proc is read: leave room for more. */
        size_t want = n > l->cap ? n * 2 : l->cap * 2;
        if (want < 1024) want = 1024;
        pid_t *grown = lc_os_alloc(want * sizeof *grown);
        if (!grown) {
            l->n = 0;
            return false;
        }
        lc_os_task_list_free(l);
        l->tid = grown;
        l->cap = want;
    }
}

void lc_os_task_list_free(lc_task_list *l) {
    if (l->tid && l->tid != l->few) lc_os_free(l->tid, l->cap * sizeof *l->tid);
    l->tid = NULL;
    l->cap = l->n = 0;
}

int lc_os_signal_task(pid_t tid, int sig) {
    return (int)syscall(SYS_tgkill, getpid(), tid, sig);
}

int lc_os_signal_from_name(const char *name) {
    if (!name || !*name) return 0;
    int sig = 0;
    if (name[0] >= '0' && name[0] <= '9') {
        char *end;
        long n = strtol(name, &end, 10);
        if (*end || n <= 0 || n >= NSIG) return 0;
        sig = (int)n;
    } else {
        const char *bare = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
        for (int i = 1; i < NSIG && !sig; i++) {
            const char *abbrev = sigabbrev_np(i);
            if (abbrev && strcasecmp(abbrev, bare) == 0) sig = i;
        }
    }
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
        return 0;
    default:
        return sig;
    }
}

const char *lc_os_syscall_name(long nr) {
    static const struct {
        long nr;
        const char *name;
    } names[] = {
        {SYS_futex, "futex"},
        {SYS_read, "read"},
        {SYS_write, "write"},
        {SYS_ppoll, "poll"},
        {SYS_pselect6, "select"},
        {SYS_epoll_pwait, "epoll_wait"},
        {SYS_nanosleep, "nanosleep"},
        {SYS_clock_nanosleep, "nanosleep"},
        {SYS_accept, "accept"},
        {SYS_accept4, "accept"},
        {SYS_connect, "connect"},
        {SYS_recvfrom, "recvfrom"},
        {SYS_recvmsg, "recvmsg"},
        {SYS_sendto, "sendto"},
        {SYS_sendmsg, "sendmsg"},
        {SYS_wait4, "wait4"},
        {SYS_waitid, "waitid"},
        {SYS_rt_sigtimedwait, "sigwait"},
        {SYS_rt_sigsuspend, "sigsuspend"},
        {SYS_readv, "read"},
        {SYS_writev, "write"},
        {SYS_msgrcv, "msgrcv"},
        {SYS_semtimedop, "semop"},
        {SYS_flock, "flock"},
        {SYS_fcntl, "fcntl"},
#ifdef SYS_poll
        {SYS_poll, "poll"},
#endif
#ifdef SYS_select
        {SYS_select, "select"},
#endif
#ifdef SYS_epoll_wait
        {SYS_epoll_wait, "epoll_wait"},
#endif
#ifdef SYS_pause
        {SYS_pause, "pause"},
#endif
#ifdef SYS_epoll_pwait2
        {SYS_epoll_pwait2, "epoll_wait"},
#endif
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].nr == nr) return names[i].name;
    return NULL;
}
