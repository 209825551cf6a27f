/* SPDX-License-Identifier: MIT */
/* thread.h: the threads of the program: the registry and the interposed
 * pthread functions (threads.c), their stacks captured with a signal
 * (thread_capture.c), and the thread check with its report and snapshots
 * (thread_check.c). */
#ifndef LC_THREAD_H
#define LC_THREAD_H

#include "buf.h"
#include "os.h"
#include "stacks.h"

#include <pthread.h>

/* The registry (threads.c) records every thread the program starts; the
 * checker (thread_check.c) captures, judges and reports them. */

struct lc_thread_snap;

typedef struct lc_thread_rec {
    int used;
    int adopted;  /* not started through pthread_create: judged via /proc */
    int ignored;  /* alive at lc_ignore_current() */
    int internal; /* the library's own (the timeout watchdog): never reported */
    int detached;
    int exited; /* the start routine returned or the thread called
                   pthread_exit; set without the registry lock */
    int started;
    /* Retired (joined) while the kernel may still list the thread's task:
     * keeps the /proc comparison from taking that task for a thread the
     * library never saw start. Cleared once the task is gone from /proc. */
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
    uintptr_t altstack;    /* the alternate signal stack the library gave it */
    const char *wait_kind; /* declared with lc_thread_wait_begin */
    uintptr_t wait_object; /* disguised like block addresses */
    uint64_t wait_since_ns;
} lc_thread_rec;

/* The registry has no fixed size: records come in chunks that never move,
 * added as threads start (threads.c). Record i, for i below
 * lc_thread_recs_end(): one past the last record ever used, where loops
 * over the registry stop, so that a forked child or a check reads (and
 * faults in) only the pages of records that exist. */
#define LC_THREAD_CHUNK 256
extern lc_thread_rec **lc_thread_chunks;
static inline lc_thread_rec *lc_thread_rec_at(size_t i) {
    lc_thread_rec **dir = __atomic_load_n(&lc_thread_chunks, __ATOMIC_ACQUIRE);
    return &dir[i / LC_THREAD_CHUNK][i % LC_THREAD_CHUNK];
}
size_t lc_thread_recs_end(void);

void lc_threads_lock(void);
void lc_threads_unlock(void);
lc_thread_rec *lc_thread_self_rec(void);
bool lc_threads_is_new(const lc_thread_rec *r);
bool lc_threads_task_is_new(pid_t tid);

/* Stacks of other threads, captured with a signal (thread_capture.c). */
enum { LC_CAPTURE_OK, LC_CAPTURE_NO_ANSWER, LC_CAPTURE_SIGNAL_BLOCKED, LC_CAPTURE_GONE };
#define LC_OUTER_DEPTH 16 /* outermost frames kept of a deeper stack */
#define LC_MAX_REGS 64    /* general, then vector registers (two words each) */
typedef struct lc_capture {
    pid_t tid;
    int status;
    int depth;
    int nregs;
    uintptr_t sp;
    uintptr_t pcs[LC_MAX_DEPTH];
    uintptr_t sps[LC_MAX_DEPTH]; /* each frame's stack pointer (0: unknown) */
    uintptr_t regs[LC_MAX_REGS]; /* general registers at the interruption */
    /* A stack deeper than LC_MAX_DEPTH: its outermost frames (the start
     * routine's end of it), outermost last, and how many frames lie between
     * pcs and outer (-1: more than the unwinder walks, not counted). */
    int nouter;
    int elided;
    uintptr_t outer[LC_OUTER_DEPTH];
    /* Caught in code outside every loaded object: whether pcs[1], its
     * caller, was found from the return address at the stack pointer. */
    bool caller_found;
} lc_capture;
void lc_capture_stacks(lc_capture *c, size_t n);
const char *lc_capture_status_text(int status);
int lc_capture_signal(void);
/* The capture handler runs on an alternate signal stack, so that a thread
 * on a tiny stack (a 4 KiB swapcontext coroutine) survives it. Each thread
 * the library sees start gets one of its own unless it already has one (the
 * program's is borrowed, never replaced); it goes away as the thread ends. */
void *lc_capture_altstack_enter(void);
void lc_capture_altstack_leave(void *mine);
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

/* Thread snapshots (thread_snap.c), part of lc_snapshot: every thread,
 * described, with its stack when `stacks` (the capture signals each one). */
struct lc_thread_snap *lc_threads_snapshot(bool stacks);
void lc_threads_snapshot_free(struct lc_thread_snap *t);
size_t lc_threads_snapshot_count(const struct lc_thread_snap *t);
const struct thread_entry *lc_threads_snapshot_entry(const struct lc_thread_snap *t, size_t i);
/* Whether the snapshot holds the thread of that id and creation number. */
bool lc_threads_snapshot_has(const struct lc_thread_snap *t, pid_t tid, uint64_t id);
void lc_thread_report_set_retained(lc_thread_report *r, size_t i, long long bytes);

/* The interposed pthread functions (threads.c), visible like malloc. */
LC_API int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
LC_API int pthread_join(pthread_t t, void **ret);
LC_API int pthread_tryjoin_np(pthread_t t, void **ret);
LC_API int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime);
LC_API int pthread_detach(pthread_t t);
LC_API void pthread_exit(void *ret);

/* ---------------- the entries of a thread check (thread_check.c, thread_report.c) */

typedef struct thread_entry {
    pid_t tid;
    uint64_t id;
    char name[16];
    char state[24];
    char wait[32];
    uintptr_t wait_object; /* declared with lc_thread_wait_begin, or 0 */
    double seconds;
    bool exited;
    bool declared_wait; /* blocked in a wait the program declared */
    lc_stack_id created_by;
    uintptr_t start_routine;
    uintptr_t stack_hi;
    int count;  /* threads in this group; 0 for one folded into another */
    int leader; /* the entry this one is folded into (itself when it leads) */
    long long retained_bytes;
    lc_capture cap;
} thread_entry;

struct lc_thread_report {
    thread_entry *e; /* grows with the threads found (lc_os_reserve) */
    size_t n, cap, map_bytes;
    size_t suppressed; /* leaked threads a `thread:` suppression matched */
    uint64_t born_seq; /* blocks from this sequence number on are younger than the capture */
};

lc_thread_report *lc_thread_report_alloc(void);
/* Every thread of the process, each with its stack captured (the caller's
 * own cut at lc_api_return), none judged; NULL when out of memory. */
lc_thread_report *lc_threads_capture_all(void);
/* The same, with or without the stacks. */
lc_thread_report *lc_threads_all(bool stacks);
/* The first frame of a stack that is the program's own, -1 when none. */
int lc_thread_first_program_frame(const uintptr_t *pcs, int depth);
const char *lc_thread_frame_function(uintptr_t pc);
const char *lc_thread_creator_function(lc_stack_id id);
/* Entry `at` of e[0..ne) as a goroutine-style paragraph. */
void lc_thread_entry_text(lc_buf *b, const thread_entry *e, size_t ne, size_t at);

#endif
