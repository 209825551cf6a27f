/* SPDX-License-Identifier: MIT */
// cxx_gtest.cc: the GoogleTest listener of include/leakcheck_gtest.h.
//
// Run by tests/cli_cxx.sh, which asserts on GoogleTest's output: the leaky
// test fails at its own file and line with the summary (C++ names
// demangled), its clean twin passes, and a fixture that allocates in SetUp
// and frees in TearDown is not counted.
#include <gtest/gtest.h>

#include "leakcheck_gtest.h"

namespace widgets {
struct Widget {
    int id;
    char name[28];
};
__attribute__((noinline)) Widget *make_widget(int id) {
    Widget *w = new Widget();
    w->id = id;
    return w;
}
} // namespace widgets

static widgets::Widget *volatile held;

TEST(LeakCheck, LeakyTestFails) {
    held = widgets::make_widget(1);
    held = nullptr; // lost
}

TEST(LeakCheck, CleanTwinPasses) {
    held = widgets::make_widget(2);
    delete held;
    held = nullptr;
}

class WidgetFixture : public ::testing::Test {
  protected:
    void SetUp() override { w_ = widgets::make_widget(3); }
    void TearDown() override { delete w_; }
    widgets::Widget *w_ = nullptr;
};

TEST_F(WidgetFixture, FixtureFreedInTearDownPasses) {
    EXPECT_EQ(w_->id, 3);
}

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    lc::install_gtest_listener();
    return RUN_ALL_TESTS();
}
