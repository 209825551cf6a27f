/* SPDX-License-Identifier: MIT */
/* test_capture_signal.c: the capture signal belongs to the program first.
 *
 * A check interrupts every other thread with a real-time signal to read its
 * stack. It must take a signal the program does not use, never replace a
 * handler the program installed, and give the signal back to its default
 * disposition when the check is done. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"

static volatile sig_atomic_t program_handler_calls;
static void program_handler(int sig) {
    (void)sig;
    program_handler_calls++;
}

static int pipe_fds[2];
static void *blocked_reader(void *arg) {
    (void)arg;
    char c;
    ssize_t n = read(pipe_fds[0], &c, 1);
    (void)n;
    return NULL;
}

/* Runs a check while one thread is blocked; that thread's stack must have
 * been captured (its top function named), so the signal really was used. */
static void check_with_a_blocked_thread(void) {
    ck_assert_int_eq(pipe(pipe_fds), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, blocked_reader, NULL), 0);
    lc_result res;
    lc_options o = {.struct_version = LC_OPTIONS_VERSION,
                    .budget = "threads=1",
                    .settle_seconds = 0.05,
                    .quiet = 1};
    ck_assert_int_eq(lc_verify(&o, &res), 0);
    ck_assert_int_eq(res.leaked_threads, 1);
    ck_assert_msg(strstr(res.threads[0].function, "read") != NULL,
                  "the blocked thread's stack was not captured: top function '%s'",
                  res.threads[0].function);
    ck_assert_int_eq(write(pipe_fds[1], "x", 1), 1);
    pthread_join(t, NULL);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

START_TEST(test_program_handler_on_the_default_capture_signal_is_kept) {
    struct sigaction mine = {.sa_handler = program_handler}, after;
    sigemptyset(&mine.sa_mask);
    ck_assert_int_eq(sigaction(SIGRTMAX - 5, &mine, NULL), 0);
    lc_baseline();
    check_with_a_blocked_thread();
    ck_assert_int_eq(sigaction(SIGRTMAX - 5, NULL, &after), 0);
    ck_assert_ptr_eq((void *)after.sa_handler, (void *)program_handler);
    ck_assert_int_eq(program_handler_calls, 0);
    signal(SIGRTMAX - 5, SIG_DFL); /* the next test starts from nothing */
}
END_TEST

START_TEST(test_every_realtime_signal_is_default_again_after_a_check) {
    /* As the check found them: under valgrind the highest one is valgrind's. */
    struct sigaction before[SIGRTMAX + 1];
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        ck_assert_int_eq(sigaction(sig, NULL, &before[sig]), 0);
    lc_baseline();
    check_with_a_blocked_thread();
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
        struct sigaction cur;
        ck_assert_int_eq(sigaction(sig, NULL, &cur), 0);
        ck_assert_msg(cur.sa_handler == before[sig].sa_handler &&
                          (cur.sa_flags & SA_SIGINFO) == (before[sig].sa_flags & SA_SIGINFO),
                      "signal %d left with a handler after the check", sig);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("capture_signal");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_program_handler_on_the_default_capture_signal_is_kept);
    tcase_add_test(tc, test_every_realtime_signal_is_default_again_after_a_check);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
