/* SPDX-License-Identifier: MIT */
/* test_heap.c: the specification of heap tracking, snapshots and checks.
 *
 * Every detection test has a clean twin and every clean test a leaky twin:
 * the same code path with and without the leak. Each test frees what it
 * leaked once it has asserted the leak, so the suite is clean under
 * valgrind and in Check's no-fork mode. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "budget.h"
#include "core.h"
#include "heap.h"
#include "scan.h"
#include "leakcheck.h"
#include "leakcheck_check.h"
#include "latch.h"
#include "sanitizer.h"
#include "stacks.h"

/* ------------------------------------------------------------ helpers */

static lc_result check_now(const char *budget) {
    lc_result r;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .settle_seconds = 0.01,
                                  .budget = budget},
              &r);
    return r;
}

static int site_named(const lc_result *r, const char *fn) {
    for (int i = 0; i < r->nsites; i++)
        if (strcmp(r->sites[i].function, fn) == 0) return i;
    return -1;
}

#define ASSERT_ONE_LEAK_AT(r, fn)                                                                  \
    do {                                                                                           \
        ck_assert_int_eq((r).verdict, 1);                                                          \
        ck_assert_int_eq((r).leaked_objects, 1);                                                   \
        ck_assert_msg(site_named(&(r), fn) >= 0, "no site named %s in:\n%s", fn,                   \
                      lc_last_report());                                                           \
    } while (0)

#define ASSERT_CLEAN(r)                                                                            \
    ck_assert_msg((r).verdict == 0 && (r).leaked_objects == 0, "expected clean, got:\n%s",         \
                  lc_last_report())

/* ------------------------------------------------------------ entry points */

/* Each allocator is called from its own function so the report must name
 * exactly that function as the allocation site. */
static void *with_malloc(void) {
    return malloc(24);
}
static void *with_calloc(void) {
    return calloc(3, 8);
}
static void *with_realloc_from_null(void) {
    return realloc(NULL, 24);
}
static void *with_reallocarray(void) {
    return reallocarray(NULL, 3, 8);
}
static void *with_posix_memalign(void) {
    void *p = NULL;
    return posix_memalign(&p, 64, 24) == 0 ? p : NULL;
}
static void *with_aligned_alloc(void) {
    return aligned_alloc(64, 64);
}
static void *with_memalign(void) {
    return memalign(64, 24);
}
static void *with_valloc(void) {
    return valloc(24);
}
static void *with_pvalloc(void) {
    return pvalloc(24);
}
static void *with_strdup(void) {
    return strdup("twenty-three characters");
}
static void *with_asprintf(void) {
    char *s = NULL;
    return asprintf(&s, "%d", 42) < 0 ? NULL : s;
}

#define ENTRY_POINT_TESTS(name)                                                                    \
    START_TEST(test_##name##_leak_is_reported_at_its_caller) {                                     \
        lc_baseline();                                                                             \
        void *p = with_##name();                                                                   \
        ck_assert_ptr_nonnull(p);                                                                  \
        lc_result r = check_now(NULL);                                                             \
        ASSERT_ONE_LEAK_AT(r, "with_" #name);                                                      \
        free(p);                                                                                   \
    }                                                                                              \
    END_TEST                                                                                       \
    START_TEST(test_##name##_freed_is_clean) {                                                     \
        lc_baseline();                                                                             \
        void *p = with_##name();                                                                   \
        ck_assert_ptr_nonnull(p);                                                                  \
        free(p);                                                                                   \
        lc_result r = check_now(NULL);                                                             \
        ASSERT_CLEAN(r);                                                                           \
    }                                                                                              \
    END_TEST

ENTRY_POINT_TESTS(malloc)
ENTRY_POINT_TESTS(calloc)
ENTRY_POINT_TESTS(realloc_from_null)
ENTRY_POINT_TESTS(reallocarray)
ENTRY_POINT_TESTS(posix_memalign)
ENTRY_POINT_TESTS(aligned_alloc)
ENTRY_POINT_TESTS(memalign)
ENTRY_POINT_TESTS(valloc)
ENTRY_POINT_TESTS(pvalloc)
ENTRY_POINT_TESTS(strdup)
ENTRY_POINT_TESTS(asprintf)

static char *read_line_with_getline(FILE *f) {
    char *line = NULL;
    size_t cap = 0;
    ck_assert_int_gt(getline(&line, &cap, f), 0);
    return line;
}

START_TEST(test_getline_buffer_leak_is_reported) {
    FILE *f = fmemopen("a line\n", 7, "r");
    lc_baseline();
    char *line = read_line_with_getline(f);
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "read_line_with_getline");
    free(line);
    fclose(f);
}
END_TEST

START_TEST(test_getline_buffer_freed_is_clean) {
    FILE *f = fmemopen("a line\n", 7, "r");
    lc_baseline();
    free(read_line_with_getline(f));
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
    fclose(f);
}
END_TEST

static FILE *stream_with_open_memstream(char **buf, size_t *len) {
    FILE *f = open_memstream(buf, len);
    fputs("hello", f);
    fflush(f);
    return f;
}

START_TEST(test_open_memstream_left_open_is_reported) {
    char *buf;
    size_t len;
    lc_baseline();
    FILE *f = stream_with_open_memstream(&buf, &len);
    lc_result r = check_now(NULL);
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_ge(site_named(&r, "stream_with_open_memstream"), 0);
    fclose(f);
    free(buf);
}
END_TEST

START_TEST(test_open_memstream_closed_and_freed_is_clean) {
    char *buf;
    size_t len;
    lc_baseline();
    FILE *f = stream_with_open_memstream(&buf, &len);
    fclose(f);
    free(buf);
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* ------------------------------------------------------------ realloc */

static void *grow_ten_times(void) {
    void *p = NULL;
    for (size_t size = 16; size <= 16 << 9; size *= 2)
        p = realloc(p, size);
    return p;
}

START_TEST(test_realloc_chain_leaks_one_block_of_final_size) {
    lc_baseline();
    void *p = grow_ten_times();
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "grow_ten_times");
    ck_assert_int_eq(r.leaked_bytes, 16 << 9);
    free(p);
}
END_TEST

START_TEST(test_realloc_chain_freed_is_clean) {
    lc_baseline();
    free(grow_ten_times());
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* ------------------------------------------------------------ threads and heap */

static void *allocate_in_thread(void *arg) {
    (void)arg;
    return malloc(40);
}

START_TEST(test_block_freed_by_another_thread_is_clean) {
    lc_baseline();
    pthread_t t;
    void *p;
    pthread_create(&t, NULL, allocate_in_thread, NULL);
    pthread_join(t, &p);
    free(p);
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
    ck_assert_int_eq(r.leaked_threads, 0);
}
END_TEST

START_TEST(test_block_from_another_thread_never_freed_is_reported) {
    lc_baseline();
    pthread_t t;
    void *p;
    pthread_create(&t, NULL, allocate_in_thread, NULL);
    pthread_join(t, &p);
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "allocate_in_thread");
    free(p);
}
END_TEST

/* ------------------------------------------------------------ block layout */

/* Natively each block has a header before it (heap_inband.c); whatever the
 * store, the program sees glibc's blocks: all of the usable size writable,
 * alignments kept, and blocks that did not come from the interposers
 * accepted by free and realloc. */

extern void *__libc_malloc(size_t);

static void fill_usable(void *p, size_t want) {
    ck_assert_ptr_nonnull(p);
    size_t usable = malloc_usable_size(p);
    ck_assert_uint_ge(usable, want);
    memset(p, 0xab, usable); /* one byte too many corrupts the next chunk */
}

/* A chain of `levels` calls, each with its frame, ending in malloc. */
static __attribute__((noinline)) void *alloc_nested(int levels) {
    if (levels == 0) return malloc(24);
    void *p = alloc_nested(levels - 1);
    __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call */
    return p;
}

/* How many frames the stack of the live block at p holds. */
static int frames_of_block(void *p) {
    lc_block b;
    ck_assert(lc_heap_lookup((uintptr_t)p, &b));
    const uintptr_t *pcs;
    return lc_stack_get(lc_block_stack(&b), &pcs);
}

START_TEST(test_a_stack_depth_above_the_default_keeps_that_many_frames) {
    int saved = lc_cfg.stack_depth;
    lc_cfg.stack_depth = 40;
    void *p = alloc_nested(50);
    lc_cfg.stack_depth = saved;
    int frames = frames_of_block(p);
    free(p);
    ck_assert_int_eq(frames, 40);
}
END_TEST

START_TEST(test_the_default_stack_depth_keeps_its_frames_of_a_deeper_stack) {
    void *p = alloc_nested(50);
    int frames = frames_of_block(p);
    free(p);
    ck_assert_int_eq(frames, LC_DEFAULT_DEPTH);
}
END_TEST

