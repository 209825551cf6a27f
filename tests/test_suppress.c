/* SPDX-License-Identifier: MIT */
/* test_suppress.c: the specification of suppression files.
 *
 * Files use LeakSanitizer's syntax: `leak:PATTERN` and `thread:PATTERN`
 * lines, `#` comments and blank lines, whitespace trimmed; anything else is
 * an error naming FILE:LINE, and an unreadable file an error naming the file
 * and the system's reason. A pattern matches anywhere in a name unless
 * anchored with `^` or `$`, and `*` matches any run of characters. A `leak:`
 * rule suppresses a leaked block when it matches the function, source file
 * or module of any frame of the block's allocation stack; a `thread:` rule
 * suppresses a leaked thread when it matches a frame of the thread's stack,
 * its start routine or a frame of its creation stack. What was suppressed is
 * counted per pattern for the report.
 *
 * Every test that expects a suppression has a twin that expects none. Rules
 * are forgotten after each test (lc_suppress_reset), so that the suite
 * behaves the same with CK_FORK=no. The end-to-end tests at the bottom run
 * real checks (lc_verify) with rules loaded. */
#include <check.h>
#include <sched.h>
#include <stdatomic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "buf.h"
#include "os.h"
#include "stacks.h"
#include "suppress.h"
#include "symbols.h"
#include "leakcheck.h"

/* ------------------------------------------------------------ helpers */

static char dir[64];
static int nfiles;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/test_suppress.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    nfiles = 0;
    unsetenv("LEAKCHECK_SUPPRESSIONS");
    lc_suppress_reset();
}

