/* SPDX-License-Identifier: MIT */
/* core.h: what every file of the library shares.
 *
 * The settings read from the environment once at start-up (core.c), the
 * per-thread re-entry depth that tells the library's own allocations from
 * the program's, and the few attributes the tracker's hot paths rely on.
 * Nothing here calls another module. */
#ifndef LC_CORE_H
#define LC_CORE_H

#include "leakcheck.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/types.h>

/* Initial-exec TLS never calls __tls_get_addr, which may call malloc. */
#define LC_TLS __thread __attribute__((tls_model("initial-exec")))
#define LC_UNUSED __attribute__((unused))
#define LC_LIKELY(x) __builtin_expect(!!(x), 1)
#define LC_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* State that every fork writes on both sides (the locks the fork handlers
 * take and release, the child's baseline and process state), and what a
 * check in a forked test writes besides (its locks, its scratch lists):
 * gathered in one section, so that after a fork the copy-on-write faults
 * for all of it are a page or two, not one page for each variable of each
 * module. */
#define LC_FORK_STATE __attribute__((section("lc_fork_state")))
/* What every malloc and free reads (settings, the fault switch, the
 * linker's code range, the header store's mode): gathered in one section,
 * so that the allocation path needs one entry of the TLB for all of it. A
 * program that walks a heap larger than the TLB covers evicts the entries
 * of whatever pages the path touches, and each costs a page walk on the
 * next call (bench/README.md). */
#define LC_HOT __attribute__((section("lc_hot")))
/* The same for the code of that path: one page of instructions, not one
 * per module it calls into. */
#define LC_HOT_CODE __attribute__((hot))
/* The code a forked child runs on its own behalf (the fork handlers, the
 * baseline they take) and the allocation path's colder helpers: placed
 * beside the hot code. The kernel maps an object's code into a child 64 KB
 * at a time, around each page fault, and the hot code's window is one the
 * child faults in anyway; scattered, these cost a forked test a fault for
 * each further window (about 20 microseconds on a virtual machine). */
#define LC_CHILD_CODE __attribute__((section(".text.hot.lc_child")))
/* For the allocation path's steps: each is a function of its own to read,
 * and one body to run. Flattened so, with the store's publish made a
 * jump, malloc and free at depth 0 cost 0.87 of what they did in five
 * call levels (bench/README.md, "The depth-0 path taken apart"). */
#define LC_INLINE static inline __attribute__((always_inline))

/* A scan does not go through the sanitizers' instrumentation: it reads
 * whole stacks and data segments word by word, across their redzones. */
#define LC_NO_SANITIZE __attribute__((no_sanitize_address, no_sanitize_thread))

#define LC_MAX_DEPTH 64
#define LC_DEFAULT_DEPTH 16

/* ------------------------------------------------------------ configuration */

typedef struct lc_config {
    int stack_depth;       /* frames kept per allocation; 0 disables capture */
    bool unwind_dwarf;     /* always unwind with libunwind (no frame pointers) */
    double settle_seconds; /* built-in settle window (LEAKCHECK_SETTLE is read
                              at every check: lc_config_settle) */
    bool quiet;            /* LEAKCHECK_QUIET: no reports printed */
    bool under_valgrind;
    bool valgrind_leak_check; /* memcheck as a second engine: on under valgrind unless
                                 LEAKCHECK_VALGRIND_LEAK_CHECK=0|off (=full: its records) */
    bool retention_graph;     /* process mode with LEAKCHECK_DOT: checks build the graph */
} lc_config;

extern lc_config lc_cfg;
/* Read the LEAKCHECK_* settings into lc_cfg (core.c); once, at start-up. */
void lc_config_read(void);
/* The settle window a check uses when its options give none: LEAKCHECK_SETTLE
 * as it is now, or the built-in one. 0, or -1 with err set when malformed. */
int lc_config_settle(double *out, char *err, size_t errlen);

/* ------------------------------------------------ words shared by threads */

/* Read-modify-write of a word other threads may also write. A process with
 * one thread (glibc's own test, which never goes back) races only with its
 * signal handlers, which interrupt between two instructions: one that
 * reads, modifies and writes memory without the bus lock is atomic to
 * them. A locked one is not free: it waits for every load before it, and
 * the program's own cache misses (the block it is about to free) then stop
 * overlapping with the allocator's work (bench/README.md). */
extern const char *lc_single_threaded; /* &__libc_single_threaded, kept in LC_HOT */
static inline bool lc_solo(void) {
    return *lc_single_threaded;
}

static inline void lc_word_or(_Atomic uint64_t *w, uint64_t bits) {
#if defined(__x86_64__)
    if (lc_solo()) {
        __asm__ volatile("orq %1, %0" : "+m"(*(uint64_t *)w) : "r"(bits) : "memory");
        return;
    }
#endif
    atomic_fetch_or_explicit(w, bits, memory_order_release);
}

/* Clears bits; returns whether any was set. */
static inline bool lc_word_clear(_Atomic uint64_t *w, uint64_t bits) {
#if defined(__x86_64__)
    if (lc_solo()) {
        bool was = (*(volatile uint64_t *)w & bits) != 0;
        __asm__ volatile("andq %1, %0" : "+m"(*(uint64_t *)w) : "r"(~bits) : "memory");
        return was;
    }
#endif
    return (atomic_fetch_and_explicit(w, ~bits, memory_order_relaxed) & bits) != 0;
}

/* Sets *w to v unless it is at least `floor` (it was `seen`): another
 * thread, or a signal handler of this one, may raise it meanwhile, and it
 * never goes down. Alone, a compare-and-swap without the bus lock: one
 * instruction, which a signal cannot split. */
static inline void lc_word_raise(_Atomic uint64_t *w, uint64_t seen, uint64_t floor, uint64_t v) {
#if defined(__x86_64__)
    if (lc_solo()) {
        while (seen < floor) {
            uint64_t was = seen;
            __asm__ volatile("cmpxchgq %2, %1"
                             : "+a"(seen), "+m"(*(uint64_t *)w)
                             : "r"(v)
                             : "memory", "cc");
            if (seen == was) return;
        }
        return;
    }
#endif
    while (seen < floor && !atomic_compare_exchange_weak_explicit(w, &seen, v, memory_order_relaxed,
                                                                  memory_order_relaxed))
        ;
}

/* Adds with one instruction, not a locked one: for a word only this
 * thread writes (a signal handler of the thread cannot split it). */
static inline void lc_word_add_own(_Atomic uint64_t *w, uint64_t v) {
#if defined(__x86_64__)
    __asm__ volatile("addq %1, %0" : "+m"(*(uint64_t *)w) : "r"(v) : "memory");
#else
    atomic_fetch_add_explicit(w, v, memory_order_relaxed);
#endif
}

static inline void lc_word_add(_Atomic uint64_t *w, uint64_t v) {
#if defined(__x86_64__)
    if (lc_solo()) {
        __asm__ volatile("addq %1, %0" : "+m"(*(uint64_t *)w) : "r"(v) : "memory");
        return;
    }
#endif
    atomic_fetch_add_explicit(w, v, memory_order_relaxed);
}

/* ------------------------------------------------------------- re-entry */

/* Non-zero while the library runs its own code (symbolizing, reporting):
 * allocations made then are the library's and are not tracked. */
extern LC_TLS int lc_self_depth;
static inline void lc_self_enter(void) {
    lc_self_depth++;
}
static inline void lc_self_leave(void) {
    lc_self_depth--;
}

#endif