/* Two call sites of one function, for stacks that differ in one frame. */
static __attribute__((noinline)) void *alloc_at_a(void) {
    void *p = alloc_nested(2);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static __attribute__((noinline)) void *alloc_at_b(void) {
    void *p = alloc_nested(2);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static lc_stack_id stack_of_block(void *p) {
    lc_block b;
    ck_assert(lc_heap_lookup((uintptr_t)p, &b));
    return lc_block_stack(&b);
}

/* The walks below run in a thread of their own: its frames end at the C
 * runtime's start_thread, so every walk is finished by frame pointers
 * alone (under Check's runner, a walk goes on through Check's frames,
 * built without them). Check's assertions run in the test's thread. */
static void run_in_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

struct loop_walks {
    void *p[10];
    uint64_t objects[10], bytes[10];
};

static void *allocate_in_a_loop(void *arg) {
    struct loop_walks *w = arg;
    for (int i = 0; i < 10; i++) {
        w->p[i] = alloc_at_a();
        lc_stack_totals(stack_of_block(w->p[i]), &w->objects[i], &w->bytes[i]);
    }
    return NULL;
}

/* A loop's walks find the same frames each time: they share one stack,
 * which counts every allocation. */
START_TEST(test_a_loops_allocations_from_one_site_share_one_stack_and_count_each) {
    static struct loop_walks w;
    run_in_thread(allocate_in_a_loop, &w);
    for (int i = 1; i < 10; i++) {
        ck_assert_uint_eq(stack_of_block(w.p[i]), stack_of_block(w.p[0]));
        ck_assert_uint_eq(w.objects[i], w.objects[0] + (uint64_t)i);
        ck_assert_uint_eq(w.bytes[i], w.bytes[0] + 24 * (uint64_t)i);
    }
    for (int i = 0; i < 10; i++)
        free(w.p[i]);
}
END_TEST

struct alternating_walks {
    void *p[6], *d[6];
};

static void *allocate_alternately(void *arg) {
    struct alternating_walks *w = arg;
    void *(*const via[2])(void) = {alloc_at_a, alloc_at_b};
    for (int i = 0; i < 6; i++)
        w->p[i] = via[i % 2]();
    for (int i = 0; i < 6; i++)
        w->d[i] = alloc_nested(3 + i % 2);
    return NULL;
}

/* Allocations from one call site alternating between two callers, or
 * between two depths of one function: each path keeps its own stack
 * however the walk before it went. */
START_TEST(test_alternating_paths_from_one_site_keep_their_own_stacks) {
    static struct alternating_walks w;
    run_in_thread(allocate_alternately, &w);
    ck_assert_uint_ne(stack_of_block(w.p[0]), stack_of_block(w.p[1]));
    ck_assert_uint_ne(stack_of_block(w.d[0]), stack_of_block(w.d[1]));
    ck_assert_int_eq(frames_of_block(w.d[1]), frames_of_block(w.d[0]) + 1);
    for (int i = 2; i < 6; i++) {
        ck_assert_uint_eq(stack_of_block(w.p[i]), stack_of_block(w.p[i % 2]));
        ck_assert_uint_eq(stack_of_block(w.d[i]), stack_of_block(w.d[i % 2]));
    }
    for (int i = 0; i < 6; i++)
        free(w.p[i]), free(w.d[i]);
}
END_TEST

static void *allocate_at_two_depths(void *arg) {
    void **p = arg;
    int saved = lc_cfg.stack_depth;
    for (int i = 0; i < 2; i++) {
        lc_cfg.stack_depth = i == 0 ? saved : 3;
        p[i] = alloc_at_a();
    }
    lc_cfg.stack_depth = saved;
    return NULL;
}

/* The same path walked to a smaller depth is a shorter stack. */
START_TEST(test_a_walk_cut_shorter_than_the_last_is_its_own_stack) {
    static void *p[2];
    run_in_thread(allocate_at_two_depths, p);
    ck_assert_int_gt(frames_of_block(p[0]), 3);
    ck_assert_int_eq(frames_of_block(p[1]), 3);
    free(p[0]);
    free(p[1]);
}
END_TEST

START_TEST(test_usable_size_is_all_the_program_may_write) {
    static const size_t sizes[] = {0, 1, 8, 9, 24, 100, 1000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = malloc(sizes[i]), *q = malloc(sizes[i]);
        fill_usable(p, sizes[i]);
        fill_usable(q, sizes[i]);
        free(p);
        free(q);
    }
    void *a = NULL;
    ck_assert_int_eq(posix_memalign(&a, 256, 100), 0);
    fill_usable(a, 100);
    free(a);
}
END_TEST

START_TEST(test_aligned_blocks_keep_alignment_and_contents_through_realloc) {
    lc_baseline();
    static const size_t aligns[] = {32, 64, 4096};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        unsigned char *p = NULL;
        ck_assert_int_eq(posix_memalign((void **)&p, aligns[i], 200), 0);
        ck_assert_uint_eq((uintptr_t)p % aligns[i], 0);
        for (int k = 0; k < 200; k++)
            p[k] = (unsigned char)(k + i);
        p = realloc(p, 5000);
        ck_assert_ptr_nonnull(p);
        for (int k = 0; k < 200; k++)
            ck_assert_uint_eq(p[k], (unsigned char)(k + i));
        p = realloc(p, 50);
        for (int k = 0; k < 50; k++)
            ck_assert_uint_eq(p[k], (unsigned char)(k + i));
        free(p);
    }
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* glibc keeps pointers to the chunk after the last one it carved (its top)
 * and to chunks in its bins; with a header, a tiny block must still not
 * start where such a chunk does, or those pointers would hold it. Many
 * tiny blocks in a row are carved from the top, so the last ends at it. */
#define TINY_BLOCKS 200
static void *tiny[TINY_BLOCKS];

START_TEST(test_tiny_blocks_carved_from_the_top_are_each_reported) {
    lc_baseline();
    for (int i = 0; i < TINY_BLOCKS; i++)
        tiny[i] = malloc((size_t)(i % 9));
    lc_result r = check_now(NULL);
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.leaked_objects, TINY_BLOCKS);
    for (int i = 0; i < TINY_BLOCKS; i++)
        free(tiny[i]);
}
END_TEST

START_TEST(test_tiny_blocks_carved_from_the_top_and_freed_are_clean) {
    lc_baseline();
    for (int i = 0; i < TINY_BLOCKS; i++)
        tiny[i] = malloc((size_t)(i % 9));
    for (int i = 0; i < TINY_BLOCKS; i++)
        free(tiny[i]);
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* Built with a sanitizer, the program's malloc and free are the
 * sanitizer's, which takes no block of glibc's: those two tests are for
 * glibc's allocator (natively and under valgrind). */
#if !LC_TEST_SANITIZER
static void *grow_foreign_block(void) {
    void *p = __libc_malloc(40);
    ck_assert_ptr_nonnull(p);
    return realloc(p, 4000);
}

START_TEST(test_block_from_glibc_itself_grown_by_realloc_and_kept_is_reported) {
    lc_baseline();
    void *p = grow_foreign_block();
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "grow_foreign_block");
    free(p);
}
END_TEST

START_TEST(test_block_from_glibc_itself_freed_through_free_is_clean) {
    lc_baseline();
    free(__libc_malloc(40));
    free(grow_foreign_block());
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST
#endif

/* ------------------------------------------------------------ signals */

static void *volatile from_handler;
static volatile sig_atomic_t handler_frees;

static void allocating_handler(int sig) {
    (void)sig;
    if (handler_frees) {
        free(from_handler);
        from_handler = NULL;
    } else
        from_handler = malloc(33);
}

static void raise_allocating_signal(int frees) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = allocating_handler;
    sigaction(SIGUSR1, &sa, &old);
    handler_frees = 0;
    raise(SIGUSR1);
    if (frees) {
        handler_frees = 1;
        raise(SIGUSR1);
    }
    sigaction(SIGUSR1, &old, NULL);
}

START_TEST(test_allocation_in_signal_handler_is_tracked) {
    lc_baseline();
    raise_allocating_signal(0);
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "allocating_handler");
    free(from_handler);
}
END_TEST

START_TEST(test_allocation_freed_in_signal_handler_is_clean) {
    lc_baseline();
    raise_allocating_signal(1);
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* A timer's handler takes sequence numbers while the test takes them in a
 * loop, landing between any two instructions of the step: every
 * number is still taken once, which is how a snapshot tells blocks apart.
 * (A handler that interrupted the step from one number to the next used
 * to take the same one.) The handler cannot call malloc here: it would
 * land inside glibc's too, which no signal may interrupt. A timer of its
 * own with SIGPROF, not the process's real-time timer and SIGALRM: those
 * are Check's, for its timeouts. */
#ifndef sigev_notify_thread_id /* glibc before 2.35 names it only so */
#define sigev_notify_thread_id _sigev_un._tid
#endif
#define HANDLER_SEQS 4096
#define LOOP_SEQS (1u << 22)
static uint64_t handler_seqs[HANDLER_SEQS];
static volatile sig_atomic_t handler_took;

static void seq_taking_handler(int sig) {
    (void)sig;
    uint64_t last;
    if (handler_took < HANDLER_SEQS) handler_seqs[handler_took++] = lc_heap_take_seq(&last);
}

/* Counts the values of v[0..n) seen before: a bitmap over their range, in
 * memory of its own (neither this nor the arrays may move glibc's mmap
 * threshold, which the suite's later tests rely on). */
static size_t repeats(const uint64_t *v, size_t n) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    ck_assert_uint_lt(hi - lo, (uint64_t)1 << 32);
    size_t bytes = (size_t)((hi - lo) / 8 + 8);
    uint8_t *seen = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(seen, MAP_FAILED);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = v[i] - lo;
        same += seen[k / 8] >> (k % 8) & 1;
        seen[k / 8] |= (uint8_t)(1u << (k % 8));
    }
    munmap(seen, bytes);
    return same;
}

START_TEST(test_a_signal_handler_never_takes_the_sequence_number_its_thread_was_taking) {
    size_t bytes = (LOOP_SEQS + HANDLER_SEQS) * sizeof(uint64_t);
    uint64_t *all = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(all, MAP_FAILED);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = seq_taking_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, &old);
    handler_took = 0;
    /* At this thread alone: a process-wide signal may go to any thread (a
     * suite run with CK_FORK=no has others), and a handler still running
     * there when the loop ends has not yet written the number it took. */
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGPROF};
    ev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
    timer_t timer;
    ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
    struct itimerspec every = {{0, 20000}, {0, 20000}};
    timer_settime(timer, 0, &every, NULL);
    size_t n = 0;
    for (uint64_t last; n < LOOP_SEQS && handler_took < HANDLER_SEQS;)
        all[n++] = lc_heap_take_seq(&last);
    timer_delete(timer);
    signal(SIGPROF, SIG_IGN); /* drops one still pending */
    sigaction(SIGPROF, &old, NULL);

    int took = handler_took;
    memcpy(all + n, handler_seqs, (size_t)took * sizeof *all);
    size_t same = repeats(all, n + (size_t)took);
    munmap(all, bytes);
    ck_assert_int_gt(took, 0);
    ck_assert_msg(same == 0, "%zu numbers taken twice (%zu by the loop, %d by the handler)", same,
                  n, took);
}
END_TEST

/* ------------------------------------------------------------ the library's own memory */

static void *leak_once(void) {
    return malloc(77);
}

START_TEST(test_library_allocations_for_a_report_are_never_reported) {
    lc_baseline();
    void *p = leak_once();
    lc_result r = check_now(NULL); /* symbolizes: the library allocates */
    ck_assert_int_eq(r.verdict, 1);
    free(p);
    r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

START_TEST(test_leak_after_a_report_is_still_reported) {
    lc_baseline();
    void *p = leak_once();
    lc_result r = check_now(NULL);
    free(p);
    p = leak_once();
    r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "leak_once");
    free(p);
}
END_TEST

/* ------------------------------------------------------------ fork */

static volatile int churn_stop;
/* The block a churning thread holds between malloc and free lives here, so
 * that in a child (which has no such thread) it is the parent's reachable
 * memory rather than memory fork cut loose. */
static void *volatile churn_slot[4];

