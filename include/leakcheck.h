/* SPDX-License-Identifier: MIT */
/* leakcheck.h: the one public header of leakcheck.
 *
 * leakcheck tracks every live heap block and every thread of the process it is
 * linked into (or preloaded into), so that a test can assert that it left
 * nothing behind:
 *
 *     START_TEST(test_cache_put) {
 *         cache_put(c, "k", "v");
 *         ck_assert_int_eq(LC_VERIFY_NONE(), 0);   // or ck_assert_no_leaks()
 *     }
 *
 * The baseline of a check is, in order of precedence: the last lc_baseline()
 * call; otherwise the last fork() (the start of a Check test in fork mode);
 * otherwise process start. Everything allocated after the baseline and still
 * live at the check, and every thread started after it and still alive, is a
 * leak, unless the C runtime owns it (stdio buffers, locale data, thread
 * caches) or an ignore rule matches.
 *
 * All functions are thread-safe. Errors are returned, never printed, except by
 * the functions whose job is to print a report. */
#ifndef LEAKCHECK_H
#define LEAKCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEAKCHECK_VERSION "0.1.0"

/* The functions declared here are the library's exports; everything else in
 * libleakcheck.so is hidden (it is built with -fvisibility=hidden), so no
 * internal name can collide with one of the program it is loaded into. */
#define LC_API __attribute__((visibility("default")))

/* ---------------------------------------------------------------- options */

/* Options of a check, given with designated initializers:
 *     LC_VERIFY_NONE(.budget = "bytes=1k,objects=2", .top = 5)
 * (in C++ with the lc::options builder defined at the end of this header).
 * Every field left out has its default. */
typedef struct lc_thread_set lc_thread_set;
typedef struct lc_options {
    int struct_version;    /* set by the macros; leave it alone */
    const char *budget;    /* "bytes=1M,objects=10,threads=0"; overrides
                              LEAKCHECK_BUDGET field by field */
    double settle_seconds; /* thread settle window; 0 = default (1 s, or
                              LEAKCHECK_SETTLE, read at every check) */
    int top;               /* report at most this many sites; 0 = 20 */
    int quiet;             /* 1: do not print the report */
    FILE *out;             /* where the report goes; NULL = stderr */
    /* Thread ignore rules: NULL-terminated lists of function names. */
    const char *const *ignore_top_function;
    const char *const *ignore_any_function;
    const char *const *ignore_created_by;
    /* goleak's IgnoreCurrent, for this check alone: threads in the set
     * (taken with lc_current_threads) are never reported by it. */
    const lc_thread_set *ignore_current;
    /* goleak's Cleanup: called once the check is over and its report
     * printed, with the check's return value (0, 1 or -1) and cleanup_arg. */
    void (*cleanup)(int status, void *arg);
    void *cleanup_arg;
} lc_options;

/* 2 added ignore_current, cleanup and cleanup_arg; a program built with
 * version 1 of this header still works (they are left out). */
#define LC_OPTIONS_VERSION 2

/* ------------------------------------------------------------- verifying */

/* Force a collection point, compare with the baseline and, when a leaked
 * total exceeds the budget, print the report and return non-zero:
 * 1 when the budget is exceeded, -1 on an error (for example a malformed
 * budget; the error is printed as one line). 0 when within budget. */
LC_API int lc_verify_none(const lc_options *opts);
#define LC_VERIFY_NONE(...) lc_verify_none(LC_OPTIONS(__VA_ARGS__))

/* The options of the macros, as a pointer valid until the end of the full
 * expression. In C, designated initializers: LC_OPTIONS(.top = 5). In C++
 * (which has no compound literals), an lc::options builder, or nothing:
 *     LC_VERIFY_NONE(lc::options().budget("bytes=1k").top(5))
 * (defined at the end of this header). */
#ifdef __cplusplus
#define LC_OPTIONS(...) ::lc::options_ptr(__VA_ARGS__)
#else
#define LC_OPTIONS(...) (&(const lc_options){.struct_version = LC_OPTIONS_VERSION, __VA_ARGS__})
#endif

