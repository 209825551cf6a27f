/* SPDX-License-Identifier: MIT */
/* os.h: the operating-system layer (prim_linux.c): memory that
 * never comes from malloc, threads and tasks from /proc, clocks, and the
 * loaded objects. It knows nothing of the tracker; what an upper layer adds
 * to its answers (the sanitizer runtime's code counted as the C runtime's)
 * is registered here at start-up. */
#ifndef LC_OS_H
#define LC_OS_H

#include "core.h"

/* A lock that is safe to take inside malloc: no allocation, no futex table
 * registration, and cheap when uncontended. */
typedef struct lc_spinlock {
    atomic_int held;
} lc_spinlock;
void lc_spin_lock(lc_spinlock *l);
static inline void lc_spin_unlock(lc_spinlock *l) {
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

void *lc_os_alloc(size_t size); /* zeroed pages, never from malloc */
void lc_os_free(void *p, size_t size);
void *lc_os_reserve(size_t size); /* address space, committed lazily */
/* The same, shared with every process this one forks afterwards: what one
 * forked child writes there, its later siblings read. */
void *lc_os_reserve_shared(size_t size);
/* Copy len bytes of this process's memory at src; returns how many could be
 * read (0 when src is unmapped). */
size_t lc_os_read_self(void *dst, uintptr_t src, size_t len);
/* The calling thread's id, cached per thread. */
extern LC_TLS pid_t lc_os_cached_tid;
pid_t lc_os_tid_slow(void);
static inline pid_t lc_os_tid(void) {
    return LC_LIKELY(lc_os_cached_tid) ? lc_os_cached_tid : lc_os_tid_slow();
}
void lc_os_after_fork_child(void); /* the thread id, the caches' writes */
void lc_os_before_fork(void);      /* the forked children's scratch (os_maps.c) */
/* Whether this process was made by fork (its own first allocations then
 * write pages its parent filled: stack_table.c, os_maps.c). */
bool lc_os_forked(void);
uint64_t lc_os_now_ns(void); /* CLOCK_MONOTONIC */
void lc_os_sleep_ns(uint64_t ns);
/* Bounds of the calling thread's stack; false when unknown. */
bool lc_os_thread_stack(uintptr_t *lo, uintptr_t *hi);
/* The same from a signal handler: false when the bounds were never looked
 * up on this thread (finding them allocates). */
bool lc_os_thread_stack_known(uintptr_t *lo, uintptr_t *hi);
/* Whether this thread is inside dl_iterate_phdr (interposed), holding the
 * dynamic linker's lock: a capture signal that interrupts it must not walk
 * with libunwind, which takes its own lock and then that one
 * (thread_capture.c). */
bool lc_os_in_phdr_walk(void);
/* Whether another thread is inside one (and may keep the lock for long). */
bool lc_os_phdr_walk_elsewhere(void);
/* From lc_os_phdr_impatient(true) to (false), this thread's walks give up,
 * as if no object were loaded, when another thread is inside one, rather
 * than wait for its callback; lc_os_phdr_refused says whether one did
 * since. For the library's own unwinding on the allocation path. */
void lc_os_phdr_impatient(bool on);
bool lc_os_phdr_refused(void);

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
/* Map the library's code and constants into this process in one call. */
void lc_os_map_own_code(void);
/* The same, false when the library is linked into the program (whose own
 * code is then "self" too). */
bool lc_os_pc_in_library(uintptr_t pc);
/* Code of the dynamic linker: what it allocates is its own (link maps,
 * scope lists, TLS descriptors), wherever it keeps the pointer. */
extern lc_region lc_os_linker_text;
static inline bool lc_os_pc_in_linker(uintptr_t pc) {
    return pc - lc_os_linker_text.start < lc_os_linker_text.end - lc_os_linker_text.start;
}
/* Whether pc lies in the executable code of a loaded object (a return
 * address a frame-pointer walk found can be trusted only then). */
bool lc_os_pc_in_code(uintptr_t pc);
void lc_os_modules_refresh(void);

/* The executable's path (readlink of /proc/self/exe, which valgrind
 * answers with the program's; after main's pthread_exit only the calling
 * thread's entry still answers). -1 when neither does. */
long lc_os_exe_path(char *buf, size_t len);

/* The mappings lc_os_alloc and lc_os_reserve made and lc_os_free has not
 * yet unmapped (the library's own memory), at most cap, in no order. */
size_t lc_os_own_mappings(lc_region *out, size_t cap);
#define LC_OS_OWN_MAX 16384u

/* The process's mappings, from /proc (the calling thread's view, which
 * still works after the main thread has exited), in address order. */
enum {
    LC_MAP_READ = 1,
    LC_MAP_WRITE = 2,
    LC_MAP_EXEC = 4,
    LC_MAP_SHARED = 8,
    LC_MAP_ANON = 16, /* no file behind it (its name, if any, is [heap], [stack] ...) */
};
typedef struct lc_mapping {
    uintptr_t start, end;
    unsigned flags;
    const char *name; /* the path or [name]; "" when anonymous and unnamed */
} lc_mapping;
typedef void (*lc_mapping_fn)(const lc_mapping *m, void *arg);
/* Calls fn for every mapping; -1 when /proc could not be read. */
int lc_os_for_each_mapping(lc_mapping_fn fn, void *arg);

/* Threads, from /proc/self/task (no ptrace). */
typedef struct lc_task_info {
    char state;           /* R, S, D, T, t, Z, ... */
    long syscall;         /* the system call it is in, -1 when running */
    char comm[16];        /* its name */
    uint64_t sig_blocked; /* blocked-signal mask */
    uintptr_t arg0;       /* the system call's first argument */
} lc_task_info;
bool lc_os_task_exists(pid_t tid);
bool lc_os_task_info(pid_t tid, lc_task_info *out);
/* Whether the thread is the C runtime's own helper that waits for the
 * signal glibc keeps for itself (the SIGEV_THREAD timer thread). */
bool lc_os_task_is_runtime_helper(pid_t tid);
size_t lc_os_list_tasks(pid_t *out, size_t cap);
/* The process's threads, as many as there are: the list grows (in pages
 * of its own, never the program's heap) until /proc's answer fits. Reuse
 * one across calls; false (and n 0) when no memory is left. */
typedef struct lc_task_list {
    pid_t *tid;
    size_t n, cap;
    /* tid points here until more are needed: listing a process of a few
     * threads (a forked test's one) maps no memory. Never copy a list. */
    pid_t few[4];
} lc_task_list;
bool lc_os_list_all_tasks(lc_task_list *l);
/* The calling thread alone (a forked child that has started none). */
void lc_os_task_list_self(lc_task_list *l);
void lc_os_task_list_free(lc_task_list *l);
int lc_os_signal_task(pid_t tid, int sig);
/* The signal a user names ("SIGUSR2", "USR2", "usr2" or "12"), when a
 * handler may be installed for it: not SIGKILL or SIGSTOP, and not a signal
 * the kernel raises for a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 * SIGSYS). 0 when it names none of them. */
int lc_os_signal_from_name(const char *name);
const char *lc_os_syscall_name(long nr);

/* An extra test for lc_os_pc_in_runtime, registered once at start-up by a
 * layer that knows of more runtime code (the sanitizer runtime's, see
 * sanitizer.c); NULL until then. */
typedef bool (*lc_pc_test_fn)(uintptr_t pc);
void lc_os_set_runtime_pc_test(lc_pc_test_fn fn);

#endif