/* Built with a sanitizer, malloc is the sanitizer's, and clang 14's
 * allocators take none of their locks around fork: a child forked while
 * another thread holds a size class's lock waits for it in its first
 * malloc that needs that class, forever, library or not (the locks are
 * compiler-rt's own). There the churning threads stay out of the
 * allocator while a fork is under way; natively they allocate through it,
 * which is what the library's fork handlers are for. */
static pthread_mutex_t churn_gate = PTHREAD_MUTEX_INITIALIZER;

static void *churn(void *arg) {
    void *volatile *slot = arg;
    while (!churn_stop) {
        if (LC_TEST_SANITIZER) pthread_mutex_lock(&churn_gate);
        *slot = malloc(64 + (size_t)(rand() % 512));
        free(*slot);
        if (LC_TEST_SANITIZER) pthread_mutex_unlock(&churn_gate);
    }
    return NULL;
}

/* A forked child of a threaded program holds blocks that only the threads
 * fork dropped pointed to (in their registers, between malloc and the
 * store). memcheck calls those definitely lost when the child exits and
 * turns the child's status into its error code; leaving through exec ends
 * the valgrind'd process without that end-of-process search, so the status
 * the parent reads is the check's own. */
static void child_exit(int code) {
    if (RUNNING_ON_VALGRIND) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "exit %d", code);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    }
    _exit(code);
}

/* Forks while four threads allocate; each child checks itself and exits
 * with the check's verdict. Returns how many children reported a leak. */
static int fork_while_threads_allocate(int children, int child_leaks) {
    pthread_t t[4];
    churn_stop = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, (void *)&churn_slot[i]);
    int leaking = 0;
    for (int i = 0; i < children; i++) {
        if (LC_TEST_SANITIZER) pthread_mutex_lock(&churn_gate);
        pid_t pid = fork();
        if (LC_TEST_SANITIZER) pthread_mutex_unlock(&churn_gate);
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            /* A deadlock in the child fails the test instead of hanging it:
             * by SIGALRM's default action, not Check's handler, which a
             * CK_FORK=no runner leaves installed and which only records. */
            signal(SIGALRM, SIG_DFL);
            alarm(20);
            void *p = malloc(100);
            if (!child_leaks) free(p);
            lc_result r = check_now(NULL);
            child_exit(r.verdict == 1 ? 1 : r.verdict == 0 ? 0 : 3);
        }
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFEXITED(status), "child died (signal %d)", WTERMSIG(status));
        ck_assert_int_ne(WEXITSTATUS(status), 3);
        leaking += WEXITSTATUS(status) == 1;
    }
    churn_stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return leaking;
}

/* Under valgrind every fork copies the whole emulated process: fewer. */
static int fork_rounds(void) {
    return RUNNING_ON_VALGRIND ? 3 : 20;
}

START_TEST(test_fork_in_threaded_program_child_is_clean) {
    lc_baseline();
    ck_assert_int_eq(fork_while_threads_allocate(fork_rounds(), 0), 0);
}
END_TEST

START_TEST(test_fork_in_threaded_program_child_leak_is_reported) {
    lc_baseline();
    ck_assert_int_eq(fork_while_threads_allocate(fork_rounds(), 1), fork_rounds());
}
END_TEST

/* ------------------------------------------------------------ baselines */

START_TEST(test_block_allocated_before_baseline_is_not_a_leak) {
    void *p = malloc(10);
    lc_baseline();
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
    free(p);
}
END_TEST

START_TEST(test_block_allocated_after_baseline_is_a_leak) {
    lc_baseline();
    void *p = leak_once();
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "leak_once");
    free(p);
}
END_TEST

static int child_check_after_fork(int leak_in_child) {
    void *before = malloc(10); /* the parent's, before the fork */
    pid_t pid = fork();
    if (pid == 0) {
        void *p = leak_in_child ? leak_once() : NULL;
        (void)p;
        lc_result r = check_now(NULL);
        _exit(r.verdict);
    }
    int status;
    waitpid(pid, &status, 0);
    free(before);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_fork_is_the_baseline_of_the_child) {
    lc_baseline();
    ck_assert_int_eq(child_check_after_fork(0), 0);
}
END_TEST

START_TEST(test_leak_in_forked_child_is_reported) {
    lc_baseline();
    ck_assert_int_eq(child_check_after_fork(1), 1);
}
END_TEST

/* ------------------------------------------------------------ budgets */

START_TEST(test_budget_parses_all_three_limits_with_suffixes) {
    lc_budget b = {0, 0, 0};
    char err[256];
    ck_assert_int_eq(lc_budget_parse("bytes=1M,objects=10,threads=2", &b, err, sizeof err), 0);
    ck_assert_int_eq(b.bytes, 1 << 20);
    ck_assert_int_eq(b.objects, 10);
    ck_assert_int_eq(b.threads, 2);
    ck_assert_int_eq(lc_budget_parse("bytes=3k", &b, err, sizeof err), 0);
    ck_assert_int_eq(b.bytes, 3072);
    ck_assert_int_eq(b.objects, 10); /* untouched: later sources override field by field */
    ck_assert_int_eq(lc_budget_parse("bytes=1G,threads=inf", &b, err, sizeof err), 0);
    ck_assert_int_eq(b.bytes, 1ll << 30);
    ck_assert_int_eq(b.threads, -1);
}
END_TEST

START_TEST(test_malformed_budget_is_an_error_naming_the_bad_part) {
    static const char *const bad[][2] = {
        {"bytes=1X", "bytes=1X"},
        {"bites=1", "bites=1"},
        {"bytes", "bytes"},
        {"bytes=", "bytes="},
        {"objects=-1", "objects=-1"},
        {"bytes=1,", "trailing comma"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lc_budget b = {0, 0, 0};
        char err[256];
        ck_assert_int_eq(lc_budget_parse(bad[i][0], &b, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i][1]), "error for '%s' does not name it: %s", bad[i][0],
                      err);
    }
}
END_TEST

START_TEST(test_malformed_budget_in_options_fails_the_check) {
    lc_baseline();
    lc_result r = check_now("objects=ten");
    ck_assert_int_eq(r.verdict, -1);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "objects=ten"));
}
END_TEST

START_TEST(test_malformed_budget_in_environment_fails_the_check) {
    lc_baseline();
    setenv("LEAKCHECK_BUDGET", "threads=lots", 1);
    lc_result r = check_now(NULL);
    unsetenv("LEAKCHECK_BUDGET");
    ck_assert_int_eq(r.verdict, -1);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "LEAKCHECK_BUDGET"));
}
END_TEST

START_TEST(test_leak_within_budget_passes) {
    lc_baseline();
    void *p = malloc(100);
    lc_result r = check_now("bytes=100,objects=1");
    ck_assert_int_eq(r.verdict, 0);
    ck_assert_int_eq(r.leaked_bytes, 100); /* still counted and reported */
    free(p);
}
END_TEST

START_TEST(test_leak_one_byte_over_budget_fails) {
    lc_baseline();
    void *p = malloc(101);
    lc_result r = check_now("bytes=100,objects=1");
    ck_assert_int_eq(r.verdict, 1);
    free(p);
}
END_TEST

START_TEST(test_environment_budget_applies_and_options_override_it) {
    lc_baseline();
    void *p = malloc(100);
    setenv("LEAKCHECK_BUDGET", "bytes=1k,objects=5", 1);
    lc_result from_env = check_now(NULL);
    lc_result overridden = check_now("objects=0");
    unsetenv("LEAKCHECK_BUDGET");
    ck_assert_int_eq(from_env.verdict, 0);
    ck_assert_int_eq(overridden.verdict, 1);
    ck_assert_int_eq(overridden.budget_bytes, 1024);
    free(p);
}
END_TEST

START_TEST(test_verify_none_macro_without_arguments_reports_a_leak) {
    lc_baseline();
    void *p = leak_once();
    FILE *sink = fopen("/dev/null", "w");
    ck_assert_int_eq(LC_VERIFY_NONE(.out = sink), 1);
    fclose(sink);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "leak_once"));
    free(p);
}
END_TEST

START_TEST(test_verify_none_macro_without_arguments_passes_when_clean) {
    lc_baseline();
    free(leak_once());
    ck_assert_int_eq(LC_VERIFY_NONE(), 0);
}
END_TEST

/* ------------------------------------------------------------ diffs */

static void *site_small(void) {
    return malloc(100);
}
static void *site_large(void) {
    return malloc(1000);
}
static void *site_tiny(void) {
    return malloc(10);
}

typedef struct diff_fixture {
    void *small[10], *large[3], *tiny;
    lc_snapshot *before, *after;
} diff_fixture;

static void diff_setup(diff_fixture *f) {
    f->before = lc_snapshot_take();
    for (int i = 0; i < 10; i++)
        f->small[i] = site_small();
    for (int i = 0; i < 3; i++)
        f->large[i] = site_large();
    f->tiny = site_tiny();
    f->after = lc_snapshot_take();
}

static void diff_teardown(diff_fixture *f) {
    for (int i = 0; i < 10; i++)
        free(f->small[i]);
    for (int i = 0; i < 3; i++)
        free(f->large[i]);
    free(f->tiny);
    lc_snapshot_free(f->before);
    lc_snapshot_free(f->after);
}

static const char *site_function(const lc_diff *d, size_t i) {
    static lc_frame f;
    const lc_diff_site *s = lc_diff_get(d, i);
    if (!s) return "";
    for (int k = 0; lc_stack_frame(s->stack_id, k, &f) == 0; k++)
        if (f.function && strncmp(f.function, "site_", 5) == 0) return f.function;
    return "";
}

START_TEST(test_diff_sorts_sites_by_growth_in_bytes) {
    diff_fixture f;
    diff_setup(&f);
    lc_diff *d = lc_snapshot_diff(f.before, f.after, NULL);
    ck_assert_uint_ge(lc_diff_count(d), 3);
    ck_assert_str_eq(site_function(d, 0), "site_large");
    ck_assert_str_eq(site_function(d, 1), "site_small");
    ck_assert_int_eq(lc_diff_get(d, 0)->delta_bytes, 3000);
    ck_assert_int_eq(lc_diff_get(d, 1)->delta_objects, 10);
    lc_diff_free(d);
    diff_teardown(&f);
}
END_TEST

