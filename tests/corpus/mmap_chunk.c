/* SPDX-License-Identifier: MIT */
/* mmap_chunk.c: malloc's own mappings are not the program's.
 *
 * glibc serves a large request with a mapping of its own (an mmapped
 * chunk), and the kernel merges it with a neighbouring mapping of the
 * program's into one line of /proc/self/maps. The program's mapping is a
 * root; the chunk is a heap block, scanned only if something reaches it.
 * The program fixes malloc's mmap threshold at 128 KiB (so that the 256 KiB
 * block is mmapped on every run), allocates it (make_big) with the only
 * pointer to a 40-byte block in it, then maps two pages of its own and
 * keeps in them the only pointer to a 24-byte block (make_small). It drops
 * the big block.
 *
 * Expected: leak. The big block is lost (direct, 262144 B) with the 40-byte
 * block it alone holds (indirect); the 24-byte block is reachable from the
 * program's mapping. With -DFIXED a global keeps the big block: clean, all
 * three reachable. valgrind agrees on both. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "corpus.h"

#define BIG (256 * 1024)

static void *volatile kept_big;

__attribute__((noinline)) static void *make_small(size_t n) {
    void *p = malloc(n);
    if (p) memset(p, 0x11, n);
    return p;
}

__attribute__((noinline)) static void **make_big(void) {
    void **big = malloc(BIG);
    if (!big) exit(1);
    memset(big, 0, BIG);
    big[1000] = make_small(40);
    return big;
}

__attribute__((noinline)) static void build(void) {
    void **big = make_big();
    void **mine = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mine == MAP_FAILED) exit(1);
    mine[3] = make_small(24);
    if (FIXED) kept_big = big;
}

int main(void) {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    build();
    scrub_stack();
    return 0;
}
