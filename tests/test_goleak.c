/* SPDX-License-Identifier: MIT */
/* test_goleak.c: goleak's behaviours, as leakcheck gives them to C.
 *
 * Each test specifies one behaviour of goleak's options and reports that
 * docs/goleak.md maps to its leakcheck form: the C runtime's own threads
 * (glibc's SIGEV_THREAD timer helper) are never reported; a cleanup runs
 * after the check with its result, and after the exit check of a process
 * with the exit status; IgnoreCurrent is an option scoped to the check it
 * is passed to; every thread of a group is listed by id; a deep stack is
 * printed with its elided frames counted and its start routine kept; the
 * object a thread waits on is printed with its allocation site; the settle
 * window is read at every check; collection hooks can be unregistered and
 * are not limited in number.
 *
 * Every detection test has a clean twin. Each test records what the check
 * said, then releases and joins every thread it started, and only then
 * asserts, so that a failing test leaves nothing behind in CK_FORK=no. */
#include "latch.h"
#include "leakcheck.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SETTLE 0.2

/* A quiet check with the settle window above and extra lc_options fields. */
#define CHECK(res, ...)                                                                            \
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,                            \
                                  .quiet = 1,                                                      \
                                  .settle_seconds = SETTLE,                                        \
                                  __VA_ARGS__},                                                    \
              (res))

#define ck_assert_has(text, needle)                                                                \
    ck_assert_msg(strstr((text), (needle)) != NULL, "lacks \"%s\":\n%s", (needle), (text))
#define ck_assert_lacks(text, needle)                                                              \
    ck_assert_msg(strstr((text), (needle)) == NULL, "has \"%s\":\n%s", (needle), (text))

/* ------------------------------------------------------------ workers */

/* A worker: says it started (its kernel id), then waits at `gate`, having
 * declared `object` as what it waits on when one is given. */
struct worker {
    pthread_t t;
    struct latch *gate;
    const void *object;
    atomic_int tid;
};

static void *parked(void *arg) {
    struct worker *w = arg;
    atomic_store(&w->tid, (int)syscall(SYS_gettid));
    if (w->object) lc_thread_wait_begin("chan receive", w->object);
    WAIT_FOR_LATCH(w->gate);
    if (w->object) lc_thread_wait_end();
    return NULL;
}

static void start(struct worker *w, struct latch *gate, void *(*fn)(void *)) {
    w->gate = gate;
    atomic_store(&w->tid, 0);
    ck_assert_int_eq(pthread_create(&w->t, NULL, fn, w), 0);
    while (!atomic_load(&w->tid))
        usleep(1000);
}

static void finish(struct worker *w, size_t n) {
    open_latch(w[0].gate);
    for (size_t i = 0; i < n; i++)
        pthread_join(w[i].t, NULL);
}

/* -------------------------------------------- the C runtime's own threads */

static atomic_int timer_fired;
static struct latch timer_gate = LATCH_INIT;
static struct worker timer_worker;

static void timer_notify(union sigval v) {
    (void)v;
    atomic_store(&timer_fired, 1);
}

/* The notification leaves a thread of the program's own behind. */
static void timer_notify_spawns(union sigval v) {
    (void)v;
    timer_worker.gate = &timer_gate;
    pthread_create(&timer_worker.t, NULL, parked, &timer_worker);
    atomic_store(&timer_fired, 1);
}

static timer_t fire_once(void (*notify)(union sigval)) {
    atomic_store(&timer_fired, 0);
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = notify};
    timer_t timer;
    ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
    struct itimerspec when = {.it_value = {0, 1000000}};
    ck_assert_int_eq(timer_settime(timer, 0, &when, NULL), 0);
    while (!atomic_load(&timer_fired))
        usleep(1000);
    return timer;
}

START_TEST(test_timer_helper_thread_of_the_c_runtime_passes_a_zero_budget) {
    lc_baseline();
    timer_t timer = fire_once(timer_notify);
    lc_result res;
    int rc = CHECK(&res, .budget = "threads=0");
    timer_delete(timer);
    ck_assert_msg(rc == 0, "%s", lc_last_report());
    ck_assert_int_eq(res.leaked_threads, 0);
}
END_TEST

/* The helper allocates as it starts each notification, on the smallest
 * stack glibc can give it: tracking that allocation must leave it able to
 * take the next expiry (the process would die of SIGTIMER). */
