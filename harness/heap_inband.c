/* SPDX-License-Identifier: MIT */
/* heap_inband.c: the live-block store that lives in the blocks themselves.
 *
 * The interposers (alloc_hooks.c) ask glibc for 16 bytes more than the
 * program did and hand out the address after them; those 16 bytes, the
 * header, hold what the table of heap_table.c would (sequence number,
 * thread, flags, size, stack). The header shares its cache line with
 * glibc's own chunk header, which malloc and free touch anyway, so
 * tracking a block costs no cache miss of its own: the random slot of a
 * table of several MB that outgrows the cache (bench/README.md) is gone.
 *
 * What a table also did, this store does with a bitmap: one bit per 16
 * bytes of address space says "a tracked block starts here". It tells a
 * block of ours from a foreign one on free (the library's own, the dynamic
 * linker's early ones: no header before them) and it enumerates the live
 * blocks for a check or a snapshot. At one bit per 16 bytes it is 1/128 of
 * the heap and stays in the cache. It is kept in leaves of 1 GB of address
 * space, reserved when a block first lands in one; each leaf also keeps,
 * per 64 KB region, the highest sequence number ever given there, so that
 * "what is new since the baseline" reads only the regions that changed.
 *
 * malloc takes no lock: the header is complete before its bit is set
 * (release), so whoever sees the bit sees the header. A check holds the
 * blocks while it reads them (lc_heap_lock_all): it counts itself in
 * `holds`, and a free that clears a block's bit while the count is not
 * zero waits for it before glibc gets the block back. Both sides use
 * sequentially consistent operations, so either the check counted itself
 * first and the free waits, or the free cleared the bit first and the
 * check does not see the block: no block a check copied is freed under
 * it, and a free pays one locked instruction, not a lock. A process with
 * one thread has nobody to wait for. A block of spans.c's arena keeps its
 * bit for good and says whether it is live by a flag in its own header
 * (HDR_LIVE below), which malloc and free write with plain stores; the
 * check then makes every thread pass a full barrier (membarrier) after it
 * counts itself, so that such a free sees it without a locked instruction.
 *
 * Under valgrind and under a sanitizer the table is used instead: memcheck
 * must see the program's blocks as the program sees them, and a
 * sanitizer's allocator is not glibc's. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "spans.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/single_threaded.h>
#include <valgrind/valgrind.h>

#define GRANULE_SHIFT 4
#define LEAF_SHIFT 30
#define ADDRESS_BITS 48
#define DIR_SIZE (1u << (ADDRESS_BITS - LEAF_SHIFT))
#define REGION_SHIFT 16
#define REGIONS (1u << (LEAF_SHIFT - REGION_SHIFT))
#define BITS_PER_REGION (1u << (REGION_SHIFT - GRANULE_SHIFT))
#define WORDS_PER_REGION (BITS_PER_REGION / 64)
#define MAX_LEAVES 4096u

/* The header's second word keeps the stack id in its low 24 bits, of which
 * stack ids use 20 (stack_table.c); the top of them says the block was
 * aligned: then the word before the header holds the distance from the
 * pointer glibc returned. */
#define HDR_ALIGNED ((uint64_t)1 << 23)
#define HDR_STACK_MASK ((uint64_t)0xfffff)
/* A block of spans.c's arena: its bit says a block starts there (set when
 * it is first made, never cleared: a start, once carved, stays one), and
 * this flag in its header whether it is live. malloc and free then write
 * the block's own header with plain stores, and no two threads write one
 * bitmap word at once (bench/README.md, "Two threads"). A free block's
 * word is zero (lc_spans_scrub). */
#define HDR_LIVE ((uint64_t)1 << 22)

/* A region's bits and its highest sequence number side by side: a malloc
 * then touches one page of the store, not two. */
typedef struct region {
    _Atomic uint64_t bits[WORDS_PER_REGION];
    _Atomic uint64_t max_seq; /* >= every seq given here; 0: never used */
    char pad[64 - sizeof(uint64_t)];
} region;

typedef struct leaf {
    _Atomic uint64_t used[REGIONS / 64]; /* regions that ever held a block */
    region regions[REGIONS];
} leaf;

typedef struct header {
    uint64_t seq_tid;    /* as lc_block */
    uint64_t size_stack; /* as lc_block, and HDR_ALIGNED */
} header;

