/* SPDX-License-Identifier: MIT */
/* global_reachable.c: blocks still reachable from a global at exit.
 *
 * Expected: clean by default, leak with --strict. The static global
 * `registry` holds, at offset 8, a node (24 B, allocated in registry_add)
 * whose payload (40 B, allocated in make_payload) sits at offset 16 of the
 * node: 2 objects, 64 B, class "reachable". The node's path is the global
 * registry (offset 8); the payload's path is registry, then the node block at
 * offset 16. With -DFIXED the program empties the registry: clean even with
 * --strict. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

struct node {
    long id;
    long flags;
    char *payload; /* offset 16 */
};

static struct {
    long count;
    struct node *head; /* offset 8 */
} registry;

__attribute__((noinline)) static char *make_payload(void) {
    char *p = malloc(40);
    if (p) memset(p, 0xab, 40);
    return p;
}

__attribute__((noinline)) static int registry_add(long id) {
    struct node *n = malloc(sizeof *n);
    if (!n) return -1;
    n->id = id;
    n->flags = 0;
    n->payload = make_payload();
    registry.head = n;
    registry.count++;
    return 0;
}

int main(void) {
    if (registry_add(7) != 0) return 1;
    if (FIXED) {
        free(registry.head->payload);
        free(registry.head);
        registry.head = NULL;
        registry.count = 0;
    }
    scrub_stack();
    return 0;
}
