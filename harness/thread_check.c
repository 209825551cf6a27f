/* SPDX-License-Identifier: MIT */
/* thread_check.c: judging threads at a check (printed by thread_report.c).
 *
 * A thread started after the baseline and still alive at the check is
 * leaked, once the settle window has passed: the check retries with
 * exponential backoff (as goleak does) and succeeds as soon as the threads
 * are gone. A joinable thread that exited but was never joined is leaked
 * too (ThreadSanitizer's "thread leak"), and no amount of waiting fixes it.
 * Each leaked thread is described as Go describes a goroutine: its state and
 * what it waits on (declared with lc_thread_wait_begin, or the system call
 * /proc shows it in), its stack, and who created it. Identical threads are
 * grouped, as TSan groups its reports. */
#include "buf.h"
#include "core.h"
#include "heap.h"
#include "os.h"
#include "stacks.h"
#include "suppress.h"
#include "symbols.h"
#include "thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

LC_TLS uintptr_t lc_api_return;

/* ------------------------------------------------------------ gathering */

static bool rec_exited(const lc_thread_rec *r) {
    return __atomic_load_n(&r->exited, __ATOMIC_ACQUIRE);
}

static void describe(thread_entry *t, const lc_thread_rec *r, uint64_t now) {
    lc_task_info info;
    bool alive = lc_os_task_info(t->tid, &info);
    if (r && rec_exited(r) && !r->detached) {
        snprintf(t->state, sizeof t->state, "exited, not joined");
        memcpy(t->name, r->name, sizeof t->name);
        t->exited = true;
        t->seconds = (double)(now - r->exited_ns) / 1e9;
        return;
    }
    if (alive) memcpy(t->name, info.comm, sizeof t->name);
    t->seconds = r ? (double)(now - r->created_ns) / 1e9 : 0;
    const char *declared = r ? __atomic_load_n(&r->wait_kind, __ATOMIC_ACQUIRE) : NULL;
    const char *sys = alive && info.syscall >= 0 ? lc_os_syscall_name(info.syscall) : NULL;
    if (declared) {
        t->declared_wait = true;
        snprintf(t->state, sizeof t->state, "blocked");
        snprintf(t->wait, sizeof t->wait, "%s", declared);
        t->wait_object = r->wait_object ^ LC_HIDE;
        t->seconds = (double)(now - r->wait_since_ns) / 1e9;
    } else if (!alive) {
        snprintf(t->state, sizeof t->state, "exiting");
    } else if (info.state == 'R') {
        snprintf(t->state, sizeof t->state, "running");
    } else if (info.state == 'T' || info.state == 't') {
        snprintf(t->state, sizeof t->state, "stopped");
    } else if (sys && strcmp(sys, "nanosleep") == 0) {
        snprintf(t->state, sizeof t->state, "sleeping");
        snprintf(t->wait, sizeof t->wait, "%s", sys);
    } else {
        snprintf(t->state, sizeof t->state, "blocked");
        if (sys)
            snprintf(t->wait, sizeof t->wait, "%s", sys);
        else if (info.syscall >= 0)
            snprintf(t->wait, sizeof t->wait, "syscall %ld", info.syscall);
    }
}

/* Whether a task of /proc is a thread the library saw start: registered,
 * or retired and still on its way out. */
static bool owned_by_registered(pid_t tid) {
    for (size_t i = 0; i < lc_thread_recs_end(); i++) {
        const lc_thread_rec *r = lc_thread_rec_at(i);
        if ((r->used || r->lingering) && !r->adopted && r->tid == tid) return true;
    }
    return false;
}

/* A retired thread whose task is gone no longer lingers: its id may be
 * given to a thread the library did not see start. */
static void forget_gone(const pid_t *tasks, size_t ntasks) {
    for (size_t i = 0; i < lc_thread_recs_end(); i++) {
        lc_thread_rec *r = lc_thread_rec_at(i);
        if (!r->lingering) continue;
        bool listed = false;
        for (size_t k = 0; k < ntasks && !listed; k++)
            listed = tasks[k] == r->tid;
        if (!listed) r->lingering = 0;
    }
}

