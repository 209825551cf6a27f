/* SPDX-License-Identifier: MIT */
/* thread_exited.c: a joinable thread that finished and was never joined
 * (ThreadSanitizer's "thread leak").
 *
 * Expected: leak. One leaked thread, state "exited, not joined", created by
 * start_short_job; no heap leak. With -DFIXED the thread is detached, and a
 * detached thread that exited is not a leak: clean. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "corpus.h"

static atomic_int finished;

static void *short_job_main(void *arg) {
    atomic_store(&finished, 1);
    return arg;
}

__attribute__((noinline)) static int start_short_job(pthread_t *t) {
    return pthread_create(t, NULL, short_job_main, NULL);
}

int main(void) {
    pthread_t t;
    if (start_short_job(&t) != 0) return 1;
    if (FIXED) pthread_detach(t);
    while (!atomic_load(&finished))
        ;
    /* Let the thread get past its return, so that it has exited by the
     * check rather than being on its way out. */
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    return 0;
}
