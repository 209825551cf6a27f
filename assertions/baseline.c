/* SPDX-License-Identifier: MIT */
/* baseline.c: the moment a check compares with.
 *
 * The baseline is a sequence number of the heap (every block allocated
 * since is new), the threads alive then, the fault injector's count and,
 * under valgrind, memcheck's figures. lc_baseline() sets it; so does every
 * fork in the child, so that a Check test in fork mode starts clean. With
 * LEAKCHECK_PPROF_DIR set it keeps a snapshot too, written with the present
 * heap as the two profiles of a failing check. */
#include "probe.h"
#include "buf.h"
#include "core.h"
#include "engine.h"
#include "fault.h"
#include "heap.h"
#include "snapshot.h"
#include "thread.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

LC_FORK_STATE uint64_t lc_baseline_seq;
/* With LEAKCHECK_PPROF_DIR set, the baseline keeps a snapshot so that a
 * failing check can write the before/after heap profiles for
 * `leakcheck diff` and `go tool pprof -diff_base`. */
LC_FORK_STATE static lc_snapshot *baseline_snapshot;
static unsigned profiles_written;

LC_FORK_STATE unsigned long lc_baseline_searches;
/* The variables a baseline reads, as the forking thread saw them just
 * before the fork (lc_baseline_before_fork). A forked child's baseline
 * takes them from here rather than walk the environment in every forked
 * test (bench/README.md, "What a page costs a forked test"). The child's
 * environment is the parent's at the fork, so the values are the same. */
typedef struct baseline_env {
    const char *pprof_dir;  /* LEAKCHECK_PPROF_DIR */
    const char *fail_alloc; /* LEAKCHECK_FAIL_ALLOC */
} baseline_env;
LC_FORK_STATE static baseline_env env_at_fork;

static baseline_env env_now(void) {
    return (baseline_env){getenv("LEAKCHECK_PPROF_DIR"), getenv("LEAKCHECK_FAIL_ALLOC")};
}

LC_CHILD_CODE static void baseline(baseline_env env, bool memcheck_search) {
    if (baseline_snapshot) {
        lc_snapshot_free(baseline_snapshot);
        baseline_snapshot = NULL;
    }
    if (env.pprof_dir && *env.pprof_dir) baseline_snapshot = lc_snapshot_take_heap();
    lc_baseline_seq = lc_heap_new_epoch();
    LC_PROBE_BASELINE(lc_baseline_seq);
    lc_threads_baseline();
    lc_fault_baseline(env.fail_alloc);
    /* The baseline (and so every fork) is also memcheck's: under valgrind
     * its leak figures are judged as growth since this moment (collect.c).
     * A test framework's second baseline of the same test keeps the first
     * search (test_report.c). */
    if (memcheck_search) lc_engines_baseline();
    lc_baseline_searches += memcheck_search;
}

void lc_baseline_before_fork(void) {
    baseline_env now = env_now();
    /* Written only when they change: the page is copied on a write. */
    if (env_at_fork.pprof_dir != now.pprof_dir || env_at_fork.fail_alloc != now.fail_alloc)
        env_at_fork = now;
}

LC_CHILD_CODE void lc_baseline_after_fork_child(void) {
    baseline(env_at_fork, true);
}

void lc_baseline(void) {
    lc_baseline_ex(true);
}

void lc_baseline_ex(bool memcheck_search) {
    baseline(env_now(), memcheck_search);
}

int lc_baseline_write_profiles(lc_buf *t) {
    const char *dir = getenv("LEAKCHECK_PPROF_DIR");
    if (!dir || !*dir || !baseline_snapshot) return -1;
    char before[512], after[512];
    unsigned n = ++profiles_written;
    snprintf(before, sizeof before, "%s/leakcheck-%d-%u.before.pb.gz", dir, (int)getpid(), n);
    snprintf(after, sizeof after, "%s/leakcheck-%d-%u.after.pb.gz", dir, (int)getpid(), n);
    lc_snapshot *now = lc_snapshot_take_heap();
    int rc = now && lc_snapshot_write_pprof(baseline_snapshot, before) == 0 &&
                     lc_snapshot_write_pprof(now, after) == 0
                 ? 0
                 : -1;
    lc_snapshot_free(now);
    if (rc == 0)
        lc_buf_printf(t, "\nheap profiles: %s %s\n  (leakcheck diff %s %s)\n", before, after,
                      before, after);
    else
        lc_buf_printf(t, "\nleakcheck: could not write heap profiles to %s\n", dir);
    return rc;
}
