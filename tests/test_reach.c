/* SPDX-License-Identifier: MIT */
/* test_reach.c: the specification of reachability, retention paths and the
 * direct/indirect split, in test mode (LC_VERIFY_NONE and lc_verify).
 *
 * Each test builds one shape of references, checks it, and reads the JSON
 * report: the class of every leaked site, the lost split, and the path the
 * report shows from a root to the block. Every detection test has a clean
 * twin: the same shape with the references dropped or the blocks freed.
 * Pointers that must not be found are kept disguised and the stack below
 * the test is scrubbed, so a stale copy cannot make a lost block look held. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "leakcheck.h"

#define DISGUISE ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

/* The result lives in static storage: on the stack its bytes would be part
 * of the frames the check scans, still holding addresses that earlier
 * calls left there, which would count as roots. */
static lc_result result;

static const lc_result *check_now_(void) {
    memset(&result, 0, sizeof result);
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .settle_seconds = 0.01},
              &result);
    return &result;
}

static void scrub_stack(void) {
    volatile char wipe[16384];
    memset((char *)wipe, 0, sizeof wipe);
}

/* Wiped first: the check's own frame will lie where earlier calls left
 * addresses (in instrumented builds, in its redzones too). */
#define check_now() (scrub_stack(), check_now_())

static const char *json(void) {
    return lc_last_report_json();
}

#define ASSERT_JSON_HAS(text)                                                                      \
    ck_assert_msg(strstr(json(), text) != NULL, "no %s in:\n%s", text, lc_last_report())
#define ASSERT_JSON_LACKS(text)                                                                    \
    ck_assert_msg(strstr(json(), text) == NULL, "unexpected %s in:\n%s", text, lc_last_report())

/* ------------------------------------------------------------ globals */

struct holder {
    long tag;
    void *child;
};
static struct holder *registry;

static void fill_registry(void) {
    registry = calloc(1, sizeof *registry);
    registry->child = malloc(40);
}

static void empty_registry(void) {
    free(registry->child);
    free(registry);
    registry = NULL;
}

START_TEST(test_reachable_leak_path_starts_at_the_named_global) {
    lc_baseline();
    fill_registry();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 2);
    ASSERT_JSON_HAS("\"path\": [{\"kind\": \"global\", \"name\": \"registry\", \"site\": "
                    "{\"function\": null, \"file\": \"tests/test_reach.c\"");
    /* The child is reached through the holder, its pointer at offset 8. */
    ASSERT_JSON_HAS("{\"kind\": \"block\", \"name\": \"16-byte block\", \"site\": {\"function\": "
                    "\"fill_registry\"");
    ASSERT_JSON_HAS("\"offset\": 8}");
    empty_registry();
}
END_TEST

START_TEST(test_freed_registry_shows_no_path) {
    lc_baseline();
    fill_registry();
    empty_registry();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->verdict, 0);
    ASSERT_JSON_LACKS("\"path\"");
}
END_TEST

/* ------------------------------------------------------------ interior pointers */

static char *interior;

START_TEST(test_interior_pointer_from_a_global_keeps_a_block_reachable) {
    lc_baseline();
    interior = (char *)malloc(64) + 8;
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "reachable");
    ASSERT_JSON_HAS("\"name\": \"interior\"");
    free(interior - 8);
    interior = NULL;
}
END_TEST

static uintptr_t hidden;

static void lose_with_interior_pointer_hidden(void) {
    char *p = malloc(64);
    hidden = (uintptr_t)p ^ DISGUISE;
    memset(&p, 0, sizeof p);
}

START_TEST(test_block_without_interior_pointer_is_unreachable) {
    lc_baseline();
    lose_with_interior_pointer_hidden();
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "unreachable");
    ASSERT_JSON_LACKS("\"path\"");
    free((void *)(hidden ^ DISGUISE));
}
END_TEST

/* ------------------------------------------------------------ direct and indirect */

static uintptr_t chain_head;

/* head -> middle -> tail, and nothing points to head. */
static void lose_a_chain(void) {
    void **tail = calloc(1, 24);
    void **middle = calloc(1, 24);
    void **head = calloc(1, 24);
    middle[0] = tail;
    head[0] = middle;
    chain_head = (uintptr_t)head ^ DISGUISE;
    memset(&head, 0, sizeof head);
    memset(&middle, 0, sizeof middle);
    memset(&tail, 0, sizeof tail);
}

