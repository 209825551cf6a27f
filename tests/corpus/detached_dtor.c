/* SPDX-License-Identifier: MIT */
/* detached_dtor.c: a detached thread still running its TSD destructor
 * when the process exits.
 *
 * A detached thread's start routine has returned, but the thread goes on:
 * glibc runs its pthread_setspecific destructors after that. While it does,
 * its stack and registers are a live thread's, and what they hold is
 * reachable. The destructor allocates a 88-byte block, keeps it in a live
 * local and parks; main waits until it is parked, then exits.
 *
 * Expected: leak. The destructor drops its pointer before it parks: one
 * direct block lost. With -DFIXED it keeps it: clean, one reachable block.
 * The parked thread is detached and past its start routine, so neither
 * build reports it as a leaked thread. valgrind agrees on the heap. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"

static pthread_key_t key;
static atomic_int parked;

__attribute__((noinline)) static void *make(void) {
    void *p = malloc(88);
    memset(p, 0x22, 88);
    return p;
}

static void destructor(void *value) {
    (void)value;
    void *volatile held = make();
    scrub_stack();
    if (!FIXED) held = NULL;
    atomic_store(&parked, 1);
    while (held || !held)
        pause();
}

static void *worker(void *arg) {
    (void)arg;
    static int token;
    pthread_setspecific(key, &token);
    return NULL;
}

int main(void) {
    if (pthread_key_create(&key, destructor) != 0) return 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, worker, NULL) != 0) return 1;
    while (!atomic_load(&parked))
        usleep(1000);
    usleep(20000); /* into pause() */
    return 0;
}
