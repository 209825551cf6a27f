/* SPDX-License-Identifier: MIT */
/* sc_map_chan_thread.c: reference cycle 1, map value -> channel -> thread.
 *
 * A job dispatcher keeps one inbox per tenant in a map and starts one worker
 * per tenant that receives from that inbox. When the tenants are offboarded,
 * the leaky dispatcher deletes their map entries and stops there: nobody
 * closes the inboxes, so every worker waits in "chan receive" forever and
 * keeps its inbox and its 64 KiB usage table alive. The fixed dispatcher keeps
 * its inboxes in a safe map, whose delete closes the inbox; each worker drains
 * what is left, frees what it holds and ends, and the dispatcher joins it. */
#include "scenarios.h"
#include "toolkit.h"

#include <stdio.h>
#include <stdlib.h>

#define TENANTS 4
#define JOBS_PER_TENANT 3
#define INBOX_SLOTS 8
#define USAGE_TABLE_BYTES (64 * 1024)

static const char *const tenant_names[TENANTS] = {"acme", "globex", "initech", "umbrella"};

struct job {
    unsigned id;
    unsigned char cost;
};

/* A worker's context: the worker owns it, and frees it on its way out. */
struct tenant_worker {
    lc_chan *inbox;
    unsigned char *usage; /* cost per job slot, for billing */
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
    lc_chan_free(w->inbox);
    free(w->usage);
    free(w);
    return NULL;
}

/* Start the worker of one tenant and return its inbox, a reference for the
 * caller; the worker holds its own. NULL when out of resources. */
static lc_chan *start_tenant(const char *tenant, pthread_t *worker) {
    struct tenant_worker *w = calloc(1, sizeof(*w));
    unsigned char *usage = calloc(1, USAGE_TABLE_BYTES);
    lc_chan *inbox = lc_chan_new(INBOX_SLOTS);
    if (w && usage && inbox) {
        char name[16];
        snprintf(name, sizeof(name), "tenant-%s", tenant);
        w->inbox = lc_chan_retain(inbox);
        w->usage = usage;
        if (lc_spawn(worker, name, tenant_worker_main, w) == 0) return inbox;
        lc_chan_free(inbox);
    }
    lc_chan_free(inbox);
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

struct leaky_dispatcher {
    pthread_mutex_t lock;
    lc_hmap inboxes; /* tenant -> lc_chan *, one reference each */
};

static void leaky_onboard(struct leaky_dispatcher *d, const char *tenant) {
    pthread_t worker;
    lc_chan *inbox = start_tenant(tenant, &worker);
    if (!inbox) return;
    pthread_mutex_lock(&d->lock);
    int rc = lc_hmap_put(&d->inboxes, tenant, inbox, NULL);
    pthread_mutex_unlock(&d->lock);
    if (rc < 0) stop_tenant(inbox, worker);
}

static void leaky_dispatch(struct leaky_dispatcher *d, const char *tenant, struct job *job) {
    void *inbox = NULL;
    pthread_mutex_lock(&d->lock);
    if (lc_hmap_lookup(&d->inboxes, tenant, &inbox)) lc_chan_retain(inbox);
    pthread_mutex_unlock(&d->lock);
    if (!inbox || lc_chan_send(inbox, job) != LC_CHAN_OK) free(job);
    lc_chan_free(inbox);
}

/* The bug: the route goes away, the inbox stays open, and the worker, which
 * cannot tell an idle tenant from a removed one, waits for the next job. */
static void leaky_offboard(struct leaky_dispatcher *d, const char *tenant) {
    void *inbox;
    pthread_mutex_lock(&d->lock);
    bool found = lc_hmap_delete(&d->inboxes, tenant, &inbox);
    pthread_mutex_unlock(&d->lock);
    if (found) lc_chan_free(inbox);
}

void sc_map_chan_thread_leaky(void) {
    struct leaky_dispatcher d = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                 .inboxes = LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK)};
    for (int t = 0; t < TENANTS; t++)
        leaky_onboard(&d, tenant_names[t]);
    for (unsigned id = 0; id < TENANTS * JOBS_PER_TENANT; id++) {
        struct job *job = new_job(id);
        if (job) leaky_dispatch(&d, tenant_names[id % TENANTS], job);
    }
    for (int t = 0; t < TENANTS; t++)
        leaky_offboard(&d, tenant_names[t]);
    lc_hmap_destroy(&d.inboxes);
    pthread_mutex_destroy(&d.lock);
}

/* ---------------------------------------------------------------- fixed */

struct dispatcher {
    lc_safemap inboxes; /* tenant -> inbox; delete closes the inbox */
    pthread_t workers[TENANTS];
    int nworkers;
};

static void onboard(struct dispatcher *d, const char *tenant) {
    pthread_t worker;
    lc_chan *inbox = start_tenant(tenant, &worker);
    if (!inbox) return;
    if (lc_safemap_put(&d->inboxes, tenant, inbox) != 0) {
        stop_tenant(inbox, worker);
        return;
    }
    lc_chan_free(inbox);
    d->workers[d->nworkers++] = worker;
}

static void dispatch(struct dispatcher *d, const char *tenant, struct job *job) {
    if (lc_safemap_send(&d->inboxes, tenant, job) != LC_CHAN_OK) free(job);
}

void sc_map_chan_thread_fixed(void) {
    struct dispatcher d = {.inboxes = LC_SAFEMAP_INIT};
    for (int t = 0; t < TENANTS; t++)
        onboard(&d, tenant_names[t]);
    for (unsigned id = 0; id < TENANTS * JOBS_PER_TENANT; id++) {
        struct job *job = new_job(id);
        if (job) dispatch(&d, tenant_names[id % TENANTS], job);
    }
    for (int t = 0; t < TENANTS; t++)
        lc_safemap_delete(&d.inboxes, tenant_names[t]);
    for (int i = 0; i < d.nworkers; i++)
        pthread_join(d.workers[i], NULL);
    lc_safemap_destroy(&d.inboxes);
}