/* The structured result of a check, for runners and tools. Groups are
 * listed largest first; at most LC_RESULT_MAX_ITEMS of each. */
#define LC_RESULT_MAX_ITEMS 16
typedef struct lc_result_thread {
    long tid;
    int count; /* threads like this one (same state, stack, creator) */
    char name[16];
    char state[24];      /* "blocked", "running", "exited, not joined", ... */
    char wait[32];       /* "chan receive", "futex", ... or "" */
    char function[64];   /* top frame of the thread's stack, "" if unknown */
    char start[64];      /* the thread's start routine */
    char created_by[64]; /* function that created the thread */
} lc_result_thread;
typedef struct lc_result_site {
    long long objects, bytes;
    char klass[12];    /* "unreachable", "thread", "reachable" */
    char function[64]; /* first frame outside the allocator family */
    char file[64];
    int line;
} lc_result_site;
typedef struct lc_result {
    int verdict; /* 0 within budget, 1 over budget, -1 error */
    long long leaked_threads, leaked_objects, leaked_bytes;
    long long unreachable_objects, unreachable_bytes;
    long long budget_bytes, budget_objects, budget_threads;
    long long watched_live; /* lc_watch()ed blocks still live: a leak at any budget */
    int nthreads, nsites;   /* groups filled in below */
    lc_result_thread threads[LC_RESULT_MAX_ITEMS];
    lc_result_site sites[LC_RESULT_MAX_ITEMS];
} lc_result;

/* lc_verify_none that also fills *res (res may be NULL). */
LC_API int lc_verify(const lc_options *opts, lc_result *res);

/* The text of the last report or error produced by a check in this process
 * (empty before the first), and the same report in the JSON schema
 * "leakcheck/1". Owned by the library; valid until the next check. */
LC_API const char *lc_last_report(void);
LC_API const char *lc_last_report_json(void);

/* Take the baseline now: later checks report only what appears after it. */
LC_API void lc_baseline(void);

/* ----------------------------------------------------- collection points */

typedef void (*lc_collect_hook)(void *arg);

/* Register a cleanup hook that every collection point runs first (as Go's
 * runtime.GC() runs finalizers), after the hooks registered before it.
 * Returns 0, or -1 with errno EINVAL (hook NULL) or ENOMEM. */
LC_API int lc_at_collect(lc_collect_hook hook, void *arg);
/* Unregister the hook registered first with this hook and arg: 0, or -1
 * with errno ENOENT. A hook may unregister itself or another one. */
LC_API int lc_at_collect_remove(lc_collect_hook hook, void *arg);

/* A collection point: run the hooks, let exiting threads finish, and under
 * valgrind ask memcheck for a leak check. Returns 0, or -1 (doing nothing)
 * when called from inside a hook. A check started from inside a hook
 * returns -1 the same way. */
LC_API int lc_collect(void);

/* -------------------------------------------------------------- snapshots */

typedef struct lc_snapshot lc_snapshot;
typedef struct lc_diff lc_diff;

/* Record the live blocks and threads now: the program's blocks, as a check
 * counts them (those the C runtime owns for itself are left out of the
 * snapshot, its counts, diffs and profiles). NULL when out of memory. */
LC_API lc_snapshot *lc_snapshot_take(void);
LC_API void lc_snapshot_free(lc_snapshot *s);
LC_API size_t lc_snapshot_live_objects(const lc_snapshot *s);
LC_API size_t lc_snapshot_live_bytes(const lc_snapshot *s);

typedef struct lc_diff_options {
    long long min_objects; /* keep sites whose |delta objects| >= this */
    long long min_bytes;   /* keep sites whose |delta bytes| >= this */
    int top;               /* keep the first N sites; 0 = all */
} lc_diff_options;

/* One allocation stack of a diff. */
typedef struct lc_diff_site {
    long long delta_objects, delta_bytes; /* after - before, live */
    long long appeared_objects, appeared_bytes;
    long long vanished_objects, vanished_bytes;
    long long inuse_objects, inuse_bytes; /* live in `after` */
    long long alloc_objects, alloc_bytes; /* cumulative at `after` */
    uint32_t stack_id;
} lc_diff_site;

