/* SPDX-License-Identifier: MIT */
/* scan_bench.c: times the reachability scan of a check on a big heap.
 *
 * It owns the scan figure of `make bench` (the target of bench/README.md: a
 * 200 MB heap of 1 million blocks checked in under a second). Linked against
 * build/libleakcheck.so, so every block it makes is tracked, it builds
 *   - 70% of the blocks as chains hanging from a global hash table, but one
 *     in 16 of them held only through an interior pointer from another node,
 *   - 20% in a thread that keeps them behind a local variable and then
 *     blocks forever, never joined (a leaked thread),
 *   - 10% lost: chains of 100 blocks whose heads are dropped, every other
 *     chain closed into a cycle,
 * with sizes uniform in 16..384 bytes (200 on average, payload filled with a
 * byte pattern that never looks like a pointer). It then times
 * lc_verify at an infinite budget: runtime ownership, reachability from the
 * roots, the per-thread retained bytes and the classification, the whole
 * scan of a check. The settle window is set to nothing so that waiting for
 * the blocked thread is not part of the figure.
 *
 * The classes the check reports are compared with what was built; the
 * program exits 1 when they differ, so a fast but wrong scan cannot pass.
 *
 * Built with clang -fsanitize=leak -DLC_BENCH_LSAN (no leakcheck), it makes
 * the same heap under LeakSanitizer and times LSan's own leak check of it
 * (__lsan_do_recoverable_leak_check, the scan LSan runs at exit): the row
 * the check is compared with.
 *
 * Usage: scan_bench [-b BLOCKS] [-r CHECKS]   (defaults 1000000 and 3; the
 * best check counts) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef LC_BENCH_LSAN
#include <sanitizer/lsan_interface.h>
#define lc_thread_wait_begin(what, obj) ((void)(what), (void)(obj))
#define lc_thread_wait_end() ((void)0)
#else
#include "leakcheck.h"
#endif

#define MIN_SIZE 16
#define MAX_SIZE 384 /* uniform 16..384: 200 bytes on average */
#define NBUCKETS 4096
#define THREAD_CHAINS 256
#define LOST_CHAIN 100
#define PAYLOAD_BYTE 0x5a

struct node {
    struct node *next;
    void *link; /* another block, or an interior pointer into one */
    unsigned char payload[];
};

/* The roots the check must find: chains of 70% of the blocks. */
static struct node *registry[NBUCKETS];

/* xorshift64; each thread keeps its own state. */
static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static size_t random_size(uint64_t *state) {
    return MIN_SIZE + (size_t)(next_random(state) % (MAX_SIZE - MIN_SIZE + 1));
}

static double clock_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Each class is made from its own function, so that the check groups every
 * class under its own allocation site. */
#define NODE_MAKER(name)                                                                           \
    static __attribute__((noinline)) struct node *name(size_t size, long long *bytes) {            \
        struct node *n = malloc(size);                                                             \
        if (n == NULL) {                                                                           \
            fprintf(stderr, "scan_bench: out of memory\n");                                        \
            exit(2);                                                                               \
        }                                                                                          \
        n->next = NULL;                                                                            \
        n->link = NULL;                                                                            \
        memset(n->payload, PAYLOAD_BYTE, size - sizeof *n);                                        \
        *bytes += (long long)size;                                                                 \
        return n;                                                                                  \
    }
NODE_MAKER(global_node)
NODE_MAKER(thread_node)
NODE_MAKER(lost_node)

/* ------------------------------------------------------ the leaked thread */

struct holder {
    long blocks;
    long long bytes;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready, stop;
};