static void add_registered(thread_entry *t, const lc_thread_rec *r, pid_t tid, uint64_t now) {
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->id = r->id;
    t->created_by = r->created_by;
    t->start_routine = r->start_routine;
    t->stack_hi = r->stack_hi;
    describe(t, r, now);
}

/* Room for `want` entries in the report; its pages are reserved and
 * touched only for the threads found. */
static bool reserve_entries(lc_thread_report *r, size_t want) {
    if (want <= r->cap) return true;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < want)
        cap *= 2;
    thread_entry *e = lc_os_reserve(cap * sizeof *e);
    if (!e) return false;
    if (r->e) {
        memcpy(e, r->e, r->n * sizeof *e);
        lc_os_free(r->e, r->map_bytes);
    }
    r->e = e;
    r->cap = cap;
    r->map_bytes = cap * sizeof *e;
    return true;
}

/* Scratch lists of gather(), used under the registry lock and kept for the
 * next check. */
LC_FORK_STATE static lc_task_list gather_tasks;
static size_t *unstarted;
static size_t unstarted_cap;

static bool reserve_unstarted(size_t want) {
    if (want <= unstarted_cap) return true;
    size_t cap = unstarted_cap ? unstarted_cap : 256;
    while (cap < want)
        cap *= 2;
    size_t *grown = lc_os_alloc(cap * sizeof *grown);
    if (!grown) return false;
    if (unstarted) lc_os_free(unstarted, unstarted_cap * sizeof *unstarted);
    unstarted = grown;
    unstarted_cap = cap;
    return true;
}

/* Every thread that is new since the baseline (all threads when `all`),
 * described but not yet captured, into r (which grows to hold them all);
 * false when no memory is left for them. */
static bool gather(lc_thread_report *r, bool all) {
    uint64_t now = lc_os_now_ns();
    r->n = 0;
    /* The thread running a check is never a leak of its own: it may be a
     * worker that called exit(), the last thread after main's pthread_exit,
     * or a thread started after the baseline that checks. */
    pid_t me = lc_os_tid();
    lc_threads_lock();
    size_t end = lc_thread_recs_end();
    /* Every entry comes from a record or a task of /proc: room for both. */
    bool room = lc_os_list_all_tasks(&gather_tasks) && reserve_entries(r, end + gather_tasks.n) &&
                reserve_unstarted(end);
    if (!room) {
        lc_threads_unlock();
        return false;
    }
    thread_entry *out = r->e;
    size_t n = 0;
    /* A thread created but not yet started in its trampoline has no id in
     * its record while the kernel already lists its task: it is counted
     * once, from /proc below, or from its record if it starts meanwhile. */
    size_t nunstarted = 0;
    for (size_t i = 0; i < end; i++) {
        const lc_thread_rec *rec = lc_thread_rec_at(i);
        if (!rec->used || rec->adopted || rec->internal || (!all && !lc_threads_is_new(rec)))
            continue;
        pid_t tid = __atomic_load_n(&rec->tid, __ATOMIC_ACQUIRE);
        if (!tid) {
            unstarted[nunstarted++] = i;
            continue;
        }
        if (!all && tid == me) continue;
        if (rec->detached && rec_exited(rec)) continue;
        add_registered(&out[n++], rec, tid, now);
    }
    const pid_t *tasks = gather_tasks.tid;
    size_t ntasks = gather_tasks.n;
    forget_gone(tasks, ntasks);
    for (size_t i = 0; i < ntasks; i++) {
        if (owned_by_registered(tasks[i]) || (!all && tasks[i] == me)) continue;
        if (lc_os_task_is_runtime_helper(tasks[i])) continue;
        if (!all && !lc_threads_task_is_new(tasks[i])) continue;
        thread_entry *t = &out[n++];
        memset(t, 0, sizeof *t);
        t->tid = tasks[i];
        const lc_thread_rec *adopted = NULL;
        for (size_t k = 0; k < end; k++) {
            const lc_thread_rec *c = lc_thread_rec_at(k);
            if (c->used && c->adopted && c->tid == tasks[i]) adopted = c;
        }
        describe(t, adopted, now);
    }
    /* Started between the two looks: its task was skipped above as the
     * record's; count it from the record unless /proc already did. */
    for (size_t j = 0; j < nunstarted; j++) {
        const lc_thread_rec *rec = lc_thread_rec_at(unstarted[j]);
        pid_t tid = __atomic_load_n(&rec->tid, __ATOMIC_ACQUIRE);
        bool counted = !tid || (rec->detached && rec_exited(rec));
        for (size_t k = 0; k < n && !counted; k++)
            counted = out[k].tid == tid;
        if (!counted) add_registered(&out[n++], rec, tid, now);
    }
    lc_threads_unlock();
    r->n = n;
    return true;
}