/* What appeared and vanished between two snapshots, grouped by allocation
 * stack, sorted by growth in bytes (largest first). opts may be NULL. */
LC_API lc_diff *lc_snapshot_diff(const lc_snapshot *before, const lc_snapshot *after,
                                 const lc_diff_options *opts);
LC_API size_t lc_diff_count(const lc_diff *d);
LC_API const lc_diff_site *lc_diff_get(const lc_diff *d, size_t i);
/* Number of threads that appeared in / vanished from `after`. */
LC_API size_t lc_diff_new_threads(const lc_diff *d);
LC_API size_t lc_diff_vanished_threads(const lc_diff *d);

/* A thread that appeared (started since `before`, alive in `after`) or
 * vanished (in `before`, gone from `after`), as the snapshot that has it
 * saw it. The strings are the diff's. */
typedef struct lc_diff_thread {
    int appeared;            /* 1: appeared; 0: vanished */
    int tid;                 /* its kernel thread id */
    const char *name;        /* as the kernel knows it */
    const char *state;       /* "blocked", "running", "sleeping", "exited, not joined", ... */
    const char *wait;        /* "futex", "poll", a declared "chan receive", ...; "" */
    const void *wait_object; /* declared with lc_thread_wait_begin, or NULL */
    uint32_t created_by;     /* the stack of its pthread_create (lc_stack_frame); 0 unknown */
    int depth;               /* frames of its stack (lc_diff_thread_frame); 0 unknown */
} lc_diff_thread;
/* The appeared threads first, then the vanished ones. */
LC_API size_t lc_diff_thread_count(const lc_diff *d);
LC_API const lc_diff_thread *lc_diff_thread_get(const lc_diff *d, size_t i);
/* Write the snapshot as a gzip-compressed pprof heap profile (Go's four
 * sample types: alloc_objects, alloc_space, inuse_objects, inuse_space),
 * readable by `go tool pprof` and `leakcheck diff`. 0, or -1 with errno set
 * (or EINVAL when the profile could not be encoded). */
LC_API int lc_snapshot_write_pprof(const lc_snapshot *s, const char *path);
/* Write the threads of the process now as a gzip-compressed pprof thread
 * profile (Go's goroutine profile for threads: one sample per distinct
 * stack, its value the number of threads on it, sample type "threads"),
 * readable by `go tool pprof` and `leakcheck diff`. 0, or -1 with errno
 * set. */
LC_API int lc_threads_write_pprof(const char *path);

/* Print the diff as a table with symbolized stacks. */
LC_API void lc_diff_print(const lc_diff *d, FILE *out);
LC_API void lc_diff_free(lc_diff *d);

/* ------------------------------------------------------------ call stacks */

typedef struct lc_frame {
    uintptr_t pc;
    const char *function; /* NULL when unknown */
    const char *file;     /* NULL when unknown */
    int line;             /* 0 when unknown */
    const char *module;   /* path of the loaded object */
    uintptr_t offset;     /* pc - the object's load address */
} lc_frame;

/* Symbolize frame `i` of the stack `stack_id` (from a diff site). Returns 0
 * and fills *f (strings owned by the library), -1 past the last frame. */
LC_API int lc_stack_frame(uint32_t stack_id, int i, lc_frame *f);
/* Symbolize frame `k` (innermost first) of thread `i`'s stack, captured
 * when its snapshot was taken. 0 and *f filled, -1 past the last frame. */
LC_API int lc_diff_thread_frame(const lc_diff *d, size_t i, int k, lc_frame *f);

/* ---------------------------------------------------------------- threads */

/* Declare what the calling thread is about to block on, so that thread dumps
 * and reports show it ("chan receive", "chan send", "select",
 * "waitgroup wait", ...). `kind` must be a string literal or otherwise
 * outlive the wait. */
LC_API void lc_thread_wait_begin(const char *kind, const void *object);
LC_API void lc_thread_wait_end(void);

/* Every thread alive now is ignored by every later check of this process,
 * for the rest of its life (for example a pool started by a fixture): in
 * CK_FORK=no, by the checks of every later test too. For goleak's
 * IgnoreCurrent, scoped to the check it is passed to, use the option
 * .ignore_current = lc_current_threads() instead. */
