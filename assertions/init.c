/* SPDX-License-Identifier: MIT */
/* init.c: start-up and fork: the order in which the modules start.
 *
 * The allocation hooks work before this runs (they need nothing but mmap),
 * so initialisation only reads settings and installs the fork handlers. A
 * fork takes every tracker lock first, so the child never inherits a lock
 * held by a thread that fork did not copy, and the child's baseline becomes
 * the moment of the fork (a Check test in fork mode starts clean). This is
 * the top of the library: the one place that calls every module's start-up
 * and fork handling, in order (docs/architecture.md). */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "run.h"
#include "sanitizer.h"
#include "scan.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"

#include <pthread.h>

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
    lc_line_service_after_fork_child();
    lc_os_after_fork_child();
    lc_unwind_after_fork_child();
    lc_threads_after_fork_child();
    lc_baseline();
    lc_process_mode_after_fork_child();
}

__attribute__((constructor(101))) static void lc_init(void) {
    static int done;
    if (done) return;
    done = 1;
    lc_self_enter();
    lc_config_read();
    lc_os_modules_refresh();
    lc_unwind_init();
    lc_sanitizer_init();
    lc_threads_init();
    lc_runtime_tsd_probe();
    lc_map_roots_init();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    lc_self_leave();
    lc_process_mode_init();
    lc_live_dump_init();
}
