/* SPDX-License-Identifier: MIT */
/* thread_snap.c: the threads of a snapshot.
 *
 * A snapshot records every thread as a check describes it (its id and
 * creation number, name, state, wait, creator) and, for lc_snapshot_take,
 * its stack, captured as the thread dump captures it: so a diff of two
 * snapshots shows the threads that appeared or vanished as fully as the
 * heap half shows blocks. The record is a thread report of the caller's
 * own, so that snapshots taken at once from several threads share nothing.
 * goleak's IgnoreCurrent (lc_current_threads) keeps one without stacks: it
 * needs only to know the threads again. */
#include "core.h"
#include "os.h"
#include "thread.h"

struct lc_thread_snap {
    lc_thread_report *r;
};

struct lc_thread_snap *lc_threads_snapshot(bool stacks) {
    struct lc_thread_snap *s = lc_os_alloc(sizeof *s);
    if (!s) return NULL;
    s->r = lc_threads_all(stacks);
    if (!s->r) {
        lc_os_free(s, sizeof *s);
        return NULL;
    }
    return s;
}

void lc_threads_snapshot_free(struct lc_thread_snap *s) {
    if (!s) return;
    lc_thread_report_free(s->r);
    lc_os_free(s, sizeof *s);
}

size_t lc_threads_snapshot_count(const struct lc_thread_snap *s) {
    return s ? s->r->n : 0;
}

const thread_entry *lc_threads_snapshot_entry(const struct lc_thread_snap *s, size_t i) {
    return s && i < s->r->n ? &s->r->e[i] : NULL;
}

bool lc_threads_snapshot_has(const struct lc_thread_snap *s, pid_t tid, uint64_t id) {
    for (size_t i = 0; s && i < s->r->n; i++)
        if (s->r->e[i].tid == tid && s->r->e[i].id == id) return true;
    return false;
}
