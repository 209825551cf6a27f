/* SPDX-License-Identifier: MIT */
/* retention.c: why a leaked block is still alive, told as a chain.
 *
 * A report that says "64 bytes still reachable" leaves the reader to guess
 * who holds them. The scan (reach.c) keeps, for every block it reaches, the
 * holder it was first reached from; this file turns that chain into words,
 * from the root down to the leaked block: the root (a named global of a
 * named file, a thread-local variable, or a thread with its state and the
 * frame whose stack slot holds the pointer), then each heap block on the
 * way with its allocation site and the offset of the pointer inside it. The
 * same chain is written as text, as JSON ({kind, name, site, offset}) and as
 * Graphviz edges. */
#include "buf.h"
#include "heap.h"
#include "os.h"
#include "scan.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <stdio.h>
#include <string.h>

/* The frame of a captured thread whose part of the stack holds addr: frame
 * i owns [sp_i, sp_{i+1}). */
static int frame_holding(const lc_capture *c, uintptr_t addr) {
    int found = -1;
    for (int i = 0; i < c->depth; i++) {
        if (!c->sps[i] || c->sps[i] > addr) break;
        found = i;
    }
    return found;
}

/* The checking thread walks its own frame-pointer chain from the program's
 * frame that called the check. */
static bool own_frame_holding(uintptr_t from, uintptr_t addr, lc_frame *f, uintptr_t *frame_sp) {
    uintptr_t lo, hi;
    if (!from || !lc_os_thread_stack(&lo, &hi)) return false;
    for (uintptr_t fp = from; fp >= from && fp + 16 <= hi;) {
        uintptr_t next = ((const uintptr_t *)fp)[0];
        uintptr_t ret = ((const uintptr_t *)fp)[1];
        if (next <= fp || next >= hi) return false;
        if (addr >= fp + 16 && addr < next + 16) {
            lc_symbolize_pc(ret - 1, f);
            *frame_sp = fp + 16;
            return f->function != NULL;
        }
        fp = next;
    }
    return false;
}

static void thread_label(const lc_retention *r, const lc_root *root, char *out, size_t len) {
    if (root->thread >= LC_LIVE_THREAD_BASE) {
        size_t i = (size_t)(root->thread - LC_LIVE_THREAD_BASE);
        const char *name = r->tr && i < r->tr->nlive ? r->tr->live[i].name : "";
        snprintf(out, len, "thread %d \"%s\" [alive]", (int)root->tid, name);
    } else if (root->thread >= 0) {
        lc_thread_report_label(r->threads, (size_t)root->thread, out, len);
    } else {
        snprintf(out, len, "thread %d (%s)", (int)root->tid,
                 r->process_mode ? "the main thread, exiting" : "the checking thread");
    }
}

static const lc_capture *root_capture(const lc_retention *r, const lc_root *root) {
    if (root->thread >= LC_LIVE_THREAD_BASE) {
        size_t i = (size_t)(root->thread - LC_LIVE_THREAD_BASE);
        return r->tr && i < r->tr->nlive ? &r->tr->live[i].cap : NULL;
    }
    if (root->thread >= 0) return lc_thread_report_capture(r->threads, (size_t)root->thread);
    return NULL;
}

static void describe_root(const lc_retention *r, const lc_root *root, uint32_t offset,
                          lc_path_elem *e) {
    uintptr_t addr = root->r.start + offset;
    e->offset = offset;
    switch (root->kind) {
    case LC_ROOT_GLOBAL:
    case LC_ROOT_TLS: {
        bool tls = root->kind == LC_ROOT_TLS;
        e->kind = tls ? "tls" : "global";
        lc_data_sym sym;
        int found =
            root->module ? lc_symbolize_data(tls ? offset : addr, root->module, tls, &sym) : -1;
        if (found == 0) {
            snprintf(e->name, sizeof e->name, "%s", sym.name);
            e->offset = (long long)sym.offset;
            e->site.file = sym.file;
            e->site.line = sym.line;
            e->has_site = sym.file != NULL;
        } else {
            snprintf(e->name, sizeof e->name, "data of %s", root->module ? root->module : "?");
        }
        if (tls) thread_label(r, root, e->owner, sizeof e->owner);
        e->module = root->module;
        break;
    }
    case LC_ROOT_STACK: {
        e->kind = "thread";
        thread_label(r, root, e->name, sizeof e->name);
        const lc_capture *c = root_capture(r, root);
        int i = c ? frame_holding(c, addr) : -1;
        uintptr_t frame_sp = root->r.start;
        if (i >= 0) {
            lc_symbolize_pc(i == 0 ? c->pcs[i] : c->pcs[i] - 1, &e->site);
            e->has_site = true;
            frame_sp = c->sps[i];
        } else if (root->thread == -1) {
            e->has_site = own_frame_holding(r->caller_frame, addr, &e->site, &frame_sp);
        }
        e->offset = (long long)(addr - frame_sp);
        break;
    }
    case LC_ROOT_TSD:
        e->kind = "tsd";
        thread_label(r, root, e->name, sizeof e->name);
        /* The slot in its array of 32 (the key itself in the first). */
        e->offset = offset / (uint32_t)(2 * sizeof(uintptr_t));
        break;
    case LC_ROOT_REGION:
        e->kind = "region";
        snprintf(e->name, sizeof e->name, "%s", root->module ? root->module : "");
        break;
    case LC_ROOT_MAPPING:
        e->kind = "mapping";
        snprintf(e->name, sizeof e->name, "anonymous mapping at %#lx", (unsigned long)root->base);
        e->offset = (long long)(addr - root->base);
        break;
    case LC_ROOT_REGISTERS:
        e->kind = "registers";
        thread_label(r, root, e->name, sizeof e->name);
        e->offset = offset / (uint32_t)sizeof(uintptr_t); /* the register's number */
        break;
    }
}

