/* SPDX-License-Identifier: MIT */
/* test_fault.c: the specification of allocation-failure injection and the
 * fault sweep.
 *
 * Every test has a twin: the same code with the behaviour switched off or
 * the bug fixed. Injection is armed only around the allocations under test
 * and disarmed before any assertion, so Check's own allocations never fail.
 * The sweeps run their code in forked children that are killed once they
 * answered, so what the leaky twin leaks on purpose never reaches valgrind's
 * leak search. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "core.h"
#include "fault.h"
#include "leakcheck.h"

#define NALLOC 5

/* Allocates NALLOC blocks with injection armed as asked, then disarms and
 * records which ones failed and with which errno. */
static void allocate_armed(long n, int persistent, void *out[NALLOC], int err[NALLOC]) {
    lc_fault_inject(n, persistent);
    for (int i = 0; i < NALLOC; i++) {
        errno = 0;
        out[i] = malloc(32);
        err[i] = errno;
    }
    lc_fault_inject(0, 0);
}

static void free_all(void *p[NALLOC]) {
    for (int i = 0; i < NALLOC; i++)
        free(p[i]);
}

/* ------------------------------------------------------------ injection */

START_TEST(test_nth_allocation_fails_with_enomem_and_the_others_succeed) {
    void *p[NALLOC];
    int err[NALLOC];
    allocate_armed(3, 0, p, err);
    for (int i = 0; i < NALLOC; i++) {
        if (i == 2) {
            ck_assert_ptr_null(p[i]);
            ck_assert_int_eq(err[i], ENOMEM);
        } else {
            ck_assert_ptr_nonnull(p[i]);
        }
    }
    ck_assert_int_eq(lc_fault_hits(), 1);
    free_all(p);
}
END_TEST

START_TEST(test_disarmed_injection_fails_nothing) {
    void *p[NALLOC];
    int err[NALLOC];
    allocate_armed(0, 0, p, err);
    for (int i = 0; i < NALLOC; i++)
        ck_assert_ptr_nonnull(p[i]);
    free_all(p);
}
END_TEST

START_TEST(test_persistent_mode_fails_every_allocation_from_the_nth_on) {
    void *p[NALLOC];
    int err[NALLOC];
    allocate_armed(2, 1, p, err);
    ck_assert_ptr_nonnull(p[0]);
    for (int i = 1; i < NALLOC; i++) {
        ck_assert_ptr_null(p[i]);
        ck_assert_int_eq(err[i], ENOMEM);
    }
    ck_assert_int_eq(lc_fault_hits(), NALLOC - 1);
    free_all(p);
}
END_TEST

START_TEST(test_single_mode_fails_only_the_nth) {
    void *p[NALLOC];
    int err[NALLOC];
    allocate_armed(2, 0, p, err);
    for (int i = 0; i < NALLOC; i++)
        ck_assert(i == 1 ? p[i] == NULL : p[i] != NULL);
    free_all(p);
}
END_TEST

START_TEST(test_env_n_plus_arms_persistent_mode_at_the_baseline) {
    setenv("LEAKCHECK_FAIL_ALLOC", "2+", 1);
    lc_baseline();
    void *a = malloc(8), *b = malloc(8), *c = malloc(8);
    lc_fault_inject(0, 0);
    unsetenv("LEAKCHECK_FAIL_ALLOC");
    ck_assert(a && !b && !c);
    free(a);
}
END_TEST

START_TEST(test_env_n_arms_single_mode_at_the_baseline) {
    setenv("LEAKCHECK_FAIL_ALLOC", "2", 1);
    lc_baseline();
    void *a = malloc(8), *b = malloc(8), *c = malloc(8);
    lc_fault_inject(0, 0);
    unsetenv("LEAKCHECK_FAIL_ALLOC");
    ck_assert(a && !b && c);
    free(a);
    free(c);
}
END_TEST

/* A forked child's baseline is the fork's: it arms the injection the
 * variable asked for in the parent when it forked. Returns whether the
 * child's first allocation failed. */
static bool forked_childs_first_allocation_fails(bool set_at_fork) {
    if (set_at_fork) setenv("LEAKCHECK_FAIL_ALLOC", "1", 1);
    pid_t pid = fork();
    if (pid == 0) {
        void *p = malloc(8);
        lc_fault_inject(0, 0);
        _exit(p == NULL ? 10 : 11);
    }
    unsetenv("LEAKCHECK_FAIL_ALLOC");
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status) == 10;
}