static _Atomic(leaf *) directory[DIR_SIZE];
static _Atomic uint32_t leaf_ids[MAX_LEAVES]; /* directory index + 1; 0: being added */
static _Atomic uint32_t nleaves;
/* Checks that hold the blocks now (see above), and this thread's holds. */
LC_HOT static _Atomic uint32_t holds;
/* Whether a check makes every thread of the process pass a full barrier
 * after it counts itself in `holds` (membarrier, registered at start-up,
 * and kept across fork): a free of spans.c's arena that clears a live
 * flag then needs no barrier of its own to see the check. Without it the
 * free pays a fence. */
LC_HOT static bool barrier_by_checks;
static LC_TLS int hold_depth;
/* The leaf this thread last used: the directory is 2 MB, and its entry's
 * page would be one more for the TLB on every call. The leaf and its
 * directory index + 1 share one word, so that a signal handler that
 * interrupts this thread while it changes them sees the old pair or the
 * new one, never a leaf with another's index: a leaf is page-aligned and
 * below 2^48, and the index + 1 (below 2^19) fills its low 12 bits and
 * its top 16. */
static LC_TLS uintptr_t tls_leaf_word;
#define LEAF_KEY_MASK ((uintptr_t)0xfff | (uintptr_t)0xffff << 48)
static inline uintptr_t leaf_key_bits(uintptr_t key) {
    return (key & 0xfff) | (key >> 12) << 48;
}
static inline leaf *cached_leaf(uintptr_t a) {
    uintptr_t w = tls_leaf_word;
    return (w & LEAF_KEY_MASK) == leaf_key_bits((a >> LEAF_SHIFT) + 1)
               ? (leaf *)(w & ~LEAF_KEY_MASK)
               : NULL;
}
/* 0: not decided, 1: on, 2: off (heap.h). */
LC_HOT _Atomic int lc_inband_mode;

bool lc_inband_decide(void) {
    int m = RUNNING_ON_VALGRIND ? 2 : 1;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&lc_inband_mode, &expected, m)) m = expected;
    return m == 1;
}

bool lc_inband_used(void) {
    return atomic_load_explicit(&nleaves, memory_order_acquire) != 0;
}

static inline leaf *leaf_of(uintptr_t a) {
    leaf *l = cached_leaf(a);
    if (LC_LIKELY(l)) return l;
    if (a >> ADDRESS_BITS) return NULL;
    l = atomic_load_explicit(&directory[a >> LEAF_SHIFT], memory_order_acquire);
    if (l && !((uintptr_t)l & LEAF_KEY_MASK)) /* a leaf, once there, stays */
        tls_leaf_word = (uintptr_t)l | leaf_key_bits((a >> LEAF_SHIFT) + 1);
    return l;
}

static inline _Atomic uint64_t *word_of(leaf *l, uint64_t g) {
    return &l->regions[g / BITS_PER_REGION].bits[g % BITS_PER_REGION / 64];
}

static inline uint64_t granule_of(uintptr_t a) {
    return (a & (((uintptr_t)1 << LEAF_SHIFT) - 1)) >> GRANULE_SHIFT;
}

/* The leaf of a block in a leaf this thread has not used last: looked up,
 * or made. Out of line: publish calls it on a leaf change alone. */
static __attribute__((noinline)) leaf *leaf_for_insert(uintptr_t a) {
    leaf *l = leaf_of(a);
    if (LC_LIKELY(l) || a >> ADDRESS_BITS) return l;
    uint32_t k = (uint32_t)(a >> LEAF_SHIFT);
    leaf *mine = lc_os_reserve(sizeof(leaf));
    if (!mine) return NULL;
    leaf *none = NULL;
    if (!atomic_compare_exchange_strong(&directory[k], &none, mine)) {
        lc_os_free(mine, sizeof(leaf));
        return none;
    }
    uint32_t at = atomic_fetch_add(&nleaves, 1);
    if (at < MAX_LEAVES)
        atomic_store_explicit(&leaf_ids[at], k + 1, memory_order_release);
    else /* never listed, so never enumerated: refuse it instead */
        return atomic_store(&directory[k], NULL), NULL;
    return mine;
}

/* The leaves of spans.c's arena, each made before the first block of a
 * span in it (lc_inband_prepare): its blocks' leaf is one subtraction and
 * one load away. Made as the arena grows, not all at once: every check
 * reads each leaf's `used` words, and a leaf never written has no page a
 * fork copies, so a forked child would fault on each. */
#define SPANS_LEAVES 8
static leaf *_Atomic spans_leaves[SPANS_LEAVES];
static uintptr_t spans_first_leaf = UINTPTR_MAX;

