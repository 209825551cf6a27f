/* SPDX-License-Identifier: MIT */
/* sc_closure_captures_map.c: reference cycle 3, map[key] -> struct{channel}
 * -> blocked reader -> context capturing the map.
 *
 * A quote cache publishes price ticks on one feed per symbol and keeps a
 * 1 MiB snapshot of the last prices. One subscriber thread watches each
 * symbol. The leaky subscriber's context points to the whole cache, as a Go
 * closure captures every variable it mentions, although it needs one feed:
 * the cache is reference-counted so that the pointer stays valid, and its
 * feeds close only when the last reference goes. The owner's release is
 * therefore never the last one: each subscriber waits in "chan receive" on a
 * feed that closes only after it exits, and keeps the cache, its map, its
 * feeds and the snapshot alive. The fixed subscriber's context holds only its
 * own feed and a shutdown channel; the owner closes the shutdown channel,
 * joins the subscribers and frees the cache. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYMBOLS 4
#define TICKS_PER_SYMBOL 3
#define FEED_SLOTS 16
#define SNAPSHOT_BYTES (1024 * 1024)
#define SNAPSHOT_RECORD 64

static const char *const symbols[SYMBOLS] = {"ACME", "GLBX", "INIT", "UMBR"};

struct tick {
    long price_cents;
};

struct quote_cache {
    pthread_mutex_t lock;
    int refs;
    lc_hmap feeds;  /* symbol -> lc_chan * of struct tick *, one reference each */
    char *snapshot; /* one record per published tick, for late subscribers */
    size_t snapshot_used;
};

static void close_feed(lc_chan *feed) {
    lc_chan_close(feed);
    void *tick;
    while (lc_chan_recv(feed, &tick))
        free(tick);
    lc_chan_free(feed);
}

static void cache_free(struct quote_cache *cache) {
    lc_hmap_iter it;
    void *feed;
    lc_hmap_iter_init(&it, &cache->feeds);
    while (lc_hmap_iter_next(&it, NULL, &feed))
        close_feed(feed);
    lc_hmap_destroy(&cache->feeds);
    pthread_mutex_destroy(&cache->lock);
    free(cache->snapshot);
    free(cache);
}

static struct quote_cache *cache_new(void) {
    struct quote_cache *cache = calloc(1, sizeof(*cache));
    if (!cache) return NULL;
    pthread_mutex_init(&cache->lock, NULL);
    cache->refs = 1;
    lc_hmap_init(&cache->feeds, 0);
    cache->snapshot = calloc(1, SNAPSHOT_BYTES);
    bool complete = cache->snapshot != NULL;
    for (int s = 0; s < SYMBOLS && complete; s++) {
        lc_chan *feed = lc_chan_new(FEED_SLOTS);
        complete = feed && lc_hmap_put(&cache->feeds, symbols[s], feed, NULL) >= 0;
        if (!complete) lc_chan_free(feed);
    }
    if (!complete) {
        cache_free(cache);
        return NULL;
    }
    return cache;
}

static struct quote_cache *cache_retain(struct quote_cache *cache) {
    pthread_mutex_lock(&cache->lock);
    cache->refs++;
    pthread_mutex_unlock(&cache->lock);
    return cache;
}

static void cache_release(struct quote_cache *cache) {
    pthread_mutex_lock(&cache->lock);
    bool last = --cache->refs == 0;
    pthread_mutex_unlock(&cache->lock);
    if (last) cache_free(cache);
}

/* A new reference to the feed of `symbol`, or NULL. */
static lc_chan *cache_feed(struct quote_cache *cache, const char *symbol) {
    void *feed = NULL;
    pthread_mutex_lock(&cache->lock);
    if (lc_hmap_lookup(&cache->feeds, symbol, &feed)) lc_chan_retain(feed);
    pthread_mutex_unlock(&cache->lock);
    return feed;
}

static void cache_publish(struct quote_cache *cache, const char *symbol, long price_cents) {
    lc_chan *feed = cache_feed(cache, symbol);
    struct tick *tick = malloc(sizeof(*tick));
    if (feed && tick) {
        tick->price_cents = price_cents;
        if (lc_chan_try_send(feed, tick) == LC_CHAN_OK) tick = NULL;
    }
    free(tick);
    lc_chan_free(feed);

    pthread_mutex_lock(&cache->lock);
    if (cache->snapshot_used + SNAPSHOT_RECORD <= SNAPSHOT_BYTES) {
        snprintf(cache->snapshot + cache->snapshot_used, SNAPSHOT_RECORD, "%s %ld", symbol,
                 price_cents);
        cache->snapshot_used += SNAPSHOT_RECORD;
    }
    pthread_mutex_unlock(&cache->lock);
}

