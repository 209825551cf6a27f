/* SPDX-License-Identifier: MIT */
/* verify.c: VerifyNone and the leak report.
 *
 * A check compares now with the baseline (baseline.c): threads through the settle
 * window (thread_check.c), heap blocks through their sequence numbers. Every
 * new block the C runtime does not own is a leak; each is classified by a
 * conservative scan as `reachable` (the program's globals or the checking
 * thread's stack still point to it: retained growth), `thread` (only a
 * leaked thread's stack or registers hold it) or `unreachable` (lost). The
 * verdict compares the totals with the budget; the report is built once,
 * as text and as JSON, and kept for lc_last_report*(). */
#include "probe.h"
#include "budget.h"
#include "buf.h"
#include "collect.h"
#include "core.h"
#include "engine.h"
#include "fault.h"
#include "heap.h"
#include "os.h"
#include "sanitizer.h"
#include "snapshot.h"
#include "scan.h"
#include "stacks.h"
#include "suppress.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

LC_FORK_STATE static lc_buf last_text, last_json, last_dot;
LC_FORK_STATE static size_t last_json_members; /* their length, after last_json's '{' */
LC_FORK_STATE static pthread_mutex_t verify_lock = PTHREAD_MUTEX_INITIALIZER;

#define MARK_RUNTIME 1
#define MARK_ROOTS 2
#define MARK_THREADS 4
#define MARK_ONE_THREAD 8
#define MARK_INDIRECT 16
#define MARK_LEAK 32 /* a leak, not suppressed */
/* Retained bytes are computed per thread with one scan each; beyond this
 * many threads the report names the leading ones only. */
#define LC_MAX_RETAINED_SCANS 64

const char *lc_last_report(void) {
    return last_text.data ? last_text.data : "";
}
const char *lc_last_report_json(void) {
    return last_json.data ? last_json.data : "";
}
const char *lc_last_report_json_members(size_t *len) {
    *len = last_json.data ? last_json_members : 0;
    return last_json.data ? last_json.data + 1 : "";
}
const char *lc_last_report_dot(void) {
    return last_dot.data ? last_dot.data : "";
}

static void heap_view_free(lc_heap_view *h) {
    lc_graph_free(&h->graph);
    lc_thread_roots_free(&h->troots);
    lc_os_free(h->all, h->map_bytes);
    lc_os_free(h->mark, h->mark_bytes);
    lc_os_free(h->sites, h->sites_bytes);
}

/* Called with the heap locked: no block is freed while it is copied and
 * scanned. */
static bool copy_all_blocks(lc_heap_view *h) {
    size_t cap = lc_heap_live_count() + 1024;
    for (;;) {
        h->map_bytes = cap * sizeof(lc_block);
        h->all = lc_os_alloc(h->map_bytes);
        if (!h->all) return false;
        h->n = lc_heap_copy_held(h->all, cap, 0);
        if (h->n <= cap) return true;
        lc_os_free(h->all, h->map_bytes);
        cap = h->n + h->n / 4;
    }
}

static bool is_new(const lc_heap_view *h, size_t i) {
    return lc_block_seq(&h->all[i]) >= lc_baseline_seq;
}

static bool is_leak(const lc_heap_view *h, size_t i) {
    return h->mark[i] & MARK_LEAK;
}

static int block_class(const lc_heap_view *h, size_t i) {
    return h->mark[i] & MARK_ROOTS     ? LC_CLASS_REACHABLE
           : h->mark[i] & MARK_THREADS ? LC_CLASS_THREAD
                                       : LC_CLASS_UNREACHABLE;
}

static int site_order(const void *a, const void *b) {
    const lc_site *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->objects != y->objects) return x->objects > y->objects ? -1 : 1;
    return (int)x->stack - (int)y->stack;
}

static uint32_t depth_of(const lc_heap_view *h, size_t i) {
    return h->graph.depth && h->graph.parent[i] != LC_GRAPH_NO_PARENT ? h->graph.depth[i]
                                                                      : UINT32_MAX;
}

