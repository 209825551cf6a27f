/* SPDX-License-Identifier: MIT */
/* waitgroup.c: Go's sync.WaitGroup.
 *
 * A counter under a mutex and a condition variable broadcast when the
 * counter reaches zero. Waits are declared to the leak harness as
 * "waitgroup wait", so that a thread stuck behind a worker that never calls
 * done is reported for what it is. */
#include "leakcheck_toolkit.h"

#include "leakcheck.h"

#include <errno.h>

int lc_waitgroup_init(lc_waitgroup *wg) {
    int err = pthread_mutex_init(&wg->lock, NULL);
    if (err) return err;
    err = lc_cond_init_monotonic(&wg->zero);
    if (err) {
        pthread_mutex_destroy(&wg->lock);
        return err;
    }
    wg->counter = 0;
    return 0;
}

void lc_waitgroup_destroy(lc_waitgroup *wg) {
    pthread_cond_destroy(&wg->zero);
    pthread_mutex_destroy(&wg->lock);
}

int lc_waitgroup_add(lc_waitgroup *wg, long delta) {
    pthread_mutex_lock(&wg->lock);
    bool refused = wg->counter + delta < 0;
    if (!refused) {
        wg->counter += delta;
        if (wg->counter == 0) pthread_cond_broadcast(&wg->zero);
    }
    pthread_mutex_unlock(&wg->lock);
    return refused ? -1 : 0;
}

int lc_waitgroup_done(lc_waitgroup *wg) {
    return lc_waitgroup_add(wg, -1);
}

/* Shared by both waits: NULL deadline waits forever. */
static bool wait_for_zero(lc_waitgroup *wg, const struct timespec *deadline) {
    pthread_mutex_lock(&wg->lock);
    bool timed_out = false;
    if (wg->counter > 0) {
        lc_thread_wait_begin("waitgroup wait", wg);
        while (wg->counter > 0 && !timed_out) {
            if (!deadline)
                pthread_cond_wait(&wg->zero, &wg->lock);
            else
                timed_out = pthread_cond_timedwait(&wg->zero, &wg->lock, deadline) == ETIMEDOUT;
        }
        lc_thread_wait_end();
    }
    bool reached_zero = wg->counter == 0;
    pthread_mutex_unlock(&wg->lock);
    return reached_zero;
}

void lc_waitgroup_wait(lc_waitgroup *wg) {
    wait_for_zero(wg, NULL);
}

bool lc_waitgroup_wait_timeout(lc_waitgroup *wg, long timeout_ms) {
    if (timeout_ms < 0) return wait_for_zero(wg, NULL);
    struct timespec deadline = lc_deadline_after_ms(timeout_ms);
    return wait_for_zero(wg, &deadline);
}
