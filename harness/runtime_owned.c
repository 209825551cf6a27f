/* runtime_owned.c: which live blocks the C runtime owns, and which the
 * program can still reach.
 *
 * The principle, applied the same way to every block: a block belongs to the
 * C runtime when the runtime's own storage (the writable data and this
 * thread's TLS of libc, the dynamic linker, libgcc_s, libstdc++ ...) points
 * at it, directly or through other runtime blocks, or when the dynamic
 * linker or the thread library (inside pthread_create) allocated it for
 * itself. stdio buffers,
 * locale and time-zone data, NSS state and the linker's link maps are all
 * found this way, with no list of functions to excuse. Runtime roots count
 * only pointers to the start of a block: malloc's own bins point at chunk
 * headers, which can fall inside the previous block and must not excuse it.
 *
 * The same conservative scan, from the program's globals and the calling
 * thread's stack, tells a leak that is still reachable (retained growth)
 * from one that nothing points to. The scan reads memory the program never
 * initialised; under valgrind it copies each range first and marks the copy
 * defined, so memcheck does not report the scanner. */
#include "internal.h"

#include <string.h>
#include <valgrind/memcheck.h>

typedef struct scan {
    const lc_block *all; /* sorted by address */
    size_t n;
    uint8_t *mark;
    uint8_t bit;
    uint32_t *work;
    size_t nwork, work_cap;
    uintptr_t *copy; /* valgrind scratch */
    size_t copy_words;
} scan;

/* Index of the block that contains p (or starts at p when exact). */
static long find_block(const scan *s, uintptr_t p, bool exact) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lc_block_addr(&s->all[mid]) <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return -1;
    const lc_block *b = &s->all[lo - 1];
    uintptr_t a = lc_block_addr(b);
    if (exact) return a == p ? (long)(lo - 1) : -1;
    size_t size = lc_block_size(b);
    return p < a + (size ? size : 1) ? (long)(lo - 1) : -1;
}

static void push(scan *s, long i) {
    if (s->mark[i] & s->bit) return;
    s->mark[i] |= s->bit;
    if (s->nwork == s->work_cap) {
        size_t cap = s->work_cap ? s->work_cap * 2 : 4096;
        uint32_t *w = lc_os_alloc(cap * sizeof *w);
        if (!w) return;
        if (s->work) {
            memcpy(w, s->work, s->nwork * sizeof *w);
            lc_os_free(s->work, s->work_cap * sizeof *w);
        }
        s->work = w;
        s->work_cap = cap;
    }
    s->work[s->nwork++] = (uint32_t)i;
}

static const uintptr_t *readable_words(scan *s, uintptr_t start, size_t words) {
    if (!lc_cfg.under_valgrind) return (const uintptr_t *)start;
    if (words > s->copy_words) {
        lc_os_free(s->copy, s->copy_words * sizeof(uintptr_t));
        s->copy_words = words < 4096 ? 4096 : words;
        s->copy = lc_os_alloc(s->copy_words * sizeof(uintptr_t));
        if (!s->copy) {
            s->copy_words = 0;
            return NULL;
        }
    }
    memcpy(s->copy, (const void *)start, words * sizeof(uintptr_t));
    VALGRIND_MAKE_MEM_DEFINED(s->copy, words * sizeof(uintptr_t));
    return s->copy;
}

static void scan_range(scan *s, uintptr_t start, uintptr_t end, bool exact) {
    start = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (end <= start) return;
    size_t words = (end - start) / sizeof(uintptr_t);
    const uintptr_t *w = readable_words(s, start, words);
    if (!w || s->n == 0) return;
    uintptr_t lo = lc_block_addr(&s->all[0]);
    uintptr_t hi = lc_block_addr(&s->all[s->n - 1]) + lc_block_size(&s->all[s->n - 1]);
    for (size_t i = 0; i < words; i++) {
        uintptr_t p = w[i];
        if (p < lo || p >= hi) continue;
        long k = find_block(s, p, exact);
        if (k >= 0) push(s, k);
    }
}

static void drain(scan *s) {
    while (s->nwork) {
        const lc_block *b = &s->all[s->work[--s->nwork]];
        uintptr_t a = lc_block_addr(b);
        scan_range(s, a, a + lc_block_size(b), false);
    }
}

static void scan_done(scan *s) {
    lc_os_free(s->work, s->work_cap * sizeof(uint32_t));
    lc_os_free(s->copy, s->copy_words * sizeof(uintptr_t));
}

typedef struct region_filter {
    scan *s;
    lc_module_kind want;
    bool exact;
} region_filter;

static void scan_module_region(const lc_region *r, lc_module_kind kind, const char *module,
                               void *arg) {
    (void)module;
    region_filter *f = arg;
    if (kind == f->want) scan_range(f->s, r->start, r->end, f->exact);
}

int lc_runtime_owned(const lc_block *all, size_t n, uint8_t *owned) {
    scan s = {.all = all, .n = n, .mark = owned, .bit = 1};
    lc_self_enter();
    region_filter f = {&s, LC_MODULE_RUNTIME, true};
    lc_os_for_each_data_region(scan_module_region, &f);
    for (size_t i = 0; i < n; i++)
        if (lc_block_flags(&all[i]) & LC_BLOCK_RUNTIME) push(&s, (long)i);
    drain(&s);
    scan_done(&s);
    lc_self_leave();
    return 0;
}

int lc_reachable_from_roots(const lc_block *all, size_t n, uint8_t *mark, uintptr_t stack_from,
                            const lc_region *extra, size_t nextra, uint8_t bit, bool globals) {
    scan s = {.all = all, .n = n, .mark = mark, .bit = bit};
    lc_self_enter();
    region_filter f = {&s, LC_MODULE_USER, false};
    if (globals) lc_os_for_each_data_region(scan_module_region, &f);
    /* From the check's caller up: the library's own frames below hold
     * stale copies of block addresses and must not count. */
    uintptr_t lo, hi;
    if (stack_from && lc_os_thread_stack(&lo, &hi) && stack_from < hi)
        scan_range(&s, stack_from, hi, false);
    for (size_t i = 0; i < nextra; i++)
        scan_range(&s, extra[i].start, extra[i].end, false);
    drain(&s);
    scan_done(&s);
    lc_self_leave();
    return 0;
}
