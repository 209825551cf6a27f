/* SPDX-License-Identifier: MIT */
/* unaligned.c: blocks whose only reference sits at an unaligned address.
 *
 * A packed record puts its pointer one byte past an 8-byte boundary: the
 * global `packed_ref` holds a 48-byte block that way, and a 40-byte record
 * held by the global `holder` (aligned, so reachable) holds a 32-byte block
 * the same way at offset 1. leakcheck's scan (harness/reach.c) reads only
 * aligned words, as valgrind's memcheck and LeakSanitizer do by default: a
 * pointer that straddles two words is in neither of them, and no other
 * word of the program points into the blocks. (Scanning every byte offset
 * would cost eight lookups per word and find false pointers in any byte
 * string.)
 *
 * Expected: leak. Both blocks lost directly (2 objects, 80 B); the record
 * is reachable (1 object, 40 B). With -DFIXED the records are laid out
 * naturally, each pointer on its own aligned word: clean, 3 blocks
 * reachable (128 B: the record is 48 bytes then). valgrind
 * --leak-check=full says the same: "definitely lost: 80 bytes in 2
 * blocks", "still reachable: 40 bytes in 1 blocks"; its twin "still
 * reachable: 128 bytes in 3 blocks". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#if FIXED
#define LAYOUT /* natural alignment: the pointer is on its own word */
#else
#define LAYOUT __attribute__((packed))
#endif

struct LAYOUT tagged {
    char tag;
    void *ref; /* at offset 1 when packed */
    char pad[31];
};

_Static_assert(sizeof(struct tagged) == (FIXED ? 48 : 40), "the record's layout");

static struct tagged packed_ref __attribute__((aligned(8)));
static struct tagged *holder;

__attribute__((noinline)) static void *make(size_t n) {
    void *p = malloc(n);
    if (p) memset(p, 0x5a, n);
    return p;
}

__attribute__((noinline)) static int build(void) {
    packed_ref.tag = 1;
    packed_ref.ref = make(48);
    holder = make(sizeof *holder);
    if (!packed_ref.ref || !holder) return -1;
    holder->tag = 2;
    holder->ref = make(32);
    return holder->ref ? 0 : -1;
}

int main(void) {
    if (build() != 0) return 1;
    scrub_stack();
    return 0;
}
