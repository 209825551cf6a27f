/* SPDX-License-Identifier: MIT */
/* test_scenario_api.c: scenarios a user declares, through the public API only.
 *
 * This suite links libleakcheck.so and includes leakcheck_scenario.h and
 * nothing internal, as a user's scenario program does. Scenarios declared
 * with LC_SCENARIO at file scope are registered before main; the command
 * line (lc_scenarios_main) lists and runs them, judges their expectations
 * and refuses bad input; lc_scenarios_run runs a list of the caller's.
 *
 * Registration is process-wide and a refused one is kept until the command
 * line runs, so every test that registers or calls lc_scenarios_main does
 * it in a forked child of its own (run_main), whose output comes back
 * through a file: the test process stays as the suite started it in both
 * Check fork modes. The child ends with _exit so that a checker it runs
 * under does not search it for what its scenarios leaked on purpose. */
#include "leakcheck_scenario.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------ declared scenarios */

static void *kept; /* what the leaky variant of a declared scenario keeps */

static __attribute__((noinline)) void keep_block(bool leaky) {
    void *block = malloc(100);
    memset(block, 1, 100);
    if (leaky)
        kept = block;
    else
        free(block);
}

LC_SCENARIO(block_kept_in_a_global, "a block kept in a global", .min_objects = 1, .min_bytes = 100,
            .must_name = "keep_block") {
    keep_block(leaky);
}

static pthread_mutex_t never_unlocked = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never_signalled = PTHREAD_COND_INITIALIZER;

static void *waiter_main(void *arg) {
    (void)arg;
    lc_thread_wait_begin("event wait", &never_signalled);
    pthread_mutex_lock(&never_unlocked);
    for (;;)
        pthread_cond_wait(&never_signalled, &never_unlocked);
    return NULL;
}

static void *returner_main(void *arg) {
    return arg;
}

LC_SCENARIO(thread_left_waiting, "a thread left waiting for an event that never comes",
            .threads = 1, .wait = "event wait", .must_name = "waiter_main") {
    pthread_t t;
    pthread_create(&t, NULL, leaky ? waiter_main : returner_main, NULL);
    if (!leaky) pthread_join(t, NULL);
}

/* ------------------------------------------- the command line, in a child */

/* What a child running the command line printed (stdout and stderr, in
 * order) and how it ended. */
typedef struct ran {
    int status; /* its exit status, or -1 */
    char out[16384];
} ran;

/* Forks; the child runs setup (when not NULL), then lc_scenarios_main with
 * the NULL-terminated arguments after "myscenarios", its output into a
 * file the parent reads. */
