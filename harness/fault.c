/* fault.c: allocation-failure injection and the fault sweep.
 *
 * Error paths after a failed allocation are the code tests rarely run, and
 * where leaks hide. This file decides which allocation fails (the
 * interposers in alloc_hooks.c ask it, behind one flag that is clear unless
 * injection is armed), remembers the stack of the failed allocation, and
 * runs the SQLite loop over a function: fail allocation n = 1, 2, 3, ... in
 * a forked child each, check the child for leaks, and stop when a run never
 * reaches the injected failure.
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
 * appends the failed allocation's symbolized stack at exit. No file means
 * the run never reached the failure. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

atomic_int lc_fault_armed;

static long fail_at;
static int fail_persistent;
static _Atomic long counted;
static _Atomic long hits;
static _Atomic lc_stack_id failed_stack;
static char scope[128];
static char status_path[4096];
/* A sweep child keeps counting after its single failure, so that the sweep
 * knows whether the code allocated again (see lc_fault_sweep). */
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
    return 0;
}

long lc_fault_hits(void) {
    return atomic_load(&hits);
}

lc_stack_id lc_fault_failed_stack(void) {
    return atomic_load(&failed_stack);
}

/* "N" fails the N-th allocation, "N+" every one from the N-th on. */
static void arm_from_env(void) {
    const char *v = getenv("LEAKCHECK_FAIL_ALLOC");
    if (!v || !*v) return;
    char *end;
    long n = strtol(v, &end, 10);
    bool persistent = *end == '+';
    if (persistent) end++;
    if (*end == '\0' && n > 0) lc_fault_inject(n, persistent);
}

static void rearm(void) {
    const char *v = getenv("LEAKCHECK_FAIL_ALLOC");
    if (v && *v)
        arm_from_env();
    else if (fail_at > 0)
        lc_fault_inject(fail_at, fail_persistent);
}

void lc_fault_baseline(bool memcheck_search) {
    rearm();
    /* The harness's baseline (lc_baseline, and so every fork) is also
     * memcheck's: under valgrind its leak figures are judged as growth
     * since this moment (collect.c). A test framework's second baseline of
     * the same test keeps the first search (test_report.c). */
    if (memcheck_search) lc_valgrind_leak_check(NULL);
}

/* The failed allocation's stack, for `leakcheck fault-sweep`, written when
 * the program exits: symbolizing inside malloc could deadlock on a lock the
 * interrupted C runtime holds. */
static void write_status_at_exit(void) {
    lc_stack_id id = lc_fault_failed_stack();
    if (!id || !status_path[0]) return;
    lc_self_enter();
    lc_buf b = {0};
    lc_buf_printf(&b, "stack pid %d\n", (int)getpid());
    lc_report_stack(&b, id, "    ", 32);
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

static void after_fork_child(void) {
    rearm();
}

__attribute__((constructor)) static void fault_init(void) {
    lc_self_enter();
    const char *s = getenv("LEAKCHECK_FAIL_SCOPE");
    if (s && *s) lc_fault_scope(s);
    const char *st = getenv("LEAKCHECK_FAULT_STATUS");
    if (st && *st && strlen(st) < sizeof status_path) {
        memcpy(status_path, st, strlen(st) + 1);
    }
    pthread_atfork(NULL, NULL, after_fork_child);
    lc_self_leave();
    arm_from_env();
}

/* ---------------------------------------------------------------- sweep */

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

static int write_full(int fd, const void *p, size_t len) {
    const char *c = p;
    while (len) {
        ssize_t w = write(fd, c, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        len -= (size_t)w;
    }
    return 0;
}

static size_t read_full(int fd, void *p, size_t len) {
    char *c = p;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, c + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Whether the child's run certainly left nothing behind: no block it
 * allocated is live, no thread it started exists or waits to be joined,
 * nothing is watched, and no second engine (memcheck, a sanitizer) has a
 * say. Most runs of a sweep end so, and a full check costs several times
 * the run itself (its scans and reports are sized for the worst case);
 * anything else gets the full check, so the verdicts are the same. */
static bool certainly_clean(uint64_t since) {
    if (lc_cfg.under_valgrind || lc_sanitizer_hooked() || lc_watch_count() > 0) return false;
    if (lc_heap_copy(NULL, 0, since) != 0) return false;
    pid_t one;
    if (lc_os_list_tasks(&one, 1) != 1) return false;
    for (size_t i = 0; i < LC_MAX_THREADS; i++) {
        const lc_thread_rec *r = &lc_thread_recs[i];
        if (r->used && lc_threads_is_new(r)) return false;
    }
    return true;
}

static _Noreturn void sweep_child(int fd, long n, int persistent, void (*fn)(void *), void *arg,
                                  const lc_fault_sweep_options *o) {
    /* The fork took the baseline (init.c), so every block fn allocates is
     * numbered from here on; counting starts here too. */
    uint64_t since = lc_heap_next_seq();
    count_after_hit = true;
    lc_fault_inject(n, persistent);
    fn(arg);
    long hit = lc_fault_hits();
    long counted_now = atomic_load(&counted);
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
    int rc = write_full(fd, &msg, sizeof msg);
    if (rc == 0 && msg.stack_len) rc = write_full(fd, stack.data, msg.stack_len);
    if (rc == 0) rc = write_full(fd, report, msg.report_len);
    /* Whatever fn left behind stays. _exit runs no exit-time code, but
     * under valgrind memcheck's leak search would still run and find only
     * what the sweep made fail on purpose: there the child stops itself and
     * the parent kills it (should something continue it, it leaves). */
    if (lc_cfg.under_valgrind) raise(SIGSTOP);
    _exit(rc == 0 ? 0 : 1);
}

static char *dup_text(int fd, size_t len, bool *complete) {
    char *t = malloc(len + 1);
    if (!t) {
        *complete = false;
        return NULL;
    }
    size_t got = read_full(fd, t, len);
    t[got] = '\0';
    if (got != len) *complete = false;
    return t;
}

/* One child: 0 when the run never reached the failure, 1 when it reached it
 * and allocated nothing after, 2 when it allocated again after it (or died,
 * or did not say), -1 on an error. A point worth reporting is added. */
static int sweep_one(long n, int persistent, void (*fn)(void *), void *arg,
                     const lc_fault_sweep_options *o, lc_fault_sweep_result *r) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        sweep_child(fds[1], n, persistent, fn, arg, o);
    }
    close(fds[1]);
    r->runs++;
    lc_self_enter();
    sweep_msg msg;
    bool complete = read_full(fds[0], &msg, sizeof msg) == sizeof msg;
    char *stack = NULL, *report = NULL;
    if (complete) {
        stack = dup_text(fds[0], msg.stack_len, &complete);
        report = dup_text(fds[0], msg.report_len, &complete);
    }
    close(fds[0]);
    int status, sig = 0;
    while (waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR)
        continue;
    if (WIFSTOPPED(status)) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            continue;
    } else if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
    }
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
    char saved_scope[sizeof scope];
    memcpy(saved_scope, scope, sizeof scope);
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
    memcpy(scope, saved_scope, sizeof scope);
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