START_TEST(test_timer_that_fires_again_after_a_check_is_served_again) {
    lc_baseline();
    timer_t first = fire_once(timer_notify);
    timer_delete(first);
    lc_result res;
    int rc1 = CHECK(&res, .budget = "threads=0");
    timer_t second = fire_once(timer_notify);
    timer_delete(second);
    int rc2 = CHECK(&res, .budget = "threads=0");
    ck_assert_int_eq(rc1, 0);
    ck_assert_msg(rc2 == 0, "%s", lc_last_report());
}
END_TEST

START_TEST(test_thread_a_timer_notification_leaves_blocked_is_leaked) {
    lc_baseline();
    atomic_store(&timer_worker.tid, 0);
    timer_t timer = fire_once(timer_notify_spawns);
    while (!atomic_load(&timer_worker.tid))
        usleep(1000);
    lc_result res;
    int rc = CHECK(&res, .budget = "threads=0");
    timer_delete(timer);
    finish(&timer_worker, 1);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(res.leaked_threads, 1);
    ck_assert_int_eq(res.threads[0].tid, atomic_load(&timer_worker.tid));
}
END_TEST

/* ------------------------------------------------------------ Cleanup */

struct cleanup_seen {
    int calls, status;
    bool report_ready; /* the check's report existed when the cleanup ran */
};

static void record_cleanup(int status, void *arg) {
    struct cleanup_seen *c = arg;
    c->calls++;
    c->status = status;
    c->report_ready = strstr(lc_last_report(), "leakcheck:") != NULL;
}

START_TEST(test_cleanup_runs_after_a_leaking_check_with_its_result) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    struct cleanup_seen seen = {0};
    int rc = CHECK(NULL, .cleanup = record_cleanup, .cleanup_arg = &seen);
    finish(&w, 1);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.status, 1);
    ck_assert(seen.report_ready);
}
END_TEST

START_TEST(test_cleanup_runs_after_a_clean_check_with_zero) {
    lc_baseline();
    struct cleanup_seen seen = {0};
    int rc = CHECK(NULL, .cleanup = record_cleanup, .cleanup_arg = &seen);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.status, 0);
}
END_TEST

START_TEST(test_cleanup_runs_after_a_check_that_failed_with_minus_one) {
    struct cleanup_seen seen = {0};
    int rc = CHECK(NULL, .budget = "bytes=lots", .cleanup = record_cleanup, .cleanup_arg = &seen);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.status, -1);
}
END_TEST

START_TEST(test_cleanup_of_a_framework_check_runs_once_after_the_failure_is_reported) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    struct cleanup_seen seen = {0};
    char msg[512];
    int rc = lc_verify_test(LC_OPTIONS(.quiet = 1, .settle_seconds = SETTLE,
                                       .cleanup = record_cleanup, .cleanup_arg = &seen),
                            "t", __FILE__, __LINE__, msg, sizeof msg);
    finish(&w, 1);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.status, 1);
    ck_assert_has(msg, "1 thread");
}
END_TEST

/* The process form (goleak's VerifyTestMain): this program run again as a
 * child with LEAKCHECK_MODE=process, its exit check followed by the
 * cleanup, which writes the status it was given to fd 3. */
static void child_cleanup(int status, void *arg) {
    (void)arg;
    dprintf(3, "%d\n", status);
}

static struct latch child_gate = LATCH_INIT;
static struct worker child_worker;

static int child_main(const char *how) {
    lc_process_cleanup(child_cleanup, NULL);
    if (strcmp(how, "leak") == 0) {
        child_worker.gate = &child_gate;
        pthread_create(&child_worker.t, NULL, parked, &child_worker);
        while (!atomic_load(&child_worker.tid))
            usleep(1000);
        return 0;
    }
    if (strcmp(how, "leak-and-fail") == 0) {
        child_worker.gate = &child_gate;
        pthread_create(&child_worker.t, NULL, parked, &child_worker);
        while (!atomic_load(&child_worker.tid))
            usleep(1000);
    }
    return 7; /* a status of its own, returned from main */
}

/* This program's path (not /proc/self/exe: under valgrind that is
 * valgrind's own launcher). */
extern char **environ;
static char self_path[4096];

/* Runs the child; its exit status in *status, what its cleanup received
 * in *seen (-1000 when it never ran). */
