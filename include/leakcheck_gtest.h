/* SPDX-License-Identifier: MIT */
/* leakcheck_gtest.h: leak checks in GoogleTest suites.
 *
 *     #include <gtest/gtest.h>
 *     #include <leakcheck_gtest.h>
 *
 *     int main(int argc, char **argv) {
 *         ::testing::InitGoogleTest(&argc, argv);
 *         lc::install_gtest_listener();   // every test checked at its end
 *         return RUN_ALL_TESTS();
 *     }
 *
 * A test event listener: the baseline is taken when a test starts (before
 * its fixture is constructed) and the check runs when it ends (after the
 * fixture's TearDown and destructor), so what a fixture allocates and frees
 * is never counted, whatever the fixture does. A leak fails the test with a
 * one-line summary at the test's file and line; the full report goes to
 * stderr and, with LEAKCHECK_REPORT_DIR set, to DIR/Suite.Test.txt.
 * Options apply to every test:
 *     lc::install_gtest_listener(lc::options().budget("bytes=1k"));
 * GoogleTest runs every test in one process, as Check's CK_FORK=no. */
#ifndef LEAKCHECK_GTEST_H
#define LEAKCHECK_GTEST_H

#include <gtest/gtest.h>
#include <stdio.h>

#include "leakcheck.h"

namespace lc {

class gtest_listener : public ::testing::EmptyTestEventListener {
  public:
    explicit gtest_listener(const options &o = options()) : opts_(o) { name_[0] = '\0'; }

    void OnTestStart(const ::testing::TestInfo &info) override {
        /* A fixed buffer: nothing this listener keeps is allocated inside
         * the window it judges. */
        snprintf(name_, sizeof name_, "%s.%s", info.test_suite_name(), info.name());
        lc_test_begin(name_, info.file(), info.line());
    }

    void OnTestEnd(const ::testing::TestInfo &info) override {
        /* Zeroed: this frame lies where the test's frames were, and their
         * dead pointers must not make a lost object look held. */
        char msg[4096] = {0};
        if (lc_verify_test(opts_.get(), name_, info.file(), info.line(), msg, sizeof msg) != 0)
            ADD_FAILURE_AT(info.file(), info.line()) << msg;
    }

  private:
    options opts_;
    char name_[256];
};

/* Append the listener to GoogleTest's (which then owns it). Call once,
 * after InitGoogleTest. */
inline void install_gtest_listener(const options &o = options()) {
    ::testing::UnitTest::GetInstance()->listeners().Append(new gtest_listener(o));
}

} // namespace lc

#endif
