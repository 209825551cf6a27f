/* internal.h: declarations shared by the library's own files.
 *
 * The library is split by concern: the OS layer (prim_*.c), the allocation
 * interposers (alloc_hooks.c), the live-block table (heap_table.c), the stack
 * table (stack_table.c), stack capture (unwind.c), symbolization
 * (symbolize.c), snapshots and diffs (snapshot.c), the runtime-ownership scan
 * (runtime_owned.c), threads (threads*.c), collection points (collect.c),
 * checks and reports (assertions/). This header is the one place where they
 * meet; nothing here is part of the public API. */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include "leakcheck.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Initial-exec TLS never calls __tls_get_addr, which may call malloc. */
#define LC_TLS __thread __attribute__((tls_model("initial-exec")))
#define LC_UNUSED __attribute__((unused))
#define LC_LIKELY(x) __builtin_expect(!!(x), 1)
#define LC_UNLIKELY(x) __builtin_expect(!!(x), 0)

struct lc_buf;

#define LC_MAX_DEPTH 64
#define LC_DEFAULT_DEPTH 16

/* ------------------------------------------------------------ configuration */

typedef struct lc_config {
    int stack_depth;       /* frames kept per allocation; 0 disables capture */
    bool unwind_dwarf;     /* always unwind with libunwind (no frame pointers) */
    double settle_seconds; /* thread settle window */
    bool quiet;            /* LEAKCHECK_QUIET: no reports printed */
    bool under_valgrind;
    bool valgrind_leak_check; /* memcheck as a second engine: on under valgrind unless
                                 LEAKCHECK_VALGRIND_LEAK_CHECK=0|off (=full: its records) */
    bool retention_graph;     /* process mode with LEAKCHECK_DOT: checks build the graph */
} lc_config;

extern lc_config lc_cfg;
void lc_init(void);

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

/* A lock that is safe to take inside malloc: no allocation, no futex table
 * registration, and cheap when uncontended. */
