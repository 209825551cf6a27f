/* SPDX-License-Identifier: MIT */
/* test_child.c: the specification of a function run in a forked child with
 * a deadline (harness/child.c), which the fault sweep, the scenario runner
 * and `leakcheck fault-sweep` share.
 *
 * Each way a child can end has its test: a sealed result comes back whole,
 * a child past its deadline is killed and reported as timed out (its twin,
 * under the deadline, is not), a crash or an exit without a seal is told
 * from a result and keeps what was written, and a child stopped by
 * something else than its seal goes on. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* The text of the child's result, as much as there is. */
static void result_text(const lc_child *c, char *out, size_t len) {
    out[lc_child_read(c, out, c->len < len - 1 ? c->len : len - 1, 0)] = '\0';
}

static lc_child run(double timeout, lc_child_fn fn, void *arg) {
    lc_child c;
    ck_assert_int_eq(lc_child_start(&c, timeout, fn, arg), 0);
    lc_child_wait(&c);
    return c;
}

/* ------------------------------------------------------------ children */

static void say(int fd, void *arg) {
    const char *text = arg;
    lc_child_write(fd, text, strlen(text));
}

static void say_then_sleep(int fd, void *arg) {
    lc_child_write(fd, "started", 7);
    sleep_ms(*(long *)arg);
}

static void say_then_crash(int fd, void *arg) {
    (void)arg;
    lc_child_write(fd, "half an ans", 11);
    raise(SIGSEGV);
}

static void say_then_exit(int fd, void *arg) {
    lc_child_write(fd, "no seal", 7);
    _exit(*(int *)arg);
}

static void stop_then_say(int fd, void *arg) {
    (void)arg;
    raise(SIGSTOP); /* as a debugger or job control would stop it */
    lc_child_write(fd, "continued", 9);
}

/* --------------------------------------------------------------- tests */

START_TEST(test_a_sealed_result_comes_back_whole) {
    char text[64];
    lc_child c = run(0, say, "the answer");
    ck_assert_int_eq(c.end, LC_CHILD_DONE);
    ck_assert_uint_eq(c.len, strlen("the answer"));
    result_text(&c, text, sizeof text);
    ck_assert_str_eq(text, "the answer");
    lc_child_close(&c);
}
END_TEST

START_TEST(test_an_empty_result_is_still_a_result) {
    lc_child c = run(0, say, "");
    ck_assert_int_eq(c.end, LC_CHILD_DONE);
    ck_assert_uint_eq(c.len, 0);
    lc_child_close(&c);
}
END_TEST

/* Writes, says so on a pipe of the test's own, then sleeps past any
 * deadline. */
static int written_pipe[2];
static void say_then_sleep_long(int fd, void *arg) {
    (void)arg;
    lc_child_write(fd, "started", 7);
    char done = 1;
    if (write(written_pipe[1], &done, 1) != 1) _exit(2);
    sleep_ms(60000);
}

START_TEST(test_a_child_past_its_deadline_is_killed_as_timed_out) {
    /* The deadline (0.2 s) may pass before a child on a loaded machine, or
     * under valgrind, has written anything: the test waits until it has,
     * so that what it checks is that a killed child keeps what it wrote,
     * not how fast it was scheduled. */
    ck_assert_int_eq(pipe(written_pipe), 0);
    lc_child c;
    ck_assert_int_eq(lc_child_start(&c, 0.2, say_then_sleep_long, NULL), 0);
    close(written_pipe[1]);
    char done = 0;
    ck_assert_int_eq(read(written_pipe[0], &done, 1), 1);
    close(written_pipe[0]);
    lc_child_wait(&c);
    ck_assert_int_eq(c.end, LC_CHILD_TIMED_OUT);
    ck_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
    char text[64];
    result_text(&c, text, sizeof text);
    ck_assert_str_eq(text, "started");
    lc_child_close(&c);
}
END_TEST