START_TEST(test_a_forked_child_arms_the_injection_set_at_the_fork) {
    ck_assert(forked_childs_first_allocation_fails(true));
}
END_TEST

START_TEST(test_a_forked_child_fails_nothing_when_unset_at_the_fork) {
    ck_assert(!forked_childs_first_allocation_fails(false));
}
END_TEST

START_TEST(test_posix_memalign_and_realloc_fail_cleanly) {
    void *old = malloc(16);
    memset(old, 7, 16);
    void *aligned = NULL;
    lc_fault_inject(1, 1);
    int rc = posix_memalign(&aligned, 64, 64);
    errno = 0;
    void *grown = realloc(old, 4096);
    int realloc_err = errno;
    lc_fault_inject(0, 0);
    ck_assert_int_eq(rc, ENOMEM);
    ck_assert_ptr_null(aligned);
    ck_assert_ptr_null(grown);
    ck_assert_int_eq(realloc_err, ENOMEM);
    ck_assert_int_eq(((unsigned char *)old)[15], 7); /* the old block is intact */
    free(old);
}
END_TEST

START_TEST(test_posix_memalign_and_realloc_succeed_when_disarmed) {
    void *old = malloc(16);
    void *aligned = NULL;
    int rc = posix_memalign(&aligned, 64, 64);
    void *grown = realloc(old, 4096);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(aligned);
    ck_assert_ptr_nonnull(grown);
    free(aligned);
    free(grown);
}
END_TEST

START_TEST(test_library_allocations_neither_fail_nor_count) {
    lc_fault_inject(1, 0);
    lc_self_enter();
    void *own = malloc(64);
    lc_self_leave();
    void *program = malloc(64);
    lc_fault_inject(0, 0);
    ck_assert_ptr_nonnull(own);
    ck_assert_ptr_null(program); /* the first of the program's own */
    lc_self_enter();
    free(own);
    lc_self_leave();
}
END_TEST

START_TEST(test_program_allocations_count) {
    lc_fault_inject(2, 0);
    void *first = malloc(64);
    void *second = malloc(64);
    lc_fault_inject(0, 0);
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(second);
    free(first);
}
END_TEST

static __attribute__((noinline)) void *alloc_in_scope(void) {
    return malloc(48);
}
static __attribute__((noinline)) void *alloc_outside_scope(void) {
    return malloc(48);
}

START_TEST(test_scope_counts_only_allocations_under_the_function) {
    ck_assert_int_eq(lc_fault_scope("alloc_in_scope"), 0);
    lc_fault_inject(1, 0);
    void *outside = alloc_outside_scope();
    void *inside = alloc_in_scope();
    lc_fault_inject(0, 0);
    lc_fault_scope(NULL);
    ck_assert_ptr_nonnull(outside);
    ck_assert_ptr_null(inside);
    free(outside);
}
END_TEST

START_TEST(test_without_scope_every_allocation_counts) {
    lc_fault_inject(1, 0);
    void *outside = alloc_outside_scope();
    void *inside = alloc_in_scope();
    lc_fault_inject(0, 0);
    ck_assert_ptr_null(outside);
    ck_assert_ptr_nonnull(inside);
    free(inside);
}
END_TEST

/* ---------------------------------------------------------------- sweep */

typedef struct pair {
    char *a, *b;
} pair;

/* The bug under test: when b cannot be had, a is forgotten. */
static __attribute__((noinline)) int pair_make_leaky(pair *p) {
    p->a = malloc(16);
    if (!p->a) return -1;
    p->b = malloc(32);
    if (!p->b) return -1;
    return 0;
}

static __attribute__((noinline)) int pair_make_fixed(pair *p) {
    p->a = malloc(16);
    if (!p->a) return -1;
    p->b = malloc(32);
    if (!p->b) {
        free(p->a);
        return -1;
    }
    return 0;
}

static void use_pair(void *arg) {
    pair p;
    int (*make)(pair *) = (int (*)(pair *))arg;
    if (make(&p) == 0) {
        free(p.a);
        free(p.b);
    }
}

static const lc_fault_sweep_options quiet_sweep = {.quiet = 1, .settle_seconds = 0.01};

