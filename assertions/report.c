/* SPDX-License-Identifier: MIT */
/* report.c: a check's report, rendered from its model (lc_check, verify.h).
 *
 * Everything here reads the model and writes text: the report of
 * lc_last_report (and of a failing check on stderr), its JSON twin in the
 * leakcheck/1 schema (docs/leakcheck-1.schema.json), the Graphviz graph of
 * retention paths, and the public lc_result. No renderer changes a verdict:
 * the check judged before any of them runs. */
#include "buf.h"
#include "stacks.h"
#include "suppress.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *const lc_class_names[LC_NCLASSES] = {"unreachable", "thread", "reachable"};

static void site_frame(const lc_site *s, lc_frame *f) {
    if (lc_stack_site_frame(s->stack, f) != 0) memset(f, 0, sizeof *f);
}

static const char *site_class_text(const lc_site *s) {
    if (s->klass != LC_CLASS_UNREACHABLE) return lc_class_names[s->klass];
    return s->indirect ? "unreachable, indirect" : "unreachable, direct";
}

static bool has_path(const lc_site *s) {
    return s->klass != LC_CLASS_UNREACHABLE;
}

/* One site each, apart from heap_text and heap_json: the frames and the
 * path take kilobytes of stack, which a passing check (no site) should not
 * have its callees pushed below (fresh pages, in a forked test). */
__attribute__((noinline)) static void site_text(lc_buf *b, const lc_heap_view *h,
                                                const lc_site *s) {
    char sz[32];
    lc_buf_printf(b, "\n%s in %lld object%s [%s], allocated at:\n",
                  lc_fmt_bytes(s->bytes, sz, sizeof sz), s->objects, s->objects == 1 ? "" : "s",
                  site_class_text(s));
    lc_report_stack(b, s->stack, "    ", 12);
    if (!has_path(s)) return;
    lc_path_elem path[LC_PATH_MAX];
    long skipped;
    int n = lc_retention_path(&h->retention, s->example, path, LC_PATH_MAX, &skipped);
    lc_retention_text(b, path, n, skipped, "    ");
}

__attribute__((noinline)) static void site_json(lc_buf *b, const lc_heap_view *h, const lc_site *s,
                                                bool first) {
    lc_buf_printf(b, "%s{\"objects\": %lld, \"bytes\": %lld, \"class\": \"%s\", ",
                  first ? "" : ", ", s->objects, s->bytes, lc_class_names[s->klass]);
    if (s->klass == LC_CLASS_UNREACHABLE)
        lc_buf_printf(b, "\"lost\": \"%s\", ", s->indirect ? "indirect" : "direct");
    lc_buf_printf(b, "\"stack\": ");
    lc_frame frames[LC_MAX_DEPTH];
    int n = 0;
    while (n < LC_MAX_DEPTH && lc_stack_frame_at(s->stack, n, &frames[n]) == 0)
        n++;
    lc_report_stack_json(b, frames, n);
    if (has_path(s)) {
        lc_path_elem path[LC_PATH_MAX];
        long skipped;
        int np = lc_retention_path(&h->retention, s->example, path, LC_PATH_MAX, &skipped);
        lc_buf_printf(b, ", \"path\": ");
        lc_retention_json(b, path, np, skipped);
    }
    lc_buf_printf(b, "}");
}

static void heap_text(lc_buf *b, const lc_heap_view *h, int top) {
    char sz[32], sz2[32], sz3[32], sz4[32];
    long long objects = h->objects, bytes = h->bytes;
    if (!h->count_reachable) {
        objects += h->reachable_objects;
        bytes += h->reachable_bytes;
    }
    lc_buf_printf(b, "%lld leaked object%s (%s) from %zu allocation site%s, largest first:\n",
                  objects, objects == 1 ? "" : "s", lc_fmt_bytes(bytes, sz, sizeof sz), h->nsites,
                  h->nsites == 1 ? "" : "s");
    lc_buf_printf(b,
                  "  unreachable %lld (%s: %lld direct, %lld indirect (%s)), held by leaked "
                  "threads %lld (%s), reachable %lld (%s)\n",
                  h->unreachable_objects, lc_fmt_bytes(h->unreachable_bytes, sz, sizeof sz),
                  h->unreachable_objects - h->indirect_objects, h->indirect_objects,
                  lc_fmt_bytes(h->indirect_bytes, sz2, sizeof sz2), h->thread_objects,
                  lc_fmt_bytes(h->thread_bytes, sz3, sizeof sz3), h->reachable_objects,
                  lc_fmt_bytes(h->reachable_bytes, sz4, sizeof sz4));
    size_t shown = 0;
    for (; shown < h->nsites && (top <= 0 || shown < (size_t)top); shown++)
        site_text(b, h, &h->sites[shown]);
    if (shown < h->nsites) {
        long long objects = 0, bytes = 0;
        for (size_t i = shown; i < h->nsites; i++) {
            objects += h->sites[i].objects;
            bytes += h->sites[i].bytes;
        }
        lc_buf_printf(b, "\n... %zu more site%s (%lld objects, %s) not shown\n", h->nsites - shown,
                      h->nsites - shown == 1 ? "" : "s", objects,
                      lc_fmt_bytes(bytes, sz, sizeof sz));
    }
}