START_TEST(test_a_child_within_its_deadline_is_not_timed_out) {
    long ms = 10;
    lc_child c = run(60, say_then_sleep, &ms);
    ck_assert_int_eq(c.end, LC_CHILD_DONE);
    lc_child_close(&c);
}
END_TEST

START_TEST(test_a_crash_is_told_from_a_result_and_keeps_what_was_written) {
    lc_child c = run(0, say_then_crash, NULL);
    ck_assert_int_eq(c.end, LC_CHILD_SIGNALED);
    ck_assert_int_eq(WTERMSIG(c.status), SIGSEGV);
    char text[64];
    result_text(&c, text, sizeof text);
    ck_assert_str_eq(text, "half an ans");
    lc_child_close(&c);
}
END_TEST

START_TEST(test_an_exit_without_a_seal_is_no_result) {
    int status = 3;
    lc_child c = run(0, say_then_exit, &status);
    ck_assert_int_eq(c.end, LC_CHILD_EXITED);
    ck_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 3);
    ck_assert_uint_eq(c.len, 7);
    lc_child_close(&c);
}
END_TEST

START_TEST(test_a_child_stopped_by_something_else_goes_on) {
    lc_child c = run(0, stop_then_say, NULL);
    ck_assert_int_eq(c.end, LC_CHILD_DONE);
    char text[64];
    result_text(&c, text, sizeof text);
    ck_assert_str_eq(text, "continued");
    lc_child_close(&c);
}
END_TEST

START_TEST(test_a_result_survives_a_program_that_ignores_sigchld) {
    /* Its children are reaped by the kernel: waitpid ends in ECHILD. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGCHLD, &ign, &old);
    lc_child c = run(0, say, "reaped elsewhere");
    sigaction(SIGCHLD, &old, NULL);
    ck_assert_int_eq(c.end, LC_CHILD_DONE);
    char text[64];
    result_text(&c, text, sizeof text);
    ck_assert_str_eq(text, "reaped elsewhere");
    lc_child_close(&c);
}
END_TEST

/* Blocks until the test writes to the pipe it is given. */
static void wait_for_release(int fd, void *arg) {
    const int *release = arg;
    char byte;
    close(release[1]);
    while (read(release[0], &byte, 1) < 0 && errno == EINTR)
        continue;
    lc_child_write(fd, "released", 8);
}

START_TEST(test_children_are_polled_side_by_side) {
    int release[2];
    ck_assert_int_eq(pipe(release), 0);
    lc_child held, quick;
    ck_assert_int_eq(lc_child_start(&held, 60, wait_for_release, release), 0);
    ck_assert_int_eq(lc_child_start(&quick, 60, say, "quick"), 0);
    while (!lc_child_poll(&quick))
        sleep_ms(1);
    ck_assert_int_eq(quick.end, LC_CHILD_DONE);
    ck_assert(!lc_child_poll(&held)); /* it cannot end before the release */
    ck_assert_int_eq(write(release[1], "go", 1), 1);
    lc_child_wait(&held);
    close(release[0]);
    close(release[1]);
    ck_assert_int_eq(held.end, LC_CHILD_DONE);
    lc_child_close(&held);
    lc_child_close(&quick);
}
END_TEST

static Suite *child_suite(void) {
    Suite *s = suite_create("child");
    TCase *tc = tcase_create("child");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_a_sealed_result_comes_back_whole);
    tcase_add_test(tc, test_an_empty_result_is_still_a_result);
    tcase_add_test(tc, test_a_child_past_its_deadline_is_killed_as_timed_out);
    tcase_add_test(tc, test_a_child_within_its_deadline_is_not_timed_out);
    tcase_add_test(tc, test_a_crash_is_told_from_a_result_and_keeps_what_was_written);
    tcase_add_test(tc, test_an_exit_without_a_seal_is_no_result);
    tcase_add_test(tc, test_a_child_stopped_by_something_else_goes_on);
    tcase_add_test(tc, test_a_result_survives_a_program_that_ignores_sigchld);
    tcase_add_test(tc, test_children_are_polled_side_by_side);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(child_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
