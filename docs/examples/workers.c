/* SPDX-License-Identifier: MIT */
/* workers.c: three workers wait on an inbox nobody ever fills or closes. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <leakcheck.h>
#include <pthread.h>
#include <stdlib.h>

struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t ready, waiting_changed;
    void *item;
    int waiting;
};
static struct inbox inbox = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                             PTHREAD_COND_INITIALIZER, NULL, 0};

static void *worker_main(void *buffer) {
    pthread_mutex_lock(&inbox.mu);
    lc_thread_wait_begin("chan receive", &inbox); /* what reports call this wait */
    inbox.waiting++;
    pthread_cond_broadcast(&inbox.waiting_changed);
    while (!inbox.item)
        pthread_cond_wait(&inbox.ready, &inbox.mu);
    lc_thread_wait_end();
    pthread_mutex_unlock(&inbox.mu);
    free(buffer);
    return NULL;
}

static void start_workers(int n) {
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker_main, malloc(4096));
        pthread_setname_np(t, "worker");
        pthread_detach(t);
    }
    /* Check only once every worker waits, so that the report is the same
     * on a busy machine. */
    pthread_mutex_lock(&inbox.mu);
    while (inbox.waiting < n)
        pthread_cond_wait(&inbox.waiting_changed, &inbox.mu);
    pthread_mutex_unlock(&inbox.mu);
}

int main(void) {
    lc_baseline();
    start_workers(3);
    return LC_VERIFY_NONE(.settle_seconds = 0.2) == 0 ? 0 : 1;
}