typedef struct lc_spinlock {
    atomic_int held;
} lc_spinlock;
void lc_spin_lock(lc_spinlock *l);
static inline void lc_spin_unlock(lc_spinlock *l) {
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* ---------------------------------------------------------------- OS layer */

void *lc_os_alloc(size_t size); /* zeroed pages, never from malloc */
void lc_os_free(void *p, size_t size);
void *lc_os_reserve(size_t size); /* address space, committed lazily */
/* Copy len bytes of this process's memory at src; returns how many could be
 * read (0 when src is unmapped). */
size_t lc_os_read_self(void *dst, uintptr_t src, size_t len);
pid_t lc_os_tid(void);            /* cached per thread */
void lc_os_tid_reset(void);       /* after fork */
uint64_t lc_os_now_ns(void);      /* CLOCK_MONOTONIC */
void lc_os_sleep_ns(uint64_t ns);
/* Bounds of the calling thread's stack; false when unknown. */
bool lc_os_thread_stack(uintptr_t *lo, uintptr_t *hi);

/* Loaded objects, through dl_iterate_phdr. */
typedef struct lc_region {
    uintptr_t start, end;
} lc_region;
typedef enum lc_module_kind {
    LC_MODULE_RUNTIME, /* libc, the dynamic linker, libgcc_s, libstdc++ ... */
    LC_MODULE_USER,
} lc_module_kind;
typedef void (*lc_region_fn)(const lc_region *r, lc_module_kind kind, const char *module,
                             void *arg);
/* Calls fn for every writable segment of every loaded object. */
void lc_os_for_each_data_region(lc_region_fn fn, void *arg);
/* Calls fn for the calling thread's TLS block of every object that has one.
 * A static TLS block lies at the same distance from every thread's thread
 * pointer (pthread_self()), which finds it in other threads. */
void lc_os_for_each_tls_block(lc_region_fn fn, void *arg);
/* Text (executable) range of the C runtime, whose code has no frame
 * pointers; filled at init. */
bool lc_os_pc_in_runtime(uintptr_t pc);
bool lc_os_pc_in_self(uintptr_t pc);
/* Code of the dynamic linker: what it allocates is its own (link maps,
 * scope lists, TLS descriptors), wherever it keeps the pointer. */
bool lc_os_pc_in_linker(uintptr_t pc);
void lc_os_modules_refresh(void);

/* Threads, from /proc/self/task (no ptrace). */
typedef struct lc_task_info {
    char state;           /* R, S, D, T, t, Z, ... */
    long syscall;         /* the system call it is in, -1 when running */
    char comm[16];        /* its name */
    uint64_t sig_blocked; /* blocked-signal mask */
} lc_task_info;
bool lc_os_task_exists(pid_t tid);
bool lc_os_task_info(pid_t tid, lc_task_info *out);
size_t lc_os_list_tasks(pid_t *out, size_t cap);
int lc_os_signal_task(pid_t tid, int sig);
const char *lc_os_syscall_name(long nr);

/* ------------------------------------------------------------- stacks */

typedef uint32_t lc_stack_id; /* 0: no stack recorded */

/* Capture the stack of an allocation: `frame` is the interposer's frame
 * address and `caller` its return address (the first frame reported). */
int lc_unwind(uintptr_t *pcs, int max, void *frame, uintptr_t caller);
/* Capture from a signal handler (thread dumps): full DWARF unwinding. */
int lc_unwind_here(uintptr_t *pcs, int max, int skip);

lc_stack_id lc_stack_intern(const uintptr_t *pcs, int depth);
int lc_stack_get(lc_stack_id id, const uintptr_t **pcs);
void lc_stack_account(lc_stack_id id, size_t bytes);
void lc_stack_totals(lc_stack_id id, uint64_t *objects, uint64_t *bytes);
uint32_t lc_stack_count(void);
void lc_stack_lock_all(void);
void lc_stack_unlock_all(void);

/* ------------------------------------------------------------- symbols */

/* Symbolize a code address (pc is used as given; pass pc - 1 for return
 * addresses). Strings are cached for the life of the process. */
int lc_symbolize_pc(uintptr_t pc, lc_frame *f);
/* The first frame of a stack that is not inside the C runtime's allocation
 * family (so strdup's caller, not strdup, is named as the site). */
int lc_stack_site_frame(lc_stack_id id, lc_frame *f);
/* The variable at a data address of `module` (a name as
 * lc_os_for_each_data_region gives it; static variables too): its name, the
 * offset into it, and the file and line that declare it when DWARF says.
 * With tls, addr is an offset into the module's TLS block instead. */
typedef struct lc_data_sym {
    const char *name; /* NULL when unknown */
    uintptr_t offset;
    const char *file;
    int line;
    const char *module;
} lc_data_sym;
int lc_symbolize_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out);
void lc_symbolize_lock(void);
void lc_symbolize_unlock(void);

/* ------------------------------------------------------------- live heap */

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
static inline size_t lc_block_size(const lc_block *b) {
    return b->size_stack >> 24;
}
static inline lc_stack_id lc_block_stack(const lc_block *b) {
    return b->size_stack & 0xffffff;
}

void lc_heap_insert(uintptr_t addr, size_t size, lc_stack_id stack, uint32_t flags);
/* Start loading addr's slot: the stack capture that follows hides the
 * cache miss. A hint only; a table that grows meanwhile makes it useless,
 * never wrong. */
void lc_heap_prefetch(uintptr_t addr);
/* The live block at addr, if tracked. */
bool lc_heap_lookup(uintptr_t addr, lc_block *out);
/* Remove addr; returns false when it was not tracked. */
bool lc_heap_remove(uintptr_t addr);
/* Copy every live block with seq >= min_seq into out (capacity cap);
 * returns the number of live blocks that matched (may exceed cap). */
size_t lc_heap_copy(lc_block *out, size_t cap, uint64_t min_seq);
/* The same while the caller holds every shard (lc_heap_lock_all): no block
 * can be freed, so a scan of the copied blocks reads live memory only. */
