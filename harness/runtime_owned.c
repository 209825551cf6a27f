/* SPDX-License-Identifier: MIT */
/* runtime_owned.c: which live blocks the C runtime owns.
 *
 * The principle, applied the same way to every block: a block belongs to the
 * C runtime when the runtime's own storage (the writable data and this
 * thread's TLS of libc, the dynamic linker, libgcc_s, libstdc++ ..., and this
 * thread's descriptor in the thread library) points
 * at it, directly or through other runtime blocks, or when the dynamic
 * linker or the thread library (inside pthread_create) allocated it for
 * itself. stdio buffers, locale and time-zone data, NSS state and the
 * linker's link maps are all found this way, with no list of functions to
 * excuse. Runtime roots count only pointers to the start of a block:
 * malloc's own bins point at chunk headers, which can fall inside the
 * previous block and must not excuse it.
 *
 * A check that passes needs only this question answered for the blocks new
 * since its baseline, and usually for a handful of them (the child's first
 * stdio buffer, the time zone): lc_runtime_owns_new answers it from the
 * runtime's roots alone, following start pointers through the table's hash
 * lookup, without copying, sorting or indexing the whole heap. It finds a
 * subset of what the full scan finds, so its "all the runtime's" is the full
 * scan's verdict too; anything else is left to the full scan.
 *
 * One part of the thread descriptor is the program's, not the runtime's:
 * the values stored with pthread_setspecific. They are roots of the program
 * (as LeakSanitizer treats them), so the descriptor is scanned around them,
 * and the check marks what they reach as the program's before it asks what
 * the runtime owns. Where they sit is found once at start-up: one key is
 * created, given a value whose address nothing else holds, looked for in
 * the calling thread's descriptor and deleted again, so that the program
 * still gets every key. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "scan.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <valgrind/memcheck.h>

static void add_runtime_region(const lc_region *r, lc_module_kind kind, const char *module,
                               void *arg) {
    if (kind != LC_MODULE_RUNTIME) return;
    lc_root root = {.r = *r, .kind = LC_ROOT_GLOBAL, .thread = -1, .module = module};
    lc_graph_add_root(arg, &root);
}

/* The thread library's descriptor of the calling thread (struct pthread):
 * glibc keeps per-thread buffers there, not in TLS (strerror's and
 * strsignal's messages for unknown numbers, for one). Its size is published
 * for the thread debugger. */
static size_t thread_descriptor_size(void) {
    static size_t size;
    if (!size) {
        lc_self_enter();
        const uint32_t *published = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
        lc_self_leave();
        size = published && *published ? *published : sizeof(uintptr_t);
    }
    return size;
}

/* glibc's layout: keys 0-31 in an array of {sequence, value} pairs inside
 * the descriptor, followed by 32 pointers to arrays of 32 more pairs each
 * (the first pointing back at the array inside). */
#define TSD_PAIRS 32
#define TSD_PAIR_BYTES (2 * sizeof(uintptr_t))
#define TSD_BLOCK_BYTES (TSD_PAIRS * TSD_PAIR_BYTES)
static long tsd_offset = -1; /* of the first array in the descriptor; -1: unknown */

void lc_runtime_tsd_probe(void) {
    static char marker; /* an address no other word of the descriptor holds */
    pthread_key_t key;
    if (pthread_key_create(&key, NULL) != 0) return;
    if (key < TSD_PAIRS && pthread_setspecific(key, &marker) == 0) {
        uintptr_t self = (uintptr_t)pthread_self();
        size_t size = thread_descriptor_size();
        for (size_t off = 0; off + sizeof(uintptr_t) <= size; off += sizeof(uintptr_t)) {
            if (*(const uintptr_t *)(self + off) != (uintptr_t)&marker) continue;
            long base = (long)off - (long)(key * TSD_PAIR_BYTES + sizeof(uintptr_t));
            size_t end = (size_t)base + TSD_BLOCK_BYTES + TSD_PAIRS * sizeof(uintptr_t);
            if (base >= 0 && end <= size &&
                *(const uintptr_t *)(self + (size_t)base + TSD_BLOCK_BYTES) ==
                    self + (size_t)base) {
                tsd_offset = base;
                break;
            }
        }
        pthread_setspecific(key, NULL);
    }
    pthread_key_delete(key);
}

size_t lc_runtime_add_roots(lc_graph *g) {
    size_t from = g->nroots;
    lc_os_for_each_data_region(add_runtime_region, g);
    lc_os_for_each_tls_block(add_runtime_region, g);
    uintptr_t self = (uintptr_t)pthread_self();
    size_t size = thread_descriptor_size();
    if (tsd_offset < 0) {
        lc_region tcb = {self, self + size};
        add_runtime_region(&tcb, LC_MODULE_RUNTIME, "libc (thread descriptor)", g);
    } else {
        /* All but the program's values; the pointers to the further arrays
         * stay, so those arrays are the runtime's blocks. */
        lc_region below = {self, self + (size_t)tsd_offset};
        lc_region above = {self + (size_t)tsd_offset + TSD_BLOCK_BYTES, self + size};
        add_runtime_region(&below, LC_MODULE_RUNTIME, "libc (thread descriptor)", g);
        add_runtime_region(&above, LC_MODULE_RUNTIME, "libc (thread descriptor)", g);
    }
    return from;
}

