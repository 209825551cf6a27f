/* SPDX-License-Identifier: MIT */
/* timer_thread.c: a SIGEV_THREAD timer, whose helper thread glibc starts
 * on the first such timer and keeps for the life of the process.
 *
 * The helper is the C runtime's, as goleak leaves the Go runtime's own
 * goroutines out: it is never reported, and no rule is needed to say so.
 * The timer fires once; main waits for its notification and deletes it.
 *
 * Expected: clean. With -DLEAKY=1 the program also leaves one thread of
 * its own blocked forever: exactly one leaked thread, that one. valgrind
 * has no thread verdict. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

#ifndef LEAKY
#define LEAKY 0
#endif

static atomic_int fired;

static void notify(union sigval v) {
    (void)v;
    atomic_store(&fired, 1);
}

static void *forever(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void) {
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = notify};
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) return 1;
    struct itimerspec when = {.it_value = {0, 1000000}};
    if (timer_settime(timer, 0, &when, NULL) != 0) return 1;
    while (!atomic_load(&fired))
        usleep(1000);
    timer_delete(timer);
    if (LEAKY) {
        pthread_t t;
        if (pthread_create(&t, NULL, forever, NULL) != 0) return 1;
    }
    usleep(50000); /* the notification's own thread ends */
    return 0;
}
