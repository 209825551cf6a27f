/* SPDX-License-Identifier: MIT */
/* fault_sweep.c: the fault sweep, SQLite's loop over a function.
 *
 * Fail allocation n = 1, 2, 3, ... in a forked child each (fault.c decides
 * which allocation fails), check the child for leaks with the full check,
 * and stop when a run never reaches the injected failure. A second,
 * persistent pass fails every allocation from n on, for the points where the
 * code allocated again after its single failure. It sits above the check,
 * which each child runs; the children are run and their answers brought
 * back by child.c. */
#include "buf.h"
#include "child.h"
#include "core.h"
#include "engine.h"
#include "fault.h"
#include "heap.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_MAX_RUNS 100000

/* What a child sends back, followed by the stack and report texts. */
typedef struct sweep_msg {
    int hit;
    int allocated_after; /* counted allocations after the failure */
    int leaked;
    long long leaked_objects, leaked_bytes;
    char function[64];
    size_t stack_len, report_len;
} sweep_msg;

/* Whether the child's run certainly left nothing behind: no block it
 * allocated is live, no thread it started exists or waits to be joined,
 * nothing is watched, and no second engine (memcheck, a sanitizer) has a
 * say. Most runs of a sweep end so, and a full check costs several times
 * the run itself (its scans and reports are sized for the worst case);
 * anything else gets the full check, so the verdicts are the same. */
static bool certainly_clean(uint64_t since) {
    if (lc_engines_active() || lc_watch_count() > 0) return false;
    if (lc_heap_copy(NULL, 0, since) != 0) return false;
    pid_t one;
    if (lc_os_list_tasks(&one, 1) != 1) return false;
    for (size_t i = 0; i < lc_thread_recs_end(); i++) {
        const lc_thread_rec *r = lc_thread_rec_at(i);
        if (r->used && lc_threads_is_new(r)) return false;
    }
    return true;
}

/* What a child runs with: the failure point and the function. */
typedef struct sweep_job {
    long n;
    int persistent;
    void (*fn)(void *);
    void *arg;
    const lc_fault_sweep_options *o;
} sweep_job;

/* In the child: run fn with allocation n failing, check, and write the
 * answer (a sweep_msg, the stack and the report) as the child's result.
 * Whatever fn left behind stays: the child is discarded after its result
 * (child.c), so not even memcheck's leak search at exit runs, which would
 * find only what the sweep made fail on purpose. */
static void sweep_child(int fd, void *arg) {
    const sweep_job *job = arg;
    const lc_fault_sweep_options *o = job->o;
    long n = job->n;
    /* The fork took the baseline (init.c), so every block fn allocates is
     * numbered from here on; counting starts here too. */
    uint64_t since = lc_heap_next_seq();
    lc_fault_count_after_hit(true);
    lc_fault_inject(n, job->persistent);
    job->fn(job->arg);
    long hit = lc_fault_hits();
    long counted_now = lc_fault_counted();
    lc_stack_id id = lc_fault_failed_stack();
    lc_fault_inject(0, 0);
    sweep_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.hit = hit > 0;
    msg.allocated_after = msg.hit && counted_now > n;
    if (!certainly_clean(since)) {
        lc_result res;
        lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                      .quiet = 1,
                                      .budget = "bytes=0,objects=0,threads=0",
                                      .settle_seconds = o->settle_seconds},
                  &res);
        msg.leaked = res.verdict != 0;
        msg.leaked_objects = res.leaked_objects;
        msg.leaked_bytes = res.leaked_bytes;
    }
    lc_self_enter();
    lc_buf stack = {0};
    if (msg.leaked && id) {
        lc_report_stack(&stack, id, "    ", 32);
        lc_frame f;
        if (lc_stack_site_frame(id, &f) == 0 && f.function)
            snprintf(msg.function, sizeof msg.function, "%s", f.function);
    }
    const char *report = msg.leaked ? lc_last_report() : "";
    msg.stack_len = stack.failed ? 0 : stack.len;
    msg.report_len = strlen(report);
    int rc = lc_child_write(fd, &msg, sizeof msg);
    if (rc == 0 && msg.stack_len) rc = lc_child_write(fd, stack.data, msg.stack_len);
    if (rc == 0) rc = lc_child_write(fd, report, msg.report_len);
    /* An answer cut short is no answer: the parent sees it unsealed. */
    if (rc != 0) _exit(1);
}

/* A text of the child's result, from *at on; NULL when it is cut short. */
static char *dup_text(const lc_child *c, size_t *at, size_t len) {
    if (len > c->len - *at) return NULL;
    char *t = malloc(len + 1);
    if (!t) return NULL;
    t[lc_child_read(c, t, len, *at)] = '\0';
    *at += len;
    return t;
}

/* One child: 0 when the run never reached the failure, 1 when it reached it
 * and allocated nothing after, 2 when it allocated again after it (or died,
 * or did not say), -1 on an error. A point worth reporting is added. */
