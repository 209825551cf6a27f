/* SPDX-License-Identifier: MIT */
/* alloc_family.c: one lost block from each allocation function of the C
 * library.
 *
 * Expected: leak. Ten unreachable, direct blocks from ten sites in
 * allocate_family, with their requested sizes: malloc 10, calloc 3x7 = 21,
 * realloc (which moves and frees a 5-byte block) 40, strdup 6, strndup 4,
 * posix_memalign 100, aligned_alloc 256, memalign 50, valloc 24,
 * reallocarray 4x9 = 36: 547 B in all. With -DFIXED the program frees every
 * block: clean. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define FAMILY 10

__attribute__((noinline)) static int allocate_family(void **out) {
    out[0] = malloc(10);
    out[1] = calloc(3, 7);
    char *small = malloc(5);
    if (small) memset(small, 0, 5);
    out[2] = realloc(small, 40);
    out[3] = strdup("hello");
    out[4] = strndup("abcdefgh", 3);
    if (posix_memalign(&out[5], 64, 100) != 0) out[5] = NULL;
    out[6] = aligned_alloc(128, 256);
    out[7] = memalign(32, 50);
    out[8] = valloc(24);
    out[9] = reallocarray(NULL, 4, 9);
    for (int i = 0; i < FAMILY; i++)
        if (!out[i]) return -1;
    return 0;
}

int main(void) {
    void *blocks[FAMILY] = {0};
    if (allocate_family(blocks) != 0) return 1;
    for (int i = 0; i < FAMILY; i++) {
        if (FIXED) free(blocks[i]);
        blocks[i] = NULL;
    }
    scrub_stack();
    return 0;
}
