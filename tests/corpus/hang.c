/* SPDX-License-Identifier: MIT */
/* hang.c: a program that never ends.
 *
 * A worker "hang-worker" waits on a condition variable. With the argument
 * "hang", main then blocks forever in hang_forever (a read nobody answers).
 * Expected under --timeout: every thread dumped (hang_forever and the
 * worker's worker_main), the program killed, a non-zero status, long before
 * any outer time limit. Its twin, the argument "quick", wakes the worker,
 * joins it and returns 0: clean, status 0. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop;

static void *worker_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

__attribute__((noinline)) static void hang_forever(void) {
    int fds[2];
    char c;
    if (pipe(fds) != 0) return;
    while (read(fds[0], &c, 1) != 0)
        ;
}

int main(int argc, char **argv) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker_main, NULL) != 0) return 1;
    pthread_setname_np(t, "hang-worker");
    if (argc > 1 && strcmp(argv[1], "hang") == 0) hang_forever();
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    return 0;
}
