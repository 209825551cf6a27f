/* collect.c: collection points.
 *
 * The C counterpart of runtime.GC() before a heap profile: run the cleanup
 * hooks the program registered (caches it wants emptied, pools it wants
 * drained), give threads that are on their way out a moment to finish, and
 * under valgrind (when asked) have memcheck run its own leak search so that
 * both engines judge the same moment. */
#include "internal.h"

#include <sched.h>
#include <valgrind/memcheck.h>

#define MAX_HOOKS 64

static struct {
    lc_collect_hook fn;
    void *arg;
} hooks[MAX_HOOKS];
static int nhooks;
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

int lc_at_collect(lc_collect_hook hook, void *arg) {
    if (!hook) return -1;
    pthread_mutex_lock(&hooks_lock);
    int rc = -1;
    if (nhooks < MAX_HOOKS) {
        hooks[nhooks].fn = hook;
        hooks[nhooks].arg = arg;
        nhooks++;
        rc = 0;
    }
    pthread_mutex_unlock(&hooks_lock);
    return rc;
}

void lc_collect_run_hooks(void) {
    pthread_mutex_lock(&hooks_lock);
    int n = nhooks;
    pthread_mutex_unlock(&hooks_lock);
    /* Hooks run unlocked: a hook may register another hook. */
    for (int i = 0; i < n; i++)
        hooks[i].fn(hooks[i].arg);
    sched_yield();
}

void lc_collect(void) {
    lc_collect_run_hooks();
    lc_valgrind_leak_check(NULL);
}

/* memcheck prints every new loss record at each of these checks, so it is
 * asked only when LEAKCHECK_VALGRIND_LEAK_CHECK=1 requests the second
 * engine. */
void lc_valgrind_leak_check(lc_valgrind_counts *out) {
    if (!lc_cfg.under_valgrind || !lc_cfg.valgrind_leak_check) return;
    VALGRIND_DO_ADDED_LEAK_CHECK;
    if (!out) return;
    unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
    VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
    out->leaked_bytes = leaked;
    out->dubious_bytes = dubious;
    unsigned long bl = 0, bd = 0, br = 0, bs = 0;
    VALGRIND_COUNT_LEAK_BLOCKS(bl, bd, br, bs);
    out->leaked_blocks = bl;
    out->dubious_blocks = bd;
    (void)reachable;
    (void)suppressed;
    (void)br;
    (void)bs;
}

void lc_valgrind_report(lc_buf *text, lc_buf *json, const lc_valgrind_counts *vg,
                        long long own_lost_objects, long long own_lost_bytes,
                        const lc_budget *budget, bool *leak) {
    (void)own_lost_objects;
    (void)own_lost_bytes;
    (void)budget;
    (void)leak;
    if (!lc_cfg.under_valgrind || !lc_cfg.valgrind_leak_check) return;
    lc_buf_printf(text,
                  "\nvalgrind memcheck (since its previous check): %lu bytes in %lu blocks "
                  "definitely lost, %lu bytes in %lu blocks possibly lost\n",
                  vg->leaked_bytes, vg->leaked_blocks, vg->dubious_bytes, vg->dubious_blocks);
    lc_buf_printf(json,
                  ", \"valgrind\": {\"definitely_lost_bytes\": %lu, \"possibly_lost_bytes\": %lu}",
                  vg->leaked_bytes, vg->dubious_bytes);
}
