/* SPDX-License-Identifier: MIT */
/* clock.c: deadlines and sleeping on the monotonic clock.
 *
 * Every timeout of the toolkit is a CLOCK_MONOTONIC deadline, so that a
 * change of the wall clock neither cuts a wait short nor stretches it. */
#include "leakcheck_toolkit.h"

#include <errno.h>

#define NSEC_PER_SEC 1000000000L
#define NSEC_PER_MSEC 1000000L

struct timespec lc_deadline_after_ms(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * NSEC_PER_MSEC;
    if (t.tv_nsec >= NSEC_PER_SEC) {
        t.tv_sec++;
        t.tv_nsec -= NSEC_PER_SEC;
    }
    return t;
}

int lc_cond_init_monotonic(pthread_cond_t *cond) {
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);
    if (err) return err;
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!err) err = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return err;
}

void lc_sleep_ms(long ms) {
    struct timespec deadline = lc_deadline_after_ms(ms);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
        ;
}
