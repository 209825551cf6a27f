/* SPDX-License-Identifier: MIT */
/* heap.h: the live-block store and the block sorts (block_sort.c).
 *
 * Blocks the interposers make natively carry their record in a 16-byte
 * header before them (heap_inband.c); under valgrind and under a sanitizer,
 * and for a block the header store cannot index, the record is a 24-byte
 * entry of a sharded table (heap_table.c). Everything that reads the heap
 * (lc_heap_copy and the rest below) sees both as one set. */
#ifndef LC_HEAP_H
#define LC_HEAP_H

#include "stacks.h"

/* One live block: 24 bytes. Addresses are stored disguised so that a
 * conservative scanner (ours, valgrind's, LSan's) never finds a pointer to a
 * user block in the tracker's own memory. */
typedef struct lc_block {
    uintptr_t key;       /* address ^ LC_HIDE; 0 = empty slot */
    uint64_t seq_tid;    /* seq:40 | tid:22 | flags:2 */
    uint64_t size_stack; /* size:40 | stack:24 */
} lc_block;

#define LC_HIDE ((uintptr_t)0xA5C3000000000000ull)
#define LC_BLOCK_RUNTIME 1u /* allocated by the C runtime for itself */

static inline uintptr_t lc_block_addr(const lc_block *b) {
    return b->key ^ LC_HIDE;
}
static inline uint64_t lc_block_seq(const lc_block *b) {
    return b->seq_tid >> 24;
}
static inline uint32_t lc_block_tid(const lc_block *b) {
    return (b->seq_tid >> 2) & 0x3fffff;
}
static inline uint32_t lc_block_flags(const lc_block *b) {
    return b->seq_tid & 3;
}
/* On a copy of a block (a snapshot's): the live table's blocks change
 * only through lc_heap_flag_held. */
static inline void lc_block_add_flags(lc_block *b, uint32_t flags) {
    b->seq_tid |= flags & 3;
}
static inline size_t lc_block_size(const lc_block *b) {
    return b->size_stack >> 24;
}
static inline lc_stack_id lc_block_stack(const lc_block *b) {
    return b->size_stack & 0xffffff;
}

static inline uint64_t lc_block_pack_seq_tid(uint64_t seq, uint32_t tid, uint32_t flags) {
    return (seq & ((1ull << 40) - 1)) << 24 | (uint64_t)(tid & 0x3fffff) << 2 | (flags & 3);
}
static inline uint64_t lc_block_pack_size_stack(size_t size, lc_stack_id stack) {
    return (uint64_t)size << 24 | (stack & 0xffffff);
}
/* Sequence numbers (heap_table.c): each thread takes them from a chunk of
 * its own, and a new epoch (a baseline) makes every thread take a new
 * chunk, so no number given after a baseline is below it. */
#define LC_SEQ_MASK ((1ull << 40) - 1)
typedef struct lc_seq_chunk {
    uint64_t next, end, epoch;
} lc_seq_chunk;
extern LC_TLS lc_seq_chunk lc_seq_mine;
extern _Atomic uint64_t lc_seq_epoch;
uint64_t lc_heap_take_seq_chunk(uint64_t *chunk_last);
/* Takes the thread's next number in one instruction a signal handler
 * cannot split, so that a handler that allocates meanwhile takes the one
 * after it, never the same: a snapshot tells blocks apart by number. */
static inline uint64_t lc_seq_bump(uint64_t *next) {
#if defined(__x86_64__)
    uint64_t v = 1;
    __asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(*next));
    return v;
#else
    return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
#endif
}
/* The thread's next number, and the last of its chunk (no later number of
 * the thread is below the baseline the chunk was taken under); false when
 * the chunk is used up or older than the last baseline. Inline, calling
 * nothing: every malloc takes one. */
static inline bool lc_heap_try_seq(uint64_t *seq, uint64_t *chunk_last) {
    lc_seq_chunk *c = &lc_seq_mine;
    /* End and epoch are read before the number is taken: a handler that
     * refills the chunk in between hands this thread a number at or past
     * the old end (the slow path). Read after, the new end would let
     * through the old end, the new chunk's first number, the handler's. */
    uint64_t end = c->end, epoch = c->epoch;
    atomic_signal_fence(memory_order_seq_cst);
    uint64_t n = lc_seq_bump(&c->next);
    if (LC_UNLIKELY(n >= end || epoch != atomic_load_explicit(&lc_seq_epoch, memory_order_acquire)))
        return false;
    *chunk_last = (end - 1) & LC_SEQ_MASK;
    *seq = n & LC_SEQ_MASK;
    return true;
}
static inline uint64_t lc_heap_take_seq(uint64_t *chunk_last) {
    uint64_t seq;
    return lc_heap_try_seq(&seq, chunk_last) ? seq : lc_heap_take_seq_chunk(chunk_last);
}

/* The header store (heap_inband.c), for the interposers. Whether it is on
 * is decided at the first allocation, before any block exists, and never
 * changes: 0 not yet, 1 on, 2 off (under valgrind). Read inline: it is the
 * first test of every malloc. */
