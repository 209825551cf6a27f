/* SPDX-License-Identifier: MIT */
/* stack_table.c: allocation call stacks, each stored once.
 *
 * A program has few distinct allocation stacks and many allocations, so each
 * block names its stack by a 24-bit id. Lookups are lock-free (records are
 * published with a release store after they are complete); inserting a new
 * stack takes one lock. The table never shrinks and never moves: its arrays
 * are reserved address space, committed as they fill, so readers need no
 * lock to follow an id. Each record also keeps the cumulative counts of
 * pprof's alloc_objects / alloc_space. */
#include "core.h"
#include "os.h"
#include "stacks.h"

#include <string.h>
#include <valgrind/valgrind.h>

/* Capacity, fixed when the table is first reserved. Under valgrind it is 16
 * times smaller: memcheck's leak search reads every mapped page, reserved
 * or not, and 350 MB of reservation cost a second per search. */
static uint32_t max_stacks = 1u << 20;
#define index_slot_count (max_stacks * 2u)
#define max_frames_total (max_stacks * 24u)

typedef struct stack_rec {
    uint64_t hash;
    uint32_t depth;
    uint32_t frames_at;
} stack_rec;

/* Cumulative counts live apart from the records, in one array per counter
 * shard: threads that allocate from the same stack would otherwise bounce
 * one cache line between cores on every malloc. */
#define COUNTER_SHARDS 8
typedef struct counter {
    _Atomic uint64_t objects, bytes;
} counter;
static counter *counters[COUNTER_SHARDS];

static stack_rec *recs;
static _Atomic uint32_t *index_slots; /* id, 0 = empty */
static uintptr_t *frames;
static _Atomic uint32_t nrecs = 1; /* id 0: the empty stack */
static uint32_t nframes;
static lc_spinlock insert_lock;
static lc_spinlock reserve_lock;
static _Atomic int reserved;

static bool reserve(void) {
    if (LC_LIKELY(atomic_load_explicit(&reserved, memory_order_acquire))) return true;
    lc_spin_lock(&reserve_lock);
    if (!atomic_load(&reserved)) {
        if (RUNNING_ON_VALGRIND) max_stacks = 1u << 16;
        recs = lc_os_reserve(max_stacks * sizeof(stack_rec));
        index_slots = lc_os_reserve(index_slot_count * sizeof(uint32_t));
        frames = lc_os_reserve(max_frames_total * sizeof(uintptr_t));
        bool ok = recs && index_slots && frames;
        for (int i = 0; i < COUNTER_SHARDS && ok; i++)
            ok = (counters[i] = lc_os_reserve(max_stacks * sizeof(counter))) != NULL;
        if (ok) atomic_store_explicit(&reserved, 1, memory_order_release);
    }
    lc_spin_unlock(&reserve_lock);
    return atomic_load(&reserved);
}

static uint64_t hash_frames(const uintptr_t *pcs, int depth) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)depth;
    for (int i = 0; i < depth; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h ? h : 1;
}

static bool same(const stack_rec *r, uint64_t h, const uintptr_t *pcs, int depth) {
    return r->hash == h && r->depth == (uint32_t)depth &&
           memcmp(&frames[r->frames_at], pcs, (size_t)depth * sizeof(uintptr_t)) == 0;
}

lc_stack_id lc_stack_intern(const uintptr_t *pcs, int depth) {
    if (depth <= 0 || !reserve()) return 0;
    uint64_t h = hash_frames(pcs, depth);
    uint32_t i = (uint32_t)h & (index_slot_count - 1);
    for (;;) {
        uint32_t id = atomic_load_explicit(&index_slots[i], memory_order_acquire);
        if (!id) break;
        if (same(&recs[id], h, pcs, depth)) return id;
        i = (i + 1) & (index_slot_count - 1);
    }
    lc_spin_lock(&insert_lock);
    /* Another thread may have inserted it, or filled our slot, meanwhile. */
    for (;;) {
        uint32_t id = atomic_load_explicit(&index_slots[i], memory_order_acquire);
        if (!id) break;
        if (same(&recs[id], h, pcs, depth)) {
            lc_spin_unlock(&insert_lock);
            return id;
        }
        i = (i + 1) & (index_slot_count - 1);
    }
    uint32_t id = atomic_load_explicit(&nrecs, memory_order_relaxed);
    if (id >= max_stacks - 1 || nframes + (uint32_t)depth > max_frames_total ||
        id * 2 > index_slot_count) {
        lc_spin_unlock(&insert_lock);
        return 0; /* table full: the block is tracked without a stack */
    }
    memcpy(&frames[nframes], pcs, (size_t)depth * sizeof(uintptr_t));
    recs[id].hash = h;
    recs[id].depth = (uint32_t)depth;
    recs[id].frames_at = nframes;
    nframes += (uint32_t)depth;
    atomic_store_explicit(&nrecs, id + 1, memory_order_release);
    atomic_store_explicit(&index_slots[i], id, memory_order_release);
    lc_spin_unlock(&insert_lock);
    return id;
}

int lc_stack_get(lc_stack_id id, const uintptr_t **pcs) {
    if (id == 0 || id >= atomic_load_explicit(&nrecs, memory_order_acquire)) {
        *pcs = NULL;
        return 0;
    }
    *pcs = &frames[recs[id].frames_at];
    return (int)recs[id].depth;
}

void lc_stack_account(lc_stack_id id, size_t bytes) {
    if (id == 0) return;
    counter *c = &counters[(uint32_t)lc_os_tid() % COUNTER_SHARDS][id];
    atomic_fetch_add_explicit(&c->objects, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
}

void lc_stack_totals(lc_stack_id id, uint64_t *objects, uint64_t *bytes) {
    if (id == 0 || id >= atomic_load(&nrecs)) {
        *objects = *bytes = 0;
        return;
    }
    *objects = *bytes = 0;
    for (int i = 0; i < COUNTER_SHARDS; i++) {
        *objects += atomic_load_explicit(&counters[i][id].objects, memory_order_relaxed);
        *bytes += atomic_load_explicit(&counters[i][id].bytes, memory_order_relaxed);
    }
}

uint32_t lc_stack_count(void) {
    return atomic_load(&nrecs);
}

void lc_stack_lock_all(void) {
    lc_spin_lock(&reserve_lock);
    lc_spin_lock(&insert_lock);
}

void lc_stack_unlock_all(void) {
    lc_spin_unlock(&insert_lock);
    lc_spin_unlock(&reserve_lock);
}
