/* SPDX-License-Identifier: MIT */
/* map_roots.c: the memory a program maps for itself, as roots of the scan.
 *
 * Programs keep heap pointers in memory that is neither a global, a stack
 * nor a heap block: CPython's pymalloc arenas, GCC's obstacks and GC pages,
 * any custom slab or arena, all of them anonymous private mappings. A scan
 * that ignores them reports everything they hold as lost (python3 -c
 * 'print(1)' loses 33 blocks that way, where valgrind loses none).
 *
 * The rule. valgrind's memcheck scans every readable and writable client
 * segment (anonymous, file-backed and shared alike) and relies on its own
 * bookkeeping to skip what is not the program's: its malloc replaces
 * glibc's, so no allocator metadata is client memory, and its addressability
 * bits make the dead part of every stack unreadable to the scan.
 * LeakSanitizer scans no mapping at all unless the program registers it
 * (__lsan_register_root_region), and so reports pymalloc's blocks unless
 * CPython is built without pymalloc. leakcheck follows valgrind (a block
 * a program still points to is not lost), and since it has neither of
 * valgrind's two aids, it leaves out by construction what would otherwise
 * hide leaks:
 *
 *  - anything named: [heap], [stack], [vvar], and file mappings (globals
 *    are scanned per object, with their symbols);
 *  - the writable segments of every loaded object, whose .bss tail shows as
 *    an anonymous mapping: those are globals, the C runtime's included,
 *    which have their own rules (runtime_owned.c);
 *  - the library's own mappings (lc_os_alloc, lc_os_reserve: block tables,
 *    copies, capture slots, alternate signal stacks), which name every
 *    block;
 *  - malloc's own mappings. A mapping that holds a tracked block belongs to
 *    malloc (glibc's non-main arenas): its free chunks keep stale pointers,
 *    so it is no root. The exception is a block glibc mmapped on its own
 *    (its chunk header has IS_MMAPPED): the kernel merges such a chunk with
 *    a neighbouring mapping of the program's, so only the chunk's own pages
 *    are left out. An arena heap is known by its heap_info header at a
 *    HEAP_MAX_SIZE-aligned address, looked for through the whole mapping
 *    (the kernel merges a heap with the mapping right below it), and only
 *    the heap is left out of a merged mapping; an mmapped
 *    chunk no tracked block names (the library's own large allocations) by
 *    its chunk header where a mapping, or an excluded part of it, ends;
 *  - thread stacks: a live thread's stack is scanned from its stack
 *    pointer (thread_roots.c); the rest of it, like the stack glibc caches
 *    after a thread exited, holds dead frames. A stack is known by a small
 *    PROT_NONE guard right below it (glibc maps every thread stack so), or
 *    by a thread's stack pointer or stack top inside it (stacks without a
 *    guard, coroutine stacks in use);
 *  - the dynamic linker's start-up mapping (the main thread's control block
 *    and static TLS, the link maps of the objects loaded before main), which
 *    is the runtime's, as it was at start-up: the kernel merges it with the
 *    program's own mappings next to it (cc1's garbage-collected pages right
 *    below it), and those stay roots. Its TLS blocks are scanned per module
 *    (thread_roots.c);
 *  - under valgrind, its own memory and its malloc's free space, which the
 *    maps list beside the program's: memcheck calls them unaddressable, and
 *    a mapping whose first word it does not let the program address is
 *    left out (the client request asked reports no error);
 *  - when a sanitizer's allocator serves malloc (its regions and shadow are
 *    not the program's): there, no mapping is a root.
 *
 * Mappings are read through the kernel, so an unmapped or protected page
 * is skipped, never a fault; of a very large one, only the resident pages
 * are read. */
#include "os.h"
#include "sanitizer.h"
#include "scan.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/memcheck.h>

/* glibc's mmapped-chunk flag and the alignment of its arena heaps
 * (HEAP_MAX_SIZE, 2 * DEFAULT_MMAP_THRESHOLD_MAX, on 64-bit targets). */
#define CHUNK_IS_MMAPPED ((uintptr_t)2)
#define CHUNK_FLAGS ((uintptr_t)7)
#define ARENA_HEAP_ALIGN ((uintptr_t)2 * 4 * 1024 * 1024 * sizeof(long))
#define MAP_PAGE ((uintptr_t)4096)

static uintptr_t main_tp;
/* The dynamic linker's start-up mapping as it was before the program ran:
 * the mapping the main thread's control block lies in. */
static lc_region startup;

