/* SPDX-License-Identifier: MIT */
/* safemap.c: a registry of channels whose delete closes the channel.
 *
 * The first reference cycle of this project is a map entry that is deleted
 * while a worker still waits on the entry's channel: the worker never learns
 * that nobody will send again. Tying close to delete breaks the cycle, since
 * every worker receiving from the channel sees ok == false and ends. The map
 * holds one reference to each channel, so a sender that found a channel can
 * keep using it after a concurrent delete without touching freed memory. */
#include "leakcheck_toolkit.h"

void lc_safemap_init(lc_safemap *m) {
    pthread_mutex_init(&m->lock, NULL);
    lc_hmap_init(&m->channels, LC_HMAP_AUTO_SHRINK);
}

static void close_and_release(lc_chan *ch) {
    lc_chan_close(ch);
    lc_chan_free(ch);
}

void lc_safemap_destroy(lc_safemap *m) {
    pthread_mutex_lock(&m->lock);
    lc_hmap_iter it;
    void *ch;
    lc_hmap_iter_init(&it, &m->channels);
    while (lc_hmap_iter_next(&it, NULL, &ch))
        close_and_release(ch);
    lc_hmap_destroy(&m->channels);
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_destroy(&m->lock);
}

int lc_safemap_put(lc_safemap *m, const char *key, lc_chan *ch) {
    void *replaced = NULL;
    pthread_mutex_lock(&m->lock);
    int rc = lc_hmap_put(&m->channels, key, lc_chan_retain(ch), &replaced);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0) {
        lc_chan_free(ch);
        return -1;
    }
    if (rc == 1) close_and_release(replaced);
    return 0;
}

lc_chan *lc_safemap_get(lc_safemap *m, const char *key) {
    void *ch = NULL;
    pthread_mutex_lock(&m->lock);
    if (lc_hmap_lookup(&m->channels, key, &ch)) lc_chan_retain(ch);
    pthread_mutex_unlock(&m->lock);
    return ch;
}

bool lc_safemap_delete(lc_safemap *m, const char *key) {
    void *ch = NULL;
    pthread_mutex_lock(&m->lock);
    bool found = lc_hmap_delete(&m->channels, key, &ch);
    pthread_mutex_unlock(&m->lock);
    if (found) close_and_release(ch);
    return found;
}

lc_chan_status lc_safemap_send(lc_safemap *m, const char *key, void *value) {
    lc_chan *ch = lc_safemap_get(m, key);
    if (!ch) return LC_CHAN_CLOSED;
    lc_chan_status status = lc_chan_send(ch, value);
    lc_chan_free(ch);
    return status;
}

size_t lc_safemap_size(lc_safemap *m) {
    pthread_mutex_lock(&m->lock);
    size_t n = lc_hmap_size(&m->channels);
    pthread_mutex_unlock(&m->lock);
    return n;
}
