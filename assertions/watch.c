/* SPDX-License-Identifier: MIT */
/* watch.c: objects that must be gone by the next check.
 *
 * lc_watch(ptr, label) records the block's address with its sequence number
 * (so a later block at the same address is not mistaken for it). A check
 * that finds a watched block still live names it by its label, whatever the
 * budget: the program said this object must be freed, and shows what still
 * holds it. A watch ends when its block is freed. */
#include "probe.h"
#include "buf.h"
#include "heap.h"
#include "symbols.h"
#include "verify.h"

#include <stdio.h>
#include <string.h>

#define MAX_WATCHES 256

typedef struct watch {
    uintptr_t key; /* disguised, like every address the library keeps */
    uint64_t seq;
    char label[64];
} watch;

static watch watches[MAX_WATCHES];
static int nwatches;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

void lc_watch(const void *ptr, const char *label) {
    lc_block b;
    if (!ptr || !lc_heap_lookup((uintptr_t)ptr, &b)) return;
    pthread_mutex_lock(&watch_lock);
    if (nwatches < MAX_WATCHES) {
        watch *w = &watches[nwatches++];
        w->key = (uintptr_t)ptr ^ LC_HIDE;
        w->seq = lc_block_seq(&b);
        snprintf(w->label, sizeof w->label, "%s", label ? label : "(unlabelled)");
    }
    pthread_mutex_unlock(&watch_lock);
}

int lc_watch_count(void) {
    pthread_mutex_lock(&watch_lock);
    int n = nwatches;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

int lc_watch_report(lc_buf *text, lc_buf *json, lc_watch_path_fn path, void *ctx) {
    int live = 0;
    char sz[32];
    pthread_mutex_lock(&watch_lock);
    lc_buf_printf(json, "[");
    int kept = 0;
    for (int i = 0; i < nwatches; i++) {
        watch w = watches[i];
        lc_block b;
        if (!lc_heap_lookup(w.key ^ LC_HIDE, &b) || lc_block_seq(&b) != w.seq) continue;
        watches[kept++] = w;
        LC_PROBE_WATCH_HIT(w.key ^ LC_HIDE, w.label);
        lc_buf_printf(text, "\nwatched object \"%s\" is still live: %s, allocated at:\n", w.label,
                      lc_fmt_bytes((long long)lc_block_size(&b), sz, sizeof sz));
        lc_report_stack(text, lc_block_stack(&b), "    ", 12);
        lc_buf_printf(json, "%s{\"label\": ", live ? ", " : "");
        lc_buf_json_str(json, w.label);
        lc_buf_printf(json, ", \"bytes\": %zu", lc_block_size(&b));
        if (path) path(w.key ^ LC_HIDE, text, json, ctx);
        lc_buf_printf(json, "}");
        live++;
    }
    nwatches = kept;
    lc_buf_printf(json, "]");
    pthread_mutex_unlock(&watch_lock);
    return live;
}