static void *holder_main(void *arg) {
    struct holder *h = arg;
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    long long bytes = 0;
    /* Only this frame points at the index, and only the index at the chains. */
    struct node **index = calloc(THREAD_CHAINS, sizeof *index);
    if (index == NULL) {
        fprintf(stderr, "scan_bench: out of memory\n");
        exit(2);
    }
    bytes += THREAD_CHAINS * (long long)sizeof *index;
    for (long i = 0; i < h->blocks; i++) {
        struct node *n = thread_node(random_size(&state), &bytes);
        n->next = index[i % THREAD_CHAINS];
        index[i % THREAD_CHAINS] = n;
    }
    pthread_mutex_lock(&h->lock);
    h->bytes = bytes;
    h->ready = 1;
    pthread_cond_broadcast(&h->cond);
    /* Nothing ever sets `stop`: the thread leaks, blocked, still holding
     * the index it would free on the way out. */
    lc_thread_wait_begin("chan receive", &h->cond);
    while (!h->stop)
        pthread_cond_wait(&h->cond, &h->lock);
    lc_thread_wait_end();
    pthread_mutex_unlock(&h->lock);
    for (int i = 0; i < THREAD_CHAINS; i++)
        while (index[i] != NULL) {
            struct node *next = index[i]->next;
            free(index[i]);
            index[i] = next;
        }
    free(index);
    return NULL;
}

/* ----------------------------------------------------------------- heap */

static __attribute__((noinline)) long long fill_globals(long count) {
    uint64_t state = 0x2545f4914f6cdd1dULL;
    long long bytes = 0;
    struct node *previous = NULL;
    for (long i = 0; i < count; i++) {
        struct node *n = global_node(random_size(&state), &bytes);
        if (i % 16 == 15) {
            /* Held only through an interior pointer, as a container member is. */
            previous->link = &n->link;
        } else {
            size_t b = (size_t)(next_random(&state) % NBUCKETS);
            n->next = registry[b];
            registry[b] = n;
        }
        previous = n;
    }
    return bytes;
}

/* Chains whose heads are dropped on return: nothing outside them points in. */
static __attribute__((noinline)) long long fill_lost(long count) {
    uint64_t state = 0xd1b54a32d192ed03ULL;
    long long bytes = 0;
    for (long made = 0, chain = 0; made < count; chain++) {
        struct node *head = NULL, *tail = NULL;
        for (int k = 0; k < LOST_CHAIN && made < count; k++, made++) {
            struct node *n = lost_node(random_size(&state), &bytes);
            n->next = head;
            head = n;
            if (tail == NULL) tail = n;
        }
        if (chain % 2 == 1) tail->next = head; /* a lost cycle */
    }
    return bytes;
}

/* Overwrite the stack below main's frame, where the fillers left copies of
 * the pointers they handled: the check scans the checking thread's frames
 * from its caller up only, but a stale copy in main's own spill slots would
 * make a lost chain look reachable. */
static __attribute__((noinline)) void scrub_stack(void) {
    volatile unsigned char scratch[64 * 1024];
    memset((unsigned char *)scratch, 0, sizeof scratch);
}

/* --------------------------------------------------------------- checking */

#ifndef LC_BENCH_LSAN
typedef struct classes {
    long long reachable, thread, unreachable;
} classes;

static int classify(const lc_result *res, classes *c) {
    *c = (classes){0};
    for (int i = 0; i < res->nsites; i++) {
        const lc_result_site *s = &res->sites[i];
        if (strcmp(s->klass, "reachable") == 0)
            c->reachable += s->objects;
        else if (strcmp(s->klass, "thread") == 0)
            c->thread += s->objects;
        else if (strcmp(s->klass, "unreachable") == 0)
            c->unreachable += s->objects;
        else
            return -1;
    }
    return 0;
}

#endif