/* How many times a running thread's stack is captured again when it went
 * astray, each time after a longer pause (1 ms doubling up to 64 ms, about
 * 0.45 s in all): a thread the machine has not scheduled since it was
 * interrupted would be caught at the same point again. */
#define ASTRAY_RETRIES 12
#define ASTRAY_MAX_PAUSE_NS 64000000ull
#define VALGRIND_UNANSWERED_RETRIES 3

/* Whether a running thread's captured stack went astray: interrupted in
 * code the unwinder cannot step out of (a sanitizer's runtime, which
 * ThreadSanitizer links into the program without unwind tables; code
 * without unwind information), it stops there or continues through
 * addresses that are not code, and names no function of the program. A
 * blocked thread would answer the same again, so only running ones are
 * retried. */
static bool astray(const thread_entry *t, int round) {
    /* A thread that did not answer in time was not scheduled in time (a
     * loaded machine: two hundred threads woken at once), running or
     * blocked: asking again is worth it too. A stopped one cannot answer.
     * Under valgrind a thread that blocks the signal looks the same (its
     * mask is not known, and every thread waiting for valgrind's lock is
     * blocked in /proc's view), so there a thread that is not running is
     * asked again only a few times. */
    if (t->cap.status == LC_CAPTURE_NO_ANSWER)
        return strcmp(t->state, "running") == 0 ||
               (strcmp(t->state, "stopped") != 0 &&
                (!lc_cfg.under_valgrind || round < VALGRIND_UNANSWERED_RETRIES));
    if (strcmp(t->state, "running") != 0) return false;
    if (t->cap.status != LC_CAPTURE_OK) return false;
    /* Caught in code outside every object with its caller unknown, the
     * frames that follow are its caller's callers at best. */
    if (t->cap.depth > 0 && !lc_os_pc_in_code(t->cap.pcs[0]) && !t->cap.caller_found) return true;
    int first = lc_thread_first_program_frame(t->cap.pcs, t->cap.depth);
    return first < 0 || lc_os_pc_in_runtime(t->cap.pcs[first]) ||
           !lc_thread_frame_function(t->cap.pcs[first]);
}

/* Under valgrind, /proc describes valgrind's scheduler, not the program: a
 * thread that runs its own code sleeps in the scheduler until it is given
 * the lock every guest thread must hold, so /proc says it is blocked in a
 * system call. Its captured stack says what it was doing: interrupted
 * outside the C runtime, it was not in a system call but running. */
static void state_from_capture(thread_entry *t) {
    if (!lc_cfg.under_valgrind || t->declared_wait || strcmp(t->state, "blocked") != 0) return;
    if (t->cap.status != LC_CAPTURE_OK || t->cap.depth <= 0) return;
    if (lc_os_pc_in_runtime(t->cap.pcs[0])) return;
    snprintf(t->state, sizeof t->state, "running");
    t->wait[0] = '\0';
}

static void capture(thread_entry *e, size_t n) {
    lc_self_enter();
    lc_capture *caps = lc_os_alloc(n * sizeof *caps + 1);
    lc_self_leave();
    if (!caps) return;
    for (size_t i = 0; i < n; i++)
        caps[i].tid = e[i].tid;
    lc_capture_stacks(caps, n);
    for (size_t i = 0; i < n; i++) {
        e[i].cap = caps[i];
        if (e[i].exited) e[i].cap.status = LC_CAPTURE_GONE;
        state_from_capture(&e[i]);
    }
    uint64_t pause = 1000000;
    for (int round = 0; round < ASTRAY_RETRIES; round++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (astray(&e[i], round)) caps[k++].tid = e[i].tid;
        if (!k) break;
        lc_os_sleep_ns(pause);
        if (pause < ASTRAY_MAX_PAUSE_NS) pause *= 2;
        lc_capture_stacks(caps, k);
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < n; i++)
                if (e[i].tid == caps[j].tid && caps[j].status == LC_CAPTURE_OK) {
                    e[i].cap = caps[j];
                    state_from_capture(&e[i]);
                }
    }
    lc_os_free(caps, n * sizeof *caps + 1);
}

