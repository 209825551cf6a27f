/* SPDX-License-Identifier: MIT */
/* stack_table.c: allocation call stacks, each stored once.
 *
 * A program has few distinct allocation stacks and many allocations, so each
 * block names its stack by a 24-bit id. Lookups are lock-free (records are
 * published with a release store after they are complete); inserting a new
 * stack takes one lock. The table never shrinks and never moves: its arrays
 * are reserved address space, committed as they fill, so readers need no
 * lock to follow an id. Each record also keeps the cumulative counts of
 * pprof's alloc_objects / alloc_space.
 *
 * The hash index starts at one page and doubles as stacks come: a forked
 * child (a Check test) interns the stacks of its own code paths anew, and
 * in an index sized for a million stacks each would land on a page of its
 * own, one page fault to read it and one to write it. A forked child's
 * first new stacks do not go to the table at all (`fresh`, below). */
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

/* The index of capacity c (a power of two, from INDEX_MIN to
 * index_slot_count) lives at index_area[c - INDEX_MIN]: the smaller ones
 * before it, kept because a lookup without the lock may still be reading
 * one. So the area is twice the largest index, and one number, the
 * capacity, publishes an index. */
#define INDEX_MIN 1024u

/* Cumulative counts of a stack. A process with one thread keeps them in
 * the stack's record, which it has just written or read (a forked test
 * that interns a stack then writes one page fewer), after holding them
 * apart for a while (`held`, below); with threads they go
 * to one array per counter shard, since threads that allocate from the
 * same stack would otherwise bounce one cache line between cores on
 * every malloc. The totals are the sum of both. */
typedef struct counter {
    _Atomic uint64_t objects, bytes;
} counter;
#define COUNTER_SHARDS 8
static counter *counters[COUNTER_SHARDS];
/* A thread that counts with other threads about takes one of the first
 * COUNTER_SHARDS - 1 shards for itself while it lives, and adds to it
 * without a locked instruction (no other thread writes it); past that,
 * and after it gave its shard back, it shares the last one, with locked
 * adds. Bit i: shard i has a thread. */
static _Atomic uint32_t shards_taken;
static LC_TLS unsigned my_shard; /* shard + 1; 0: none taken yet */

typedef struct stack_rec {
    uint64_t hash;
    uint32_t depth;
    uint32_t frames_at;
    counter solo; /* counted while the process had one thread */
} stack_rec;

/* The table's areas (recs, index_area, frames): read by every lookup, so
 * with the allocation path's settings (LC_HOT), on the page a forked child
 * uses anyway, not on one of their own. */
LC_HOT static stack_rec *recs;

/* The first stacks a forked child interns, kept in the fork state's page
 * instead of the table. A Check test in fork mode allocates from code its
 * parent, the runner, never ran (the test, the framework's side of the
 * test), so each of its stacks is new, and storing one in the table writes
 * a page of the records, one of the frames and one of the index: three
 * copy-on-write faults of pages the parent filled, 0.19 ms of a forked
 * test's 0.5 that linking the library cost (bench/README.md). The fork
 * state's page is one every child writes anyway. A fresh stack takes the
 * table's next id, so that ids stay dense for snapshots and reports, but
 * leaves its record, frames and index slot unwritten; the table's lookups
 * never meet it, and the functions that take an id look here first. A
 * grandchild inherits the page, and with it the fresh stacks its blocks
 * name. */
#define FRESH_STACKS 16
#define FRESH_FRAMES 128
LC_FORK_STATE static struct {
    _Atomic uint32_t n; /* entries published */
    uint32_t nframes;
    lc_stack_id id[FRESH_STACKS];
    stack_rec rec[FRESH_STACKS]; /* frames_at indexes fresh.frames */
    uintptr_t frames[FRESH_FRAMES];
} fresh;
/* The lowest fresh id, or none: read by every malloc (lc_stack_account),
 * written by a forked child once. */
LC_HOT static _Atomic lc_stack_id fresh_lowest = UINT32_MAX;

/* The entry of a fresh id, or -1. */
static int fresh_of(lc_stack_id id) {
    if (LC_LIKELY(id < atomic_load_explicit(&fresh_lowest, memory_order_relaxed))) return -1;
    uint32_t n = atomic_load_explicit(&fresh.n, memory_order_acquire);
    for (uint32_t k = 0; k < n; k++)
        if (fresh.id[k] == id) return (int)k;
    return -1;
}

