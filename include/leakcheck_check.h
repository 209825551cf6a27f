/* SPDX-License-Identifier: MIT */
/* leakcheck_check.h: leak checks inside Check (libcheck) test suites.
 *
 *     #include <check.h>
 *     #include <leakcheck_check.h>     // before the tests: it wraps START_TEST
 *
 *     START_TEST(test_parse) { ...; ck_assert_no_leaks(); } END_TEST
 *     ...
 *     lc_tcase_add_leak_check(tc);     // every test of tc checked at its end
 *
 * Header-only, so that the library itself does not depend on Check. C and
 * C++; CK_FORK=yes and CK_FORK=no alike.
 *
 * The window judged is the test body. START_TEST is redefined so that each
 * test body first takes a baseline (lc_test_begin): what the checked and
 * unchecked setups allocated is not counted, and in no-fork mode neither is
 * what Check itself allocated for the tests that ran before. The fixture's
 * check runs when the body returns, inside the test, before any teardown,
 * so the verdict does not depend on the order of the user's own fixtures,
 * and a failure is an ordinary test failure ("F") at the test's START_TEST
 * line. What a body leaves in a fixture's structure for the teardown to
 * free is retained growth, reported `reachable` with the path from the
 * fixture's variable.
 *
 * A failure gives Check a one-line summary that fits its message limit
 * (Check refuses a message over 4 KiB, or CK_MAX_MSG_SIZE, and ends the
 * runner): the totals, the largest sites and threads, and where the full
 * report is. The full report goes once to stderr (or .out) and, with
 * LEAKCHECK_REPORT_DIR set, to DIR/TEST_NAME.txt. One line also keeps TAP
 * logs valid. */
#ifndef LEAKCHECK_CHECK_H
#define LEAKCHECK_CHECK_H

#include <check.h>
#include <stdlib.h>

#include "leakcheck.h"

/* Room for the summary. Check's limit covers the whole packed record (the
 * message and its header); half of it is left to the rest. */
#define LC_CHECK_MSG_MAX 2048
static inline size_t lc_check_msg_room_(void) {
    const char *env = getenv("CK_MAX_MSG_SIZE");
    long limit = env && *env ? strtol(env, NULL, 10) : 4096;
    if (limit <= 0) limit = 4096;
    size_t room = (size_t)limit / 2;
    return room < LC_CHECK_MSG_MAX ? (room < 32 ? 32 : room) : LC_CHECK_MSG_MAX;
}

/* Fail the current test, at this line, when the state now exceeds the
 * budget against the test's baseline. Takes options as LC_VERIFY_NONE:
 *     ck_assert_no_leaks(.budget = "bytes=4k");                 // C
 *     ck_assert_no_leaks(lc::options().budget("bytes=4k"));     // C++ */
#define ck_assert_no_leaks(...)                                                                    \
    do {                                                                                           \
        char lc_msg_[LC_CHECK_MSG_MAX];                                                            \
        if (lc_verify_test(LC_OPTIONS(__VA_ARGS__), NULL, __FILE__, __LINE__, lc_msg_,             \
                           lc_check_msg_room_()) != 0)                                             \
            ck_abort_msg("%s", lc_msg_);                                                           \
    } while (0)

/* The end of a wrapped test body: the fixture's check, inside the test. */
static inline void lc_check_test_end_(const char *file, int line) {
    if (!lc_test_take_armed()) return;
    /* Zeroed: this frame lies where the body's frames were, and their dead
     * pointers must not make a lost object look held. */
    char msg[LC_CHECK_MSG_MAX] = {0};
    if (lc_verify_test(NULL, NULL, file, line, msg, lc_check_msg_room_()) != 0)
        _ck_assert_failed(file, line, "Failed", "%s", msg);
}

/* Check 0.13 and later run a test through its TTest record, which names the
 * function START_TEST defines; the wrapper defined here runs the body
 * between lc_test_begin and the fixture's check. The body keeps Check's
 * own name for it, NAME_fn, as stacks in reports show it. */
#if CHECK_MAJOR_VERSION > 0 || CHECK_MINOR_VERSION >= 13
#undef START_TEST
#define START_TEST(__testname)                                                                     \
    static void __testname##_fn(int _i);                                                           \
    static void __testname##_lc_run(int _i) {                                                      \
        lc_test_begin(#__testname, __FILE__, __LINE__);                                            \
        __testname##_fn(_i);                                                                       \
        lc_check_test_end_(__FILE__, __LINE__);                                                    \
    }                                                                                              \
    static const TTest __testname##_ttest = {"" #__testname, __testname##_lc_run, __FILE__,        \
                                             __LINE__};                                            \
    static const TTest *__testname = &__testname##_ttest;                                          \
    static void __testname##_fn(int _i CK_ATTRIBUTE_UNUSED)
#endif

static inline void lc_check_fixture_setup(void) {
    lc_test_arm();
}

/* Only for a test whose body is not wrapped (defined where this header was
 * not included): the check runs here, and Check reports it as a teardown
 * failure. A wrapped test was checked when its body returned; a wrapped
 * body that failed earlier keeps its own failure. */
static inline void lc_check_fixture_teardown(void) {
    if (!lc_test_disarm()) return;
    char msg[LC_CHECK_MSG_MAX] = {0}; /* as in lc_check_test_end_ */
    const char *name = tcase_name();
    if (lc_verify_test(NULL, name, NULL, 0, msg, lc_check_msg_room_()) != 0)
        _ck_assert_failed(name ? name : "test", 0, "Failed", "%s", msg);
}

/* One call: every test of the case starts from a fresh baseline and fails
 * when it leaves threads or heap behind (budget from LEAKCHECK_BUDGET).
 * Any order with the case's other fixtures. */
static inline void lc_tcase_add_leak_check(TCase *tc) {
    tcase_add_checked_fixture(tc, lc_check_fixture_setup, lc_check_fixture_teardown);
}

#endif