static void heap_json(lc_buf *b, const lc_heap_view *h) {
    lc_buf_printf(b,
                  "{\"leaked_objects\": %lld, \"leaked_bytes\": %lld, \"unreachable_objects\": "
                  "%lld, \"unreachable_bytes\": %lld, \"direct_objects\": %lld, "
                  "\"direct_bytes\": %lld, \"indirect_objects\": %lld, \"indirect_bytes\": %lld, "
                  "\"thread_objects\": %lld, \"thread_bytes\": %lld, \"reachable_objects\": "
                  "%lld, \"reachable_bytes\": %lld, \"suppressed_objects\": %lld, "
                  "\"suppressed_bytes\": %lld, \"sites\": [",
                  h->objects, h->bytes, h->unreachable_objects, h->unreachable_bytes,
                  h->unreachable_objects - h->indirect_objects,
                  h->unreachable_bytes - h->indirect_bytes, h->indirect_objects, h->indirect_bytes,
                  h->thread_objects, h->thread_bytes, h->reachable_objects, h->reachable_bytes,
                  h->suppressed_objects, h->suppressed_bytes);
    for (size_t i = 0; i < h->nsites; i++)
        site_json(b, h, &h->sites[i], i == 0);
    lc_buf_printf(b, "]}");
}

/* Graphviz: the retention paths of every reachable and thread site. */
static void heap_dot(lc_buf *b, const lc_heap_view *h, int top) {
    lc_buf_printf(b, "digraph leakcheck {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (size_t i = 0; i < h->nsites && (top <= 0 || i < (size_t)top); i++) {
        const lc_site *s = &h->sites[i];
        if (!has_path(s)) continue;
        lc_path_elem path[LC_PATH_MAX];
        long skipped;
        int n = lc_retention_path(&h->retention, s->example, path, LC_PATH_MAX, &skipped);
        if (!n) continue;
        char id[32], label[256], sz[32];
        lc_frame f;
        site_frame(s, &f);
        snprintf(id, sizeof id, "leak%zu", i);
        snprintf(label, sizeof label, "%s in %lld object%s [%s]\\n%s",
                 lc_fmt_bytes(s->bytes, sz, sizeof sz), s->objects, s->objects == 1 ? "" : "s",
                 lc_class_names[s->klass], f.function ? f.function : "?");
        lc_retention_dot(b, path, n, id, label);
    }
    lc_buf_printf(b, "}\n");
}

static void fill_sites(const lc_heap_view *h, lc_result *res) {
    res->nsites = 0;
    for (size_t i = 0; i < h->nsites && res->nsites < LC_RESULT_MAX_ITEMS; i++) {
        const lc_site *s = &h->sites[i];
        lc_result_site *o = &res->sites[res->nsites++];
        memset(o, 0, sizeof *o);
        o->objects = s->objects;
        o->bytes = s->bytes;
        snprintf(o->klass, sizeof o->klass, "%s", lc_class_names[s->klass]);
        lc_frame f;
        site_frame(s, &f);
        snprintf(o->function, sizeof o->function, "%s", f.function ? f.function : "");
        bool known = f.file && !lc_frame_deferred(f.file, f.line);
        snprintf(o->file, sizeof o->file, "%s", known ? f.file : "");
        o->line = known ? f.line : 0;
    }
}

/* ------------------------------------------------------------ watched */

static void watched_text(lc_buf *t, const lc_check *c) {
    char sz[32];
    for (int i = 0; c->watched && i < c->watched_live; i++) {
        const struct lc_watched_view *v = &c->watched[i];
        lc_buf_printf(t, "\nwatched object \"%s\" is still live: %s, allocated at:\n", v->w.label,
                      lc_fmt_bytes((long long)v->w.bytes, sz, sizeof sz));
        lc_report_stack(t, v->w.stack, "    ", 12);
        if (!v->scanned) continue;
        lc_retention_text(t, v->path, v->npath, v->skipped, "    ");
        if (v->npath == 0) lc_buf_printf(t, "    (nothing the scan knows of points to it: lost)\n");
    }
}