bool lc_inband_prepare(uintptr_t lo, uintptr_t len) {
    uintptr_t first = lo >> LEAF_SHIFT;
    if (spans_first_leaf == UINTPTR_MAX) { /* the arena's start, at start-up */
        spans_first_leaf = first;
        long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        barrier_by_checks =
            cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
            syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    }
    if (!len) return true;
    uintptr_t last = (lo + len - 1) >> LEAF_SHIFT;
    if (last - spans_first_leaf >= SPANS_LEAVES) return false;
    for (uintptr_t k = first; k <= last; k++) {
        _Atomic(leaf *) *at = &spans_leaves[k - spans_first_leaf];
        if (atomic_load_explicit(at, memory_order_acquire)) continue;
        leaf *l = leaf_for_insert(k << LEAF_SHIFT);
        if (!l) return false;
        atomic_store_explicit(at, l, memory_order_release);
    }
    return true;
}

static inline leaf *spans_leaf(uintptr_t a) {
    return atomic_load_explicit(&spans_leaves[(a >> LEAF_SHIFT) - spans_first_leaf],
                                memory_order_relaxed);
}

static inline header *header_of(uintptr_t user) {
    return (header *)(user - sizeof(header));
}

/* Waits until no check holds the blocks, unless this thread is the one
 * that holds them (a signal handler that frees during its own check). */
static void wait_for_holds(void) {
    while (atomic_load_explicit(&holds, memory_order_seq_cst) && !hold_depth)
        sched_yield();
}

static inline bool bit_is_set(leaf *l, uint64_t g) {
    return atomic_load_explicit(word_of(l, g), memory_order_acquire) >> (g % 64) & 1;
}

/* Raises the highest number given in granule g's region to the end of
 * the chunk seq belongs to, and marks the region used the first time. */
LC_INLINE void raise_region(leaf *l, uint64_t g, uint64_t seq, uint64_t last) {
    uint32_t k = (uint32_t)(g / BITS_PER_REGION);
    region *r = &l->regions[k];
    uint64_t cur = atomic_load_explicit(&r->max_seq, memory_order_relaxed);
    if (cur < seq) {
        if (!cur) lc_word_or(&l->used[k / 64], (uint64_t)1 << (k % 64));
        lc_word_raise(&r->max_seq, cur, seq, last);
    }
}

/* Writes the header, then sets the block's bit (the bit published last:
 * whoever sees it sees the header). */
LC_INLINE uintptr_t publish_in(leaf *l, uintptr_t base, uintptr_t user, size_t size,
                               lc_stack_id stack, uint32_t flags, uint64_t seq, uint64_t last,
                               uint32_t tid) {
    header *h = header_of(user);
    h->seq_tid = lc_block_pack_seq_tid(seq, tid, flags);
    h->size_stack = lc_block_pack_size_stack(size, stack & HDR_STACK_MASK);
    if (LC_UNLIKELY(user - base > sizeof(header))) {
        h->size_stack |= HDR_ALIGNED;
        ((uint64_t *)h)[-1] = user - base;
    }
    uint64_t g = granule_of(user);
    raise_region(l, g, seq, last);
    lc_word_or(word_of(l, g), (uint64_t)1 << (g % 64));
    return user;
}

LC_HOT_CODE uintptr_t lc_inband_publish(uintptr_t base, uintptr_t user, size_t size,
                                        lc_stack_id stack, uint32_t flags,
                                        lc_inband_overflow_fn instead) {
    /* A block of spans.c's arena made on the general path (calloc, a
     * failed realloc's old block): live by its flag. */
    if (LC_UNLIKELY(lc_spans_owns(base))) return lc_inband_publish_spans(base, size, stack, flags);
    leaf *l = cached_leaf(user);
    if (LC_UNLIKELY(!l) && !(l = leaf_for_insert(user))) return instead(base, size, stack, flags);
    uint64_t last, seq = lc_heap_take_seq(&last);
    return publish_in(l, base, user, size, stack, flags, seq, last, (uint32_t)lc_os_tid());
}

/* Publishes a block of spans.c's arena: the header, the region's highest
 * number, then the live flag (whoever sees it sees the rest); the block's
 * bit only the first time a block starts there. */
