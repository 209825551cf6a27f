/* SPDX-License-Identifier: MIT */
/* test_spans.c: the specification of the library's own allocator of small
 * blocks (harness/spans.c, LEAKCHECK_ALLOCATOR=spans).
 *
 * The allocator is the default natively; the program runs itself again
 * with LEAKCHECK_ALLOCATOR=spans when the variable asks for another, so
 * that it is on from the start (not under valgrind, which would run the
 * new program natively). Under
 * valgrind and under a sanitizer it must stay off (memcheck and the
 * sanitizer replace malloc): there the suite checks exactly that. */
#include <check.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "heap.h"
#include "leakcheck.h"
#include "sanitizer.h"
#include "spans.h"

static bool spans_expected(void) {
    return !RUNNING_ON_VALGRIND && !LC_TEST_SANITIZER;
}

/* Takes the address as a number: the test never reads the block. */
#define from_arena(p) lc_spans_owns((uintptr_t)(p)-16)

static lc_result check_now(void) {
    lc_result r;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .settle_seconds = 0.01,
                                  .budget = "bytes=0,objects=0,threads=0"},
              &r);
    return r;
}

static bool site_named(const lc_result *r, const char *fn) {
    for (int i = 0; i < r->nsites; i++)
        if (strcmp(r->sites[i].function, fn) == 0) return true;
    return false;
}

START_TEST(test_it_is_on_natively_and_off_under_valgrind_and_sanitizers) {
    void *p = malloc(24);
    ck_assert_msg(from_arena(p) == spans_expected(), "block %p, arena at %#lx (%lu bytes)", p,
                  (unsigned long)lc_spans_lo, (unsigned long)lc_spans_len);
    free(p);
}
END_TEST

START_TEST(test_a_large_block_stays_glibcs) {
    void *p = malloc(LC_SPANS_MAX);
    ck_assert(!from_arena(p));
    free(p);
}
END_TEST

START_TEST(test_usable_size_is_the_class_less_the_header) {
    if (!spans_expected()) return;
    char *p = malloc(20); /* 36 bytes asked: a 48-byte block */
    ck_assert_uint_eq(malloc_usable_size(p), 32);
    memset(p, 'x', malloc_usable_size(p));
    free(p);
}
END_TEST

START_TEST(test_realloc_keeps_the_contents_across_classes_and_into_glibc) {
    char *p = malloc(10);
    memcpy(p, "0123456789", 10);
    p = realloc(p, 500);
    ck_assert(from_arena(p) == spans_expected());
    ck_assert_mem_eq(p, "0123456789", 10);
    memset(p + 10, 'a', 490);
    p = realloc(p, 2 * LC_SPANS_MAX);
    ck_assert(!from_arena(p));
    ck_assert_mem_eq(p, "0123456789", 10);
    ck_assert_int_eq(p[499], 'a');
    p = realloc(p, 12);
    ck_assert_mem_eq(p, "0123456789", 10);
    free(p);
}
END_TEST

START_TEST(test_calloc_zeroes_a_block_used_before) {
    for (int i = 0; i < 100; i++) {
        unsigned char *p = malloc(200);
        memset(p, 0xff, 200);
        free(p);
        unsigned char *q = calloc(1, 200);
        for (int k = 0; k < 200; k++)
            ck_assert_int_eq(q[k], 0);
        free(q);
    }
}
END_TEST

/* Blocks made by one thread and freed by another, as a producer and a
 * consumer trade them: each freeing thread keeps them, and gives them to
 * the central lists past its limit. */
#define TRADED 20000
static void *traded[TRADED];
static void *free_them(void *arg) {
    (void)arg;
    for (int i = 0; i < TRADED; i++)
        free(traded[i]);
    return NULL;
}

START_TEST(test_blocks_freed_by_another_thread_are_reused_sound) {
    lc_baseline();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < TRADED; i++) {
            traded[i] = malloc(16 + (size_t)(i % 200));
            memset(traded[i], i & 0xff, 16 + (size_t)(i % 200));
        }
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, free_them, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    lc_result r = check_now();
    ck_assert_msg(r.verdict == 0, "%.2000s", lc_last_report());
}
END_TEST

