/* SPDX-License-Identifier: MIT */
/* thread_report.c: leaked threads as a check reports them.
 *
 * Each leaked thread is printed as Go prints a goroutine: its state and
 * what it waits on (the declared object and, for a heap block, where it
 * was allocated), its stack with the frames a deep one elides counted,
 * and who created it. A group of identical threads is printed once with
 * every id. Text, the JSON member "threads", and lc_result's threads: all
 * read the entries thread_check.c gathered and judged, none changes them. */
#include "buf.h"
#include "core.h"
#include "heap.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"

#include <stdio.h>
#include <string.h>

void lc_report_frame_text(lc_buf *b, const lc_frame *f, const char *indent);

/* The frames of pcs, from the innermost down to the trampoline that
 * started the thread (the library's frame and the C runtime's start code
 * below it say nothing). `first` says pcs[0] is the interrupted pc itself,
 * not a return address. */
static int frames_of(const uintptr_t *pcs, int depth, bool first, lc_frame *frames, int max) {
    int n = 0;
    for (int i = 0; i < depth && n < max; i++) {
        lc_frame f;
        bool exact = first && i == 0;
        lc_symbolize_pc(exact ? pcs[i] : pcs[i] - 1, &f);
        f.pc = pcs[i];
        if (!exact) f.offset += 1;
        if (f.function && strcmp(f.function, "lc_thread_trampoline") == 0) break;
        if (n && lc_os_pc_in_runtime(f.pc) && !lc_os_pc_in_runtime(frames[n - 1].pc)) break;
        frames[n++] = f;
    }
    return n;
}

static int thread_frames(const thread_entry *t, lc_frame *frames, int max) {
    return frames_of(t->cap.pcs, t->cap.depth, true, frames, max);
}

/* A stack cut at LC_MAX_DEPTH: whether it was, and its outermost frames,
 * where the start routine is. */
static bool cut(const thread_entry *t) {
    return t->cap.status == LC_CAPTURE_OK && (t->cap.nouter > 0 || t->cap.elided != 0);
}

static int outer_frames(const thread_entry *t, lc_frame *frames, int max) {
    return frames_of(t->cap.outer, t->cap.nouter, false, frames, max);
}

/* The block a thread waits on, when the object it declared is the start of
 * a live heap block. */
static bool wait_block(const thread_entry *t, lc_block *b) {
    return t->wait_object && lc_heap_lookup(t->wait_object, b);
}

/* The object and, for a heap block, its size and the first frames of its
 * allocation stack (the constructor and its caller say which one it is). */
#define WAIT_SITE_FRAMES 2

static void wait_object_text(lc_buf *b, const thread_entry *e, size_t ne, size_t at) {
    const thread_entry *t = &e[at];
    if (!t->wait_object) return;
    lc_block blk;
    if (!wait_block(t, &blk)) {
        lc_buf_printf(b, "    waiting on %#lx\n", (unsigned long)t->wait_object);
    } else {
        char sz[32];
        lc_buf_printf(b, "    waiting on %#lx, a %s heap block allocated at:\n",
                      (unsigned long)t->wait_object,
                      lc_fmt_bytes((long long)lc_block_size(&blk), sz, sizeof sz));
        lc_stack_id id = lc_block_stack(&blk);
        lc_frame f;
        int useful = lc_report_useful_depth(id);
        for (int i = 0; i < useful && i < WAIT_SITE_FRAMES && lc_stack_frame_at(id, i, &f) == 0;
             i++)
            lc_report_frame_text(b, &f, "        ");
    }
    int others = 0;
    for (size_t j = at + 1; j < ne; j++)
        others += !e[j].count && e[j].leader == (int)at && e[j].wait_object != t->wait_object;
    if (others)
        lc_buf_printf(b, "    (%d other thread%s of the group wait%s on objects of their own)\n",
                      others, others == 1 ? "" : "s", others == 1 ? "s" : "");
}

static void header_text(lc_buf *b, const thread_entry *t) {
    lc_buf_printf(b, "thread %d \"%s\" [", (int)t->tid, t->name);
    if (t->wait[0] && strcmp(t->state, "blocked") == 0)
        lc_buf_printf(b, "%s", t->wait);
    else if (t->wait[0])
        lc_buf_printf(b, "%s, %s", t->state, t->wait);
    else
        lc_buf_printf(b, "%s", t->state);
    if (t->seconds > 0) lc_buf_printf(b, ", %.1f s", t->seconds);
    lc_buf_printf(b, "]");
    if (t->count > 1) lc_buf_printf(b, " and %d more threads like this", t->count - 1);
    lc_buf_printf(b, ":\n");
}