START_TEST(test_diff_min_objects_keeps_only_sites_that_grew_by_that_many) {
    diff_fixture f;
    diff_setup(&f);
    lc_diff *d = lc_snapshot_diff(f.before, f.after, &(lc_diff_options){.min_objects = 5});
    ck_assert_uint_eq(lc_diff_count(d), 1);
    ck_assert_str_eq(site_function(d, 0), "site_small");
    lc_diff_free(d);
    diff_teardown(&f);
}
END_TEST

START_TEST(test_diff_min_bytes_keeps_only_sites_that_grew_by_that_much) {
    diff_fixture f;
    diff_setup(&f);
    lc_diff *d = lc_snapshot_diff(f.before, f.after, &(lc_diff_options){.min_bytes = 2000});
    ck_assert_uint_eq(lc_diff_count(d), 1);
    ck_assert_str_eq(site_function(d, 0), "site_large");
    lc_diff_free(d);
    diff_teardown(&f);
}
END_TEST

START_TEST(test_diff_top_n_cuts_after_n_sites) {
    diff_fixture f;
    diff_setup(&f);
    lc_diff *d = lc_snapshot_diff(f.before, f.after, &(lc_diff_options){.top = 2});
    ck_assert_uint_eq(lc_diff_count(d), 2);
    ck_assert_str_eq(site_function(d, 1), "site_small");
    lc_diff_free(d);
    diff_teardown(&f);
}
END_TEST

START_TEST(test_diff_reports_vanished_blocks_as_negative_growth) {
    void *p[4];
    for (int i = 0; i < 4; i++)
        p[i] = site_large();
    lc_snapshot *before = lc_snapshot_take();
    for (int i = 0; i < 4; i++)
        free(p[i]);
    lc_snapshot *after = lc_snapshot_take();
    lc_diff *d = lc_snapshot_diff(before, after, &(lc_diff_options){.min_bytes = 4000});
    ck_assert_uint_eq(lc_diff_count(d), 1);
    ck_assert_int_eq(lc_diff_get(d, 0)->delta_bytes, -4000);
    ck_assert_int_eq(lc_diff_get(d, 0)->vanished_objects, 4);
    ck_assert_int_eq(lc_diff_get(d, 0)->alloc_objects >= 4, 1);
    lc_diff_free(d);
    lc_snapshot_free(before);
    lc_snapshot_free(after);
}
END_TEST

START_TEST(test_diff_of_identical_snapshots_is_empty) {
    lc_snapshot *a = lc_snapshot_take();
    lc_snapshot *b = lc_snapshot_take();
    lc_diff *d = lc_snapshot_diff(a, b, NULL);
    ck_assert_uint_eq(lc_diff_count(d), 0);
    lc_diff_free(d);
    lc_snapshot_free(a);
    lc_snapshot_free(b);
}
END_TEST

/* A thread with a stack size no earlier thread had: glibc's stack cache
 * cannot serve it, so pthread_create allocates the thread's TLS vector
 * (allocate_dtv) with malloc, a block the C runtime owns for itself. */
static void *wait_for_release(void *arg) {
    struct latch *l = arg;
    WAIT_FOR_LATCH(l);
    return NULL;
}

static bool stack_has_function(uint32_t stack_id, const char *name) {
    lc_frame f;
    for (int k = 0; lc_stack_frame(stack_id, k, &f) == 0; k++)
        if (f.function && strcmp(f.function, name) == 0) return true;
    return false;
}

static lc_diff *diff_around_thread_start(pthread_t *t, struct latch *l, void **program_block) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (1u << 20) + 3 * 4096u);
    lc_snapshot *before = lc_snapshot_take();
    ck_assert_int_eq(pthread_create(t, &attr, wait_for_release, l), 0);
    *program_block = site_tiny();
    lc_snapshot *after = lc_snapshot_take();
    pthread_attr_destroy(&attr);
    lc_diff *d = lc_snapshot_diff(before, after, NULL);
    lc_snapshot_free(before);
    lc_snapshot_free(after);
    return d;
}

START_TEST(test_diff_leaves_out_blocks_the_runtime_owns) {
    struct latch l = LATCH_INIT;
    pthread_t t;
    void *mine;
    lc_diff *d = diff_around_thread_start(&t, &l, &mine);
    for (size_t i = 0; i < lc_diff_count(d); i++)
        ck_assert_msg(!stack_has_function(lc_diff_get(d, i)->stack_id, "_dl_allocate_tls"),
                      "site %zu is the runtime's thread TLS vector", i);
    open_latch(&l);
    pthread_join(t, NULL);
    free(mine);
    lc_diff_free(d);
}
END_TEST

START_TEST(test_diff_keeps_the_programs_block_beside_the_runtimes) {
    struct latch l = LATCH_INIT;
    pthread_t t;
    void *mine;
    lc_diff *d = diff_around_thread_start(&t, &l, &mine);
    ck_assert_uint_eq(lc_diff_count(d), 1);
    ck_assert_str_eq(site_function(d, 0), "site_tiny");
    ck_assert_int_eq(lc_diff_get(d, 0)->delta_bytes, 10);
    open_latch(&l);
    pthread_join(t, NULL);
    free(mine);
    lc_diff_free(d);
}
END_TEST

/* A worker that says its kernel id, then waits at the latch. */
struct diff_worker {
    struct latch *latch;
    _Atomic pid_t tid;
    pthread_t thread;
};

__attribute__((noinline)) static void *parked_in_diff(void *arg) {
    struct diff_worker *w = arg;
    w->tid = (pid_t)syscall(SYS_gettid);
    WAIT_FOR_LATCH(w->latch);
    return NULL;
}

