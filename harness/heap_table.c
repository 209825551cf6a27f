/* SPDX-License-Identifier: MIT */
/* heap_table.c: the table of live heap blocks.
 *
 * Every malloc inserts a 24-byte record and every free removes it, so this is
 * the hottest code of the library. The table is split into shards by address
 * so that threads rarely meet on a lock; each shard is an open-addressing
 * hash table with linear probing and backward-shift deletion (no tombstones,
 * so a long-running churn never degrades it). Memory comes from mmap, never
 * from malloc, so the table neither recurses nor shows up as a leak.
 *
 * Sequence numbers order allocations for baselines. A global counter shared
 * by every malloc would bounce one cache line between cores, so each thread
 * takes numbers in chunks; a baseline starts a new epoch, which makes every
 * thread take a fresh chunk above the baseline before its next allocation. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "stacks.h"

#include <string.h>
#include <sys/single_threaded.h>

#define SHARD_BITS 10
#define NSHARDS (1u << SHARD_BITS)
/* A shard's first table is one of NSHARDS small ones side by side in one
 * mapping: a program with a small heap then has 96 pages of tables, not
 * two pages for each of 1024 shards, and that is what every fork copies and
 * what a forked child's first allocations write to (a shard's first insert
 * in the child no longer maps a table of its own either). */
#define SMALL_CAPACITY 16u
#define SEQ_CHUNK 4096u

/* max_seq and the bounds only widen (a free does not narrow them): a shard
 * whose max_seq is below a baseline holds nothing new, so a check after a
 * small test reads a handful of shards, not the whole table (in a forked
 * test, whose pages it would fault in one by one). */
typedef struct shard {
    lc_spinlock lock;
    uint32_t count;
    uint32_t mask; /* capacity - 1; 0 before the first insert */
    lc_block *slots;
    uint64_t max_seq; /* the highest sequence number ever inserted */
    /* Every address ever inserted is in [~not_lo, ~not_hi] (0: none yet).
     * Kept complemented, so that the scan never takes the table for a
     * holder of the blocks at its bounds. */
    uintptr_t not_lo, not_hi;
    char pad[64 - 48];
} shard;
/* One cache line each: threads on different shards never share one. */
_Static_assert(sizeof(shard) == 64, "a shard is one cache line");

/* Aligned to a cache line, not a page: a page-aligned array would align
 * all of .bss, whose first page (the C runtime's finalizer flag, written at
 * every exit) would then be a page of its own, one more copy-on-write fault
 * in every forked child. The fork handlers write shard 0's lock when
 * threads exist, and every shard's only when the table was used too (the
 * header store keeps most programs off it); there 16 KB straddle five
 * pages instead of four. */
static shard shards[NSHARDS] __attribute__((aligned(64)));
static _Atomic(lc_block *) small_tables; /* NSHARDS x SMALL_CAPACITY */
/* The shards that ever held a block: the loops over every shard read only
 * these, so a check in a forked child does not fault in the pages of shards
 * its parent never used (blocks share shards by region, so most are). */
static _Atomic uint64_t used_shards[NSHARDS / 64];
/* Whether this thread's lc_heap_lock_all took the locks, and whether the
 * table was in use then: what the _held readers below may read. */
static LC_TLS bool locked_all, table_held;
/* The table ever held a block: natively it holds only what the header
 * store could not index (heap_inband.c), so usually nothing, and the fork
 * handlers then need not write its 1024 locks. Set under shard 0's lock,
 * which lc_heap_lock_all takes before it reads the flag: a first insert
 * can then neither start unseen while every lock is held (a fork would
 * leave the child a shard locked for good) nor make the table appear in
 * the middle of a check that took none of its locks. */
static _Atomic bool table_used;
LC_HOT static _Atomic uint64_t next_chunk = 1;
LC_HOT _Atomic uint64_t lc_seq_epoch;
LC_TLS lc_seq_chunk lc_seq_mine;

static inline bool in_use(uint32_t k) {
    return atomic_load_explicit(&used_shards[k / 64], memory_order_acquire) >> (k % 64) & 1;
}