/* Every thread of a group, by id, as Go lists every goroutine. */
static void group_ids_text(lc_buf *b, const thread_entry *e, size_t n, size_t lead) {
    if (e[lead].count < 2) return;
    lc_buf_printf(b, "    thread ids: %d", (int)e[lead].tid);
    for (size_t j = lead + 1; j < n; j++)
        if (!e[j].count && e[j].leader == (int)lead) lc_buf_printf(b, ", %d", (int)e[j].tid);
    lc_buf_printf(b, "\n");
}

void lc_thread_entry_text(lc_buf *b, const thread_entry *e, size_t ne, size_t at) {
    const thread_entry *t = &e[at];
    header_text(b, t);
    group_ids_text(b, e, ne, at);
    wait_object_text(b, e, ne, at);
    lc_frame frames[LC_MAX_DEPTH];
    int n = thread_frames(t, frames, LC_MAX_DEPTH);
    const char *why = lc_capture_status_text(t->cap.status);
    if (why) lc_buf_printf(b, "    (%s)\n", why);
    for (int i = 0; i < n; i++)
        lc_report_frame_text(b, &frames[i], "    ");
    /* Cut at LC_MAX_DEPTH (and not at the trampoline): the count of frames
     * left out, then the outermost ones, as Go prints a deep goroutine. */
    if (cut(t) && n == t->cap.depth) {
        if (t->cap.elided >= 0)
            lc_buf_printf(b, "    ... %d frames elided ...\n", t->cap.elided);
        else
            lc_buf_printf(b, "    ... frames elided ...\n");
        int no = outer_frames(t, frames, LC_OUTER_DEPTH);
        for (int i = 0; i < no; i++)
            lc_report_frame_text(b, &frames[i], "    ");
    }
    /* "created by" names the function that called pthread_create, then,
     * as a spawn helper is rarely the interesting one, its callers. */
    lc_frame c;
    int shown = 0, useful = lc_report_useful_depth(t->created_by);
    for (int i = 0; i < useful && shown < 3 && lc_stack_frame_at(t->created_by, i, &c) == 0; i++) {
        if (lc_os_pc_in_runtime(c.pc)) continue;
        lc_buf_printf(b, "%s %s", shown ? "    called from" : "created by",
                      c.function ? c.function : "??");
        lc_report_file_line(b, c.file, c.line, 'A');
        lc_buf_printf(b, "\n");
        shown++;
    }
    if (t->retained_bytes > 0) {
        char sz[32];
        lc_buf_printf(b, "retains %s reachable only through this thread\n",
                      lc_fmt_bytes(t->retained_bytes, sz, sizeof sz));
    }
}

void lc_thread_report_text(const lc_thread_report *r, lc_buf *b, int top) {
    int shown = 0;
    size_t hidden = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        const thread_entry *t = &r->e[i];
        if (!t->count) continue;
        if (top > 0 && shown >= top) {
            hidden += (size_t)t->count;
            continue;
        }
        if (shown++) lc_buf_printf(b, "\n");
        lc_thread_entry_text(b, r->e, r->n, i);
    }
    if (hidden) lc_buf_printf(b, "... and %zu more threads not shown\n", hidden);
}

void lc_report_stack_json(lc_buf *b, const lc_frame *frames, int n);

/* {"address", "bytes", "allocated_at"} of the declared object; bytes and
 * allocated_at are null when it is not the start of a live heap block. */
static void wait_object_json(lc_buf *b, const thread_entry *t) {
    if (!t->wait_object) {
        lc_buf_printf(b, "null");
        return;
    }
    lc_buf_printf(b, "{\"address\": \"%#lx\", ", (unsigned long)t->wait_object);
    lc_block blk;
    if (!wait_block(t, &blk)) {
        lc_buf_printf(b, "\"bytes\": null, \"allocated_at\": null}");
        return;
    }
    lc_buf_printf(b, "\"bytes\": %zu, \"allocated_at\": ", lc_block_size(&blk));
    lc_stack_id id = lc_block_stack(&blk);
    lc_frame frames[LC_MAX_DEPTH];
    int n = 0, useful = lc_report_useful_depth(id);
    for (int k = 0; k < useful && n < LC_MAX_DEPTH && lc_stack_frame_at(id, k, &frames[n]) == 0;
         k++)
        n++;
    lc_report_stack_json(b, frames, n);
    lc_buf_printf(b, "}");
}