/* Until the worker sleeps in its futex: then its stack is its wait. */
static void start_parked(struct diff_worker *w) {
    ck_assert_int_eq(pthread_create(&w->thread, NULL, parked_in_diff, w), 0);
    for (;;) {
        pid_t tid = w->tid;
        char path[64], line[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
        FILE *f = tid ? fopen(path, "r") : NULL;
        bool waiting = f && fgets(line, sizeof line, f) && atoi(line) == SYS_futex;
        if (f) fclose(f);
        if (waiting) return;
        usleep(1000);
    }
}

static bool thread_stack_has(const lc_diff *d, size_t i, const char *fn) {
    lc_frame f;
    for (int k = 0; lc_diff_thread_frame(d, i, k, &f) == 0; k++)
        if (f.function && strcmp(f.function, fn) == 0) return true;
    return false;
}

/* The diff of two snapshots around a parked worker: taken before it starts
 * and after (it appears), while it waits and after it ended (it vanishes),
 * or both while it waits (it stays). The worker has ended on return. */
typedef enum { WORKER_APPEARS, WORKER_VANISHES, WORKER_STAYS } worker_change;

static lc_diff *diff_around_worker(worker_change change, pid_t *tid) {
    struct latch l = LATCH_INIT;
    struct diff_worker w = {.latch = &l};
    if (change != WORKER_APPEARS) start_parked(&w);
    lc_snapshot *before = lc_snapshot_take();
    if (change == WORKER_APPEARS) start_parked(&w);
    if (change == WORKER_VANISHES) {
        open_latch(&l);
        pthread_join(w.thread, NULL);
    }
    lc_snapshot *after = lc_snapshot_take();
    lc_diff *d = lc_snapshot_diff(before, after, NULL);
    if (change != WORKER_VANISHES) {
        open_latch(&l);
        pthread_join(w.thread, NULL);
    }
    lc_snapshot_free(before);
    lc_snapshot_free(after);
    *tid = w.tid;
    return d;
}

START_TEST(test_diff_lists_a_thread_that_appeared_with_its_stack_and_creator) {
    pid_t tid;
    lc_diff *d = diff_around_worker(WORKER_APPEARS, &tid);
    ck_assert_uint_eq(lc_diff_new_threads(d), 1);
    ck_assert_uint_eq(lc_diff_thread_count(d), 1);
    const lc_diff_thread *t = lc_diff_thread_get(d, 0);
    ck_assert_int_eq(t->appeared, 1);
    ck_assert_int_eq(t->tid, tid);
    ck_assert_str_eq(t->state, "blocked");
    ck_assert_str_eq(t->wait, "futex");
    ck_assert_msg(thread_stack_has(d, 0, "parked_in_diff"), "its stack lacks parked_in_diff");
    ck_assert_msg(stack_has_function(t->created_by, "start_parked"),
                  "its creator is not start_parked");
    lc_diff_free(d);
}
END_TEST

START_TEST(test_diff_lists_a_thread_that_vanished) {
    pid_t tid;
    lc_diff *d = diff_around_worker(WORKER_VANISHES, &tid);
    ck_assert_uint_eq(lc_diff_vanished_threads(d), 1);
    ck_assert_uint_eq(lc_diff_thread_count(d), 1);
    const lc_diff_thread *t = lc_diff_thread_get(d, 0);
    ck_assert_int_eq(t->appeared, 0);
    ck_assert_int_eq(t->tid, tid);
    ck_assert_msg(thread_stack_has(d, 0, "parked_in_diff"), "its stack lacks parked_in_diff");
    lc_diff_free(d);
}
END_TEST

START_TEST(test_diff_of_the_same_threads_lists_none) {
    pid_t tid;
    lc_diff *d = diff_around_worker(WORKER_STAYS, &tid);
    ck_assert_uint_eq(lc_diff_thread_count(d), 0);
    ck_assert_uint_eq(lc_diff_new_threads(d) + lc_diff_vanished_threads(d), 0);
    lc_diff_free(d);
}
END_TEST

START_TEST(test_diff_print_shows_threads_as_a_dump_diff) {
    pid_t tid;
    lc_diff *d = diff_around_worker(WORKER_APPEARS, &tid);
    char text[8192] = "";
    FILE *f = fmemopen(text, sizeof text - 1, "w");
    lc_diff_print(d, f);
    fclose(f);
    char header[64];
    snprintf(header, sizeof header, "+ thread %d ", (int)tid);
    ck_assert_msg(strstr(text, header) != NULL, "no \"%s\" in:\n%s", header, text);
    ck_assert_msg(strstr(text, "+     parked_in_diff") != NULL, "no parked_in_diff frame in:\n%s",
                  text);
    ck_assert_msg(strstr(text, "+ created by start_parked") != NULL, "no creator in:\n%s", text);
    lc_diff_free(d);
}
END_TEST

/* ------------------------------------------------------------ symbolization */

static int static_alloc_line;

static void *static_helper_that_leaks(void) {
    static_alloc_line = __LINE__ + 1;
    return malloc(55);
}

START_TEST(test_static_function_is_named_with_file_and_line) {
    lc_baseline();
    void *p = static_helper_that_leaks();
    lc_result r = check_now(NULL);
    ASSERT_ONE_LEAK_AT(r, "static_helper_that_leaks");
    ck_assert_ptr_nonnull(strstr(r.sites[0].file, "test_heap.c"));
    ck_assert_int_eq(r.sites[0].line, static_alloc_line);
    free(p);
}
END_TEST

START_TEST(test_freed_static_helper_block_is_clean) {
    lc_baseline();
    free(static_helper_that_leaks());
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

/* ------------------------------------------------------------ leak classes */

static void *global_holder;

START_TEST(test_block_held_by_a_global_is_classified_reachable) {
    lc_baseline();
    global_holder = leak_once();
    lc_result r = check_now(NULL);
    ck_assert_int_eq(r.leaked_objects, 1);
    ck_assert_str_eq(r.sites[0].klass, "reachable");
    ck_assert_int_eq(r.unreachable_objects, 0);
    free(global_holder);
    global_holder = NULL;
}
END_TEST

/* The only copy of the pointer is disguised, as a conservative scanner
 * (this library's, valgrind's) cannot see it; the test frees it after. */
#define DISGUISE ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
static uintptr_t disguised_block;

static void lose_a_block(void) {
    void *volatile p = leak_once();
    disguised_block = (uintptr_t)p ^ DISGUISE;
    memset((void *)&p, 0, sizeof p);
}

/* Dead frames keep stale copies of pointers, which a conservative scan
 * rightly counts; wipe the stack below this frame as a collector's tests
 * do, so the test does not depend on what the compiler left there. */
static void scrub_stack(void) {
    volatile char wipe[16384];
    memset((char *)wipe, 0, sizeof wipe);
}

START_TEST(test_block_nothing_points_to_is_classified_unreachable) {
    lc_baseline();
    lose_a_block();
    scrub_stack();
    lc_result r = check_now(NULL);
    ck_assert_int_eq(r.leaked_objects, 1);
    ck_assert_str_eq(r.sites[0].klass, "unreachable");
    ck_assert_int_eq(r.unreachable_objects, 1);
    free((void *)(disguised_block ^ DISGUISE));
}
END_TEST

/* ------------------------------------------------------------ runtime-owned memory */

static void use_the_c_runtime(void) {
    char buf[64];
    time_t t = 0;
    struct tm tm;
    printf("%s", "");
    fflush(stdout);
    localtime_r(&t, &tm);
    ck_assert_ptr_nonnull(localtime(&t));
    ck_assert_ptr_nonnull(strerror(EINVAL));
    snprintf(buf, sizeof buf, "%s", strerror(ENOENT));
    getpwuid(0);
    void *lib = dlopen("libresolv.so.2", RTLD_NOW);
    (void)lib; /* left open: the dynamic linker owns it */
    pthread_t th;
    pthread_create(&th, NULL, allocate_in_thread, NULL);
    void *p;
    pthread_join(th, &p);
    free(p);
}

START_TEST(test_c_runtime_first_use_is_clean_at_zero_budget) {
    lc_baseline();
    use_the_c_runtime();
    lc_result r = check_now("bytes=0,objects=0,threads=0");
    ASSERT_CLEAN(r);
}
END_TEST

START_TEST(test_c_runtime_first_use_does_not_hide_a_real_leak) {
    lc_baseline();
    use_the_c_runtime();
    void *p = leak_once();
    lc_result r = check_now("bytes=0,objects=0,threads=0");
    ASSERT_ONE_LEAK_AT(r, "leak_once");
    free(p);
}
END_TEST

/* A passing check asks only whether the new blocks are the runtime's, from
 * the runtime's own roots (runtime_owned.c); the full scan is for a leak. */
START_TEST(test_c_runtime_blocks_are_proven_the_runtimes_without_the_full_scan) {
    lc_baseline();
    uint64_t since = lc_heap_next_seq();
    use_the_c_runtime();
    ck_assert(lc_heap_any_new(since, LC_BLOCK_RUNTIME));
    ck_assert(lc_runtime_owns_new(since));
    /* Flagged, as the full scan flags them: the next check counts them out. */
    ck_assert(!lc_heap_any_new(since, LC_BLOCK_RUNTIME));
    lc_result r = check_now("bytes=0,objects=0,threads=0");
    ASSERT_CLEAN(r);
}
END_TEST

START_TEST(test_a_leak_beside_c_runtime_blocks_is_left_to_the_full_scan) {
    lc_baseline();
    uint64_t since = lc_heap_next_seq();
    use_the_c_runtime();
    void *p = leak_once();
    ck_assert(!lc_runtime_owns_new(since));
    ck_assert(lc_heap_any_new(since, LC_BLOCK_RUNTIME));
    lc_result r = check_now("bytes=0,objects=0,threads=0");
    ASSERT_ONE_LEAK_AT(r, "leak_once");
    free(p);
}
END_TEST

/* ------------------------------------------------------------ reports */

#define MANY_SITES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#define DEFINE_SITE(n)                                                                             \
    static void *many_site_##n(void) {                                                             \
        return malloc(16 + n);                                                                     \
    }
MANY_SITES(DEFINE_SITE)
#define CALL_SITE(n) blocks[n] = many_site_##n();

START_TEST(test_long_report_is_cut_with_a_count_of_what_was_left_out) {
    void *blocks[10];
    lc_baseline();
    MANY_SITES(CALL_SITE)
    lc_result r;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION, .quiet = 1, .top = 3}, &r);
    ck_assert_int_eq(r.leaked_objects, 10);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "7 more sites"));
    for (int i = 0; i < 10; i++)
        free(blocks[i]);
}
END_TEST

START_TEST(test_short_report_is_not_cut) {
    void *blocks[10];
    lc_baseline();
    MANY_SITES(CALL_SITE)
    lc_result r;
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION, .quiet = 1, .top = 10}, &r);
    ck_assert_ptr_null(strstr(lc_last_report(), "more sites"));
    for (int i = 0; i < 10; i++)
        free(blocks[i]);
}
END_TEST

START_TEST(test_json_report_has_the_schema_fields) {
    lc_baseline();
    void *p = leak_once();
    lc_result r = check_now(NULL);
    (void)r;
    const char *j = lc_last_report_json();
    ck_assert_ptr_nonnull(strstr(j, "\"schema\": \"leakcheck/1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"verdict\": \"leak\""));
    ck_assert_ptr_nonnull(strstr(j, "\"leaked_bytes\": 77"));
    ck_assert_ptr_nonnull(strstr(j, "\"function\": \"leak_once\""));
    free(p);
    r = check_now(NULL);
    ck_assert_ptr_nonnull(strstr(lc_last_report_json(), "\"verdict\": \"clean\""));
}
END_TEST

/* ------------------------------------------------------------ profiles of a failing check */

static int count_profiles(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/*.pb.gz 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

/* A new empty directory for the profiles of one test (mkdtemp fills in
 * the X's). */
#define PROFILE_DIR_TEMPLATE "/tmp/lc-profiles-XXXXXX"
static void make_profile_dir(char *dir) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* The profiles written into dir, which is then removed. */
static int count_profiles_and_remove(const char *dir) {
    int n = count_profiles(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    return n;
}

static void check_with_profiles(int leak, int *profiles, int *named) {
    char dir[] = PROFILE_DIR_TEMPLATE;
    make_profile_dir(dir);
    setenv("LEAKCHECK_PPROF_DIR", dir, 1);
    lc_baseline();
    void *p = leak ? leak_once() : NULL;
    lc_result r = check_now(NULL);
    (void)r;
    unsetenv("LEAKCHECK_PPROF_DIR");
    lc_baseline(); /* drops the baseline's snapshot */
    free(p);
    *profiles = count_profiles_and_remove(dir);
    *named = strstr(lc_last_report(), "heap profiles:") != NULL;
}

START_TEST(test_failing_check_writes_before_and_after_profiles) {
    int profiles, named;
    check_with_profiles(1, &profiles, &named);
    ck_assert_int_eq(profiles, 2);
    ck_assert_int_eq(named, 1);
}
END_TEST

START_TEST(test_passing_check_writes_no_profiles) {
    int profiles, named;
    check_with_profiles(0, &profiles, &named);
    ck_assert_int_eq(profiles, 0);
    ck_assert_int_eq(named, 0);
}
END_TEST

/* A forked child's baseline is the fork: it keeps the snapshot when the
 * variable was set in the parent at the fork, and not when it was unset
 * there. Returns the profiles the child's failing check wrote. */
static int profiles_of_a_forked_childs_leak(bool set_at_fork) {
    char dir[] = PROFILE_DIR_TEMPLATE;
    make_profile_dir(dir);
    if (set_at_fork) setenv("LEAKCHECK_PPROF_DIR", dir, 1);
    pid_t pid = fork();
    if (pid == 0) {
        /* Set after the fork: the child's baseline, taken at the fork,
         * has no snapshot to write, whatever the check finds now. */
        if (!set_at_fork) setenv("LEAKCHECK_PPROF_DIR", dir, 1);
        void *p = leak_once();
        lc_result r = check_now(NULL);
        _exit(r.verdict == 1 && p ? 0 : 3);
    }
    unsetenv("LEAKCHECK_PPROF_DIR");
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return count_profiles_and_remove(dir);
}

START_TEST(test_a_forked_childs_failing_check_writes_profiles_when_set_at_the_fork) {
    ck_assert_int_eq(profiles_of_a_forked_childs_leak(true), 2);
}
END_TEST

START_TEST(test_a_forked_childs_baseline_keeps_no_snapshot_when_unset_at_the_fork) {
    ck_assert_int_eq(profiles_of_a_forked_childs_leak(false), 0);
}
END_TEST

/* ------------------------------------------------------------ watched objects */

static void *make_session(void) {
    return malloc(48);
}

START_TEST(test_watched_object_still_live_fails_whatever_the_budget) {
    lc_baseline();
    void *s = make_session();
    lc_watch(s, "session of alice");
    lc_result r = check_now("bytes=inf,objects=inf");
    ck_assert_int_eq(r.verdict, 1);
    ck_assert_int_eq(r.watched_live, 1);
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "\"session of alice\" is still live"));
    ck_assert_ptr_nonnull(strstr(lc_last_report(), "make_session"));
    free(s);
}
END_TEST

START_TEST(test_watched_object_freed_passes) {
    lc_baseline();
    void *s = make_session();
    lc_watch(s, "session of bob");
    free(s);
    void *reuse = make_session(); /* may land at the same address: a new block */
    lc_result r = check_now("bytes=inf,objects=inf");
    ck_assert_int_eq(r.verdict, 0);
    ck_assert_int_eq(r.watched_live, 0);
    free(reuse);
}
END_TEST

