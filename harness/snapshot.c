/* SPDX-License-Identifier: MIT */
/* snapshot.c: explicit before/after snapshots and their diff.
 *
 * This is the C form of the `pprof -diff_base` workflow: record the live
 * blocks (and the cumulative counts per stack) twice, then group what
 * appeared and what vanished by allocation stack and sort by growth. Each
 * block has a unique sequence number, so "the same block" is an exact
 * notion: two snapshots sorted by sequence merge in one linear pass.
 *
 * A snapshot holds the program's blocks as a check counts them: the blocks
 * the C runtime owns (its stdio buffers, a thread's TLS vectors, what its
 * own data reaches) are found when the snapshot is taken, by the scan that
 * checks use (runtime_owned.c), and are in no diff, count or profile, so
 * that profiles and checks agree on what is the program's. */
#include "buf.h"
#include "core.h"
#include "heap.h"
#include "os.h"
#include "scan.h"
#include "snapshot.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_diff {
    lc_diff_site *sites;
    size_t n, map_bytes;
    size_t new_threads, vanished_threads;
    /* The threads that appeared, then those that vanished: copies of the
     * snapshots' entries, so that the diff outlives the snapshots. */
    thread_entry *threads;
    lc_diff_thread *thread_views;
    size_t nthreads, threads_bytes, views_bytes;
};

/* Flag the C runtime's blocks among the snapshot's (sorted by address for
 * the scan, then by sequence again). Roots are gathered first: they are
 * found with dl_iterate_phdr, and no heap lock is held here. When the scan
 * cannot run (out of memory) no block is flagged: the snapshot then shows
 * the runtime's blocks too, as it did before this scan existed. */
static void flag_runtime_owned(lc_snapshot *s) {
    lc_graph g = {0};
    size_t from = lc_runtime_add_roots(&g), to = g.nroots;
    size_t mark_bytes = s->n ? s->n : 1;
    uint8_t *mark = lc_os_alloc(mark_bytes);
    lc_blocks_sort_by_addr(s->blocks, s->n);
    if (mark && lc_graph_init(&g, s->blocks, s->n, mark, false) == 0 &&
        lc_runtime_owned(&g, from, to, 1, 0) == 0) {
        for (size_t i = 0; i < s->n; i++)
            if (mark[i] & 1) lc_block_add_flags(&s->blocks[i], LC_BLOCK_RUNTIME);
    }
    lc_graph_free(&g);
    lc_os_free(mark, mark_bytes);
    lc_blocks_sort_by_seq(s->blocks, s->n);
}

/* Drop the runtime's blocks, keeping the order. */
static void drop_runtime_owned(lc_snapshot *s) {
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!(lc_block_flags(&s->blocks[i]) & LC_BLOCK_RUNTIME)) s->blocks[kept++] = s->blocks[i];
    s->n = kept;
}

static lc_snapshot *take(bool threads);

lc_snapshot *lc_snapshot_take(void) {
    return take(true);
}

lc_snapshot *lc_snapshot_take_heap(void) {
    return take(false);
}

static lc_snapshot *take(bool threads) {
    lc_self_enter();
    lc_snapshot *s = lc_os_alloc(sizeof *s);
    if (!s) goto out;
    size_t cap = lc_heap_live_count() + 1024;
    for (;;) {
        s->map_bytes = cap * sizeof(lc_block);
        s->blocks = lc_os_alloc(s->map_bytes);
        if (!s->blocks) break;
        s->n = lc_heap_copy(s->blocks, cap, 0);
        if (s->n <= cap) break;
        lc_os_free(s->blocks, s->map_bytes);
        cap = s->n + s->n / 4;
    }
    if (!s->blocks) {
        lc_os_free(s, sizeof *s);
        s = NULL;
        goto out;
    }
    flag_runtime_owned(s);
    drop_runtime_owned(s);
    for (size_t i = 0; i < s->n; i++)
        s->live_bytes += lc_block_size(&s->blocks[i]);
    s->nstacks = lc_stack_count();
    s->totals_bytes = (size_t)s->nstacks * 2 * sizeof(uint64_t);
    s->stack_totals = lc_os_alloc(s->totals_bytes);
    if (s->stack_totals)
        for (uint32_t id = 0; id < s->nstacks; id++)
            lc_stack_totals(id, &s->stack_totals[2 * id], &s->stack_totals[2 * id + 1]);
    if (threads) s->threads = lc_threads_snapshot(true);
out:
    lc_self_leave();
    return s;
}

void lc_snapshot_free(lc_snapshot *s) {
    if (!s) return;
    lc_os_free(s->blocks, s->map_bytes);
    lc_os_free(s->stack_totals, s->totals_bytes);
    lc_threads_snapshot_free(s->threads);
    lc_os_free(s, sizeof *s);
}