static int parse_long(const char *text, long min, long *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    long blocks = 1000000, checks = 3;
    int opt;
    while ((opt = getopt(argc, argv, "b:r:")) != -1) {
        long *target = opt == 'b' ? &blocks : opt == 'r' ? &checks : NULL;
        if (target == NULL || parse_long(optarg, opt == 'b' ? 100 : 1, target) != 0) {
            fprintf(stderr, "usage: scan_bench [-b BLOCKS (>= 100)] [-r CHECKS (>= 1)]\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "scan_bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    long thread_blocks = blocks / 5, lost_blocks = blocks / 10;
    long global_blocks = blocks - thread_blocks - lost_blocks;

    struct holder h = {.blocks = thread_blocks,
                       .lock = PTHREAD_MUTEX_INITIALIZER,
                       .cond = PTHREAD_COND_INITIALIZER};
    pthread_t holder;
    if (pthread_create(&holder, NULL, holder_main, &h) != 0) {
        fprintf(stderr, "scan_bench: cannot start a thread\n");
        return 2;
    }
    long long bytes = fill_globals(global_blocks) + fill_lost(lost_blocks);
    pthread_mutex_lock(&h.lock);
    while (!h.ready)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);
    bytes += h.bytes;
    scrub_stack();

    printf("heap: %ld blocks, %.1f MB: %ld reachable from a global table (1 in 16 only "
           "through an interior pointer), %ld + 1 held only by a blocked thread, %ld lost (chains "
           "of %d, half of them cycles)\n",
           blocks + 1, (double)bytes / 1e6, global_blocks, thread_blocks, lost_blocks, LOST_CHAIN);

    /* Wall time is the target; the CPU time of the process beside it shows
     * how much of a slow figure other work on a shared machine caused. */
    double best = -1, best_cpu = -1;
#ifdef LC_BENCH_LSAN
    for (long i = 0; i < checks; i++) {
        double start = clock_ms(CLOCK_MONOTONIC), cpu_start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        int leaked = __lsan_do_recoverable_leak_check();
        double ms = clock_ms(CLOCK_MONOTONIC) - start;
        double cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
        if (!leaked) {
            fprintf(stderr, "scan_bench: LSan found no leak in a heap with %ld lost blocks\n",
                    lost_blocks);
            return 1;
        }
        printf("LSan check %ld: %.1f ms (CPU %.1f ms)\n", i + 1, ms, cpu);
        if (best < 0 || ms < best) best = ms;
        if (best_cpu < 0 || cpu < best_cpu) best_cpu = cpu;
    }
    printf("least CPU time of an LSan check: %.1f ms\n", best_cpu);
    printf("LSan leak check of %ld blocks (%.1f MB), best of %ld: %.1f ms\n", blocks + 1,
           (double)bytes / 1e6, checks, best);
    /* The leaks were reported; the exit scan would only repeat them. */
    fflush(stdout);
    _exit(0);
#else
    lc_result res;
    for (long i = 0; i < checks; i++) {
        double start = clock_ms(CLOCK_MONOTONIC), cpu_start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        int rc = lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                               .budget = "bytes=inf,objects=inf,threads=inf",
                                               .settle_seconds = 0.000001,
                                               .quiet = 1},
                           &res);
        double ms = clock_ms(CLOCK_MONOTONIC) - start;
        double cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
        if (rc != 0) {
            fprintf(stderr, "scan_bench: lc_verify returned %d at an infinite budget: %s\n", rc,
                    lc_last_report());
            return 1;
        }
        printf("check %ld: %.1f ms (CPU %.1f ms)\n", i + 1, ms, cpu);
        if (best < 0 || ms < best) best = ms;
        if (best_cpu < 0 || cpu < best_cpu) best_cpu = cpu;
    }

    classes c;
    if (classify(&res, &c) != 0) {
        fprintf(stderr, "scan_bench: the check reported an unknown class\n");
        return 1;
    }
    printf("classified: %lld reachable, %lld thread, %lld unreachable; %lld leaked thread(s)\n",
           c.reachable, c.thread, c.unreachable, res.leaked_threads);
    int wrong = c.reachable != global_blocks || c.thread != thread_blocks + 1 ||
                c.unreachable != lost_blocks || res.leaked_threads != 1;
    if (wrong) {
        fprintf(stderr,
                "scan_bench: wrong classification: expected %ld reachable, %ld thread, "
                "%ld unreachable and 1 leaked thread\n",
                global_blocks, thread_blocks + 1, lost_blocks);
        return 1;
    }
    printf("least CPU time of a check: %.1f ms\n", best_cpu);
    printf("reachability check of %ld blocks (%.1f MB), best of %ld: %.1f ms\n", blocks + 1,
           (double)bytes / 1e6, checks, best);
    return 0;
#endif
}