/* ------------------------------------------------------------ collection hooks */

static void *cache_entry;
static void empty_cache(void *arg) {
    (void)arg;
    free(cache_entry);
    cache_entry = NULL;
}

START_TEST(test_collect_hook_runs_before_the_check) {
    static int registered;
    if (!registered) registered = lc_at_collect(empty_cache, NULL) == 0;
    lc_baseline();
    cache_entry = malloc(64);
    lc_result r = check_now(NULL);
    ASSERT_CLEAN(r);
}
END_TEST

START_TEST(test_without_hook_cached_block_is_a_leak) {
    lc_baseline();
    void *cached = malloc(64);
    global_holder = cached;
    lc_result r = check_now(NULL);
    ck_assert_int_eq(r.verdict, 1);
    free(cached);
    global_holder = NULL;
}
END_TEST

/* A hook that starts a collection point or a check of its own: each nested
 * call must come back with -1 at once, neither recursing nor waiting on the
 * check that runs the hook. The hook stays registered, so it acts only
 * while a test asks it to. */
static int nesting_hook_active;
static int nested_collect_rc, nested_verify_rc;
static void nesting_hook(void *arg) {
    (void)arg;
    if (!nesting_hook_active) return;
    nested_collect_rc = lc_collect();
    nested_verify_rc = lc_verify_none(&(const lc_options){
        .struct_version = LC_OPTIONS_VERSION, .quiet = 1, .settle_seconds = 0.01});
}

static void register_nesting_hook(void) {
    static int registered;
    if (!registered) registered = lc_at_collect(nesting_hook, NULL) == 0;
    ck_assert(registered);
}

START_TEST(test_collect_inside_a_hook_returns_an_error) {
    register_nesting_hook();
    nested_collect_rc = nested_verify_rc = 99;
    nesting_hook_active = 1;
    int rc = lc_collect();
    nesting_hook_active = 0;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(nested_collect_rc, -1);
    ck_assert_int_eq(nested_verify_rc, -1);
}
END_TEST

START_TEST(test_check_inside_a_hook_returns_an_error) {
    register_nesting_hook();
    lc_baseline();
    nested_collect_rc = nested_verify_rc = 99;
    nesting_hook_active = 1;
    lc_result r = check_now(NULL);
    nesting_hook_active = 0;
    ck_assert_int_eq(r.verdict, 0);
    ck_assert_int_eq(nested_collect_rc, -1);
    ck_assert_int_eq(nested_verify_rc, -1);
    /* Without the hook acting, the same calls work. */
    ck_assert_int_eq(lc_collect(), 0);
}
END_TEST

/* ------------------------------------------------------------ Check integration */

START_TEST(inner_leaky_test) {
    global_holder = leak_once();
}
END_TEST

START_TEST(inner_clean_test) {
    free(leak_once());
}
END_TEST

START_TEST(inner_assert_no_leaks_leaky) {
    lc_baseline();
    global_holder = leak_once();
    ck_assert_no_leaks(.out = stdout);
}
END_TEST

START_TEST(inner_assert_no_leaks_clean) {
    lc_baseline();
    free(leak_once());
    ck_assert_no_leaks();
}
END_TEST

/* The inner suite runs in a child process of its own (this program run
 * again with LC_INNER_SUITE set), so its failures are observed from outside
 * exactly as a user sees them. */
static int run_inner_suite(void) {
    Suite *s = suite_create("inner");
    TCase *fixture = tcase_create("fixture");
    lc_tcase_add_leak_check(fixture);
    tcase_add_test(fixture, inner_leaky_test);
    tcase_add_test(fixture, inner_clean_test);
    suite_add_tcase(s, fixture);
    TCase *assert_case = tcase_create("assert");
    tcase_add_test(assert_case, inner_assert_no_leaks_leaky);
    tcase_add_test(assert_case, inner_assert_no_leaks_clean);
    suite_add_tcase(s, assert_case);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(global_holder); /* the no-fork runs leave the last leak here */
    return failed;
}

static char *run_inner(const char *fork_mode, int *failed) {
    char self[400], cmd[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(cmd, sizeof cmd,
             "env -u CK_RUN_CASE -u CK_RUN_SUITE LC_INNER_SUITE=1 CK_FORK=%s '%s' 2>&1", fork_mode,
             self);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    char line[1024];
    while (fgets(line, sizeof line, p))
        fputs(line, mem);
    fclose(mem);
    int status = pclose(p);
    *failed = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

static void check_inner_suite(const char *fork_mode) {
    int failed;
    char *out = run_inner(fork_mode, &failed);
    ck_assert_msg(failed == 2, "expected exactly the two leaky tests to fail, got %d:\n%s", failed,
                  out);
    ck_assert_msg(strstr(out, "inner_leaky_test") && strstr(out, "inner_assert_no_leaks_leaky"),
                  "failures not named:\n%s", out);
    ck_assert_msg(strstr(out, "leak_once"), "report does not name the site:\n%s", out);
    ck_assert_msg(!strstr(out, ":F:fixture:inner_clean_test") &&
                      !strstr(out, ":E:fixture:inner_clean_test") &&
                      !strstr(out, ":F:assert:inner_assert_no_leaks_clean"),
                  "a clean test failed:\n%s", out);
    free(out);
}

START_TEST(test_fixture_and_assert_fail_exactly_the_leaky_tests_in_fork_mode) {
    check_inner_suite("yes");
}
END_TEST

START_TEST(test_fixture_and_assert_fail_exactly_the_leaky_tests_in_nofork_mode) {
    check_inner_suite("no");
}
END_TEST

/* ------------------------------------------------------------ stacks */

/* The stack index starts small and doubles: every stack interned before,
 * during and after the doublings is found again under its own id, with
 * its own frames, and a new stack never takes an old one's id. */
START_TEST(test_interned_stacks_keep_their_ids_as_the_index_grows) {
    enum { STACKS = 5000 };
    static lc_stack_id ids[STACKS];
    uint32_t before = lc_stack_count();
    for (uintptr_t i = 0; i < STACKS; i++) {
        uintptr_t pcs[3] = {0x5000000 + i * 16, 0x6000000 + (i % 7), 0x7000000};
        ids[i] = lc_stack_intern(pcs, 3);
        ck_assert_uint_ne(ids[i], 0);
        ck_assert_uint_ge(ids[i], before);
    }
    ck_assert_uint_ge(lc_stack_count(), before + STACKS);
    for (uintptr_t i = 0; i < STACKS; i++) {
        uintptr_t pcs[3] = {0x5000000 + i * 16, 0x6000000 + (i % 7), 0x7000000};
        ck_assert_uint_eq(lc_stack_intern(pcs, 3), ids[i]);
        const uintptr_t *got;
        ck_assert_int_eq(lc_stack_get(ids[i], &got), 3);
        ck_assert_uint_eq(got[0], pcs[0]);
        ck_assert_uint_eq(got[1], pcs[1]);
        if (i) ck_assert_uint_ne(ids[i], ids[i - 1]);
    }
}
END_TEST

static void *account_twice(void *id) {
    lc_stack_account((lc_stack_id)(uintptr_t)id, 100);
    lc_stack_account((lc_stack_id)(uintptr_t)id, 20);
    return NULL;
}

/* A process with one thread counts a stack's allocations in its record,
 * one with threads in per-thread shards: the totals are all of them, made
 * before and while another thread ran. (In fork mode the test starts with
 * one thread, so both ways are taken.) */
START_TEST(test_a_stacks_totals_count_allocations_from_before_and_with_threads) {
    uintptr_t pcs[2] = {0x8400000, 0x8500000};
    lc_stack_id id = lc_stack_intern(pcs, 2);
    ck_assert_uint_ne(id, 0);
    lc_stack_account(id, 5);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, account_twice, (void *)(uintptr_t)id), 0);
    lc_stack_account(id, 7);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    uint64_t objects, bytes;
    lc_stack_totals(id, &objects, &bytes);
    ck_assert_uint_eq(objects, 4);
    ck_assert_uint_eq(bytes, 132);
}
END_TEST

enum { COUNTING_THREADS = 12, COUNTS_EACH = 1000 };
static pthread_barrier_t counting_together;

static void *count_together(void *id) {
    pthread_barrier_wait(&counting_together); /* every thread alive at once */
    for (int i = 0; i < COUNTS_EACH; i++)
        lc_stack_account((lc_stack_id)(uintptr_t)id, 3);
    return NULL;
}

/* Each thread takes a shard of the counters for itself while it lives
 * (seven of them), the others share the last: every count is in the
 * totals, from threads that counted at once and from threads that came
 * after others had given their shards back. */
START_TEST(test_threads_that_count_at_once_and_one_after_another_add_up) {
    uintptr_t pcs[2] = {0x8600000, 0x8700000};
    lc_stack_id id = lc_stack_intern(pcs, 2);
    ck_assert_uint_ne(id, 0);
    for (int round = 0; round < 2; round++) {
        pthread_t t[COUNTING_THREADS];
        pthread_barrier_init(&counting_together, NULL, COUNTING_THREADS);
        for (int i = 0; i < COUNTING_THREADS; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, count_together, (void *)(uintptr_t)id), 0);
        for (int i = 0; i < COUNTING_THREADS; i++)
            ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        pthread_barrier_destroy(&counting_together);
    }
    uint64_t objects, bytes;
    lc_stack_totals(id, &objects, &bytes);
    ck_assert_uint_eq(objects, 2 * COUNTING_THREADS * COUNTS_EACH);
    ck_assert_uint_eq(bytes, 3 * 2 * COUNTING_THREADS * COUNTS_EACH);
}
END_TEST

struct totals_seen {
    lc_stack_id id;
    uint64_t objects, bytes;
};

static void *read_totals(void *arg) {
    struct totals_seen *seen = arg;
    lc_stack_totals(seen->id, &seen->objects, &seen->bytes);
    return NULL;
}

/* A thread reads the totals of a stack its creator counted before, while
 * it may have been the process's only thread (which holds its counts
 * apart), and before the creator counts anything again: all are there. */
START_TEST(test_a_new_thread_reads_the_counts_its_creator_made_before_it) {
    uintptr_t pcs[2] = {0x8c00000, 0x8d00000};
    struct totals_seen seen = {.id = lc_stack_intern(pcs, 2)};
    ck_assert_uint_ne(seen.id, 0);
    lc_stack_settle(); /* every slot free: this stack's counts are held */
    lc_stack_account(seen.id, 40);
    lc_stack_account(seen.id, 2);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, read_totals, &seen), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(seen.objects, 2);
    ck_assert_uint_eq(seen.bytes, 42);
}
END_TEST

