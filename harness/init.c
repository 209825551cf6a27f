/* init.c: start-up, configuration from the environment, and fork.
 *
 * The allocation hooks work before this runs (they need nothing but mmap),
 * so initialisation only reads settings and installs the fork handlers. A
 * fork takes every tracker lock first, so the child never inherits a lock
 * held by a thread that fork did not copy, and the child's baseline becomes
 * the moment of the fork (a Check test in fork mode starts clean). */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/valgrind.h>

lc_config lc_cfg = {
    .stack_depth = LC_DEFAULT_DEPTH,
    .settle_seconds = 1.0,
};

static void before_fork(void) {
    lc_symbolize_lock();
    lc_stack_lock_all();
    lc_heap_lock_all();
}

static void after_fork_parent(void) {
    lc_heap_unlock_all();
    lc_stack_unlock_all();
    lc_symbolize_unlock();
}

static void after_fork_child(void) {
    lc_heap_unlock_all();
    lc_stack_unlock_all();
    lc_symbolize_unlock();
    lc_os_tid_reset();
    lc_threads_after_fork_child();
    lc_baseline();
    lc_process_mode_after_fork_child();
}

static void read_settings(void) {
    const char *depth = getenv("LEAKCHECK_STACK_DEPTH");
    if (depth && *depth) {
        char *end;
        long d = strtol(depth, &end, 10);
        if (*end == '\0' && d >= 0) lc_cfg.stack_depth = d > LC_MAX_DEPTH ? LC_MAX_DEPTH : (int)d;
    }
    const char *unwind = getenv("LEAKCHECK_UNWIND");
    lc_cfg.unwind_dwarf = unwind && strcmp(unwind, "dwarf") == 0;
    const char *settle = getenv("LEAKCHECK_SETTLE");
    if (settle && *settle) {
        char *end;
        double s = strtod(settle, &end);
        if (*end == '\0' && s >= 0) lc_cfg.settle_seconds = s;
    }
    const char *quiet = getenv("LEAKCHECK_QUIET");
    lc_cfg.quiet = quiet && *quiet && strcmp(quiet, "0") != 0;
    lc_cfg.under_valgrind = RUNNING_ON_VALGRIND != 0;
    const char *vg = getenv("LEAKCHECK_VALGRIND_LEAK_CHECK");
    lc_cfg.valgrind_leak_check = !(vg && (strcmp(vg, "0") == 0 || strcmp(vg, "off") == 0));
}

__attribute__((constructor(101))) void lc_init(void) {
    static int done;
    if (done) return;
    done = 1;
    lc_self_enter();
    read_settings();
    lc_os_modules_refresh();
    lc_sanitizer_init();
    lc_threads_init();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    lc_self_leave();
    lc_process_mode_init();
}
