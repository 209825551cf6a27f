/* SPDX-License-Identifier: MIT */
/* mapping.c: a block held only from memory the program mapped itself.
 *
 * Programs keep pointers in anonymous mappings of their own: CPython's
 * pymalloc arenas, GCC's obstacks, any slab allocator. Such a mapping is a
 * root, as valgrind treats it. The program maps four pages, keeps the only
 * pointer to a 72-byte block (from make_entry) at offset 4096 + 16, and
 * unmaps the region before exit: the block is then lost.
 *
 * Expected: leak, 1 direct object of 72 B. With -DFIXED the region stays
 * mapped: clean, the block reachable, its path starting at the mapping (the
 * kernel may have merged the region with a neighbour, so the offset is
 * the merged mapping's). valgrind agrees on both. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "corpus.h"

#define REGION (4 * 4096)

__attribute__((noinline)) static void *make_entry(void) {
    void *p = malloc(72);
    if (p) memset(p, 0x5a, 72);
    return p;
}

__attribute__((noinline)) static void **map_region(void) {
    void *r = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) exit(1);
    void **slots = r;
    slots[(4096 + 16) / sizeof(void *)] = make_entry();
    return slots;
}

static void *volatile region_only_by_address; /* not a pointer into the heap */

int main(void) {
    void **slots = map_region();
    region_only_by_address = slots;
    if (!FIXED) munmap(slots, REGION);
    slots = NULL;
    scrub_stack();
    return 0;
}
