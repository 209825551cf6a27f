/* SPDX-License-Identifier: MIT */
/* lost_cycle.c: a ring of three blocks that point to each other, and
 * nothing else points to the ring.
 *
 * Expected: leak. Three unreachable blocks of 48 bytes (144 B). The ring
 * keeps every block "pointed to", yet all are lost: as valgrind does, one
 * block per lost cycle is direct (48 B) and the two others indirect (96 B).
 * With -DFIXED the program cuts the ring and frees it: clean. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

struct ring {
    struct ring *next;
    char pad[40];
};

__attribute__((noinline)) static struct ring *make_ring_node(void) {
    struct ring *r = malloc(sizeof *r);
    if (r) memset(r, 0xab, sizeof *r);
    return r;
}

__attribute__((noinline)) static struct ring *make_ring(void) {
    struct ring *a = make_ring_node(), *b = make_ring_node(), *c = make_ring_node();
    if (!a || !b || !c) return NULL;
    a->next = b;
    b->next = c;
    c->next = a;
    return a;
}

int main(void) {
    struct ring *r = make_ring();
    if (!r) return 1;
    if (FIXED) {
        struct ring *b = r->next, *c = b->next;
        free(c);
        free(b);
        free(r);
    }
    r = NULL;
    scrub_stack();
    return 0;
}