static ran run_main(void (*setup)(void), ...) {
    char *argv[16] = {"myscenarios"};
    int argc = 1;
    va_list ap;
    va_start(ap, setup);
    for (char *a; argc < 15 && (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    ran r = {.status = -1};
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
        if (setup) setup();
        int status = lc_scenarios_main(argc, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(status);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        continue;
    if (WIFEXITED(ws)) r.status = WEXITSTATUS(ws);
    rewind(f);
    size_t n = fread(r.out, 1, sizeof r.out - 1, f);
    r.out[n] = '\0';
    fclose(f);
    return r;
}

/* ------------------------------------------------------------- tests */

START_TEST(test_declared_scenarios_are_listed_in_the_order_declared) {
    ran r = run_main(NULL, "list", NULL);
    ck_assert_int_eq(r.status, 0);
    const char *first = strstr(r.out, "block_kept_in_a_global");
    const char *second = strstr(r.out, "thread_left_waiting");
    ck_assert_msg(first && second && first < second, "list printed:\n%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "a block kept in a global"));
}
END_TEST

START_TEST(test_declared_scenarios_run_and_meet_their_expectations) {
    ran r = run_main(NULL, "run", "--format", "tap", "--timeout", "60", NULL);
    ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "1..4"));
    ck_assert_ptr_nonnull(strstr(r.out, "ok 1 - block_kept_in_a_global leaky: leak"));
    ck_assert_ptr_nonnull(strstr(r.out, "ok 4 - thread_left_waiting fixed: clean"));
    ck_assert_ptr_null(strstr(r.out, "not ok"));
}
END_TEST

static void fix_leaks_too(void) {
    keep_block(true);
}

static void register_a_fix_that_leaks(void) {
    static const lc_scenario broken = {"fix_that_leaks",
                                       "its fix keeps the block as well",
                                       fix_leaks_too,
                                       fix_leaks_too,
                                       {.min_objects = 1}};
    ck_assert_int_eq(lc_scenario_register(&broken), 0);
}

START_TEST(test_a_fixed_variant_that_leaks_fails_the_run) {
    ran r = run_main(register_a_fix_that_leaks, "run", "fix_that_leaks", "--timeout", "60", NULL);
    ck_assert_msg(r.status == 1, "exit %d:\n%s", r.status, r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "1 expectation not met"));
}
END_TEST

START_TEST(test_an_unknown_scenario_name_is_a_usage_error) {
    ran r = run_main(NULL, "run", "no_such_scenario", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(
        r.out, "myscenarios run: no scenario named 'no_such_scenario' (see myscenarios list)\n");
}
END_TEST

static const lc_scenario unnamed = {"two words", "", fix_leaks_too, fix_leaks_too, {0}};

static void register_a_bad_name(void) {
    errno = 0;
    ck_assert_int_eq(lc_scenario_register(&unnamed), -1);
    ck_assert_int_eq(errno, EINVAL);
}

START_TEST(test_a_refused_registration_is_reported_and_nothing_runs) {
    ran r = run_main(register_a_bad_name, "run", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(
        r.out, "myscenarios: scenario name 'two words' is not letters, digits, '-' and '_'\n");
}
END_TEST

static void register_a_duplicate(void) {
    static const lc_scenario again = {
        "block_kept_in_a_global", "", fix_leaks_too, fix_leaks_too, {0}};
    errno = 0;
    ck_assert_int_eq(lc_scenario_register(&again), -1);
    ck_assert_int_eq(errno, EEXIST);
}

START_TEST(test_two_scenarios_of_one_name_are_refused) {
    ran r = run_main(register_a_duplicate, "list", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.out, "myscenarios: two scenarios are named 'block_kept_in_a_global'\n");
}
END_TEST

static void register_without_a_fix(void) {
    static const lc_scenario half = {"half", "", fix_leaks_too, NULL, {0}};
    errno = 0;
    ck_assert_int_eq(lc_scenario_register(&half), -1);
    ck_assert_int_eq(errno, EINVAL);
}

START_TEST(test_a_scenario_without_its_fixed_variant_is_refused) {
    ran r = run_main(register_without_a_fix, "list", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.out, "'half' lacks its leaky or its fixed variant"));
}
END_TEST

START_TEST(test_lc_scenarios_run_runs_a_list_of_the_callers_in_json) {
    static const lc_scenario mine = {
        "mine", "a list of the caller's", fix_leaks_too, fix_leaks_too, {.min_objects = 1}};
    const lc_scenario *list[] = {&mine};
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    lc_scenarios_opts o = {.format = LC_SCENARIOS_JSON, .timeout = 60};
    /* The fix leaks as the leaky variant does: one expectation not met. */
    ck_assert_int_eq(lc_scenarios_run(list, 1, &o, f), 1);
    rewind(f);
    char line[65536];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_ptr_nonnull(strstr(line, "\"scenario\": \"mine\""));
        lines++;
    }
    fclose(f);
    ck_assert_int_eq(lines, 2);
}
END_TEST

int main(void) {
    Suite *s = suite_create("scenario_api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_declared_scenarios_are_listed_in_the_order_declared);
    tcase_add_test(tc, test_declared_scenarios_run_and_meet_their_expectations);
    tcase_add_test(tc, test_a_fixed_variant_that_leaks_fails_the_run);
    tcase_add_test(tc, test_an_unknown_scenario_name_is_a_usage_error);
    tcase_add_test(tc, test_a_refused_registration_is_reported_and_nothing_runs);
    tcase_add_test(tc, test_two_scenarios_of_one_name_are_refused);
    tcase_add_test(tc, test_a_scenario_without_its_fixed_variant_is_refused);
    tcase_add_test(tc, test_lc_scenarios_run_runs_a_list_of_the_callers_in_json);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