static void *allocate_and_free(void *arg) {
    (void)arg;
    void *keep[64];
    for (int i = 0; i < 64; i++)
        keep[i] = malloc(40);
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}

START_TEST(test_threads_that_end_give_their_blocks_back) {
    if (!spans_expected()) return;
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, allocate_and_free, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    uintptr_t used = lc_spans_used();
    for (int i = 0; i < 500; i++) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, allocate_and_free, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    /* 500 threads that each took a cache of their own and never gave it
     * back would have carved 500 spans more. */
    ck_assert_msg(lc_spans_used() - used < 16 * 65536, "arena grew by %lu bytes",
                  (unsigned long)(lc_spans_used() - used));
}
END_TEST

/* Sizes no other test and no part of Check asks for, so that the new
 * thread's lists and the central ones hold none: the blocks are carved. */
enum { SIZE_A = 5000, SIZE_B = 6000, SIZE_C = 7000 };

static void *three_sizes_in_a_row(void *arg) {
    uintptr_t *gaps = arg;
    /* Up to twice, the first three kept: they may straddle the end of the
     * thread's span; then the second come from the span the first took. */
    char *kept[2][3];
    int made = 0;
    while (made < 2) {
        char **k = kept[made++];
        k[0] = malloc(SIZE_A), k[1] = malloc(SIZE_B), k[2] = malloc(SIZE_C);
        gaps[0] = (uintptr_t)(k[1] - k[0]);
        gaps[1] = (uintptr_t)(k[2] - k[1]);
        if (gaps[0] == lc_spans_block_size(lc_spans_request(SIZE_A)) &&
            gaps[1] == lc_spans_block_size(lc_spans_request(SIZE_B)))
            break;
    }
    while (made-- > 0)
        free(kept[made][0]), free(kept[made][1]), free(kept[made][2]);
    return NULL;
}

START_TEST(test_blocks_of_different_sizes_made_together_lie_side_by_side) {
    if (!spans_expected()) return;
    /* A new thread's blocks are carved from its span one after the other,
     * whatever their classes. */
    uintptr_t gaps[2];
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, three_sizes_in_a_row, gaps), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(gaps[0], 5120);
    ck_assert_uint_eq(gaps[1], 6144);
}
END_TEST

START_TEST(test_a_free_where_no_span_was_carved_is_ignored) {
    if (!spans_expected()) return;
    /* The arena's last 16 bytes: reserved, never carved, never mapped. */
    free((void *)(lc_spans_lo + lc_spans_len - 16));
    void *p = malloc(24);
    ck_assert(from_arena(p));
    free(p);
}
END_TEST

static __attribute__((noinline)) void *lose_a_small_block(void) {
    return malloc(48);
}

/* In a test every block new since the baseline counts, whatever holds
 * it: the pointer kept here frees it afterwards. */
START_TEST(test_a_block_left_behind_is_reported_at_its_site) {
    lc_baseline();
    void *p = lose_a_small_block();
    ck_assert(from_arena(p) == spans_expected());
    lc_result r = check_now();
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.leaked_objects, 1);
    ck_assert_msg(site_named(&r, "lose_a_small_block"), "%.2000s", lc_last_report());
    free(p);
}
END_TEST

START_TEST(test_a_freed_block_is_no_leak) {
    lc_baseline();
    free(lose_a_small_block());
    lc_result r = check_now();
    ck_assert_msg(r.verdict == 0 && r.leaked_objects == 0, "%.2000s", lc_last_report());
}
END_TEST

/* A signal handler that allocates while its thread is inside the
 * allocator gets glibc's block, and its free of one of the arena's waits
 * on a list of its own: both shown here by marking the thread inside. */
