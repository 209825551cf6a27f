/* SPDX-License-Identifier: MIT */
/* spans.h: an allocator of small blocks of the library's own, under the
 * header store (spans.c): the default natively, off with
 * LEAKCHECK_ALLOCATOR=glibc. */
#ifndef LC_SPANS_H
#define LC_SPANS_H

#include "core.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest request it serves, the header included; larger ones, and
 * every aligned one, stay glibc's. Classes go in 16-byte steps up to 1 KB
 * and in 256-byte steps above: stdio's buffers (4 KB) and Check's
 * message buffers (8 KB) are made in every forked test, and a block from
 * glibc writes a second page of headers and a second page of the bitmap
 * in the child. */
#define LC_SPANS_MAX (8192u + 256u) /* 8 KB asked, and the header */
#define LC_SPANS_FINE_MAX 1024u

/* Where its blocks live: [lc_spans_lo, lc_spans_lo + lc_spans_len), an
 * empty range while it is off. Read by every free. */
extern uintptr_t lc_spans_lo, lc_spans_len;

static inline bool lc_spans_owns(uintptr_t base) {
    return base - lc_spans_lo < lc_spans_len;
}

/* Turns it on unless the environment says glibc (init.c, once, at start-up):
 * blocks made before stay glibc's, and free tells them apart by address.
 * `prepare` readies the header store for the arena (lc_inband_prepare).
 * NULL, or why the setting could not be followed (glibc then serves every
 * block; without the setting, a failure is no error: glibc serves). */
const char *lc_spans_configure(bool (*prepare)(uintptr_t lo, uintptr_t len));

/* A block of at least `request` bytes, or NULL: off, too large, out of
 * address space, or asked from a signal handler while this thread is
 * inside the allocator (glibc then serves the request). */
void *lc_spans_alloc(size_t request);
/* Gives back a block of lc_spans_alloc, made for `request` bytes. */
void lc_spans_free(uintptr_t base, size_t request);

/* The same two, their common case inline for the interposers' fast path
 * (alloc_hooks.c): a thread's list of free blocks of the class. */
typedef struct lc_spans_chain {
    struct lc_spans_chain *next;       /* the next free block */
    uintptr_t header;                  /* zero: the header store's word with a live block's flag */
    struct lc_spans_chain *next_chain; /* of a chain's first block in a central list */
    uintptr_t count;                   /* of a chain's first block: its blocks; deferred: class */
} lc_spans_chain;
/* A block given back has its header's second word and its first 16 bytes
 * cleared. The word says to the header store whether the block is live
 * (heap_inband.c). The 16 bytes are the program's old data, and the last
 * two fields above: glibc's free list overwrites them too, and a scan that
 * found old pointers in a recycled block the program has not filled yet
 * would take them for the program's (a bash process under `leakcheck run`
 * lost 140 blocks instead of glibc's 155 without this). */
static inline void lc_spans_scrub(lc_spans_chain *b) {
    b->header = 0;
    b->next_chain = NULL;
    b->count = 0;
}
typedef struct lc_spans_local {
    lc_spans_chain *head; /* the blocks handed out next */
    uint32_t count;
    lc_spans_chain *full; /* LC_SPANS_BATCH blocks kept back, or none */
} lc_spans_local;
#define LC_SPANS_CLASSES (LC_SPANS_FINE_MAX / 16 + (LC_SPANS_MAX - LC_SPANS_FINE_MAX) / 256 + 1)
#define LC_SPANS_BATCH 64u
typedef struct lc_spans_cache {
    lc_spans_local cls[LC_SPANS_CLASSES];
    char *bump, *end;                 /* the rest of the thread's current span, for every class */
    struct lc_spans_cache *next_free; /* on the list of caches of ended threads */
} lc_spans_cache;
extern LC_TLS lc_spans_cache *lc_spans_tls;
/* Set while this thread changes its lists: a signal handler's request
 * then goes elsewhere (spans.c). */
extern LC_TLS volatile int lc_spans_busy;

/* What a block of `size` bytes with the header store's 16 before it asks
 * for: at least 32 bytes, the four words a free block holds. */
static inline size_t lc_spans_request(size_t size) {
    return (size < 16 ? 16 : size) + 16;
}

static inline unsigned lc_spans_class(size_t request) {
    if (LC_LIKELY(request <= LC_SPANS_FINE_MAX)) return (unsigned)((request + 15) >> 4);
    return (unsigned)(LC_SPANS_FINE_MAX / 16 + ((request - LC_SPANS_FINE_MAX + 255) >> 8));
}

/* The bytes a block of class c holds. */
static inline size_t lc_spans_class_bytes(unsigned c) {
    if (c <= LC_SPANS_FINE_MAX / 16) return (size_t)c << 4;
    return LC_SPANS_FINE_MAX + ((size_t)(c - LC_SPANS_FINE_MAX / 16) << 8);
}

/* The thread's next block of the class, or NULL when the list is empty,
 * the thread has no cache yet or a signal handler interrupted its own
 * thread inside the lists: the caller then asks lc_spans_alloc, out of
 * line, so that the common case calls nothing. */
static inline void *lc_spans_pop(size_t request) {
    lc_spans_cache *k = lc_spans_tls;
    if (LC_UNLIKELY(!k || lc_spans_busy)) return NULL;
    lc_spans_local *l = &k->cls[lc_spans_class(request)];
    lc_spans_chain *b = l->head;
    if (LC_UNLIKELY(!b)) return NULL;
    lc_spans_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    l->head = b->next;
    l->count--;
    atomic_signal_fence(memory_order_seq_cst);
    lc_spans_busy = 0;
    return b;
}

static inline void lc_spans_push(uintptr_t base, size_t request) {
    lc_spans_cache *k = lc_spans_tls;
    lc_spans_local *l;
    if (LC_UNLIKELY(!k || lc_spans_busy) ||
        LC_UNLIKELY((l = &k->cls[lc_spans_class(request)])->count + 1 >= LC_SPANS_BATCH)) {
        lc_spans_free(base, request);
        return;
    }
    lc_spans_chain *b = (lc_spans_chain *)base;
    lc_spans_scrub(b);
    lc_spans_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    b->next = l->head;
    l->head = b;
    l->count++;
    atomic_signal_fence(memory_order_seq_cst);
    lc_spans_busy = 0;
}

/* The bytes a block made for `request` holds: its class's. (The general
 * path asks with glibc's request, HEADER + at least 9 bytes, and lands in
 * the class lc_spans_request gives for the same size.) */
static inline size_t lc_spans_block_size(size_t request) {
    return lc_spans_class_bytes(lc_spans_class(request));
}

/* The bytes of the arena carved into spans so far. */
uintptr_t lc_spans_used(void);
/* A thread that ends gives its cached blocks back (threads.c). */
void lc_spans_thread_exit(void);
/* Held across fork by a threaded process (init.c). */
void lc_spans_lock_all(void);
void lc_spans_unlock_all(void);

#endif
