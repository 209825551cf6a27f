/* SPDX-License-Identifier: MIT */
/* scenarios.c: a project's own leak reproductions, run like the built-in ones.
 *
 * Two scenarios of a small job service, each with its leaky and its fixed
 * variant in one body (`leaky` tells which runs):
 *
 *   queue_never_closed  workers wait forever on a job queue that nobody
 *                       closes: two threads leak, blocked in "chan receive"
 *   cache_never_evicts  a memo cache that only grows: every entry stays
 *                       reachable after the request that made it
 *
 *   make && ./scenarios run          (./scenarios --help for the options)
 *
 * Each variant runs in a forked child; the leaky ones must leak as declared
 * and the fixed ones must be clean, or the run exits 1. */
#include <leakcheck_scenario.h>
#include <leakcheck_toolkit.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ the job queue */

enum { WORKERS = 2, JOBS = 8 };

static void *worker_main(void *arg) {
    lc_chan *jobs = arg;
    void *job;
    while (lc_chan_recv(jobs, &job)) /* false once closed and drained */
        free(job);
    lc_chan_free(jobs);
    return NULL;
}

LC_SCENARIO(queue_never_closed, "workers wait forever on a job queue nobody closes",
            .threads = WORKERS, .wait = "chan receive", .must_name = "worker_main") {
    lc_chan *jobs = lc_chan_new(JOBS);
    pthread_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        lc_spawn(&workers[i], "worker", worker_main, lc_chan_retain(jobs));
    for (int i = 0; i < JOBS; i++)
        lc_chan_send(jobs, malloc(64));
    if (!leaky) { /* the fix: close the queue, then wait for the workers */
        lc_chan_close(jobs);
        for (int i = 0; i < WORKERS; i++)
            pthread_join(workers[i], NULL);
    }
    lc_chan_free(jobs);
}

/* --------------------------------------------------------- the cache */

typedef struct entry {
    struct entry *next;
    char key[16];
    char *value;
} entry;

static entry *cache; /* every request's answer, by key */

static void cache_put(int request) {
    entry *e = calloc(1, sizeof *e);
    snprintf(e->key, sizeof e->key, "req-%d", request);
    e->value = strdup("the answer to a request");
    e->next = cache;
    cache = e;
}

static void cache_clear(void) {
    while (cache) {
        entry *e = cache;
        cache = e->next;
        free(e->value);
        free(e);
    }
}

LC_SCENARIO(cache_never_evicts, "a memo cache that only grows", .min_objects = 200,
            .min_bytes = 100 * sizeof(entry), .must_name = "cache_put") {
    for (int request = 0; request < 100; request++)
        cache_put(request);
    if (!leaky) /* the fix: the cache lives as long as the requests */
        cache_clear();
}

int main(int argc, char **argv) {
    return lc_scenarios_main(argc, argv);
}