static void run_child(const char *how, int *status, int *seen) {
    /* The child's environment is built before the fork: between fork and
     * exec only async-signal-safe calls are safe, and an allocation there
     * (setenv) can hang or crash in a forked copy of a threaded process
     * (ASan's allocator takes no locks around fork). */
    static char *envp[512];
    size_t n_env = 0;
    envp[n_env++] = "LEAKCHECK_MODE=process";
    envp[n_env++] = "LEAKCHECK_OUTPUT=/dev/null";
    envp[n_env++] = "LEAKCHECK_SETTLE=0.2";
    for (char **e = environ; *e && n_env < sizeof envp / sizeof *envp - 1; e++)
        if (strncmp(*e, "LEAKCHECK_MODE=", 15) != 0 && strncmp(*e, "LEAKCHECK_OUTPUT=", 17) != 0 &&
            strncmp(*e, "LEAKCHECK_SETTLE=", 17) != 0)
            envp[n_env++] = *e;
    envp[n_env] = NULL;
    char *argv[] = {"test_goleak", "--process-child", (char *)how, NULL};
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* A fresh program's signal mask: earlier tests of a no-fork run
         * leave signals blocked (glibc's timer helper blocks SIGTIMER in
         * the thread that created its first timer), and exec keeps them. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(fds[1], 3);
        execve(self_path, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    *seen = n > 0 ? atoi(buf) : -1000;
}

START_TEST(test_process_cleanup_gets_the_leak_exit_status) {
    int status, seen;
    run_child("leak", &status, &seen);
    ck_assert_int_eq(status, 23);
    ck_assert_int_eq(seen, 23);
}
END_TEST

START_TEST(test_process_cleanup_gets_the_status_main_returned_when_clean) {
    int status, seen;
    run_child("clean", &status, &seen);
    ck_assert_int_eq(status, 7);
    ck_assert_int_eq(seen, 7);
}
END_TEST

/* A program that fails on its own keeps its status, leaks or not, as
 * under `leakcheck run` and goleak's VerifyTestMain; the report still
 * names the leak (here to /dev/null). */
START_TEST(test_process_cleanup_gets_the_status_main_returned_when_failing_with_a_leak) {
    int status, seen;
    run_child("leak-and-fail", &status, &seen);
    ck_assert_int_eq(status, 7);
    ck_assert_int_eq(seen, 7);
}
END_TEST

/* ------------------------------------------------------------ IgnoreCurrent */

START_TEST(test_ignore_current_option_ignores_threads_alive_when_the_set_was_taken) {
    struct latch gate = LATCH_INIT;
    struct worker w[2] = {{0}};
    lc_baseline();
    start(&w[0], &gate, parked);
    lc_thread_set *current = lc_current_threads();
    start(&w[1], &gate, parked);
    lc_result res;
    int rc = CHECK(&res, .ignore_current = current);
    lc_thread_set_free(current);
    finish(w, 2);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(res.leaked_threads, 1);
    ck_assert_int_eq(res.threads[0].tid, atomic_load(&w[1].tid));
}
END_TEST

START_TEST(test_ignore_current_option_is_scoped_to_the_check_it_is_passed_to) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    lc_thread_set *current = lc_current_threads();
    lc_result with, without;
    int rc_with = CHECK(&with, .ignore_current = current);
    int rc_without = CHECK(&without);
    lc_thread_set_free(current);
    finish(&w, 1);
    ck_assert_int_eq(rc_with, 0);
    ck_assert_int_eq(rc_without, 1);
    ck_assert_int_eq(without.leaked_threads, 1);
}
END_TEST

/* Run after the test above in the same process under CK_FORK=no: nothing
 * of the option it used carries over. */
START_TEST(test_thread_of_a_later_test_is_leaked_after_an_ignore_current_option) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    lc_result res;
    int rc = CHECK(&res);
    finish(&w, 1);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(res.leaked_threads, 1);
}
END_TEST

/* ------------------------------------------------- every thread listed */

