/* SPDX-License-Identifier: MIT */
/* alloc_workload.c: the allocation-heavy program that bench/run.sh times
 * under each leak checker.
 *
 * It owns one thing: a fixed, deterministic malloc/free churn. Each thread
 * keeps a ring of slots (100k slots in all, split between the threads); every
 * step frees the block in the next slot and puts a new block of a random size
 * in 16..512 bytes there, so about 100k blocks stay live while millions of
 * malloc/free pairs go through the allocator. The allocation happens a few
 * calls deep (main -> run_thread -> churn -> make_block) so that a checker
 * that records a call stack per allocation walks a realistic depth.
 *
 * Usage: alloc_workload [-n PAIRS] [-t THREADS] [-l LIVE]
 *   -n  malloc/free pairs in all, after the rings are filled (default 4000000)
 *   -t  threads sharing the work (default 1)
 *   -l  live blocks in all (default 100000)
 *
 * The only output is one line, "checksum 0x...", computed from the stamps in
 * the blocks as they are freed. It depends only on the arguments (never on
 * addresses), so every checker must print the same line as the plain build,
 * and the compiler cannot drop the work. Every block is freed before exit. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_SIZE 16
#define MAX_SIZE 512
#define MAX_THREADS 64

struct block {
    uint64_t tag;  /* random value written when the block is made */
    uint32_t size; /* requested size */
};

struct ring {
    unsigned index;      /* thread number, seeds the generator */
    size_t slots;        /* live blocks this thread keeps */
    uint64_t pairs;      /* malloc/free pairs after the fill */
    uint64_t rng;        /* xorshift64 state */
    struct block **slot; /* the ring */
    uint64_t checksum;   /* result */
};

static uint64_t xorshift64(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Allocate one block of a random size and stamp its first bytes only, next to
 * malloc's own chunk header: the workload measures the allocator, not cache
 * misses of its own. */
static __attribute__((noinline)) struct block *make_block(uint64_t *rng) {
    uint64_t r = xorshift64(rng);
    size_t size = MIN_SIZE + (size_t)(r % (MAX_SIZE - MIN_SIZE + 1));
    struct block *b = malloc(size);
    if (b == NULL) {
        fprintf(stderr, "alloc_workload: out of memory\n");
        exit(2);
    }
    b->tag = r;
    b->size = (uint32_t)size;
    return b;
}

/* Fold a block's stamp into the checksum and free it. */
static __attribute__((noinline)) uint64_t drop_block(struct block *b, uint64_t sum) {
    sum = (sum ^ b->tag) * 0x100000001b3ULL;
    sum += b->size;
    free(b);
    return sum;
}

/* Fill the ring, run the churn, then drain the ring. */
static __attribute__((noinline)) void churn(struct ring *r) {
    uint64_t sum = 0;
    for (size_t i = 0; i < r->slots; i++)
        r->slot[i] = make_block(&r->rng);
    size_t next = 0;
    for (uint64_t i = 0; i < r->pairs; i++) {
        sum = drop_block(r->slot[next], sum);
        r->slot[next] = make_block(&r->rng);
        if (++next == r->slots) next = 0;
    }
    for (size_t i = 0; i < r->slots; i++)
        sum = drop_block(r->slot[i], sum);
    r->checksum = sum;
}

static __attribute__((noinline)) void *run_thread(void *arg) {
    struct ring *r = arg;
    r->rng = 0x9e3779b97f4a7c15ULL * (r->index + 1);
    r->slot = malloc(r->slots * sizeof *r->slot);
    if (r->slot == NULL) {
        fprintf(stderr, "alloc_workload: out of memory\n");
        exit(2);
    }
    churn(r);
    free(r->slot);
    r->slot = NULL;
    return NULL;
}

static uint64_t parse_count(const char *arg, char opt, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr,
                "alloc_workload: -%c wants a number in %" PRIu64 "..%" PRIu64 ", not '%s'\n", opt,
                min, max, arg);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    uint64_t pairs = 4000000, live = 100000;
    unsigned nthreads = 1;
    int opt;
    while ((opt = getopt(argc, argv, "n:t:l:")) != -1) {
        switch (opt) {
        case 'n':
            pairs = parse_count(optarg, 'n', 0, UINT64_MAX / 2);
            break;
        case 't':
            nthreads = (unsigned)parse_count(optarg, 't', 1, MAX_THREADS);
            break;
        case 'l':
            live = parse_count(optarg, 'l', 1, 100000000);
            break;
        default:
            fprintf(stderr, "usage: alloc_workload [-n PAIRS] [-t THREADS] [-l LIVE]\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: alloc_workload [-n PAIRS] [-t THREADS] [-l LIVE]\n");
        return 2;
    }
    if (live < nthreads) live = nthreads;

    struct ring rings[MAX_THREADS];
    for (unsigned i = 0; i < nthreads; i++) {
        rings[i] = (struct ring){
            .index = i,
            .slots = (size_t)(live / nthreads + (i < live % nthreads)),
            .pairs = pairs / nthreads + (i < pairs % nthreads),
        };
    }

    if (nthreads == 1) {
        run_thread(&rings[0]);
    } else {
        pthread_t tid[MAX_THREADS];
        for (unsigned i = 0; i < nthreads; i++) {
            int err = pthread_create(&tid[i], NULL, run_thread, &rings[i]);
            if (err != 0) {
                fprintf(stderr, "alloc_workload: pthread_create: %s\n", strerror(err));
                return 2;
            }
        }
        for (unsigned i = 0; i < nthreads; i++)
            pthread_join(tid[i], NULL);
    }

    uint64_t sum = 0;
    for (unsigned i = 0; i < nthreads; i++)
        sum = sum * 31 + rings[i].checksum;
    printf("checksum 0x%016" PRIx64 "\n", sum);
    return 0;
}
