/* SPDX-License-Identifier: MIT */
/* arena_neighbour.c: a thread's malloc arena merged with the mapping below.
 *
 * glibc gives a thread an arena heap of its own: 64 MB aligned to 64 MB,
 * reserved inaccessible, its first pages made writable. Its free chunks keep
 * what the program last wrote there, so the heap is no root of the scan
 * (stale_arena.c). The kernel merges it with a read-write anonymous mapping
 * right below it: the program's own, or one the leak checker made for
 * itself, which happened by chance in about one run in six of stale_arena.
 * The merged mapping then no longer starts at an aligned address with the
 * heap's header, and a scan that looks for the header only at a mapping's
 * start took the arena for program memory and its stale pointer for a
 * holder: a lost block reported as reachable.
 *
 * The case makes that layout every time. A worker thread allocates a node
 * in its arena, stores the address of a 56-byte block (make_payload) at
 * offset 32 of it and frees it; before the free it maps 64 KB of its own,
 * read-write and without reserved swap (as glibc maps the heap, so that
 * the kernel merges the two), right below the heap. The program exits with
 * status 3, and no check, when the pages below the heap were taken, the
 * kernel kept the mappings apart or merged a third one below, saying "run
 * again" on stderr.
 *
 * Expected: leak, 1 direct object of 56 B (the arena holds only the stale
 * copy). With -DFIXED the program's pages below the heap keep the block's
 * address: clean, the block reachable from the mapping, which must stay a
 * root. With -DLIVE_NODE the worker keeps its node, emptied (a global
 * points to it), instead of freeing it, and the program's pages hold the
 * block: a live block of malloc's in the merged mapping must not make the
 * program's pages malloc's too (clean, both blocks reachable, the 56-byte
 * one from the mapping). Not compared with valgrind: its malloc has no arenas. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "corpus.h"

#ifndef LIVE_NODE
#define LIVE_NODE 0
#endif

#define ARENA_HEAP ((uintptr_t)64 << 20)
#define BELOW ((uintptr_t)64 << 10)

static void **below; /* the program's pages right below the worker's heap */
static void *volatile kept_node;

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
    uintptr_t heap = (uintptr_t)node & ~(ARENA_HEAP - 1);
    void *p = mmap((void *)(heap - BELOW), BELOW, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == (void *)(heap - BELOW))
        below = p;
    else if (p != MAP_FAILED)
        munmap(p, BELOW);
    if (LIVE_NODE) {
        node[4] = NULL; /* only the program's pages hold the block then */
        kept_node = node;
    } else {
        free(node);
    }
    return NULL;
}

/* Whether one mapping starts at from and spans [from, to), read from
 * /proc/self/maps (a mapping merged below would move the holder's offset). */
static int one_mapping(uintptr_t from, uintptr_t to) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == from && to <= e) found = 1;
    }
    fclose(f);
    return found;
}

__attribute__((noinline)) static void run(void) {
    void *payload = make_payload();
    pthread_t t;
    if (pthread_create(&t, NULL, worker, payload) != 0) exit(1);
    pthread_join(t, NULL);
    if (below && (FIXED || LIVE_NODE)) below[5] = payload;
}

int main(void) {
    run();
    scrub_stack();
    if (!below || !one_mapping((uintptr_t)below, (uintptr_t)below + BELOW + 4096)) {
        static const char msg[] = "arena_neighbour: the pages below the thread's arena heap "
                                  "did not merge with it: run again\n";
        if (write(2, msg, sizeof msg - 1) < 0) return 3;
        return 3;
    }
    return 0;
}