int lc_retention_path(const lc_retention *r, size_t k, lc_path_elem *out, int max, long *skipped) {
    lc_path_step steps[LC_PATH_MAX];
    if (max > LC_PATH_MAX) max = LC_PATH_MAX;
    int n = lc_graph_path(r->g, k, steps, max, skipped);
    for (int i = 0; i < n; i++) {
        lc_path_elem *e = &out[i];
        memset(e, 0, sizeof *e);
        if (steps[i].root >= 0) {
            describe_root(r, &r->g->roots[steps[i].root], steps[i].offset, e);
            continue;
        }
        const lc_block *b = &r->g->all[steps[i].block];
        e->kind = "block";
        e->bytes = (long long)lc_block_size(b);
        snprintf(e->name, sizeof e->name, "%lld-byte block", e->bytes);
        e->has_site = lc_stack_site_frame(lc_block_stack(b), &e->site) == 0;
        e->offset = steps[i].offset;
    }
    return n;
}

static void site_text(lc_buf *b, const lc_path_elem *e) {
    if (!e->has_site) return;
    if (e->site.function) lc_buf_printf(b, " in %s", e->site.function);
    lc_report_file_line(b, e->site.file, e->site.line, 'P');
}

void lc_retention_text(lc_buf *b, const lc_path_elem *p, int n, long skipped, const char *indent) {
    if (n == 0) return;
    lc_buf_printf(b, "%sretained by (shortest path from a root):\n", indent);
    for (int i = 0; i < n; i++) {
        const lc_path_elem *e = &p[i];
        const char *arrow = i ? "-> " : "";
        if (strcmp(e->kind, "block") == 0) {
            lc_buf_printf(b, "%s  %s%s allocated", indent, arrow, e->name);
            site_text(b, e);
            lc_buf_printf(b, ", pointer at +%lld\n", e->offset);
        } else if (strcmp(e->kind, "thread") == 0) {
            lc_buf_printf(b, "%s  %s%s, stack", indent, arrow, e->name);
            if (e->has_site && e->site.function) lc_buf_printf(b, " of frame %s", e->site.function);
            if (e->has_site) lc_report_file_line(b, e->site.file, e->site.line, 'P');
            lc_buf_printf(b, ", slot +%lld\n", e->offset);
        } else if (strcmp(e->kind, "region") == 0) {
            lc_buf_printf(b, "%s  %sregistered region \"%s\" +%lld\n", indent, arrow, e->name,
                          e->offset);
        } else if (strcmp(e->kind, "mapping") == 0) {
            lc_buf_printf(b, "%s  %s%s +%lld\n", indent, arrow, e->name, e->offset);
        } else if (strcmp(e->kind, "registers") == 0) {
            lc_buf_printf(b, "%s  %s%s, register #%lld\n", indent, arrow, e->name, e->offset);
        } else if (strcmp(e->kind, "tsd") == 0) {
            lc_buf_printf(b, "%s  %s%s, pthread_setspecific value in slot %lld\n", indent, arrow,
                          e->name, e->offset);
        } else {
            lc_buf_printf(b, "%s  %s%s `%s`", indent, arrow,
                          strcmp(e->kind, "tls") == 0 ? "thread-local" : "global", e->name);
            if (e->offset) lc_buf_printf(b, " +%lld", e->offset);
            if (e->has_site) lc_report_file_line(b, e->site.file, e->site.line, 'p');
            if (e->owner[0]) lc_buf_printf(b, " of %s", e->owner);
            lc_buf_printf(b, "\n");
        }
        if (i == 0 && skipped)
            lc_buf_printf(b, "%s  -> ... %ld more block%s ...\n", indent, skipped,
                          skipped == 1 ? "" : "s");
    }
    lc_buf_printf(b, "%s  -> this object\n", indent);
}

