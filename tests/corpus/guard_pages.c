/* SPDX-License-Identifier: MIT */
/* guard_pages.c: memory the scan may not read, beside memory it must.
 *
 * A program may turn pages it owns into guard pages (PROT_NONE): a page in
 * the middle of its global data, a page in the middle of a block it
 * allocated (as valgrind's leak-segv-jmp test does). Reading either
 * directly would kill the program at exit; the scan skips what it cannot
 * read and still finds the pointers on the far side of each guard page.
 *
 * Expected: leak. One direct block of 48 bytes, lost; reachable: the
 * guarded block (3 pages), the 32-byte block it holds beyond its guard
 * page and the 64-byte block the global beyond the global guard page
 * holds. With -DFIXED the lost block is freed: clean, same reachable
 * blocks. valgrind agrees on both. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "corpus.h"

#define PAGE 4096

/* Three pages of globals: the middle one becomes a guard page, and the
 * only pointer to a block sits in the third. */
static struct {
    char before[PAGE];
    char guard[PAGE];
    void *after[PAGE / sizeof(void *)];
} globals __attribute__((aligned(PAGE)));

static void *guarded_block;

__attribute__((noinline)) static void build(void) {
    globals.after[7] = malloc(64);
    void *block;
    if (posix_memalign(&block, PAGE, 3 * PAGE) != 0) exit(1);
    memset(block, 0, 3 * PAGE);
    ((void **)((char *)block + 2 * PAGE))[3] = malloc(32);
    guarded_block = block;
    if (mprotect(globals.guard, PAGE, PROT_NONE) != 0) exit(1);
    if (mprotect((char *)block + PAGE, PAGE, PROT_NONE) != 0) exit(1);
    void *lost = malloc(48);
    memset(lost, 1, 48);
    if (FIXED) free(lost);
}

int main(void) {
    build();
    scrub_stack();
    return 0;
}