/* Mark the leaks (new, not the runtime's, not suppressed) and group them by
 * (stack, class, direct or indirect). Runs with the heap unlocked: the
 * suppression rules symbolize, which allocates. */
static bool build_sites(lc_heap_view *h) {
    size_t nleaks = 0;
    if (lc_suppress_asks_files()) {
        for (size_t i = 0; i < h->n; i++)
            if (is_new(h, i) && !(h->mark[i] & MARK_RUNTIME))
                lc_suppress_want(lc_block_stack(&h->all[i]));
        lc_suppress_wanted();
    }
    for (size_t i = 0; i < h->n; i++) {
        if (!is_new(h, i) || (h->mark[i] & MARK_RUNTIME)) continue;
        const lc_block *b = &h->all[i];
        if (lc_suppress_leak(lc_block_stack(b), lc_block_size(b))) {
            h->suppressed_objects++;
            h->suppressed_bytes += (long long)lc_block_size(b);
            continue;
        }
        h->mark[i] |= MARK_LEAK;
        nleaks++;
    }
    if (!nleaks) return true;
    /* Group by sorting one key per leak, (stack, class, indirect) above the
     * block's index: a radix sort, since a check may see a million leaks. */
    size_t keys_bytes = 2 * nleaks * sizeof(uint64_t);
    uint64_t *keys = lc_os_alloc(keys_bytes);
    if (!keys) return false;
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!is_leak(h, i)) continue;
        const lc_block *b = &h->all[i];
        int klass = block_class(h, i);
        bool indirect = klass == LC_CLASS_UNREACHABLE && (h->mark[i] & MARK_INDIRECT);
        long long size = (long long)lc_block_size(b);
        uint64_t group = (uint64_t)lc_block_stack(b) << 3 | (uint64_t)klass << 1 | indirect;
        keys[k++] = group << 32 | (uint64_t)i;
        if (klass == LC_CLASS_REACHABLE) {
            h->reachable_objects++;
            h->reachable_bytes += size;
        } else if (klass == LC_CLASS_THREAD) {
            h->thread_objects++;
            h->thread_bytes += size;
        } else {
            h->unreachable_objects++;
            h->unreachable_bytes += size;
            if (indirect) {
                h->indirect_objects++;
                h->indirect_bytes += size;
            }
        }
        if (klass != LC_CLASS_REACHABLE || h->count_reachable) {
            h->objects++;
            h->bytes += size;
        }
    }
    lc_sort_u64(keys, keys + nleaks, k, 32, 27);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        m += i == 0 || keys[i] >> 32 != keys[i - 1] >> 32;
    h->sites_bytes = m * sizeof(lc_site);
    h->sites = lc_os_alloc(h->sites_bytes);
    if (!h->sites) {
        lc_os_free(keys, keys_bytes);
        return false;
    }
    m = 0;
    for (size_t i = 0; i < k; i++) {
        size_t at = (size_t)(keys[i] & 0xffffffffu);
        const lc_block *b = &h->all[at];
        uint32_t group = (uint32_t)(keys[i] >> 32);
        lc_site *last = m ? &h->sites[m - 1] : NULL;
        if (last && i && keys[i] >> 32 == keys[i - 1] >> 32) {
            last->objects++;
            last->bytes += (long long)lc_block_size(b);
            uint32_t depth = depth_of(h, at);
            if (depth < last->example_depth) {
                last->example = at;
                last->example_depth = depth;
            }
            continue;
        }
        h->sites[m++] =
            (lc_site){group >> 3, (int)(group >> 1 & 3), group & 1, 1, (long long)lc_block_size(b),
                      at,         depth_of(h, at)};
    }
    lc_os_free(keys, keys_bytes);
    h->nsites = m;
    qsort(h->sites, m, sizeof(lc_site), site_order);
    return true;
}

/* Threads go on running while the check reads their roots, and a block
 * one allocates after its capture may be held only where the capture did
 * not look (a register, a frame below the captured stack pointer): judged,
 * it would be a false "lost". Such blocks (numbered from the capture's
 * born_seq on) are moved past h->n, out of the verdict, as valgrind and
 * LeakSanitizer, which stop the world, never see them; returns how many. */
