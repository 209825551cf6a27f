/* SPDX-License-Identifier: MIT */
/* arena.c: the memory of a profile model and of a profile comparison.
 *
 * A model holds many small arrays (strings, lines, locations) that live and
 * die together, so they come from one arena released at once: no element
 * is freed on its own, and a failed read frees everything with one call. */
#include "profiles.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

struct lc_pprof_arena {
    arena_chunk *head;
};

#define ARENA_CHUNK_MIN ((size_t)64 * 1024)

lc_pprof_arena *lc_pprof_arena_new(void) {
    return calloc(1, sizeof(lc_pprof_arena));
}

void lc_pprof_arena_free(lc_pprof_arena *a) {
    if (!a) return;
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* Zeroed memory for `count` elements of `size` bytes; NULL on overflow or
 * when out of memory. */
void *lc_pprof_arena_array(lc_pprof_arena *a, size_t count, size_t size) {
    if (size && count > (SIZE_MAX / 2) / size) return NULL;
    size_t want = count * size;
    want = (want + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (want == 0) want = sizeof(max_align_t);
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < want) {
        size_t cap = want > ARENA_CHUNK_MIN ? want : ARENA_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        /* A chunk sized for one large request goes behind the current one,
         * which may still have room for small ones. */
        if (a->head && cap == want && a->head->cap - a->head->used > 0) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += want;
    memset(p, 0, want);
    return p;
}
