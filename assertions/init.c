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
#include "spans.h"
#include "stacks.h"
#include "symbols.h"
#include "thread.h"
#include "verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/single_threaded.h>

/* Whether this fork took the locks. A process that never started a thread
 * (a Check runner forking its tests) has no other thread that could hold
 * one, and taking and dropping the 256 shard locks would write four pages
 * of the table on each side of every fork, each a copy-on-write fault; glibc
 * skips its own malloc locks at fork on the same flag. */
LC_FORK_STATE static bool fork_locked;

static void before_fork(void) {
    lc_os_before_fork();
    lc_baseline_before_fork();
    bool lock = !__libc_single_threaded;
    /* Written only when it changes: the page is the parent's to copy after
     * every fork, and each write to it would be a fault. */
    if (fork_locked != lock) fork_locked = lock;
    if (!lock) return;
    lc_symbolize_lock();
    lc_stack_lock_all();
    lc_heap_lock_all();
    lc_spans_lock_all();
}

LC_CHILD_CODE static void unlock_after_fork(void) {
    if (!fork_locked) return;
    lc_spans_unlock_all();
    lc_heap_unlock_all();
    lc_stack_unlock_all();
    lc_symbolize_unlock();
}

LC_CHILD_CODE static void after_fork_child(void) {
    unlock_after_fork();
    lc_line_service_after_fork_child();
    lc_os_after_fork_child();
    lc_threads_after_fork_child();
    lc_baseline_after_fork_child();
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
    /* The library's allocator serves the interposers only (spans.c). */
    char why[256];
    const char *no_spans = NULL;
    if (lc_inband_on() && !lc_sanitizer_hooked() && !lc_heap_untracked(why, sizeof why))
        no_spans = lc_spans_configure(lc_inband_prepare);
    lc_threads_init();
    lc_runtime_tsd_probe();
    lc_map_roots_init();
    pthread_atfork(before_fork, unlock_after_fork, after_fork_child);
    lc_self_leave();
    if (no_spans)
        fprintf(stderr,
                "leakcheck: LEAKCHECK_ALLOCATOR=%.40s: %s; glibc's malloc serves the blocks\n",
                getenv("LEAKCHECK_ALLOCATOR"), no_spans);
    lc_process_mode_init();
    lc_live_dump_init();
}
