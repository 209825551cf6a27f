/* SPDX-License-Identifier: MIT */
/* latch.h: a one-way gate for the test suites' threads: they wait until it
 * opens. Each suite's workers park on one so that a check sees them
 * blocked at a known place, and the test lets them go when it is done. */
#ifndef LC_TESTS_LATCH_H
#define LC_TESTS_LATCH_H

#include <pthread.h>
#include <stdbool.h>

struct latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
};

#define LATCH_INIT                                                                                 \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false }

/* Block on the latch until it opens. A macro, so that the function that
 * calls pthread_cond_wait is the worker itself: the first frame of the
 * program a report names. */
#define WAIT_FOR_LATCH(l)                                                                          \
    do {                                                                                           \
        pthread_mutex_lock(&(l)->mu);                                                              \
        while (!(l)->open)                                                                         \
            pthread_cond_wait(&(l)->cv, &(l)->mu);                                                 \
        pthread_mutex_unlock(&(l)->mu);                                                            \
    } while (0)

static inline void open_latch(struct latch *l) {
    pthread_mutex_lock(&l->mu);
    l->open = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

#endif