void lc_thread_report_json(const lc_thread_report *r, lc_buf *b) {
    lc_buf_printf(b, "{\"leaked\": %zu, \"suppressed\": %zu, \"list\": [", r ? r->n : 0,
                  r ? r->suppressed : 0);
    int first = 1;
    for (size_t i = 0; r && i < r->n; i++) {
        const thread_entry *t = &r->e[i];
        if (!t->count) continue;
        lc_buf_printf(b, "%s{\"tid\": %d, \"count\": %d, \"tids\": [%d", first ? "" : ", ",
                      (int)t->tid, t->count, (int)t->tid);
        for (size_t j = i + 1; j < r->n; j++)
            if (!r->e[j].count && r->e[j].leader == (int)i)
                lc_buf_printf(b, ", %d", (int)r->e[j].tid);
        lc_buf_printf(b, "], \"name\": ");
        first = 0;
        lc_buf_json_str(b, t->name);
        lc_buf_printf(b, ", \"state\": ");
        lc_buf_json_str(b, t->state);
        lc_buf_printf(b, ", \"wait\": ");
        lc_buf_json_str(b, t->wait[0] ? t->wait : NULL);
        lc_buf_printf(b, ", \"wait_object\": ");
        wait_object_json(b, t);
        lc_buf_printf(b, ", \"seconds\": %.3f, \"stack\": ", t->seconds);
        lc_frame frames[LC_MAX_DEPTH];
        int n = thread_frames(t, frames, LC_MAX_DEPTH);
        lc_report_stack_json(b, frames, n);
        bool elided = cut(t) && n == t->cap.depth;
        if (elided && t->cap.elided >= 0)
            lc_buf_printf(b, ", \"frames_elided\": %d", t->cap.elided);
        else
            lc_buf_printf(b, ", \"frames_elided\": %s", elided ? "null" : "0");
        lc_buf_printf(b, ", \"stack_outer\": ");
        lc_report_stack_json(b, frames, elided ? outer_frames(t, frames, LC_OUTER_DEPTH) : 0);
        lc_buf_printf(b, ", \"created_by\": ");
        int nc = 0;
        const uintptr_t *pcs;
        int depth = lc_stack_get(t->created_by, &pcs);
        for (int k = 0; k < depth && nc < LC_MAX_DEPTH; k++)
            if (lc_stack_frame_at(t->created_by, k, &frames[nc]) == 0) nc++;
        lc_report_stack_json(b, frames, nc);
        lc_buf_printf(b, ", \"retained_bytes\": %lld}", t->retained_bytes);
    }
    lc_buf_printf(b, "]}");
}

void lc_thread_report_fill(const lc_thread_report *r, lc_result *res) {
    res->nthreads = 0;
    for (size_t i = 0; r && i < r->n && res->nthreads < LC_RESULT_MAX_ITEMS; i++) {
        const thread_entry *t = &r->e[i];
        if (!t->count) continue;
        lc_result_thread *o = &res->threads[res->nthreads++];
        memset(o, 0, sizeof *o);
        o->tid = t->tid;
        o->count = t->count;
        snprintf(o->name, sizeof o->name, "%s", t->name);
        snprintf(o->state, sizeof o->state, "%s", t->state);
        snprintf(o->wait, sizeof o->wait, "%s", t->wait);
        int first = lc_thread_first_program_frame(
            t->cap.pcs, t->cap.status == LC_CAPTURE_OK ? t->cap.depth : 0);
        const char *fn = first >= 0 ? lc_thread_frame_function(t->cap.pcs[first]) : NULL;
        snprintf(o->function, sizeof o->function, "%s", fn ? fn : "");
        const char *start =
            t->start_routine ? lc_thread_frame_function(t->start_routine + 1) : NULL;
        snprintf(o->start, sizeof o->start, "%s", start ? start : "");
        const char *creator = lc_thread_creator_function(t->created_by);
        snprintf(o->created_by, sizeof o->created_by, "%s", creator ? creator : "");
    }
}
