/* SPDX-License-Identifier: MIT */
/* settle_bench.c: how long threads on their way out take to be gone.
 *
 * The settle window is how long a check waits for threads started after
 * the baseline to end before it reports them; goleak's default is about
 * 0.43 s (20 retries), leakcheck's 1 s. This measures what a window must
 * cover: each trial releases THREADS detached threads blocked on a latch
 * (the state a test leaves them in when it stops its workers without
 * joining them) and checks at once with a long window; the check returns
 * as soon as they are gone, so its duration bounds the time they needed.
 * Run it on an idle machine and beside busy loops on every core:
 *
 *     cc -O2 -pthread -Iinclude bench/settle_bench.c -Lbuild -lleakcheck \
 *        -Wl,-rpath,$PWD/build -o build/settle_bench
 *     build/settle_bench [TRIALS] [THREADS]
 *
 * Prints the median, the 99th percentile and the maximum in milliseconds. */
#include "leakcheck.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool released;
static int waiting;

static void *worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    waiting++;
    while (!released)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int trials = argc > 1 ? atoi(argv[1]) : 200;
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    if (trials <= 0 || threads <= 0) {
        fprintf(stderr, "usage: settle_bench [TRIALS > 0] [THREADS > 0]\n");
        return 2;
    }
    double *took = calloc((size_t)trials, sizeof *took);
    if (!took) return 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int leaked = 0;
    for (int t = 0; t < trials; t++) {
        released = false;
        waiting = 0;
        lc_baseline();
        for (int i = 0; i < threads; i++) {
            pthread_t th;
            if (pthread_create(&th, &attr, worker, NULL) != 0) return 1;
        }
        for (;;) {
            pthread_mutex_lock(&mu);
            int w = waiting;
            pthread_mutex_unlock(&mu);
            if (w == threads) break;
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
        pthread_mutex_lock(&mu);
        released = true;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        double t0 = now();
        lc_result res;
        lc_verify(LC_OPTIONS(.quiet = 1, .settle_seconds = 10, .budget = "threads=0"), &res);
        took[t] = (now() - t0) * 1e3;
        leaked += res.leaked_threads > 0;
    }
    qsort(took, (size_t)trials, sizeof *took, cmp);
    printf("%d trials of %d threads: median %.2f ms, p99 %.2f ms, max %.2f ms; %d trials "
           "leaked after 10 s\n",
           trials, threads, took[trials / 2], took[(trials * 99) / 100 - (trials >= 100)],
           took[trials - 1], leaked);
    free(took);
    return 0;
}