/* ------------------------------------------------------------ ignore rules */

/* The first frame of a thread stack that is the program's own: frames in
 * the C runtime (the system call wrapper, pthread_cond_wait) come first,
 * and so do frames outside every loaded object (code generated at run
 * time, a hand-written loop in a mapping of its own), which no function
 * names: the program's function that called into them does. */
int lc_thread_first_program_frame(const uintptr_t *pcs, int depth) {
    for (int i = 0; i < depth; i++)
        if (!lc_os_pc_in_runtime(pcs[i]) && lc_os_pc_in_code(pcs[i])) return i;
    return depth ? 0 : -1;
}

const char *lc_thread_frame_function(uintptr_t pc) {
    lc_frame f;
    lc_symbolize_pc(pc - 1, &f);
    return f.function;
}

static bool name_in(const char *name, const char *const *list) {
    for (; name && list && *list; list++)
        if (strcmp(name, *list) == 0) return true;
    return false;
}

/* Rules from the environment: comma-separated function names. */
static bool name_in_env(const char *name, const char *var) {
    const char *v = getenv(var);
    if (!v || !name) return false;
    size_t len = strlen(name);
    while (*v) {
        const char *comma = strchr(v, ',');
        size_t part = comma ? (size_t)(comma - v) : strlen(v);
        if (part == len && strncmp(v, name, len) == 0) return true;
        if (!comma) break;
        v = comma + 1;
    }
    return false;
}

static bool matches(const char *name, const char *const *list, const char *var) {
    return name_in(name, list) || name_in_env(name, var);
}

const char *lc_thread_creator_function(lc_stack_id id) {
    lc_frame f;
    if (lc_stack_site_frame(id, &f) != 0) return NULL;
    return f.function;
}

static bool in_set(const thread_entry *t, const lc_thread_set *set);

static bool ignored(const thread_entry *t, const lc_options *o) {
    if (o && in_set(t, o->ignore_current)) return true;
    const char *const *top = o ? o->ignore_top_function : NULL;
    const char *const *any = o ? o->ignore_any_function : NULL;
    const char *const *creator = o ? o->ignore_created_by : NULL;
    if (matches(lc_thread_creator_function(t->created_by), creator, "LEAKCHECK_IGNORE_CREATED_BY"))
        return true;
    const uintptr_t *pcs = t->cap.pcs;
    int depth = t->cap.status == LC_CAPTURE_OK ? t->cap.depth : 0;
    int first = lc_thread_first_program_frame(pcs, depth);
    if (first >= 0) {
        if (matches(lc_thread_frame_function(pcs[0]), top, "LEAKCHECK_IGNORE_TOP_FUNCTION") ||
            matches(lc_thread_frame_function(pcs[first]), top, "LEAKCHECK_IGNORE_TOP_FUNCTION"))
            return true;
    }
    for (int i = 0; i < depth; i++)
        if (matches(lc_thread_frame_function(pcs[i]), any, "LEAKCHECK_IGNORE_ANY_FUNCTION"))
            return true;
    return false;
}

static bool needs_stacks(const lc_options *o) {
    return (o && (o->ignore_top_function || o->ignore_any_function)) ||
           getenv("LEAKCHECK_IGNORE_TOP_FUNCTION") || getenv("LEAKCHECK_IGNORE_ANY_FUNCTION");
}

/* ------------------------------------------------------------ grouping */

/* Workers that each wait on an inbox of their own are still alike: the
 * object is not part of the likeness, and the report says when the threads
 * of a group wait on different ones. */
