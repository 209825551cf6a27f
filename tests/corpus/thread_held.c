/* SPDX-License-Identifier: MIT */
/* thread_held.c: blocks held only by a thread that blocks forever.
 *
 * Expected: leak. One leaked thread "holder", blocked (in
 * pthread_cond_wait). Its stack holds the only pointer to a job (128 B,
 * allocated in job_new), and the job the only pointer to its buffer (256 B,
 * allocated in job_buffer_new, at offset 16 of the job): 2 objects, 384 B,
 * class "thread", retained by the holder. The buffer's path runs from the
 * holder thread through the job block at offset 16. With -DFIXED main wakes
 * the holder, which frees both, and joins it: clean.
 *
 * With -DALSO_GLOBAL=1 the global last_job points to the job too: the
 * thread still leaks, but its blocks are reachable from a global, not held
 * by the thread alone: 2 reachable objects (384 B), not counted by default,
 * and the holder retains nothing. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#ifndef ALSO_GLOBAL
#define ALSO_GLOBAL 0
#endif

struct job {
    long id;
    long state;
    char *buf; /* offset 16 */
    char pad[104];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stop;
static struct job *last_job;

__attribute__((noinline)) static char *job_buffer_new(void) {
    char *b = malloc(256);
    if (b) memset(b, 0xab, 256);
    return b;
}

__attribute__((noinline)) static struct job *job_new(void) {
    struct job *j = malloc(sizeof *j);
    if (!j) return NULL;
    memset(j, 0, sizeof *j);
    j->buf = job_buffer_new();
    return j;
}

static void *holder_main(void *arg) {
    (void)arg;
    struct job *job = job_new();
    if (ALSO_GLOBAL) last_job = job;
    scrub_stack();
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    if (job) free(job->buf);
    free(job);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, holder_main, NULL) != 0) return 1;
    pthread_setname_np(t, "holder");
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    stop = FIXED;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (FIXED) pthread_join(t, NULL);
    return 0;
}