/* A forked child's totals include what its parent had counted when it
 * forked, and the parent's leave out what the child counts. */
START_TEST(test_a_forked_childs_totals_start_from_its_parents) {
    uintptr_t pcs[2] = {0x8c00010, 0x8d00000};
    lc_stack_id id = lc_stack_intern(pcs, 2);
    ck_assert_uint_ne(id, 0);
    lc_stack_settle(); /* every slot free: this stack's counts are held */
    lc_stack_account(id, 16);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        lc_stack_account(id, 4);
        uint64_t objects, bytes;
        lc_stack_totals(id, &objects, &bytes);
        _exit(objects == 2 && bytes == 20 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    uint64_t objects, bytes;
    lc_stack_totals(id, &objects, &bytes);
    ck_assert_uint_eq(objects, 1);
    ck_assert_uint_eq(bytes, 16);
}
END_TEST

/* A forked child interns stacks the parent never saw, and finds the
 * parent's under the ids the parent gave them. */
START_TEST(test_forked_child_interns_new_stacks_and_keeps_the_parents) {
    uintptr_t old[2] = {0x8100000, 0x8200000};
    lc_stack_id parent_id = lc_stack_intern(old, 2);
    ck_assert_uint_ne(parent_id, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = lc_stack_intern(old, 2) != parent_id;
        for (uintptr_t i = 0; i < 3000 && !bad; i++) {
            uintptr_t pcs[2] = {0x8300000 + i * 8, 0x8200000};
            lc_stack_id id = lc_stack_intern(pcs, 2);
            bad = id == 0 || id == parent_id || lc_stack_intern(pcs, 2) != id;
        }
        _exit(bad);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_eq(lc_stack_intern(old, 2), parent_id);
}
END_TEST

/* Whether the stacks {base + i * 16, 0x8a00000} for i < n resolve to
 * their own frames under the ids given, and each counts what was
 * accounted to it (i + 1 allocations of 8 bytes). */
static bool stacks_resolve(uintptr_t base, const lc_stack_id *ids, int n) {
    for (int i = 0; i < n; i++) {
        uintptr_t pcs[2] = {base + (uintptr_t)i * 16, 0x8a00000};
        const uintptr_t *got;
        uint64_t objects, bytes;
        lc_stack_totals(ids[i], &objects, &bytes);
        if (lc_stack_intern(pcs, 2) != ids[i] || lc_stack_get(ids[i], &got) != 2 ||
            got[0] != pcs[0] || got[1] != pcs[1] || objects != (uint64_t)i + 1 ||
            bytes != 8 * ((uint64_t)i + 1) || ids[i] >= lc_stack_count())
            return false;
    }
    return true;
}

static bool intern_and_account(uintptr_t base, lc_stack_id *ids, int n) {
    for (int i = 0; i < n; i++) {
        uintptr_t pcs[2] = {base + (uintptr_t)i * 16, 0x8a00000};
        ids[i] = lc_stack_intern(pcs, 2);
        if (ids[i] == 0 || (i && ids[i] == ids[i - 1])) return false;
        for (int k = 0; k <= i; k++)
            lc_stack_account(ids[i], 8);
    }
    return true;
}

/* A forked child keeps its first new stacks apart from the table (a
 * forked Check test then writes none of the table's pages): each, and each
 * after them, still resolves to its frames under its id, counts its
 * allocations, and stays so in a grandchild, which adds its own. */
START_TEST(test_a_forked_childs_stacks_resolve_and_count_in_it_and_its_children) {
    enum { STACKS = 40 }; /* more than a child keeps apart */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        lc_stack_id ids[STACKS], more[STACKS];
        bool ok =
            intern_and_account(0x8b00000, ids, STACKS) && stacks_resolve(0x8b00000, ids, STACKS);
        pid_t grandchild = ok ? fork() : -1;
        if (grandchild == 0)
            _exit(!(stacks_resolve(0x8b00000, ids, STACKS) &&
                    intern_and_account(0x8c00000, more, STACKS) &&
                    stacks_resolve(0x8c00000, more, STACKS) &&
                    stacks_resolve(0x8b00000, ids, STACKS)));
        int status = 1;
        ok = ok && grandchild > 0 && waitpid(grandchild, &status, 0) == grandchild &&
             WIFEXITED(status) && WEXITSTATUS(status) == 0;
        _exit(!ok);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* A mapping the library frees may be kept and handed out again for the
 * next one of its size: it still comes zeroed, and it is still the
 * library's own, so the scan never takes it for the program's memory. */
START_TEST(test_a_reused_mapping_comes_zeroed_and_stays_the_librarys) {
    enum { SIZE = 3 * 4096 + 100 };
    for (int round = 0; round < 4; round++) {
        unsigned char *p = lc_os_alloc(SIZE);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < SIZE; i++)
            ck_assert_msg(p[i] == 0, "byte %zu of round %d is %d", i, round, p[i]);
        static lc_region own[LC_OS_OWN_MAX];
        size_t n = lc_os_own_mappings(own, LC_OS_OWN_MAX);
        bool listed = false;
        for (size_t i = 0; i < n; i++)
            listed |= own[i].start <= (uintptr_t)p && own[i].end >= (uintptr_t)p + SIZE;
        ck_assert_msg(listed, "round %d: the mapping is not among the library's own", round);
        memset(p, 0xa5, SIZE);
        lc_os_free(p, SIZE);
    }
}
END_TEST

/* Whether [p, p + size) is all zero and inside one of the library's own
 * mappings. */
static bool zeroed_and_own(const unsigned char *p, size_t size) {
    static lc_region own[LC_OS_OWN_MAX];
    if (!p) return false;
    for (size_t i = 0; i < size; i++)
        if (p[i]) return false;
    size_t n = lc_os_own_mappings(own, LC_OS_OWN_MAX);
    for (size_t i = 0; i < n; i++)
        if (own[i].start <= (uintptr_t)p && own[i].end >= (uintptr_t)p + size) return true;
    return false;
}

static bool apart(const unsigned char *a, size_t asize, const unsigned char *b, size_t bsize) {
    return a + asize <= b || b + bsize <= a;
}

/* A forked child's check takes its scratch areas from a reservation its
 * parent made, not from new mappings: each still comes zeroed, apart from
 * every other area out, and the library's own, also when an area was given
 * back below others, after all were given back, and beyond the
 * reservation's size. */
START_TEST(test_a_forked_childs_scratch_areas_come_zeroed_apart_and_the_librarys) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        enum { A = 8192, B = 3 * 4096 + 100, C = 116 * 1024, BIG = 2 << 20 };
        int step = 0;
        unsigned char *a = lc_os_alloc(A), *b = lc_os_alloc(B), *c = lc_os_alloc(C);
        if (!zeroed_and_own(a, A) || !zeroed_and_own(b, B) || !zeroed_and_own(c, C) ||
            !apart(a, A, b, B) || !apart(a, A, c, C) || !apart(b, B, c, C))
            _exit(10 + step);
        step++;
        memset(a, 0x5a, A), memset(b, 0x5a, B), memset(c, 0x5a, C);
        lc_os_free(a, A);
        unsigned char *d = lc_os_alloc(A);
        if (!zeroed_and_own(d, A) || !apart(d, A, b, B) || !apart(d, A, c, C)) _exit(10 + step);
        step++;
        memset(d, 0x5a, A);
        lc_os_free(b, B), lc_os_free(c, C), lc_os_free(d, A);
        unsigned char *e = lc_os_alloc(C), *big = lc_os_alloc(BIG);
        if (!zeroed_and_own(e, C) || !zeroed_and_own(big, BIG) || !apart(e, C, big, BIG))
            _exit(10 + step);
        lc_os_free(e, C), lc_os_free(big, BIG);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0, "failed at step %d", WEXITSTATUS(status) - 10);
}
END_TEST

/* ------------------------------------------------------------ suite */

/* ------------------------------------------------------------ sorting */

/* A few blocks are sorted in place, many by radix: both give the order a
 * scan looks blocks up in. */
static void check_sorted_by_addr(size_t n) {
    lc_block *b = calloc(n, sizeof *b);
    ck_assert_ptr_nonnull(b);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i].key = ((x & 0xffffffffff0ull) | 16) ^ LC_HIDE;
    }
    lc_blocks_sort_by_addr(b, n);
    for (size_t i = 1; i < n; i++)
        ck_assert_uint_le(lc_block_addr(&b[i - 1]), lc_block_addr(&b[i]));
    free(b);
}

#if !LC_TEST_SANITIZER /* a sanitizer's allocator: no header store */
/* The header store lists its blocks by address even when the GB of address
 * space a block lands in was first used after a higher one (mmap hands out
 * addresses from the top down): a check's copy of a million blocks then
 * needs no sort. A block of 1.5 GB, mapped by glibc below the 300 KB one
 * made before it, starts such a lower GB. */
START_TEST(test_a_heap_copy_lists_the_header_stores_blocks_by_address) {
    if (!lc_inband_on()) return; /* valgrind: the table holds every block */
    char *high = malloc(300 << 10), *low = malloc((size_t)3 << 29);
    ck_assert_ptr_nonnull(high);
    ck_assert_ptr_nonnull(low);
    ck_assert_msg((uintptr_t)low >> 30 < (uintptr_t)high >> 30,
                  "the big block did not land below the GB of the first one");
    size_t cap = lc_heap_live_count() + 1024;
    lc_block *b = malloc(cap * sizeof *b);
    ck_assert_ptr_nonnull(b);
    size_t n = lc_heap_copy(b, cap, 0);
    ck_assert_uint_le(n, cap);
    uintptr_t prev = 0;
    size_t listed = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = lc_block_addr(&b[i]);
        if (!lc_inband_owns(a)) continue; /* the table's blocks come first */
        ck_assert_msg(prev < a, "block %zu at %#lx listed after %#lx", i, (unsigned long)a,
                      (unsigned long)prev);
        prev = a;
        listed += a == (uintptr_t)high || a == (uintptr_t)low;
    }
    ck_assert_uint_eq(listed, 2);
    free(b);
    free(low);
    free(high);
}
END_TEST
#endif

START_TEST(test_a_few_blocks_sort_by_address) {
    check_sorted_by_addr(2);
    check_sorted_by_addr(31);
    check_sorted_by_addr(32);
}
END_TEST