static inline uint64_t hash_addr(uintptr_t a) {
    return (uint64_t)(a >> 4) * 0x9E3779B97F4A7C15ull;
}

/* The shard is chosen by the 64 KB region a block lies in, not by the
 * block: blocks the allocator hands out near each other share a shard and so
 * the same few pages of the table. A forked test's allocations, and its
 * parent's between two forks, then write two or three pages of the table
 * instead of one page per block (every one a copy-on-write fault).
 *
 * The top bits come from the 64 MB area: glibc gives each thread an arena
 * of its own in 64 MB heaps of their own, so two threads' blocks fall in two
 * groups of shards (three times in four) and their inserts and removes do
 * not write each other's shard headers. A thread still spreads over 256
 * shards; one that got 64 was 10% slower (bench/README.md). */
#define REGION_SHIFT 16
#define AREA_SHIFT 26
#define AREA_BITS 2
static inline shard *shard_of(uintptr_t addr) {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t area = (uint64_t)(addr >> AREA_SHIFT) * k >> (64 - AREA_BITS);
    uint64_t region = (uint64_t)(addr >> REGION_SHIFT) * k >> (64 - (SHARD_BITS - AREA_BITS));
    return &shards[area << (SHARD_BITS - AREA_BITS) | region];
}

/* This thread's chunk is used up or from before the last baseline. The
 * chunk is marked used up while it changes: a signal handler that
 * allocates in the middle takes a chunk of its own, and this thread's
 * number is the first of its own chunk either way. */
uint64_t lc_heap_take_seq_chunk(uint64_t *chunk_last) {
    lc_seq_chunk *c = &lc_seq_mine;
    uint64_t epoch = atomic_load_explicit(&lc_seq_epoch, memory_order_acquire);
    uint64_t start = atomic_fetch_add_explicit(&next_chunk, SEQ_CHUNK, memory_order_relaxed);
    c->end = 0;
    atomic_signal_fence(memory_order_seq_cst);
    c->next = start + 1;
    c->epoch = epoch;
    atomic_signal_fence(memory_order_seq_cst);
    c->end = start + SEQ_CHUNK;
    *chunk_last = (start + SEQ_CHUNK - 1) & LC_SEQ_MASK;
    return start & LC_SEQ_MASK;
}

uint64_t lc_heap_next_seq(void) {
    return atomic_load(&next_chunk);
}

LC_CHILD_CODE uint64_t lc_heap_new_epoch(void) {
    uint64_t at = atomic_load(&next_chunk);
    atomic_fetch_add(&lc_seq_epoch, 1);
    return at;
}

static lc_block *small_table_of(const shard *s) {
    lc_block *all = atomic_load_explicit(&small_tables, memory_order_acquire);
    if (!all) {
        lc_block *mine = lc_os_reserve((size_t)NSHARDS * SMALL_CAPACITY * sizeof(lc_block));
        if (!mine) return NULL;
        if (atomic_compare_exchange_strong(&small_tables, &all, mine))
            all = mine;
        else /* another shard's first insert reserved them meanwhile */
            lc_os_free(mine, (size_t)NSHARDS * SMALL_CAPACITY * sizeof(lc_block));
    }
    return all + (size_t)(s - shards) * SMALL_CAPACITY;
}

static bool grow(shard *s) {
    uint32_t old_cap = s->mask ? s->mask + 1 : 0;
    if (!old_cap) {
        lc_block *first = small_table_of(s);
        if (!first) return false;
        s->slots = first;
        s->mask = SMALL_CAPACITY - 1;
        uint32_t k = (uint32_t)(s - shards);
        atomic_fetch_or_explicit(&used_shards[k / 64], 1ull << (k % 64), memory_order_release);
        return true;
    }
    uint32_t cap = old_cap * 2;
    lc_block *slots = lc_os_alloc((size_t)cap * sizeof(lc_block));
    if (!slots) return false;
    uint32_t mask = cap - 1;
    for (uint32_t i = 0; i < old_cap; i++) {
        lc_block *b = &s->slots[i];
        if (!b->key) continue;
        uint32_t j = (uint32_t)hash_addr(lc_block_addr(b)) & mask;
        while (slots[j].key)
            j = (j + 1) & mask;
        slots[j] = *b;
    }
    if (old_cap == SMALL_CAPACITY) /* the shard's place among the small ones */
        memset(s->slots, 0, (size_t)old_cap * sizeof(lc_block));
    else
        lc_os_free(s->slots, (size_t)old_cap * sizeof(lc_block));
    s->slots = slots;
    s->mask = mask;
    return true;
}

