/* SPDX-License-Identifier: MIT */
/* test_check_integration.c: the specification of leak checks inside Check
 * suites, in both fork modes.
 *
 * An inner suite (this program run again with LC_CHECK_INNER set, so that
 * its failures are seen from outside exactly as a user sees them) holds
 * every pattern: the inline assertion with a report far over Check's 4 KiB
 * message limit, a clean test after a leaky one, the user's own checked and
 * unchecked fixtures added before and after the library's, a leaked
 * thread, and a case of two hundred tests. The outer suite runs it in
 * CK_FORK=yes and CK_FORK=no and asserts on Check's output: exactly the
 * leaky tests fail, each as an ordinary failure ("F") at its own
 * START_TEST line, every test runs, the message is one line, the full
 * report is printed once and written to LEAKCHECK_REPORT_DIR.
 * tests/cli_check_logs.sh validates the XML and TAP logs of the same inner
 * suite. */
#include <check.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leakcheck.h"
#include "leakcheck_check.h"

/* ------------------------------------------------------------ inner suite */

/* A leak from 2^depth distinct stacks: each level calls down through one
 * of two call sites, so every path is its own allocation site. */
static void *volatile sink;
static void leak_tree(unsigned path, int depth) {
    if (depth == 0) {
        sink = malloc(24);
        return;
    }
    if (path & 1)
        leak_tree(path >> 1, depth - 1);
    else
        leak_tree(path >> 1, depth - 1);
}
static void leak_from_sites(int nsites) {
    int depth = 0;
    while ((1 << depth) < nsites)
        depth++;
    for (int i = 0; i < nsites; i++)
        leak_tree((unsigned)i, depth);
    sink = NULL;
}

/* The user's own fixtures: a checked one that allocates an object per test
 * and frees it in its teardown, and an unchecked one per case. */
static char *user_object, *user_case_object;
static void user_setup(void) {
    user_object = malloc(64);
}
static void user_teardown(void) {
    free(user_object);
    user_object = NULL;
}
static void user_case_setup(void) {
    user_case_object = malloc(32);
}
static void user_case_teardown(void) {
    free(user_case_object);
    user_case_object = NULL;
}

/* 256 sites, every one shown: a report of well over 64 KiB. */
START_TEST(inner_assert_huge_report_leaky) {
    leak_from_sites(256);
    ck_assert_no_leaks(.top = 1000);
}
END_TEST

START_TEST(inner_assert_clean_after_leaky) {
    free(malloc(100));
    ck_assert_no_leaks();
}
END_TEST

START_TEST(inner_assert_with_user_fixture_clean) {
    ck_assert_ptr_nonnull(user_object);
    strcpy(user_object, "used by the test");
    ck_assert_no_leaks();
}
END_TEST

/* One object a global keeps and a lost chain of two: the report of a
 * failing check gives each its class, and the reachable one the path from
 * its root, in a forked test as in the test's own process. */
struct node {
    struct node *next;
    char pad[40];
};
static struct node *registry;
static void keep_in_registry(void) {
    struct node *n = calloc(1, sizeof *n);
    n->next = registry;
    registry = n;
}
static void lose_a_chain(void) {
    struct node *head = calloc(1, sizeof *head);
    head->next = calloc(1, sizeof *head);
    sink = head;
    sink = NULL;
}
START_TEST(inner_assert_classified_leaky) {
    keep_in_registry();
    lose_a_chain();
    ck_assert_no_leaks(); /* the classified objects */
}
END_TEST

/* Blocks the C library keeps for itself on first use (the time zone, the
 * password database's buffers and modules): a forked test that makes them
 * passes, though its check sees them new. */
START_TEST(inner_assert_c_runtime_blocks_clean) {
    time_t t = 0;
    ck_assert_ptr_nonnull(localtime(&t));
    ck_assert_ptr_nonnull(getpwuid(0));
    ck_assert_no_leaks();
}
END_TEST

START_TEST(inner_fixture_twenty_sites_leaky) {
    ck_assert_ptr_nonnull(user_object);
    leak_from_sites(20);
}
END_TEST

START_TEST(inner_fixture_clean) {
    ck_assert_ptr_nonnull(user_object);
    free(malloc(100));
}
END_TEST

START_TEST(inner_fixture_failing_assertion_is_not_checked) {
    sink = malloc(10); /* the body fails first: its own failure stands */
    ck_assert_int_eq(1, 2);
}
END_TEST

