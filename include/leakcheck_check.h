/* leakcheck_check.h: leak checks inside Check (libcheck) test suites.
 *
 *     #include <check.h>
 *     #include <leakcheck_check.h>
 *
 *     START_TEST(test_parse) { ...; ck_assert_no_leaks(); } END_TEST
 *     ...
 *     lc_tcase_add_leak_check(tc);   // baseline in setup, verify in teardown
 *
 * Header-only, so that the library itself does not depend on Check. Both
 * work with CK_FORK=yes and CK_FORK=no: the checked fixture runs in the same
 * process as the test in both modes. */
#ifndef LEAKCHECK_CHECK_H
#define LEAKCHECK_CHECK_H

#include <check.h>

#include "leakcheck.h"

/* Fail the current test, with the report as its message, when the state now
 * exceeds the budget against the baseline. The report also goes to stderr in
 * full (Check shortens long messages). Takes lc_options fields:
 *     ck_assert_no_leaks(.budget = "bytes=4k"); */
#define ck_assert_no_leaks(...)                                                                    \
    do {                                                                                           \
        if (lc_verify_none(                                                                        \
                &(const lc_options){.struct_version = LC_OPTIONS_VERSION, __VA_ARGS__}) != 0)      \
            ck_abort_msg("%s", lc_last_report());                                                  \
    } while (0)

static inline void lc_check_fixture_setup(void) {
    lc_baseline();
}

static inline void lc_check_fixture_teardown(void) {
    ck_assert_no_leaks();
}

/* One call: every test of the case starts from a fresh baseline and fails
 * when it leaves threads or heap behind (budget from LEAKCHECK_BUDGET). */
static inline void lc_tcase_add_leak_check(TCase *tc) {
    tcase_add_checked_fixture(tc, lc_check_fixture_setup, lc_check_fixture_teardown);
}

#endif
