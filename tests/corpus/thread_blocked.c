/* SPDX-License-Identifier: MIT */
/* thread_blocked.c: a thread blocked forever.
 *
 * Expected: leak. One leaked thread "waiter", state blocked (it waits on a
 * condition variable nobody signals), with waiter_main on its stack and
 * created by start_waiter; no heap leak. With -DFIXED main signals it and
 * joins it: clean. */
#include <pthread.h>

#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stop;

static void *waiter_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

__attribute__((noinline)) static int start_waiter(pthread_t *t) {
    if (pthread_create(t, NULL, waiter_main, NULL) != 0) return -1;
    pthread_setname_np(*t, "waiter");
    return 0;
}

int main(void) {
    pthread_t t;
    if (start_waiter(&t) != 0) return 1;
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    stop = FIXED;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (FIXED) pthread_join(t, NULL);
    return 0;
}
