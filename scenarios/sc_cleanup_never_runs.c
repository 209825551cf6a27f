/* SPDX-License-Identifier: MIT */
/* sc_cleanup_never_runs.c: pattern 6, a cleanup callback that never runs.
 *
 * A report-rendering pool gives each worker a 64 KiB scratch arena when it
 * starts, kept in thread-specific data and released by the key's destructor
 * when the worker exits: C's nearest thing to a Go finalizer. The leaky pool's
 * shutdown deletes the key before it stops the workers, and
 * pthread_key_delete never runs destructors, so no arena is ever released
 * although every worker exits and is joined. The fixed shutdown stops and
 * joins the workers first and deletes the key last. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4
#define REPORTS 12
#define ARENA_BYTES (64 * 1024)

struct report_request {
    int customer;
    int month;
};

struct pool {
    pthread_key_t arena_key;
    lc_chan *requests;    /* struct report_request * */
    lc_waitgroup pending; /* requests not rendered yet */
    lc_waitgroup ready;   /* workers still setting up their arena */
    pthread_t workers[WORKERS];
    int nworkers;
};

/* The key's destructor, the only place an arena is ever released. */
static void release_arena(void *arena) {
    free(arena);
}

static char *thread_arena(struct pool *pool) {
    return pthread_getspecific(pool->arena_key);
}

static void render_report(struct pool *pool, const struct report_request *request) {
    char *arena = thread_arena(pool);
    if (arena)
        snprintf(arena, ARENA_BYTES, "statement of customer %d for month %d", request->customer,
                 request->month);
}

static void *pool_worker(void *arg) {
    struct pool *pool = arg;
    char *arena = malloc(ARENA_BYTES);
    if (arena && pthread_setspecific(pool->arena_key, arena) != 0) free(arena);
    lc_waitgroup_done(&pool->ready);
    void *request;
    while (lc_chan_recv(pool->requests, &request)) {
        render_report(pool, request);
        free(request);
        lc_waitgroup_done(&pool->pending);
    }
    return NULL;
}

/* Start the workers and return once each holds its arena: a pool is ready
 * only then, and a worker that set its arena after the key was deleted
 * would be refused it and free it itself. */
static bool pool_start(struct pool *pool) {
    pool->nworkers = 0;
    if (pthread_key_create(&pool->arena_key, release_arena) != 0) return false;
    pool->requests = lc_chan_new(REPORTS);
    if (!pool->requests || lc_waitgroup_init(&pool->pending) != 0) {
        lc_chan_free(pool->requests);
        pthread_key_delete(pool->arena_key);
        return false;
    }
    if (lc_waitgroup_init(&pool->ready) != 0) {
        lc_waitgroup_destroy(&pool->pending);
        lc_chan_free(pool->requests);
        pthread_key_delete(pool->arena_key);
        return false;
    }
    lc_waitgroup_add(&pool->ready, WORKERS);
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "render-%d", i);
        if (lc_spawn(&pool->workers[pool->nworkers], name, pool_worker, pool) == 0)
            pool->nworkers++;
        else
            lc_waitgroup_done(&pool->ready);
    }
    lc_waitgroup_wait(&pool->ready);
    return true;
}

static void pool_submit(struct pool *pool, int customer, int month) {
    struct report_request *request = malloc(sizeof(*request));
    if (!request) return;
    *request = (struct report_request){.customer = customer, .month = month};
    lc_waitgroup_add(&pool->pending, 1);
    if (lc_chan_send(pool->requests, request) != LC_CHAN_OK) {
        free(request);
        lc_waitgroup_done(&pool->pending);
    }
}

static void pool_render_all(struct pool *pool) {
    for (int r = 0; r < REPORTS; r++)
        pool_submit(pool, 100 + r, 1 + r % 12);
    lc_waitgroup_wait(&pool->pending);
}

static void pool_stop_workers(struct pool *pool) {
    lc_chan_close(pool->requests);
    for (int i = 0; i < pool->nworkers; i++)
        pthread_join(pool->workers[i], NULL);
    lc_chan_free(pool->requests);
    lc_waitgroup_destroy(&pool->pending);
    lc_waitgroup_destroy(&pool->ready);
}

void sc_cleanup_never_runs_leaky(void) {
    struct pool pool;
    if (!pool_start(&pool)) return;
    pool_render_all(&pool);
    pthread_key_delete(pool.arena_key);
    pool_stop_workers(&pool);
}

void sc_cleanup_never_runs_fixed(void) {
    struct pool pool;
    if (!pool_start(&pool)) return;
    pool_render_all(&pool);
    pool_stop_workers(&pool);
    pthread_key_delete(pool.arena_key);
}