static void free_chain(void) {
    void **head = (void **)(chain_head ^ DISGUISE);
    void **middle = head[0];
    free(middle[0]);
    free(middle);
    free(head);
}

START_TEST(test_blocks_only_lost_blocks_point_to_are_indirect) {
    lc_baseline();
    lose_a_chain();
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->unreachable_objects, 3);
    ASSERT_JSON_HAS("\"direct_objects\": 1, \"direct_bytes\": 24, \"indirect_objects\": 2, "
                    "\"indirect_bytes\": 48");
    ASSERT_JSON_HAS("\"lost\": \"indirect\"");
    free_chain();
}
END_TEST

START_TEST(test_chain_held_by_a_global_is_not_lost) {
    lc_baseline();
    lose_a_chain();
    registry = calloc(1, sizeof *registry);
    registry->child = (void *)(chain_head ^ DISGUISE);
    const lc_result *r = check_now();
    ck_assert_int_eq(r->unreachable_objects, 0);
    ASSERT_JSON_HAS("\"direct_objects\": 0, \"direct_bytes\": 0, \"indirect_objects\": 0");
    free_chain();
    free(registry);
    registry = NULL;
}
END_TEST

static uintptr_t cycle_a;

static void lose_a_cycle(void) {
    void **a = calloc(1, 32), **b = calloc(1, 48);
    a[0] = b;
    b[0] = a;
    cycle_a = (uintptr_t)a ^ DISGUISE;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
}

START_TEST(test_lost_cycle_has_one_direct_block) {
    lc_baseline();
    lose_a_cycle();
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->unreachable_objects, 2);
    ASSERT_JSON_HAS("\"direct_objects\": 1");
    ASSERT_JSON_HAS("\"indirect_objects\": 1");
    void **a = (void **)(cycle_a ^ DISGUISE);
    free(a[0]);
    free(a);
}
END_TEST

START_TEST(test_broken_cycle_freed_is_clean) {
    lc_baseline();
    lose_a_cycle();
    void **a = (void **)(cycle_a ^ DISGUISE);
    free(a[0]);
    free(a);
    const lc_result *r = check_now();
    ck_assert_int_eq(r->verdict, 0);
    ck_assert_int_eq(r->unreachable_objects, 0);
}
END_TEST

/* ------------------------------------------------------------ thread-local storage */

static __thread void *tls_slot;

START_TEST(test_thread_local_pointer_keeps_a_block_reachable) {
    lc_baseline();
    tls_slot = malloc(56);
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "reachable");
    ASSERT_JSON_HAS("{\"kind\": \"tls\", \"name\": \"tls_slot\"");
    free(tls_slot);
    tls_slot = NULL;
}
END_TEST

START_TEST(test_thread_local_pointer_cleared_leaves_the_block_lost) {
    lc_baseline();
    tls_slot = malloc(56);
    hidden = (uintptr_t)tls_slot ^ DISGUISE;
    tls_slot = NULL;
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "unreachable");
    free((void *)(hidden ^ DISGUISE));
}
END_TEST

/* ------------------------------------------------------------ threads */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int release, holding;

static void *hold_block_until_released(void *arg) {
    void *volatile job = malloc(300);
    (void)arg;
    pthread_mutex_lock(&mu);
    holding = 1;
    pthread_cond_broadcast(&cv);
    while (!release)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    free(job);
    return NULL;
}

static void let_go(pthread_t t) {
    pthread_mutex_lock(&mu);
    release = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    release = 0;
    holding = 0;
}

static void wait_until_holding(void) {
    pthread_mutex_lock(&mu);
    while (!holding)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

START_TEST(test_block_held_by_a_leaked_thread_names_thread_and_frame) {
    lc_baseline();
    pthread_t t;
    pthread_create(&t, NULL, hold_block_until_released, NULL);
    wait_until_holding();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_threads, 1);
    ASSERT_JSON_HAS("\"class\": \"thread\"");
    ASSERT_JSON_HAS("\"path\": [{\"kind\": \"thread\", \"name\": \"thread ");
    ASSERT_JSON_HAS("\"site\": {\"function\": \"hold_block_until_released\"");
    ASSERT_JSON_HAS("\"retained_bytes\": 300");
    let_go(t);
}
END_TEST

START_TEST(test_thread_that_frees_its_block_and_is_joined_leaves_nothing) {
    lc_baseline();
    pthread_t t;
    release = 1;
    pthread_create(&t, NULL, hold_block_until_released, NULL);
    pthread_join(t, NULL);
    release = 0;
    const lc_result *r = check_now();
    ck_assert_int_eq(r->verdict, 0);
    ASSERT_JSON_LACKS("\"class\": \"thread\"");
}
END_TEST