size_t lc_heap_copy_held(lc_block *out, size_t cap, uint64_t min_seq);
/* Set a flag on the live block at addr (every shard held). A block the scan
 * found owned by the C runtime is flagged so, and later checks need not
 * scan again for it. */
void lc_heap_flag_held(uintptr_t addr, uint32_t flag);
/* Live blocks with seq >= min_seq and none of without_flags. */
size_t lc_heap_count_new(uint64_t min_seq, uint32_t without_flags);
size_t lc_heap_live_count(void);
uint64_t lc_heap_next_seq(void);
/* Start a new sequence epoch: blocks allocated from now on get numbers at
 * least the returned value. */
uint64_t lc_heap_new_epoch(void);
void lc_heap_lock_all(void);
void lc_heap_unlock_all(void);
size_t lc_heap_table_bytes(void);

/* Per-thread flag: allocations made while set are owned by the C runtime
 * (the thread library's bookkeeping inside pthread_create). */
extern LC_TLS int lc_runtime_alloc_depth;

/* ------------------------------------------------------------- snapshots */

struct lc_thread_snap;
struct lc_snapshot {
    lc_block *blocks; /* sorted by sequence number */
    size_t n;
    size_t map_bytes;
    size_t live_bytes;
    uint32_t nstacks;
    uint64_t *stack_totals; /* [2*nstacks]: cumulative objects, bytes */
    size_t totals_bytes;
    struct lc_thread_snap *threads;
};

/* Sort blocks by address (radix sort, no allocation beyond scratch). */
void lc_blocks_sort_by_addr(lc_block *b, size_t n);
void lc_blocks_sort_by_seq(lc_block *b, size_t n);
/* Sort v by its bits [from_bit, from_bit + bits), stably, with n words of
 * scratch. */
void lc_sort_u64(uint64_t *v, uint64_t *scratch, size_t n, int from_bit, int bits);

/* -------------------------------------------------- reachability graph */

/* A scan does not go through the sanitizers' instrumentation: it reads
 * whole stacks and data segments word by word, across their redzones. */
#define LC_NO_SANITIZE __attribute__((no_sanitize_address, no_sanitize_thread))

/* Where a chain of references starts (reach.c). */
typedef enum lc_root_kind {
    LC_ROOT_GLOBAL,    /* writable data of a loaded object */
    LC_ROOT_TLS,       /* a thread's static TLS block of an object */
    LC_ROOT_STACK,     /* a thread's stack, from its stack pointer up */
    LC_ROOT_REGISTERS, /* a thread's registers, saved when it was captured */
    LC_ROOT_REGION,    /* registered with lc_root_register (module: its label) */
} lc_root_kind;
typedef struct lc_root {
    lc_region r;
    uint8_t kind;
    bool leaked_thread; /* belongs to a leaked thread */
    int thread;         /* index in the check's thread list, -1 for the checking thread */
    pid_t tid;
    const char *module; /* globals and TLS: the object's path */
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
    uintptr_t *copy; /* valgrind scratch */
    size_t copy_words;
    bool incomplete; /* out of memory during a scan */
    lc_cluster clusters[LC_MAX_CLUSTERS];
    size_t nclusters;
} lc_graph;
int lc_graph_init(lc_graph *g, const lc_block *all, size_t n, uint8_t *mark, bool paths);
void lc_graph_free(lc_graph *g);
int lc_graph_add_root(lc_graph *g, const lc_root *r);
/* Set `bit` on every block reachable from roots [from, to) and not marked
 * with a bit of `stop`; exact: the roots count only pointers to the start
 * of a block. record: keep the parents (shortest paths). */
void lc_graph_mark(lc_graph *g, size_t from, size_t to, uint8_t bit, uint8_t stop, bool exact,
                   bool record);
