/* SPDX-License-Identifier: MIT */
/* collect.c: collection points, and valgrind memcheck as a second engine.
 *
 * The C counterpart of runtime.GC() before a heap profile: run the cleanup
 * hooks the program registered (caches it wants emptied, pools it wants
 * drained) and give threads that are on their way out a moment to finish.
 *
 * Under valgrind, memcheck judges the same moments. Its counts
 * (VALGRIND_COUNT_LEAKS and _BLOCKS) are totals over the whole process at
 * its last leak search, so the engine takes one search at the harness's
 * baseline and one at the check, and judges the growth between them
 * against the same budget. The searches are memcheck's quick ones: with -q
 * they print nothing and never count as errors, so a test that loses a
 * block on purpose to see the harness catch it does not turn into a
 * valgrind error, and a fork-mode suite stays quiet. Definitely and
 * indirectly lost blocks are what memcheck calls leaks; its "possibly lost"
 * (interior pointers, and the thread block of every thread blocked
 * forever) is shown but judged by the harness's own thread and heap
 * figures. LEAKCHECK_VALGRIND_LEAK_CHECK=0 turns the engine off, =full has
 * each check print memcheck's own records of what grew since the previous
 * search (these count as memcheck errors, as --errors-for-leak-kinds says). */
#include "budget.h"
#include "buf.h"
#include "collect.h"
#include "core.h"
#include "os.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

/* The hooks, in registration order. An unregistered node is unlinked and
 * kept for reuse (nodes are never freed): a walk that stands on it still
 * finds its way on through its old `next`. It is reused only while no walk
 * runs, so that no walk is led from it to somewhere else. */
typedef struct hook_node {
    lc_collect_hook fn; /* NULL: unregistered */
    void *arg;
    struct hook_node *next;
    struct hook_node *free_next;
} hook_node;

/* With the fork state: every check reads the list, and a page of its own
 * would be one more fault for a forked test's check. */
LC_FORK_STATE static hook_node *hooks, *hooks_tail, *free_nodes;
LC_FORK_STATE static int walkers; /* threads running the hooks now */
LC_FORK_STATE static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

/* Nodes come a page at a time from the library's own memory (a hook table
 * in the program's heap would be a block every check must account for). */
#define NODES_PER_PAGE (4096 / sizeof(hook_node))
static hook_node *spare;
static size_t nspare;

static hook_node *node_alloc(void) {
    if (free_nodes && !walkers) {
        hook_node *n = free_nodes;
        free_nodes = n->free_next;
        return n;
    }
    if (!nspare) {
        spare = lc_os_alloc(NODES_PER_PAGE * sizeof(hook_node));
        if (!spare) return NULL;
        nspare = NODES_PER_PAGE;
    }
    nspare--;
    return spare++;
}

int lc_at_collect(lc_collect_hook hook, void *arg) {
    if (!hook) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&hooks_lock);
    hook_node *n = node_alloc();
    if (n) {
        *n = (hook_node){.fn = hook, .arg = arg};
        if (hooks_tail)
            hooks_tail->next = n;
        else
            hooks = n;
        hooks_tail = n;
    }
    pthread_mutex_unlock(&hooks_lock);
    if (!n) errno = ENOMEM;
    return n ? 0 : -1;
}

int lc_at_collect_remove(lc_collect_hook hook, void *arg) {
    pthread_mutex_lock(&hooks_lock);
    hook_node *prev = NULL, *n = hooks;
    while (n && !(hook && n->fn == hook && n->arg == arg)) {
        prev = n;
        n = n->next;
    }
    if (n) {
        if (prev)
            prev->next = n->next;
        else
            hooks = n->next;
        if (hooks_tail == n) hooks_tail = prev;
        n->fn = NULL;
        n->free_next = free_nodes;
        free_nodes = n;
    }
    pthread_mutex_unlock(&hooks_lock);
    if (!n) errno = ENOENT;
    return n ? 0 : -1;
}

/* Set while this thread runs the hooks: a collection point (or a check)
 * started from inside a hook would run the hooks again, without end. */
static LC_TLS int in_hooks;

bool lc_collect_in_hook(void) {
    return in_hooks != 0;
}

int lc_collect_run_hooks(void) {
    if (in_hooks) return -1;
    /* Hooks run unlocked: a hook may register or unregister hooks. One
     * registered meanwhile runs in this round if the walk reaches it. */
    in_hooks = 1;
    pthread_mutex_lock(&hooks_lock);
    walkers++;
    hook_node *n = hooks;
    while (n) {
        lc_collect_hook fn = n->fn;
        void *arg = n->arg;
        pthread_mutex_unlock(&hooks_lock);
        if (fn) fn(arg);
        pthread_mutex_lock(&hooks_lock);
        n = n->next;
    }
    walkers--;
    pthread_mutex_unlock(&hooks_lock);
    in_hooks = 0;
    /* The collection point lets other threads run first; a process with
     * one thread has none to let run (a forked Check test, mostly). */
    if (!lc_solo()) sched_yield();
    return 0;
}

