/* SPDX-License-Identifier: MIT */
/* reach.c: the reachability graph of the live heap.
 *
 * Every question a check asks about a leaked block is a question about who
 * points to it: does the C runtime (runtime_owned.c), do the program's
 * globals, TLS or live threads, do only leaked threads, or nothing at all.
 * This file answers them with one conservative marker: a breadth-first walk
 * from a set of roots through every word of every block it reaches, taking
 * any word that points into a tracked block (at its start or inside it, or
 * just past the count of an empty C++ array) as a reference. Breadth
 * first, because the parent each block is first reached from then lies on
 * a shortest chain from a root: that chain is the retention path a report
 * shows, as LeakCanary shows a leak trace.
 *
 * Lost blocks are split as valgrind splits them: a block that only other
 * lost blocks point to is `indirect` (freeing the direct ones frees it); of
 * a lost cycle with nothing outside pointing in, one block stays `direct`.
 *
 * The walk reads memory the program never initialised; under valgrind each
 * range is copied and the copy marked defined, so memcheck does not report
 * the scanner, and the scanning functions are not instrumented by the
 * sanitizers, whose redzones a word-by-word scan would cross.
 *
 * The scan must never fault the program it checks. Roots (globals, TLS,
 * stacks, mappings) are read through the kernel (process_vm_readv), which
 * answers an unreadable page (PROT_NONE, or unmapped since it was listed)
 * with a short count instead of a SIGSEGV; the page is skipped and the scan
 * goes on after it. Blocks are read in place, which the 1M-block scan needs
 * to stay fast, once the maps say every page of the block is readable (the
 * heap is locked, so no block is freed under the scan); a block the program
 * protected in part is read through the kernel like a root. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "scan.h"

#include <string.h>
#include <valgrind/memcheck.h>

#define ROOT_PARENT 0x80000000u

static void build_index(lc_graph *g);

typedef struct readable_walk {
    lc_graph *g;
    size_t cap;
} readable_walk;

static void add_readable(const lc_mapping *m, void *arg) {
    readable_walk *w = arg;
    lc_graph *g = w->g;
    if (!(m->flags & LC_MAP_READ)) return;
    if (g->nreadable && g->readable[g->nreadable - 1].end == m->start) {
        g->readable[g->nreadable - 1].end = m->end; /* adjacent: one range */
        return;
    }
    if (g->nreadable == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 512;
        lc_region *a = lc_os_alloc(cap * sizeof *a);
        if (!a) return; /* what is not listed is read through the kernel */
        if (g->readable) memcpy(a, g->readable, g->nreadable * sizeof *a);
        lc_os_free(g->readable, w->cap * sizeof *a);
        g->readable = a;
        w->cap = cap;
    }
    g->readable[g->nreadable++] = (lc_region){m->start, m->end};
}

static void load_readable(lc_graph *g) {
    readable_walk w = {g, 0};
    lc_os_for_each_mapping(add_readable, &w);
    g->readable_bytes = w.cap * sizeof(lc_region);
}

/* Whether every page of [start, end) was readable when the maps were read. */
static bool listed_readable(lc_graph *g, uintptr_t start, uintptr_t end) {
    const lc_region *r = g->nreadable ? &g->readable[g->readable_hit] : NULL;
    if (r && start >= r->start && end <= r->end) return true;
    size_t lo = 0, hi = g->nreadable;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->readable[mid].end <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == g->nreadable || start < g->readable[lo].start || end > g->readable[lo].end)
        return false;
    g->readable_hit = lo;
    return true;
}