static size_t set_young_apart(lc_heap_view *h, const lc_thread_report *threads) {
    if (!threads || !threads->born_seq) return 0;
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        if (lc_block_seq(&h->all[lo]) < threads->born_seq) {
            lo++;
        } else {
            lc_block b = h->all[--hi];
            h->all[hi] = h->all[lo];
            h->all[lo] = b;
        }
    }
    size_t young = h->n - lo;
    h->n = lo;
    return young;
}

/* What a young block holds is live: a pointer the program moved into it
 * (realloc copies a whole array of them) keeps its target. Each is a root
 * of its own, kind "region". */
static void add_young_roots(lc_graph *g, const lc_heap_view *h, size_t young) {
    for (size_t i = h->n; i < h->n + young; i++) {
        uintptr_t a = lc_block_addr(&h->all[i]);
        lc_root root = {.r = {a, a + lc_block_size(&h->all[i])},
                        .kind = LC_ROOT_REGION,
                        .thread = -1,
                        .module = "a block allocated during the check"};
        lc_graph_add_root(g, &root);
    }
}

/* The scan, with every other thread's stack captured and the heap locked
 * (so nothing it reads is freed under it): runtime ownership; what the
 * program's globals, TLS and live threads reach (reachable, with the
 * shortest path to each block); what only leaked threads reach (thread);
 * what each leaked thread alone retains; and the direct/indirect split of
 * the rest. */