static bool same_group(const thread_entry *a, const thread_entry *b) {
    return strcmp(a->state, b->state) == 0 && strcmp(a->wait, b->wait) == 0 &&
           a->created_by == b->created_by && a->cap.depth == b->cap.depth &&
           a->cap.nouter == b->cap.nouter && a->cap.elided == b->cap.elided &&
           memcmp(a->cap.pcs, b->cap.pcs, (size_t)a->cap.depth * sizeof(uintptr_t)) == 0 &&
           memcmp(a->cap.outer, b->cap.outer, (size_t)a->cap.nouter * sizeof(uintptr_t)) == 0;
}

static void group(thread_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        e[i].count = 1;
        e[i].leader = (int)i;
    }
    for (size_t i = 0; i < n; i++) {
        if (!e[i].count) continue;
        for (size_t j = i + 1; j < n; j++)
            if (e[j].count && same_group(&e[i], &e[j])) {
                e[i].count++;
                e[j].count = 0;
                e[j].leader = (int)i;
            }
    }
}

/* ------------------------------------------------------------ the check */

lc_thread_report *lc_thread_report_alloc(void) {
    return lc_os_alloc(sizeof(lc_thread_report));
}

void lc_thread_report_free(lc_thread_report *r) {
    if (!r) return;
    if (r->e) lc_os_free(r->e, r->map_bytes);
    lc_os_free(r, sizeof *r);
}

/* Drop the entries an ignore rule matches; returns how many remain. */
static size_t filter(thread_entry *e, size_t n, const lc_options *o) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!ignored(&e[i], o)) e[kept++] = e[i];
    return kept;
}

static bool suppressed(const thread_entry *t, bool count) {
    int depth = t->cap.status == LC_CAPTURE_OK ? t->cap.depth : 0;
    return count ? lc_suppress_thread(t->cap.pcs, depth, t->start_routine, t->created_by)
                 : lc_suppress_thread_matches(t->cap.pcs, depth, t->start_routine, t->created_by);
}

/* Drop the entries a suppression matches, counting each once, at the end
 * of the check; returns how many remain. */
static size_t drop_suppressed(thread_entry *e, size_t n, size_t *dropped) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (suppressed(&e[i], true))
            (*dropped)++;
        else
            e[kept++] = e[i];
    }
    return kept;
}

/* The settle window counts from the end of the first look at the threads,
 * not from the check's call: whatever runs before (collection hooks, a
 * sanitizer's search) or during that look (reading /proc for every thread,
 * the first symbolization of a creator for the ignore rules, both slow under
 * valgrind or on a loaded machine) must not use up the time the threads
 * get, or a thread on its way out would be judged on one look. */
lc_thread_report *lc_threads_check(const lc_options *opts, double settle) {
    lc_thread_report *r = lc_thread_report_alloc();
    if (!r) return NULL;
    /* A suppressed thread that lives on must not hold the check for the
     * whole settle window, so suppressions are consulted at every attempt,
     * and their stacks captured for them; they are counted once, below. */
    bool thread_rules = lc_suppress_has_thread_rules();
    bool stacks_for_rules = needs_stacks(opts) || thread_rules;
    uint64_t window = (uint64_t)(settle * 1e9);
    uint64_t start = 0;
    for (int attempt = 0;; attempt++) {
        if (!gather(r, false)) {
            lc_thread_report_free(r);
            return NULL;
        }
        /* Threads run on while the check reads their roots: a block they
         * allocate after their capture may be held only where the capture
         * cannot see it (a register, a frame below the captured stack
         * pointer). The new epoch makes every block allocated from here on
         * number at least born_seq, so that the scan can tell them. */
        r->born_seq = lc_heap_new_epoch();
        if (stacks_for_rules && r->n) capture(r->e, r->n);
        r->n = filter(r->e, r->n, opts);
        bool waiting_helps = false;
        for (size_t i = 0; i < r->n; i++)
            waiting_helps |= !r->e[i].exited && !(thread_rules && suppressed(&r->e[i], false));
        uint64_t now = lc_os_now_ns();
        if (attempt == 0) start = now;
        uint64_t elapsed = now > start ? now - start : 0;
        if (!waiting_helps || elapsed >= window) break;
        uint64_t nap = attempt < 30 ? 1000ull << attempt : 100000000ull;
        if (nap > 100000000ull) nap = 100000000ull;
        if (nap > window - elapsed) nap = window - elapsed;
        lc_os_sleep_ns(nap);
    }
    if (r->n && !stacks_for_rules) {
        r->born_seq = lc_heap_new_epoch();
        capture(r->e, r->n);
    }
    if (thread_rules) r->n = drop_suppressed(r->e, r->n, &r->suppressed);
    group(r->e, r->n);
    return r;
}

