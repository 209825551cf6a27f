/* SPDX-License-Identifier: MIT */
/* thread_settling.c: a detached thread still on its way out when main
 * returns.
 *
 * Expected: clean. The thread "settler" finishes 300 ms after main
 * returns, inside the settle window (1 s by default), so it is not a leak.
 * Built with -DLINGER_MS=30000 (its twin) it outlives the settle window by
 * far: leak, one leaked thread "settler". */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "corpus.h"

#ifndef LINGER_MS
#define LINGER_MS 300
#endif

static atomic_int started;

static void *settler_main(void *arg) {
    atomic_store(&started, 1);
    struct timespec linger = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000000L};
    /* A signal (such as a stack capture) must not cut the stay short. */
    while (nanosleep(&linger, &linger) != 0 && errno == EINTR)
        ;
    return arg;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, settler_main, NULL) != 0) return 1;
    pthread_setname_np(t, "settler");
    pthread_detach(t);
    while (!atomic_load(&started))
        ;
    return 0;
}