/* ------------------------------------------------------------ memcheck */

/* memcheck's totals at the baseline, and the process that took them: a
 * forked child inherits the parent's figures, which describe the parent. */
static struct {
    lc_valgrind_counts at;
    pid_t pid;
} vg_base;
/* The process that loaded the library: with no baseline, memcheck's totals
 * count from its start, as the harness's own figures then do. */
static pid_t start_pid;
/* What the last check's search could say, for its report (a check runs
 * under the verify lock, search then report). */
static struct {
    bool judged;
    bool baseline; /* judged against a baseline, not the program's start */
} last_check;

static bool engine_on(void) {
    return lc_cfg.under_valgrind && lc_cfg.valgrind_leak_check;
}

static bool engine_verbose(void) {
    const char *v = getenv("LEAKCHECK_VALGRIND_LEAK_CHECK");
    return v && strcmp(v, "full") == 0;
}

static void memcheck_search(bool print_growth, lc_valgrind_counts *out) {
    if (print_growth)
        VALGRIND_DO_ADDED_LEAK_CHECK;
    else
        VALGRIND_DO_QUICK_LEAK_CHECK;
    unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
    VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
    unsigned long bl = 0, bd = 0, br = 0, bs = 0;
    VALGRIND_COUNT_LEAK_BLOCKS(bl, bd, br, bs);
    (void)reachable;
    (void)suppressed;
    (void)br;
    (void)bs;
    *out = (lc_valgrind_counts){.leaked_bytes = leaked,
                                .dubious_bytes = dubious,
                                .leaked_blocks = bl,
                                .dubious_blocks = bd};
}

__attribute__((constructor)) static void collect_init(void) {
    start_pid = getpid();
}

int lc_collect(void) {
    if (lc_collect_run_hooks() != 0) return -1;
    /* Only memcheck's printed records make a search here worth its cost:
     * the figures a check judges are taken by the check itself. */
    if (engine_on() && engine_verbose()) {
        lc_valgrind_counts ignored;
        memcheck_search(true, &ignored);
    }
    return 0;
}

static unsigned long growth(unsigned long now, unsigned long then) {
    /* A total shrinks when a block lost before the baseline is freed (as
     * tests that lose a block on purpose do afterwards): no growth then.
     * A shrink and a growth within one test offset each other, which
     * memcheck's totals cannot tell apart; the harness's figures can. */
    return now > then ? now - then : 0;
}

/* The growth since the baseline taken in this process; last_check says
 * whether there was one to judge against. */
static void check_growth(lc_valgrind_counts *out) {
    lc_valgrind_counts now;
    memcheck_search(engine_verbose(), &now);
    pid_t self = getpid();
    lc_valgrind_counts base = {0};
    if (vg_base.pid == self)
        base = vg_base.at;
    else if (self != start_pid) {
        /* A forked child that took no baseline of its own: its totals hold
         * the parent's memory and what fork cut loose, not a verdict. */
        *out = now;
        last_check.judged = false;
        last_check.baseline = false;
        return;
    }
    out->leaked_bytes = growth(now.leaked_bytes, base.leaked_bytes);
    out->leaked_blocks = growth(now.leaked_blocks, base.leaked_blocks);
    out->dubious_bytes = growth(now.dubious_bytes, base.dubious_bytes);
    out->dubious_blocks = growth(now.dubious_blocks, base.dubious_blocks);
    last_check.judged = true;
    last_check.baseline = vg_base.pid == self;
}

/* out == NULL: the baseline (memcheck's totals are kept). Otherwise the
 * search is left to the report (lc_valgrind_report), which a check builds
 * after its settle window and heap scan: memcheck's search stops every
 * thread for as long as it takes (about a second with the library's
 * reservations mapped), and taken here it would eat the settle window and
 * judge threads that had no chance to finish. */
void lc_valgrind_leak_check(lc_valgrind_counts *out) {
    if (!engine_on()) return;
    if (out) {
        memset(out, 0, sizeof *out);
        return;
    }
    lc_valgrind_counts now;
    memcheck_search(false, &now);
    vg_base.at = now;
    vg_base.pid = getpid();
}

static bool over(unsigned long value, long long limit) {
    return limit >= 0 && value > (unsigned long long)limit;
}

