/* SPDX-License-Identifier: MIT */
/* fault.c: allocation-failure injection.
 *
 * Error paths after a failed allocation are the code tests rarely run, and
 * where leaks hide. This file decides which allocation fails (the
 * interposers in alloc_hooks.c ask it, behind one flag that is clear unless
 * injection is armed) and remembers the stack of the failed allocation. The
 * sweep that drives it over a function, one forked child per failure point,
 * runs above the check (assertions/fault_sweep.c).
 *
 * Counting follows the baseline: it starts when injection is armed, at
 * start for LEAKCHECK_FAIL_ALLOC, and again in every forked child. Only the
 * program's allocations count: the library's own (lc_self_depth) and the
 * dynamic linker's (link maps, TLS blocks, which it cannot recover from)
 * neither fail nor count. With a scope, only allocations with a frame in
 * the named function count; the scope is matched by symbolized function
 * name, which costs a stack capture per allocation while armed and nothing
 * otherwise.
 *
 * With LEAKCHECK_FAULT_STATUS=PATH (set by `leakcheck fault-sweep`), a
 * process writes "hit N" to PATH the moment it injects its failure (with
 * write(2) only: it is inside malloc, and the program may crash next), and
 * appends the failed allocation's symbolized stack at exit (with the map of
 * the holes its frames leave for files and lines, under the supervisor).
 * No file means the run never reached the failure. */
#include "buf.h"
#include "core.h"
#include "fault.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

LC_HOT atomic_int lc_fault_armed;

/* Read by every baseline, so every forked test's: with the fork state. */
LC_FORK_STATE static long fail_at;
LC_FORK_STATE static int fail_persistent;
static _Atomic long counted;
static _Atomic long hits;
static _Atomic lc_stack_id failed_stack;
static char scope[LC_FAULT_SCOPE_MAX];
static char status_path[4096];
/* A sweep child keeps counting after its single failure, so that the sweep
 * knows whether the code allocated again (see fault_sweep.c). */
static bool count_after_hit;
static bool status_at_exit_registered;
static void write_status_at_exit(void);

/* ------------------------------------------------------------ injection */

static int capture(uintptr_t *pcs, void *frame, uintptr_t caller) {
    int depth = lc_cfg.stack_depth > 0 ? lc_cfg.stack_depth : LC_DEFAULT_DEPTH;
    return lc_unwind(pcs, depth, frame, caller);
}

static bool stack_in_scope(const uintptr_t *pcs, int n) {
    for (int i = 0; i < n; i++) {
        lc_frame f;
        /* Return addresses: pc - 1 is inside the call. */
        if (lc_symbolize_pc(pcs[i] - 1, &f) == 0 && f.function && strcmp(f.function, scope) == 0)
            return true;
    }
    return false;
}

