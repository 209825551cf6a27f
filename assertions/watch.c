/* SPDX-License-Identifier: MIT */
/* watch.c: objects that must be gone by the next check.
 *
 * lc_watch(ptr, label) records the block's address with its sequence number
 * (so a later block at the same address is not mistaken for it). A check
 * that finds a watched block still live names it by its label, whatever the
 * budget: the program said this object must be freed, and shows what still
 * holds it. A watch ends when its block is freed. This file keeps the
 * watches and answers which are still live; the check finds what retains
 * them and the report renders them (report.c). */
#include "probe.h"
#include "buf.h"
#include "heap.h"
#include "symbols.h"
#include "verify.h"

#include <stdio.h>
#include <string.h>

typedef struct watch {
    uintptr_t key; /* disguised, like every address the library keeps */
    uint64_t seq;
    char label[64];
} watch;

static watch watches[LC_MAX_WATCHES];
/* Written under watch_lock, read without it by lc_watch_count: every check
 * asks, and in a forked test taking the lock would write its page. */
LC_FORK_STATE static _Atomic int nwatches;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

void lc_watch(const void *ptr, const char *label) {
    lc_block b;
    if (!ptr || !lc_heap_lookup((uintptr_t)ptr, &b)) return;
    pthread_mutex_lock(&watch_lock);
    if (nwatches < LC_MAX_WATCHES) {
        watch *w = &watches[nwatches++];
        w->key = (uintptr_t)ptr ^ LC_HIDE;
        w->seq = lc_block_seq(&b);
        snprintf(w->label, sizeof w->label, "%s", label ? label : "(unlabelled)");
    }
    pthread_mutex_unlock(&watch_lock);
}

int lc_watch_count(void) {
    return atomic_load_explicit(&nwatches, memory_order_acquire);
}

size_t lc_watch_live(lc_watched *out, size_t cap) {
    size_t live = 0;
    pthread_mutex_lock(&watch_lock);
    int kept = 0;
    for (int i = 0; i < nwatches; i++) {
        watch w = watches[i];
        lc_block b;
        if (!lc_heap_lookup(w.key ^ LC_HIDE, &b) || lc_block_seq(&b) != w.seq) continue;
        watches[kept++] = w;
        LC_PROBE_WATCH_HIT(w.key ^ LC_HIDE, w.label);
        if (live < cap) {
            lc_watched *o = &out[live];
            memcpy(o->label, w.label, sizeof o->label);
            o->addr = w.key ^ LC_HIDE;
            o->bytes = lc_block_size(&b);
            o->stack = lc_block_stack(&b);
        }
        live++;
    }
    nwatches = kept;
    pthread_mutex_unlock(&watch_lock);
    return live;
}