void lc_heap_prefetch(uintptr_t addr) {
    uint64_t h = hash_addr(addr);
    shard *s = shard_of(addr);
    lc_block *slots = __atomic_load_n(&s->slots, __ATOMIC_RELAXED);
    uint32_t mask = __atomic_load_n(&s->mask, __ATOMIC_RELAXED);
    if (slots) __builtin_prefetch(&slots[(uint32_t)h & mask], 1);
}

void lc_heap_insert(uintptr_t addr, size_t size, lc_stack_id stack, uint32_t flags) {
    uint64_t h = hash_addr(addr);
    shard *s = shard_of(addr);
    uint64_t last;
    uint64_t seq = lc_heap_take_seq(&last);
    lc_block rec = {
        .key = addr ^ LC_HIDE,
        .seq_tid = lc_block_pack_seq_tid(seq, (uint32_t)lc_os_tid(), flags),
        .size_stack = lc_block_pack_size_stack(size, stack),
    };
    if (LC_UNLIKELY(!atomic_load_explicit(&table_used, memory_order_relaxed))) {
        lc_spin_lock(&shards[0].lock);
        atomic_store(&table_used, true);
        lc_spin_unlock(&shards[0].lock);
    }
    lc_spin_lock(&s->lock);
    if (seq > s->max_seq) s->max_seq = seq;
    if (~addr > s->not_lo) s->not_lo = ~addr;
    if (~addr < s->not_hi || !s->not_hi) s->not_hi = ~addr;
    /* Load factor at most 3/4: 24 bytes a slot keeps the table between 32
     * and 64 bytes per live block. */
    if (LC_UNLIKELY((s->count + 1) * 4u > (s->mask + 1) * 3u || !s->mask)) {
        if (!grow(s)) {
            lc_spin_unlock(&s->lock);
            return;
        }
    }
    uint32_t i = (uint32_t)h & s->mask;
    for (;;) {
        lc_block *b = &s->slots[i];
        if (!b->key) {
            *b = rec;
            s->count++;
            break;
        }
        if (b->key == rec.key) { /* a stale record (freed behind our back) */
            *b = rec;
            break;
        }
        i = (i + 1) & s->mask;
    }
    lc_spin_unlock(&s->lock);
}

/* The slot holding key in a locked shard, or -1. */
static long find_slot(const shard *s, uint64_t h, uintptr_t key) {
    if (!s->mask) return -1;
    for (uint32_t i = (uint32_t)h & s->mask; s->slots[i].key; i = (i + 1) & s->mask)
        if (s->slots[i].key == key) return i;
    return -1;
}

bool lc_heap_remove(uintptr_t addr) {
    if (!table_used) return false;
    uint64_t h = hash_addr(addr);
    shard *s = shard_of(addr);
    lc_spin_lock(&s->lock);
    long i = find_slot(s, h, addr ^ LC_HIDE);
    if (i >= 0) {
        /* Backward-shift: move later members of the probe run into the
         * hole when their home slot is at or before it. */
        uint32_t hole = (uint32_t)i, j = (uint32_t)i;
        for (;;) {
            j = (j + 1) & s->mask;
            lc_block *b = &s->slots[j];
            if (!b->key) break;
            uint32_t home = (uint32_t)hash_addr(lc_block_addr(b)) & s->mask;
            if (((j - home) & s->mask) >= ((j - hole) & s->mask)) {
                s->slots[hole] = *b;
                hole = j;
            }
        }
        s->slots[hole].key = 0;
        s->count--;
    }
    lc_spin_unlock(&s->lock);
    return i >= 0;
}