static void site_json(lc_buf *b, const lc_path_elem *e) {
    if (!e->has_site) {
        lc_buf_printf(b, "null");
        return;
    }
    /* A variable's declaration: a site only when its file is known, which
     * under the supervisor only the supervisor knows. */
    bool variable = strcmp(e->kind, "global") == 0 || strcmp(e->kind, "tls") == 0;
    if (variable && lc_frame_deferred(e->site.file, e->site.line)) {
        lc_report_file_line(b, e->site.file, e->site.line, 'j');
        return;
    }
    lc_buf_printf(b, "{\"function\": ");
    if (e->site.function)
        lc_buf_json_str(b, e->site.function);
    else
        lc_buf_printf(b, "null");
    lc_buf_printf(b, ", ");
    if (e->site.file && !lc_frame_deferred(e->site.file, e->site.line)) {
        lc_buf_printf(b, "\"file\": ");
        lc_buf_json_str(b, e->site.file);
        lc_buf_printf(b, ", \"line\": %d}", e->site.line);
        return;
    }
    if (!e->site.file) {
        lc_buf_printf(b, "\"file\": null, \"line\": %d}", e->site.line);
        return;
    }
    lc_report_file_line(b, e->site.file, e->site.line, 'J');
    lc_buf_printf(b, "}");
}

void lc_retention_json(lc_buf *b, const lc_path_elem *p, int n, long skipped) {
    lc_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        const lc_path_elem *e = &p[i];
        lc_buf_printf(b, "%s{\"kind\": \"%s\", \"name\": ", i ? ", " : "", e->kind);
        lc_buf_json_str(b, e->name);
        lc_buf_printf(b, ", \"site\": ");
        site_json(b, e);
        lc_buf_printf(b, ", \"offset\": %lld", e->offset);
        if (e->owner[0]) {
            lc_buf_printf(b, ", \"thread\": ");
            lc_buf_json_str(b, e->owner);
        }
        if (i == 0 && skipped) lc_buf_printf(b, ", \"blocks_left_out_after\": %ld", skipped);
        lc_buf_printf(b, "}");
    }
    lc_buf_printf(b, "]");
}

/* Graphviz: one node per holder, keyed by what it is, so that paths
 * sharing a root or a block meet in the drawing. */
static void dot_node_id(char *out, size_t len, const lc_path_elem *e) {
    snprintf(out, len, "%s:%s:%s:%d", e->kind, e->name,
             e->has_site && e->site.function ? e->site.function : "",
             e->has_site ? e->site.line : 0);
}

static void dot_label(lc_buf *b, const lc_path_elem *e) {
    size_t kind_len = strlen(e->kind);
    if (strncmp(e->name, e->kind, kind_len) == 0)
        lc_buf_printf(b, "%s", e->name);
    else
        lc_buf_printf(b, "%s %s", e->kind, e->name);
    if (e->has_site && e->site.function) lc_buf_printf(b, "\\n%s", e->site.function);
    if (e->has_site && e->site.file && !lc_frame_deferred(e->site.file, e->site.line))
        lc_buf_printf(b, "\\n%s:%d", e->site.file, e->site.line);
}

static void dot_quoted(lc_buf *b, const char *s) {
    lc_buf_printf(b, "\"");
    for (; *s; s++)
        lc_buf_printf(b, *s == '"' ? "\\\"" : "%c", *s);
    lc_buf_printf(b, "\"");
}

void lc_retention_dot(lc_buf *b, const lc_path_elem *p, int n, const char *leak_id,
                      const char *leak_label) {
    char from[320], to[320];
    for (int i = 0; i < n; i++) {
        dot_node_id(from, sizeof from, &p[i]);
        lc_buf tmp = {0};
        dot_label(&tmp, &p[i]);
        dot_quoted(b, from);
        lc_buf_printf(b, " [shape=%s, label=", strcmp(p[i].kind, "block") == 0 ? "box" : "ellipse");
        dot_quoted(b, tmp.data ? tmp.data : "");
        lc_buf_printf(b, "];\n");
        lc_buf_free(&tmp);
        if (i + 1 < n)
            dot_node_id(to, sizeof to, &p[i + 1]);
        else
            snprintf(to, sizeof to, "%s", leak_id);
        dot_quoted(b, from);
        lc_buf_printf(b, " -> ");
        dot_quoted(b, to);
        lc_buf_printf(b, " [label=\"+%lld\"];\n", p[i].offset);
    }
    dot_quoted(b, leak_id);
    lc_buf_printf(b, " [shape=box, style=filled, fillcolor=\"#f4cccc\", label=");
    dot_quoted(b, leak_label);
    lc_buf_printf(b, "];\n");
}