/* A thread started before the baseline is not leaked; a block it holds is
 * reachable through it, and the path says it is alive. */
static void *volatile pool_job;

static void *pool_worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!release) {
        void *volatile mine = pool_job;
        if (mine) pool_job = NULL;
        pthread_cond_wait(&cv, &mu);
        if (release) free(mine);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

START_TEST(test_block_held_by_a_live_thread_from_before_the_baseline_is_reachable) {
    pthread_t t;
    pthread_create(&t, NULL, pool_worker, NULL);
    lc_baseline();
    pthread_mutex_lock(&mu);
    pool_job = malloc(88);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    /* The worker takes the job off the global into its own frame. */
    while (pool_job)
        sched_yield();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_threads, 0);
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "reachable");
    ASSERT_JSON_HAS("[alive]");
    let_go(t);
}
END_TEST

START_TEST(test_live_thread_from_before_the_baseline_holding_nothing_is_clean) {
    pthread_t t;
    pthread_create(&t, NULL, pool_worker, NULL);
    lc_baseline();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->verdict, 0);
    let_go(t);
}
END_TEST

/* ------------------------------------------------------------ watched objects */

START_TEST(test_watched_object_report_shows_what_holds_it) {
    lc_baseline();
    fill_registry();
    lc_watch(registry->child, "request buffer");
    const lc_result *r = check_now();
    ck_assert_int_eq(r->watched_live, 1);
    ASSERT_JSON_HAS("{\"label\": \"request buffer\", \"bytes\": 40, \"path\": [{\"kind\": "
                    "\"global\", \"name\": \"registry\"");
    ck_assert_msg(strstr(lc_last_report(), "global `registry`") != NULL, "%s", lc_last_report());
    empty_registry();
}
END_TEST

START_TEST(test_watched_object_freed_shows_no_path) {
    lc_baseline();
    fill_registry();
    lc_watch(registry->child, "request buffer");
    empty_registry();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->watched_live, 0);
    ck_assert_int_eq(r->verdict, 0);
    ASSERT_JSON_LACKS("request buffer");
}
END_TEST

/* ------------------------------------------------------------ long chains */

struct link {
    struct link *next;
    void *payload;
};
static struct link *list_head;

static void *make_payload(void) {
    return malloc(72);
}

/* A list of n links whose last link holds a payload. */
static void build_list(int n) {
    for (int i = 0; i < n; i++) {
        struct link *l = calloc(1, sizeof *l);
        l->next = list_head;
        list_head = l;
        if (i == 0) l->payload = make_payload();
    }
}

static void free_list(void) {
    while (list_head) {
        struct link *next = list_head->next;
        free(list_head->payload);
        free(list_head);
        list_head = next;
    }
}

START_TEST(test_path_through_a_long_list_keeps_root_and_nearest_holders) {
    lc_baseline();
    build_list(100);
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 101);
    ASSERT_JSON_HAS("\"name\": \"list_head\", \"site\": {\"function\": null, \"file\": "
                    "\"tests/test_reach.c\"");
    ASSERT_JSON_HAS("\"blocks_left_out_after\": 77");
    free_list();
}
END_TEST

START_TEST(test_short_list_path_leaves_nothing_out) {
    lc_baseline();
    build_list(3);
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 4);
    ASSERT_JSON_HAS("\"name\": \"list_head\"");
    ASSERT_JSON_LACKS("blocks_left_out_after");
    free_list();
}
END_TEST

/* ------------------------------------------------------------ registered regions */

/* An arena the library knows nothing of, holding the only pointer. */
static void **map_arena(void) {
    void **arena = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(arena, MAP_FAILED);
    arena[3] = malloc(120);
    return arena;
}

START_TEST(test_block_held_by_a_registered_region_is_reachable_through_it) {
    lc_baseline();
    void **arena = map_arena();
    ck_assert_int_eq(lc_root_register(arena, 4096, "session arena"), 0);
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "reachable");
    ASSERT_JSON_HAS("{\"kind\": \"region\", \"name\": \"session arena\", \"site\": null, "
                    "\"offset\": 24}");
    ck_assert_int_eq(lc_root_unregister(arena), 0);
    free(arena[3]);
    munmap(arena, 4096);
}
END_TEST