static bool scan_heap(lc_heap_view *h, lc_thread_report *threads, uintptr_t caller_frame,
                      const lc_registers_at_entry *regs, bool process_mode) {
    uint64_t t0 = lc_os_now_ns();
    lc_graph *g = &h->graph;
    /* Nothing new is live: no leak to classify, and no thread need be
     * interrupted for its registers (the common case of a clean test). */
    if (!lc_heap_any_new(lc_baseline_seq, LC_BLOCK_RUNTIME) && lc_watch_count() == 0) return true;
    /* Something new is live. When it is all the C runtime's (a forked
     * test's first stdio buffer, the time zone, strerror's message) the
     * verdict is clean whatever else holds it, and the runtime's own roots
     * settle that (runtime_owned.c): the full scan below, with its classes,
     * retention paths and retained bytes, is for explaining leaks. */
    if (lc_thread_report_count(threads) == 0 && lc_watch_count() == 0 &&
        lc_runtime_owns_new(lc_baseline_seq))
        return true;
    h->retention = (lc_retention){g, threads, &h->troots, caller_frame, process_mode};
    /* Roots first: they are gathered with dl_iterate_phdr and thread
     * signals, which must not wait on a heap lock. */
    size_t runtime_from = lc_runtime_add_roots(g);
    size_t roots_from = lc_graph_add_globals(g);
    lc_user_roots_add(g);
    /* At exit, caller_frame is where the program called exit(): the frames
     * above it are live; those of the exit handlers below, and what main
     * left after returning, are dead values that must not hide a loss. */
    lc_thread_roots_live(g, &h->troots, threads, caller_frame, regs, true);
    size_t tsd_from = g->nroots;
    lc_thread_roots_tsd(g, &h->troots);
    size_t tsd_to = g->nroots;
    size_t threads_from = g->nroots;
    size_t nthreads = lc_thread_report_count(threads);
    size_t *thread_range = NULL, range_bytes = (nthreads + 1) * sizeof(size_t);
    thread_range = lc_os_alloc(range_bytes);
    for (size_t t = 0; t < nthreads && thread_range; t++) {
        thread_range[t] = g->nroots;
        lc_thread_roots_leaked(g, &h->troots, threads, t);
    }
    if (thread_range) thread_range[nthreads] = g->nroots;
    size_t roots_end = g->nroots;

    lc_heap_lock_all();
    bool ok = copy_all_blocks(h);
    size_t young = ok ? set_young_apart(h, threads) : 0;
    bool any_new = false;
    for (size_t i = 0; ok && i < h->n && !any_new; i++)
        any_new = is_new(h, i);
    if (ok && (any_new || lc_watch_count() > 0)) {
        lc_blocks_sort_by_addr(h->all, h->n);
        h->mark_bytes = h->n ? h->n : 1;
        h->mark = lc_os_alloc(h->mark_bytes);
        ok = h->mark && lc_graph_init(g, h->all, h->n, h->mark, true) == 0;
        if (ok) {
            /* What live threads keep with pthread_setspecific is the
             * program's, though the runtime's blocks point at it too. */
            lc_graph_mark(g, tsd_from, tsd_to, MARK_ROOTS, 0, false, true);
            lc_runtime_owned(g, runtime_from, roots_from, MARK_RUNTIME, MARK_ROOTS);
            /* Once the runtime's, a block stays the runtime's: flagged, it
             * no longer makes later checks scan. */
            for (size_t i = 0; i < h->n; i++)
                if ((h->mark[i] & MARK_RUNTIME) && is_new(h, i) &&
                    !(lc_block_flags(&h->all[i]) & LC_BLOCK_RUNTIME))
                    lc_heap_flag_held(lc_block_addr(&h->all[i]), LC_BLOCK_RUNTIME);
            lc_graph_mark(g, roots_from, threads_from, MARK_ROOTS, MARK_RUNTIME, false, true);
            /* The program's own mappings, known only now: a mapping that
             * holds a block is malloc's. */
            size_t maps_from = lc_map_roots_add(g);
            add_young_roots(g, h, young);
            lc_graph_mark(g, maps_from, g->nroots, MARK_ROOTS, MARK_RUNTIME, false, true);
            lc_graph_mark(g, threads_from, roots_end, MARK_THREADS, MARK_RUNTIME | MARK_ROOTS,
                          false, true);
            lc_graph_split_lost(g, MARK_INDIRECT, MARK_RUNTIME | MARK_ROOTS | MARK_THREADS);
        }
    }
    /* What each leaked thread alone keeps alive: its own scan, with the
     * blocks the rest of the program reaches left out. Still under the
     * lock, since it reads the blocks. */
    long long *retained = NULL;
    size_t retained_bytes = (nthreads + 1) * sizeof(long long);
    if (ok && h->mark && thread_range && (retained = lc_os_alloc(retained_bytes))) {
        for (size_t t = 0; t < nthreads && t < LC_MAX_RETAINED_SCANS; t++) {
            if (thread_range[t] == thread_range[t + 1]) continue;
            lc_graph_mark_retained(g, thread_range[t], thread_range[t + 1], MARK_ONE_THREAD,
                                   MARK_RUNTIME | MARK_ROOTS);
            for (size_t i = 0; i < h->n; i++)
                if ((h->mark[i] & MARK_ONE_THREAD) && is_new(h, i))
                    retained[t] += (long long)lc_block_size(&h->all[i]);
        }
    }
    lc_heap_unlock_all();
    for (size_t t = 0; retained && t < nthreads; t++)
        if (retained[t]) lc_thread_report_set_retained(threads, t, retained[t]);
    lc_os_free(retained, retained_bytes);
    if (ok && h->mark) ok = build_sites(h);
    lc_os_free(thread_range, range_bytes);
    h->incomplete = !ok || g->incomplete;
    h->scan_seconds = (double)(lc_os_now_ns() - t0) / 1e9;
    return !h->incomplete;
}

/* ------------------------------------------------------------ budgets */

static int resolve_budget(const lc_options *o, lc_budget *b, char *err, size_t errlen) {
    *b = (lc_budget){0, 0, 0};
    /* Read at every check, so a test may set it for the checks that follow. */
    const char *env = getenv("LEAKCHECK_BUDGET");
    if (env && *env && lc_budget_parse(env, b, err, errlen) != 0) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, " (from LEAKCHECK_BUDGET)");
        return -1;
    }
    if (o && o->budget && lc_budget_parse(o->budget, b, err, errlen) != 0) return -1;
    return 0;
}

static bool over(long long value, long long limit) {
    return limit >= 0 && value > limit;
}