/* Which engine found lost memory: the harness counts blocks allocated
 * since the baseline that nothing reaches; memcheck counts every block
 * that became lost meanwhile, including one allocated before the baseline
 * whose last pointer the test dropped. */
static const char *found_by(bool own, bool memcheck) {
    return own && memcheck ? "both" : own ? "leakcheck" : memcheck ? "memcheck" : "neither";
}

void lc_valgrind_judge(lc_valgrind_verdict *v, long long own_lost_objects, long long own_lost_bytes,
                       const lc_budget *budget) {
    memset(v, 0, sizeof *v);
    if (!engine_on()) return;
    v->on = true;
    check_growth(&v->counts);
    v->judged = last_check.judged;
    v->baseline = last_check.baseline;
    v->over_budget = v->judged && (over(v->counts.leaked_bytes, budget->bytes) ||
                                   over(v->counts.leaked_blocks, budget->objects));
    v->own_lost_objects = own_lost_objects;
    v->own_lost_bytes = own_lost_bytes;
}

static bool engines_agree(const lc_valgrind_verdict *v) {
    return (unsigned long long)v->own_lost_objects == v->counts.leaked_blocks &&
           (unsigned long long)v->own_lost_bytes == v->counts.leaked_bytes;
}

static const char *verdict_found_by(const lc_valgrind_verdict *v) {
    return found_by(v->own_lost_objects > 0, v->counts.leaked_blocks > 0);
}

void lc_valgrind_text(lc_buf *text, const lc_valgrind_verdict *v) {
    if (!v->on) return;
    const lc_valgrind_counts *vg = &v->counts;
    const char *since = !v->judged    ? "since the parent's last search (not judged)"
                        : v->baseline ? "since the baseline"
                                      : "since the program started";
    lc_buf_printf(text,
                  "\nvalgrind memcheck, %s: %lu bytes in %lu block%s definitely or indirectly "
                  "lost%s; %lu bytes in %lu block%s possibly lost (not judged)\n",
                  since, vg->leaked_bytes, vg->leaked_blocks, vg->leaked_blocks == 1 ? "" : "s",
                  !v->judged       ? ""
                  : v->over_budget ? " (over budget)"
                                   : " (within budget)",
                  vg->dubious_bytes, vg->dubious_blocks, vg->dubious_blocks == 1 ? "" : "s");
    lc_buf_printf(text, "  lost memory found by: %s", verdict_found_by(v));
    if (engines_agree(v))
        lc_buf_printf(text, " (the engines agree)\n");
    else if (vg->leaked_blocks > (unsigned long long)v->own_lost_objects ||
             vg->leaked_bytes > (unsigned long long)v->own_lost_bytes)
        lc_buf_printf(text,
                      "; they disagree: memcheck counts %lu bytes in %lu blocks, leakcheck %lld "
                      "bytes in %lld unreachable objects (a block allocated before the baseline "
                      "and lost since is memcheck's alone; LEAKCHECK_VALGRIND_LEAK_CHECK=full "
                      "prints memcheck's records)\n",
                      vg->leaked_bytes, vg->leaked_blocks, v->own_lost_bytes, v->own_lost_objects);
    else
        lc_buf_printf(text,
                      "; they disagree: leakcheck counts %lld bytes in %lld unreachable objects, "
                      "memcheck %lu bytes in %lu blocks (memcheck still finds a pointer, or "
                      "only an interior one, to the rest)\n",
                      v->own_lost_bytes, v->own_lost_objects, vg->leaked_bytes, vg->leaked_blocks);
}

void lc_valgrind_json(lc_buf *json, const lc_valgrind_verdict *v) {
    if (!v->on) return;
    const lc_valgrind_counts *vg = &v->counts;
    lc_buf_printf(json,
                  ", \"valgrind\": {\"engine\": \"memcheck\", \"judged\": %s, \"since\": \"%s\", "
                  "\"definitely_lost_bytes\": %lu, \"definitely_lost_blocks\": %lu, "
                  "\"possibly_lost_bytes\": %lu, \"possibly_lost_blocks\": %lu, "
                  "\"over_budget\": %s, \"leakcheck_unreachable_objects\": %lld, "
                  "\"leakcheck_unreachable_bytes\": %lld, \"found_by\": \"%s\", \"agree\": %s}",
                  v->judged ? "true" : "false",
                  !v->judged    ? "fork"
                  : v->baseline ? "baseline"
                                : "start",
                  vg->leaked_bytes, vg->leaked_blocks, vg->dubious_bytes, vg->dubious_blocks,
                  v->over_budget ? "true" : "false", v->own_lost_objects, v->own_lost_bytes,
                  verdict_found_by(v), engines_agree(v) ? "true" : "false");
}