size_t lc_thread_report_count(const lc_thread_report *r) {
    return r ? r->n : 0;
}

size_t lc_thread_report_stack_of(const lc_thread_report *r, size_t i, lc_region out[2]) {
    if (!r || i >= r->n) return 0;
    const thread_entry *t = &r->e[i];
    if (t->cap.status != LC_CAPTURE_OK || !t->cap.sp || t->stack_hi <= t->cap.sp) return 0;
    out[0] = (lc_region){t->cap.sp, t->stack_hi};
    out[1] = (lc_region){(uintptr_t)t->cap.regs, (uintptr_t)(t->cap.regs + t->cap.nregs)};
    return 2;
}

size_t lc_thread_report_stacks(const lc_thread_report *r, lc_region *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; r && i < r->n && k + 2 <= cap; i++)
        k += lc_thread_report_stack_of(r, i, out + k);
    return k;
}

void lc_thread_report_set_retained(lc_thread_report *r, size_t i, long long bytes) {
    if (r && i < r->n) r->e[i].retained_bytes = bytes;
}

/* ------------------------------------------------------------ dumps */

lc_thread_report *lc_threads_all(bool stacks) {
    lc_thread_report *r = lc_thread_report_alloc();
    if (!r) return NULL;
    if (!gather(r, true)) {
        lc_thread_report_free(r);
        return NULL;
    }
    if (stacks) capture(r->e, r->n);
    return r;
}

lc_thread_report *lc_threads_capture_all(void) {
    return lc_threads_all(true);
}

void lc_dump_threads(FILE *out) {
    lc_api_return = (uintptr_t)__builtin_return_address(0);
    lc_thread_report *r = lc_threads_capture_all();
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        r->e[i].count = 1;
    lc_buf b = {0};
    for (size_t i = 0; i < r->n; i++) {
        r->e[i].leader = (int)i;
        if (i) lc_buf_printf(&b, "\n");
        lc_thread_entry_text(&b, r->e, r->n, i);
    }
    if (b.data) fputs(b.data, out ? out : stderr);
    fflush(out ? out : stderr);
    lc_buf_free(&b);
    lc_thread_report_free(r);
}

/* ------------------------------------------------- for the heap scan */

const lc_capture *lc_thread_report_capture(const lc_thread_report *r, size_t i) {
    return r && i < r->n ? &r->e[i].cap : NULL;
}

uintptr_t lc_thread_report_stack_top(const lc_thread_report *r, size_t i) {
    return r && i < r->n ? r->e[i].stack_hi : 0;
}

void lc_thread_report_label(const lc_thread_report *r, size_t i, char *out, size_t len) {
    if (!r || i >= r->n) {
        snprintf(out, len, "thread");
        return;
    }
    const thread_entry *t = &r->e[i];
    snprintf(out, len, "thread %d \"%s\" [%s%s%s]", (int)t->tid, t->name, t->state,
             t->wait[0] ? ", " : "", t->wait);
}

/* ------------------------------------------------- goleak's IgnoreCurrent */

/* The threads alive at lc_current_threads(), for the check it is passed to
 * (lc_options.ignore_current). A thread is known by its id and its creation
 * number, so that a later thread given a recycled id is not taken for it. */
struct lc_thread_set {
    struct lc_thread_snap *snap;
};

lc_thread_set *lc_current_threads(void) {
    lc_thread_set *set = lc_os_alloc(sizeof *set);
    if (!set) return NULL;
    set->snap = lc_threads_snapshot(false);
    if (!set->snap) {
        lc_os_free(set, sizeof *set);
        return NULL;
    }
    return set;
}

void lc_thread_set_free(lc_thread_set *set) {
    if (!set) return;
    lc_threads_snapshot_free(set->snap);
    lc_os_free(set, sizeof *set);
}

static bool in_set(const thread_entry *t, const lc_thread_set *set) {
    return set && lc_threads_snapshot_has(set->snap, t->tid, t->id);
}