static void teardown(void) {
    unsetenv("LEAKCHECK_SUPPRESSIONS");
    lc_suppress_reset();
    char path[128];
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%d.supp", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

/* Writes text to a new file of the test's directory; returns its path
 * (static storage, one per call until the next test). */
static const char *write_file(const char *text) {
    static char paths[16][128];
    ck_assert_int_lt(nfiles, 16);
    char *path = paths[nfiles];
    snprintf(path, sizeof paths[0], "%s/%d.supp", dir, nfiles++);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void load(const char *text) {
    char err[512] = "";
    const char *path = write_file(text);
    ck_assert_msg(lc_suppress_load_file(path, err, sizeof err) == 0, "%s", err);
}

/* Loading fails with exactly "FILE:LINE: problem". */
#define ASSERT_LOAD_FAILS(text, line, problem)                                                     \
    do {                                                                                           \
        char err[512] = "", want[512];                                                             \
        const char *path = write_file(text);                                                       \
        ck_assert_int_eq(lc_suppress_load_file(path, err, sizeof err), -1);                        \
        snprintf(want, sizeof want, "%s:%d: %s", path, (line), (problem));                         \
        ck_assert_str_eq(err, want);                                                               \
    } while (0)

/* Functions that stand for frames of the program. The test builds stacks
 * from their addresses: a return address is one byte into its function
 * (symbolization looks one byte back, at the call), the interrupted pc of a
 * thread is the function's first byte. Built with -O0: each is its own
 * function in the symbol table. */
static void spec_cache_fill(void) {}
static void spec_request_handler(void) {}
static void spec_config_load(void) {}
static void spec_worker_wait(void) {}
static void spec_worker_main(void) {}
static void spec_pool_start(void) {}

static uintptr_t ret_in(void (*fn)(void)) {
    return (uintptr_t)fn + 1;
}

/* An allocation stack: spec_cache_fill called from spec_request_handler. */
static lc_stack_id cache_stack(void) {
    uintptr_t pcs[] = {ret_in(spec_cache_fill), ret_in(spec_request_handler)};
    lc_stack_id id = lc_stack_intern(pcs, 2);
    ck_assert_uint_ne(id, 0);
    return id;
}

static lc_stack_id config_stack(void) {
    uintptr_t pcs[] = {ret_in(spec_config_load), ret_in(spec_request_handler)};
    lc_stack_id id = lc_stack_intern(pcs, 2);
    ck_assert_uint_ne(id, 0);
    return id;
}

/* A thread interrupted in spec_worker_wait, called from spec_worker_main. */
static const uintptr_t *thread_pcs(void) {
    static uintptr_t pcs[2];
    pcs[0] = (uintptr_t)spec_worker_wait;
    pcs[1] = ret_in(spec_worker_main);
    return pcs;
}

static lc_stack_id pool_stack(void) {
    uintptr_t pcs[] = {ret_in(spec_pool_start), ret_in(spec_request_handler)};
    return lc_stack_intern(pcs, 2);
}

/* The module the test's own functions are in: this executable. */
static const char *own_module(void) {
    lc_frame f = {0};
    lc_symbolize_pc((uintptr_t)spec_cache_fill, &f);
    ck_assert_ptr_nonnull(f.module);
    return f.module;
}

static const char *text_report(void) {
    static lc_buf b;
    lc_buf_free(&b);
    b = (lc_buf){0};
    lc_suppress_report_text(&b);
    return b.data ? b.data : "";
}

static const char *json_report(void) {
    static lc_buf b;
    lc_buf_free(&b);
    b = (lc_buf){0};
    lc_suppress_report_json(&b);
    return b.data ? b.data : "";
}

/* ------------------------------------------------------------ parsing */

START_TEST(test_comments_blank_lines_and_both_kinds_load) {
    load("# a comment\n"
         "\n"
         "   \t\n"
         "leak:spec_cache_fill\n"
         "  # an indented comment\n"
         "thread:spec_worker_main\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    ck_assert(lc_suppress_thread(thread_pcs(), 2, 0, 0));
}
END_TEST

START_TEST(test_an_empty_file_loads_and_suppresses_nothing) {
    load("");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
    ck_assert(!lc_suppress_thread(thread_pcs(), 2, 0, 0));
}
END_TEST

START_TEST(test_whitespace_around_kind_and_pattern_is_trimmed) {
    load("  leak :  spec_cache_fill \r\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    ck_assert_ptr_nonnull(strstr(json_report(), "\"pattern\": \"leak:spec_cache_fill\""));
}
END_TEST

START_TEST(test_a_last_line_without_newline_is_read) {
    load("# no newline at the end\nleak:spec_cache_fill");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_unknown_kind_is_an_error_at_its_line) {
    ASSERT_LOAD_FAILS("# comment\n\nleak:spec_cache_fill\nfoo:bar\n", 4,
                      "unknown suppression kind 'foo' (want leak or thread)");
}
END_TEST

START_TEST(test_other_sanitizer_kinds_are_errors) {
    ASSERT_LOAD_FAILS("race:spec_cache_fill\n", 1,
                      "unknown suppression kind 'race' (want leak or thread)");
}
END_TEST

START_TEST(test_empty_pattern_is_an_error_at_its_line) {
    ASSERT_LOAD_FAILS("leak:spec_cache_fill\nleak:\n", 2, "empty pattern in 'leak:'");
}
END_TEST

START_TEST(test_pattern_of_anchors_only_is_an_error) {
    ASSERT_LOAD_FAILS("thread:^$\n", 1, "empty pattern in 'thread:^$'");
}
END_TEST

START_TEST(test_missing_colon_is_an_error_at_its_line) {
    ASSERT_LOAD_FAILS("\n\n\nspec_cache_fill\n", 4,
                      "expected leak:PATTERN or thread:PATTERN, got 'spec_cache_fill'");
}
END_TEST

START_TEST(test_a_file_with_an_error_adds_none_of_its_rules) {
    ASSERT_LOAD_FAILS("leak:spec_cache_fill\nbogus\n", 2,
                      "expected leak:PATTERN or thread:PATTERN, got 'bogus'");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_the_fixed_file_adds_its_rules) {
    load("leak:spec_cache_fill\n# bogus\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_missing_file_is_an_error_naming_it_and_why) {
    char err[512], path[128], want[256];
    snprintf(path, sizeof path, "%s/absent.supp", dir);
    ck_assert_int_eq(lc_suppress_load_file(path, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot read suppression file '%s': %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_directory_is_an_error_naming_it_and_why) {
    char err[512], want[256];
    ck_assert_int_eq(lc_suppress_load_file(dir, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot read suppression file '%s': %s", dir, strerror(EISDIR));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_a_readable_file_is_no_error) {
    char err[512] = "";
    ck_assert_int_eq(lc_suppress_load_file(write_file("leak:x\n"), err, sizeof err), 0);
    ck_assert_str_eq(err, "");
}
END_TEST

/* ------------------------------------------------------------ patterns */

START_TEST(test_pattern_matches_anywhere_in_the_name) {
    ck_assert(lc_suppress_pattern_matches("cache", "make_cache_entry"));
}
END_TEST

START_TEST(test_pattern_absent_from_the_name_does_not_match) {
    ck_assert(!lc_suppress_pattern_matches("cache", "make_map_entry"));
}
END_TEST

START_TEST(test_caret_anchors_at_the_start) {
    ck_assert(lc_suppress_pattern_matches("^make", "make_cache"));
    ck_assert(!lc_suppress_pattern_matches("^make", "remake_cache"));
}
END_TEST

START_TEST(test_dollar_anchors_at_the_end) {
    ck_assert(lc_suppress_pattern_matches("cache$", "make_cache"));
    ck_assert(lc_suppress_pattern_matches("cache$", "cache_of_cache"));
    ck_assert(!lc_suppress_pattern_matches("cache$", "make_cache_entry"));
}
END_TEST

START_TEST(test_both_anchors_match_the_whole_name_only) {
    ck_assert(lc_suppress_pattern_matches("^make_cache$", "make_cache"));
    ck_assert(!lc_suppress_pattern_matches("^make_cache$", "make_cache2"));
    ck_assert(!lc_suppress_pattern_matches("^make_cache$", "remake_cache"));
}
END_TEST

START_TEST(test_star_matches_any_run_of_characters) {
    ck_assert(lc_suppress_pattern_matches("make*entry", "make_cache_entry"));
    ck_assert(lc_suppress_pattern_matches("make*entry", "makeentry"));
    ck_assert(lc_suppress_pattern_matches("^/usr/lib/*/libfoo.so*$",
                                          "/usr/lib/x86_64-linux-gnu/libfoo.so.1"));
}
END_TEST

START_TEST(test_star_still_needs_the_parts_around_it) {
    ck_assert(!lc_suppress_pattern_matches("make*entry", "make_cache_entr"));
    ck_assert(!lc_suppress_pattern_matches("^/usr/lib/*/libfoo.so*$",
                                           "/opt/lib/x86_64-linux-gnu/libfoo.so.1"));
}
END_TEST

START_TEST(test_an_unknown_name_matches_nothing) {
    ck_assert(!lc_suppress_pattern_matches("*", ""));
    ck_assert(!lc_suppress_pattern_matches("*", NULL));
    ck_assert(lc_suppress_pattern_matches("*", "x"));
}
END_TEST

/* ------------------------------------------------------------ leaked blocks */

START_TEST(test_leak_rule_matches_the_allocating_function) {
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_for_another_function_does_not_match) {
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(config_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_matches_a_caller_deeper_in_the_stack) {
    load("leak:spec_request_handler\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    ck_assert(lc_suppress_leak(config_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_matches_the_source_file) {
    load("leak:tests/test_suppress.c$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_for_another_source_file_does_not_match) {
    load("leak:tests/test_heap.c$\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_matches_the_module) {
    char rule[600];
    snprintf(rule, sizeof rule, "leak:^%s$\n", own_module());
    load(rule);
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_for_another_module_does_not_match) {
    char rule[600];
    snprintf(rule, sizeof rule, "leak:^%s.so$\n", own_module());
    load(rule);
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_leak_rule_with_wildcard_matches) {
    load("leak:^spec_*_fill$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    ck_assert(!lc_suppress_leak(config_stack(), 8));
}
END_TEST

START_TEST(test_anchored_leak_rule_does_not_match_a_longer_name) {
    load("leak:^spec_cache$\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_thread_rule_does_not_suppress_a_leaked_block) {
    load("thread:spec_cache_fill\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_block_without_a_stack_is_never_suppressed) {
    load("leak:*\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(0, 8));
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_rules_loaded_between_checks_apply_to_the_next_check) {
    load("leak:spec_config_load\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
}
END_TEST

/* ------------------------------------------------------------ leaked threads */

START_TEST(test_thread_rule_matches_the_function_a_thread_is_in) {
    load("thread:^spec_worker_wait$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_thread(thread_pcs(), 2, 0, 0));
}
END_TEST

START_TEST(test_thread_rule_matches_a_caller_on_the_thread_stack) {
    load("thread:^spec_worker_main$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_thread(thread_pcs(), 2, 0, 0));
}
END_TEST

START_TEST(test_thread_rule_for_another_function_does_not_match) {
    load("thread:^spec_config_load$\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_thread(thread_pcs(), 2, (uintptr_t)spec_worker_main, pool_stack()));
}
END_TEST

START_TEST(test_thread_rule_matches_the_start_routine) {
    load("thread:^spec_worker_main$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_thread(NULL, 0, (uintptr_t)spec_worker_main, 0));
    ck_assert(!lc_suppress_thread(NULL, 0, (uintptr_t)spec_worker_wait, 0));
}
END_TEST

START_TEST(test_thread_rule_matches_the_creation_stack) {
    load("thread:^spec_pool_start$\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_thread(NULL, 0, 0, pool_stack()));
    ck_assert(!lc_suppress_thread(NULL, 0, 0, cache_stack()));
}
END_TEST

START_TEST(test_leak_rule_does_not_suppress_a_thread) {
    load("leak:spec_worker_main\n");
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_thread(thread_pcs(), 2, (uintptr_t)spec_worker_main, 0));
}
END_TEST

START_TEST(test_matching_a_thread_without_counting_counts_nothing) {
    load("thread:spec_worker_main\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_has_thread_rules());
    ck_assert(lc_suppress_thread_matches(thread_pcs(), 2, 0, 0));
    long long objects, bytes, threads;
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(threads, 0);
    ck_assert(lc_suppress_thread(thread_pcs(), 2, 0, 0));
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(threads, 1);
}
END_TEST

START_TEST(test_leak_rules_alone_are_no_thread_rules) {
    load("leak:spec_worker_main\n");
    ck_assert(!lc_suppress_has_thread_rules());
}
END_TEST

/* ------------------------------------------------------------ counting */

START_TEST(test_suppressed_blocks_are_counted_per_pattern) {
    load("leak:spec_cache_fill\nleak:spec_config_load\nthread:spec_worker_main\n");
    lc_suppress_begin_check();
    lc_suppress_leak(cache_stack(), 32);
    lc_suppress_leak(cache_stack(), 32);
    lc_suppress_leak(config_stack(), 10);
    lc_suppress_thread(thread_pcs(), 2, 0, 0);
    long long objects, bytes, threads;
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(objects, 3);
    ck_assert_int_eq(bytes, 74);
    ck_assert_int_eq(threads, 1);
    ck_assert_str_eq(json_report(),
                     ", \"suppressed\": ["
                     "{\"pattern\": \"leak:spec_cache_fill\", \"objects\": 2, \"bytes\": 64, "
                     "\"threads\": 0}, "
                     "{\"pattern\": \"leak:spec_config_load\", \"objects\": 1, \"bytes\": 10, "
                     "\"threads\": 0}, "
                     "{\"pattern\": \"thread:spec_worker_main\", \"objects\": 0, \"bytes\": 0, "
                     "\"threads\": 1}]");
    ck_assert_str_eq(text_report(), "\nsuppressed: 3 objects (74 B), 1 thread\n"
                                    "  2 objects, 64 B: leak:spec_cache_fill\n"
                                    "  1 object, 10 B: leak:spec_config_load\n"
                                    "  1 thread: thread:spec_worker_main\n");
}
END_TEST

START_TEST(test_nothing_suppressed_reports_an_empty_list_and_no_text) {
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    lc_suppress_leak(config_stack(), 10);
    long long objects, bytes, threads;
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(objects + bytes + threads, 0);
    ck_assert_str_eq(json_report(), ", \"suppressed\": []");
    ck_assert_str_eq(text_report(), "");
}
END_TEST

START_TEST(test_a_new_check_starts_counting_from_zero) {
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    lc_suppress_begin_check();
    long long objects, bytes, threads;
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(objects, 0);
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(objects, 1);
}
END_TEST

START_TEST(test_the_innermost_matching_frame_decides_the_pattern) {
    load("leak:spec_request_handler\nleak:spec_cache_fill\n");
    lc_suppress_begin_check();
    lc_suppress_leak(cache_stack(), 8);
    ck_assert_ptr_nonnull(strstr(json_report(), "\"leak:spec_cache_fill\", \"objects\": 1"));
    ck_assert_ptr_null(strstr(json_report(), "spec_request_handler"));
}
END_TEST

START_TEST(test_a_pattern_loaded_twice_is_reported_once) {
    load("leak:spec_cache_fill\n");
    load("leak:spec_cache_fill\n");
    lc_suppress_begin_check();
    lc_suppress_leak(cache_stack(), 8);
    ck_assert_str_eq(text_report(), "\nsuppressed: 1 object (8 B)\n"
                                    "  1 object, 8 B: leak:spec_cache_fill\n");
}
END_TEST

/* A check may see a million leaked blocks from one stack: matching each
 * one again (every frame symbolized, every rule tried) would cost seconds
 * per check; the verdict for a stack is kept for the whole check. The stack
 * and the rules are made so that a full match is expensive: the rule that
 * matches is the last one, on the outermost frame. */
START_TEST(test_a_stack_shared_by_many_blocks_is_matched_once_per_check) {
    char rules[4096] = "";
    for (int i = 0; i < 40; i++) {
        size_t len = strlen(rules);
        snprintf(rules + len, sizeof rules - len, "leak:no_such_function_%d\n", i);
    }
    strcat(rules, "leak:spec_cache_fill\n");
    load(rules);
    uintptr_t pcs[24];
    for (int i = 0; i < 23; i++)
        pcs[i] = ret_in(spec_request_handler);
    pcs[23] = ret_in(spec_cache_fill);
    lc_stack_id deep = lc_stack_intern(pcs, 24);
    ck_assert_uint_ne(deep, 0);
    int blocks = RUNNING_ON_VALGRIND ? 100000 : 1000000;
    lc_suppress_begin_check();
    uint64_t start = lc_os_now_ns();
    for (int i = 0; i < blocks; i++)
        lc_suppress_leak(deep, 16);
    double seconds = (double)(lc_os_now_ns() - start) / 1e9;
    long long objects, bytes, threads;
    lc_suppress_totals(&objects, &bytes, &threads);
    ck_assert_int_eq(objects, blocks);
    ck_assert_int_eq(bytes, 16LL * blocks);
    /* Cached: a few tens of milliseconds; matched anew: tens of seconds. */
    ck_assert_msg(seconds < 5, "%d lookups took %.2f s", blocks, seconds);
}
END_TEST

/* ------------------------------------------------------------ the environment */

START_TEST(test_environment_lists_files_separated_by_colons) {
    char list[512];
    const char *a = write_file("leak:spec_cache_fill\n");
    const char *b = write_file("thread:spec_worker_main\n");
    snprintf(list, sizeof list, ":%s::%s:", a, b);
    setenv("LEAKCHECK_SUPPRESSIONS", list, 1);
    char err[512] = "";
    ck_assert_msg(lc_suppress_load_env(err, sizeof err) == 0, "%s", err);
    lc_suppress_begin_check();
    ck_assert(lc_suppress_leak(cache_stack(), 8));
    ck_assert(lc_suppress_thread(thread_pcs(), 2, 0, 0));
}
END_TEST

START_TEST(test_no_environment_loads_no_rules) {
    char err[512] = "";
    ck_assert_int_eq(lc_suppress_load_env(err, sizeof err), 0);
    lc_suppress_begin_check();
    ck_assert(!lc_suppress_leak(cache_stack(), 8));
}
END_TEST

START_TEST(test_environment_error_names_the_file_and_line) {
    const char *good = write_file("leak:spec_cache_fill\n");
    const char *bad = write_file("leak:spec_config_load\nleek:spec_cache_fill\n");
    char list[512], err[512] = "", want[512];
    snprintf(list, sizeof list, "%s:%s", good, bad);
    setenv("LEAKCHECK_SUPPRESSIONS", list, 1);
    ck_assert_int_eq(lc_suppress_load_env(err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: unknown suppression kind 'leek' (want leak or thread)", bad);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_environment_is_read_once_and_its_error_repeated) {
    const char *bad = write_file("leak\n");
    setenv("LEAKCHECK_SUPPRESSIONS", bad, 1);
    char first[512] = "", second[512] = "";
    ck_assert_int_eq(lc_suppress_load_env(first, sizeof first), -1);
    /* Fixing the file does not change the verdict of this process. */
    FILE *f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("leak:spec_cache_fill\n", f);
    fclose(f);
    ck_assert_int_eq(lc_suppress_load_env(second, sizeof second), -1);
    ck_assert_str_eq(first, second);
    ck_assert_ptr_nonnull(strstr(first, ":1: expected leak:PATTERN or thread:PATTERN"));
}
END_TEST

START_TEST(test_environment_loaded_twice_counts_once) {
    setenv("LEAKCHECK_SUPPRESSIONS", write_file("leak:spec_cache_fill\n"), 1);
    char err[512] = "";
    ck_assert_int_eq(lc_suppress_load_env(err, sizeof err), 0);
    ck_assert_int_eq(lc_suppress_load_env(err, sizeof err), 0);
    lc_suppress_begin_check();
    lc_suppress_leak(cache_stack(), 8);
    ck_assert_str_eq(text_report(), "\nsuppressed: 1 object (8 B)\n"
                                    "  1 object, 8 B: leak:spec_cache_fill\n");
}
END_TEST

/* ------------------------------------------------------------ end to end */

#define SETTLE 0.2

static lc_result check_now(void) {
    lc_result r;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .settle_seconds = SETTLE},
              &r);
    return r;
}

__attribute__((noinline)) static void *spec_keep_cache(void) {
    return malloc(48);
}

__attribute__((noinline)) static void *spec_forget_buffer(void) {
    return malloc(24);
}

START_TEST(test_check_passes_when_the_only_leak_is_suppressed) {
    load("leak:spec_keep_cache\n");
    lc_baseline();
    void *p = spec_keep_cache();
    lc_result r = check_now();
    free(p);
    ck_assert_msg(r.verdict == 0 && r.leaked_objects == 0, "expected clean:\n%s", lc_last_report());
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(),
                                 "\"suppressed\": [{\"pattern\": \"leak:spec_keep_cache\", "
                                 "\"objects\": 1, \"bytes\": 48, \"threads\": 0}]"));
}
END_TEST

START_TEST(test_check_fails_when_the_leak_is_not_suppressed) {
    load("leak:spec_other_function\n");
    lc_baseline();
    void *p = spec_keep_cache();
    lc_result r = check_now();
    free(p);
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.leaked_objects, 1);
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(), "\"suppressed\": []"));
}
END_TEST

START_TEST(test_suppressing_one_leak_leaves_the_other_reported) {
    load("leak:spec_keep_cache\n");
    lc_baseline();
    void *kept = spec_keep_cache();
    void *lost = spec_forget_buffer();
    lc_result r = check_now();
    free(kept);
    free(lost);
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.leaked_objects, 1);
    ck_assert_int_eq(r.leaked_bytes, 24);
    ck_assert_str_eq(r.sites[0].function, "spec_forget_buffer");
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "1 object, 48 B: leak:spec_keep_cache"));
}
END_TEST

/* A thread blocked reading a pipe until the test closes it. */
static atomic_int reader_started;

static void *spec_blocked_reader(void *arg) {
    int fd = *(int *)arg;
    char c;
    atomic_store(&reader_started, 1);
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

static lc_result check_with_blocked_reader(void) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    lc_baseline();
    pthread_t t;
    atomic_store(&reader_started, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, spec_blocked_reader, &fds[0]), 0);
    /* Judged once it runs its own code: before, its stack is the thread
     * library's start-up alone. */
    while (!atomic_load(&reader_started))
        sched_yield();
    lc_result r = check_now();
    close(fds[1]);
    pthread_join(t, NULL);
    close(fds[0]);
    return r;
}

START_TEST(test_check_passes_when_the_leaked_thread_is_suppressed) {
    load("thread:spec_blocked_reader\n");
    lc_result r = check_with_blocked_reader();
    ck_assert_msg(r.verdict == 0 && r.leaked_threads == 0, "expected clean:\n%s", lc_last_report());
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(), "\"leaked\": 0, \"suppressed\": 1"));
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(),
                                 "{\"pattern\": \"thread:spec_blocked_reader\", \"objects\": 0, "
                                 "\"bytes\": 0, \"threads\": 1}"));
}
END_TEST

START_TEST(test_check_fails_when_the_leaked_thread_is_not_suppressed) {
    load("thread:spec_other_function\n");
    lc_result r = check_with_blocked_reader();
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.leaked_threads, 1);
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(), "\"leaked\": 1, \"suppressed\": 0"));
}
END_TEST

START_TEST(test_a_suppressed_thread_does_not_hold_the_check_for_the_settle_window) {
    load("thread:spec_blocked_reader\n");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    lc_baseline();
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, spec_blocked_reader, &fds[0]), 0);
    uint64_t start = lc_os_now_ns();
    lc_result r;
    lc_verify(
        &(const lc_options){.struct_version = LC_OPTIONS_VERSION, .quiet = 1, .settle_seconds = 30},
        &r);
    double seconds = (double)(lc_os_now_ns() - start) / 1e9;
    close(fds[1]);
    pthread_join(t, NULL);
    close(fds[0]);
    ck_assert_int_eq(r.verdict, 0);
    ck_assert_msg(seconds < 15, "the check waited %.1f s", seconds);
}
END_TEST

START_TEST(test_malformed_environment_file_makes_the_check_an_error) {
    const char *bad = write_file("leak:spec_keep_cache\nleak:\n");
    setenv("LEAKCHECK_SUPPRESSIONS", bad, 1);
    lc_baseline();
    lc_result r = check_now();
    char want[512];
    snprintf(want, sizeof want, "%s:2: empty pattern in 'leak:'", bad);
    ck_assert_int_eq(r.verdict, -1);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), want));
}
END_TEST