START_TEST(test_block_held_by_an_unregistered_mapping_is_reachable_from_it) {
    lc_baseline();
    void **arena = map_arena();
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "reachable");
    ASSERT_JSON_HAS("{\"kind\": \"mapping\", \"name\": \"anonymous mapping at 0x");
    free(arena[3]);
    munmap(arena, 4096);
}
END_TEST

START_TEST(test_block_held_by_an_unmapped_region_is_lost) {
    lc_baseline();
    void **arena = map_arena();
    hidden = (uintptr_t)arena[3] ^ DISGUISE;
    munmap(arena, 4096);
    arena = NULL;
    scrub_stack();
    const lc_result *r = check_now();
    ck_assert_int_eq(r->leaked_objects, 1);
    ck_assert_str_eq(r->sites[0].klass, "unreachable");
    free((void *)(hidden ^ DISGUISE));
}
END_TEST

/* A registered region in a page that cannot be read (PROT_NONE since),
 * shorter than the page: the scan skips the page it cannot read, which
 * takes it past the region's end, and must stop there (it once went on
 * through the whole address space). The block only the unreadable page
 * points to is lost. */
START_TEST(test_a_registered_region_that_cannot_be_read_is_skipped) {
    lc_baseline();
    void **arena = map_arena();
    hidden = (uintptr_t)arena[3] ^ DISGUISE;
    ck_assert_int_eq(lc_root_register(&arena[2], 2 * sizeof(void *), "unreadable"), 0);
    ck_assert_int_eq(mprotect(arena, 4096, PROT_NONE), 0);
    scrub_stack();
    const lc_result *r = check_now();
    lc_root_unregister(&arena[2]);
    munmap(arena, 4096);
    ck_assert_int_eq(r->verdict, 1);
    ck_assert_int_eq(r->leaked_objects, 1);
    free((void *)(hidden ^ DISGUISE));
}
END_TEST

START_TEST(test_unregistering_an_unknown_region_is_an_error) {
    int x = 0;
    ck_assert_int_eq(lc_root_unregister(&x), -1);
    ck_assert_int_eq(lc_root_register(NULL, 8, "nothing"), -1);
    ck_assert_int_eq(lc_root_register(&x, sizeof x, "x"), 0);
    ck_assert_int_eq(lc_root_unregister(&x), 0);
}
END_TEST

static Suite *reach_suite(void) {
    Suite *s = suite_create("reach");
    TCase *tc = tcase_create("reachability");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reachable_leak_path_starts_at_the_named_global);
    tcase_add_test(tc, test_freed_registry_shows_no_path);
    tcase_add_test(tc, test_interior_pointer_from_a_global_keeps_a_block_reachable);
    tcase_add_test(tc, test_block_without_interior_pointer_is_unreachable);
    tcase_add_test(tc, test_blocks_only_lost_blocks_point_to_are_indirect);
    tcase_add_test(tc, test_chain_held_by_a_global_is_not_lost);
    tcase_add_test(tc, test_lost_cycle_has_one_direct_block);
    tcase_add_test(tc, test_broken_cycle_freed_is_clean);
    tcase_add_test(tc, test_thread_local_pointer_keeps_a_block_reachable);
    tcase_add_test(tc, test_thread_local_pointer_cleared_leaves_the_block_lost);
    tcase_add_test(tc, test_block_held_by_a_leaked_thread_names_thread_and_frame);
    tcase_add_test(tc, test_thread_that_frees_its_block_and_is_joined_leaves_nothing);
    tcase_add_test(tc, test_block_held_by_a_live_thread_from_before_the_baseline_is_reachable);
    tcase_add_test(tc, test_live_thread_from_before_the_baseline_holding_nothing_is_clean);
    tcase_add_test(tc, test_watched_object_report_shows_what_holds_it);
    tcase_add_test(tc, test_watched_object_freed_shows_no_path);
    tcase_add_test(tc, test_path_through_a_long_list_keeps_root_and_nearest_holders);
    tcase_add_test(tc, test_short_list_path_leaves_nothing_out);
    tcase_add_test(tc, test_block_held_by_a_registered_region_is_reachable_through_it);
    tcase_add_test(tc, test_block_held_by_an_unregistered_mapping_is_reachable_from_it);
    tcase_add_test(tc, test_block_held_by_an_unmapped_region_is_lost);
    tcase_add_test(tc, test_a_registered_region_that_cannot_be_read_is_skipped);
    tcase_add_test(tc, test_unregistering_an_unknown_region_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(reach_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