START_TEST(test_sweep_finds_the_leaky_error_path_with_the_failed_allocation) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(use_pair, (void *)pair_make_leaky, &quiet_sweep, &r);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(r.crashes, 0);
    /* Allocation 2 (b) failing leaks a; runs 1, 2, 3. No run allocates
     * after its failure, so the persistent pass would repeat them all. */
    ck_assert_int_eq(r.leaks, 1);
    ck_assert_int_eq(r.runs, 3);
    ck_assert_uint_eq(r.npoints, 1);
    for (size_t i = 0; i < r.npoints; i++) {
        const lc_fault_point *p = &r.points[i];
        ck_assert_int_eq(p->n, 2);
        ck_assert_int_eq(p->persistent, 0);
        ck_assert_int_eq(p->leaked, 1);
        ck_assert_int_eq(p->leaked_objects, 1);
        ck_assert_str_eq(p->function, "pair_make_leaky");
        ck_assert_msg(strstr(p->stack, "pair_make_leaky") != NULL, "stack:\n%s", p->stack);
        ck_assert_msg(strstr(p->report, "pair_make_leaky") != NULL, "report:\n%s", p->report);
    }
    lc_fault_sweep_result_free(&r);
}
END_TEST

START_TEST(test_sweep_of_the_fixed_twin_is_clean) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(use_pair, (void *)pair_make_fixed, &quiet_sweep, &r);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r.leaks, 0);
    ck_assert_int_eq(r.crashes, 0);
    ck_assert_uint_eq(r.npoints, 0);
    ck_assert_int_eq(r.runs, 3);
    lc_fault_sweep_result_free(&r);
}
END_TEST

/* The bug shows only when two allocations fail: b and c are both tried,
 * and when neither could be had, a is forgotten. */
static __attribute__((noinline)) void triple_leaky(void *arg) {
    (void)arg;
    char *a = malloc(16);
    if (!a) return;
    char *b = malloc(32), *c = malloc(32);
    if (!b && !c) return;
    free(b);
    free(c);
    free(a);
}

static __attribute__((noinline)) void triple_fixed(void *arg) {
    (void)arg;
    char *a = malloc(16);
    if (!a) return;
    char *b = malloc(32), *c = malloc(32);
    free(b);
    free(c);
    free(a);
}

START_TEST(test_persistent_pass_finds_the_leak_only_two_failures_show) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(triple_leaky, NULL, &quiet_sweep, &r);
    ck_assert_int_eq(rc, 1);
    /* Single runs 1-4; only run 2 allocated after its failure (c), so only
     * allocation 2 is failed again with every allocation after it. */
    ck_assert_int_eq(r.runs, 4 + 1);
    ck_assert_uint_eq(r.npoints, 1);
    ck_assert_int_eq(r.points[0].n, 2);
    ck_assert_int_eq(r.points[0].persistent, 1);
    ck_assert_int_eq(r.points[0].leaked_objects, 1);
    ck_assert_str_eq(r.points[0].function, "triple_leaky");
    lc_fault_sweep_result_free(&r);
}
END_TEST

START_TEST(test_persistent_pass_of_the_fixed_twin_is_clean) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(triple_fixed, NULL, &quiet_sweep, &r);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r.runs, 4 + 1);
    ck_assert_uint_eq(r.npoints, 0);
    lc_fault_sweep_result_free(&r);
}
END_TEST

/* A crash on an error path is a failure point, and the sweep goes on. */
static __attribute__((noinline)) void deref_unchecked(void *arg) {
    (void)arg;
    volatile char *p = malloc(8);
    p[0] = 1;
    free((void *)p);
}

static __attribute__((noinline)) void deref_checked(void *arg) {
    (void)arg;
    volatile char *p = malloc(8);
    if (p) p[0] = 1;
    free((void *)p);
}

START_TEST(test_sweep_reports_a_crash_and_goes_on) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(deref_unchecked, NULL,
                            &(const lc_fault_sweep_options){.quiet = 1, .single_only = 1}, &r);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(r.crashes, 1);
    ck_assert_int_eq(r.runs, 2);
    ck_assert_int_eq(r.points[0].signal, SIGSEGV);
    lc_fault_sweep_result_free(&r);
}
END_TEST

START_TEST(test_sweep_of_the_checked_twin_has_no_crash) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(deref_checked, NULL,
                            &(const lc_fault_sweep_options){.quiet = 1, .single_only = 1}, &r);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r.crashes, 0);
    ck_assert_int_eq(r.runs, 2);
    lc_fault_sweep_result_free(&r);
}
END_TEST

/* The sweep with a scope runs only as many children as the scope has
 * allocations: the leaky pair is reached in 3 runs even with other
 * allocations around it. */
