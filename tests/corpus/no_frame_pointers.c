/* SPDX-License-Identifier: MIT */
/* no_frame_pointers.c: an allocation made three calls deep in code built
 * without frame pointers (-O2 -fomit-frame-pointer, as most distribution
 * binaries are: gcc's cc1, python3).
 *
 * Such code uses the frame-pointer register for its own values. Here the
 * innermost function keeps in it, across its call to malloc, the address of
 * a record on its caller's stack that looks like a frame: a link to a word
 * further up the stack, and beside it a value that is no code address. A
 * frame-pointer walk that believed it would report an invented frame; the
 * stack must name level3, level2, level1 and main, and no frame that is
 * not in a loaded object's code.
 *
 * Expected: leak, one direct block of 48 bytes lost, allocated at level3.
 * With -DFIXED the global keeps the block: clean, one reachable block.
 * valgrind agrees on both. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* Shaped like a frame record: the saved frame pointer, then the return
 * address. */
struct fake_frame {
    uintptr_t next;
    uintptr_t ret;
};

void *volatile kept;

__attribute__((noinline)) static void *level3(struct fake_frame *f, size_t n) {
    /* The record's address lives in the frame-pointer register across the
     * call, as a compiler free to use it may leave any value there. */
#if defined(__x86_64__)
    register struct fake_frame *held __asm__("rbp") = f;
#else
    struct fake_frame *held = f;
#endif
    __asm__ volatile("" : "+r"(held));
    void *p = malloc(n);
    __asm__ volatile("" : "+r"(held));
    memset(p, (int)(held->ret & 0x7f), n);
    return p;
}

__attribute__((noinline)) static void *level2(uintptr_t up, size_t n) {
    struct fake_frame f = {up, (uintptr_t)0x7ffea5331e732000ull};
    void *p = level3(&f, n);
    __asm__ volatile("" : : "r"(&f) : "memory");
    return p;
}

__attribute__((noinline)) static void *level1(size_t n) {
    struct fake_frame outer[2] = {{0, 0}, {0, (uintptr_t)0x7ffea5331e732000ull}};
    void *p = level2((uintptr_t)&outer[0], n);
    __asm__ volatile("" : : "r"(outer) : "memory");
    return p;
}

int main(void) {
    kept = level1(48);
    if (!FIXED) kept = NULL;
    scrub_stack();
    return 0;
}