START_TEST(test_inside_the_allocator_a_request_goes_to_glibc_and_a_free_waits) {
    if (!spans_expected()) return;
    void *mine = malloc(64);
    ck_assert(from_arena(mine));
    lc_spans_busy = 1;
    void *handler = malloc(64);
    free(mine);
    lc_spans_busy = 0;
    ck_assert(!from_arena(handler));
    free(handler);
    /* The block given back while busy comes back to a later request. */
    bool again = false;
    void *got[4096];
    int n = 0;
    for (; n < 4096 && !again; n++)
        again = (got[n] = malloc(64)) == mine;
    for (int i = 0; i < n; i++)
        free(got[i]);
    ck_assert(again);
}
END_TEST

static void *volatile to_free;
static atomic_int freed;
static void *free_it(void *arg) {
    (void)arg;
    free(to_free);
    atomic_store(&freed, 1);
    return NULL;
}

START_TEST(test_another_threads_free_waits_while_a_check_holds_the_blocks) {
    if (!spans_expected()) return;
    to_free = malloc(40);
    ck_assert(from_arena(to_free));
    atomic_store(&freed, 0);
    lc_heap_lock_all();
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_it, NULL), 0);
    /* The free clears the block's live flag and then waits: the check may
     * be reading the block, which must not be handed out meanwhile. */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int while_held = atomic_load(&freed);
    lc_heap_unlock_all();
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(while_held, 0);
    ck_assert_int_eq(atomic_load(&freed), 1);
}
END_TEST

START_TEST(test_a_forked_child_allocates_and_frees) {
    void *before = malloc(100);
    pid_t pid = fork();
    if (pid == 0) {
        free(before);
        for (int i = 0; i < 10000; i++)
            free(malloc(16 + (size_t)(i % 500)));
        void *last = malloc(30);
        int status = from_arena(last) == spans_expected() ? 0 : 3;
        free(last);
        _exit(status);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    free(before);
}
END_TEST

START_TEST(test_a_block_freed_twice_is_left_alone) {
    if (!spans_expected()) return;
    void *p = malloc(72);
    void *volatile again = p;
    free(p);
    free(again); /* no live block's start any more: nothing happens */
    void *a = malloc(72), *b = malloc(72);
    ck_assert_ptr_ne(a, b);
    free(a);
    free(b);
}
END_TEST

static Suite *spans_suite(void) {
    Suite *s = suite_create("spans");
    TCase *tc = tcase_create("spans");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_it_is_on_natively_and_off_under_valgrind_and_sanitizers);
    tcase_add_test(tc, test_a_large_block_stays_glibcs);
    tcase_add_test(tc, test_usable_size_is_the_class_less_the_header);
    tcase_add_test(tc, test_realloc_keeps_the_contents_across_classes_and_into_glibc);
    tcase_add_test(tc, test_calloc_zeroes_a_block_used_before);
    tcase_add_test(tc, test_blocks_freed_by_another_thread_are_reused_sound);
    tcase_add_test(tc, test_threads_that_end_give_their_blocks_back);
    tcase_add_test(tc, test_a_block_left_behind_is_reported_at_its_site);
    tcase_add_test(tc, test_a_freed_block_is_no_leak);
    tcase_add_test(tc, test_inside_the_allocator_a_request_goes_to_glibc_and_a_free_waits);
    tcase_add_test(tc, test_a_forked_child_allocates_and_frees);
    tcase_add_test(tc, test_a_block_freed_twice_is_left_alone);
    tcase_add_test(tc, test_blocks_of_different_sizes_made_together_lie_side_by_side);
    tcase_add_test(tc, test_a_free_where_no_span_was_carved_is_ignored);
    tcase_add_test(tc, test_another_threads_free_waits_while_a_check_holds_the_blocks);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) {
    (void)argc;
    const char *asked = getenv("LEAKCHECK_ALLOCATOR");
    if (asked && strcmp(asked, "spans") != 0 && !RUNNING_ON_VALGRIND) {
        setenv("LEAKCHECK_ALLOCATOR", "spans", 1);
        execv("/proc/self/exe", argv);
        perror("test_spans: execv");
        return 2;
    }
    SRunner *sr = srunner_create(spans_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
