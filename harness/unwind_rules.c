/* SPDX-License-Identifier: MIT */
/* unwind_rules.c: how to step from a return address to its caller, learned
 * from libunwind and shared by every process of a fork tree.
 *
 * Code built without frame pointers (the C runtime, Debian's libcheck) can be
 * walked only with its DWARF call-frame information, and libunwind's walk
 * costs microseconds a frame. Its caches die with the process, so a Check
 * suite in fork mode, whose every test is a new child allocating from the
 * same few framework frames, paid that full price in every test. Here each
 * return address the walks meet gets the rule libunwind applied there, in
 * the simple forms x86-64 code uses at a call site: the caller's stack
 * pointer (the canonical frame address, CFA) is the stack or the frame
 * pointer plus a constant, the return address sits just below the CFA, and
 * the frame pointer is either untouched or saved at a constant offset from
 * the CFA. The table lives in a shared mapping made at start-up, so what one
 * forked child learns, the next ones use.
 *
 * A rule is believed only after two walks agreed on it (the stack-pointer
 * form when the frame's size was the same both times, the frame-pointer
 * form otherwise, as in code that allocates on the stack), and a later walk
 * that disagrees retires it for good. A walk that meets an address with no
 * rule, a signal frame or a step that leaves the stack hands the whole
 * stack to libunwind, which teaches the table as it goes.
 *
 * A step reads only the thread's own stack, between the frame's stack
 * pointer and the stack's top, so a wrong rule (an object unloaded and
 * another loaded at its address) can cost a wrong frame until libunwind
 * next steps there and retires it, never a fault. */
#include "core.h"
#include "os.h"
#include "stacks.h"

#if defined(__x86_64__)
#define RULES_SLOTS (1u << 14) /* 256 KiB of address space, touched as used */
#define RULES_PROBES 16
#define FIRST_PLACE_PAGES 16u /* 64 KB, a fault-around window (below) */

enum {
    KIND_NONE,
    KIND_SEEN, /* observed once: not yet used */
    KIND_SP,   /* CFA = sp + sp_off */
    KIND_BP,   /* CFA = bp + bp_off */
    KIND_SEEN_OUTERMOST,
    KIND_OUTERMOST, /* libunwind ends the stack here */
    KIND_RETIRED,   /* walks disagreed: always libunwind */
};

#define BP_NONE 0x7fff /* bp_off: the frame pointer was not near the CFA */
#define BP_KEPT 0x7fff /* bp_slot: the frame pointer is left as it was */

/* kind:4 | sp_off:28 | bp_off:16 | bp_slot:16, offsets from the CFA. */
typedef struct rule {
    unsigned kind;
    uint32_t sp_off;
    int32_t bp_off, bp_slot;
} rule;

typedef struct slot {
    _Atomic uint64_t pc;
    _Atomic uint64_t rule;
} slot;

/* The shared mapping: the slots and how many of them the whole fork tree
 * has claimed (a count kept per process would let each child go on
 * learning into a table its siblings had filled). Zeroed by mmap. */
typedef struct rules_table {
    slot slots[RULES_SLOTS]; /* first: each page of them starts a page */
    _Atomic uint32_t claimed;
} rules_table;
#define RULES_MAX_CLAIMED (RULES_SLOTS * 3 / 4)

/* Read by every step a rule makes: with the allocation path's settings. */
LC_HOT static rules_table *shared;
/* The first slot of the table's first aligned 64 KB (the mapping is only
 * page-aligned): where every rule's first place is (look_up). Set with the
 * table, before any fork. */
LC_HOT static uint32_t first_window;
/* The walks the rules finished on this thread: no shared write on the
 * allocation path. */
static LC_TLS uint64_t walks;

uint64_t lc_unwind_rules_walks(void) {
    return walks;
}

static uint64_t pack(rule r) {
    return (uint64_t)r.kind | (uint64_t)(r.sp_off & 0xfffffff) << 4 |
           (uint64_t)(uint16_t)r.bp_off << 32 | (uint64_t)(uint16_t)r.bp_slot << 48;
}

static rule unpack(uint64_t w) {
    return (rule){.kind = w & 15,
                  .sp_off = (uint32_t)(w >> 4) & 0xfffffff,
                  .bp_off = (int16_t)(w >> 32),
                  .bp_slot = (int16_t)(w >> 48)};
}