static void noisy_then_pair(void *arg) {
    void *noise[10];
    for (int i = 0; i < 10; i++)
        noise[i] = alloc_outside_scope();
    use_pair(arg);
    for (int i = 0; i < 10; i++)
        free(noise[i]);
}

START_TEST(test_scoped_sweep_counts_only_the_scope) {
    lc_fault_sweep_result r;
    lc_fault_sweep_options o = quiet_sweep;
    o.scope = "pair_make_leaky";
    int rc = lc_fault_sweep(noisy_then_pair, (void *)pair_make_leaky, &o, &r);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(r.runs, 3);
    ck_assert_int_eq(r.leaks, 1);
    ck_assert_int_eq(r.points[0].n, 2);
    lc_fault_sweep_result_free(&r);
}
END_TEST

START_TEST(test_unscoped_sweep_counts_every_allocation) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(noisy_then_pair, (void *)pair_make_fixed, &quiet_sweep, &r);
    ck_assert_int_eq(rc, 0);
    /* Single runs: 10 noise allocations, the pair's 2, the one that never
     * fails; the noise goes on allocating after each of its failures, so
     * those 10 points run again in the persistent pass. */
    ck_assert_int_eq(r.runs, (10 + 2 + 1) + 10);
    lc_fault_sweep_result_free(&r);
}
END_TEST

/* Allocates `*(int *)arg` blocks, releasing all of them on any failure. */
static void many_allocations(void *arg) {
    int n = *(int *)arg;
    void **blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) return;
    for (int i = 0; i < n; i++)
        if (!(blocks[i] = malloc(24))) break;
    for (int i = 0; i < n; i++)
        free(blocks[i]);
    free(blocks);
}

START_TEST(test_sweep_over_200_allocations_finishes) {
    int n = RUNNING_ON_VALGRIND ? 10 : 200;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(many_allocations, &n, &quiet_sweep, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("fault sweep over %d allocations: %ld runs in %.3f s\n", n, r.runs, s);
    ck_assert_int_eq(rc, 0);
    /* The calloc, the n mallocs, the run that never fails; nothing is
     * allocated after a failure, so no persistent run is needed. */
    ck_assert_int_eq(r.runs, n + 2);
    lc_fault_sweep_result_free(&r);
}
END_TEST

static Suite *fault_suite(void) {
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create("injection");
    tcase_add_test(tc, test_nth_allocation_fails_with_enomem_and_the_others_succeed);
    tcase_add_test(tc, test_disarmed_injection_fails_nothing);
    tcase_add_test(tc, test_persistent_mode_fails_every_allocation_from_the_nth_on);
    tcase_add_test(tc, test_single_mode_fails_only_the_nth);
    tcase_add_test(tc, test_env_n_plus_arms_persistent_mode_at_the_baseline);
    tcase_add_test(tc, test_env_n_arms_single_mode_at_the_baseline);
    tcase_add_test(tc, test_a_forked_child_arms_the_injection_set_at_the_fork);
    tcase_add_test(tc, test_a_forked_child_fails_nothing_when_unset_at_the_fork);
    tcase_add_test(tc, test_posix_memalign_and_realloc_fail_cleanly);
    tcase_add_test(tc, test_posix_memalign_and_realloc_succeed_when_disarmed);
    tcase_add_test(tc, test_library_allocations_neither_fail_nor_count);
    tcase_add_test(tc, test_program_allocations_count);
    tcase_add_test(tc, test_scope_counts_only_allocations_under_the_function);
    tcase_add_test(tc, test_without_scope_every_allocation_counts);
    suite_add_tcase(s, tc);

    tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sweep_finds_the_leaky_error_path_with_the_failed_allocation);
    tcase_add_test(tc, test_sweep_of_the_fixed_twin_is_clean);
    tcase_add_test(tc, test_persistent_pass_finds_the_leak_only_two_failures_show);
    tcase_add_test(tc, test_persistent_pass_of_the_fixed_twin_is_clean);
    tcase_add_test(tc, test_sweep_reports_a_crash_and_goes_on);
    tcase_add_test(tc, test_sweep_of_the_checked_twin_has_no_crash);
    tcase_add_test(tc, test_scoped_sweep_counts_only_the_scope);
    tcase_add_test(tc, test_unscoped_sweep_counts_every_allocation);
    tcase_add_test(tc, test_sweep_over_200_allocations_finishes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(fault_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
