/* SPDX-License-Identifier: MIT */
/* thread_roots.c: what threads hold, as roots of the heap scan.
 *
 * A block is still in use when a thread can reach it: through its stack
 * (from its stack pointer up; what lies below is dead), its registers (a
 * callee-saved register may hold the only pointer across a blocking call)
 * or its thread-local variables. Other threads are captured with the same
 * signal the thread dumps use; the checking thread scans its own stack from
 * the program's frame that called the check, so the library's frames below,
 * full of stale block addresses, do not count. A static TLS block sits at
 * the same distance from every thread's thread pointer, so the calling
 * thread's blocks (dl_iterate_phdr) locate every other thread's. */
#include "core.h"
#include "os.h"
#include "scan.h"
#include "stacks.h"
#include "thread.h"

#include <string.h>
#include <unistd.h>

/* Static TLS lies next to the thread control block; a block further away
 * is a dynamically allocated one (dlopen), which is not at the same
 * distance in other threads. */
#define STATIC_TLS_REACH (1u << 20)

typedef struct tls_walk {
    lc_graph *g;
    uintptr_t target_tp;
    lc_root proto;
} tls_walk;

static void add_tls_block(const lc_region *r, lc_module_kind kind, const char *module, void *arg) {
    tls_walk *w = arg;
    if (kind != LC_MODULE_USER) return;
    uintptr_t self_tp = (uintptr_t)pthread_self();
    intptr_t off = (intptr_t)(r->start - self_tp);
    if (off > (intptr_t)STATIC_TLS_REACH || off < -(intptr_t)STATIC_TLS_REACH) return;
    lc_root root = w->proto;
    root.kind = LC_ROOT_TLS;
    root.module = module;
    root.r.start = w->target_tp + (uintptr_t)off;
    root.r.end = root.r.start + (r->end - r->start);
    lc_graph_add_root(w->g, &root);
}

static void add_tls(lc_graph *g, uintptr_t tp, const lc_root *proto) {
    if (!tp) return;
    tls_walk w = {g, tp, *proto};
    lc_os_for_each_tls_block(add_tls_block, &w);
}

/* The record of a live thread: one that has not exited, or a detached one
 * whose start routine returned but which still runs (its TSD destructors);
 * a thread that is captured is alive. Call with the registry locked. */
static const lc_thread_rec *live_rec(pid_t tid) {
    const lc_thread_rec *found = NULL;
    for (size_t i = 0; i < lc_thread_recs_end(); i++) {
        const lc_thread_rec *r = lc_thread_rec_at(i);
        if (!r->used || r->adopted || r->tid != tid) continue;
        if (!r->exited) return r;
        if (r->detached) found = r;
    }
    return found;
}

static uintptr_t handle_of(pid_t tid) {
    lc_threads_lock();
    const lc_thread_rec *r = live_rec(tid);
    uintptr_t tp = r ? (uintptr_t)r->handle : 0;
    lc_threads_unlock();
    return tp;
}

/* A captured thread's stack, registers and TLS. */
static bool add_captured(lc_graph *g, const lc_capture *c, uintptr_t stack_hi, uintptr_t tp,
                         const lc_root *proto) {
    if (c->status != LC_CAPTURE_OK || !c->sp || stack_hi <= c->sp) return false;
    /* TLS first: glibc keeps a thread's static TLS inside its stack block,
     * and a pointer found there is best named by its variable. */
    add_tls(g, tp, proto);
    lc_root root = *proto;
    root.kind = LC_ROOT_STACK;
    root.r = (lc_region){c->sp, stack_hi};
    lc_graph_add_root(g, &root);
    root.kind = LC_ROOT_REGISTERS;
    root.r = (lc_region){(uintptr_t)c->regs, (uintptr_t)(c->regs + c->nregs)};
    lc_graph_add_root(g, &root);
    return true;
}

static bool named_in(const lc_thread_report *r, pid_t tid) {
    for (size_t i = 0; i < lc_thread_report_count(r); i++) {
        const lc_capture *c = lc_thread_report_capture(r, i);
        if (c && c->tid == tid) return true;
    }
    return false;
}