LC_INLINE uintptr_t publish_spans_in(uintptr_t base, size_t size, lc_stack_id stack, uint32_t flags,
                                     uint64_t seq, uint64_t last, uint32_t tid) {
    leaf *l = spans_leaf(base);
    uintptr_t user = base + sizeof(header);
    header *h = header_of(user);
    h->seq_tid = lc_block_pack_seq_tid(seq, tid, flags);
    uint64_t g = granule_of(user);
    raise_region(l, g, seq, last);
    atomic_store_explicit((_Atomic uint64_t *)&h->size_stack,
                          lc_block_pack_size_stack(size, stack & HDR_STACK_MASK) | HDR_LIVE,
                          memory_order_release);
    _Atomic uint64_t *w = word_of(l, g);
    uint64_t mask = (uint64_t)1 << (g % 64);
    if (LC_UNLIKELY(!(atomic_load_explicit(w, memory_order_relaxed) & mask))) lc_word_or(w, mask);
    return user;
}

/* The rare half of lc_inband_publish_spans: a new sequence chunk, or
 * the thread id not cached yet (both call out). */
static __attribute__((noinline)) uintptr_t publish_spans_slow(uintptr_t base, size_t size,
                                                              lc_stack_id stack, uint32_t flags) {
    uint64_t last, seq = lc_heap_take_seq(&last);
    return publish_spans_in(base, size, stack, flags, seq, last, (uint32_t)lc_os_tid());
}

LC_HOT_CODE uintptr_t lc_inband_publish_spans(uintptr_t base, size_t size, lc_stack_id stack,
                                              uint32_t flags) {
    uint64_t seq, last;
    if (LC_UNLIKELY(!lc_os_cached_tid) || LC_UNLIKELY(!lc_heap_try_seq(&seq, &last)))
        return publish_spans_slow(base, size, stack, flags);
    return publish_spans_in(base, size, stack, flags, seq, last, (uint32_t)lc_os_cached_tid);
}

/* Whether the block at user, one of spans.c's arena, is live. */
static inline bool spans_live(uintptr_t user) {
    return atomic_load_explicit((_Atomic uint64_t *)&header_of(user)->size_stack,
                                memory_order_acquire) &
           HDR_LIVE;
}

/* Clears a live block of spans.c's arena, and waits for a check that holds
 * the blocks: false when it was not live (freed twice, or never made). The
 * block is one thread's, the program's to free, so the flag is cleared
 * with a plain store; with other threads about, either the check counted
 * itself first and this sees it, or the store came first and the check
 * does not see the block (barrier_by_checks). */
static inline bool retire_spans(uintptr_t user) {
    _Atomic uint64_t *word = (_Atomic uint64_t *)&header_of(user)->size_stack;
    uint64_t v = atomic_load_explicit(word, memory_order_relaxed);
    if (!(v & HDR_LIVE)) return false;
    atomic_store_explicit(word, v & ~HDR_LIVE, memory_order_relaxed);
    if (lc_solo()) return true;
    if (barrier_by_checks)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
    if (LC_UNLIKELY(atomic_load_explicit(&holds, memory_order_relaxed))) wait_for_holds();
    return true;
}

LC_HOT_CODE bool lc_inband_owns(uintptr_t user) {
    leaf *l = leaf_of(user);
    return l && !(user & 15) && bit_is_set(l, granule_of(user)) &&
           (!lc_spans_owns(user - sizeof(header)) || spans_live(user));
}

LC_HOT_CODE uintptr_t lc_inband_base(uintptr_t user) {
    const header *h = header_of(user);
    if (h->size_stack & HDR_ALIGNED) return user - ((const uint64_t *)h)[-1];
    return user - sizeof(header);
}

/* Another thread may free the same block at once, or a check may hold
 * the blocks: the bit is cleared with a locked instruction, and a check's
 * hold waited for. */
static __attribute__((noinline)) uintptr_t retire_shared(_Atomic uint64_t *w, uint64_t mask,
                                                         uintptr_t user) {
    if (!(atomic_fetch_and_explicit(w, ~mask, memory_order_seq_cst) & mask))
        return 0; /* freed twice, by two threads at once */
    if (LC_UNLIKELY(atomic_load_explicit(&holds, memory_order_seq_cst))) wait_for_holds();
    return lc_inband_base(user);
}

LC_HOT_CODE void lc_inband_free_spans(uintptr_t user) {
    leaf *l = spans_leaf(user);
    if ((user & 15) || !l) return; /* not a block's start; no span there yet */
    uint64_t g = granule_of(user);
    if (!(atomic_load_explicit(word_of(l, g), memory_order_relaxed) >> (g % 64) & 1)) return;
    if (!retire_spans(user)) return;
    lc_spans_push(user - sizeof(header), lc_spans_request(header_of(user)->size_stack >> 24));
}

