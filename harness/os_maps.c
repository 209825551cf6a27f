/* SPDX-License-Identifier: MIT */
/* os_maps.c: the library's own memory mappings.
 *
 * Every page the library maps for itself comes from here (lc_os_alloc,
 * lc_os_reserve and their shared form), so that one place knows them all:
 * the scan of the program's memory leaves them out, a check's scratch
 * areas are kept for its next run, and a forked child's are served from a
 * reservation of its parent's. Nothing here calls malloc: it runs inside
 * malloc and in signal handlers. */
#include "core.h"
#include "os.h"

#include <string.h>
#include <sys/mman.h>

/* The library's own mappings, so that the scan of the program's anonymous
 * memory (map_roots.c) leaves them out: what the library keeps (block
 * tables, copies of stacks, capture slots, alternate signal stacks) would
 * otherwise keep every block it names alive. An open-addressing set keyed
 * by start address, lock-free because lc_os_alloc runs inside malloc and
 * in signal handlers; a removed entry leaves a tombstone that the next
 * insertion reuses, so the table never holds more than the most mappings
 * the library ever had at once. Full, an insertion is dropped and the
 * mapping counts as the program's (a missed leak, never a false one). */
#define OWN_SLOTS LC_OS_OWN_MAX
#define OWN_TOMB ((uintptr_t)1)
typedef struct own_slot {
    _Atomic uintptr_t start, end;
} own_slot;
static _Atomic(own_slot *) own_table;

/* The page number, folded: mmap hands out neighbouring addresses, so the
 * mappings a check makes land in neighbouring slots, one page of the table
 * (a forked child that checks once writes one page of it, not one page per
 * mapping). Distinct pages of one 64 MiB window never share a home slot. */
static size_t own_hash(uintptr_t p) {
    return (size_t)((p >> 12) ^ (p >> 26)) & (OWN_SLOTS - 1);
}

static void own_insert(own_slot *t, uintptr_t p, size_t size) {
    for (size_t i = 0, h = own_hash(p); i < OWN_SLOTS; i++) {
        own_slot *s = &t[(h + i) & (OWN_SLOTS - 1)];
        uintptr_t cur = atomic_load_explicit(&s->start, memory_order_relaxed);
        if ((cur == 0 || cur == OWN_TOMB) && atomic_compare_exchange_strong(&s->start, &cur, p)) {
            atomic_store_explicit(&s->end, p + size, memory_order_release);
            return;
        }
    }
}

static own_slot *own_slots(void) {
    own_slot *t = atomic_load_explicit(&own_table, memory_order_acquire);
    if (LC_LIKELY(t)) return t;
    size_t bytes = OWN_SLOTS * sizeof(own_slot);
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    own_slot *none = NULL;
    if (!atomic_compare_exchange_strong(&own_table, &none, (own_slot *)m)) {
        munmap(m, bytes);
        return none;
    }
    own_insert(m, (uintptr_t)m, bytes);
    return m;
}

static void *own_mapping(void *p, size_t size) {
    if (p == MAP_FAILED) return NULL;
    own_slot *t = own_slots();
    if (t) own_insert(t, (uintptr_t)p, size);
    return p;
}

size_t lc_os_own_mappings(lc_region *out, size_t cap) {
    own_slot *t = own_slots();
    size_t n = 0;
    for (size_t i = 0; t && i < OWN_SLOTS && n < cap; i++) {
        uintptr_t start = atomic_load_explicit(&t[i].start, memory_order_acquire);
        uintptr_t end = atomic_load_explicit(&t[i].end, memory_order_acquire);
        /* mmap maps whole pages, whatever the size asked */
        if (start > OWN_TOMB && end > start) out[n++] = (lc_region){start, (end + 4095) & ~4095ul};
    }
    return n;
}

/* Small mappings freed and kept for the next allocation of the same size:
 * a check maps and unmaps the same few scratch areas every time it runs,
 * and a suite checks after every test (two mmaps, two munmaps and their
 * page faults, per area and check). Taken with a try-lock only: this runs
 * inside malloc and in signal handlers, and after a fork that copied the
 * lock held; whoever finds it busy maps and unmaps as before. The areas
 * stay the library's own (they keep their entry in the own table). An area
 * goes back only to the thread that gave it up: a check runs on the same
 * thread time after time, and a handoff between threads through the
 * library's own lock would be invisible to a ThreadSanitizer that
 * instruments the program and not the library (a false data race). */
#define MAP_CACHE_SLOTS 8
#define MAP_CACHE_MAX (128u << 10)
typedef struct cached_map {
    void *p;
    size_t size;
    int tid; /* the thread that gave it up */
} cached_map;
LC_FORK_STATE static cached_map map_cache[MAP_CACHE_SLOTS];
LC_FORK_STATE static _Atomic int map_cache_busy;

static bool map_cache_try_lock(void) {
    return !atomic_exchange_explicit(&map_cache_busy, 1, memory_order_acquire);
}

static void map_cache_unlock(void) {
    atomic_store_explicit(&map_cache_busy, 0, memory_order_release);
}

static void *map_cache_take(size_t size) {
    if (size > MAP_CACHE_MAX || !map_cache_try_lock()) return NULL;
    void *p = NULL;
    int tid = lc_os_tid();
    for (int i = 0; i < MAP_CACHE_SLOTS && !p; i++)
        if (map_cache[i].p && map_cache[i].size == size && map_cache[i].tid == tid) {
            p = map_cache[i].p;
            map_cache[i].p = NULL;
        }
    map_cache_unlock();
    if (p) memset(p, 0, size); /* lc_os_alloc's memory comes zeroed */
    return p;
}

/* Keeps p, and gives back what must be unmapped instead: p itself when the
 * cache cannot take it, or the area it displaced (the cache fills with
 * sizes a check no longer asks for, so the oldest goes). */
