/* SPDX-License-Identifier: MIT */
/* snapshot_bench.c: times leakcheck's snapshots at the scale of a big test.
 *
 * It owns the snapshot figures of `make bench`: it links against
 * build/libleakcheck.so, so every block it allocates is tracked, makes one
 * million live blocks from 100 distinct call sites, and times
 *   - lc_snapshot_take with 1M blocks live,
 *   - lc_snapshot_take again after some churn (100k blocks freed, 150k made, spread
 *     over all sites),
 *   - lc_snapshot_diff between the two.
 * It checks that the snapshots and the diff saw what the program did, and
 * exits 1 when they did not, so a fast but wrong snapshot cannot pass.
 *
 * leakcheck.h declares no memory statistics, so the tracker's memory per live
 * block is estimated: the growth of the resident set while the blocks are
 * made, less what glibc's malloc needs for those blocks (chunk size =
 * request + 8 rounded up to 16, at least 32), divided by the number of blocks.
 * The estimate includes the stack table and the tracker's hash tables. When
 * the library also exports lc_heap_table_bytes (looked up at run time, so
 * the program works without it), its own figure for the block table is
 * printed beside the estimate.
 *
 * Usage: snapshot_bench [-b BLOCKS]   (default 1000000) */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakcheck.h"

#define NSITES 100
#define MIN_SIZE 16
#define MAX_SIZE 128

/* 100 allocation functions, each its own call site; the fill and the churn
 * reach them from two places in main, so the diff sees 200 stacks. Writing
 * the first byte after malloc keeps the call from becoming a tail call, so
 * the return address (and with it the recorded stack) differs from site to
 * site. */
#define SITE(id, tag)                                                                              \
    static __attribute__((noinline)) void *site_##id(size_t size) {                                \
        unsigned char *p = malloc(size);                                                           \
        if (p != NULL) p[0] = (unsigned char)(tag);                                                \
        return p;                                                                                  \
    }
