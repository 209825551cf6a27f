/* SPDX-License-Identifier: MIT */
/* cache_test.c: a Check suite using leakcheck, built by the CMake and
 * Meson files next to it (docs/check.md, "Build systems").
 *
 * Its results go to stdout as TAP, which Meson reads; every test is checked
 * for leaks at its end. With CACHE_TEST_LEAK set, one test forgets to free
 * its entry, and that test fails. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <leakcheck_check.h>

typedef struct entry {
    char key[16];
    char *value;
} entry;

static entry *entry_new(const char *key, const char *value) {
    entry *e = calloc(1, sizeof *e);
    strncpy(e->key, key, sizeof e->key - 1);
    e->value = strdup(value);
    return e;
}

static void entry_free(entry *e) {
    free(e->value);
    free(e);
}

START_TEST(test_entry_round_trip) {
    entry *e = entry_new("k", "v");
    ck_assert_str_eq(e->value, "v");
    if (!getenv("CACHE_TEST_LEAK")) entry_free(e);
}
END_TEST

START_TEST(test_entry_key_is_cut_to_fit) {
    entry *e = entry_new("a-key-longer-than-sixteen", "v");
    ck_assert_uint_eq(strlen(e->key), 15);
    entry_free(e);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("entry");
    lc_tcase_add_leak_check(tc);
    tcase_add_test(tc, test_entry_round_trip);
    tcase_add_test(tc, test_entry_key_is_cut_to_fit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