void lc_unwind_rules_init(void) {
    /* Never freed: lc_os_free would hand a shared mapping to later private
     * reservations. */
    shared = lc_os_reserve_shared(sizeof *shared);
    if (shared) {
        uintptr_t window = FIRST_PLACE_PAGES * 4096u;
        uintptr_t skip = (window - (uintptr_t)shared->slots % window) % window;
        first_window = (uint32_t)(skip / sizeof(slot));
    }
}

static bool unclaimed_left(void) {
    return atomic_load_explicit(&shared->claimed, memory_order_relaxed) < RULES_MAX_CLAIMED;
}

bool lc_unwind_rules_room(void) {
    return shared && unclaimed_left();
}

/* A rule has a few places, each a probe run inside one page of the table.
 * The first is in the page chosen by the 64 KB of code the address lies in,
 * among the table's first 64 KB: the frames of one walk mostly lie in a
 * few such regions, so a forked child's walks read a few pages of the
 * table, not one per frame, and those pages lie in one window of the
 * kernel's fault-around (fork does not copy a shared mapping's page
 * tables, so a child maps each page it reads by a fault, and a fault maps
 * the pages around it in the same aligned 64 KB). Spread over the whole
 * table, a forked Check test's walks took three such faults, not one. The
 * others, for an address whose first run is full (dense code fills its
 * page), are in pages chosen by the address alone. No rule ever leaves its
 * slot, so a run with an empty slot ends a lookup: the address is in no
 * later place either. */
#define SLOTS_PER_PAGE ((uint32_t)(4096u / sizeof(slot)))
#define RULES_PAGES (RULES_SLOTS / SLOTS_PER_PAGE)
#define RULES_PLACES 4

static inline uint64_t mix(uint64_t x) {
    return x * 0x9E3779B97F4A7C15ull;
}

/* The first slot of place `which` of pc's page (a run goes on within it). */
static uint32_t page_of(uintptr_t pc, uint32_t which) {
    if (which == 0)
        return first_window + (uint32_t)(mix(pc >> 16) >> 32) % FIRST_PLACE_PAGES * SLOTS_PER_PAGE;
    return (uint32_t)(mix(pc + which) >> 32) % RULES_PAGES * SLOTS_PER_PAGE;
}

/* The slot of pc, claimed when `claim` and there is room; NULL when pc has
 * none. Every place starts at the same offset in its page. */
LC_CHILD_CODE static slot *look_up(uintptr_t pc, bool claim) {
    uint32_t start = (uint32_t)(mix(pc) >> (64 - 8)) % SLOTS_PER_PAGE;
    for (uint32_t which = 0; which < RULES_PLACES; which++) {
        uint32_t page = page_of(pc, which);
        for (uint32_t i = 0, k = start; i < RULES_PROBES; i++, k = (k + 1) % SLOTS_PER_PAGE) {
            slot *s = &shared->slots[page + k];
            uint64_t at = atomic_load_explicit(&s->pc, memory_order_acquire);
            if (!at && claim && unclaimed_left() &&
                atomic_compare_exchange_strong(&s->pc, &at, pc)) {
                atomic_fetch_add_explicit(&shared->claimed, 1, memory_order_relaxed);
                return s;
            }
            if (at == pc) return s;
            if (!at) return NULL; /* not here, or the table is as full as it may get */
        }
    }
    return NULL;
}

static slot *find(uintptr_t pc) {
    return look_up(pc, false);
}

static slot *find_or_claim(uintptr_t pc) {
    return look_up(pc, true);
}

/* What a second observation makes of the first. */
static rule merge(rule had, rule seen) {
    switch (had.kind) {
    case KIND_NONE:
        return seen;
    case KIND_SEEN:
        if (seen.kind != KIND_SEEN || seen.bp_slot != had.bp_slot) break;
        if (seen.sp_off == had.sp_off) return (had.kind = KIND_SP, had);
        if (seen.bp_off == had.bp_off && had.bp_off != BP_NONE) return (had.kind = KIND_BP, had);
        break;
    case KIND_SP:
        if (seen.kind == KIND_SEEN && seen.sp_off == had.sp_off && seen.bp_slot == had.bp_slot)
            return had;
        break;
    case KIND_BP:
        if (seen.kind == KIND_SEEN && seen.bp_off == had.bp_off && seen.bp_slot == had.bp_slot)
            return had;
        break;
    case KIND_SEEN_OUTERMOST:
    case KIND_OUTERMOST:
        if (seen.kind == KIND_SEEN_OUTERMOST) return (had.kind = KIND_OUTERMOST, had);
        break;
    default:
        break;
    }
    return (rule){.kind = KIND_RETIRED};
}

