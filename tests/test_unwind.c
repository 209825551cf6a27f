/* SPDX-License-Identifier: MIT */
/* test_unwind.c: the specification of stack capture through code built
 * without frame pointers (harness/unwind.c, harness/unwind_rules.c).
 *
 * The fixture's functions (tests/fixtures/no_frame_pointers.c) are built as
 * the C runtime is; at their end they call `capture`, which stands where an
 * allocation interposer stands and captures the stack as one does. The first
 * walks of a path go through libunwind and teach the rule table; later
 * walks follow the learned rules and must give the very same stack, for a
 * frame of fixed size and for one sized at run time, and a rule learned in a
 * forked child serves its parent. */
#include <check.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "os.h"
#include "sanitizer.h"
#include "leakcheck.h"
#include "stacks.h"

typedef void *(*nofp_alloc_fn)(size_t);
void *nofp_leaf(nofp_alloc_fn alloc, size_t n);
void *nofp_fixed_frame(nofp_alloc_fn alloc, size_t n);
void *nofp_sized_frame(nofp_alloc_fn alloc, size_t n, size_t frame);
void *nofp_resized_frame(nofp_alloc_fn alloc, size_t n, size_t frame);
void *nofp_forked_frame(nofp_alloc_fn alloc, size_t n);
void *nofp_untaught_frame(nofp_alloc_fn alloc, size_t n);
void *nofp_locked_out_frame(nofp_alloc_fn alloc, size_t n);
typedef int (*nofp_check_fn)(void);
typedef void (*nofp_release_fn)(void *);
int nofp_hold_in_rbx(nofp_alloc_fn alloc, nofp_release_fn release, nofp_check_fn check);
int nofp_hold_in_r15(nofp_alloc_fn alloc, nofp_release_fn release, nofp_check_fn check);
int nofp_hide_from_check(nofp_alloc_fn alloc, nofp_release_fn release, nofp_check_fn check);

static uintptr_t captured[LC_MAX_DEPTH];
static int ncaptured;
/* A test that must not depend on frames other tests teach walks only as
 * deep as the frames it is about. */
static int capture_depth = 12;

/* Where malloc stands: its frame and return address start the walk. */
__attribute__((noinline)) static void *capture(size_t n) {
    (void)n;
    ncaptured = lc_unwind(captured, capture_depth, __builtin_frame_address(0),
                          (uintptr_t)__builtin_return_address(0));
    return NULL;
}

static void dwarf_walks(void) {
    capture_depth = 12;
    /* Frame-pointer walks would step over the fixture's frames (they keep
     * their caller's frame pointer): every walk here is a DWARF one. */
    lc_cfg.unwind_dwarf = true;
}

/* The stack of the last capture, interned: two captures of one path are
 * the same stack exactly when they have the same id. */
static lc_stack_id last_stack(void) {
    return ncaptured > 0 ? lc_stack_intern(captured, ncaptured) : 0;
}

static bool names(lc_stack_id id, const char *function) {
    lc_frame f;
    for (int k = 0; lc_stack_frame(id, k, &f) == 0; k++)
        if (f.function && strcmp(f.function, function) == 0) return true;
    return false;
}

/* One path's captures, from one call site, and how many of them the rules
 * walked: Check allocates in every assertion, and those walks count too,
 * so nothing of Check's runs between the two readings. */
typedef struct walks {
    lc_stack_id id[4];
    uint64_t by_rules[4];
} walks;

__attribute__((noinline)) static lc_stack_id through_fixed_frame(void) {
    nofp_fixed_frame(capture, 24);
    return last_stack();
}

__attribute__((noinline)) static lc_stack_id through_sized_frame(size_t frame) {
    nofp_sized_frame(capture, 24, frame);
    return last_stack();
}

static walks walk_fixed(int n) {
    walks w = {0};
    for (int i = 0; i < n; i++) {
        uint64_t before = lc_unwind_rules_walks();
        w.id[i] = through_fixed_frame();
        w.by_rules[i] = lc_unwind_rules_walks() - before;
    }
    return w;
}

static walks walk_sized(int n, const size_t *frames) {
    walks w = {0};
    for (int i = 0; i < n; i++) {
        uint64_t before = lc_unwind_rules_walks();
        w.id[i] = through_sized_frame(frames[i]);
        w.by_rules[i] = lc_unwind_rules_walks() - before;
    }
    return w;
}

