/* SPDX-License-Identifier: MIT */
/* program_group.c: one run of the checked program in a process group of its
 * own, as `leakcheck run` (supervise.c) and `leakcheck fault-sweep`
 * (fault_cmd.c) both start and wait for it.
 *
 * The group is what a deadline or a forwarded signal reaches: every process
 * the program starts, not only the first. The waiting side blocks SIGCHLD
 * and the forwarded signals and takes them with sigtimedwait, so that the
 * wait has a deadline and a signal meant for the tool reaches the program
 * first. At the deadline the program's own watchdog (process_mode.c, told
 * the deadline in LEAKCHECK_DEADLINE_NS) writes each process's thread
 * dump; the group is killed once every dump is there, or after the grace
 * time, and again while stragglers remain. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fault.h"
#include "supervise.h"

const int lc_forwarded_signals[LC_FORWARDED_SIGNALS] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

uint64_t lc_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void lc_group_block_signals(sigset_t *set, sigset_t *old) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (int i = 0; i < LC_FORWARDED_SIGNALS; i++)
        sigaddset(set, lc_forwarded_signals[i]);
    sigprocmask(SIG_BLOCK, set, old);
}

void lc_group_child_setup(const char *run_dir, double timeout, const sigset_t *mask) {
    /* The library re-arms allocation-failure injection in a forked child;
     * this child is still the tool until it execs. */
    lc_fault_inject(0, 0);
    setpgid(0, 0);
    for (int i = 0; i < LC_FORWARDED_SIGNALS; i++)
        signal(lc_forwarded_signals[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    setenv("LEAKCHECK_RUN_DIR", run_dir, 1);
    if (timeout > 0) {
        char at[32];
        snprintf(at, sizeof at, "%llu",
                 (unsigned long long)(lc_now_ns() + (uint64_t)(timeout * 1e9)));
        setenv("LEAKCHECK_DEADLINE_NS", at, 1);
    } else {
        unsetenv("LEAKCHECK_DEADLINE_NS");
    }
}

void lc_group_wait(lc_group_wait_spec *w) {
    uint64_t deadline = w->timeout > 0 ? lc_now_ns() + (uint64_t)(w->timeout * 1e9) : 0;
    uint64_t kill_at = 0;
    for (;;) {
        if (w->done(w->ctx, w->timed_out)) return;
        uint64_t now = lc_now_ns(), until;
        if (deadline && !w->timed_out && now >= deadline) {
            w->timed_out = true;
            kill_at = now + (uint64_t)(w->grace * 1e9);
        }
        if (w->timed_out) {
            if (kill_at && (now >= kill_at || w->dumps_written(w->ctx))) {
                w->signal_all(w->ctx, SIGKILL);
                kill_at = 0;
            }
            until = kill_at ? now + 20000000u : now + 200000000u;
        } else {
            until = deadline ? deadline : now + 1000000000u;
        }
        uint64_t wait_ns = until > now ? until - now : 0;
        struct timespec ts = {(time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u)};
        int sig = sigtimedwait(w->set, NULL, &ts);
        if (sig > 0 && sig != SIGCHLD) {
            w->forwarded = sig;
            w->signal_all(w->ctx, sig);
        }
        if (w->timed_out && !kill_at) w->signal_all(w->ctx, SIGKILL); /* stragglers */
    }
}
