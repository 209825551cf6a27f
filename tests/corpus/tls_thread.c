/* SPDX-License-Identifier: MIT */
/* tls_thread.c: a block whose only pointer is a thread-local variable of a
 * thread that blocks forever.
 *
 * Expected: leak. One leaked thread "tls-holder", blocked. Its `__thread`
 * variable tls_buf holds the only pointer to a 300-byte block (allocated in
 * make_block): 1 object, 300 B, class "thread", whose path starts at that
 * thread's TLS. With -DFIXED main wakes the thread, which frees the block,
 * and joins it: clean. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static __thread char *tls_buf;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stop;

__attribute__((noinline)) static char *make_block(void) {
    char *p = malloc(300);
    if (p) memset(p, 0xab, 300);
    return p;
}

__attribute__((noinline)) static void fill_tls(void) {
    tls_buf = make_block();
}

static void *tls_holder_main(void *arg) {
    (void)arg;
    fill_tls();
    scrub_stack();
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    free(tls_buf);
    tls_buf = NULL;
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, tls_holder_main, NULL) != 0) return 1;
    pthread_setname_np(t, "tls-holder");
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    stop = FIXED;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (FIXED) pthread_join(t, NULL);
    return 0;
}