extern _Atomic int lc_inband_mode;
bool lc_inband_decide(void);
static inline bool lc_inband_on(void) {
    int m = atomic_load_explicit(&lc_inband_mode, memory_order_relaxed);
    return LC_LIKELY(m) ? m == 1 : lc_inband_decide();
}
bool lc_inband_used(void); /* it ever held a block */
/* Makes the bitmap's leaves for [lo, lo + len) of spans.c's arena now
 * (the first call, len 0, gives its start); false when one cannot be made.
 * Then a pair in that arena, each calling nothing in its common case: a
 * block spans.c gave, published, and a block retired and given back
 * (ignored unless it is a live block's start: freed twice, never made). */
bool lc_inband_prepare(uintptr_t lo, uintptr_t len);
uintptr_t lc_inband_publish_spans(uintptr_t base, size_t size, lc_stack_id stack, uint32_t flags);
void lc_inband_free_spans(uintptr_t user);
/* Records the block at user, whose allocation starts at base (user - 16,
 * or further for an aligned one), and returns user. A block it cannot
 * index (its address beyond the directory, or no memory for a leaf) goes
 * to `instead`, and the pointer that returns is the program's: the
 * interposers end in this call, so that nothing is left for them to do
 * once it returns (bench/README.md, "The depth-0 path taken apart"). */
typedef uintptr_t (*lc_inband_overflow_fn)(uintptr_t base, size_t size, lc_stack_id stack,
                                           uint32_t flags);
uintptr_t lc_inband_publish(uintptr_t base, uintptr_t user, size_t size, lc_stack_id stack,
                            uint32_t flags, lc_inband_overflow_fn instead);
/* Whether user is a live block of the header store. */
bool lc_inband_owns(uintptr_t user);
/* Drops the live block at user and returns the pointer to give back to
 * glibc; 0 when it is not one. */
uintptr_t lc_inband_retire(uintptr_t user);
/* The size recorded for a block of the store, live or just retired (until
 * glibc gets it back). */
size_t lc_inband_size(uintptr_t user);
/* The stack of a block recorded by a signal handler without one, if the
 * block is still the one numbered seq. */
void lc_inband_set_stack(uintptr_t user, uint64_t seq, lc_stack_id stack);
uint64_t lc_inband_seq(uintptr_t user);   /* of a live block */
uintptr_t lc_inband_base(uintptr_t user); /* of a live block */
/* The rest are called with the blocks held (lc_inband_lock_all: no block
 * is freed meanwhile). */
size_t lc_inband_copy_held(lc_block *out, size_t cap, uint64_t min_seq, size_t n);
bool lc_inband_any_new_held(uint64_t min_seq, uint32_t without_flags);
size_t lc_inband_live_count_held(void);
bool lc_inband_find_held(uintptr_t user, lc_block *out);
void lc_inband_flag_held(uintptr_t user, uint32_t flag);
void lc_inband_bounds(uintptr_t *lo, uintptr_t *hi);
size_t lc_inband_bytes(void);
void lc_inband_lock_all(void);
void lc_inband_unlock_all(void);

void lc_heap_insert(uintptr_t addr, size_t size, lc_stack_id stack, uint32_t flags);
/* Start loading addr's slot, for the stack capture that follows to hide
 * the miss: a hint, which a table that grows meanwhile makes useless. */
void lc_heap_prefetch(uintptr_t addr);
/* The live block at addr, if tracked. */
bool lc_heap_lookup(uintptr_t addr, lc_block *out);
/* Remove addr; returns false when it was not tracked. */
bool lc_heap_remove(uintptr_t addr);
/* Copy every live block with seq >= min_seq into out (capacity cap);
 * returns how many matched, or any number above cap when they did not all
 * fit (the copy stops there: the caller only needs to know). */
size_t lc_heap_copy(lc_block *out, size_t cap, uint64_t min_seq);
/* The same while the caller holds the heap (lc_heap_lock_all): no block
 * can be freed, so a scan of the copied blocks reads live memory only. */
size_t lc_heap_copy_held(lc_block *out, size_t cap, uint64_t min_seq);
/* Set a flag on the live block at addr (the heap held). A block the scan
 * found owned by the C runtime is flagged so, and later checks need not
 * scan again for it. */
void lc_heap_flag_held(uintptr_t addr, uint32_t flag);
/* Whether a live block has seq >= min_seq and none of without_flags. */
bool lc_heap_any_new(uint64_t min_seq, uint32_t without_flags);
/* With the heap locked (lc_heap_lock_all): the block that starts at addr. */
bool lc_heap_find_held(uintptr_t addr, lc_block *out);
/* The pointer the allocator returned for the live block at addr (addr,
 * unless the block has a header before it); the heap held. */
uintptr_t lc_heap_allocator_pointer(uintptr_t addr);
/* Every block ever tracked started in [*lo, *hi] (*lo > *hi: none). */
void lc_heap_bounds(uintptr_t *lo, uintptr_t *hi);
size_t lc_heap_live_count(void);
uint64_t lc_heap_next_seq(void);
/* Start a new sequence epoch: blocks allocated from now on get numbers at
 * least the returned value. */
uint64_t lc_heap_new_epoch(void);
void lc_heap_lock_all(void);
void lc_heap_unlock_all(void);
size_t lc_heap_table_bytes(void);

/* Sort blocks by address (radix sort, no allocation beyond scratch). */
void lc_blocks_sort_by_addr(lc_block *b, size_t n);
void lc_blocks_sort_by_seq(lc_block *b, size_t n);
/* Sort v by its bits [from_bit, from_bit + bits), stably, with n words of
 * scratch. */
void lc_sort_u64(uint64_t *v, uint64_t *scratch, size_t n, int from_bit, int bits);

#endif