START_TEST(test_a_dwarf_walk_names_every_caller_without_frame_pointers) {
    walks w = walk_sized(1, (size_t[]){64});
    ck_assert_uint_ne(w.id[0], 0);
    ck_assert(names(w.id[0], "nofp_leaf"));
    ck_assert(names(w.id[0], "nofp_fixed_frame"));
    ck_assert(names(w.id[0], "nofp_sized_frame"));
    ck_assert(names(w.id[0], "through_sized_frame"));
}
END_TEST

START_TEST(test_the_third_walk_of_a_path_follows_learned_rules_to_the_same_stack) {
    walks w = walk_fixed(3);
    ck_assert_uint_eq(w.by_rules[0], 0);
    ck_assert_uint_eq(w.by_rules[1], 0);
    ck_assert_uint_eq(w.by_rules[2], 1);
    ck_assert_uint_eq(w.id[1], w.id[0]);
    ck_assert_uint_eq(w.id[2], w.id[0]);
    ck_assert(names(w.id[2], "through_fixed_frame"));
}
END_TEST

START_TEST(test_a_single_walk_teaches_no_rule) {
    /* Another call site of the same functions: its own frame has been
     * stepped from once, which is no rule yet. */
    walks w = walk_fixed(2);
    uint64_t before = lc_unwind_rules_walks();
    lc_stack_id again = through_fixed_frame();
    uint64_t by_rules = lc_unwind_rules_walks() - before;
    ck_assert_uint_eq(w.by_rules[1], 0);
    ck_assert_uint_eq(by_rules, 0);
    ck_assert(names(again, "nofp_fixed_frame"));
}
END_TEST

START_TEST(test_a_frame_sized_at_run_time_is_stepped_from_its_frame_pointer) {
    walks w = walk_sized(3, (size_t[]){32, 4096, 512});
    ck_assert_uint_eq(w.by_rules[2], 1);
    ck_assert_uint_eq(w.id[1], w.id[0]);
    ck_assert_uint_eq(w.id[2], w.id[0]);
}
END_TEST

START_TEST(test_a_rule_a_later_frame_size_contradicts_is_retired_not_followed) {
    /* Twice the same size: the stack-pointer form looks right, until the
     * frame is another size. The stack is still right, and from then on
     * that frame is always libunwind's to step. Four frames deep (the leaf,
     * nofp_fixed_frame, nofp_resized_frame, this test): of the frames
     * other tests teach, the walk needs only the first two. */
    capture_depth = 4;
    lc_stack_id id[4];
    uint64_t by_rules[4];
    const size_t frames[4] = {48, 48, 2048, 1024};
    for (int i = 0; i < 4; i++) {
        uint64_t before = lc_unwind_rules_walks();
        nofp_resized_frame(capture, 24, frames[i]);
        id[i] = last_stack();
        by_rules[i] = lc_unwind_rules_walks() - before;
    }
    ck_assert_uint_eq(id[1], id[0]);
    ck_assert_uint_eq(id[2], id[0]);
    ck_assert_uint_eq(id[3], id[0]);
    ck_assert_uint_eq(by_rules[3], 0);
    ck_assert(names(id[3], "nofp_resized_frame"));
    /* Nor does a walk through it go on teaching (slower than libunwind's
     * own walk, and it can teach nothing there any more). */
    uint64_t learned = lc_unwind_learning_walks();
    nofp_resized_frame(capture, 24, 48);
    ck_assert_uint_eq(lc_unwind_learning_walks(), learned);
    ck_assert(names(last_stack(), "nofp_resized_frame"));
}
END_TEST

/* The twin: a frame no walk has stepped from yet is taught by the first. */
START_TEST(test_the_first_walk_through_a_frame_teaches_its_rule) {
    capture_depth = 3;
    uint64_t learned = lc_unwind_learning_walks();
    nofp_untaught_frame(capture, 24);
    ck_assert_uint_eq(lc_unwind_learning_walks(), learned + 1);
    ck_assert(names(last_stack(), "nofp_untaught_frame"));
}
END_TEST

/* Call sites close together, as a test of many assertions has them: each
 * case is a call of its own, so each has a return address of its own, and
 * six hundred of them lie in one or two 64 KB stretches of code. */
