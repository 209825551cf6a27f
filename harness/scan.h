/* SPDX-License-Identifier: MIT */
/* scan.h: the conservative scan of the heap (reach.c): what is reachable
 * from which roots, and the roots themselves: the C runtime's data
 * (runtime_owned.c), regions the program registers (user_roots.c), and the
 * threads' stacks, registers and TLS (thread_roots.c). */
#ifndef LC_SCAN_H
#define LC_SCAN_H

#include "heap.h"
#include "thread.h"

/* Where a chain of references starts (reach.c). */
typedef enum lc_root_kind {
    LC_ROOT_GLOBAL,    /* writable data of a loaded object */
    LC_ROOT_TLS,       /* a thread's static TLS block of an object */
    LC_ROOT_STACK,     /* a thread's stack, from its stack pointer up */
    LC_ROOT_REGISTERS, /* a thread's registers, saved when it was captured */
    LC_ROOT_REGION,    /* registered with lc_root_register (module: its label) */
    LC_ROOT_TSD,       /* a thread's pthread_setspecific values */
    LC_ROOT_MAPPING,   /* anonymous memory the program mapped for itself */
} lc_root_kind;
typedef struct lc_root {
    lc_region r;
    uint8_t kind;
    bool leaked_thread; /* belongs to a leaked thread */
    int thread;         /* index in the check's thread list, -1 for the checking thread */
    pid_t tid;
    const char *module; /* globals and TLS: the object's path */
    uintptr_t base;     /* mappings: where the mapping starts */
} lc_root;

#define LC_GRAPH_NO_PARENT 0xffffffffu
/* A run of blocks with no large gap between them, and its page index. */
#define LC_MAX_CLUSTERS 64
typedef struct lc_cluster {
    uintptr_t lo, hi;
    size_t first, end; /* blocks [first, end) */
    unsigned shift;    /* page size */
    uint32_t *page;    /* first block at or after each page */
    size_t npages, page_bytes;
} lc_cluster;
/* The live blocks (sorted by address) with one mark byte each; with paths,
 * the holder each block was first reached from and where in it the
 * pointer sits. */
typedef struct lc_graph {
    const lc_block *all;
    size_t n;
    uint8_t *mark;
    uintptr_t lo, hi; /* no block outside */
    uint32_t *queue;
    size_t queue_bytes;
    uint32_t *parent, *offset, *depth; /* with paths */
    size_t path_bytes;
    lc_root *roots;
    size_t nroots, roots_cap;
    uintptr_t *copy; /* where memory read through the kernel lands */
    size_t copy_words;
    lc_region *readable; /* readable memory, merged and sorted (for blocks) */
    size_t nreadable, readable_bytes, readable_hit;
    bool incomplete; /* out of memory during a scan */
    lc_cluster clusters[LC_MAX_CLUSTERS];
    size_t nclusters;
} lc_graph;
int lc_graph_init(lc_graph *g, const lc_block *all, size_t n, uint8_t *mark, bool paths);
void lc_graph_free(lc_graph *g);
int lc_graph_add_root(lc_graph *g, const lc_root *r);
/* Set `bit` on every block reachable from roots [from, to) and not marked
 * with a bit of `stop`; exact: the roots and the blocks reached count only
 * pointers to the start of a block (the C runtime's ownership: a stale
 * word in a runtime block, an stdio buffer's unwritten bytes, must not take
 * a program's block for the runtime's through a pointer into its middle).
 * record: keep the parents (shortest paths). */
void lc_graph_mark(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop, bool exact,
                   bool record);
/* The same from every block whose flags include `flag`, exact. */
void lc_graph_mark_flagged(lc_graph *g, uint32_t flag, uint8_t bit, uint8_t stop);
/* Clear `bit`, then set it on everything reachable from roots [from, to)
 * (what one thread retains). */
void lc_graph_mark_retained(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop);
/* The program's own writable data (globals), as roots; returns the index
 * of the first. */
size_t lc_graph_add_globals(lc_graph *g);
/* Among blocks marked with no bit of `stop`: set indirect_bit on those that
 * other such blocks point to (valgrind's indirectly lost). */
void lc_graph_split_lost(lc_graph *g, uint8_t indirect_bit, uint8_t stop);
/* The chain that holds block k, from its root down: each step is the
 * holder (a root, or a block) and the offset of the pointer inside it. */
typedef struct lc_path_step {
    int root;   /* index in g->roots, or -1 */
    long block; /* index in g->all, or -1 */
    uint32_t offset;
} lc_path_step;
/* At most max steps: the root, then the holders nearest the block; *skipped
 * says how many holders between them were left out. */
int lc_graph_path(const lc_graph *g, size_t k, lc_path_step *out, int max, long *skipped);

/* The C runtime's writable data and this thread's TLS of it, as roots;
 * returns the index of the first (runtime_owned.c). */
size_t lc_runtime_add_roots(lc_graph *g);
/* The regions registered with lc_root_register, as roots (user_roots.c);
 * returns the index of the first. */
size_t lc_user_roots_add(lc_graph *g);
/* The anonymous private mappings the program made for itself (map_roots.c),
 * as roots: called once the graph holds the blocks, since a mapping that
 * holds one is malloc's. lc_map_roots_init runs on the main thread at
 * start-up, before the program maps anything: it notes the runtime's
 * start-up mapping, the one the main thread's control block lies in. */
void lc_map_roots_init(void);
size_t lc_map_roots_add(lc_graph *g);
/* Set `bit` on every block the C runtime owns: reachable (start pointers
 * only) from those roots [from, to), or allocated by it for itself, and not
 * marked with a bit of `stop`. -1 when the scan ran out of memory. */
int lc_runtime_owned(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop);
/* The pthread_setspecific values of the thread whose descriptor is tp, as
 * roots of the program; lc_runtime_tsd_probe finds where they sit (once,
 * at start-up; without it there are none, and the runtime owns them). */
void lc_runtime_tsd_probe(void);
void lc_runtime_add_tsd(lc_graph *g, uintptr_t tp, const lc_root *proto);
/* Whether every live block of seq >= min_seq is the C runtime's, decided
 * from the runtime's roots alone (start pointers only, a bounded walk); if
 * so they are flagged LC_BLOCK_RUNTIME. false means "not shown": the full
 * scan must decide. */
bool lc_runtime_owns_new(uint64_t min_seq);

/* Threads as roots of the heap scan (thread_roots.c). Live threads the
 * report does not name are numbered from LC_LIVE_THREAD_BASE in
 * lc_root.thread; -1 is the checking thread. */
#define LC_LIVE_THREAD_BASE 100000
typedef struct lc_live_thread {
    lc_capture cap;
    uintptr_t stack_hi, tp;
    char name[16];
} lc_live_thread;
typedef struct lc_thread_roots {
    lc_live_thread *live;
    size_t nlive, live_bytes;
    int uncaptured; /* threads whose stack or registers could not be read */
} lc_thread_roots;
/* The checking thread's registers (regs may be NULL), stack from `from` up
 * and TLS; with `others`, every other thread the report does not name,
 * captured now. */
void lc_thread_roots_live(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                          uintptr_t from, const lc_registers_at_entry *regs, bool others);
/* The stack, registers and TLS of the report's entry i. */
void lc_thread_roots_leaked(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                            size_t i);
void lc_thread_roots_free(lc_thread_roots *tr);
/* The pthread_setspecific values of the checking thread and of every live
 * thread lc_thread_roots_live captured. */
void lc_thread_roots_tsd(lc_graph *g, const lc_thread_roots *tr);

#endif
