/* SPDX-License-Identifier: MIT */
/* spans.c: an allocator of small blocks of the library's own, under the
 * header store: the default natively (LEAKCHECK_ALLOCATOR=glibc turns it
 * off).
 *
 * Why: with glibc underneath, a tracked malloc/free pair pays glibc's
 * path and the tracker's on top (bench/README.md, "Design 4"). An
 * allocator of size classes with per-thread free lists does glibc's share
 * in a few loads and stores, as LeakSanitizer's own allocator does.
 *
 * The layout. One reservation of address space (an own mapping of the
 * library, so never a root of the scan), cut into 64 KB spans. A thread
 * carves blocks of every class (spans.h: up to LC_SPANS_MAX) from
 * its current span, in the order they are asked for, as glibc carves its
 * top chunk: blocks made together share pages, whatever their sizes, and
 * a forked child or its parent writes fewer pages the fork shared (a
 * span per class put each class a test used on a page of its own). A
 * block's class comes from the size in its header. A thread keeps, per
 * class, a list of free blocks and one full chain of
 * BATCH more; past that a chain goes to the class's central list, where
 * any thread takes it back. A block is freed into the freeing thread's
 * list, whoever made it, so there is no owner to look up. A free block's
 * link, and a chain's link and count, live in its first three words (the
 * header, and a number in the block's first): no pointer of the
 * allocator's is left where a block the program gets could hold it, for
 * the scan to take for the program's.
 *
 * Signal handlers: a thread's lists are changed with `lc_spans_busy` set; a handler
 * that finds it set gets its block from glibc, and a free it makes then is
 * pushed onto a lock-free list that the next refill of any thread takes
 * in. A thread that ended gives its lists to the central ones and its
 * cache to the next new thread. A forked child keeps the forking thread's
 * cache; the others' cached blocks are lost to it (never handed out).
 *
 * Not done yet: memory is never returned to the system; past the arena
 * glibc serves; malloc_trim, mallinfo and malloc_stats know glibc's
 * blocks only. */
#include "spans.h"

#include "os.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES LC_SPANS_CLASSES
#define SPAN_BYTES ((uintptr_t)64 << 10)
#define ARENA_BYTES ((uintptr_t)4 << 30)
#define BATCH LC_SPANS_BATCH

/* A free block's first words (it is at least 32 bytes): spans.h. */
typedef lc_spans_chain chain;
typedef lc_spans_local local;
typedef lc_spans_cache cache;

typedef struct central {
    lc_spinlock lock;
    _Atomic(chain *) chains; /* changed under the lock, peeked at without */
} __attribute__((aligned(64))) central;

LC_HOT uintptr_t lc_spans_lo, lc_spans_len;
static _Atomic uintptr_t arena_used;
static central centrals[CLASSES];
/* Readies the header store for a span before its first block (set once). */
static bool (*prepare_span)(uintptr_t lo, uintptr_t len);
/* Caches are carved from spans of their own, under caches_lock: the
 * first ones lie beside the first blocks, in the pages and page tables a
 * small program has anyway (each page table more is one more that every
 * fork copies and every forked child frees). */
static char *cache_bump, *cache_end;
static cache *free_caches;
static lc_spinlock caches_lock;
/* Blocks freed while their thread's lists were lc_spans_busy, or without a cache:
 * linked by `next`, the class in `count`. */
static _Atomic(chain *) deferred;

LC_TLS cache *lc_spans_tls;
LC_TLS volatile int lc_spans_busy;
static LC_TLS bool ended; /* this thread gave its cache back */

const char *lc_spans_configure(bool (*prepare)(uintptr_t lo, uintptr_t len)) {
    const char *a = getenv("LEAKCHECK_ALLOCATOR");
    bool asked = a && *a;
    if (asked && strcmp(a, "glibc") == 0) return NULL;
    if (asked && strcmp(a, "spans") != 0) return "is neither spans nor glibc";
    if (lc_cfg.under_valgrind) return NULL; /* memcheck's malloc serves every block */
    void *arena = lc_os_reserve(ARENA_BYTES);
    if (!arena || !prepare((uintptr_t)arena, 0))
        return asked ? "found no address space for its arena" : NULL;
    prepare_span = prepare;
    lc_spans_lo = (uintptr_t)arena;
    lc_spans_len = ARENA_BYTES;
    return NULL;
}

/* A new span of the arena, its bitmap leaf made: NULL past the arena's
 * end, or when the leaf cannot be made (glibc then serves). */
static char *take_span(void) {
    uintptr_t at = atomic_fetch_add_explicit(&arena_used, SPAN_BYTES, memory_order_relaxed);
    if (at + SPAN_BYTES > lc_spans_len || !prepare_span(lc_spans_lo + at, SPAN_BYTES)) return NULL;
    return (char *)(lc_spans_lo + at);
}

static inline unsigned class_of(size_t request) {
    return lc_spans_class(request);
}

static void enter(void) {
    lc_spans_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
}

static void leave(void) {
    atomic_signal_fence(memory_order_seq_cst);
    lc_spans_busy = 0;
}

/* A cache for this thread: an ended thread's, or a new one. */
static cache *cache_take(void) {
    if (ended) return NULL;
    lc_spin_lock(&caches_lock);
    cache *k = free_caches;
    if (k) {
        free_caches = k->next_free;
    } else {
        if ((size_t)(cache_end - cache_bump) < sizeof(cache) && (cache_bump = take_span()))
            cache_end = cache_bump + SPAN_BYTES;
        if (cache_bump) {
            k = (cache *)cache_bump;
            cache_bump += sizeof(cache);
        }
    }
    lc_spin_unlock(&caches_lock);
    return lc_spans_tls = k;
}

