/* SPDX-License-Identifier: MIT */
// cxx_api.cc: the specification of the public headers in C++.
//
// Built by mk/cxx.mk with g++ and clang++ in C++11, C++17 and C++20, with
// -Wall -Wextra -Werror, and run by tests/cli_cxx.sh in both Check fork
// modes: LC_VERIFY_NONE and ck_assert_no_leaks as the C documentation
// writes them, options through lc::options, names demangled in reports
// and results, and suppressions written with C++ names. Every detection
// test has a clean twin.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"
#include "leakcheck_check.h"

namespace kv {
struct Entry {
    int key;
    char value[20];
};
class Store {
  public:
    __attribute__((noinline)) static Entry *make(int key) {
        Entry *e = new Entry();
        e->key = key;
        return e;
    }
};
class Cache {
  public:
    // Leaks suppressed by "leak:kv::Cache::fill" (main writes the file).
    __attribute__((noinline)) static Entry *fill(int key) {
        Entry *e = new Entry();
        e->key = key;
        return e;
    }
};
} // namespace kv

static kv::Entry *volatile held;

START_TEST(test_verify_none_without_options_passes_when_clean) {
    delete kv::Store::make(1);
    ck_assert_int_eq(LC_VERIFY_NONE(), 0);
}
END_TEST

START_TEST(test_verify_none_without_options_reports_a_leak) {
    held = kv::Store::make(2);
    ck_assert_int_eq(LC_VERIFY_NONE(lc::options().quiet()), 1);
    delete held;
}
END_TEST

START_TEST(test_options_budget_allows_a_leak_within_it) {
    held = kv::Store::make(3);
    ck_assert_int_eq(LC_VERIFY_NONE(lc::options().budget("bytes=1k,objects=1").quiet()), 0);
    delete held;
}
END_TEST

START_TEST(test_options_budget_fails_a_leak_over_it) {
    held = kv::Store::make(4);
    ck_assert_int_eq(LC_VERIFY_NONE(lc::options().budget("bytes=8").quiet()), 1);
    delete held;
}
END_TEST

START_TEST(test_assert_no_leaks_passes_when_clean) {
    delete kv::Store::make(5);
    ck_assert_no_leaks();
    ck_assert_no_leaks(lc::options().top(3));
}
END_TEST

START_TEST(test_assert_no_leaks_passes_a_leak_within_budget) {
    held = kv::Store::make(6);
    ck_assert_no_leaks(lc::options().budget("bytes=1k,objects=1"));
    delete held;
}
END_TEST

START_TEST(test_report_names_the_leak_by_its_cxx_name) {
    held = kv::Store::make(7);
    lc_result r;
    ck_assert_int_eq(lc_verify(lc::options().quiet().get(), &r), 1);
    ck_assert_int_ge(r.nsites, 1);
    ck_assert_msg(strcmp(r.sites[0].function, "kv::Store::make(int)") == 0, "site function '%s'",
                  r.sites[0].function);
    const char *report = lc_last_report();
    ck_assert_msg(strstr(report, "kv::Store::make(int)") && !strstr(report, "_ZN2kv"), "%.2000s",
                  report);
    ck_assert_msg(!strstr(report, "_Znwm"), "operator new mangled: %.2000s", report);
    delete held;
}
END_TEST

START_TEST(test_report_of_freed_cxx_object_is_clean) {
    delete kv::Store::make(8);
    lc_result r;
    ck_assert_int_eq(lc_verify(lc::options().quiet().get(), &r), 0);
    ck_assert_int_eq(r.nsites, 0);
}
END_TEST

START_TEST(test_suppression_with_cxx_name_matches) {
    held = kv::Cache::fill(9);
    lc_result r;
    ck_assert_int_eq(lc_verify(lc::options().quiet().get(), &r), 0);
    ck_assert_msg(strstr(lc_last_report(), "kv::Cache::fill"), "%.2000s", lc_last_report());
    delete held;
}
END_TEST

START_TEST(test_suppression_with_cxx_name_leaves_other_functions_reported) {
    held = kv::Store::make(10);
    lc_result r;
    ck_assert_int_eq(lc_verify(lc::options().quiet().get(), &r), 1);
    delete held;
}
END_TEST

// Run only with LC_CXX_LEAKY set: tests/cli_cxx.sh asserts that it fails
// as an ordinary failure at the assertion's line, with the C++ name.
START_TEST(test_assert_no_leaks_fails_a_cxx_leak) {
    held = kv::Store::make(11);
    held = nullptr;
    ck_assert_no_leaks();
}
END_TEST

int main(void) {
    // One suppression for the whole run, as a project's file would be.
    char path[] = "/tmp/cxx_api_supp.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 2;
    const char rule[] = "# a C++ name, as LeakSanitizer files write them\nleak:kv::Cache::fill\n";
    if (write(fd, rule, sizeof rule - 1) != (ssize_t)(sizeof rule - 1)) return 2;
    close(fd);
    setenv("LEAKCHECK_SUPPRESSIONS", path, 1);

    Suite *s = suite_create("c++");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_verify_none_without_options_passes_when_clean);
    tcase_add_test(tc, test_verify_none_without_options_reports_a_leak);
    tcase_add_test(tc, test_options_budget_allows_a_leak_within_it);
    tcase_add_test(tc, test_options_budget_fails_a_leak_over_it);
    tcase_add_test(tc, test_assert_no_leaks_passes_when_clean);
    tcase_add_test(tc, test_assert_no_leaks_passes_a_leak_within_budget);
    tcase_add_test(tc, test_report_names_the_leak_by_its_cxx_name);
    tcase_add_test(tc, test_report_of_freed_cxx_object_is_clean);
    tcase_add_test(tc, test_suppression_with_cxx_name_matches);
    tcase_add_test(tc, test_suppression_with_cxx_name_leaves_other_functions_reported);
    suite_add_tcase(s, tc);
    if (getenv("LC_CXX_LEAKY")) {
        tc = tcase_create("leaky");
        tcase_add_test(tc, test_assert_no_leaks_fails_a_cxx_leak);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    unlink(path);
    return failed ? 1 : 0;
}
