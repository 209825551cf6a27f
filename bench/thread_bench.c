/* SPDX-License-Identifier: MIT */
/* thread_bench.c: what the thread side of a check costs.
 *
 * Two figures of the thread issue: a dump of 1000 blocked threads (states
 * from /proc, a stack from every thread through the capture signal) and a
 * leak check of 1000 blocked threads (settle window 0, so only the work is
 * timed), both under 100 ms; and what LC_VERIFY_NONE adds to a test that
 * started no thread, under 1 ms. Medians of several runs. */
#include <leakcheck.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 1000
#define RUNS 7

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int released;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static void *blocked_worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!released)
        pthread_cond_wait(&wake, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
    double t[RUNS];
    lc_baseline();
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        LC_VERIFY_NONE(.quiet = 1, .settle_seconds = 0.000001);
        t[i] = now_ms() - t0;
    }
    double clean_check = median(t, RUNS);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], &attr, blocked_worker, NULL);
    FILE *sink = fopen("/dev/null", "w");
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        lc_dump_threads(sink);
        t[i] = now_ms() - t0;
    }
    double dump = median(t, RUNS);
    lc_result r;
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                      .quiet = 1,
                                      .settle_seconds = 0.000001},
                  &r);
        t[i] = now_ms() - t0;
    }
    double leak_check = median(t, RUNS);
    fclose(sink);
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);

    printf("threads: LC_VERIFY_NONE with no thread started     %8.3f ms  (target < 1 ms)\n",
           clean_check);
    printf("threads: dump of %d blocked threads              %8.1f ms  (target < 100 ms)\n",
           THREADS, dump);
    printf("threads: check finding %d leaked threads (%lld) %8.1f ms  (target < 100 ms)\n", THREADS,
           r.leaked_threads, leak_check);
    return r.leaked_threads == THREADS ? 0 : 1;
}