static void record(uintptr_t pc, rule seen) {
    slot *s = find_or_claim(pc);
    if (!s) return;
    uint64_t old = atomic_load_explicit(&s->rule, memory_order_acquire);
    for (;;) {
        uint64_t next = pack(merge(unpack(old), seen));
        if (next == old || atomic_compare_exchange_weak_explicit(
                               &s->rule, &old, next, memory_order_release, memory_order_acquire))
            return;
    }
}

void lc_unwind_rules_learn(const lc_frame_regs *at, const lc_frame_regs *caller, uintptr_t bp_loc) {
    if (!shared || !at->pc) return;
    uintptr_t cfa = caller->sp;
    if (cfa <= at->sp || cfa - at->sp >= (1u << 28) || (cfa & 7)) return;
    /* Only the return-address form: a caller found any other way (a signal
     * frame's saved context) is not a rule for this address. */
    if (lc_unwind_load_word((const uintptr_t *)cfa - 1) != caller->pc) return;
    rule r = {.kind = KIND_SEEN, .sp_off = (uint32_t)(cfa - at->sp)};
    intptr_t bp_off = (intptr_t)(cfa - at->bp);
    r.bp_off = bp_off > -0x7fff && bp_off < 0x7fff ? (int32_t)bp_off : BP_NONE;
    if (bp_loc >= at->sp && bp_loc < cfa)
        r.bp_slot = (int32_t)((intptr_t)bp_loc - (intptr_t)cfa);
    else if (caller->bp == at->bp)
        r.bp_slot = BP_KEPT;
    else
        return; /* kept in another register: not a form this walk follows */
    record(at->pc, r);
}

void lc_unwind_rules_learn_outermost(uintptr_t pc) {
    if (shared && pc) record(pc, (rule){.kind = KIND_SEEN_OUTERMOST});
}

LC_CHILD_CODE int lc_unwind_rules_walk(uintptr_t *pcs, int max, lc_frame_regs at,
                                       lc_rules_end *end) {
    *end = LC_RULES_STUCK;
    uintptr_t lo, hi;
    if (!shared || max <= 0 || !lc_os_thread_stack(&lo, &hi) || hi < 16) return 0;
    int n = 0;
    slot *s = find(at.pc);
    for (;;) {
        pcs[n++] = at.pc;
        if (n == max) break;
        rule r = s ? unpack(atomic_load_explicit(&s->rule, memory_order_acquire))
                   : (rule){.kind = KIND_NONE};
        if (r.kind == KIND_OUTERMOST) break;
        if (r.kind != KIND_SP && r.kind != KIND_BP) {
            if (r.kind != KIND_RETIRED) *end = LC_RULES_UNTAUGHT;
            return n;
        }
        uintptr_t cfa =
            r.kind == KIND_SP ? at.sp + r.sp_off : at.bp + (uintptr_t)(intptr_t)r.bp_off;
        if (cfa <= at.sp || cfa > hi || (cfa & 7) || at.sp < lo) return n;
        uintptr_t ret = lc_unwind_load_word((const uintptr_t *)cfa - 1);
        uintptr_t bp = at.bp;
        if (r.bp_slot != BP_KEPT) {
            uintptr_t loc = cfa + (uintptr_t)(intptr_t)r.bp_slot;
            if (loc < at.sp) return n;
            bp = lc_unwind_load_word((const uintptr_t *)loc);
        }
        if (!ret) break; /* where libunwind's walk ends too */
        /* An address with a rule was a return address libunwind stepped
         * from; any other must at least be code. */
        s = find(ret);
        if (!s && !lc_os_pc_in_code(ret)) return n;
        at = (lc_frame_regs){.pc = ret, .sp = cfa, .bp = bp};
    }
    *end = LC_RULES_COMPLETE;
    walks++;
    return n;
}
#else
uint64_t lc_unwind_rules_walks(void) {
    return 0;
}
void lc_unwind_rules_init(void) {}
bool lc_unwind_rules_room(void) {
    return false;
}
void lc_unwind_rules_learn(const lc_frame_regs *at, const lc_frame_regs *caller, uintptr_t bp_loc) {
    (void)at, (void)caller, (void)bp_loc;
}
void lc_unwind_rules_learn_outermost(uintptr_t pc) {
    (void)pc;
}
LC_CHILD_CODE int lc_unwind_rules_walk(uintptr_t *pcs, int max, lc_frame_regs at,
                                       lc_rules_end *end) {
    (void)pcs, (void)max, (void)at;
    *end = LC_RULES_STUCK;
    return 0;
}
#endif
