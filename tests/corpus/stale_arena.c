/* SPDX-License-Identifier: MIT */
/* stale_arena.c: freed memory in a thread's malloc arena holds no root.
 *
 * A thread's allocations come from a malloc arena of its own, an anonymous
 * mapping that glibc keeps for the life of the process. Freed chunks in it
 * keep what the program last wrote there: scanning the arena as program
 * memory would take those stale pointers as live. The main thread
 * allocates a 56-byte block (make_payload); a worker thread allocates a
 * node in its arena, stores the block's address at offset 32 of it, and
 * frees the node; the worker is joined and main drops its pointer.
 *
 * Expected: leak, 1 direct object of 56 B (the arena holds only the stale
 * copy). With -DFIXED main keeps the block in a global: clean, reachable.
 * valgrind agrees on both. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static void *volatile kept;

__attribute__((noinline)) static void *make_payload(void) {
    void *p = malloc(56);
    if (p) memset(p, 0x33, 56);
    return p;
}

static void *worker(void *payload) {
    void **node = malloc(64);
    if (!node) return NULL;
    memset(node, 0, 64);
    node[4] = payload; /* offset 32: past what free() writes into a chunk */
    free(node);
    return NULL;
}

__attribute__((noinline)) static void run(void) {
    void *payload = make_payload();
    if (FIXED) kept = payload;
    pthread_t t;
    if (pthread_create(&t, NULL, worker, payload) != 0) exit(1);
    pthread_join(t, NULL);
}

int main(void) {
    run();
    scrub_stack();
    return 0;
}