static void find_startup(const lc_mapping *m, void *arg) {
    (void)arg;
    if (main_tp >= m->start && main_tp < m->end) startup = (lc_region){m->start, m->end};
}

void lc_map_roots_init(void) {
    if (main_tp) return;
    main_tp = (uintptr_t)pthread_self();
    lc_os_for_each_mapping(find_startup, NULL);
}

typedef struct region_list {
    lc_region *r;
    size_t n, cap;
} region_list;

static void list_push(region_list *l, uintptr_t start, uintptr_t end) {
    if (end <= start) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        lc_region *a = lc_os_alloc(cap * sizeof *a);
        if (!a) return;
        if (l->r) memcpy(a, l->r, l->n * sizeof *a);
        lc_os_free(l->r, l->cap * sizeof *a);
        l->r = a;
        l->cap = cap;
    }
    l->r[l->n++] = (lc_region){start, end};
}

static void list_free(region_list *l) {
    lc_os_free(l->r, l->cap * sizeof *l->r);
}

typedef struct map_walk {
    region_list cand; /* anonymous, private, read-write, unnamed */
    lc_mapping prev;  /* the mapping listed before */
    bool have_prev;
} map_walk;

/* A guard page below a stack: a small inaccessible anonymous mapping (a
 * larger one is a reservation, such as the rest of an arena heap). */
#define GUARD_MAX ((uintptr_t)1 << 20)

static void collect(const lc_mapping *m, void *arg) {
    map_walk *w = arg;
    bool guarded = w->have_prev && w->prev.end == m->start && w->prev.flags == LC_MAP_ANON &&
                   w->prev.end - w->prev.start <= GUARD_MAX;
    unsigned want = LC_MAP_READ | LC_MAP_WRITE | LC_MAP_ANON;
    if ((m->flags & (want | LC_MAP_SHARED)) == want && !m->name[0] && !guarded)
        list_push(&w->cand, m->start, m->end);
    w->prev = *m;
    w->prev.name = "";
    w->have_prev = true;
}

static void collect_data(const lc_region *r, lc_module_kind kind, const char *module, void *arg) {
    (void)kind;
    (void)module;
    list_push(arg, r->start & ~(MAP_PAGE - 1), (r->end + MAP_PAGE - 1) & ~(MAP_PAGE - 1));
}

/* Shell sort by start: qsort may call malloc, and the heap is locked. */
static void sort_regions(lc_region *r, size_t n) {
    static const size_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t k = 0; k < sizeof gaps / sizeof gaps[0]; k++) {
        for (size_t i = gaps[k]; i < n; i++) {
            lc_region t = r[i];
            size_t j = i;
            for (; j >= gaps[k] && r[j - gaps[k]].start > t.start; j -= gaps[k])
                r[j] = r[j - gaps[k]];
            r[j] = t;
        }
    }
}

static bool read_words(uintptr_t at, uintptr_t *w, size_t n) {
    return lc_os_read_self(w, at, n * sizeof *w) == n * sizeof *w;
}

/* The size of the arena heap at `at`, or 0 when there is none: glibc's
 * heap_info at the start of a non-main arena's heap holds the arena, the
 * previous heap, the size in use and the size made writable. The writable
 * part ends where the mapping ends (the rest of the heap is reserved
 * inaccessible) unless all of it is writable. */
static uintptr_t arena_heap_size(uintptr_t at, uintptr_t end) {
    uintptr_t w[4];
    if (at & (ARENA_HEAP_ALIGN - 1) || !read_words(at, w, 4)) return 0;
    if (!w[0] || w[2] > w[3] || w[3] & (MAP_PAGE - 1)) return 0;
    return w[3] == end - at || (w[3] == ARENA_HEAP_ALIGN && w[3] < end - at) ? w[3] : 0;
}

/* Adds to `out` the arena heaps in [start, end); true when they cover it.
 * The kernel merges a heap with a read-write anonymous mapping right below
 * it (the program's, or one of the library's own), so a heap is looked for
 * at every aligned address, not only at a mapping's start: a heap taken
 * for program memory makes every stale pointer in its free chunks a root. */
static bool arena_heaps(uintptr_t start, uintptr_t end, region_list *out) {
    uintptr_t covered = start;
    for (uintptr_t at = (start + ARENA_HEAP_ALIGN - 1) & ~(ARENA_HEAP_ALIGN - 1);
         at < end && at >= start; at += ARENA_HEAP_ALIGN) {
        uintptr_t size = arena_heap_size(at, end);
        if (!size) continue;
        list_push(out, at, at + size);
        if (covered == at) covered = at + size;
    }
    return covered == end;
}

