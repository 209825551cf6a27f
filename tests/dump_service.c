/* SPDX-License-Identifier: MIT */
/* dump_service.c: a small service to dump while it runs, for
 * tests/cli_dump.sh.
 *
 * It parks two workers in park_worker(), prints "ready PID", then reads
 * commands on stdin, one per line: "grow" makes fill_cache() add ten
 * 64-byte entries to a cache that is never emptied (reachable, so no check
 * fails on it: only profiles show it) and prints "grown". At end of input
 * it lets the workers go, joins them and exits 0. Everything it prints is
 * what a test compares with a plain run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int parked, done;

static void **cache;
static size_t cached;

__attribute__((noinline)) static void *park_worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    parked++;
    pthread_cond_broadcast(&changed);
    while (!done)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

__attribute__((noinline)) static void fill_cache(void) {
    void **grown = realloc(cache, (cached + 10) * sizeof *cache);
    if (!grown) exit(1);
    cache = grown;
    for (int i = 0; i < 10; i++)
        cache[cached++] = malloc(64);
}

int main(void) {
    pthread_t workers[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&workers[i], NULL, park_worker, NULL);
    pthread_mutex_lock(&lock);
    while (parked < 2)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);

    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "grow\n") == 0) {
            fill_cache();
            printf("grown\n");
            fflush(stdout);
        }
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 2; i++)
        pthread_join(workers[i], NULL);
    return 0;
}