int lc_graph_init(lc_graph *g, const lc_block *all, size_t n, uint8_t *mark, bool paths) {
    /* Roots may be added first: they are gathered before the heap is
     * locked, the blocks after. */
    lc_root *roots = g->roots;
    size_t nroots = g->nroots, roots_cap = g->roots_cap;
    memset(g, 0, sizeof *g);
    g->roots = roots;
    g->nroots = nroots;
    g->roots_cap = roots_cap;
    g->all = all;
    g->n = n;
    g->mark = mark;
    g->queue_bytes = (n ? n : 1) * sizeof(uint32_t);
    g->queue = lc_os_alloc(g->queue_bytes);
    if (!g->queue) return -1;
    if (paths) {
        g->path_bytes = (n ? n : 1) * sizeof(uint32_t);
        g->parent = lc_os_alloc(g->path_bytes);
        g->offset = lc_os_alloc(g->path_bytes);
        g->depth = lc_os_alloc(g->path_bytes);
        if (!g->parent || !g->offset || !g->depth) {
            lc_graph_free(g);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            g->parent[i] = LC_GRAPH_NO_PARENT;
    }
    build_index(g);
    load_readable(g);
    if (g->nclusters) {
        g->lo = g->clusters[0].lo;
        g->hi = g->clusters[g->nclusters - 1].hi;
    }
    return 0;
}

void lc_graph_free(lc_graph *g) {
    lc_os_free(g->queue, g->queue_bytes);
    lc_os_free(g->parent, g->path_bytes);
    lc_os_free(g->offset, g->path_bytes);
    lc_os_free(g->depth, g->path_bytes);
    lc_os_free(g->copy, g->copy_words * sizeof(uintptr_t));
    lc_os_free(g->readable, g->readable_bytes);
    lc_os_free(g->roots, g->roots_cap * sizeof(lc_root));
    for (size_t i = 0; i < g->nclusters; i++)
        lc_os_free(g->clusters[i].page, g->clusters[i].page_bytes);
    memset(g, 0, sizeof *g);
}

int lc_graph_add_root(lc_graph *g, const lc_root *r) {
    if (g->nroots == g->roots_cap) {
        size_t cap = g->roots_cap ? g->roots_cap * 2 : 256;
        lc_root *a = lc_os_alloc(cap * sizeof *a);
        if (!a) return -1;
        if (g->roots) {
            memcpy(a, g->roots, g->nroots * sizeof *a);
            lc_os_free(g->roots, g->roots_cap * sizeof *a);
        }
        g->roots = a;
        g->roots_cap = cap;
    }
    g->roots[g->nroots++] = *r;
    return 0;
}

static void add_global_region(const lc_region *r, lc_module_kind kind, const char *module,
                              void *arg) {
    if (kind != LC_MODULE_USER) return;
    lc_root root = {.r = *r, .kind = LC_ROOT_GLOBAL, .thread = -1, .module = module};
    lc_graph_add_root(arg, &root);
}

size_t lc_graph_add_globals(lc_graph *g) {
    size_t from = g->nroots;
    lc_os_for_each_data_region(add_global_region, g);
    return from;
}

/* Finding the block a word points into is the scan's inner loop: one
 * lookup per word that falls inside the heap's bounds, millions per check.
 * A binary search over a million blocks costs twenty cache misses; instead
 * the sorted blocks are cut into clusters (the brk heap, each mmap area)
 * and each cluster gets a page index, the first block at or after each
 * page, so that a lookup searches only the few blocks of one page. */
#define CLUSTER_GAP ((uintptr_t)1 << 28)

static void index_cluster(lc_graph *g, size_t first, size_t end, uintptr_t hi) {
    lc_cluster *c = &g->clusters[g->nclusters++];
    c->lo = lc_block_addr(&g->all[first]);
    c->hi = hi;
    c->first = first;
    c->end = end;
    uintptr_t span = hi - c->lo;
    size_t want = 2 * (end - first) + 64;
    c->shift = 12;
    while ((span >> c->shift) > want)
        c->shift++;
    c->npages = (span >> c->shift) + 2;
    c->page_bytes = c->npages * sizeof(uint32_t);
    c->page = lc_os_alloc(c->page_bytes);
    if (!c->page) {
        c->npages = 0; /* falls back to a binary search of the cluster */
        return;
    }
    size_t j = first;
    for (size_t k = 0; k < c->npages; k++) {
        uintptr_t start = c->lo + ((uintptr_t)k << c->shift);
        while (j < end && lc_block_addr(&g->all[j]) < start)
            j++;
        c->page[k] = (uint32_t)j;
    }
}

static void build_index(lc_graph *g) {
    if (!g->n) return;
    size_t first = 0;
    uintptr_t hi = 0;
    for (size_t i = 0; i < g->n; i++) {
        uintptr_t a = lc_block_addr(&g->all[i]);
        if (i > first && a - hi > CLUSTER_GAP && g->nclusters + 1 < LC_MAX_CLUSTERS) {
            index_cluster(g, first, i, hi);
            first = i;
        }
        /* A one-word block is held from its end too (an empty C++ array). */
        size_t size = lc_block_size(&g->all[i]);
        uintptr_t end = a + (size ? size : 1) + (size == sizeof(uintptr_t));
        if (i == first || end > hi) hi = end;
    }
    index_cluster(g, first, g->n, hi);
}

/* C++'s `new T[0]`, for a T with a destructor, allocates one word (the
 * element count, 0) and returns the address just past it, the block's end:
 * the program holds the block through a pointer that lies outside it.
 * LeakSanitizer makes the same exception (IsSpecialCaseOfOperatorNew0): a
 * pointer to the end of a one-word block whose word is 0 points into it.
 * The word is read through the kernel: the case is rare, and the read can
 * then never fault. */
static bool is_empty_array_cookie(uintptr_t a) {
    uintptr_t w = 1;
    if (lc_os_read_self(&w, a, sizeof w) != sizeof w) return false;
    VALGRIND_MAKE_MEM_DEFINED(&w, sizeof w);
    return w == 0;
}

/* Index of the block that contains p (or starts at p when exact), or -1.
 * Not exact, the end of an empty C++ array counts as inside it. */
static long find_block(const lc_graph *g, uintptr_t p, bool exact) {
    const lc_cluster *c = g->clusters;
    const lc_cluster *end = g->clusters + g->nclusters;
    while (c < end && !(p >= c->lo && p < c->hi))
        c++;
    if (c == end) return -1;
    size_t lo = c->first, hi = c->end;
    if (c->npages) {
        size_t k = (p - c->lo) >> c->shift;
        lo = c->page[k] > c->first ? c->page[k] - 1 : c->first;
        hi = k + 1 < c->npages ? c->page[k + 1] : c->end;
    }
    /* The last block that starts at or before p. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lc_block_addr(&g->all[mid]) <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->first) return -1;
    const lc_block *b = &g->all[lo - 1];
    uintptr_t a = lc_block_addr(b);
    if (exact) return a == p ? (long)(lo - 1) : -1;
    size_t size = lc_block_size(b);
    if (p < a + (size ? size : 1)) return (long)(lo - 1);
    return LC_UNLIKELY(p == a + sizeof(uintptr_t) && size == sizeof(uintptr_t)) &&
                   is_empty_array_cookie(a)
               ? (long)(lo - 1)
               : -1;
}

typedef struct pass {
    uint8_t bit, stop;
    bool record;
    size_t head, tail;
    bool exact; /* blocks reached count only pointers to a block's start too */
} pass;

static void reach(lc_graph *g, pass *p, long k, uint32_t parent, uint32_t offset, uint32_t depth) {
    if (g->mark[k] & (p->bit | p->stop)) return;
    g->mark[k] |= p->bit;
    if (p->record && g->parent) {
        g->parent[k] = parent;
        g->offset[k] = offset;
        g->depth[k] = depth;
    }
    g->queue[p->tail++] = (uint32_t)k;
}

/* Every word of w[0, words) that points into a block reaches it; the
 * words were read at address `at`, `from` is where the holder starts. */
LC_NO_SANITIZE static inline __attribute__((always_inline)) void
scan_words(lc_graph *g, pass *p, const uintptr_t *w, size_t words, uintptr_t at, uintptr_t from,
           bool exact, uint32_t parent, uint32_t depth) {
    for (size_t i = 0; i < words; i++) {
        uintptr_t v = w[i];
        if (v < g->lo || v >= g->hi) continue;
        long k = find_block(g, v, exact);
        if (k >= 0) reach(g, p, k, parent, (uint32_t)(at - from + i * sizeof(uintptr_t)), depth);
    }
}

#define COPY_WORDS ((size_t)1 << 16)
#define PAGE ((uintptr_t)4096)

/* Every word of [start, end) that points into a block reaches it. In place
 * when `direct` (a block the maps call readable), else copied in pieces:
 * through the kernel, skipping each page it cannot read, or under
 * valgrind with memcpy, so that memcheck does not take the reads as the
 * program's. */
LC_NO_SANITIZE static void scan_range(lc_graph *g, pass *p, uintptr_t start, uintptr_t end,
                                      bool exact, bool direct, uint32_t parent, uint32_t depth) {
    uintptr_t from = start;
    start = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (end <= start || g->n == 0) return;
    if (direct && !listed_readable(g, start, end)) direct = false;
    if (direct && !lc_cfg.under_valgrind) {
        scan_words(g, p, (const uintptr_t *)start, (end - start) / sizeof(uintptr_t), start, from,
                   exact, parent, depth);
        return;
    }
    if (!g->copy) {
        g->copy = lc_os_alloc(COPY_WORDS * sizeof(uintptr_t));
        if (!g->copy) {
            g->incomplete = true;
            return;
        }
        g->copy_words = COPY_WORDS;
    }
    /* `at < end` first: skipping an unreadable page may step past end, and
     * end - at would then wrap to a scan of the whole address space. */
    for (uintptr_t at = start; at < end && end - at >= sizeof(uintptr_t);) {
        size_t want = (end - at) / sizeof(uintptr_t);
        if (want > COPY_WORDS) want = COPY_WORDS;
        size_t got;
        if (direct) {
            memcpy(g->copy, (const void *)at, want * sizeof(uintptr_t));
            got = want;
        } else {
            got = lc_os_read_self(g->copy, at, want * sizeof(uintptr_t)) / sizeof(uintptr_t);
        }
        VALGRIND_MAKE_MEM_DEFINED(g->copy, got * sizeof(uintptr_t));
        scan_words(g, p, g->copy, got, at, from, exact, parent, depth);
        at += got * sizeof(uintptr_t);
        if (got < want) at = (at | (PAGE - 1)) + 1; /* the page that could not be read */
    }
}

/* How far ahead of the block being scanned the queue is prefetched: its
 * record twice as far, then the block's first line, so that the misses
 * of the blocks in line overlap the scan of this one (a million blocks
 * scanned one miss at a time is most of a check's time). */
#define PREFETCH_AHEAD 8

static void drain(lc_graph *g, pass *p) {
    while (p->head < p->tail) {
        if (p->head + 2 * PREFETCH_AHEAD < p->tail)
            __builtin_prefetch(&g->all[g->queue[p->head + 2 * PREFETCH_AHEAD]]);
        if (p->head + PREFETCH_AHEAD < p->tail)
            __builtin_prefetch(
                (const void *)lc_block_addr(&g->all[g->queue[p->head + PREFETCH_AHEAD]]));
        uint32_t k = g->queue[p->head++];
        const lc_block *b = &g->all[k];
        uintptr_t a = lc_block_addr(b);
        uint32_t depth = p->record && g->depth ? g->depth[k] + 1 : 0;
        scan_range(g, p, a, a + lc_block_size(b), p->exact, true, k, depth);
    }
}

void lc_graph_mark(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop, bool exact,
                   bool record) {
    pass p = {bit, stop, record, 0, 0, exact};
    lc_self_enter();
    for (size_t r = from; r < to && r < g->nroots; r++)
        scan_range(g, &p, g->roots[r].r.start, g->roots[r].r.end, exact, false,
                   ROOT_PARENT | (uint32_t)r, 0);
    drain(g, &p);
    lc_self_leave();
}

void lc_graph_mark_flagged(lc_graph *g, uint32_t flag, uint8_t bit, uint8_t stop) {
    pass p = {bit, stop, false, 0, 0, true};
    lc_self_enter();
    for (size_t i = 0; i < g->n; i++)
        if (lc_block_flags(&g->all[i]) & flag) reach(g, &p, (long)i, LC_GRAPH_NO_PARENT, 0, 0);
    drain(g, &p);
    lc_self_leave();
}

void lc_graph_mark_retained(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop) {
    pass p = {bit, stop, false, 0, 0, false};
    lc_self_enter();
    for (size_t i = 0; i < g->n; i++)
        g->mark[i] &= (uint8_t)~bit;
    for (size_t r = from; r < to && r < g->nroots; r++)
        scan_range(g, &p, g->roots[r].r.start, g->roots[r].r.end, false, false, LC_GRAPH_NO_PARENT,
                   0);
    drain(g, &p);
    lc_self_leave();
}

/* valgrind's clique walk: each lost block not yet known to be indirect
 * leads a flood through the lost blocks it points to, which become
 * indirect; if the flood comes back to the leader (a cycle), the leader
 * stays direct. A leader reached later by another leader's flood becomes
 * indirect too, so exactly the blocks nothing lost points to stay direct,
 * plus one per closed cycle. */
void lc_graph_split_lost(lc_graph *g, uint8_t indirect_bit, uint8_t stop) {
    lc_self_enter();
    for (size_t i = 0; i < g->n; i++) {
        if (g->mark[i] & (stop | indirect_bit)) continue;
        pass p = {indirect_bit, stop, false, 0, 0, false};
        const lc_block *b = &g->all[i];
        uintptr_t a = lc_block_addr(b);
        scan_range(g, &p, a, a + lc_block_size(b), false, true, LC_GRAPH_NO_PARENT, 0);
        drain(g, &p);
        g->mark[i] &= (uint8_t)~indirect_bit;
    }
    lc_self_leave();
}

int lc_graph_path(const lc_graph *g, size_t k, lc_path_step *out, int max, long *skipped) {
    *skipped = 0;
    if (!g->parent || g->parent[k] == LC_GRAPH_NO_PARENT || max < 2) return 0;
    /* Walk up to the root keeping the holders nearest the block; a chain
     * longer than max (the 100000th node of a list) keeps its root and
     * says how many holders between were left out. */
    int n = 0;
    lc_path_step root = {-1, -1, 0};
    for (uint32_t at = (uint32_t)k;;) {
        uint32_t parent = g->parent[at];
        if (parent == LC_GRAPH_NO_PARENT) break;
        lc_path_step step = {-1, -1, g->offset[at]};
        if (parent & ROOT_PARENT) {
            step.root = (int)(parent & ~ROOT_PARENT);
            root = step;
            break;
        }
        step.block = (long)parent;
        if (n < max - 1)
            out[n++] = step;
        else
            ++*skipped;
        at = parent;
    }
    for (int i = 0; i < n / 2; i++) {
        lc_path_step t = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = t;
    }
    if (root.root < 0) return n;
    memmove(out + 1, out, (size_t)n * sizeof *out);
    out[0] = root;
    return n + 1;
}