START_TEST(test_many_blocks_sort_by_address) {
    check_sorted_by_addr(33);
    check_sorted_by_addr(5000);
}
END_TEST

/* Sorted by the upper half, values equal there in their first order (the
 * lower half numbers them), whether few or many. */
static void check_u64_sort_is_stable(size_t n) {
    uint64_t *v = calloc(2 * n, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)((i * 7919) % 5) << 32 | i;
    lc_sort_u64(v, v + n, n, 32, 27);
    for (size_t i = 1; i < n; i++) {
        ck_assert_uint_le(v[i - 1] >> 32, v[i] >> 32);
        if (v[i - 1] >> 32 == v[i] >> 32) ck_assert_uint_lt((uint32_t)v[i - 1], (uint32_t)v[i]);
    }
    free(v);
}

START_TEST(test_a_few_keys_sort_stably_by_their_upper_bits) {
    check_u64_sort_is_stable(3);
    check_u64_sort_is_stable(32);
}
END_TEST

START_TEST(test_many_keys_sort_stably_by_their_upper_bits) {
    check_u64_sort_is_stable(33);
    check_u64_sort_is_stable(4000);
}
END_TEST

static Suite *heap_suite(void) {
    Suite *s = suite_create("heap");
    TCase *tc = tcase_create("entry points");
#define ADD_ENTRY(name)                                                                            \
    tcase_add_test(tc, test_##name##_leak_is_reported_at_its_caller);                              \
    tcase_add_test(tc, test_##name##_freed_is_clean);
    ADD_ENTRY(malloc)
    ADD_ENTRY(calloc)
    ADD_ENTRY(realloc_from_null)
    ADD_ENTRY(reallocarray)
    ADD_ENTRY(posix_memalign)
    ADD_ENTRY(aligned_alloc)
    ADD_ENTRY(memalign)
    ADD_ENTRY(valloc)
    ADD_ENTRY(pvalloc)
    ADD_ENTRY(strdup)
    ADD_ENTRY(asprintf)
    tcase_add_test(tc, test_getline_buffer_leak_is_reported);
    tcase_add_test(tc, test_getline_buffer_freed_is_clean);
    tcase_add_test(tc, test_open_memstream_left_open_is_reported);
    tcase_add_test(tc, test_open_memstream_closed_and_freed_is_clean);
    tcase_add_test(tc, test_realloc_chain_leaks_one_block_of_final_size);
    tcase_add_test(tc, test_realloc_chain_freed_is_clean);
    tcase_add_test(tc, test_a_stack_depth_above_the_default_keeps_that_many_frames);
    tcase_add_test(tc, test_the_default_stack_depth_keeps_its_frames_of_a_deeper_stack);
    tcase_add_test(tc, test_a_loops_allocations_from_one_site_share_one_stack_and_count_each);
    tcase_add_test(tc, test_alternating_paths_from_one_site_keep_their_own_stacks);
    tcase_add_test(tc, test_a_walk_cut_shorter_than_the_last_is_its_own_stack);
    suite_add_tcase(s, tc);

    tc = tcase_create("re-entry, threads, signals, fork");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_block_freed_by_another_thread_is_clean);
    tcase_add_test(tc, test_block_from_another_thread_never_freed_is_reported);
    tcase_add_test(tc, test_allocation_in_signal_handler_is_tracked);
    tcase_add_test(tc, test_allocation_freed_in_signal_handler_is_clean);
    tcase_add_test(tc, test_a_signal_handler_never_takes_the_sequence_number_its_thread_was_taking);
    tcase_add_test(tc, test_library_allocations_for_a_report_are_never_reported);
    tcase_add_test(tc, test_leak_after_a_report_is_still_reported);
    tcase_add_test(tc, test_fork_in_threaded_program_child_is_clean);
    tcase_add_test(tc, test_fork_in_threaded_program_child_leak_is_reported);
    tcase_add_test(tc, test_block_allocated_before_baseline_is_not_a_leak);
    tcase_add_test(tc, test_block_allocated_after_baseline_is_a_leak);
    tcase_add_test(tc, test_fork_is_the_baseline_of_the_child);
    tcase_add_test(tc, test_leak_in_forked_child_is_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("block layout");
    tcase_add_test(tc, test_usable_size_is_all_the_program_may_write);
    tcase_add_test(tc, test_aligned_blocks_keep_alignment_and_contents_through_realloc);
    tcase_add_test(tc, test_tiny_blocks_carved_from_the_top_are_each_reported);
    tcase_add_test(tc, test_tiny_blocks_carved_from_the_top_and_freed_are_clean);
#if !LC_TEST_SANITIZER
    tcase_add_test(tc, test_block_from_glibc_itself_grown_by_realloc_and_kept_is_reported);
    tcase_add_test(tc, test_block_from_glibc_itself_freed_through_free_is_clean);
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("stacks and mappings");
    tcase_add_test(tc, test_interned_stacks_keep_their_ids_as_the_index_grows);
    tcase_add_test(tc, test_forked_child_interns_new_stacks_and_keeps_the_parents);
    tcase_add_test(tc, test_a_forked_childs_stacks_resolve_and_count_in_it_and_its_children);
    tcase_add_test(tc, test_a_stacks_totals_count_allocations_from_before_and_with_threads);
    tcase_add_test(tc, test_a_new_thread_reads_the_counts_its_creator_made_before_it);
    tcase_add_test(tc, test_threads_that_count_at_once_and_one_after_another_add_up);
    tcase_add_test(tc, test_a_forked_childs_totals_start_from_its_parents);
    tcase_add_test(tc, test_a_reused_mapping_comes_zeroed_and_stays_the_librarys);
    tcase_add_test(tc, test_a_forked_childs_scratch_areas_come_zeroed_apart_and_the_librarys);
    suite_add_tcase(s, tc);

    tc = tcase_create("sorting");
#if !LC_TEST_SANITIZER
    tcase_add_test(tc, test_a_heap_copy_lists_the_header_stores_blocks_by_address);
#endif
    tcase_add_test(tc, test_a_few_blocks_sort_by_address);
    tcase_add_test(tc, test_many_blocks_sort_by_address);
    tcase_add_test(tc, test_a_few_keys_sort_stably_by_their_upper_bits);
    tcase_add_test(tc, test_many_keys_sort_stably_by_their_upper_bits);
    suite_add_tcase(s, tc);

    tc = tcase_create("budgets");
    tcase_add_test(tc, test_budget_parses_all_three_limits_with_suffixes);
    tcase_add_test(tc, test_malformed_budget_is_an_error_naming_the_bad_part);
    tcase_add_test(tc, test_malformed_budget_in_options_fails_the_check);
    tcase_add_test(tc, test_malformed_budget_in_environment_fails_the_check);
    tcase_add_test(tc, test_leak_within_budget_passes);
    tcase_add_test(tc, test_leak_one_byte_over_budget_fails);
    tcase_add_test(tc, test_environment_budget_applies_and_options_override_it);
    tcase_add_test(tc, test_verify_none_macro_without_arguments_reports_a_leak);
    tcase_add_test(tc, test_verify_none_macro_without_arguments_passes_when_clean);
    suite_add_tcase(s, tc);

    tc = tcase_create("diffs");
    tcase_add_test(tc, test_diff_sorts_sites_by_growth_in_bytes);
    tcase_add_test(tc, test_diff_min_objects_keeps_only_sites_that_grew_by_that_many);
    tcase_add_test(tc, test_diff_min_bytes_keeps_only_sites_that_grew_by_that_much);
    tcase_add_test(tc, test_diff_top_n_cuts_after_n_sites);
    tcase_add_test(tc, test_diff_reports_vanished_blocks_as_negative_growth);
    tcase_add_test(tc, test_diff_of_identical_snapshots_is_empty);
    tcase_add_test(tc, test_diff_leaves_out_blocks_the_runtime_owns);
    tcase_add_test(tc, test_diff_keeps_the_programs_block_beside_the_runtimes);
    tcase_add_test(tc, test_diff_lists_a_thread_that_appeared_with_its_stack_and_creator);
    tcase_add_test(tc, test_diff_lists_a_thread_that_vanished);
    tcase_add_test(tc, test_diff_of_the_same_threads_lists_none);
    tcase_add_test(tc, test_diff_print_shows_threads_as_a_dump_diff);
    suite_add_tcase(s, tc);

    tc = tcase_create("reports");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_static_function_is_named_with_file_and_line);
    tcase_add_test(tc, test_freed_static_helper_block_is_clean);
    tcase_add_test(tc, test_block_held_by_a_global_is_classified_reachable);
    tcase_add_test(tc, test_block_nothing_points_to_is_classified_unreachable);
    tcase_add_test(tc, test_c_runtime_first_use_is_clean_at_zero_budget);
    tcase_add_test(tc, test_c_runtime_first_use_does_not_hide_a_real_leak);
    tcase_add_test(tc, test_c_runtime_blocks_are_proven_the_runtimes_without_the_full_scan);
    tcase_add_test(tc, test_a_leak_beside_c_runtime_blocks_is_left_to_the_full_scan);
    tcase_add_test(tc, test_long_report_is_cut_with_a_count_of_what_was_left_out);
    tcase_add_test(tc, test_short_report_is_not_cut);
    tcase_add_test(tc, test_json_report_has_the_schema_fields);
    tcase_add_test(tc, test_watched_object_still_live_fails_whatever_the_budget);
    tcase_add_test(tc, test_watched_object_freed_passes);
    tcase_add_test(tc, test_failing_check_writes_before_and_after_profiles);
    tcase_add_test(tc, test_passing_check_writes_no_profiles);
    tcase_add_test(tc, test_a_forked_childs_failing_check_writes_profiles_when_set_at_the_fork);
    tcase_add_test(tc, test_a_forked_childs_baseline_keeps_no_snapshot_when_unset_at_the_fork);
    tcase_add_test(tc, test_collect_hook_runs_before_the_check);
    tcase_add_test(tc, test_without_hook_cached_block_is_a_leak);
    tcase_add_test(tc, test_collect_inside_a_hook_returns_an_error);
    tcase_add_test(tc, test_check_inside_a_hook_returns_an_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("check integration");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fixture_and_assert_fail_exactly_the_leaky_tests_in_fork_mode);
    tcase_add_test(tc, test_fixture_and_assert_fail_exactly_the_leaky_tests_in_nofork_mode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    if (getenv("LC_INNER_SUITE")) return run_inner_suite();
    SRunner *sr = srunner_create(heap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