START_TEST(test_well_formed_environment_file_suppresses_in_the_check) {
    setenv("LEAKCHECK_SUPPRESSIONS", write_file("leak:spec_keep_cache\n"), 1);
    lc_baseline();
    void *p = spec_keep_cache();
    lc_result r = check_now();
    free(p);
    ck_assert_msg(r.verdict == 0, "expected clean:\n%s", lc_last_report());
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *suppress_suite(void) {
    Suite *s = suite_create("suppress");
    TCase *tc = tcase_create("parsing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_comments_blank_lines_and_both_kinds_load);
    tcase_add_test(tc, test_an_empty_file_loads_and_suppresses_nothing);
    tcase_add_test(tc, test_whitespace_around_kind_and_pattern_is_trimmed);
    tcase_add_test(tc, test_a_last_line_without_newline_is_read);
    tcase_add_test(tc, test_unknown_kind_is_an_error_at_its_line);
    tcase_add_test(tc, test_other_sanitizer_kinds_are_errors);
    tcase_add_test(tc, test_empty_pattern_is_an_error_at_its_line);
    tcase_add_test(tc, test_pattern_of_anchors_only_is_an_error);
    tcase_add_test(tc, test_missing_colon_is_an_error_at_its_line);
    tcase_add_test(tc, test_a_file_with_an_error_adds_none_of_its_rules);
    tcase_add_test(tc, test_the_fixed_file_adds_its_rules);
    tcase_add_test(tc, test_missing_file_is_an_error_naming_it_and_why);
    tcase_add_test(tc, test_directory_is_an_error_naming_it_and_why);
    tcase_add_test(tc, test_a_readable_file_is_no_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("patterns");
    tcase_add_test(tc, test_pattern_matches_anywhere_in_the_name);
    tcase_add_test(tc, test_pattern_absent_from_the_name_does_not_match);
    tcase_add_test(tc, test_caret_anchors_at_the_start);
    tcase_add_test(tc, test_dollar_anchors_at_the_end);
    tcase_add_test(tc, test_both_anchors_match_the_whole_name_only);
    tcase_add_test(tc, test_star_matches_any_run_of_characters);
    tcase_add_test(tc, test_star_still_needs_the_parts_around_it);
    tcase_add_test(tc, test_an_unknown_name_matches_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("leaked blocks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_leak_rule_matches_the_allocating_function);
    tcase_add_test(tc, test_leak_rule_for_another_function_does_not_match);
    tcase_add_test(tc, test_leak_rule_matches_a_caller_deeper_in_the_stack);
    tcase_add_test(tc, test_leak_rule_matches_the_source_file);
    tcase_add_test(tc, test_leak_rule_for_another_source_file_does_not_match);
    tcase_add_test(tc, test_leak_rule_matches_the_module);
    tcase_add_test(tc, test_leak_rule_for_another_module_does_not_match);
    tcase_add_test(tc, test_leak_rule_with_wildcard_matches);
    tcase_add_test(tc, test_anchored_leak_rule_does_not_match_a_longer_name);
    tcase_add_test(tc, test_thread_rule_does_not_suppress_a_leaked_block);
    tcase_add_test(tc, test_block_without_a_stack_is_never_suppressed);
    tcase_add_test(tc, test_rules_loaded_between_checks_apply_to_the_next_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("leaked threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_thread_rule_matches_the_function_a_thread_is_in);
    tcase_add_test(tc, test_thread_rule_matches_a_caller_on_the_thread_stack);
    tcase_add_test(tc, test_thread_rule_for_another_function_does_not_match);
    tcase_add_test(tc, test_thread_rule_matches_the_start_routine);
    tcase_add_test(tc, test_thread_rule_matches_the_creation_stack);
    tcase_add_test(tc, test_leak_rule_does_not_suppress_a_thread);
    tcase_add_test(tc, test_matching_a_thread_without_counting_counts_nothing);
    tcase_add_test(tc, test_leak_rules_alone_are_no_thread_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("counting");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_suppressed_blocks_are_counted_per_pattern);
    tcase_add_test(tc, test_nothing_suppressed_reports_an_empty_list_and_no_text);
    tcase_add_test(tc, test_a_new_check_starts_counting_from_zero);
    tcase_add_test(tc, test_the_innermost_matching_frame_decides_the_pattern);
    tcase_add_test(tc, test_a_pattern_loaded_twice_is_reported_once);
    tcase_add_test(tc, test_a_stack_shared_by_many_blocks_is_matched_once_per_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("environment");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_environment_lists_files_separated_by_colons);
    tcase_add_test(tc, test_no_environment_loads_no_rules);
    tcase_add_test(tc, test_environment_error_names_the_file_and_line);
    tcase_add_test(tc, test_environment_is_read_once_and_its_error_repeated);
    tcase_add_test(tc, test_environment_loaded_twice_counts_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("checks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_check_passes_when_the_only_leak_is_suppressed);
    tcase_add_test(tc, test_check_fails_when_the_leak_is_not_suppressed);
    tcase_add_test(tc, test_suppressing_one_leak_leaves_the_other_reported);
    tcase_add_test(tc, test_check_passes_when_the_leaked_thread_is_suppressed);
    tcase_add_test(tc, test_check_fails_when_the_leaked_thread_is_not_suppressed);
    tcase_add_test(tc, test_a_suppressed_thread_does_not_hold_the_check_for_the_settle_window);
    tcase_add_test(tc, test_malformed_environment_file_makes_the_check_an_error);
    tcase_add_test(tc, test_well_formed_environment_file_suppresses_in_the_check);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suppress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