/* The fresh id of a stack, or 0. */
LC_CHILD_CODE static lc_stack_id fresh_find(uint64_t h, const uintptr_t *pcs, int depth) {
    uint32_t n = atomic_load_explicit(&fresh.n, memory_order_acquire);
    for (uint32_t k = 0; k < n; k++) {
        const stack_rec *r = &fresh.rec[k];
        if (r->hash == h && r->depth == (uint32_t)depth &&
            memcmp(&fresh.frames[r->frames_at], pcs, (size_t)depth * sizeof(uintptr_t)) == 0)
            return fresh.id[k];
    }
    return 0;
}

/* Stores a new stack under id as a fresh one, when this is a forked child
 * with room left. Called with insert_lock held. */
LC_CHILD_CODE static bool fresh_add(lc_stack_id id, uint64_t h, const uintptr_t *pcs, int depth) {
    uint32_t n = atomic_load_explicit(&fresh.n, memory_order_relaxed);
    if (!lc_os_forked() || n == FRESH_STACKS || fresh.nframes + (uint32_t)depth > FRESH_FRAMES)
        return false;
    memcpy(&fresh.frames[fresh.nframes], pcs, (size_t)depth * sizeof(uintptr_t));
    fresh.rec[n] = (stack_rec){.hash = h, .depth = (uint32_t)depth, .frames_at = fresh.nframes};
    fresh.nframes += (uint32_t)depth;
    fresh.id[n] = id;
    if (id < atomic_load_explicit(&fresh_lowest, memory_order_relaxed))
        atomic_store_explicit(&fresh_lowest, id, memory_order_relaxed);
    atomic_store_explicit(&fresh.n, n + 1, memory_order_release);
    return true;
}

LC_HOT static _Atomic uint32_t *index_area; /* id, 0 = empty */
static _Atomic uint32_t index_cap = INDEX_MIN;
LC_HOT static uintptr_t *frames;
LC_FORK_STATE static _Atomic uint32_t nrecs = 1; /* id 0: the empty stack */
LC_FORK_STATE static uint32_t nframes;
LC_FORK_STATE static lc_spinlock insert_lock;
LC_FORK_STATE static lc_spinlock reserve_lock;
LC_HOT static _Atomic int reserved;