static void watched_json(lc_buf *j, const lc_check *c) {
    lc_buf_printf(j, "[");
    for (int i = 0; c->watched && i < c->watched_live; i++) {
        const struct lc_watched_view *v = &c->watched[i];
        lc_buf_printf(j, "%s{\"label\": ", i ? ", " : "");
        lc_buf_json_str(j, v->w.label);
        lc_buf_printf(j, ", \"bytes\": %zu", v->w.bytes);
        if (v->scanned) {
            lc_buf_printf(j, ", \"path\": ");
            lc_retention_json(j, v->path, v->npath, v->skipped);
        }
        lc_buf_printf(j, "}");
    }
    lc_buf_printf(j, "]");
}

void lc_report_text(lc_buf *t, const lc_check *c) {
    const lc_heap_view *h = &c->heap;
    char budget_text[96], sz[32];
    lc_budget_format(&c->budget, budget_text, sizeof budget_text);
    if (!c->scanned)
        lc_buf_printf(t, "leakcheck: NOT CHECKED: out of memory while scanning the heap; the "
                         "figures below are incomplete and there is no verdict\n");
    lc_buf_printf(t, "leakcheck: %s: %lld thread%s and %lld object%s (%s) leaked; budget %s\n",
                  !c->scanned ? "incomplete"
                  : c->leak   ? "LEAK"
                              : "within budget",
                  c->nthreads, c->nthreads == 1 ? "" : "s", h->objects, h->objects == 1 ? "" : "s",
                  lc_fmt_bytes(h->bytes, sz, sizeof sz), budget_text);
    if (h->troots.uncaptured)
        lc_buf_printf(t,
                      "leakcheck: the stacks or registers of %d thread%s could not be read; what "
                      "only they hold may be reported as lost\n",
                      h->troots.uncaptured, h->troots.uncaptured == 1 ? "" : "s");
    if (c->nthreads) {
        lc_buf_printf(t, "\n%lld leaked thread%s:\n", c->nthreads, c->nthreads == 1 ? "" : "s");
        lc_thread_report_text(c->threads, t, c->top);
    }
    watched_text(t, c);
    if (h->nsites) {
        lc_buf_printf(t, "\n");
        heap_text(t, h, c->top);
    }
    if (!h->count_reachable && h->reachable_objects)
        lc_buf_printf(t,
                      "\n%lld reachable object%s (%s) listed above are not counted (use "
                      "--strict to count them)\n",
                      h->reachable_objects, h->reachable_objects == 1 ? "" : "s",
                      lc_fmt_bytes(h->reachable_bytes, sz, sizeof sz));
    lc_suppress_report_text(t);
    if (c->profiles.data) lc_buf_printf(t, "%s", c->profiles.data);
    lc_engines_text(t, &c->engines);
}

/* ------------------------------------------------------------ the report */

void lc_report_json_members(lc_buf *j, const lc_check *c) {
    const lc_heap_view *h = &c->heap;
    lc_buf_printf(j, "\"schema\": \"leakcheck/1\", \"verdict\": \"%s\", \"pid\": %d, ",
                  c->verdict < 0 ? "error"
                  : c->leak      ? "leak"
                                 : "clean",
                  (int)getpid());
    if (!c->scanned) lc_buf_printf(j, "\"error\": \"out of memory while scanning the heap\", ");
    lc_buf_printf(j,
                  "\"budget\": {\"bytes\": %lld, \"objects\": %lld, \"threads\": %lld}, "
                  "\"threads\": ",
                  c->budget.bytes, c->budget.objects, c->budget.threads);
    lc_thread_report_json(c->threads, j);
    lc_buf_printf(j, ", \"heap\": ");
    heap_json(j, h);
    lc_buf_printf(j, ", \"watched\": ");
    watched_json(j, c);
    lc_suppress_report_json(j);
    lc_buf_printf(j, ", \"scan\": {\"seconds\": %.6f, \"complete\": %s, \"threads_not_read\": %d}",
                  h->scan_seconds, c->scanned ? "true" : "false", h->troots.uncaptured);
    lc_engines_json(j, &c->engines);
}

void lc_report_dot(lc_buf *b, const lc_check *c) {
    heap_dot(b, &c->heap, c->top);
}

void lc_report_result(const lc_check *c, lc_result *res) {
    const lc_heap_view *h = &c->heap;
    memset(res, 0, sizeof *res);
    res->verdict = c->verdict;
    res->leaked_threads = c->nthreads;
    res->leaked_objects = h->objects;
    res->leaked_bytes = h->bytes;
    res->unreachable_objects = h->unreachable_objects;
    res->unreachable_bytes = h->unreachable_bytes;
    res->budget_bytes = c->budget.bytes;
    res->budget_objects = c->budget.objects;
    res->budget_threads = c->budget.threads;
    res->watched_live = c->watched_live;
    lc_thread_report_fill(c->threads, res);
    fill_sites(h, res);
}
