/* SPDX-License-Identifier: MIT */
/* suppress.c: known leaks a suppression file silences, next to a new one.
 *
 * The program loses a 64-byte block in legacy_cache_init and a 32-byte
 * block in new_bug, and leaves a thread blocked forever in
 * legacy_poller_main. Expected with suppress.supp (leak:legacy_cache_init,
 * thread:legacy_poller*): leak, only new_bug's block counted (1 object,
 * 32 B); 1 object / 64 B and 1 thread reported as suppressed, each under
 * its pattern. With suppress_all.supp, which also names new_bug: clean,
 * 2 objects / 96 B and 1 thread suppressed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

__attribute__((noinline)) static void lose(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 0xab, n);
}

__attribute__((noinline)) static void legacy_cache_init(void) {
    lose(64);
}

__attribute__((noinline)) static void new_bug(void) {
    lose(32);
}

static void *legacy_poller_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    for (;;)
        pthread_cond_wait(&cv, &mu);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, legacy_poller_main, NULL) != 0) return 1;
    pthread_setname_np(t, "poller");
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    legacy_cache_init();
    new_bug();
    scrub_stack();
    return 0;
}