START_TEST(test_every_thread_of_a_group_is_listed_by_id) {
    struct latch gate = LATCH_INIT;
    struct worker w[3] = {{0}};
    lc_baseline();
    for (int i = 0; i < 3; i++)
        start(&w[i], &gate, parked);
    lc_result res;
    int rc = CHECK(&res);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(w, 3);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(res.nthreads, 1);
    ck_assert_int_eq(res.threads[0].count, 3);
    ck_assert_has(text, "and 2 more threads like this");
    ck_assert_has(text, "thread ids: ");
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", atomic_load(&w[i].tid));
        ck_assert_has(strstr(text, "thread ids: "), id);
        ck_assert_has(strstr(json, "\"tids\": ["), id);
    }
    free(text);
    free(json);
}
END_TEST

START_TEST(test_a_thread_alone_gets_no_list_of_ids) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    char one[64];
    snprintf(one, sizeof one, "\"tids\": [%d]", atomic_load(&w.tid));
    ck_assert_lacks(text, "threads like this");
    ck_assert_lacks(text, "thread ids");
    ck_assert_has(json, one);
    free(text);
    free(json);
}
END_TEST

/* ------------------------------------------------------------ deep stacks */

__attribute__((noinline)) static void descend(struct worker *w, int levels) {
    if (levels > 0) {
        descend(w, levels - 1);
        __asm__ volatile("" ::: "memory"); /* no tail call */
        return;
    }
    parked(w);
}

static void *deep_worker_start(void *arg) {
    descend(arg, 100);
    return NULL;
}

static void *shallow_worker_start(void *arg) {
    descend(arg, 3);
    return NULL;
}

START_TEST(test_deep_stack_counts_its_elided_frames_and_keeps_its_start_routine) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, deep_worker_start);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    ck_assert_has(text, "frames elided ...");
    ck_assert_has(strstr(text, "frames elided"), "deep_worker_start");
    ck_assert_has(json, "\"frames_elided\": ");
    ck_assert_lacks(json, "\"frames_elided\": 0,");
    ck_assert_has(strstr(json, "\"stack_outer\": ["), "deep_worker_start");
    free(text);
    free(json);
}
END_TEST

START_TEST(test_shallow_stack_is_printed_whole_without_a_marker) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, shallow_worker_start);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    ck_assert_lacks(text, "elided");
    ck_assert_has(text, "shallow_worker_start");
    ck_assert_has(json, "\"frames_elided\": 0, \"stack_outer\": []");
    free(text);
    free(json);
}
END_TEST

/* ------------------------------------------------- what a thread waits on */

struct mailbox {
    int slots[8];
};

__attribute__((noinline)) static struct mailbox *make_mailbox(void) {
    return calloc(1, sizeof(struct mailbox));
}

static struct mailbox static_mailbox;

START_TEST(test_wait_object_on_the_heap_is_shown_with_its_allocation_site) {
    struct latch gate = LATCH_INIT;
    struct mailbox *box = make_mailbox();
    struct worker w = {.object = box};
    lc_baseline();
    start(&w, &gate, parked);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    char addr[64];
    snprintf(addr, sizeof addr, "waiting on %p, a 32 B heap block allocated at:", (void *)box);
    free(box);
    ck_assert_has(text, addr);
    ck_assert_has(strstr(text, "waiting on"), "make_mailbox");
    ck_assert_has(json, "\"wait_object\": {\"address\": ");
    ck_assert_has(strstr(json, "\"allocated_at\": ["), "make_mailbox");
    free(text);
    free(json);
}
END_TEST

START_TEST(test_wait_object_outside_the_heap_is_shown_without_a_site) {
    struct latch gate = LATCH_INIT;
    struct worker w = {.object = &static_mailbox};
    lc_baseline();
    start(&w, &gate, parked);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    char addr[64];
    snprintf(addr, sizeof addr, "waiting on %p\n", (void *)&static_mailbox);
    ck_assert_has(text, addr);
    ck_assert_lacks(text, "heap block allocated at");
    ck_assert_has(json, "\"bytes\": null, \"allocated_at\": null}");
    free(text);
    free(json);
}
END_TEST

START_TEST(test_group_whose_threads_wait_on_objects_of_their_own_says_so) {
    struct latch gate = LATCH_INIT;
    struct mailbox *boxes[2] = {make_mailbox(), make_mailbox()};
    struct worker w[2] = {{.object = boxes[0]}, {.object = boxes[1]}};
    lc_baseline();
    for (int i = 0; i < 2; i++)
        start(&w[i], &gate, parked);
    lc_result res;
    CHECK(&res);
    char *text = strdup(lc_last_report());
    finish(w, 2);
    free(boxes[0]);
    free(boxes[1]);
    ck_assert_int_eq(res.nthreads, 1);
    ck_assert_has(text, "(1 other thread of the group waits on objects of their own)");
    free(text);
}
END_TEST

