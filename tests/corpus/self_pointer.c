/* SPDX-License-Identifier: MIT */
/* self_pointer.c: a block that points to itself, and nothing else does.
 *
 * The node's `self` field holds its own address (and `inner` an address
 * inside it): the block is "pointed to", but only from itself, which is
 * no root. Reachability starts at the roots, so a pointer from a block to
 * itself keeps nothing alive.
 *
 * Expected: leak. One block of 64 bytes lost directly. With -DFIXED the
 * global `kept` holds the node: clean, one reachable block (64 B).
 * valgrind --leak-check=full: "definitely lost: 64 bytes in 1 blocks"; its
 * twin "still reachable: 64 bytes in 1 blocks". */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

struct node {
    struct node *self;
    char *inner;
    char payload[48];
};

static struct node *kept;

__attribute__((noinline)) static struct node *make_node(void) {
    struct node *n = malloc(sizeof *n);
    if (!n) return NULL;
    memset(n->payload, 0x3c, sizeof n->payload);
    n->self = n;
    n->inner = n->payload + 8;
    return n;
}

int main(void) {
    struct node *n = make_node();
    if (!n) return 1;
    if (FIXED) kept = n;
    n = NULL;
    scrub_stack();
    return 0;
}