static void publish_ticks(struct quote_cache *cache) {
    for (int round = 0; round < TICKS_PER_SYMBOL; round++) {
        for (int s = 0; s < SYMBOLS; s++)
            cache_publish(cache, symbols[s], 1000 * (s + 1) + round);
    }
}

/* Start one watcher per symbol; each started watcher owns its context and
 * leaves NULL in its slot, so the caller frees only the contexts left. */
static void spawn_watchers(void *(*watch)(void *), void **contexts, pthread_t *threads,
                           int *started) {
    *started = 0;
    for (int s = 0; s < SYMBOLS; s++) {
        if (!contexts[s]) continue;
        char name[16];
        snprintf(name, sizeof(name), "quote-%s", symbols[s]);
        if (lc_spawn(&threads[*started], name, watch, contexts[s]) == 0) {
            (*started)++;
            contexts[s] = NULL;
        }
    }
}

/* ---------------------------------------------------------------- leaky */

struct capturing_watcher {
    struct quote_cache *cache; /* all of it, for the one feed it reads */
    const char *symbol;
    long last_price;
};

static void *watch_symbol_capturing_cache(void *arg) {
    struct capturing_watcher *w = arg;
    lc_chan *feed = cache_feed(w->cache, w->symbol);
    void *tick;
    while (lc_chan_recv(feed, &tick)) {
        w->last_price = ((struct tick *)tick)->price_cents;
        free(tick);
    }
    lc_chan_free(feed);
    cache_release(w->cache);
    free(w);
    return NULL;
}

void sc_closure_captures_map_leaky(void) {
    struct quote_cache *cache = cache_new();
    if (!cache) return;
    void *contexts[SYMBOLS];
    for (int s = 0; s < SYMBOLS; s++) {
        struct capturing_watcher *w = calloc(1, sizeof(*w));
        if (w) {
            w->cache = cache_retain(cache);
            w->symbol = symbols[s];
        }
        contexts[s] = w;
    }
    pthread_t threads[SYMBOLS];
    int started;
    spawn_watchers(watch_symbol_capturing_cache, contexts, threads, &started);
    for (int s = 0; s < SYMBOLS; s++) {
        struct capturing_watcher *unstarted = contexts[s];
        if (unstarted) {
            cache_release(unstarted->cache);
            free(unstarted);
        }
    }
    publish_ticks(cache);
    cache_release(cache);
}

/* ---------------------------------------------------------------- fixed */

struct watcher {
    lc_chan *feed;     /* its own reference to the one feed it reads */
    lc_chan *shutdown; /* closed by the owner when it is time to stop */
    long last_price;
};

static void *watch_symbol(void *arg) {
    struct watcher *w = arg;
    for (;;) {
        lc_select_case cases[] = {{.chan = w->feed, .dir = LC_SELECT_RECV},
                                  {.chan = w->shutdown, .dir = LC_SELECT_RECV}};
        if (lc_select(cases, 2, LC_WAIT_FOREVER) != 0 || !cases[0].ok) break;
        w->last_price = ((struct tick *)cases[0].value)->price_cents;
        free(cases[0].value);
    }
    lc_chan_free(w->feed);
    lc_chan_free(w->shutdown);
    free(w);
    return NULL;
}

static void free_watcher(struct watcher *w) {
    if (w) {
        lc_chan_free(w->feed);
        lc_chan_free(w->shutdown);
        free(w);
    }
}

void sc_closure_captures_map_fixed(void) {
    struct quote_cache *cache = cache_new();
    lc_chan *shutdown = lc_chan_new(0);
    if (!cache || !shutdown) {
        lc_chan_free(shutdown);
        if (cache) cache_release(cache);
        return;
    }
    void *contexts[SYMBOLS];
    for (int s = 0; s < SYMBOLS; s++) {
        struct watcher *w = calloc(1, sizeof(*w));
        if (w) {
            w->feed = cache_feed(cache, symbols[s]);
            w->shutdown = lc_chan_retain(shutdown);
        }
        contexts[s] = w;
    }
    pthread_t threads[SYMBOLS];
    int started;
    spawn_watchers(watch_symbol, contexts, threads, &started);
    for (int s = 0; s < SYMBOLS; s++)
        free_watcher(contexts[s]);
    publish_ticks(cache);

    lc_chan_close(shutdown);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    lc_chan_free(shutdown);
    cache_release(cache);
}