void lc_runtime_add_tsd(lc_graph *g, uintptr_t tp, const lc_root *proto) {
    if (tsd_offset < 0 || !tp) return;
    lc_root root = *proto;
    root.kind = LC_ROOT_TSD;
    uintptr_t first = tp + (uintptr_t)tsd_offset;
    root.r = (lc_region){first, first + TSD_BLOCK_BYTES};
    lc_graph_add_root(g, &root);
    /* Another thread's descriptor may go away as it exits: read, not
     * dereferenced. */
    uintptr_t more[TSD_PAIRS];
    size_t got = lc_os_read_self(more, first + TSD_BLOCK_BYTES, sizeof more) / sizeof more[0];
    for (size_t i = 1; i < got; i++) {
        if (!more[i]) continue;
        root.r = (lc_region){more[i], more[i] + TSD_BLOCK_BYTES};
        lc_graph_add_root(g, &root);
    }
}

int lc_runtime_owned(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop) {
    lc_graph_mark(g, from, to, bit, stop, true, false);
    lc_graph_mark_flagged(g, LC_BLOCK_RUNTIME, bit, stop);
    return g->incomplete ? -1 : 0;
}

/* The blocks the quick answer may visit: beyond these it gives up and the
 * full scan decides (a program whose runtime holds thousands of blocks). */
#define QUICK_MAX_BLOCKS 4096u
#define QUICK_SET (2 * QUICK_MAX_BLOCKS) /* open addressing, at most half full */
#define QUICK_MAX_NEW 1024u

typedef struct quick {
    uintptr_t *set; /* visited block addresses */
    lc_block *queue;
    size_t nqueue, bytes;
    uintptr_t lo, hi;
    bool full;
} quick;

static bool quick_visit(quick *q, uintptr_t v) {
    if (v < q->lo || v > q->hi || (v & (sizeof(uintptr_t) - 1))) return false;
    uint32_t i = (uint32_t)((v >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (QUICK_SET - 1);
    for (; q->set[i]; i = (i + 1) & (QUICK_SET - 1))
        if (q->set[i] == v) return false;
    lc_block b;
    if (!lc_heap_find_held(v, &b)) return false;
    if (q->nqueue == QUICK_MAX_BLOCKS) {
        q->full = true;
        return false;
    }
    q->set[i] = v;
    q->queue[q->nqueue++] = b;
    return true;
}

static bool quick_has(const quick *q, uintptr_t v) {
    uint32_t i = (uint32_t)((v >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (QUICK_SET - 1);
    for (; q->set[i]; i = (i + 1) & (QUICK_SET - 1))
        if (q->set[i] == v) return true;
    return false;
}

/* Every word of [start, end) that is the start of a tracked block. Under
 * valgrind the words are copied and the copy marked defined, as reach.c
 * does, so that memcheck does not report the reads. */
LC_NO_SANITIZE static void quick_scan(quick *q, uintptr_t start, uintptr_t end) {
    start = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t buf[256];
    while (start + sizeof(uintptr_t) <= end && !q->full) {
        size_t words = (end - start) / sizeof(uintptr_t);
        if (words > 256) words = 256;
        const uintptr_t *w = (const uintptr_t *)start;
        if (lc_cfg.under_valgrind) {
            memcpy(buf, w, words * sizeof(uintptr_t));
            VALGRIND_MAKE_MEM_DEFINED(buf, words * sizeof(uintptr_t));
            w = buf;
        }
        for (size_t i = 0; i < words; i++)
            quick_visit(q, w[i]);
        start += words * sizeof(uintptr_t);
    }
}

bool lc_runtime_owns_new(uint64_t min_seq) {
    lc_graph g = {0};
    lc_self_enter();
    lc_runtime_add_roots(&g);
    quick q = {0};
    /* One mapping for the set, the queue and the new blocks: a check maps
     * and unmaps once, and touches only the pages it fills. */
    size_t set_bytes = QUICK_SET * sizeof(uintptr_t);
    size_t queue_bytes = QUICK_MAX_BLOCKS * sizeof(lc_block);
    size_t bytes = set_bytes + queue_bytes + QUICK_MAX_NEW * sizeof(lc_block);
    char *scratch = lc_os_alloc(bytes);
    lc_block *fresh = NULL;
    if (scratch) {
        q.set = (uintptr_t *)scratch;
        q.queue = (lc_block *)(scratch + set_bytes);
        fresh = (lc_block *)(scratch + set_bytes + queue_bytes);
    }
    bool owned = false;
    if (scratch && g.nroots) {
        lc_heap_lock_all();
        lc_heap_bounds(&q.lo, &q.hi);
        size_t n = lc_heap_copy_held(fresh, QUICK_MAX_NEW, min_seq);
        if (n <= QUICK_MAX_NEW) {
            for (size_t r = 0; r < g.nroots && !q.full; r++)
                quick_scan(&q, g.roots[r].r.start, g.roots[r].r.end);
            for (size_t k = 0; k < q.nqueue && !q.full; k++) {
                uintptr_t a = lc_block_addr(&q.queue[k]);
                quick_scan(&q, a, a + lc_block_size(&q.queue[k]));
            }
            owned = !q.full;
            for (size_t i = 0; i < n && owned; i++)
                owned = (lc_block_flags(&fresh[i]) & LC_BLOCK_RUNTIME) ||
                        quick_has(&q, lc_block_addr(&fresh[i]));
            /* Flagged, as the full scan flags them: later checks count
             * them out without asking again. */
            for (size_t i = 0; i < n && owned; i++)
                if (!(lc_block_flags(&fresh[i]) & LC_BLOCK_RUNTIME))
                    lc_heap_flag_held(lc_block_addr(&fresh[i]), LC_BLOCK_RUNTIME);
        }
        lc_heap_unlock_all();
    }
    lc_os_free(scratch, bytes);
    lc_graph_free(&g);
    lc_self_leave();
    return owned;
}