/* The watched blocks still live, each with what retains it, into the
 * model. Apart from gather_watched, which calls it only when something is
 * watched: its 22 KB frame would put whatever it calls that far down the
 * stack, pages a forked test's check would fault in for nothing. */
__attribute__((noinline)) static void gather_live_watches(lc_check *c) {
    lc_watched live[LC_MAX_WATCHES];
    size_t n = lc_watch_live(live, LC_MAX_WATCHES);
    if (n > LC_MAX_WATCHES) n = LC_MAX_WATCHES;
    c->watched_live = (int)n;
    if (!n) return;
    c->watched_bytes = n * sizeof *c->watched;
    c->watched = lc_os_alloc(c->watched_bytes);
    if (!c->watched) {
        c->watched_bytes = 0;
        return;
    }
    const lc_heap_view *h = &c->heap;
    for (size_t i = 0; i < n; i++) {
        struct lc_watched_view *v = &c->watched[i];
        v->w = live[i];
        if (!h->mark) continue;
        size_t lo = 0, hi = h->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (lc_block_addr(&h->all[mid]) < v->w.addr)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == h->n || lc_block_addr(&h->all[lo]) != v->w.addr) continue;
        v->scanned = true;
        v->npath = lc_retention_path(&h->retention, lo, v->path, LC_PATH_MAX, &v->skipped);
    }
}

static void gather_watched(lc_check *c) {
    if (lc_watch_count() > 0) gather_live_watches(c);
}

static void error_result(const char *err, const lc_options *o, lc_result *res) {
    lc_buf_free(&last_text);
    lc_buf_free(&last_json);
    lc_buf_printf(&last_text, "leakcheck: %s\n", err);
    lc_buf_printf(&last_json, "{\"schema\": \"leakcheck/1\", \"verdict\": \"error\", \"error\": ");
    lc_buf_json_str(&last_json, err);
    last_json_members = last_json.len ? last_json.len - 1 : 0;
    lc_buf_printf(&last_json, "}");
    if (res) {
        memset(res, 0, sizeof *res);
        res->verdict = -1;
    }
    if (!(o && o->quiet) && !lc_cfg.quiet && last_text.data) {
        FILE *out = o && o->out ? o->out : stderr;
        fputs(last_text.data, out);
        fflush(out);
    }
}

/* ------------------------------------------------------------ the check */