static void table_flag_held(uintptr_t addr, uint32_t flag) {
    uint64_t h = hash_addr(addr);
    shard *s = shard_of(addr);
    long i = find_slot(s, h, addr ^ LC_HIDE);
    if (i >= 0) s->slots[i].seq_tid |= flag & 3;
}

/* Does the shard hold no block of sequence number min_seq or above? */
static bool nothing_since(const shard *s, uint64_t min_seq) {
    return min_seq && __atomic_load_n(&s->max_seq, __ATOMIC_RELAXED) < min_seq;
}

static bool table_find_held(uintptr_t addr, lc_block *out) {
    uint64_t h = hash_addr(addr);
    const shard *s = shard_of(addr);
    if (~addr > s->not_lo || ~addr < s->not_hi) return false;
    long i = find_slot(s, h, addr ^ LC_HIDE);
    if (i >= 0) *out = s->slots[i];
    return i >= 0;
}

static void table_bounds(uintptr_t *lo, uintptr_t *hi) {
    for (uint32_t k = 0; k < NSHARDS; k++) {
        const shard *s = &shards[k];
        if (!in_use(k) || !s->not_lo) continue;
        if (~s->not_lo < *lo) *lo = ~s->not_lo;
        if (~s->not_hi > *hi) *hi = ~s->not_hi;
    }
}

static bool table_any_new(uint64_t min_seq, uint32_t without_flags) {
    size_t n = 0;
    for (uint32_t k = 0; k < NSHARDS; k++) {
        shard *s = &shards[k];
        if (!in_use(k) || !__atomic_load_n(&s->count, __ATOMIC_RELAXED) ||
            nothing_since(s, min_seq))
            continue;
        lc_spin_lock(&s->lock);
        uint32_t slots = s->mask ? s->mask + 1 : 0;
        for (uint32_t i = 0; i < slots; i++) {
            const lc_block *b = &s->slots[i];
            n += b->key && lc_block_seq(b) >= min_seq && !(lc_block_flags(b) & without_flags);
            if (n) break;
        }
        lc_spin_unlock(&s->lock);
        if (n) return true;
    }
    return false;
}

static bool table_lookup(uintptr_t addr, lc_block *out) {
    uint64_t h = hash_addr(addr);
    shard *s = shard_of(addr);
    lc_spin_lock(&s->lock);
    long i = find_slot(s, h, addr ^ LC_HIDE);
    if (i >= 0) *out = s->slots[i];
    lc_spin_unlock(&s->lock);
    return i >= 0;
}

static size_t copy_shard(const shard *s, lc_block *out, size_t cap, uint64_t min_seq, size_t n) {
    if (n > cap || nothing_since(s, min_seq)) return n;
    uint32_t slots = s->mask ? s->mask + 1 : 0;
    for (uint32_t i = 0; i < slots; i++) {
        const lc_block *b = &s->slots[i];
        if (!b->key || lc_block_seq(b) < min_seq) continue;
        if (n >= cap) return cap + 1;
        out[n++] = *b;
    }
    return n;
}

static size_t table_copy(lc_block *out, size_t cap, uint64_t min_seq) {
    size_t n = 0;
    for (uint32_t k = 0; k < NSHARDS; k++) {
        shard *s = &shards[k];
        if (!in_use(k)) continue;
        lc_spin_lock(&s->lock);
        n = copy_shard(s, out, cap, min_seq, n);
        lc_spin_unlock(&s->lock);
    }
    return n;
}

static size_t table_copy_held(lc_block *out, size_t cap, uint64_t min_seq) {
    size_t n = 0;
    for (uint32_t k = 0; k < NSHARDS; k++)
        if (in_use(k)) n = copy_shard(&shards[k], out, cap, min_seq, n);
    return n;
}