LC_API void lc_ignore_current(void);

/* The threads alive now (the caller's included), for lc_options'
 * ignore_current; NULL when out of memory. Free it with lc_thread_set_free
 * once the checks that use it are done. */
LC_API lc_thread_set *lc_current_threads(void);
LC_API void lc_thread_set_free(lc_thread_set *set);

/* The exit check of `leakcheck run` (LEAKCHECK_MODE=process), goleak's
 * VerifyTestMain: once it is over, fn(status, arg) is called with the exit
 * status the process ends with (the program's own, or the leak status when
 * the check failed), as goleak's Cleanup. One function: a second call
 * replaces the first; fn NULL removes it. Returns 0; nothing is called when
 * the process is not checked at exit. */
LC_API int lc_process_cleanup(void (*fn)(int status, void *arg), void *arg);

/* Print every thread of the process as Go prints goroutines. */
LC_API void lc_dump_threads(FILE *out);

/* ---------------------------------------------------------------- objects */

/* Declare that the heap block at ptr must be freed by the next check: while
 * it is live, every check fails whatever the budget and names it by its
 * label with its allocation stack. The watch ends when the block is freed. */
LC_API void lc_watch(const void *ptr, const char *label);

/* Treat [start, start + size) as a root of the reachability scan: memory the
 * program keeps pointers in that is neither a global, a stack, nor the heap
 * (a shared or file-backed mapping; anonymous private memory the program
 * mapped itself is a root without it). A leak it holds is reachable, and
 * its retention path names the region by `label`. Returns 0,
 * or -1 with errno EINVAL (empty region) or ENOSPC (256 regions already). */
LC_API int lc_root_register(const void *start, size_t size, const char *label);
/* Forget the region that starts at `start`: 0, or -1 with errno ENOENT. */
LC_API int lc_root_unregister(const void *start);

/* ------------------------------------------- allocation-failure injection */

/* Make the n-th allocation the program makes from now on fail (NULL with
 * errno ENOMEM; posix_memalign returns ENOMEM; a failed realloc leaves the
 * old block alone); with persistent, every allocation from the n-th on.
 * n = 0 disarms. The library's own allocations never fail and never count.
 * LEAKCHECK_FAIL_ALLOC=N (or N+ for persistent) arms it at start and again
 * in every forked child, counting from the fork. Returns 0, or -1 with
 * errno EINVAL when n < 0. */
LC_API int lc_fault_inject(long n, int persistent);

/* Count only allocations whose stack has a frame in `function` (NULL or ""
 * counts every allocation); LEAKCHECK_FAIL_SCOPE=FUNCTION at start. Returns
 * 0, or -1 with errno ENAMETOOLONG. */
LC_API int lc_fault_scope(const char *function);

/* How many failures were injected since the last lc_fault_inject (or fork). */
LC_API long lc_fault_hits(void);

/* The SQLite method: for n = 1, 2, 3, ... run fn(arg) in a forked child with
 * the n-th allocation failing (and, in a second pass, every allocation from
 * the n-th on), check the child for leaks at a zero budget, and stop a pass
 * at the first run that never reached the injected failure. */
typedef struct lc_fault_sweep_options {
    long max_runs;         /* per pass; 0 = 100000 */
    int single_only;       /* 1: skip the persistent pass */
    const char *scope;     /* as lc_fault_scope; NULL = every allocation */
    double settle_seconds; /* the children's checks; 0 = the default */
    int quiet;             /* 1: print no summary */
    FILE *out;             /* where the summary goes; NULL = stderr */
} lc_fault_sweep_options;

/* A failure point that leaked or crashed. */
typedef struct lc_fault_point {
    long n;
    int persistent;
    int leaked; /* the check found a leak */
    int signal; /* the child died of this signal; 0 if it did not */
    long long leaked_objects, leaked_bytes;
    char function[64]; /* the program's frame that made the failed allocation */
    char *stack;       /* the failed allocation's stack, symbolized */
    char *report;      /* the leak report ("" when none) */
} lc_fault_point;