/* The same from every block whose flags include `flag`. */
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
/* Set `bit` on every block the C runtime owns: reachable (start pointers
 * only) from those roots [from, to), or allocated by it for itself. -1
 * when the scan ran out of memory. */
int lc_runtime_owned(lc_graph *g, size_t from, size_t to, uint8_t bit);

/* ------------------------------------------------------------- threads */

/* The registry (threads.c) records every thread the program starts; the
 * checker (thread_check.c) captures, judges and reports them. */
#include <pthread.h>

#define LC_MAX_THREADS 4096

typedef struct lc_thread_rec {
    int used;
    int adopted; /* not started through pthread_create: judged via /proc */
    int ignored; /* alive at lc_ignore_current() */
    int internal; /* the library's own (the timeout watchdog): never reported */
    int detached;
    int exited; /* the start routine returned or the thread called
                   pthread_exit; set without the registry lock */
    int started;
    /* Retired (joined, or detached and exited) while the kernel may still
     * list the thread's task: keeps the /proc comparison from taking that
     * task for a thread the library never saw start. Cleared once the task
     * is gone from /proc. */
    int lingering;
    uint64_t id; /* creation order, compared with the baseline */
    pthread_t handle;
    pid_t tid;
    char name[16]; /* the name at exit (live threads are read from /proc) */
    uintptr_t start_routine;
    uintptr_t start_arg; /* disguised like block addresses */
    lc_stack_id created_by;
    uint64_t created_ns, exited_ns;
    uintptr_t stack_lo, stack_hi;
    const char *wait_kind; /* declared with lc_thread_wait_begin */
    uintptr_t wait_object; /* disguised like block addresses */
    uint64_t wait_since_ns;
} lc_thread_rec;

extern lc_thread_rec lc_thread_recs[LC_MAX_THREADS];

void lc_threads_lock(void);
void lc_threads_unlock(void);
lc_thread_rec *lc_thread_self_rec(void);
bool lc_threads_is_new(const lc_thread_rec *r);
bool lc_threads_task_is_new(pid_t tid);

/* Stacks of other threads, captured with a signal (thread_capture.c). */
enum { LC_CAPTURE_OK, LC_CAPTURE_NO_ANSWER, LC_CAPTURE_SIGNAL_BLOCKED, LC_CAPTURE_GONE };
#define LC_MAX_REGS 34
typedef struct lc_capture {
    pid_t tid;
    int status;
    int depth;
    int nregs;
    uintptr_t sp;
    uintptr_t pcs[LC_MAX_DEPTH];
    uintptr_t sps[LC_MAX_DEPTH]; /* each frame's stack pointer (0: unknown) */
    uintptr_t regs[LC_MAX_REGS]; /* general registers at the interruption */
} lc_capture;
void lc_capture_stacks(lc_capture *c, size_t n);
const char *lc_capture_status_text(int status);
int lc_capture_signal(void);
/* Return address of the public entry point the calling thread is in, so
 * that its own captured stack starts at the program's frame. */
extern LC_TLS uintptr_t lc_api_return;
void lc_threads_init(void);
void lc_threads_after_fork_child(void);
void lc_threads_baseline(void);
/* Wait up to `settle` seconds after the first look for threads created
 * after the baseline to end; returns the leaked ones, freed with
 * lc_thread_report_free. */
typedef struct lc_thread_report lc_thread_report;
lc_thread_report *lc_threads_check(const lc_options *opts, double settle);
void lc_thread_report_free(lc_thread_report *r);
size_t lc_thread_report_count(const lc_thread_report *r);
void lc_thread_report_text(const lc_thread_report *r, struct lc_buf *out, int top);
void lc_thread_report_json(const lc_thread_report *r, struct lc_buf *out);
void lc_thread_report_fill(const lc_thread_report *r, lc_result *res);
/* Stacks and saved registers of the threads a report names, as regions to
 * scan (two per thread); and those of entry i alone. */
