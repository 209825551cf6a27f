/* SPDX-License-Identifier: MIT */
/* sc_map_chan_thread.c: reference cycle 1, map value -> channel -> thread
 * -> map key.
 *
 * A job dispatcher keeps one inbox per tenant in a map and starts one worker
 * per tenant that receives from that inbox. Each worker holds its tenant's
 * key and the dispatcher's registry (the map and its lock), because on its
 * way out it removes its own entry: that is the back edge that closes the
 * cycle, map value -> inbox -> worker -> key and map.
 *
 * When the tenants are offboarded, the leaky dispatcher deletes their map
 * entries and stops there: nobody closes the inboxes, so every worker waits
 * in "chan receive" forever and keeps alive its inbox, its 64 KiB usage
 * table, its key and the registry itself, which the dispatcher has let go
 * of. The fixed dispatcher keeps its inboxes in a safe map, whose delete
 * closes the inbox; each worker drains what is left, removes its key (a
 * no-op once the dispatcher did), lets go of the registry, frees what it
 * holds and ends, and the dispatcher joins it. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANTS 4
#define JOBS_PER_TENANT 3
#define INBOX_SLOTS 8
#define USAGE_TABLE_BYTES (64 * 1024)

static const char *const tenant_names[TENANTS] = {"acme", "globex", "initech", "umbrella"};

struct job {
    unsigned id;
    unsigned char cost;
};

/* The dispatcher's registry: tenant -> inbox. The dispatcher and every
 * worker hold a reference; the last one frees it. The leaky dispatcher keeps
 * its inboxes in a plain map, the fixed one in a safe map. */
struct registry {
    pthread_mutex_t lock;
    lc_hmap plain;      /* leaky: tenant -> lc_chan *, one reference each */
    lc_safemap closing; /* fixed: delete closes the inbox */
    bool fixed;
    atomic_int refs;
};

static struct registry *registry_new(bool fixed) {
    struct registry *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->plain = (lc_hmap)LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK);
    lc_safemap_init(&r->closing);
    r->fixed = fixed;
    atomic_init(&r->refs, 1);
    return r;
}

static struct registry *registry_retain(struct registry *r) {
    atomic_fetch_add(&r->refs, 1);
    return r;
}

static void registry_release(struct registry *r) {
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    void *inbox;
    for (int t = 0; t < TENANTS; t++)
        if (lc_hmap_delete(&r->plain, tenant_names[t], &inbox)) lc_chan_free(inbox);
    lc_hmap_destroy(&r->plain);
    lc_safemap_destroy(&r->closing);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Remove the tenant's entry, if it is still there. The leaky registry only
 * drops the route; the fixed one closes the inbox too. */
static void registry_remove(struct registry *r, const char *tenant) {
    if (r->fixed) {
        lc_safemap_delete(&r->closing, tenant);
        return;
    }
    void *inbox;
    pthread_mutex_lock(&r->lock);
    bool found = lc_hmap_delete(&r->plain, tenant, &inbox);
    pthread_mutex_unlock(&r->lock);
    if (found) lc_chan_free(inbox);
}

/* A worker's context: the worker owns it, and frees it on its way out. */
struct tenant_worker {
    lc_chan *inbox;
    char *tenant;              /* its own copy of its key in the registry */
    struct registry *registry; /* to remove that key when it ends */
    unsigned char *usage;      /* cost per job slot, for billing */
    long jobs_done;
};

static void *tenant_worker_main(void *arg) {
    struct tenant_worker *w = arg;
    void *item;
    while (lc_chan_recv(w->inbox, &item)) {
        struct job *job = item;
        w->usage[job->id % USAGE_TABLE_BYTES] += job->cost;
        w->jobs_done++;
        free(job);
    }
    registry_remove(w->registry, w->tenant);
    registry_release(w->registry);
    lc_chan_free(w->inbox);
    free(w->usage);
    free(w->tenant);
    free(w);
    return NULL;
}

/* Start the worker of one tenant and return its inbox, a reference for the
 * caller; the worker holds its own. NULL when out of resources. */
static lc_chan *start_tenant(struct registry *r, const char *tenant, pthread_t *worker) {
    struct tenant_worker *w = calloc(1, sizeof(*w));
    unsigned char *usage = calloc(1, USAGE_TABLE_BYTES);
    char *key = strdup(tenant);
    lc_chan *inbox = lc_chan_new(INBOX_SLOTS);
    if (w && usage && key && inbox) {
        char name[16];
        snprintf(name, sizeof(name), "tenant-%s", tenant);
        w->inbox = lc_chan_retain(inbox);
        w->tenant = key;
        w->registry = registry_retain(r);
        w->usage = usage;
        if (lc_spawn(worker, name, tenant_worker_main, w) == 0) return inbox;
        registry_release(r);
        lc_chan_free(inbox);
    }
    lc_chan_free(inbox);
    free(key);
    free(usage);
    free(w);
    return NULL;
}

/* For a worker that could not be registered: end it at once. */
static void stop_tenant(lc_chan *inbox, pthread_t worker) {
    lc_chan_close(inbox);
    pthread_join(worker, NULL);
    lc_chan_free(inbox);
}

static struct job *new_job(unsigned id) {
    struct job *job = malloc(sizeof(*job));
    if (job) {
        job->id = id;
        job->cost = (unsigned char)(1 + id % 7);
    }
    return job;
}

/* ---------------------------------------------------------------- leaky */

static void leaky_onboard(struct registry *r, const char *tenant) {
    pthread_t worker;
    lc_chan *inbox = start_tenant(r, tenant, &worker);
    if (!inbox) return;
    pthread_mutex_lock(&r->lock);
    int rc = lc_hmap_put(&r->plain, tenant, inbox, NULL);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0) stop_tenant(inbox, worker);
}