#define SITE(n)                                                                                    \
    case (n):                                                                                      \
        nofp_fixed_frame(capture, 24);                                                             \
        break;
#define SITES10(n)                                                                                 \
    SITE(10 * (n))                                                                                 \
    SITE(10 * (n) + 1)                                                                             \
    SITE(10 * (n) + 2) SITE(10 * (n) + 3) SITE(10 * (n) + 4) SITE(10 * (n) + 5) SITE(10 * (n) + 6) \
        SITE(10 * (n) + 7) SITE(10 * (n) + 8) SITE(10 * (n) + 9)
#define SITES100(n)                                                                                \
    SITES10(10 * (n))                                                                              \
    SITES10(10 * (n) + 1)                                                                          \
    SITES10(10 * (n) + 2) SITES10(10 * (n) + 3) SITES10(10 * (n) + 4) SITES10(10 * (n) + 5)        \
        SITES10(10 * (n) + 6) SITES10(10 * (n) + 7) SITES10(10 * (n) + 8) SITES10(10 * (n) + 9)
enum { DENSE_SITES = 600 };

__attribute__((noinline)) static void through_dense_site(int site) {
    switch (site) { SITES100(0) SITES100(1) SITES100(2) SITES100(3) SITES100(4) SITES100(5) }
}

/* More return addresses in one stretch of code than a page of the rule
 * table holds: those that do not fit there get a place elsewhere in the
 * table, and every one of them is walked by rules once taught. Four frames
 * deep (the leaf, nofp_fixed_frame, the call site, this test). */
START_TEST(test_every_call_site_of_dense_code_is_walked_by_rules_once_taught) {
    capture_depth = 4;
    int by_libunwind = 0;
    for (int site = 0; site < DENSE_SITES; site++) {
        through_dense_site(site);
        through_dense_site(site);
        uint64_t before = lc_unwind_rules_walks();
        through_dense_site(site);
        by_libunwind += lc_unwind_rules_walks() == before;
    }
    ck_assert_int_eq(by_libunwind, 0);
}
END_TEST

/* Three frames: the leaf, nofp_forked_frame and this one. Stepping from
 * nofp_forked_frame needs its rule, which only a forked child teaches. */
__attribute__((noinline)) static uint64_t walk_forked_frame(int times, lc_stack_id *id) {
    uint64_t before = lc_unwind_rules_walks();
    for (int i = 0; i < times; i++) {
        nofp_forked_frame(capture, 40);
        *id = last_stack();
    }
    return lc_unwind_rules_walks() - before;
}

START_TEST(test_what_a_forked_child_learns_its_parent_walks_with) {
    capture_depth = 3;
    lc_stack_id id = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) _exit(walk_forked_frame(2, &id) == 0 ? 0 : 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(walk_forked_frame(1, &id), 1);
    ck_assert(names(id, "nofp_forked_frame"));
    ck_assert(names(id, "walk_forked_frame"));
}
END_TEST

/* ------------------------------------------------------------ the program's */

/* A thread inside dl_iterate_phdr holds the dynamic linker's lock for as
 * long as its callback runs, and libunwind takes that lock to find unwind
 * tables: an allocation whose walk needs libunwind must not wait for the
 * callback (glibc's malloc never does). Nothing of Check's runs while the
 * lock is held: its assertions allocate, through frames of their own. */
struct linker_lock_holder {
    atomic_int inside, release;
};

static int hold_inside_walk(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)info, (void)size;
    struct linker_lock_holder *h = arg;
    atomic_store(&h->inside, 1);
    for (int ms = 0; ms < 10000 && !atomic_load(&h->release); ms++)
        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
    atomic_store(&h->inside, 0);
    return 1;
}

static void *hold_linker_lock(void *arg) {
    dl_iterate_phdr(hold_inside_walk, arg);
    return NULL;
}

START_TEST(test_a_walk_does_not_wait_for_a_thread_holding_the_linker_lock) {
    static struct linker_lock_holder holder;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, hold_linker_lock, &holder), 0);
    while (!atomic_load(&holder.inside))
        sched_yield();
    nofp_locked_out_frame(capture, 24); /* an untaught frame: libunwind's */
    bool waited = !atomic_load(&holder.inside);
    atomic_store(&holder.release, 1);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(!waited, "the walk waited for the holder's callback to end");
    ck_assert_int_ge(ncaptured, 1);
    ck_assert_ptr_nonnull(lc_os_pc_in_code(captured[0]) ? (void *)captured[0] : NULL);
}
END_TEST