size_t lc_thread_report_stacks(const lc_thread_report *r, lc_region *out, size_t cap);
size_t lc_thread_report_stack_of(const lc_thread_report *r, size_t i, lc_region out[2]);
/* Entry i's capture (stack, stack pointers, registers), the top of its
 * stack (0 when unknown) and a one-line label:
 * `thread 4242 "worker-1" [blocked, chan receive]`. */
const lc_capture *lc_thread_report_capture(const lc_thread_report *r, size_t i);
uintptr_t lc_thread_report_stack_top(const lc_thread_report *r, size_t i);
void lc_thread_report_label(const lc_thread_report *r, size_t i, char *out, size_t len);

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
/* The checking thread's callee-saved registers as its caller had them when
 * it entered the library (unwind.c): a value the program keeps only in
 * such a register is a root. */
typedef struct lc_registers_at_entry {
    uintptr_t callee_saved[16];
    int n;
} lc_registers_at_entry;
int lc_unwind_callee_saved(uintptr_t *out, int max, int skip);
/* The checking thread's registers (regs may be NULL), stack from `from` up
 * and TLS; with `others`, every other thread the report does not name,
 * captured now. */
void lc_thread_roots_live(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                          uintptr_t from, const lc_registers_at_entry *regs, bool others);
/* The stack, registers and TLS of the report's entry i. */
void lc_thread_roots_leaked(lc_graph *g, lc_thread_roots *tr, const lc_thread_report *leaked,
                            size_t i);
void lc_thread_roots_free(lc_thread_roots *tr);

/* ------------------------------------------------------------- buffers */

