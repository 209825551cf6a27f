/* SPDX-License-Identifier: MIT */
// gtest_demo.cc: the README's GoogleTest example: one test leaks what a
// factory returns, its twin frees it.
#include <gtest/gtest.h>
#include <leakcheck_gtest.h>

#include <memory>
#include <string>

namespace kv {
struct Entry {
    std::string key, value;
};
Entry *make_entry(const std::string &k, const std::string &v) {
    return new Entry{k, v};
}
} // namespace kv

TEST(Store, PutForgetsTheEntry) {
    kv::Entry *e = kv::make_entry("user", "alice");
    EXPECT_EQ(e->value, "alice"); // never deleted: the check fails this test
}

TEST(Store, PutFreesTheEntry) {
    std::unique_ptr<kv::Entry> e(kv::make_entry("user", "bob"));
    EXPECT_EQ(e->value, "bob");
}

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    lc::install_gtest_listener();
    return RUN_ALL_TESTS();
}