START_TEST(test_group_whose_threads_wait_on_one_object_names_it_once) {
    struct latch gate = LATCH_INIT;
    struct mailbox *box = make_mailbox();
    struct worker w[2] = {{.object = box}, {.object = box}};
    lc_baseline();
    for (int i = 0; i < 2; i++)
        start(&w[i], &gate, parked);
    lc_result res;
    CHECK(&res);
    char *text = strdup(lc_last_report());
    finish(w, 2);
    free(box);
    ck_assert_int_eq(res.nthreads, 1);
    ck_assert_has(text, "waiting on");
    ck_assert_lacks(text, "objects of their own");
    free(text);
}
END_TEST

START_TEST(test_undeclared_wait_has_no_object) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    CHECK(NULL);
    char *text = strdup(lc_last_report());
    char *json = strdup(lc_last_report_json());
    finish(&w, 1);
    ck_assert_lacks(text, "waiting on");
    ck_assert_has(json, "\"wait_object\": null");
    free(text);
    free(json);
}
END_TEST

/* ------------------------------------------------------ the settle window */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A check waits the whole window for a blocked thread before it reports
 * it: a window set after start-up, longer than the built-in second, shows
 * in the time the check takes (a lower bound, whatever the machine's load). */
START_TEST(test_settle_window_set_after_start_up_is_used_by_the_next_check) {
    struct latch gate = LATCH_INIT;
    struct worker w = {0};
    lc_baseline();
    start(&w, &gate, parked);
    setenv("LEAKCHECK_SETTLE", "1.6", 1);
    double t0 = now_seconds();
    int rc = lc_verify(LC_OPTIONS(.quiet = 1), NULL);
    double took = now_seconds() - t0;
    unsetenv("LEAKCHECK_SETTLE");
    finish(&w, 1);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(took >= 1.6, "the check took %.3f s, under the 1.6 s window", took);
}
END_TEST

START_TEST(test_malformed_settle_window_is_an_error_naming_it) {
    setenv("LEAKCHECK_SETTLE", "soon", 1);
    int rc = lc_verify(LC_OPTIONS(.quiet = 1), NULL);
    char *text = strdup(lc_last_report());
    unsetenv("LEAKCHECK_SETTLE");
    ck_assert_int_eq(rc, -1);
    ck_assert_has(text, "malformed LEAKCHECK_SETTLE \"soon\"");
    free(text);
    /* and a well-formed one checks again */
    setenv("LEAKCHECK_SETTLE", "0.1", 1);
    lc_baseline();
    rc = lc_verify(LC_OPTIONS(.quiet = 1), NULL);
    unsetenv("LEAKCHECK_SETTLE");
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* ------------------------------------------------------ collection hooks */

static int hook_runs[200];

static void count_run(void *arg) {
    hook_runs[(int *)arg - hook_runs]++;
}

static void remove_myself(void *arg) {
    hook_runs[(int *)arg - hook_runs]++;
    lc_at_collect_remove(remove_myself, arg);
}

START_TEST(test_more_than_64_collection_hooks_all_run) {
    memset(hook_runs, 0, sizeof hook_runs);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(lc_at_collect(count_run, &hook_runs[i]), 0);
    lc_collect();
    for (int i = 0; i < 200; i++)
        lc_at_collect_remove(count_run, &hook_runs[i]);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(hook_runs[i], 1);
}
END_TEST

START_TEST(test_unregistered_collection_hook_no_longer_runs) {
    memset(hook_runs, 0, sizeof hook_runs);
    ck_assert_int_eq(lc_at_collect(count_run, &hook_runs[0]), 0);
    ck_assert_int_eq(lc_at_collect(count_run, &hook_runs[1]), 0);
    ck_assert_int_eq(lc_at_collect_remove(count_run, &hook_runs[0]), 0);
    lc_collect();
    lc_at_collect_remove(count_run, &hook_runs[1]);
    lc_collect();
    ck_assert_int_eq(hook_runs[0], 0);
    ck_assert_int_eq(hook_runs[1], 1);
}
END_TEST

START_TEST(test_unregistering_an_unknown_collection_hook_is_enoent) {
    errno = 0;
    ck_assert_int_eq(lc_at_collect_remove(count_run, &hook_runs[5]), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(lc_at_collect(NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_collection_hook_that_unregisters_itself_runs_once) {
    memset(hook_runs, 0, sizeof hook_runs);
    ck_assert_int_eq(lc_at_collect(remove_myself, &hook_runs[0]), 0);
    ck_assert_int_eq(lc_at_collect(count_run, &hook_runs[1]), 0);
    lc_collect();
    lc_collect();
    lc_at_collect_remove(count_run, &hook_runs[1]);
    ck_assert_int_eq(hook_runs[0], 1);
    ck_assert_int_eq(hook_runs[1], 2);
}
END_TEST

/* ------------------------------------------------------------ the suite */

static TCase *tcase(const char *name) {
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    return tc;
}

static Suite *goleak_suite(void) {
    Suite *s = suite_create("goleak");
    TCase *tc = tcase("runtime_threads");
    tcase_add_test(tc, test_timer_helper_thread_of_the_c_runtime_passes_a_zero_budget);
    tcase_add_test(tc, test_timer_that_fires_again_after_a_check_is_served_again);
    tcase_add_test(tc, test_thread_a_timer_notification_leaves_blocked_is_leaked);
    suite_add_tcase(s, tc);

    tc = tcase("cleanup");
    tcase_add_test(tc, test_cleanup_runs_after_a_leaking_check_with_its_result);
    tcase_add_test(tc, test_cleanup_runs_after_a_clean_check_with_zero);
    tcase_add_test(tc, test_cleanup_runs_after_a_check_that_failed_with_minus_one);
    tcase_add_test(tc, test_cleanup_of_a_framework_check_runs_once_after_the_failure_is_reported);
    tcase_add_test(tc, test_process_cleanup_gets_the_leak_exit_status);
    tcase_add_test(tc, test_process_cleanup_gets_the_status_main_returned_when_clean);
    tcase_add_test(tc, test_process_cleanup_gets_the_status_main_returned_when_failing_with_a_leak);
    suite_add_tcase(s, tc);

    tc = tcase("ignore_current");
    tcase_add_test(tc, test_ignore_current_option_ignores_threads_alive_when_the_set_was_taken);
    tcase_add_test(tc, test_ignore_current_option_is_scoped_to_the_check_it_is_passed_to);
    tcase_add_test(tc, test_thread_of_a_later_test_is_leaked_after_an_ignore_current_option);
    suite_add_tcase(s, tc);

    tc = tcase("reports");
    tcase_add_test(tc, test_every_thread_of_a_group_is_listed_by_id);
    tcase_add_test(tc, test_a_thread_alone_gets_no_list_of_ids);
    tcase_add_test(tc, test_deep_stack_counts_its_elided_frames_and_keeps_its_start_routine);
    tcase_add_test(tc, test_shallow_stack_is_printed_whole_without_a_marker);
    tcase_add_test(tc, test_wait_object_on_the_heap_is_shown_with_its_allocation_site);
    tcase_add_test(tc, test_wait_object_outside_the_heap_is_shown_without_a_site);
    tcase_add_test(tc, test_group_whose_threads_wait_on_objects_of_their_own_says_so);
    tcase_add_test(tc, test_group_whose_threads_wait_on_one_object_names_it_once);
    tcase_add_test(tc, test_undeclared_wait_has_no_object);
    suite_add_tcase(s, tc);

    tc = tcase("settle");
    tcase_add_test(tc, test_settle_window_set_after_start_up_is_used_by_the_next_check);
    tcase_add_test(tc, test_malformed_settle_window_is_an_error_naming_it);
    suite_add_tcase(s, tc);

    tc = tcase("collect_hooks");
    tcase_add_test(tc, test_more_than_64_collection_hooks_all_run);
    tcase_add_test(tc, test_unregistered_collection_hook_no_longer_runs);
    tcase_add_test(tc, test_unregistering_an_unknown_collection_hook_is_enoent);
    tcase_add_test(tc, test_collection_hook_that_unregisters_itself_runs_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--process-child") == 0) return child_main(argv[2]);
    if (!realpath(argv[0], self_path)) snprintf(self_path, sizeof self_path, "%s", argv[0]);
    SRunner *sr = srunner_create(goleak_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
