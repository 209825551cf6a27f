/* SPDX-License-Identifier: MIT */
/* nodebug.c: a program built without -g.
 *
 * Expected: leak, reported with function names from the symbol table even
 * for static functions: a 48-byte block lost in make_orphan (1 object,
 * direct) and one thread "idle" blocked in idle_main. With -DFIXED the
 * program frees the block and stops and joins the thread: clean. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stop;

__attribute__((noinline)) static char *make_orphan(void) {
    char *p = malloc(48);
    if (p) memset(p, 0xab, 48);
    return p;
}

static void *idle_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, idle_main, NULL) != 0) return 1;
    pthread_setname_np(t, "idle");
    char *p = make_orphan();
    if (!p) return 1;
    if (FIXED) free(p);
    p = NULL;
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    stop = FIXED;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (FIXED) pthread_join(t, NULL);
    scrub_stack();
    return 0;
}