static cached_map map_cache_put(void *p, size_t size) {
    cached_map out = {p, size, 0};
    if (size > MAP_CACHE_MAX || !map_cache_try_lock()) return out;
    static unsigned next_out;
    int slot = -1;
    for (int i = 0; i < MAP_CACHE_SLOTS && slot < 0; i++)
        if (!map_cache[i].p) slot = i;
    if (slot < 0) {
        slot = (int)(next_out++ % MAP_CACHE_SLOTS);
        out = map_cache[slot];
    } else {
        out.p = NULL;
    }
    map_cache[slot] = (cached_map){p, size, lc_os_tid()};
    map_cache_unlock();
    return out;
}

/* Scratch for the checks of a forked child. A Check test in fork mode
 * checks once and ends, and its check's scratch areas (three, 136 KB) each
 * cost it an mmap, a munmap, and an entry in the own table, which is a
 * page of its parent's to copy. Instead a reservation the parent makes at
 * its first fork (address space only, registered as its own once) serves
 * a forked child's areas from a bump pointer while it has room: what the
 * child pays is its first touch of each page. A parent that never checks
 * never touches it, so no child copies any of it. The pointer goes back to
 * the start whenever no area is out (a check gives back all it took), so
 * an area given back while another is out above it waits for that. The
 * pointer and the count of areas out are one word, changed by one
 * compare-and-swap: lc_os_alloc runs inside malloc and in signal handlers,
 * and the last area's return must never move the pointer back under an
 * area being placed. */
#define SCRATCH_BYTES (1u << 20)
#define SCRATCH_OUT_ONE ((uint64_t)1 << 32)          /* the count of areas out, above the pointer */
static _Atomic uintptr_t scratch;                    /* the reservation, or 0 */
LC_FORK_STATE static _Atomic uint64_t scratch_state; /* out << 32 | pointer */
LC_FORK_STATE static _Atomic size_t scratch_dirty;   /* below it, pages may be written */

static void *scratch_take(size_t size) {
    uintptr_t base = atomic_load_explicit(&scratch, memory_order_relaxed);
    if (!base || !lc_os_forked() || size > SCRATCH_BYTES) return NULL;
    size = (size + 63) & ~(size_t)63;
    uint64_t state = atomic_load(&scratch_state);
    size_t top;
    do {
        top = (size_t)(uint32_t)state;
        if (top + size > SCRATCH_BYTES) return NULL;
    } while (!atomic_compare_exchange_weak(&scratch_state, &state, state + SCRATCH_OUT_ONE + size));
    size_t dirty = atomic_load(&scratch_dirty);
    while (dirty < top + size &&
           !atomic_compare_exchange_weak(&scratch_dirty, &dirty, top + size)) {
    }
    /* lc_os_alloc's memory comes zeroed: clear what an earlier area wrote */
    if (dirty > top)
        memset((void *)(base + top), 0, (dirty < top + size ? dirty : top + size) - top);
    return (void *)(base + top);
}

static bool scratch_give(void *p) {
    uintptr_t base = atomic_load_explicit(&scratch, memory_order_relaxed);
    if (!base || (uintptr_t)p < base || (uintptr_t)p >= base + SCRATCH_BYTES) return false;
    uint64_t state = atomic_load(&scratch_state), next;
    do {
        if (state < SCRATCH_OUT_ONE) return true; /* none out: a second free */
        next = state - SCRATCH_OUT_ONE;
        if (next < SCRATCH_OUT_ONE) next = 0; /* none out: back to the start */
    } while (!atomic_compare_exchange_weak(&scratch_state, &state, next));
    return true;
}

void lc_os_before_fork(void) {
    if (atomic_load_explicit(&scratch, memory_order_relaxed)) return;
    void *m = lc_os_reserve(SCRATCH_BYTES);
    uintptr_t none = 0;
    /* Two threads forking at once: one reservation stays. */
    if (m && !atomic_compare_exchange_strong(&scratch, &none, (uintptr_t)m))
        lc_os_free(m, SCRATCH_BYTES);
}

/* A forked child's scratch, an area kept from before, or a new mapping
 * made with `flags`. */
static void *own_pages(size_t size, int flags) {
    void *p = scratch_take(size);
    if (!p) p = map_cache_take(size);
    if (p) return p;
    return own_mapping(
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0), size);
}

void *lc_os_alloc(size_t size) {
    /* Snapshots write every page they map at once; populating the mapping
     * up front costs one kernel call instead of a fault per page. */
    return own_pages(size, size >= (1u << 20) ? MAP_POPULATE : 0);
}

static void unmap_own(void *p, size_t size);

void lc_os_free(void *p, size_t size) {
    if (!p || scratch_give(p)) return;
    cached_map out = map_cache_put(p, size);
    if (out.p) unmap_own(out.p, out.size);
}

static void unmap_own(void *p, size_t size) {
    own_slot *t = atomic_load_explicit(&own_table, memory_order_acquire);
    for (size_t i = 0, h = own_hash((uintptr_t)p); t && i < OWN_SLOTS; i++) {
        own_slot *s = &t[(h + i) & (OWN_SLOTS - 1)];
        uintptr_t cur = atomic_load_explicit(&s->start, memory_order_relaxed);
        if (cur == 0) break;
        if (cur != (uintptr_t)p) continue;
        atomic_store_explicit(&s->end, 0, memory_order_relaxed);
        atomic_store_explicit(&s->start, OWN_TOMB, memory_order_release);
        break;
    }
    munmap(p, size);
}

void *lc_os_reserve(size_t size) {
    return own_pages(size, MAP_NORESERVE);
}

void *lc_os_reserve_shared(size_t size) {
    return own_mapping(
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
        size);
}