/* Whether a lies in one of the regions [from, to) of l (unsorted, few). */
static bool in_regions(const region_list *l, size_t from, size_t to, uintptr_t a) {
    for (size_t i = from; i < to; i++)
        if (a >= l->r[i].start && a < l->r[i].end) return true;
    return false;
}

/* Whether the program may address the word at a: under valgrind, not in
 * valgrind's own memory nor in the free space of its malloc. */
static bool client_addressable(uintptr_t a) {
    if (!lc_cfg.under_valgrind) return true;
    unsigned char vbits[sizeof(uintptr_t)];
    return VALGRIND_GET_VBITS((const void *)a, vbits, sizeof vbits) == 1;
}

/* First block at or after addr. */
static size_t first_block(const lc_graph *g, uintptr_t addr) {
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lc_block_addr(&g->all[mid]) < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Adds to `out` the pages of [start, end) that malloc owns; false when the
 * whole mapping is malloc's (a block in it was not mmapped on its own).
 * Blocks in the arena heaps found at out's entries from `heaps` on are
 * malloc's and already left out. */
static bool malloc_parts(const lc_graph *g, uintptr_t start, uintptr_t end, region_list *out,
                         size_t heaps) {
    size_t nheaps = out->n;
    for (size_t i = first_block(g, start); i < g->n; i++) {
        if (lc_block_addr(&g->all[i]) >= end) break;
        if (in_regions(out, heaps, nheaps, lc_block_addr(&g->all[i]))) continue;
        /* glibc's pointer, before the block's header if it has one */
        uintptr_t a = lc_heap_allocator_pointer(lc_block_addr(&g->all[i]));
        uintptr_t hdr[2]; /* prev_size (the alignment slack), size | flags */
        if (a < start + 2 * sizeof(uintptr_t) || !read_words(a - 2 * sizeof(uintptr_t), hdr, 2))
            return false;
        uintptr_t chunk = a - 2 * sizeof(uintptr_t), size = hdr[1] & ~CHUNK_FLAGS;
        uintptr_t lo = chunk - hdr[0], hi = chunk + size;
        if (!(hdr[1] & CHUNK_IS_MMAPPED) || hdr[0] > chunk - start || size > end - chunk ||
            (lo | hi) & (MAP_PAGE - 1) || hi > end)
            return false;
        list_push(out, lo, hi);
    }
    return true;
}

/* A large mapping is mostly untouched reservation, as a region allocator
 * or a runtime's heap reserves it: reading it would fault in a zero page
 * for each of millions of pages. Above this size only the pages mincore
 * reports resident are scanned (pages swapped out are then missed). */
#define SPARSE_MIN ((uintptr_t)64 << 20)
#define CORE_PAGES 4096

static void add_root(lc_graph *g, uintptr_t s, uintptr_t e, uintptr_t base) {
    lc_root root = {.r = {s, e}, .kind = LC_ROOT_MAPPING, .thread = -1, .base = base};
    lc_graph_add_root(g, &root);
}

static void add_resident(lc_graph *g, uintptr_t start, uintptr_t end, uintptr_t base) {
    if (end - start < SPARSE_MIN) {
        add_root(g, start, end, base);
        return;
    }
    unsigned char vec[CORE_PAGES];
    uintptr_t run = 0; /* start of the resident run being built, 0: none */
    for (uintptr_t at = start; at < end;) {
        uintptr_t len = end - at < CORE_PAGES * MAP_PAGE ? end - at : CORE_PAGES * MAP_PAGE;
        if (mincore((void *)at, len, vec) != 0) {
            if (!run) run = at; /* unknown: scan it */
            at += len;
            continue;
        }
        for (uintptr_t k = 0; k < (len + MAP_PAGE - 1) / MAP_PAGE; k++, at += MAP_PAGE) {
            if ((vec[k] & 1) && !run) run = at;
            if (!(vec[k] & 1) && run) {
                add_root(g, run, at, base);
                run = 0;
            }
        }
    }
    if (run) add_root(g, run, end, base);
}

/* malloc's mmapped chunks that no tracked block names: the library's own
 * large allocations (and the libraries it calls), which are not tracked.
 * Each mmap the kernel merged into one mapping starts where the previous
 * one ended, so a piece that starts at the mapping's start or at the end
 * of an excluded region is checked for chunk headers in sequence: a
 * prev_size of 0, then a size of whole pages flagged IS_MMAPPED alone. */
static void add_after_chunks(lc_graph *g, uintptr_t at, uintptr_t end, uintptr_t base) {
    uintptr_t hdr[2];
    while (end - at >= MAP_PAGE && read_words(at, hdr, 2) && hdr[0] == 0 &&
           (hdr[1] & CHUNK_FLAGS) == CHUNK_IS_MMAPPED) {
        uintptr_t size = hdr[1] & ~CHUNK_FLAGS;
        if (!size || size & (MAP_PAGE - 1) || size > end - at) break;
        at += size;
    }
    if (end > at) add_resident(g, at, end, base);
}

/* Adds [start, end) minus the sorted, merged exclusions as roots. */
static void add_pieces(lc_graph *g, uintptr_t start, uintptr_t end, const region_list *ex) {
    size_t lo = 0, hi = ex->n;
    while (lo < hi) { /* the first exclusion that ends after start */
        size_t mid = lo + (hi - lo) / 2;
        if (ex->r[mid].end <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uintptr_t at = start; at < end; lo++) {
        uintptr_t stop = lo < ex->n && ex->r[lo].start < end ? ex->r[lo].start : end;
        if (stop > at) add_after_chunks(g, at, stop, start);
        if (lo >= ex->n || ex->r[lo].start >= end) break;
        if (ex->r[lo].end > at) at = ex->r[lo].end;
    }
}

static void sort_merge(region_list *l) {
    if (!l->n) return;
    sort_regions(l->r, l->n);
    size_t m = 0;
    for (size_t i = 1; i < l->n; i++) {
        if (l->r[i].start <= l->r[m].end) {
            if (l->r[i].end > l->r[m].end) l->r[m].end = l->r[i].end;
        } else {
            l->r[++m] = l->r[i];
        }
    }
    l->n = m + 1;
}

/* Whether a sorted list of regions has one that starts in [s, e). */
static bool any_starts_in(const region_list *l, uintptr_t s, uintptr_t e) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->r[mid].start < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->r[lo].start < e;
}

/* Every candidate mapping that is not malloc's, the runtime's or a stack,
 * as the list of its pages to scan; the exclusions it adds go to ex. */
static void keep_candidates(const lc_graph *g, const region_list *cand, region_list *keep,
                            region_list *ex) {
    /* Where the threads' stacks are (their stack pointers and tops, from
     * the stack roots already gathered): a stack without a guard page, or
     * a coroutine's, is known by the thread running on it. */
    region_list stacks = {0};
    for (size_t i = 0; i < g->nroots; i++) {
        if (g->roots[i].kind != LC_ROOT_STACK) continue;
        list_push(&stacks, g->roots[i].r.start, g->roots[i].r.start + 1);
        list_push(&stacks, g->roots[i].r.end - 1, g->roots[i].r.end);
    }
    /* Start-up memory not known from start-up: the whole mapping goes. */
    if (!startup.end) list_push(&stacks, main_tp, main_tp + 1);
    sort_regions(stacks.r, stacks.n);
    for (size_t i = 0; i < cand->n; i++) {
        uintptr_t s = cand->r[i].start, e = cand->r[i].end;
        if (any_starts_in(&stacks, s, e)) continue;
        if (!client_addressable(s)) continue;
        size_t heaps = ex->n;
        if (arena_heaps(s, e, ex) || !malloc_parts(g, s, e, ex, heaps)) continue;
        list_push(keep, s, e);
    }
    list_free(&stacks);
}

size_t lc_map_roots_add(lc_graph *g) {
    size_t from = g->nroots;
    if (lc_sanitizer_hooked()) return from;
    map_walk w = {0};
    region_list ex = {0}, keep = {0};
    /* The library's own mappings, read into a list of their own size:
     * without them every block would look held. */
    region_list own = {lc_os_alloc(LC_OS_OWN_MAX * sizeof(lc_region)), 0, LC_OS_OWN_MAX};
    if (own.r && lc_os_for_each_mapping(collect, &w) == 0) {
        own.n = lc_os_own_mappings(own.r, own.cap);
        for (size_t i = 0; i < own.n; i++)
            list_push(&ex, own.r[i].start, own.r[i].end);
        lc_os_for_each_data_region(collect_data, &ex);
        list_push(&ex, startup.start, startup.end);
        keep_candidates(g, &w.cand, &keep, &ex);
        sort_merge(&ex);
        for (size_t i = 0; i < keep.n; i++)
            add_pieces(g, keep.r[i].start, keep.r[i].end, &ex);
    } else {
        g->incomplete = true;
    }
    list_free(&own);
    list_free(&keep);
    list_free(&w.cand);
    list_free(&ex);
    return from;
}