typedef struct lc_fault_sweep_result {
    long runs;           /* children run, both passes */
    long leaks, crashes; /* failure points that leaked / crashed */
    size_t npoints;
    lc_fault_point *points; /* leaked or crashed points, in the order run */
} lc_fault_sweep_result;

/* 0 when every failure point was clean, 1 when one leaked or crashed, -1
 * on an error (errno set: its result file or a fork failed). o may be NULL; r may be
 * NULL; when given, free it with lc_fault_sweep_result_free. */
LC_API int lc_fault_sweep(void (*fn)(void *), void *arg, const lc_fault_sweep_options *o,
                          lc_fault_sweep_result *r);
LC_API void lc_fault_sweep_result_free(lc_fault_sweep_result *r);

/* --------------------------------------- end allocation-failure injection */

/* ------------------------------------------------ test-framework support */

/* What leakcheck_check.h and leakcheck_gtest.h are built on; a harness for
 * another framework calls them the same way.
 *
 * A test starts: lc_test_begin names it (for the summary and the report
 * file) and takes the baseline. */
LC_API void lc_test_begin(const char *name, const char *file, int line);

/* The check of a test ran by a framework: lc_verify with the report handled
 * as a framework needs it. When the budget is exceeded (1) or the check
 * fails (-1), the full report goes once to opts->out (stderr by default;
 * nowhere with .quiet) and, when LEAKCHECK_REPORT_DIR is set, to the file
 * DIR/NAME.txt; and msg receives a one-line summary for the framework's
 * failure message: the totals, the largest sites and threads, and where the
 * full report went. It never holds a newline, is cut to fit msglen, and
 * names the test by `name` (NULL: the one lc_test_begin named) at file:line
 * (NULL: the test's). Returns as lc_verify. */
LC_API int lc_verify_test(const lc_options *opts, const char *name, const char *file, int line,
                          char *msg, size_t msglen);

/* A check wanted when the current test ends (the Check fixture): armed by
 * lc_test_arm, which also takes a baseline; lc_test_take_armed returns 1
 * and disarms when a check is wanted and lc_test_begin ran since arming;
 * lc_test_disarm returns 1 when a check is wanted for a test that never
 * called lc_test_begin (its body is not wrapped), and disarms. */
LC_API void lc_test_arm(void);
LC_API int lc_test_take_armed(void);
LC_API int lc_test_disarm(void);

#ifdef __cplusplus
}

/* C++: options through a builder (C++ has no compound literals, and its
 * designated initializers, C++20 only, must name every field in order):
 *     LC_VERIFY_NONE(lc::options().budget("bytes=1k").quiet())
 *     ck_assert_no_leaks(lc::options().top(5)); */
namespace lc {
class options {
  public:
    options() : o_() { o_.struct_version = LC_OPTIONS_VERSION; }
    options &budget(const char *b) {
        o_.budget = b;
        return *this;
    }
    options &settle_seconds(double s) {
        o_.settle_seconds = s;
        return *this;
    }
    options &top(int n) {
        o_.top = n;
        return *this;
    }
    options &quiet(bool q = true) {
        o_.quiet = q ? 1 : 0;
        return *this;
    }
    options &out(FILE *f) {
        o_.out = f;
        return *this;
    }
    options &ignore_top_function(const char *const *names) {
        o_.ignore_top_function = names;
        return *this;
    }
    options &ignore_any_function(const char *const *names) {
        o_.ignore_any_function = names;
        return *this;
    }
    options &ignore_created_by(const char *const *names) {
        o_.ignore_created_by = names;
        return *this;
    }
    options &ignore_current(const lc_thread_set *set) {
        o_.ignore_current = set;
        return *this;
    }
    options &cleanup(void (*fn)(int status, void *arg), void *arg = NULL) {
        o_.cleanup = fn;
        o_.cleanup_arg = arg;
        return *this;
    }
    const lc_options *get() const { return &o_; }

  private:
    lc_options o_;
};

inline const lc_options *options_ptr() {
    return NULL; /* every default */
}
inline const lc_options *options_ptr(const options &o) {
    return o.get();
}
} // namespace lc
#endif
#endif