static int sweep_one(long n, int persistent, void (*fn)(void *), void *arg,
                     const lc_fault_sweep_options *o, lc_fault_sweep_result *r) {
    sweep_job job = {n, persistent, fn, arg, o};
    lc_child c;
    if (lc_child_start(&c, 0, sweep_child, &job) != 0) return -1;
    r->runs++;
    lc_child_wait(&c);
    lc_self_enter();
    sweep_msg msg;
    memset(&msg, 0, sizeof msg);
    bool complete = c.end == LC_CHILD_DONE && c.len >= sizeof msg &&
                    lc_child_read(&c, &msg, sizeof msg, 0) == sizeof msg;
    char *stack = NULL, *report = NULL;
    if (complete) {
        size_t at = sizeof msg;
        stack = dup_text(&c, &at, msg.stack_len);
        report = dup_text(&c, &at, msg.report_len);
        complete = stack && report;
    }
    lc_child_close(&c);
    int sig = c.end == LC_CHILD_SIGNALED ? WTERMSIG(c.status) : 0;
    if (!complete && !sig) sig = -1; /* ended without a complete answer */
    int reached = sig ? 2 : !msg.hit ? 0 : msg.allocated_after ? 2 : 1;
    if (sig || msg.leaked) {
        lc_fault_point *grown = realloc(r->points, (r->npoints + 1) * sizeof *grown);
        if (!grown) {
            free(stack);
            free(report);
            lc_self_leave();
            errno = ENOMEM;
            return -1;
        }
        r->points = grown;
        lc_fault_point *p = &r->points[r->npoints++];
        memset(p, 0, sizeof *p);
        p->n = n;
        p->persistent = persistent;
        p->signal = sig > 0 ? sig : 0;
        p->leaked = complete && msg.leaked;
        if (complete) {
            p->leaked_objects = msg.leaked_objects;
            p->leaked_bytes = msg.leaked_bytes;
            memcpy(p->function, msg.function, sizeof p->function);
            p->function[sizeof p->function - 1] = '\0';
        }
        p->stack = stack ? stack : strdup("");
        p->report = report ? report : strdup("");
        stack = report = NULL;
        if (p->leaked)
            r->leaks++;
        else
            r->crashes++;
    }
    free(stack);
    free(report);
    lc_self_leave();
    return reached;
}

static void print_summary(const lc_fault_sweep_result *r, FILE *out) {
    fprintf(out, "fault sweep: %ld runs, %ld failure points leaked, %ld crashed\n", r->runs,
            r->leaks, r->crashes);
    for (size_t i = 0; i < r->npoints; i++) {
        const lc_fault_point *p = &r->points[i];
        const char *mode = p->persistent ? "every allocation from" : "allocation";
        if (p->leaked)
            fprintf(out,
                    "  %s %ld failing: %lld objects (%lld bytes) leaked; the failed "
                    "allocation:\n%s%s\n",
                    mode, p->n, p->leaked_objects, p->leaked_bytes, p->stack ? p->stack : "",
                    p->report ? p->report : "");
        else if (p->signal)
            fprintf(out, "  %s %ld failing: the child died of signal %d (%s)\n", mode, p->n,
                    p->signal, strsignal(p->signal));
        else
            fprintf(out, "  %s %ld failing: the child ended without an answer\n", mode, p->n);
    }
}

int lc_fault_sweep(void (*fn)(void *), void *arg, const lc_fault_sweep_options *o,
                   lc_fault_sweep_result *r) {
    lc_fault_sweep_options defaults = {0};
    if (!o) o = &defaults;
    lc_fault_sweep_result local;
    if (!r) r = &local;
    memset(r, 0, sizeof *r);
    long max = o->max_runs > 0 ? o->max_runs : DEFAULT_MAX_RUNS;
    char saved_scope[LC_FAULT_SCOPE_MAX];
    lc_fault_scope_get(saved_scope, sizeof saved_scope);
    int rc = 0;
    if (o->scope && lc_fault_scope(o->scope) != 0) rc = -1;
    /* The children inherit the scope; the parent's own is put back.
     * The persistent pass fails allocation n and every one after it, so a
     * run whose single failure at n was followed by no other allocation
     * would repeat the single run exactly: only the others are run again.
     * Both passes end at the same n, as allocations 1 .. n-1 succeed in
     * both. `again` holds, per n, whether to run it again; it is the
     * library's own memory, but a child forked meanwhile must count its
     * allocations, so the library's mark is set only around its calls. */
    size_t again_cap = 0;
    unsigned char *again = NULL;
    long last = 0;
    for (long n = 1; rc == 0 && n <= max; n++) {
        int reached = sweep_one(n, 0, fn, arg, o, r);
        if (reached < 0) rc = -1;
        if (reached <= 0) break;
        if ((size_t)n >= again_cap) {
            size_t cap = again_cap ? 2 * again_cap : 256;
            lc_self_enter();
            unsigned char *grown = realloc(again, cap);
            lc_self_leave();
            if (!grown) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
            memset(grown + again_cap, 0, cap - again_cap);
            again = grown;
            again_cap = cap;
        }
        again[n] = reached == 2;
        last = n;
    }
    for (long n = 1; rc == 0 && !o->single_only && n <= last; n++) {
        if (!again[n]) continue;
        if (sweep_one(n, 1, fn, arg, o, r) < 0) rc = -1;
    }
    lc_self_enter();
    free(again);
    lc_self_leave();
    lc_fault_scope(saved_scope);
    if (rc == 0 && !o->quiet) print_summary(r, o->out ? o->out : stderr);
    int verdict = rc < 0 ? -1 : r->npoints ? 1 : 0;
    if (r == &local) lc_fault_sweep_result_free(r);
    return verdict;
}

void lc_fault_sweep_result_free(lc_fault_sweep_result *r) {
    if (!r) return;
    lc_self_enter();
    for (size_t i = 0; i < r->npoints; i++) {
        free(r->points[i].stack);
        free(r->points[i].report);
    }
    free(r->points);
    lc_self_leave();
    r->points = NULL;
    r->npoints = 0;
}