#define SITE10(d)                                                                                  \
    SITE(d##0, d * 10 + 0)                                                                         \
    SITE(d##1, d * 10 + 1)                                                                         \
    SITE(d##2, d * 10 + 2)                                                                         \
    SITE(d##3, d * 10 + 3)                                                                         \
    SITE(d##4, d * 10 + 4)                                                                         \
    SITE(d##5, d * 10 + 5)                                                                         \
    SITE(d##6, d * 10 + 6)                                                                         \
    SITE(d##7, d * 10 + 7)                                                                         \
    SITE(d##8, d * 10 + 8)                                                                         \
    SITE(d##9, d * 10 + 9)
SITE10(0)
SITE10(1)
SITE10(2)
SITE10(3)
SITE10(4)
SITE10(5)
SITE10(6)
SITE10(7)
SITE10(8)
SITE10(9)

#define SITE_PTR10(d)                                                                              \
    site_##d##0, site_##d##1, site_##d##2, site_##d##3, site_##d##4, site_##d##5, site_##d##6,     \
        site_##d##7, site_##d##8, site_##d##9
static void *(*const sites[NSITES])(size_t) = {
    SITE_PTR10(0), SITE_PTR10(1), SITE_PTR10(2), SITE_PTR10(3), SITE_PTR10(4),
    SITE_PTR10(5), SITE_PTR10(6), SITE_PTR10(7), SITE_PTR10(8), SITE_PTR10(9),
};

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t xorshift64(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resident set size in bytes, from /proc/self/statm. */
static long long resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = -1;
    if (f == NULL) return -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* What glibc's malloc uses for a request of `size` bytes on a 64-bit target. */
static size_t chunk_bytes(size_t size) {
    size_t chunk = (size + 8 + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}

/* Make one block from site `i % NSITES`; adds its chunk to *chunks if given. */
static __attribute__((noinline)) void *make_block(size_t i, long long *chunks) {
    size_t size = MIN_SIZE + (size_t)(xorshift64() % (MAX_SIZE - MIN_SIZE + 1));
    void *p = sites[i % NSITES](size);
    if (p == NULL) {
        fprintf(stderr, "snapshot_bench: out of memory\n");
        exit(2);
    }
    if (chunks != NULL) *chunks += (long long)chunk_bytes(size);
    return p;
}

static void fail(const char *what) {
    fprintf(stderr, "snapshot_bench: %s\n", what);
    exit(1);
}

int main(int argc, char **argv) {
    size_t nblocks = 1000000;
    int opt;
    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt != 'b') {
            fprintf(stderr, "usage: snapshot_bench [-b BLOCKS]\n");
            return 2;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || optarg[0] == '-' || v < 1000 || v > 100000000) {
            fprintf(stderr, "snapshot_bench: -b wants a number in 1000..100000000\n");
            return 2;
        }
        nblocks = (size_t)v;
    }
    size_t nfree = nblocks / 10;    /* churn: blocks freed between the snapshots */
    size_t nnew = nblocks / 20 * 3; /* churn: blocks made between the snapshots */
    size_t cap = nblocks + nnew;

    /* The pointer array is made and touched before the first RSS reading,
     * so that only the blocks and the tracker's records for them count. It is
     * filled with a non-zero byte: malloc + memset(0) may become calloc, which
     * leaves the pages untouched. Every entry is assigned before it is read. */
    void **block = malloc(cap * sizeof *block);
    if (block == NULL) fail("out of memory");
    memset(block, 0xa5, cap * sizeof *block);
    printf("snapshot_bench: %zu live blocks of 16..128 bytes from %d call sites\n", nblocks,
           NSITES);
    fflush(stdout);

    long long chunks = 0;
    long long rss_before = resident_bytes();
    for (size_t i = 0; i < nblocks; i++)
        block[i] = make_block(i, &chunks);
    long long rss_after = resident_bytes();

    double t0 = now_ms();
    lc_snapshot *before = lc_snapshot_take();
    double t1 = now_ms();
    if (before == NULL) fail("lc_snapshot_take returned NULL");

    /* Churn: free every 9th block (9 and 100 are coprime, so every site
     * loses the same number), then make new blocks from every site. */
    size_t freed = 0;
    for (; freed < nfree; freed++) {
        free(block[freed * 9]);
        block[freed * 9] = NULL;
    }
    for (size_t i = 0; i < nnew; i++)
        block[nblocks + i] = make_block(i, NULL);

    double t2 = now_ms();
    lc_snapshot *after = lc_snapshot_take();
    double t3 = now_ms();
    if (after == NULL) fail("lc_snapshot_take returned NULL after the churn");
    lc_diff *diff = lc_snapshot_diff(before, after, NULL);
    double t4 = now_ms();
    if (diff == NULL) fail("lc_snapshot_diff returned NULL");

    size_t live_before = lc_snapshot_live_objects(before);
    size_t live_after = lc_snapshot_live_objects(after);
    long long appeared = 0, vanished = 0, delta = 0;
    size_t nsites = lc_diff_count(diff);
    for (size_t i = 0; i < nsites; i++) {
        const lc_diff_site *s = lc_diff_get(diff, i);
        appeared += s->appeared_objects;
        vanished += s->vanished_objects;
        delta += s->delta_objects;
    }

    printf("  %-44s %10.1f ms\n", "lc_snapshot_take, first", t1 - t0);
    printf("  %-44s %10.1f ms\n", "lc_snapshot_take, after churn", t3 - t2);
    printf("  %-44s %10.1f ms\n", "lc_snapshot_diff", t4 - t3);
    printf("  %-44s %10.1f ms\n", "snapshot+diff (second take + diff)", (t3 - t2) + (t4 - t3));
    printf("  %-44s %10zu / %zu\n", "live objects seen, first / second", live_before, live_after);
    printf("  %-44s %10zu sites, +%lld / -%lld objects\n", "diff", nsites, appeared, vanished);
    size_t (*table_bytes)(void) = (size_t(*)(void))dlsym(RTLD_DEFAULT, "lc_heap_table_bytes");
    if (table_bytes != NULL)
        printf("  %-44s %10.1f B\n", "block table per live block (library's figure)",
               (double)table_bytes() / (double)nblocks);
    if (rss_before > 0 && rss_after > 0) {
        double per_block = (double)(rss_after - rss_before - chunks) / (double)nblocks;
        printf("  %-44s %10.1f B\n", "tracker memory per live block (estimate)", per_block);
        printf("    (RSS grew %.1f MB while making the blocks; glibc chunks account for %.1f MB)\n",
               (double)(rss_after - rss_before) / 1048576.0, (double)chunks / 1048576.0);
    }

    /* The snapshots must have seen every block, and the diff the churn. */
    if (live_before < nblocks) fail("the first snapshot misses live blocks");
    if (live_after < nblocks - freed + nnew) fail("the second snapshot misses live blocks");
    if (appeared < (long long)nnew || vanished < (long long)freed)
        fail("the diff does not show the churn between the snapshots");
    if (delta < (long long)(nnew - freed)) fail("the diff's growth is smaller than the churn");
    if (nsites < NSITES) fail("the diff groups the 100 call sites into fewer sites");

    lc_diff_free(diff);
    lc_snapshot_free(after);
    lc_snapshot_free(before);
    for (size_t i = 0; i < cap; i++)
        free(block[i]);
    free(block);
    return 0;
}
