/* SPDX-License-Identifier: MIT */
/* thread_spinning.c: a thread that never blocks and never stops.
 *
 * Expected: leak. One leaked thread "spinner", state running, with
 * spinner_main on its stack; no heap leak. With -DFIXED main tells it to
 * stop and joins it: clean. */
#include <pthread.h>
#include <stdatomic.h>

#include "corpus.h"

static atomic_int started, stop;

static void *spinner_main(void *arg) {
    (void)arg;
    atomic_store(&started, 1);
    while (!atomic_load(&stop))
        ;
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, spinner_main, NULL) != 0) return 1;
    pthread_setname_np(t, "spinner");
    while (!atomic_load(&started))
        ;
    if (FIXED) {
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
    }
    return 0;
}
