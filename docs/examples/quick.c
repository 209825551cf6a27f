/* SPDX-License-Identifier: MIT */
/* quick.c: the quick start of README.md, a Check suite with a leak check. */
#include <check.h>
#include <leakcheck_check.h> /* pulls in leakcheck.h */
#include <stdlib.h>
#include <string.h>

static char *remember(const char *s) {
    return strdup(s);
}

START_TEST(test_remember_is_freed) {
    char *name = remember("alice");
    (void)name; /* never freed: the check below fails */
    ck_assert_no_leaks();
}
END_TEST

START_TEST(test_remember_and_free) {
    char *name = remember("bob");
    free(name);
    ck_assert_no_leaks(); /* or: ck_assert_int_eq(LC_VERIFY_NONE(), 0); */
}
END_TEST

int main(void) {
    Suite *s = suite_create("quick");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_remember_is_freed);
    tcase_add_test(tc, test_remember_and_free);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