static bool reserve(void) {
    if (LC_LIKELY(atomic_load_explicit(&reserved, memory_order_acquire))) return true;
    lc_spin_lock(&reserve_lock);
    if (!atomic_load(&reserved)) {
        if (RUNNING_ON_VALGRIND) max_stacks = 1u << 16;
        recs = lc_os_reserve(max_stacks * sizeof(stack_rec));
        index_area = lc_os_reserve(2 * (size_t)index_slot_count * sizeof(uint32_t));
        frames = lc_os_reserve(max_frames_total * sizeof(uintptr_t));
        bool ok = recs && index_area && frames;
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

static _Atomic uint32_t *index_of(uint32_t cap) {
    return &index_area[cap - INDEX_MIN];
}

/* The slot of the stack in the index of capacity cap, or the empty slot
 * that ends its probe run; *found says which. */
LC_CHILD_CODE static uint32_t probe(uint32_t cap, uint64_t h, const uintptr_t *pcs, int depth,
                                    uint32_t *found) {
    _Atomic uint32_t *slots = index_of(cap);
    uint32_t i = (uint32_t)h & (cap - 1);
    for (;;) {
        uint32_t id = atomic_load_explicit(&slots[i], memory_order_acquire);
        if (!id || same(&recs[id], h, pcs, depth)) {
            *found = id;
            return i;
        }
        i = (i + 1) & (cap - 1);
    }
}

/* Moves every id into the index of twice the capacity, then publishes it.
 * Called with insert_lock held. */
static void grow_index(uint32_t cap) {
    _Atomic uint32_t *from = index_of(cap), *to = index_of(cap * 2);
    uint32_t mask = cap * 2 - 1;
    for (uint32_t k = 0; k < cap; k++) {
        uint32_t id = atomic_load_explicit(&from[k], memory_order_relaxed);
        if (!id) continue;
        uint32_t i = (uint32_t)recs[id].hash & mask;
        while (atomic_load_explicit(&to[i], memory_order_relaxed))
            i = (i + 1) & mask;
        atomic_store_explicit(&to[i], id, memory_order_relaxed);
    }
    atomic_store_explicit(&index_cap, cap * 2, memory_order_release);
}

/* The stack this thread interned last: a loop that allocates from one
 * place finds it here, without reading the index, the records and the
 * frames, three pages the TLB would have to hold for it. */
static LC_TLS struct {
    uint64_t hash;
    lc_stack_id id;
    int depth;
    uintptr_t pcs[LC_MAX_DEPTH];
} last;

/* A signal handler that interns a stack may interrupt either side: the
 * hash is cleared first and set last, and a reader checks it again after
 * reading the rest, so a half-written or replaced entry is a miss. */
static lc_stack_id remember(uint64_t h, const uintptr_t *pcs, int depth, lc_stack_id id) {
    if (id) {
        __atomic_store_n(&last.hash, 0, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        last.id = id;
        last.depth = depth;
        memcpy(last.pcs, pcs, (size_t)depth * sizeof(uintptr_t));
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&last.hash, h, __ATOMIC_RELAXED);
    }
    return id;
}

static lc_stack_id intern_shared(uint64_t h, const uintptr_t *pcs, int depth);

/* The same before any hash is taken: the last stack's frames compared
 * with these, its hash read before and after as the sign that no handler
 * replaced it meanwhile (zero while one writes it). A loop allocating
 * from one place spends no hash on each call. */
static lc_stack_id recalled_unhashed(const uintptr_t *pcs, int depth) {
    uint64_t h = __atomic_load_n(&last.hash, __ATOMIC_RELAXED);
    if (!h || last.depth != depth) return 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    lc_stack_id id = last.id;
    int i = 0;
    while (i < depth && pcs[i] == last.pcs[i])
        i++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return i == depth && __atomic_load_n(&last.hash, __ATOMIC_RELAXED) == h ? id : 0;
}

LC_HOT_CODE lc_stack_id lc_stack_intern(const uintptr_t *pcs, int depth) {
    if (depth <= 0 || depth > LC_MAX_DEPTH || !reserve()) return 0;
    lc_stack_id known = recalled_unhashed(pcs, depth);
    if (LC_LIKELY(known)) return known;
    uint64_t h = hash_frames(pcs, depth);
    return remember(h, pcs, depth, intern_shared(h, pcs, depth));
}

LC_CHILD_CODE static lc_stack_id intern_shared(uint64_t h, const uintptr_t *pcs, int depth) {
    uint32_t found;
    (void)probe(atomic_load_explicit(&index_cap, memory_order_acquire), h, pcs, depth, &found);
    if (!found) found = fresh_find(h, pcs, depth);
    if (found) return found;
    lc_spin_lock(&insert_lock);
    /* Another thread may have inserted it, or grown the index, meanwhile. */
    uint32_t cap = atomic_load_explicit(&index_cap, memory_order_relaxed);
    uint32_t i = probe(cap, h, pcs, depth, &found);
    if (!found) found = fresh_find(h, pcs, depth);
    if (found) {
        lc_spin_unlock(&insert_lock);
        return found;
    }
    uint32_t id = atomic_load_explicit(&nrecs, memory_order_relaxed);
    if (id >= max_stacks - 1 || nframes + (uint32_t)depth > max_frames_total ||
        id * 2 > index_slot_count) {
        lc_spin_unlock(&insert_lock);
        return 0; /* table full: the block is tracked without a stack */
    }
    if (fresh_add(id, h, pcs, depth)) {
        atomic_store_explicit(&nrecs, id + 1, memory_order_release);
        lc_spin_unlock(&insert_lock);
        return id;
    }
    memcpy(&frames[nframes], pcs, (size_t)depth * sizeof(uintptr_t));
    recs[id].hash = h;
    recs[id].depth = (uint32_t)depth;
    recs[id].frames_at = nframes;
    nframes += (uint32_t)depth;
    atomic_store_explicit(&nrecs, id + 1, memory_order_release);
    /* Load factor at most 1/2, as the full-size index had. */
    if (id * 2 > cap && cap < index_slot_count) {
        grow_index(cap); /* holds ids 1 .. id - 1; this one goes in below */
        cap *= 2;
        i = probe(cap, h, pcs, depth, &found);
    }
    atomic_store_explicit(&index_of(cap)[i], id, memory_order_release);
    lc_spin_unlock(&insert_lock);
    return id;
}

int lc_stack_get(lc_stack_id id, const uintptr_t **pcs) {
    if (id == 0 || id >= atomic_load_explicit(&nrecs, memory_order_acquire)) {
        *pcs = NULL;
        return 0;
    }
    int k = fresh_of(id);
    const stack_rec *r = k < 0 ? &recs[id] : &fresh.rec[k];
    *pcs = k < 0 ? &frames[r->frames_at] : &fresh.frames[r->frames_at];
    return (int)r->depth;
}

/* Where a process with one thread counts the stack's allocations. */
static counter *solo_counter(lc_stack_id id) {
    int k = fresh_of(id);
    return k < 0 ? &recs[id].solo : &fresh.rec[k].solo;
}

/* Counts a process with one thread holds for its stacks, not yet added to
 * their records. A Check runner allocates from the same stacks after every
 * fork, and adding to a record wrote a page its forked child shares: a
 * copy-on-write fault in the runner for every forked test (bench/
 * README.md). These counts are thread-local: every allocation writes this
 * thread's storage anyway (the re-entry flag, the walk's last frames), and
 * the runner's faults in counting went from one a test to none. A slot is
 * a stack's for good once it
 * takes it: a stack that finds its slot taken counts in its record as
 * before, so a forked child's new stacks (in the fork state's page) never
 * push the runner's out into a page of the table. Held counts go to the
 * records when a reader asks (lc_stack_totals, from this thread: with one
 * thread, the only one) and when the process is about to have a second
 * thread (lc_stack_settle, from the pthread_create interposer, and from the
 * first count made with threads). Counting happens inside the tracker, so
 * a signal handler's allocation on this thread never counts halfway
 * through another's. */
#define HELD_SLOTS 32
static LC_TLS struct {
    lc_stack_id id[HELD_SLOTS];
    uint64_t objects[HELD_SLOTS], bytes[HELD_SLOTS];
    bool any;
} held;

void lc_stack_settle(void) {
    if (LC_LIKELY(!held.any)) return;
    for (int k = 0; k < HELD_SLOTS; k++) {
        lc_stack_id id = held.id[k];
        if (!id) continue;
        counter *c = solo_counter(id);
        lc_word_add(&c->objects, held.objects[k]);
        lc_word_add(&c->bytes, held.bytes[k]);
        held.id[k] = 0;
    }
    held.any = false;
}

/* A count that is not this thread's held slot's: the slot taken, or the
 * record (out of line, so that the common count saves no registers). */
/* A shard of the counters for this thread alone, or the shared one. */
static unsigned take_shard(void) {
    uint32_t t = atomic_load_explicit(&shards_taken, memory_order_relaxed);
    for (;;) {
        uint32_t free_bits = ~t & ((1u << (COUNTER_SHARDS - 1)) - 1);
        if (!free_bits) return my_shard = COUNTER_SHARDS;
        uint32_t bit = free_bits & -free_bits;
        if (atomic_compare_exchange_weak_explicit(&shards_taken, &t, t | bit, memory_order_acquire,
                                                  memory_order_relaxed))
            return my_shard = (unsigned)__builtin_ctz(bit) + 1;
    }
}

static __attribute__((noinline)) void account_elsewhere(lc_stack_id id, size_t bytes) {
    if (id == 0) return;
    counter *c;
    if (LC_LIKELY(lc_solo())) {
        unsigned k = id % HELD_SLOTS;
        if (!held.id[k]) {
            held.id[k] = id;
            held.objects[k] = 1;
            held.bytes[k] = bytes;
            held.any = true;
            return;
        }
        c = solo_counter(id);
    } else {
        lc_stack_settle();
        unsigned s = my_shard ? my_shard : take_shard();
        c = &counters[s - 1][id];
        if (s < COUNTER_SHARDS) {
            lc_word_add_own(&c->objects, 1);
            lc_word_add_own(&c->bytes, bytes);
            return;
        }
    }
    lc_word_add(&c->objects, 1);
    lc_word_add(&c->bytes, bytes);
}

void lc_stack_thread_exit(void) {
    unsigned s = my_shard;
    my_shard = COUNTER_SHARDS; /* what it counts after this, in the shared shard */
    if (s && s < COUNTER_SHARDS)
        atomic_fetch_and_explicit(&shards_taken, ~(1u << (s - 1)), memory_order_release);
}

LC_HOT_CODE void lc_stack_account(lc_stack_id id, size_t bytes) {
    unsigned k = id % HELD_SLOTS;
    if (LC_LIKELY(lc_solo() && held.id[k] == id && id)) {
        held.objects[k]++;
        held.bytes[k] += bytes;
        return;
    }
    account_elsewhere(id, bytes);
}

void lc_stack_totals(lc_stack_id id, uint64_t *objects, uint64_t *bytes) {
    lc_stack_settle();
    if (id == 0 || id >= atomic_load(&nrecs)) {
        *objects = *bytes = 0;
        return;
    }
    const counter *solo = solo_counter(id);
    *objects = atomic_load_explicit(&solo->objects, memory_order_relaxed);
    *bytes = atomic_load_explicit(&solo->bytes, memory_order_relaxed);
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