static int verify(const lc_options *o, lc_result *res, uintptr_t caller_frame,
                  const lc_registers_at_entry *regs, bool count_reachable, bool process_mode) {
    lc_os_map_own_code();
    char err[1024];
    lc_budget budget;
    double settle;
    if (resolve_budget(o, &budget, err, sizeof err) != 0 ||
        lc_suppress_load_env(err, sizeof err) != 0 || lc_heap_untracked(err, sizeof err) ||
        (!(o && o->settle_seconds > 0) && lc_config_settle(&settle, err, sizeof err) != 0)) {
        error_result(err, o, res);
        return -1;
    }
    lc_suppress_begin_check();
    /* The settle window counts from the threads' first look (thread_check.c);
     * memcheck's own leak search (slow under valgrind) comes after it, in
     * the report. */
    if (o && o->settle_seconds > 0) settle = o->settle_seconds;
    int top = o && o->top > 0 ? o->top : 20;

    lc_collect_run_hooks();
    /* Mapped apart, neither static nor on the stack: the model holds copies
     * of block addresses, and memory a scan reads as roots (globals, the
     * checking thread's frames) must not keep a block alive for a later
     * check. lc_os_alloc's memory comes zeroed. */
    lc_check *c = lc_os_alloc(sizeof *c);
    if (!c) {
        error_result("out of memory for the check's model", o, res);
        return -1;
    }
    c->budget = budget;
    c->top = top;

    /* Gather. */
    /* In a register: a tracer cannot read an argument the compiler left as
     * a RIP-relative operand. */
    uint64_t probe_seq = lc_baseline_seq;
    __asm__("" : "+r"(probe_seq));
    LC_PROBE_CHECK_BEGIN(probe_seq);
    lc_engines_gather(&c->engines);
    c->threads = lc_threads_check(o, settle);
    c->heap.count_reachable = count_reachable;
    c->scanned = scan_heap(&c->heap, c->threads, caller_frame, regs, process_mode);
    c->nthreads = (long long)lc_thread_report_count(c->threads);
    gather_watched(c);

    /* Judge. A scan that could not finish leaves reachable blocks unmarked:
     * its figures would be false either way, so there is no verdict. */
    const lc_heap_view *h = &c->heap;
    lc_engines_judge(&c->engines, h->unreachable_objects, h->unreachable_bytes, &budget);
    c->leak = over(h->bytes, budget.bytes) || over(h->objects, budget.objects) ||
              over(c->nthreads, budget.threads) || c->watched_live > 0 || c->engines.over_budget;
    c->verdict = !c->scanned ? -1 : c->leak ? 1 : 0;
    LC_PROBE_VERDICT(c->verdict, h->objects, h->bytes, c->nthreads);
    if (c->leak) lc_baseline_write_profiles(&c->profiles);

    /* Render. */
    lc_buf_free(&last_text);
    lc_buf_free(&last_json);
    lc_buf_free(&last_dot);
    if (lc_cfg.retention_graph) {
        bool holes = lc_report_set_holes(false); /* the graph is a file of its own */
        lc_report_dot(&last_dot, c);
        lc_report_set_holes(holes);
    }
    lc_report_text(&last_text, c);
    lc_buf_printf(&last_json, "{");
    lc_report_json_members(&last_json, c);
    last_json_members = last_json.len ? last_json.len - 1 : 0;
    lc_buf_printf(&last_json, "}\n");
    if (res) lc_report_result(c, res);
    if (c->verdict != 0 && !(o && o->quiet) && !lc_cfg.quiet && last_text.data) {
        FILE *out = o && o->out ? o->out : stderr;
        fputs(last_text.data, out);
        fflush(out);
    }

    heap_view_free(&c->heap);
    lc_os_free(c->watched, c->watched_bytes);
    lc_buf_free(&c->profiles);
    lc_thread_report_free(c->threads);
    int verdict = c->verdict;
    lc_os_free(c, sizeof *c);
    return verdict;
}

/* The stack below the program's frame that called the check is dead: what
 * the program's callees left there (a pointer it has since dropped) must
 * not look live to LeakSanitizer, which scans the checking thread's stack
 * from deep inside the check. Cleared before the check's own frames take
 * that space, and only where the thread's stack certainly extends. */
#define DEAD_STACK_CLEARED 16384
__attribute__((noinline)) static void clear_dead_stack(void) {
    volatile char pad[DEAD_STACK_CLEARED];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = 0;
}

static void clear_below_caller(void) {
    /* The library's own scan starts at the caller's frame: only the engines
     * that scan from the stack pointer (memcheck, LeakSanitizer) would see
     * the dead stack, and in a forked child clearing it is four page
     * faults for nothing. */
    if (!lc_cfg.under_valgrind && !lc_lsan_available()) return;
    uintptr_t lo, hi, sp = (uintptr_t)__builtin_frame_address(0);
    if (lc_os_thread_stack(&lo, &hi) && sp < hi && sp - lo > 4 * DEAD_STACK_CLEARED)
        clear_dead_stack();
}

/* Set while this thread runs a check (and holds verify_lock): a check
 * from inside it (a collection hook's) would wait on that lock forever. */
static LC_TLS int in_check;

static int nested_check(const lc_options *o, lc_result *res) {
    /* Inside a check this thread holds the lock; inside a hook run by
     * lc_collect it does not, and the last report is shared. */
    bool locked = in_check;
    if (!locked) pthread_mutex_lock(&verify_lock);
    error_result("a check cannot run inside an lc_at_collect hook (nor inside another check)", o,
                 res);
    if (!locked) pthread_mutex_unlock(&verify_lock);
    return -1;
}

/* Options built with version 1 of the header lack the fields version 2
 * added: they are read into a full copy with those left out. */
