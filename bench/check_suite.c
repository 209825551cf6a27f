/* SPDX-License-Identifier: MIT */
/* check_suite.c: the per-test cost of the library in a Check suite.
 *
 * BENCH_CHECK_TESTS (default 200) small tests in one TCase, each allocating
 * and freeing a block as a unit test of a small function would. Built three
 * ways by bench/run.sh: without the library (plain), linked with it but with
 * no assertion (-DLINKED), and with ck_assert_no_leaks() at the end of every
 * test (-DASSERT). The difference between the three is what a user pays per
 * test for having the library in the process, and for a passing check. The
 * last line gives the page faults and CPU time of this process and of the
 * forked tests, for run.sh's per-test figures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef ASSERT
#include <leakcheck_check.h>
#endif

static unsigned long checksum;

START_TEST(test_small) {
    /* _i is the loop index Check passes to a loop test. */
    char *name = malloc(32 + (size_t)_i % 64);
    ck_assert_ptr_nonnull(name);
    snprintf(name, 32, "case %d", _i);
    checksum += strlen(name);
    free(name);
#ifdef ASSERT
    ck_assert_no_leaks();
#endif
}
END_TEST

int main(void) {
    const char *env = getenv("BENCH_CHECK_TESTS");
    int tests = env && *env ? atoi(env) : 200;
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("small");
#ifdef ASSERT
    /* In fork mode the baseline is the fork (the library takes it in the
     * child), as in a suite that calls ck_assert_no_leaks() alone; with
     * CK_FORK=no the checked fixture of leakcheck_check.h takes one before
     * every test. */
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0)
        tcase_add_checked_fixture(tc, lc_check_fixture_setup, NULL);
#endif
    tcase_add_loop_test(tc, test_small, 0, tests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    /* Page faults and CPU time of this process and of the forked tests
     * (Check waits for each, so their usage is in RUSAGE_CHILDREN). */
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    long cpu_us = 0;
    const struct rusage *u[2] = {&self, &children};
    for (int i = 0; i < 2; i++)
        cpu_us += (u[i]->ru_utime.tv_sec + u[i]->ru_stime.tv_sec) * 1000000L +
                  u[i]->ru_utime.tv_usec + u[i]->ru_stime.tv_usec;
    printf("tests %d failed %d minflt_self %ld minflt_children %ld cpu_us %ld\n", run, failed,
           self.ru_minflt, children.ru_minflt, cpu_us);
    return failed == 0 && run == tests ? 0 : 1;
}
