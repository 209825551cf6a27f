/* SPDX-License-Identifier: MIT */
/* user_roots.c: memory the program tells the scan to treat as a root.
 *
 * The scan finds pointers in globals, stacks, registers and thread-locals.
 * A program that keeps pointers to heap blocks in memory the library does
 * not know (an mmap'd arena, a custom allocator's slabs, a shared-memory
 * segment) registers it, as valgrind's VALGRIND_CREATE_MEMPOOL or LSan's
 * __lsan_register_root_region let one do; the report then names the region
 * by its label when it holds a leak. */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_USER_ROOTS 256

typedef struct user_root {
    uintptr_t start, end;
    char label[48];
} user_root;

static user_root roots[MAX_USER_ROOTS];
static size_t nroots;
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;

int lc_root_register(const void *start, size_t size, const char *label) {
    if (!start || !size) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&roots_lock);
    int rc = -1;
    if (nroots < MAX_USER_ROOTS) {
        user_root *r = &roots[nroots++];
        r->start = (uintptr_t)start;
        r->end = (uintptr_t)start + size;
        snprintf(r->label, sizeof r->label, "%s", label ? label : "(unlabelled)");
        rc = 0;
    } else {
        errno = ENOSPC;
    }
    pthread_mutex_unlock(&roots_lock);
    return rc;
}

int lc_root_unregister(const void *start) {
    pthread_mutex_lock(&roots_lock);
    int rc = -1;
    for (size_t i = 0; i < nroots; i++) {
        if (roots[i].start != (uintptr_t)start) continue;
        roots[i] = roots[--nroots];
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&roots_lock);
    if (rc) errno = ENOENT;
    return rc;
}

size_t lc_user_roots_add(lc_graph *g) {
    size_t from = g->nroots;
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < nroots; i++) {
        lc_root root = {.r = {roots[i].start, roots[i].end},
                        .kind = LC_ROOT_REGION,
                        .thread = -1,
                        .module = roots[i].label};
        lc_graph_add_root(g, &root);
    }
    pthread_mutex_unlock(&roots_lock);
    return from;
}