LC_HOT_CODE uintptr_t lc_inband_retire(uintptr_t user) {
    leaf *l = leaf_of(user);
    if (!l || (user & 15)) return 0;
    uint64_t g = granule_of(user), mask = (uint64_t)1 << (g % 64);
    _Atomic uint64_t *w = word_of(l, g);
    if (!(atomic_load_explicit(w, memory_order_relaxed) & mask)) return 0;
    if (lc_spans_owns(user - sizeof(header))) return retire_spans(user) ? user - sizeof(header) : 0;
    if (!lc_solo()) return retire_shared(w, mask, user);
    if (!lc_word_clear(w, mask)) return 0;
    return lc_inband_base(user);
}

size_t lc_inband_size(uintptr_t user) {
    return (size_t)(header_of(user)->size_stack >> 24);
}

/* Holding the blocks, as a check does: another thread that frees the
 * block meanwhile waits before glibc can reuse it. */
void lc_inband_set_stack(uintptr_t user, uint64_t seq, lc_stack_id stack) {
    lc_inband_lock_all();
    header *h = header_of(user);
    if (lc_inband_owns(user) && h->seq_tid >> 24 == seq)
        h->size_stack = (h->size_stack & ~HDR_STACK_MASK) | (stack & HDR_STACK_MASK);
    lc_inband_unlock_all();
}

uint64_t lc_inband_seq(uintptr_t user) {
    return header_of(user)->seq_tid >> 24;
}

static void to_block(uintptr_t user, lc_block *out) {
    const header *h = header_of(user);
    out->key = user ^ LC_HIDE;
    out->seq_tid = h->seq_tid;
    out->size_stack = h->size_stack & ~(HDR_ALIGNED | HDR_LIVE);
}

static uint32_t leaves_listed(void) {
    uint32_t n = atomic_load_explicit(&nleaves, memory_order_acquire);
    return n > MAX_LEAVES ? MAX_LEAVES : n;
}

/* The i-th leaf made, and the address its first region starts at; NULL
 * while it is being added. */
static leaf *listed_leaf(uint32_t i, uintptr_t *base) {
    uint32_t id = atomic_load_explicit(&leaf_ids[i], memory_order_acquire);
    *base = (uintptr_t)(id - 1) << LEAF_SHIFT;
    return id ? atomic_load_explicit(&directory[id - 1], memory_order_acquire) : NULL;
}

/* Leaves are listed in the order they were made. Up to this many are
 * visited in address order instead (a selection, quadratic in the count),
 * so that the blocks come out sorted by address and a check's copy of a
 * million blocks needs no sort (block_sort.c checks first). A program has
 * a leaf per GB of address space its blocks lie in: a few. */
#define ORDERED_LEAVES 64u

/* The position in the list of the leaf with the lowest address above
 * `after` (any, when first); n when there is none. */
static uint32_t next_leaf(uint32_t n, uintptr_t after, bool first) {
    uint32_t best = n;
    uintptr_t best_base = 0;
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t base;
        if (!listed_leaf(i, &base)) continue;
        if ((first || base > after) && (best == n || base < best_base)) {
            best = i;
            best_base = base;
        }
    }
    return best;
}

/* Calls fn for every live block of a region whose max_seq is at least
 * min_seq, in address order when the leaves are few; stops when fn
 * returns false. The caller holds every lock. */
typedef bool (*visit_fn)(uintptr_t user, void *arg);
static bool for_each_block(uint64_t min_seq, visit_fn fn, void *arg) {
    uint32_t n = leaves_listed();
    bool ordered = n <= ORDERED_LEAVES;
    uintptr_t prev_base = 0;
    for (uint32_t step = 0; step < n; step++) {
        uint32_t i = ordered ? next_leaf(n, prev_base, step == 0) : step;
        if (i == n) break;
        uintptr_t leaf_base;
        leaf *l = listed_leaf(i, &leaf_base);
        prev_base = leaf_base;
        if (!l) continue;
        for (uint32_t w = 0; w < REGIONS / 64; w++) {
            uint64_t used = atomic_load_explicit(&l->used[w], memory_order_acquire);
            while (used) {
                uint32_t r = w * 64 + (uint32_t)__builtin_ctzll(used);
                used &= used - 1;
                region *reg = &l->regions[r];
                if (min_seq && atomic_load_explicit(&reg->max_seq, memory_order_relaxed) < min_seq)
                    continue;
                uintptr_t region_base = leaf_base + ((uintptr_t)r << REGION_SHIFT);
                for (uint32_t k = 0; k < WORDS_PER_REGION; k++) {
                    uint64_t bits = atomic_load_explicit(&reg->bits[k], memory_order_acquire);
                    while (bits) {
                        uint64_t g = (uint64_t)k * 64 + (uint64_t)__builtin_ctzll(bits);
                        bits &= bits - 1;
                        uintptr_t user = region_base + (g << GRANULE_SHIFT);
                        if (lc_spans_owns(user - sizeof(header)) && !spans_live(user)) continue;
                        if (!fn(user, arg)) return false;
                    }
                }
            }
        }
    }
    return true;
}

