/* SPDX-License-Identifier: MIT */
/* sc_chan_waitgroup_thread.c: reference cycle 2, channel sender -> map value
 * -> wait group -> thread.
 *
 * A quote service hedges each price request: it asks every replica at once
 * and answers with the first reply. The request sits in the in-flight map
 * until a janitor thread, waiting on the request's wait group, sees that
 * every replica and the caller are done with it and retires it.
 *
 * In the leaky service the reply channel is unbuffered and a replica calls
 * done only after its send. Once the caller has its first reply nobody
 * receives again: the slower replicas block in "chan send" forever holding
 * their reply pages, never call done, and the janitor blocks in "waitgroup
 * wait" behind them, so the request never leaves the in-flight map.
 *
 * The fixed service does what the pattern prescribes: the caller cancels
 * the request once it has its answer, by closing the request's done
 * channel, and a replica sends with a select on its reply and on done, so
 * a reply nobody will read is dropped instead of blocking; every replica
 * calls done on every path, and the janitor retires the request. (A reply
 * channel with a slot per replica fixes this one too, but only as long as
 * the slots match the senders: cancelling holds whatever the fan-out.) */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define REPLICAS 4
#define REPLY_PAGE_BYTES 4096
/* The first reply comes within milliseconds; the deadline is far longer so
 * that under valgrind or on a loaded machine it still does, and the leak is
 * the same every run (a caller that timed out would leave all four
 * replicas blocked, not three). */
#define QUOTE_DEADLINE_MS 5000

struct request {
    char id[32];
    lc_waitgroup users; /* the replicas and the caller */
    lc_chan *replies;   /* struct reply * */
    lc_chan *done;      /* closed when the caller no longer wants replies;
                           NULL in the leaky service, which never cancels */
};

struct reply {
    int replica;
    long price_cents;
    char page[REPLY_PAGE_BYTES]; /* the raw quote page, kept for auditing */
};

struct replica_call {
    struct request *request;
    int replica;
};

/* Every request in flight, by id. */
static lc_hmap in_flight = LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK);
static pthread_mutex_t in_flight_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long next_request_id;

/* The threads one request started, for a caller that joins them. */
struct fan_out {
    pthread_t threads[REPLICAS + 1];
    int nthreads;
};

static struct reply *fetch_quote(const char *request_id, int replica) {
    lc_sleep_ms(1 + 2 * replica); /* replicas answer at different speeds */
    struct reply *reply = malloc(sizeof(*reply));
    if (reply) {
        reply->replica = replica;
        reply->price_cents = 12345 + replica;
        snprintf(reply->page, sizeof(reply->page), "%s from replica %d", request_id, replica);
    }
    return reply;
}

/* Send the reply, or drop it once the request is cancelled. The leaky
 * service has no done channel, and its replicas block in the plain send. */
static void send_reply(struct request *request, struct reply *reply) {
    if (!request->done) {
        if (lc_chan_send(request->replies, reply) != LC_CHAN_OK) free(reply);
        return;
    }
    lc_select_case cases[] = {
        {.chan = request->replies, .dir = LC_SELECT_SEND, .value = reply},
        {.chan = request->done, .dir = LC_SELECT_RECV},
    };
    if (lc_select(cases, 2, LC_WAIT_FOREVER) != 0 || !cases[0].ok) free(reply);
}

static void *replica_main(void *arg) {
    struct replica_call *call = arg;
    struct request *request = call->request;
    struct reply *reply = fetch_quote(request->id, call->replica);
    if (reply) send_reply(request, reply);
    free(call);
    lc_waitgroup_done(&request->users);
    return NULL;
}

static void retire_request(struct request *request) {
    pthread_mutex_lock(&in_flight_lock);
    lc_hmap_delete(&in_flight, request->id, NULL);
    pthread_mutex_unlock(&in_flight_lock);
    void *unread;
    while (lc_chan_try_recv(request->replies, &unread) == LC_CHAN_OK)
        free(unread);
    lc_chan_free(request->replies);
    lc_chan_free(request->done);
    lc_waitgroup_destroy(&request->users);
    free(request);
}

static void *janitor_main(void *arg) {
    struct request *request = arg;
    lc_waitgroup_wait(&request->users);
    retire_request(request);
    return NULL;
}

static struct request *new_request(const char *symbol, bool cancellable) {
    struct request *request = calloc(1, sizeof(*request));
    if (!request) return NULL;
    request->replies = lc_chan_new(0);
    request->done = cancellable ? lc_chan_new(0) : NULL;
    if (!request->replies || (cancellable && !request->done) ||
        lc_waitgroup_init(&request->users) != 0) {
        lc_chan_free(request->replies);
        lc_chan_free(request->done);
        free(request);
        return NULL;
    }
    snprintf(request->id, sizeof(request->id), "quote-%s-%ld", symbol,
             atomic_fetch_add(&next_request_id, 1));
    return request;
}

static bool track_request(struct request *request) {
    pthread_mutex_lock(&in_flight_lock);
    bool tracked = lc_hmap_put(&in_flight, request->id, request, NULL) >= 0;
    pthread_mutex_unlock(&in_flight_lock);
    return tracked;
}

static void start_replica(struct request *request, int replica, struct fan_out *started) {
    struct replica_call *call = malloc(sizeof(*call));
    char name[16];
    snprintf(name, sizeof(name), "replica-%d", replica);
    if (call) {
        *call = (struct replica_call){.request = request, .replica = replica};
        if (lc_spawn(&started->threads[started->nthreads], name, replica_main, call) == 0) {
            started->nthreads++;
            return;
        }
        free(call);
    }
    lc_waitgroup_done(&request->users);
}

/* Ask every replica for the price of `symbol` and return the first answer,
 * or -1 when none came before the deadline; a cancellable request tells the
 * other replicas it is done. */
static long hedged_quote(const char *symbol, bool cancellable, struct fan_out *started) {
    started->nthreads = 0;
    struct request *request = new_request(symbol, cancellable);
    if (!request) return -1;
    if (!track_request(request)) {
        retire_request(request);
        return -1;
    }
    lc_waitgroup_add(&request->users, REPLICAS + 1);
    if (lc_spawn(&started->threads[0], "janitor", janitor_main, request) != 0) {
        lc_waitgroup_add(&request->users, -(REPLICAS + 1));
        retire_request(request);
        return -1;
    }
    started->nthreads = 1;
    for (int r = 0; r < REPLICAS; r++)
        start_replica(request, r, started);

    long price = -1;
    void *first;
    if (lc_chan_recv_timeout(request->replies, &first, QUOTE_DEADLINE_MS) == LC_CHAN_OK) {
        price = ((struct reply *)first)->price_cents;
        free(first);
    }
    if (request->done) lc_chan_close(request->done);
    lc_waitgroup_done(&request->users);
    return price;
}

/* The leaky service fires and forgets its threads, as Go does goroutines:
 * the replica whose reply was taken exits and is gone, the others never do. */
void sc_chan_waitgroup_thread_leaky(void) {
    struct fan_out started;
    hedged_quote("ACME", false, &started);
    for (int i = 0; i < started.nthreads; i++)
        pthread_detach(started.threads[i]);
}

void sc_chan_waitgroup_thread_fixed(void) {
    struct fan_out started;
    hedged_quote("ACME", true, &started);
    for (int i = 0; i < started.nthreads; i++)
        pthread_join(started.threads[i], NULL);
}
