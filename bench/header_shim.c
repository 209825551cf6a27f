/* SPDX-License-Identifier: MIT */
/* header_shim.c: the header store's memory traffic without the library.
 *
 * Not part of run.sh: a preloaded malloc/free that does to memory what the
 * header store (harness/heap_inband.c) does, and nothing else, so that
 * bench/alloc_workload.c can tell the cost of the store's layout from the
 * cost of the library's code (bench/README.md, "The depth-0 path taken
 * apart"). Each block gets a 16-byte header before it (its number and
 * size), and, unless built with -DHEADER_ONLY, a bit per 16 bytes of heap
 * and a highest number per 64 KB region, laid out as the store's regions
 * are (512 bytes of bits, then the number, 576 bytes a region). Only what
 * the workload calls is replaced (malloc, free, calloc, realloc): a block
 * from memalign or from before the shim was loaded must not reach its
 * free, so it is for that workload alone.
 *
 *   gcc -O2 -fno-builtin -shared -fPIC -o build/bench/header_shim.so bench/header_shim.c
 *   gcc -O2 -fno-builtin -shared -fPIC -DHEADER_ONLY -o build/bench/header_only.so bench/header_shim.c
 *   LD_PRELOAD=build/bench/header_shim.so build/bench/alloc_plain -t 1 -n 4000000 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

#define HEADER 16
#define SPAN ((uintptr_t)4 << 30) /* address space the bitmap covers */

typedef struct region {
    uint64_t bits[64];
    uint64_t max_seq;
    char pad[56];
} region;

static uint64_t next_seq;

#ifndef HEADER_ONLY
static region *regions;
static uintptr_t span_start;

/* The region of user and its granule, or NULL outside the span. */
static region *region_of(uintptr_t user, uint64_t *granule) {
    uintptr_t off = user - span_start;
    if (!regions || off >= SPAN) return NULL;
    *granule = off >> 4;
    return &regions[off >> 16];
}

static void reserve_span(uintptr_t first) {
    span_start = (first & ~(((uintptr_t)1 << 30) - 1)) - ((uintptr_t)1 << 30);
    void *m = mmap(NULL, (SPAN >> 16) * sizeof(region), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    regions = m == MAP_FAILED ? NULL : m;
}
#endif

void *malloc(size_t n) {
    char *base = __libc_malloc(n + HEADER);
    if (!base) return NULL;
    uintptr_t user = (uintptr_t)base + HEADER;
    uint64_t seq = ++next_seq;
    ((uint64_t *)base)[0] = seq << 24;
    ((uint64_t *)base)[1] = (uint64_t)n << 24;
#ifndef HEADER_ONLY
    if (!regions) reserve_span((uintptr_t)base);
    uint64_t g;
    region *r = region_of(user, &g);
    if (r) {
        if (r->max_seq < seq) r->max_seq = seq + 1024;
        r->bits[g % 4096 / 64] |= (uint64_t)1 << (g % 64);
    }
#endif
    return (void *)user;
}

void free(void *p) {
    if (!p) return;
#ifndef HEADER_ONLY
    uint64_t g;
    region *r = region_of((uintptr_t)p, &g);
    if (r) r->bits[g % 4096 / 64] &= ~((uint64_t)1 << (g % 64));
#endif
    __libc_free((char *)p - HEADER);
}

void *calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *realloc(void *p, size_t n) {
    if (!p) return malloc(n);
    size_t old = (size_t)(((uint64_t *)p)[-1] >> 24);
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}