static const char bad_version[] =
    "lc_options built without LC_VERIFY_NONE/LC_OPTIONS (bad struct_version)";

static int normalize_options(const lc_options **o, lc_options *full) {
    if (!*o || (*o)->struct_version == LC_OPTIONS_VERSION) return 0;
    if ((*o)->struct_version != 1) return -1;
    memset(full, 0, sizeof *full);
    memcpy(full, *o, offsetof(lc_options, ignore_current));
    full->struct_version = LC_OPTIONS_VERSION;
    *o = full;
    return 0;
}

/* The public entry points record where the program called from: its own
 * stack frames are scanned from there up, and its stack in a dump starts
 * there. They must stay out of line for the addresses to be the caller's. */
#define VERIFY_CALL(rc, opts, res, count_reachable, process_mode)                                  \
    do {                                                                                           \
        if (in_check) return nested_check(opts, res);                                              \
        lc_options full_;                                                                          \
        const lc_options *o_ = (opts);                                                             \
        if (normalize_options(&o_, &full_) != 0) {                                                 \
            pthread_mutex_lock(&verify_lock);                                                      \
            error_result(bad_version, opts, res);                                                  \
            pthread_mutex_unlock(&verify_lock);                                                    \
            return -1;                                                                             \
        }                                                                                          \
        clear_below_caller();                                                                      \
        lc_registers_at_entry regs = {0}; /* no stale word beyond n */                             \
        uintptr_t caller_frame = (uintptr_t)__builtin_frame_address(0);                            \
        LC_CALLEE_SAVED_AT_ENTRY(&regs, caller_frame);                                             \
        lc_api_return = (uintptr_t)__builtin_return_address(0);                                    \
        pthread_mutex_lock(&verify_lock);                                                          \
        if (lc_collect_in_hook()) {                                                                \
            pthread_mutex_unlock(&verify_lock);                                                    \
            return nested_check(opts, res);                                                        \
        }                                                                                          \
        in_check = 1;                                                                              \
        rc = verify(o_, res, caller_frame, &regs, count_reachable, process_mode);                  \
        in_check = 0;                                                                              \
        pthread_mutex_unlock(&verify_lock);                                                        \
        if (o_ && o_->cleanup) o_->cleanup(rc, o_->cleanup_arg);                                   \
    } while (0)

int lc_verify(const lc_options *opts, lc_result *res) {
    int rc;
    VERIFY_CALL(rc, opts, res, true, false);
    return rc;
}

int lc_verify_process(const lc_options *opts, lc_result *res, bool strict, uintptr_t exit_frame,
                      const lc_registers_at_entry *exit_regs) {
    if (in_check) return nested_check(opts, res);
    pthread_mutex_lock(&verify_lock);
    in_check = 1;
    int rc = verify(opts, res, exit_frame, exit_regs, strict, true);
    in_check = 0;
    pthread_mutex_unlock(&verify_lock);
    return rc;
}

int lc_verify_none(const lc_options *opts) {
    int rc;
    VERIFY_CALL(rc, opts, NULL, true, false);
    return rc;
}

/* The check runs quietly: the report is printed once, by
 * lc_test_report_failure, with the summary the framework gets. */
int lc_verify_test(const lc_options *opts, const char *name, const char *file, int line, char *msg,
                   size_t msglen) {
    lc_options full;
    if (normalize_options(&opts, &full) != 0) {
        if (msg && msglen) snprintf(msg, msglen, "%s", bad_version);
        return -1;
    }
    lc_options quiet = {.struct_version = LC_OPTIONS_VERSION};
    if (opts) quiet = *opts;
    quiet.quiet = 1;
    /* The cleanup runs once the failure is reported, below. */
    quiet.cleanup = NULL;
    lc_result res;
    int rc;
    VERIFY_CALL(rc, &quiet, &res, true, false);
    if (msg && msglen) msg[0] = '\0';
    if (rc != 0) lc_test_report_failure(rc, &res, opts, name, file, line, msg, msglen);
    if (opts && opts->cleanup) opts->cleanup(rc, opts->cleanup_arg);
    return rc;
}