static void push_central(unsigned c, chain *head, uint32_t count) {
    head->count = count;
    lc_spin_lock(&centrals[c].lock);
    head->next_chain = atomic_load_explicit(&centrals[c].chains, memory_order_relaxed);
    atomic_store_explicit(&centrals[c].chains, head, memory_order_relaxed);
    lc_spin_unlock(&centrals[c].lock);
}

static chain *pop_central(unsigned c) {
    if (!atomic_load_explicit(&centrals[c].chains, memory_order_relaxed)) return NULL;
    lc_spin_lock(&centrals[c].lock);
    chain *head = atomic_load_explicit(&centrals[c].chains, memory_order_relaxed);
    if (head) atomic_store_explicit(&centrals[c].chains, head->next_chain, memory_order_relaxed);
    lc_spin_unlock(&centrals[c].lock);
    return head;
}

/* The list is full: it becomes the chain kept back, and the one kept
 * back before goes to the central list. */
static __attribute__((noinline)) void overflow(local *l, unsigned c) {
    if (l->full) push_central(c, l->full, BATCH);
    l->full = l->head;
    l->head = NULL;
    l->count = 0;
}

static inline void push_local(local *l, unsigned c, chain *b) {
    lc_spans_scrub(b);
    b->next = l->head;
    l->head = b;
    if (++l->count == BATCH) overflow(l, c);
}

static void defer(chain *b, unsigned c) {
    lc_spans_scrub(b);
    b->count = c;
    chain *top = atomic_load_explicit(&deferred, memory_order_relaxed);
    do
        b->next = top;
    while (!atomic_compare_exchange_weak_explicit(&deferred, &top, b, memory_order_release,
                                                  memory_order_relaxed));
}

static void take_deferred(cache *k) {
    chain *b = atomic_exchange_explicit(&deferred, NULL, memory_order_acquire);
    while (b) {
        chain *next = b->next;
        unsigned c = (unsigned)b->count;
        push_local(&k->cls[c], c, b);
        b = next;
    }
}

static inline chain *pop_local(local *l) {
    chain *b = l->head;
    l->head = b->next;
    l->count--;
    return b;
}

/* This class's list is empty: the chain kept back, a central chain, the
 * current span or a new one, in that order. */
static __attribute__((noinline)) void *refill(cache *k, local *l, unsigned c) {
    if (atomic_load_explicit(&deferred, memory_order_relaxed)) take_deferred(k);
    if (l->head) return pop_local(l);
    chain *got = l->full;
    if (got) {
        l->full = NULL;
        l->head = got;
        l->count = BATCH;
        return pop_local(l);
    }
    if ((got = pop_central(c))) {
        l->head = got;
        l->count = (uint32_t)got->count;
        got->next_chain = NULL, got->count = 0; /* the program's first bytes */
        return pop_local(l);
    }
    size_t size = lc_spans_class_bytes(c);
    if (!k->bump || (size_t)(k->end - k->bump) < size) {
        char *span = take_span();
        if (!span) return NULL;
        k->bump = span;
        k->end = span + SPAN_BYTES;
    }
    void *b = k->bump;
    k->bump += size;
    return b;
}

LC_HOT_CODE void *lc_spans_alloc(size_t request) {
    if (request > LC_SPANS_MAX || !lc_spans_len || lc_spans_busy) return NULL;
    enter();
    cache *k = lc_spans_tls;
    void *b = NULL;
    if (LC_LIKELY(k) || (k = cache_take())) {
        unsigned c = class_of(request);
        local *l = &k->cls[c];
        b = LC_LIKELY(l->head) ? pop_local(l) : refill(k, l, c);
    }
    leave();
    return b;
}

LC_HOT_CODE void lc_spans_free(uintptr_t base, size_t request) {
    unsigned c = class_of(request);
    if (lc_spans_busy) {
        defer((chain *)base, c);
        return;
    }
    enter();
    cache *k = lc_spans_tls;
    if (LC_LIKELY(k) || (k = cache_take()))
        push_local(&k->cls[c], c, (chain *)base);
    else
        defer((chain *)base, c);
    leave();
}

uintptr_t lc_spans_used(void) {
    return atomic_load_explicit(&arena_used, memory_order_relaxed);
}

void lc_spans_thread_exit(void) {
    cache *k = lc_spans_tls;
    ended = true;
    if (!k) return;
    enter();
    for (unsigned c = 0; c < CLASSES; c++) {
        local *l = &k->cls[c];
        if (l->head) push_central(c, l->head, l->count);
        if (l->full) push_central(c, l->full, BATCH);
        l->head = l->full = NULL;
        l->count = 0;
    }
    lc_spans_tls = NULL;
    lc_spin_lock(&caches_lock);
    k->next_free = free_caches;
    free_caches = k;
    lc_spin_unlock(&caches_lock);
    leave();
}

void lc_spans_lock_all(void) {
    lc_spin_lock(&caches_lock);
    for (unsigned c = 0; c < CLASSES; c++)
        lc_spin_lock(&centrals[c].lock);
}

void lc_spans_unlock_all(void) {
    for (unsigned c = CLASSES; c-- > 0;)
        lc_spin_unlock(&centrals[c].lock);
    lc_spin_unlock(&caches_lock);
}