/* Every thread but this one that the report does not name, captured. */
static void capture_others(lc_thread_roots *tr, const lc_thread_report *leaked) {
    lc_task_list list = {0};
    if (!lc_os_list_all_tasks(&list)) {
        tr->uncaptured++; /* at least one thread, this one aside, unread */
        return;
    }
    pid_t *tasks = list.tid;
    size_t ntasks = list.n;
    pid_t me = lc_os_tid();
    /* The runtime's helper threads hold nothing of the program's (and
     * block the capture signal): left out, as the report leaves them. */
    size_t kept = 0;
    for (size_t i = 0; i < ntasks; i++)
        if (tasks[i] == me || !lc_os_task_is_runtime_helper(tasks[i])) tasks[kept++] = tasks[i];
    ntasks = kept;
    size_t n = 0;
    for (size_t i = 0; i < ntasks; i++)
        n += tasks[i] != me && !named_in(leaked, tasks[i]);
    if (!n) goto done;
    tr->live_bytes = n * sizeof(lc_live_thread);
    tr->live = lc_os_alloc(tr->live_bytes);
    if (!tr->live) {
        tr->uncaptured += (int)n;
        goto done;
    }
    lc_capture *caps = lc_os_alloc(n * sizeof *caps);
    if (!caps) {
        tr->uncaptured += (int)n;
        goto done;
    }
    for (size_t i = 0, k = 0; i < ntasks; i++)
        if (tasks[i] != me && !named_in(leaked, tasks[i])) caps[k++].tid = tasks[i];
    lc_capture_stacks(caps, n);
    for (size_t k = 0; k < n; k++) {
        lc_live_thread *t = &tr->live[tr->nlive++];
        t->cap = caps[k];
        t->tp = handle_of(caps[k].tid);
        lc_threads_lock();
        const lc_thread_rec *r = live_rec(caps[k].tid);
        if (r) t->stack_hi = r->stack_hi;
        lc_threads_unlock();
        if (!t->stack_hi && caps[k].tid == getpid()) {
            extern void *__libc_stack_end;
            t->stack_hi = (uintptr_t)__libc_stack_end;
        }
        lc_task_info info;
        if (lc_os_task_info(caps[k].tid, &info)) memcpy(t->name, info.comm, sizeof t->name);
    }
    lc_os_free(caps, n * sizeof *caps);
done:
    lc_os_task_list_free(&list);
}

void lc_thread_roots_live(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                          uintptr_t from, const lc_registers_at_entry *regs, bool others) {
    lc_self_enter();
    uintptr_t lo, hi;
    lc_root self = {.thread = -1, .tid = lc_os_tid()};
    add_tls(g, (uintptr_t)pthread_self(), &self);
    if (regs && regs->n) {
        lc_root root = self;
        root.kind = LC_ROOT_REGISTERS;
        root.r.start = (uintptr_t)regs->callee_saved;
        root.r.end = (uintptr_t)(regs->callee_saved + regs->n);
        lc_graph_add_root(g, &root);
    }
    if (from && lc_os_thread_stack(&lo, &hi) && from < hi) {
        lc_root root = self;
        root.kind = LC_ROOT_STACK;
        root.r = (lc_region){from, hi};
        lc_graph_add_root(g, &root);
    }
    if (others) {
        capture_others(tr, leaked);
        for (size_t i = 0; i < tr->nlive; i++) {
            lc_live_thread *t = &tr->live[i];
            lc_root proto = {.thread = (int)(LC_LIVE_THREAD_BASE + i), .tid = t->cap.tid};
            if (!add_captured(g, &t->cap, t->stack_hi, t->tp, &proto) &&
                t->cap.status != LC_CAPTURE_GONE)
                tr->uncaptured++;
        }
    }
    lc_self_leave();
}

void lc_thread_roots_leaked(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                            size_t i) {
    const lc_capture *c = lc_thread_report_capture(leaked, i);
    if (!c) return;
    lc_root proto = {.leaked_thread = true, .thread = (int)i, .tid = c->tid};
    lc_self_enter();
    uintptr_t tp = c->status == LC_CAPTURE_OK ? handle_of(c->tid) : 0;
    bool ok = add_captured(g, c, lc_thread_report_stack_top(leaked, i), tp, &proto);
    lc_self_leave();
    /* A thread that exited holds nothing; one that could not be captured
     * may hold what the scan then calls lost. */
    if (!ok && c->status != LC_CAPTURE_GONE) tr->uncaptured++;
}

void lc_thread_roots_tsd(lc_graph *g, const lc_thread_roots *tr) {
    lc_root self = {.thread = -1, .tid = lc_os_tid()};
    lc_runtime_add_tsd(g, (uintptr_t)pthread_self(), &self);
    for (size_t i = 0; i < tr->nlive; i++) {
        const lc_live_thread *t = &tr->live[i];
        if (t->cap.status != LC_CAPTURE_OK) continue;
        lc_root proto = {.thread = (int)(LC_LIVE_THREAD_BASE + i), .tid = t->cap.tid};
        lc_runtime_add_tsd(g, t->tp, &proto);
    }
}

void lc_thread_roots_free(lc_thread_roots *tr) {
    lc_os_free(tr->live, tr->live_bytes);
    memset(tr, 0, sizeof *tr);
}