/* The moment of the hit, from inside malloc: no allocation, no stdio. */
static void write_status_hit(long n) {
    int fd = open(status_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[64];
    int len = snprintf(line, sizeof line, "hit %ld pid %d\n", n, (int)getpid());
    if (len > 0 && write(fd, line, (size_t)len) < 0) {
        /* Nothing to report it to: the sweep then sees no hit. */
    }
    close(fd);
}

bool lc_fault_fires(void *frame, uintptr_t caller) {
    if (lc_os_pc_in_linker(caller)) return false;
    lc_self_enter();
    uintptr_t pcs[LC_MAX_DEPTH];
    int n = -1;
    if (scope[0]) {
        n = capture(pcs, frame, caller);
        if (!stack_in_scope(pcs, n)) {
            lc_self_leave();
            return false;
        }
    }
    long c = atomic_fetch_add(&counted, 1) + 1;
    bool fire = c == fail_at || (fail_persistent && c > fail_at);
    if (fire && atomic_fetch_add(&hits, 1) == 0) {
        if (n < 0) n = capture(pcs, frame, caller);
        atomic_store(&failed_stack, lc_stack_intern(pcs, n));
        if (status_path[0]) {
            write_status_hit(c);
            /* Registered now, not at start: the later a handler is
             * registered the earlier it runs, and it must run before the
             * process-mode check, which may end the process. */
            if (!status_at_exit_registered) {
                status_at_exit_registered = true;
                atexit(write_status_at_exit);
            }
        }
        /* A single failure is done: back to the one-branch fast path. */
        if (!fail_persistent && !count_after_hit) atomic_store(&lc_fault_armed, 0);
    }
    lc_self_leave();
    return fire;
}

int lc_fault_inject(long n, int persistent) {
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    atomic_store(&lc_fault_armed, 0);
    /* Disarming keeps the count of hits and the failed stack to read. */
    if (n == 0) return 0;
    fail_at = n;
    fail_persistent = persistent != 0;
    atomic_store(&counted, 0);
    atomic_store(&hits, 0);
    atomic_store(&failed_stack, 0);
    atomic_store(&lc_fault_armed, 1);
    return 0;
}

int lc_fault_scope(const char *function) {
    if (!function) function = "";
    size_t len = strlen(function);
    if (len >= sizeof scope) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(scope, function, len + 1);
    /* A scope is matched by symbolizing allocation stacks: libdw is loaded
     * now, from the caller's ordinary code, and not by the first allocation,
     * which may be the dynamic linker's own (docs/dependencies.md). */
    if (len) lc_symbolize_prepare();
    return 0;
}

long lc_fault_hits(void) {
    return atomic_load(&hits);
}

lc_stack_id lc_fault_failed_stack(void) {
    return atomic_load(&failed_stack);
}

/* LEAKCHECK_FAIL_ALLOC's value: "N" fails the N-th allocation, "N+" every
 * one from the N-th on. */
static void arm_from(const char *v) {
    char *end;
    long n = strtol(v, &end, 10);
    bool persistent = *end == '+';
    if (persistent) end++;
    if (*end == '\0' && n > 0) lc_fault_inject(n, persistent);
}

LC_CHILD_CODE void lc_fault_baseline(const char *fail_alloc) {
    if (fail_alloc && *fail_alloc)
        arm_from(fail_alloc);
    else if (fail_at > 0)
        lc_fault_inject(fail_at, fail_persistent);
}

void lc_fault_count_after_hit(bool on) {
    count_after_hit = on;
}

long lc_fault_counted(void) {
    return atomic_load(&counted);
}

void lc_fault_scope_get(char *out, size_t len) {
    snprintf(out, len, "%s", scope);
}

/* The failed allocation's stack, for `leakcheck fault-sweep`, written when
 * the program exits: symbolizing inside malloc could deadlock on a lock the
 * interrupted C runtime holds. */
static void write_status_at_exit(void) {
    static atomic_bool written; /* by the deadline's watchdog, or at exit */
    lc_stack_id id = lc_fault_failed_stack();
    if (!id || !status_path[0] || atomic_exchange(&written, true)) return;
    lc_self_enter();
    lc_buf b = {0};
    lc_buf_printf(&b, "stack pid %d\n", (int)getpid());
    /* Under the supervisor the files and lines are its to find: the stack
     * has holes, and the map they refer to follows it. */
    bool was = lc_report_set_holes(true);
    lc_report_stack(&b, id, "    ", 32);
    lc_report_set_holes(was);
    if (b.data && memchr(b.data, LC_HOLE, b.len)) {
        lc_buf_printf(&b, "modules:\n");
        lc_report_modules(&b);
        lc_buf_printf(&b, "end modules\n");
    }
    int fd = open(status_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0 && !b.failed) {
        for (size_t off = 0; off < b.len;) {
            ssize_t w = write(fd, b.data + off, b.len - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
    }
    if (fd >= 0) close(fd);
    lc_buf_free(&b);
    lc_self_leave();
}

void lc_fault_write_status(void) {
    write_status_at_exit();
}

__attribute__((constructor)) static void fault_init(void) {
    lc_self_enter();
    const char *s = getenv("LEAKCHECK_FAIL_SCOPE");
    if (s && *s) lc_fault_scope(s);
    const char *st = getenv("LEAKCHECK_FAULT_STATUS");
    if (st && *st && strlen(st) < sizeof status_path) {
        memcpy(status_path, st, strlen(st) + 1);
    }
    const char *fail_alloc = getenv("LEAKCHECK_FAIL_ALLOC");
    lc_self_leave();
    if (fail_alloc && *fail_alloc) arm_from(fail_alloc);
}