static int block_pipe[2] = {-1, -1};
static void *blocked_reader(void *arg) {
    (void)arg;
    char c;
    lc_thread_wait_begin("pipe read", block_pipe);
    ssize_t n = read(block_pipe[0], &c, 1);
    lc_thread_wait_end();
    return (void *)(long)n;
}
/* Unblocks the thread (no-fork mode: the next tests share the process). */
static void unblock_reader(void) {
    if (block_pipe[1] >= 0) close(block_pipe[1]);
    block_pipe[1] = -1;
}

START_TEST(inner_fixture_blocked_thread_leaky) {
    ck_assert_int_eq(pipe(block_pipe), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, blocked_reader, NULL), 0);
    pthread_detach(t);
}
END_TEST
START_TEST(inner_thread_joined_clean) {
    ck_assert_int_eq(pipe(block_pipe), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, blocked_reader, NULL), 0);
    unblock_reader(); /* the reader sees end of file and returns */
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    close(block_pipe[0]);
}
END_TEST

/* A test defined with Check's own START_TEST (where leakcheck_check.h was
 * not included): its body is not wrapped, so the fixture checks it from
 * the checked teardown. */
static void inner_unwrapped_leaky_fn(int _i) {
    (void)_i;
    leak_from_sites(2);
}
static const TTest inner_unwrapped_leaky_ttest = {"inner_unwrapped_leaky", inner_unwrapped_leaky_fn,
                                                  __FILE__, __LINE__};
static const TTest *inner_unwrapped_leaky = &inner_unwrapped_leaky_ttest;

START_TEST(inner_many_clean) {
    free(malloc(16 + (size_t)_i));
}
END_TEST

static int run_inner_suite(void) {
    Suite *s = suite_create("inner");
    TCase *tc = tcase_create("assert");
    tcase_add_checked_fixture(tc, user_setup, user_teardown);
    tcase_add_test(tc, inner_assert_huge_report_leaky);
    tcase_add_test(tc, inner_assert_clean_after_leaky);
    tcase_add_test(tc, inner_assert_with_user_fixture_clean);
    tcase_add_test(tc, inner_assert_classified_leaky);
    tcase_add_test(tc, inner_assert_c_runtime_blocks_clean);
    suite_add_tcase(s, tc);

    tc = tcase_create("fixture_first");
    lc_tcase_add_leak_check(tc);
    tcase_add_checked_fixture(tc, user_setup, user_teardown);
    tcase_add_unchecked_fixture(tc, user_case_setup, user_case_teardown);
    tcase_add_test(tc, inner_fixture_twenty_sites_leaky);
    tcase_add_test(tc, inner_fixture_clean);
    tcase_add_test(tc, inner_fixture_failing_assertion_is_not_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("fixture_last");
    tcase_add_unchecked_fixture(tc, user_case_setup, user_case_teardown);
    tcase_add_checked_fixture(tc, user_setup, user_teardown);
    lc_tcase_add_leak_check(tc);
    tcase_add_test(tc, inner_fixture_twenty_sites_leaky);
    tcase_add_test(tc, inner_fixture_clean);
    suite_add_tcase(s, tc);

    tc = tcase_create("thread");
    lc_tcase_add_leak_check(tc);
    tcase_add_checked_fixture(tc, NULL, unblock_reader);
    tcase_add_test(tc, inner_fixture_blocked_thread_leaky);
    tcase_add_test(tc, inner_thread_joined_clean);
    suite_add_tcase(s, tc);

    tc = tcase_create("unwrapped");
    lc_tcase_add_leak_check(tc);
    tcase_add_test(tc, inner_unwrapped_leaky);
    tcase_add_test(tc, inner_fixture_clean);
    tcase_add_checked_fixture(tc, user_setup, user_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("many");
    lc_tcase_add_leak_check(tc);
    tcase_add_loop_test(tc, inner_many_clean, 0, 200);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    printf("inner: %d run, %d failed\n", run, failed);
    return failed;
}

/* ------------------------------------------------------------ outer suite */

typedef struct inner_run {
    char *out;    /* stdout: Check's results */
    char *err;    /* stderr: the full reports */
    int status;   /* exit status */
    char dir[64]; /* LEAKCHECK_REPORT_DIR */
} inner_run;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, m);
    fclose(m);
    fclose(f);
    return s;
}