static size_t table_live_count(void) {
    size_t n = 0;
    for (uint32_t k = 0; k < NSHARDS; k++)
        if (in_use(k)) n += __atomic_load_n(&shards[k].count, __ATOMIC_RELAXED);
    return n;
}

static size_t table_bytes(void) {
    size_t bytes = 0;
    for (uint32_t k = 0; k < NSHARDS; k++)
        if (in_use(k) && shards[k].mask) bytes += (size_t)(shards[k].mask + 1) * sizeof(lc_block);
    return bytes;
}

/* A process that never started a thread has no other thread to keep out
 * (the hooks do not record this thread's allocations while the library runs),
 * and taking 1024 locks would write every page of the shards: in a forked
 * child, copy-on-write faults for nothing. */
static void table_lock_all(void) {
    locked_all = !__libc_single_threaded;
    if (!locked_all) {
        table_held = table_used;
        return;
    }
    lc_spin_lock(&shards[0].lock); /* no first insert from here on */
    table_held = table_used;
    for (uint32_t k = 1; table_held && k < NSHARDS; k++)
        lc_spin_lock(&shards[k].lock);
}

static void table_unlock_all(void) {
    if (!locked_all) return;
    for (uint32_t k = table_held ? NSHARDS : 1; k-- > 0;)
        lc_spin_unlock(&shards[k].lock);
}

/* The two stores as one set. The header store's blocks are found by their
 * bit, so a table lookup is made only for what is not one of them. */

bool lc_heap_lookup(uintptr_t addr, lc_block *out) {
    if (lc_inband_used() && lc_inband_owns(addr)) {
        lc_inband_lock_all();
        bool found = lc_inband_find_held(addr, out);
        lc_inband_unlock_all();
        if (found) return true;
    }
    return table_used && table_lookup(addr, out);
}

bool lc_heap_find_held(uintptr_t addr, lc_block *out) {
    if (lc_inband_find_held(addr, out)) return true;
    return table_held && table_find_held(addr, out);
}

void lc_heap_flag_held(uintptr_t addr, uint32_t flag) {
    if (lc_inband_owns(addr))
        lc_inband_flag_held(addr, flag);
    else if (table_held)
        table_flag_held(addr, flag);
}

uintptr_t lc_heap_allocator_pointer(uintptr_t addr) {
    return lc_inband_owns(addr) ? lc_inband_base(addr) : addr;
}

void lc_heap_bounds(uintptr_t *lo, uintptr_t *hi) {
    *lo = UINTPTR_MAX;
    *hi = 0;
    table_bounds(lo, hi);
    lc_inband_bounds(lo, hi);
}

bool lc_heap_any_new(uint64_t min_seq, uint32_t without_flags) {
    if (table_used && table_any_new(min_seq, without_flags)) return true;
    if (!lc_inband_used()) return false;
    lc_inband_lock_all();
    bool any = lc_inband_any_new_held(min_seq, without_flags);
    lc_inband_unlock_all();
    return any;
}

size_t lc_heap_copy(lc_block *out, size_t cap, uint64_t min_seq) {
    size_t n = table_used ? table_copy(out, cap, min_seq) : 0;
    if (!lc_inband_used()) return n;
    lc_inband_lock_all();
    n = lc_inband_copy_held(out, cap, min_seq, n);
    lc_inband_unlock_all();
    return n;
}

size_t lc_heap_copy_held(lc_block *out, size_t cap, uint64_t min_seq) {
    size_t n = table_held ? table_copy_held(out, cap, min_seq) : 0;
    return lc_inband_copy_held(out, cap, min_seq, n);
}

size_t lc_heap_live_count(void) {
    size_t n = table_live_count();
    if (!lc_inband_used()) return n;
    lc_inband_lock_all();
    n += lc_inband_live_count_held();
    lc_inband_unlock_all();
    return n;
}

size_t lc_heap_table_bytes(void) {
    return table_bytes() + lc_inband_bytes();
}

void lc_heap_lock_all(void) {
    table_lock_all();
    lc_inband_lock_all();
}

void lc_heap_unlock_all(void) {
    lc_inband_unlock_all();
    table_unlock_all();
}