static void leaky_dispatch(struct registry *r, const char *tenant, struct job *job) {
    void *inbox = NULL;
    pthread_mutex_lock(&r->lock);
    if (lc_hmap_lookup(&r->plain, tenant, &inbox)) lc_chan_retain(inbox);
    pthread_mutex_unlock(&r->lock);
    if (!inbox || lc_chan_send(inbox, job) != LC_CHAN_OK) free(job);
    lc_chan_free(inbox);
}

/* The bug: the route goes away, the inbox stays open, and the worker, which
 * cannot tell an idle tenant from a removed one, waits for the next job,
 * holding its key and the registry the dispatcher has let go of. */
void sc_map_chan_thread_leaky(void) {
    struct registry *r = registry_new(false);
    if (!r) return;
    for (int t = 0; t < TENANTS; t++)
        leaky_onboard(r, tenant_names[t]);
    for (unsigned id = 0; id < TENANTS * JOBS_PER_TENANT; id++) {
        struct job *job = new_job(id);
        if (job) leaky_dispatch(r, tenant_names[id % TENANTS], job);
    }
    for (int t = 0; t < TENANTS; t++)
        registry_remove(r, tenant_names[t]);
    registry_release(r);
}

/* ---------------------------------------------------------------- fixed */

struct dispatcher {
    struct registry *registry;
    pthread_t workers[TENANTS];
    int nworkers;
};

static void onboard(struct dispatcher *d, const char *tenant) {
    pthread_t worker;
    lc_chan *inbox = start_tenant(d->registry, tenant, &worker);
    if (!inbox) return;
    if (lc_safemap_put(&d->registry->closing, tenant, inbox) != 0) {
        stop_tenant(inbox, worker);
        return;
    }
    lc_chan_free(inbox);
    d->workers[d->nworkers++] = worker;
}

static void dispatch(struct dispatcher *d, const char *tenant, struct job *job) {
    if (lc_safemap_send(&d->registry->closing, tenant, job) != LC_CHAN_OK) free(job);
}

void sc_map_chan_thread_fixed(void) {
    struct dispatcher d = {.registry = registry_new(true)};
    if (!d.registry) return;
    for (int t = 0; t < TENANTS; t++)
        onboard(&d, tenant_names[t]);
    for (unsigned id = 0; id < TENANTS * JOBS_PER_TENANT; id++) {
        struct job *job = new_job(id);
        if (job) dispatch(&d, tenant_names[id % TENANTS], job);
    }
    for (int t = 0; t < TENANTS; t++)
        registry_remove(d.registry, tenant_names[t]);
    for (int i = 0; i < d.nworkers; i++)
        pthread_join(d.workers[i], NULL);
    registry_release(d.registry);
}