/* A growing text buffer allocated untracked. */
typedef struct lc_buf {
    char *data;
    size_t len, cap;
    bool failed;
} lc_buf;
void lc_buf_printf(lc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lc_buf_json_str(lc_buf *b, const char *s);
void lc_buf_free(lc_buf *b);
/* "1.5 KiB" style; returns out. */
const char *lc_fmt_bytes(long long bytes, char *out, size_t len);

/* ------------------------------------------------------------- budgets */

typedef struct lc_budget {
    long long bytes, objects, threads; /* -1: unlimited */
} lc_budget;
/* Parse "bytes=1M,objects=10,threads=0" into *b, overriding only the
 * fields named. Returns 0, or -1 with a message naming the bad part. */
int lc_budget_parse(const char *text, lc_budget *b, char *err, size_t errlen);
void lc_budget_format(const lc_budget *b, char *out, size_t len);

/* ------------------------------------------------------------- collection */

void lc_collect_run_hooks(void);

/* Process mode (`leakcheck run`): the check at exit. Reachable blocks
 * count only when strict. */
void lc_process_mode_init(void);
int lc_verify_process(const lc_options *opts, lc_result *res, bool strict);
/* The last check's retention paths as a Graphviz graph. */
const char *lc_last_report_dot(void);

/* Under valgrind, memcheck as a second engine (collect.c). With out NULL:
 * a quiet memcheck search whose totals become the baseline (called at every
 * baseline and fork). A check's own search runs in lc_valgrind_report. */
typedef struct lc_valgrind_counts {
    unsigned long leaked_bytes, dubious_bytes, leaked_blocks, dubious_blocks;
} lc_valgrind_counts;
void lc_valgrind_leak_check(lc_valgrind_counts *out);
/* The valgrind engine's part of a check (collect.c): runs memcheck's search,
 * judges its definitely-lost growth since the baseline against the budget
 * (sets *leak when over), and writes its figures beside the harness's own
 * lost objects and bytes, in text and as the JSON member "valgrind", saying
 * which engine found what and whether they agree. Nothing when the engine
 * is off. */
void lc_valgrind_report(struct lc_buf *text, struct lc_buf *json, const lc_valgrind_counts *vg,
                        long long own_lost_objects, long long own_lost_bytes,
                        const struct lc_budget *budget, bool *leak);

/* Watched objects (assertions/watch.c): adds each watched block still
 * live to the text report and a JSON array, with what retains it (`path`
 * appends the text lines and the JSON member); returns how many. */
typedef void (*lc_watch_path_fn)(uintptr_t addr, lc_buf *text, lc_buf *json, void *ctx);
int lc_watch_report(lc_buf *text, lc_buf *json, lc_watch_path_fn path, void *ctx);
int lc_watch_count(void);

/* Reports (assertions/report.c). */
void lc_report_frame_text(lc_buf *b, const lc_frame *f, const char *indent);
void lc_report_stack(lc_buf *b, lc_stack_id id, const char *indent, int max_frames);
/* Frames of a stack worth showing: up to the program's outermost frame. */
int lc_report_useful_depth(lc_stack_id id);
void lc_report_stack_json(lc_buf *b, const lc_frame *frames, int n);

/* Retention paths (assertions/retention.c): the chain that keeps a leaked
 * block alive, from its root down, as text, JSON and Graphviz. */
#define LC_PATH_MAX 24
typedef struct lc_path_elem {
    const char *kind; /* "global", "tls", "thread", "registers", "region", "block" */
    char name[192];
    lc_frame site; /* allocation site, declaration, or the frame holding it */
    bool has_site;
    long long offset; /* of the pointer in its holder (register number) */
    long long bytes;  /* blocks */
    const char *module;
    char owner[128]; /* thread-locals: the thread they belong to */
} lc_path_elem;
typedef struct lc_retention {
    const lc_graph *g;
    const lc_thread_report *threads;
    const lc_thread_roots *tr;
    uintptr_t caller_frame;
    bool process_mode;
} lc_retention;
int lc_retention_path(const lc_retention *r, size_t k, lc_path_elem *out, int max,
                      long *skipped);
void lc_retention_text(lc_buf *b, const lc_path_elem *p, int n, long skipped,
                       const char *indent);
void lc_retention_json(lc_buf *b, const lc_path_elem *p, int n, long skipped);
void lc_retention_dot(lc_buf *b, const lc_path_elem *p, int n, const char *leak_id,
                      const char *leak_label);

/* Thread snapshots (thread_check.c), part of lc_snapshot. */
struct lc_thread_snap *lc_threads_snapshot(void);
void lc_threads_snapshot_free(struct lc_thread_snap *t);
size_t lc_threads_snapshot_count_new(const struct lc_thread_snap *before,
                                     const struct lc_thread_snap *after);
void lc_thread_report_set_retained(lc_thread_report *r, size_t i, long long bytes);

/* ------------------------------------------- allocation-failure injection */

/* Non-zero while injection is armed: the one branch the interposers pay
 * when it is not (fault.c). */
extern atomic_int lc_fault_armed;
static inline bool lc_fault_is_armed(void) {
    return atomic_load_explicit(&lc_fault_armed, memory_order_relaxed) != 0;
}
/* Counts an allocation of the program (the interposer's frame and return
 * address) and says whether it must fail. Call only when armed. */
bool lc_fault_fires(void *frame, uintptr_t caller);
/* Restart the count and re-read LEAKCHECK_FAIL_ALLOC: a new baseline. */
void lc_fault_baseline(void);
/* The stack of the first failure injected since arming; 0 when none. */
lc_stack_id lc_fault_failed_stack(void);

/* --------------------------------------- end allocation-failure injection */

/* ------------------------------------------------------------ suppressions */

/* LeakSanitizer-style suppression files (suppress.c): `leak:PATTERN` lines
 * matched against the function, file and module of every frame of a
 * leaked block's allocation stack, `thread:PATTERN` against a leaked
 * thread's stack, start routine and creator; `#` comments. The files named
 * by LEAKCHECK_SUPPRESSIONS (colon-separated) are loaded at the first check.
 * Returns 0, or -1 with "FILE:LINE: problem" (or the open error) in err. */
int lc_suppress_load_file(const char *path, char *err, size_t errlen);
int lc_suppress_load_env(char *err, size_t errlen);
/* Start counting for a new check. */
void lc_suppress_begin_check(void);
/* Whether a leaked block with this allocation stack is suppressed; counts
 * it against the matching pattern when it is. */
bool lc_suppress_leak(lc_stack_id stack, size_t bytes);
/* Whether a leaked thread is suppressed (its captured stack, its start
 * routine, its creation stack); counts it when it is. */
bool lc_suppress_thread(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                        lc_stack_id created_by);
/* The same question without counting, for the settle loop, which asks at
 * every attempt (a suppressed thread must not make it wait the whole
 * window) while only the final verdict is counted; and whether any
 * `thread:` rule is loaded, so that stacks are captured for it. */
bool lc_suppress_thread_matches(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                                lc_stack_id created_by);
bool lc_suppress_has_thread_rules(void);
/* What was suppressed in this check: totals, and per pattern for the
 * report ("suppressed": [{"pattern", "objects", "bytes", "threads"}]). */
void lc_suppress_totals(long long *objects, long long *bytes, long long *threads);
void lc_suppress_report_text(struct lc_buf *text);
void lc_suppress_report_json(struct lc_buf *json);
/* Forget every rule and the environment's verdict, so that the next
 * lc_suppress_load_env reads LEAKCHECK_SUPPRESSIONS again (tests that run
 * many checks in one process). */
void lc_suppress_reset(void);
/* Whether one pattern, as written after `leak:` or `thread:`, matches a
 * name: the matching rule of the files, on its own. */
bool lc_suppress_pattern_matches(const char *pattern, const char *text);

/* -------------------------------------------------------------- sanitizers */

/* When the program runs under AddressSanitizer, LeakSanitizer or
 * ThreadSanitizer, their runtime owns malloc; blocks are then tracked through
 * __sanitizer_install_malloc_and_free_hooks instead of the interposers, and
 * collection points ask LSan for its own leak check (sanitizer.c). */

/* Decide, once at start-up, where allocations are tracked from: the
 * interposers, or the sanitizer's hooks (installed here) when the
 * sanitizer's malloc is the one the program calls. */
void lc_sanitizer_init(void);
/* Whether allocations are tracked through a sanitizer's hooks. */
bool lc_sanitizer_hooked(void);
/* "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", or NULL. */
const char *lc_sanitizer_name(void);
/* Whether a new thread must call no allocator and no intercepted function
 * before its start routine runs: under TSan the routine the library's
 * pthread_create is handed is the runtime's own, which sets the thread's
 * state up for everything the thread does afterwards. */
bool lc_sanitizer_owns_thread_start(void);
/* Whether pc is in the sanitizer runtime's code (its interceptors above
 * all): such frames are judged like the C runtime's. */
bool lc_sanitizer_pc_in_runtime(uintptr_t pc);
/* The stack of the allocation the hook is running for, from the
 * program's caller of the allocation function outwards; *runtime_own is
 * set when the sanitizer runtime's internals made the call (a block the
 * runtime allocated through the C library for itself). */
int lc_sanitizer_unwind(uintptr_t *pcs, int max, bool *runtime_own);

/* The hook path of the live-block table (alloc_hooks.c). */
void lc_alloc_hooked(void *p, size_t size);
void lc_free_hooked(void *p);
/* Whether `malloc` resolves to the library's own interposer. */
bool lc_alloc_interposers_active(void);

/* LeakSanitizer's verdict at a collection point
 * (__lsan_do_recoverable_leak_check). Its search covers the whole process,
 * not only what was allocated since the baseline. */
typedef struct lc_lsan_result {
    bool available; /* the program runs under LSan or ASan */
    bool ran;       /* LSan searched (not disabled by detect_leaks=0) */
    bool leaks;     /* it found unreachable blocks */
} lc_lsan_result;
void lc_lsan_leak_check(lc_lsan_result *out);
/* LSan's part of a check's report: a line of text and the JSON member
 * "lsan"; nothing when the program does not run under LSan. */
void lc_lsan_report(struct lc_buf *text, struct lc_buf *json, const lc_lsan_result *r);

#endif