size_t lc_snapshot_live_objects(const lc_snapshot *s) {
    return s ? s->n : 0;
}
size_t lc_snapshot_live_bytes(const lc_snapshot *s) {
    return s ? s->live_bytes : 0;
}

static long long abs_ll(long long v) {
    return v < 0 ? -v : v;
}

static int by_growth(const void *a, const void *b) {
    const lc_diff_site *x = a, *y = b;
    if (x->delta_bytes != y->delta_bytes) return x->delta_bytes > y->delta_bytes ? -1 : 1;
    if (x->delta_objects != y->delta_objects) return x->delta_objects > y->delta_objects ? -1 : 1;
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* ------------------------------------------------------------ threads */

/* Entries of `from` that `other` lacks, copied to out (when not NULL);
 * returns how many. */
static size_t threads_missing(const struct lc_thread_snap *from, const struct lc_thread_snap *other,
                              thread_entry *out) {
    size_t k = 0;
    for (size_t i = 0; i < lc_threads_snapshot_count(from); i++) {
        const thread_entry *t = lc_threads_snapshot_entry(from, i);
        if (lc_threads_snapshot_has(other, t->tid, t->id)) continue;
        if (out) out[k] = *t;
        k++;
    }
    return k;
}

/* The public view of entry i, its strings in the entry itself. */
static void thread_view(lc_diff *d, size_t i, bool appeared) {
    thread_entry *t = &d->threads[i];
    /* Each is printed as a group of its own. */
    t->count = 1;
    t->leader = (int)i;
    d->thread_views[i] = (lc_diff_thread){
        .appeared = appeared,
        .tid = (int)t->tid,
        .name = t->name,
        .state = t->state,
        .wait = t->wait,
        .wait_object = (const void *)t->wait_object,
        .created_by = (uint32_t)t->created_by,
        .depth = t->cap.status == LC_CAPTURE_OK ? t->cap.depth : 0,
    };
}

static void diff_threads(lc_diff *d, const struct lc_thread_snap *before,
                         const struct lc_thread_snap *after) {
    d->new_threads = threads_missing(after, before, NULL);
    d->vanished_threads = threads_missing(before, after, NULL);
    size_t n = d->new_threads + d->vanished_threads;
    if (!n) return;
    d->threads_bytes = n * sizeof *d->threads;
    d->views_bytes = n * sizeof *d->thread_views;
    d->threads = lc_os_alloc(d->threads_bytes);
    d->thread_views = lc_os_alloc(d->views_bytes);
    if (!d->threads || !d->thread_views) {
        /* The counts stay; the threads themselves cannot be listed. */
        lc_os_free(d->threads, d->threads_bytes);
        lc_os_free(d->thread_views, d->views_bytes);
        d->threads = NULL;
        d->thread_views = NULL;
        return;
    }
    threads_missing(after, before, d->threads);
    threads_missing(before, after, d->threads + d->new_threads);
    d->nthreads = n;
    for (size_t i = 0; i < n; i++)
        thread_view(d, i, i < d->new_threads);
}

size_t lc_diff_thread_count(const lc_diff *d) {
    return d ? d->nthreads : 0;
}

const lc_diff_thread *lc_diff_thread_get(const lc_diff *d, size_t i) {
    return d && i < d->nthreads ? &d->thread_views[i] : NULL;
}

int lc_diff_thread_frame(const lc_diff *d, size_t i, int k, lc_frame *f) {
    if (!d || i >= d->nthreads || k < 0 || k >= d->thread_views[i].depth || !f) return -1;
    uintptr_t pc = d->threads[i].cap.pcs[k];
    /* Frame 0 is where the thread was interrupted; the others are return
     * addresses, whose call is the instruction before. */
    lc_symbolize_pc_now(k == 0 ? pc : pc - 1, f);
    f->pc = pc;
    return 0;
}

/* ------------------------------------------------------------ heap */

lc_diff *lc_snapshot_diff(const lc_snapshot *before, const lc_snapshot *after,
                          const lc_diff_options *opts) {
    if (!before || !after) return NULL;
    lc_diff_options o = opts ? *opts : (lc_diff_options){0};
    uint32_t nstacks = after->nstacks > before->nstacks ? after->nstacks : before->nstacks;
    size_t per_bytes = (size_t)nstacks * sizeof(lc_diff_site);
    lc_diff_site *per = lc_os_alloc(per_bytes ? per_bytes : 1);
    lc_diff *d = lc_os_alloc(sizeof *d);
    if (!per || !d) {
        lc_os_free(per, per_bytes ? per_bytes : 1);
        lc_os_free(d, sizeof *d);
        return NULL;
    }
    /* Merge the two sequence-sorted block lists. */
    size_t i = 0, j = 0;
    while (i < before->n || j < after->n) {
        uint64_t si = i < before->n ? lc_block_seq(&before->blocks[i]) : UINT64_MAX;
        uint64_t sj = j < after->n ? lc_block_seq(&after->blocks[j]) : UINT64_MAX;
        if (si == sj) {
            i++;
            j++;
        } else if (si < sj) { /* vanished */
            const lc_block *b = &before->blocks[i++];
            lc_diff_site *p = &per[lc_block_stack(b)];
            p->vanished_objects++;
            p->vanished_bytes += (long long)lc_block_size(b);
        } else { /* appeared */
            const lc_block *b = &after->blocks[j++];
            lc_diff_site *p = &per[lc_block_stack(b)];
            p->appeared_objects++;
            p->appeared_bytes += (long long)lc_block_size(b);
        }
    }
    for (size_t k = 0; k < after->n; k++) {
        lc_diff_site *p = &per[lc_block_stack(&after->blocks[k])];
        p->inuse_objects++;
        p->inuse_bytes += (long long)lc_block_size(&after->blocks[k]);
    }
    size_t kept = 0;
    for (uint32_t id = 0; id < nstacks; id++) {
        lc_diff_site *p = &per[id];
        if (!p->appeared_objects && !p->vanished_objects) continue;
        p->stack_id = id;
        p->delta_objects = p->appeared_objects - p->vanished_objects;
        p->delta_bytes = p->appeared_bytes - p->vanished_bytes;
        if (abs_ll(p->delta_objects) < o.min_objects || abs_ll(p->delta_bytes) < o.min_bytes)
            continue;
        if (after->stack_totals && id < after->nstacks) {
            p->alloc_objects = (long long)after->stack_totals[2 * id];
            p->alloc_bytes = (long long)after->stack_totals[2 * id + 1];
        }
        per[kept++] = *p;
    }
    qsort(per, kept, sizeof *per, by_growth);
    if (o.top > 0 && kept > (size_t)o.top) kept = (size_t)o.top;
    d->sites = per;
    d->n = kept;
    d->map_bytes = per_bytes ? per_bytes : 1;
    diff_threads(d, before->threads, after->threads);
    return d;
}

size_t lc_diff_count(const lc_diff *d) {
    return d ? d->n : 0;
}
const lc_diff_site *lc_diff_get(const lc_diff *d, size_t i) {
    return d && i < d->n ? &d->sites[i] : NULL;
}
size_t lc_diff_new_threads(const lc_diff *d) {
    return d ? d->new_threads : 0;
}
size_t lc_diff_vanished_threads(const lc_diff *d) {
    return d ? d->vanished_threads : 0;
}

void lc_diff_free(lc_diff *d) {
    if (!d) return;
    lc_os_free(d->sites, d->map_bytes);
    lc_os_free(d->threads, d->threads_bytes);
    lc_os_free(d->thread_views, d->views_bytes);
    lc_os_free(d, sizeof *d);
}

void lc_report_stack(lc_buf *b, lc_stack_id id, const char *indent, int max_frames);

/* The threads as a goroutine dump diff: each thread's paragraph, as a check
 * or a dump prints it, every line marked "+" (appeared) or "-" (vanished). */
static void print_threads(lc_buf *b, const lc_diff *d) {
    for (size_t i = 0; i < d->nthreads; i++) {
        lc_buf one = {0};
        lc_thread_entry_text(&one, d->threads, d->nthreads, i);
        const char *mark = d->thread_views[i].appeared ? "+ " : "- ";
        lc_buf_printf(b, "\n");
        for (const char *line = one.data; line && *line;) {
            const char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            lc_buf_printf(b, "%s%.*s\n", mark, len, line);
            line = nl ? nl + 1 : line + len;
        }
        lc_buf_free(&one);
    }
}

void lc_diff_print(const lc_diff *d, FILE *out) {
    if (!d) return;
    lc_line_service_hold(); /* its files and lines, on one connection */
    lc_buf b = {0};
    lc_buf_printf(&b, "%-10s %-12s %-10s %-12s %-12s %s\n", "Δobjects", "Δbytes", "inuse",
                  "inuse bytes", "alloc bytes", "site");
    for (size_t i = 0; i < d->n; i++) {
        const lc_diff_site *s = &d->sites[i];
        lc_buf_printf(&b, "%+-10lld %+-12lld %-10lld %-12lld %-12lld\n", s->delta_objects,
                      s->delta_bytes, s->inuse_objects, s->inuse_bytes, s->alloc_bytes);
        lc_report_stack(&b, s->stack_id, "    ", 8);
    }
    lc_buf_printf(&b, "threads: %zu new, %zu vanished\n", d->new_threads, d->vanished_threads);
    print_threads(&b, d);
    lc_line_service_release();
    if (b.data) fputs(b.data, out);
    lc_buf_free(&b);
}