typedef struct copy_arg {
    lc_block *out;
    size_t cap, n;
    uint64_t min_seq;
    uint32_t without_flags;
} copy_arg;

static bool copy_one(uintptr_t user, void *arg) {
    copy_arg *c = arg;
    if (lc_inband_seq(user) < c->min_seq) return true;
    if (c->n >= c->cap) {
        c->n = c->cap + 1;
        return false;
    }
    to_block(user, &c->out[c->n++]);
    return true;
}

size_t lc_inband_copy_held(lc_block *out, size_t cap, uint64_t min_seq, size_t n) {
    copy_arg c = {.out = out, .cap = cap, .n = n, .min_seq = min_seq};
    for_each_block(min_seq, copy_one, &c);
    return c.n;
}

static bool none_new(uintptr_t user, void *arg) {
    const copy_arg *c = arg;
    const header *h = header_of(user);
    return (h->seq_tid >> 24) < c->min_seq || (h->seq_tid & 3 & c->without_flags);
}

bool lc_inband_any_new_held(uint64_t min_seq, uint32_t without_flags) {
    copy_arg c = {.min_seq = min_seq, .without_flags = without_flags};
    return !for_each_block(min_seq, none_new, &c);
}

static bool count_any(uintptr_t user, void *arg) {
    (void)user;
    ++*(size_t *)arg;
    return true;
}

size_t lc_inband_live_count_held(void) {
    size_t n = 0;
    for_each_block(0, count_any, &n);
    return n;
}

bool lc_inband_find_held(uintptr_t user, lc_block *out) {
    if (!lc_inband_owns(user)) return false;
    to_block(user, out);
    return true;
}

void lc_inband_flag_held(uintptr_t user, uint32_t flag) {
    if (lc_inband_owns(user)) header_of(user)->seq_tid |= flag & 3;
}

/* The address range of the regions that ever held a block. */
void lc_inband_bounds(uintptr_t *lo, uintptr_t *hi) {
    for (uint32_t i = 0, n = leaves_listed(); i < n; i++) {
        uintptr_t leaf_base;
        leaf *l = listed_leaf(i, &leaf_base);
        if (!l) continue;
        for (uint32_t w = 0; w < REGIONS / 64; w++) {
            uint64_t used = atomic_load_explicit(&l->used[w], memory_order_acquire);
            if (!used) continue;
            uintptr_t first =
                leaf_base + ((uintptr_t)(w * 64 + __builtin_ctzll(used)) << REGION_SHIFT);
            uintptr_t last =
                leaf_base + ((uintptr_t)(w * 64 + 63 - __builtin_clzll(used) + 1) << REGION_SHIFT) -
                1;
            if (first < *lo) *lo = first;
            if (last > *hi) *hi = last;
        }
    }
}

size_t lc_inband_bytes(void) {
    size_t regions = 0;
    for (uint32_t i = 0, n = leaves_listed(); i < n; i++) {
        uintptr_t leaf_base;
        leaf *l = listed_leaf(i, &leaf_base);
        for (uint32_t w = 0; l && w < REGIONS / 64; w++)
            regions += (size_t)__builtin_popcountll(atomic_load(&l->used[w]));
    }
    return regions * sizeof(region);
}

/* Counted even in a process with one thread, which has nobody to keep out
 * but could start a thread during the check; the count shares its page
 * with the sequence epoch, which a forked test writes anyway. */
void lc_inband_lock_all(void) {
    if (hold_depth++) return; /* a lookup inside a check */
    atomic_fetch_add_explicit(&holds, 1, memory_order_seq_cst);
    if (barrier_by_checks && !lc_solo())
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void lc_inband_unlock_all(void) {
    if (--hold_depth) return;
    atomic_fetch_sub_explicit(&holds, 1, memory_order_release);
}