static inner_run run_inner(const char *fork_mode) {
    inner_run r;
    char self[400], cmd[1200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(r.dir, sizeof r.dir, "/tmp/lc-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(r.dir));
    snprintf(cmd, sizeof cmd,
             "env -u CK_RUN_CASE -u CK_RUN_SUITE -u CK_VERBOSITY -u CK_MAX_MSG_SIZE "
             "LC_CHECK_INNER=1 CK_FORK=%s LEAKCHECK_REPORT_DIR=%s '%s' >%s/out 2>%s/err",
             fork_mode, r.dir, self, r.dir, r.dir);
    int st = system(cmd);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char path[128];
    snprintf(path, sizeof path, "%s/out", r.dir);
    r.out = slurp(path);
    snprintf(path, sizeof path, "%s/err", r.dir);
    r.err = slurp(path);
    return r;
}

static void inner_free(inner_run *r) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    ck_assert_int_eq(system(cmd), 0);
    free(r->out);
    free(r->err);
}

/* The line Check printed for a test, or NULL. */
static char *result_line(const char *out, const char *tcase, const char *test, char *line,
                         size_t len) {
    char key[160];
    snprintf(key, sizeof key, ":%s:%s:", tcase, test);
    const char *p = strstr(out, key);
    if (!p) return NULL;
    while (p > out && p[-1] != '\n')
        p--;
    size_t n = strcspn(p, "\n");
    snprintf(line, len, "%.*s", (int)(n < len ? n : len - 1), p);
    return line;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The first line of this file that holds `text`. */
static int line_of(const char *text) {
    FILE *f = fopen(__FILE__, "r");
    if (!f) return -1;
    char buf[512];
    for (int line = 1; fgets(buf, sizeof buf, f); line++)
        if (strstr(buf, text)) {
            fclose(f);
            return line;
        }
    fclose(f);
    return -1;
}

/* The fixture's failure is at the test's START_TEST line; the assertion's
 * at its own line. */
static void assert_failed_at(const inner_run *r, const char *tcase, const char *test,
                             const char *where) {
    char line[8192], want[256];
    ck_assert_msg(result_line(r->out, tcase, test, line, sizeof line),
                  "%s:%s not reported:\n%.1500s", tcase, test, r->out);
    char start[160];
    snprintf(start, sizeof start, "START_TEST(%s)", test);
    snprintf(want, sizeof want,
             "test_check_integration.c:%d:F:%s:%s:", line_of(where ? where : start), tcase, test);
    ck_assert_msg(strstr(line, want), "want '%s', got:\n%.1500s", want, line);
    ck_assert_msg(strstr(line, "leakcheck: ") && strstr(line, "LEAK"), "no summary: %.1500s", line);
}

static void assert_passed(const inner_run *r, const char *tcase, const char *test) {
    char line[8192];
    ck_assert_msg(!result_line(r->out, tcase, test, line, sizeof line),
                  "%s:%s should pass, got:\n%.1500s", tcase, test, line);
}

/* Every pattern, one run per fork mode: the assertions below each name one
 * behaviour. */
static inner_run runs[2];
static void run_both(void) {
    runs[0] = run_inner("yes");
    runs[1] = run_inner("no");
}
static void free_both(void) {
    inner_free(&runs[0]);
    inner_free(&runs[1]);
}

/* 5 + 3 + 2 + 2 + 2 + 200 tests; the leaky ones: the huge report, the
 * classified objects, twenty sites in both fixture orders, the thread, the
 * unwrapped test; plus the failing assertion. */
START_TEST(test_every_test_runs_and_exactly_the_leaky_ones_fail) {
    inner_run *r = &runs[_i];
    ck_assert_msg(strstr(r->out, "inner: 214 run, 7 failed"), "status %d:\n%.1500s\n%.1000s",
                  r->status, r->out, r->err);
    ck_assert_msg(strstr(r->out, "Checks: 214, Failures: 7, Errors: 0"), "%.1500s", r->out);
}
END_TEST

START_TEST(test_report_of_64_kib_gives_check_a_summary_that_fits) {
    inner_run *r = &runs[_i];
    assert_failed_at(r, "assert", "inner_assert_huge_report_leaky",
                     "ck_assert_no_leaks(.top = 1000)");
    char line[8192];
    result_line(r->out, "assert", "inner_assert_huge_report_leaky", line, sizeof line);
    ck_assert_msg(strlen(line) < 4096, "message of %zu bytes", strlen(line));
    ck_assert_msg(strstr(line, "256 objects") && strstr(line, "leak_tree"), "%.1500s", line);
    ck_assert_msg(!strstr(r->out, "Message string too long") &&
                      !strstr(r->err, "Message string too long"),
                  "%.1500s", r->err);
}
END_TEST

START_TEST(test_full_report_goes_to_stderr_once_and_to_a_file_per_test) {
    inner_run *r = &runs[_i];
    char path[160];
    snprintf(path, sizeof path, "%s/inner_assert_huge_report_leaky.txt", r->dir);
    char *file = slurp(path);
    ck_assert_msg(strlen(file) >= 64 * 1024, "report file of %zu bytes", strlen(file));
    ck_assert_msg(strstr(r->err, file) != NULL, "the file is not the report printed");
    ck_assert_int_eq(count(r->err, "256 leaked objects"), 1);
    free(file);
    /* The summary ends with where the full report is. */
    char line[8192];
    result_line(r->out, "assert", "inner_assert_huge_report_leaky", line, sizeof line);
    ck_assert_msg(strstr(line, "full report: stderr and ") && strstr(line, path), "%.1500s", line);
    /* The fixture's report too, and only for leaky tests. */
    snprintf(path, sizeof path, "%s/inner_fixture_twenty_sites_leaky.txt", r->dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/inner_fixture_clean.txt", r->dir);
    ck_assert_int_ne(access(path, R_OK), 0);
}
END_TEST

START_TEST(test_failing_check_gives_each_object_its_class_and_the_path_that_holds_it) {
    inner_run *r = &runs[_i];
    assert_failed_at(r, "assert", "inner_assert_classified_leaky",
                     "ck_assert_no_leaks(); /* the classified objects */");
    char path[160];
    snprintf(path, sizeof path, "%s/inner_assert_classified_leaky.txt", r->dir);
    char *report = slurp(path);
    const char *kept =
        strstr(report, "48 B in 1 object [reachable], allocated at:\n    keep_in_registry");
    ck_assert_msg(kept, "no reachable object from keep_in_registry:\n%s", report);
    const char *held =
        strstr(kept, "retained by (shortest path from a root):\n      global `registry`");
    const char *next = strstr(kept + 1, "\n48 B in 1 object [");
    ck_assert_msg(held && (!next || held < next), "no path from `registry`:\n%s", report);
    ck_assert_msg(
        strstr(report, "48 B in 1 object [unreachable, direct], allocated at:\n    lose_a_chain"),
        "no lost head:\n%s", report);
    ck_assert_msg(
        strstr(report, "48 B in 1 object [unreachable, indirect], allocated at:\n    lose_a_chain"),
        "no lost tail:\n%s", report);
    ck_assert_msg(strstr(report,
                         "unreachable 2 (96 B: 1 direct, 1 indirect (48 B)), held by leaked "
                         "threads 0 (0 B), reachable 1 (48 B)"),
                  "no class totals:\n%s", report);
    free(report);
}
END_TEST

START_TEST(test_check_passes_when_the_new_blocks_are_the_c_runtimes) {
    assert_passed(&runs[_i], "assert", "inner_assert_c_runtime_blocks_clean");
}
END_TEST

START_TEST(test_clean_test_after_a_leaky_one_passes) {
    assert_passed(&runs[_i], "assert", "inner_assert_clean_after_leaky");
}
END_TEST

START_TEST(test_user_checked_fixture_is_not_counted_by_the_assertion) {
    assert_passed(&runs[_i], "assert", "inner_assert_with_user_fixture_clean");
}
END_TEST

START_TEST(test_fixture_added_before_user_fixtures_judges_the_test) {
    inner_run *r = &runs[_i];
    assert_failed_at(r, "fixture_first", "inner_fixture_twenty_sites_leaky", NULL);
    assert_passed(r, "fixture_first", "inner_fixture_clean");
}
END_TEST

START_TEST(test_fixture_added_after_user_fixtures_judges_the_test) {
    inner_run *r = &runs[_i];
    assert_failed_at(r, "fixture_last", "inner_fixture_twenty_sites_leaky", NULL);
    assert_passed(r, "fixture_last", "inner_fixture_clean");
}
END_TEST

START_TEST(test_fixture_keeps_the_failure_of_a_test_that_failed_first) {
    char line[8192];
    ck_assert_ptr_nonnull(result_line(runs[_i].out, "fixture_first",
                                      "inner_fixture_failing_assertion_is_not_checked", line,
                                      sizeof line));
    ck_assert_msg(strstr(line, "Assertion '1 == 2' failed") && !strstr(line, "leakcheck"),
                  "%.1500s", line);
}
END_TEST

START_TEST(test_fixture_report_is_printed_once) {
    /* Both fixture orders leak the twenty sites: two reports, not four. */
    ck_assert_int_eq(count(runs[_i].err, "20 leaked objects"), 2);
}
END_TEST

START_TEST(test_leaked_thread_is_summarised_with_its_wait) {
    inner_run *r = &runs[_i];
    assert_failed_at(r, "thread", "inner_fixture_blocked_thread_leaky", NULL);
    char line[8192];
    result_line(r->out, "thread", "inner_fixture_blocked_thread_leaky", line, sizeof line);
    ck_assert_msg(strstr(line, "1 thread") && strstr(line, "pipe read"), "%.1500s", line);
    assert_passed(r, "thread", "inner_thread_joined_clean");
}
END_TEST

START_TEST(test_unwrapped_test_is_checked_by_the_fixture_teardown) {
    /* Check's teardown letter, the test's name; its clean twin passes. */
    char line[8192];
    ck_assert_msg(
        result_line(runs[_i].out, "unwrapped", "inner_unwrapped_leaky", line, sizeof line),
        "%.1500s", runs[_i].out);
    ck_assert_msg(
        strstr(line, ":S:unwrapped:inner_unwrapped_leaky:") &&
            strstr(line, "leakcheck: inner_unwrapped_leaky: LEAK: 0 threads and 2 objects"),
        "%.1500s", line);
    assert_passed(&runs[_i], "unwrapped", "inner_fixture_clean");
}
END_TEST

START_TEST(test_summary_is_one_line) {
    /* Check prints one result line per failure: each starts with this
     * file's name (the unwrapped test's, whose file the teardown cannot
     * know, with the test's name), and no stray report line sits between
     * them. */
    const char *p = strstr(runs[_i].out, "Checks: ");
    ck_assert_ptr_nonnull(p);
    p = strchr(p, '\n');
    ck_assert_ptr_nonnull(p);
    for (p++; *p && strncmp(p, "inner:", 6) != 0; p = strchr(p, '\n') + 1)
        ck_assert_msg(strncmp(p, "tests/test_check_integration.c:", 31) == 0 ||
                          strncmp(p, "test_check_integration.c:", 25) == 0 ||
                          strncmp(p, "inner_unwrapped_leaky:0:S:", 26) == 0,
                      "stray line: %.200s", p);
}
END_TEST

START_TEST(test_small_check_message_limit_still_fits) {
    char self[400], cmd[800];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(cmd, sizeof cmd,
             "env -u CK_RUN_CASE -u CK_RUN_SUITE CK_MAX_MSG_SIZE=512 LC_CHECK_INNER=1 "
             "CK_RUN_CASE=fixture_first CK_FORK=%s '%s' 2>/dev/null",
             _i ? "no" : "yes", self);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char buf[8192], all[16384] = "";
    while (fgets(buf, sizeof buf, p))
        strncat(all, buf, sizeof all - strlen(all) - 1);
    pclose(p);
    ck_assert_msg(strstr(all, "inner: 3 run, 2 failed"), "%.1500s", all);
}
END_TEST

static Suite *check_suite(void) {
    Suite *s = suite_create("check integration");
    TCase *tc = tcase_create("both fork modes");
    /* The inner suite runs once per mode for the whole case: in the
     * unchecked setup, so that fork mode does not repeat it per test. */
    tcase_add_unchecked_fixture(tc, run_both, free_both);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_test_runs_and_exactly_the_leaky_ones_fail, 0, 2);
    tcase_add_loop_test(tc, test_report_of_64_kib_gives_check_a_summary_that_fits, 0, 2);
    tcase_add_loop_test(tc, test_full_report_goes_to_stderr_once_and_to_a_file_per_test, 0, 2);
    tcase_add_loop_test(
        tc, test_failing_check_gives_each_object_its_class_and_the_path_that_holds_it, 0, 2);
    tcase_add_loop_test(tc, test_check_passes_when_the_new_blocks_are_the_c_runtimes, 0, 2);
    tcase_add_loop_test(tc, test_clean_test_after_a_leaky_one_passes, 0, 2);
    tcase_add_loop_test(tc, test_user_checked_fixture_is_not_counted_by_the_assertion, 0, 2);
    tcase_add_loop_test(tc, test_fixture_added_before_user_fixtures_judges_the_test, 0, 2);
    tcase_add_loop_test(tc, test_fixture_added_after_user_fixtures_judges_the_test, 0, 2);
    tcase_add_loop_test(tc, test_fixture_keeps_the_failure_of_a_test_that_failed_first, 0, 2);
    tcase_add_loop_test(tc, test_fixture_report_is_printed_once, 0, 2);
    tcase_add_loop_test(tc, test_leaked_thread_is_summarised_with_its_wait, 0, 2);
    tcase_add_loop_test(tc, test_unwrapped_test_is_checked_by_the_fixture_teardown, 0, 2);
    tcase_add_loop_test(tc, test_summary_is_one_line, 0, 2);
    tcase_add_loop_test(tc, test_small_check_message_limit_still_fits, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    if (getenv("LC_CHECK_INNER")) return run_inner_suite() ? 1 : 0;
    SRunner *sr = srunner_create(check_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