/* libunwind's unw_backtrace takes a pthread key for its per-thread cache on
 * its first call: the library walks with unw_step alone, so every one of
 * the PTHREAD_KEYS_MAX keys stays the program's, after DWARF walks too.
 * (Built with a sanitizer, its runtime takes one of its own.) */
#if !LC_TEST_SANITIZER
START_TEST(test_the_program_can_take_every_thread_specific_key) {
    for (int i = 0; i < 3; i++)
        nofp_untaught_frame(capture, 16);
    ck_assert_int_gt(ncaptured, 2);
    static pthread_key_t keys[PTHREAD_KEYS_MAX + 1];
    int n = 0;
    while (n <= PTHREAD_KEYS_MAX && pthread_key_create(&keys[n], NULL) == 0)
        n++;
    for (int i = 0; i < n; i++)
        pthread_key_delete(keys[i]);
    ck_assert_int_eq(n, PTHREAD_KEYS_MAX);
}
END_TEST
#endif

/* ------------------------------------------------------------ registers */

/* How many blocks new since the baseline (taken just before the fixture
 * runs) nothing reaches: the check counts every new block, and its class
 * says whether a register of the checking thread still held it. */
static lc_result verdict; /* not on the stack: dead words of the fixture's
                           * calls lie where a frame this size would be */
static int unreachable_new_blocks(void) {
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .settle_seconds = 0.01},
              &verdict);
    return (int)verdict.unreachable_objects;
}

#if defined(__x86_64__)
/* A register the check's entry saves in its frame, and one it may leave
 * alone: either way the value the program keeps there is a root. */
START_TEST(test_a_block_held_only_in_rbx_across_the_check_is_reachable) {
    lc_baseline();
    ck_assert_int_eq(nofp_hold_in_rbx(malloc, free, unreachable_new_blocks), 0);
}
END_TEST

START_TEST(test_a_block_held_only_in_r15_across_the_check_is_reachable) {
    lc_baseline();
    ck_assert_int_eq(nofp_hold_in_r15(malloc, free, unreachable_new_blocks), 0);
}
END_TEST
#endif

START_TEST(test_a_block_held_nowhere_across_the_check_is_unreachable) {
    lc_baseline();
    ck_assert_int_eq(nofp_hide_from_check(malloc, free, unreachable_new_blocks), 1);
}
END_TEST

static Suite *unwind_suite(void) {
    Suite *s = suite_create("unwind");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, dwarf_walks, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_a_dwarf_walk_names_every_caller_without_frame_pointers);
    tcase_add_test(tc, test_the_third_walk_of_a_path_follows_learned_rules_to_the_same_stack);
    tcase_add_test(tc, test_a_single_walk_teaches_no_rule);
    tcase_add_test(tc, test_a_frame_sized_at_run_time_is_stepped_from_its_frame_pointer);
    tcase_add_test(tc, test_a_rule_a_later_frame_size_contradicts_is_retired_not_followed);
    tcase_add_test(tc, test_the_first_walk_through_a_frame_teaches_its_rule);
    tcase_add_test(tc, test_what_a_forked_child_learns_its_parent_walks_with);
    tcase_add_test(tc, test_every_call_site_of_dense_code_is_walked_by_rules_once_taught);
    suite_add_tcase(s, tc);

#if !LC_TEST_SANITIZER
    tc = tcase_create("the program's");
    tcase_add_checked_fixture(tc, dwarf_walks, NULL);
    tcase_add_test(tc, test_the_program_can_take_every_thread_specific_key);
    suite_add_tcase(s, tc);
#endif

    tc = tcase_create("the linker's lock");
    tcase_add_checked_fixture(tc, dwarf_walks, NULL);
    tcase_add_test(tc, test_a_walk_does_not_wait_for_a_thread_holding_the_linker_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("registers");
#if defined(__x86_64__)
    tcase_add_test(tc, test_a_block_held_only_in_rbx_across_the_check_is_reachable);
    tcase_add_test(tc, test_a_block_held_only_in_r15_across_the_check_is_reachable);
#endif
    tcase_add_test(tc, test_a_block_held_nowhere_across_the_check_is_unreachable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(unwind_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
