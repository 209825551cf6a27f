/* SPDX-License-Identifier: MIT */
/* prim_linux.c: the thin OS layer (Linux, glibc).
 *
 * Everything the tracker needs from the system and that must never call
 * malloc lives here: thread ids, clocks, stack bounds, and the walk over
 * loaded objects with dl_iterate_phdr (the library's own pages are
 * os_maps.c's). Keeping it in this module keeps the rest of the library
 * free of /proc paths and system headers. */
#include "core.h"
#include "os.h"

#include <sys/uio.h>
#include <valgrind/valgrind.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_stack_end;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* With the child's code: a forked test's first new stack takes the stack
 * table's insert lock. */
LC_CHILD_CODE void lc_spin_lock(lc_spinlock *l) {
    for (int spins = 0;; spins++) {
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) return;
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (spins++ > 64)
                sched_yield();
            else
                cpu_relax();
        }
    }
}

size_t lc_os_read_self(void *dst, uintptr_t src, size_t len) {
    /* The kernel copies, so memory that vanished (a thread's stack after it
     * exited) is an error code, not a crash, and memcheck does not take the
     * read as the program's. */
    struct iovec local = {dst, len}, remote = {(void *)src, len};
    /* memcheck checks what the kernel reads as if the program passed it to
     * a system call: the scan's reads of never-written stack slots are not
     * the program's errors. */
    VALGRIND_DISABLE_ERROR_REPORTING;
    /* By this thread's id: once the main thread has called pthread_exit,
     * the process id names a zombie with no memory to read. */
    ssize_t n = process_vm_readv(lc_os_tid(), &local, 1, &remote, 1, 0);
    VALGRIND_ENABLE_ERROR_REPORTING;
    if (n >= 0) return (size_t)n;
    /* Kernels without process_vm_readv (or seccomp that forbids it): read
     * directly, as the rest of the scan does. */
    if (errno != ENOSYS && errno != EPERM) return 0;
    memcpy(dst, (const void *)src, len);
    return len;
}

LC_TLS pid_t lc_os_cached_tid;

/* The system call made inline on x86-64: through syscall(), every forked
 * child that allocates would fault in a page of libc's code for it. */
LC_CHILD_CODE pid_t lc_os_tid_slow(void) {
#if defined(__x86_64__)
    long tid;
    __asm__ volatile("syscall" : "=a"(tid) : "0"((long)SYS_gettid) : "rcx", "r11", "memory");
    lc_os_cached_tid = (pid_t)tid;
#else
    lc_os_cached_tid = (pid_t)syscall(SYS_gettid);
#endif
    return lc_os_cached_tid;
}

/* The caches of answers about return addresses (below) are shared with
 * the parent after a fork, a page of them for every few hundred slots: a
 * forked child that stored each answer it worked out paid a copy-on-write
 * fault for nearly every one (five a forked Check test), to fill caches it
 * would not live to use. So a child's first misses are answered without
 * being stored; one that goes on stores them again. */
#define CHILD_UNSTORED_MISSES 256
LC_FORK_STATE static _Atomic int unstored_misses;

static bool store_answer(void) {
    if (LC_LIKELY(atomic_load_explicit(&unstored_misses, memory_order_relaxed) <= 0)) return true;
    return atomic_fetch_sub_explicit(&unstored_misses, 1, memory_order_relaxed) <= 0;
}

LC_FORK_STATE static bool own_code_mapped; /* lc_os_map_own_code */
LC_FORK_STATE static bool forked;

/* Read by a forked child's first new stack (stack_table.c), so with the
 * child's code: elsewhere it was a window of code of its own to fault in. */
LC_CHILD_CODE bool lc_os_forked(void) {
    return forked;
}

/* Walks over the loaded objects this thread is inside: it holds the
 * dynamic linker's lock through each. dl_iterate_phdr is interposed so
 * that every walk counts, the library's, the program's and its runtime's
 * (libgcc's unwinder looks up exception tables with it). */
static LC_TLS int phdr_walks;
/* Threads inside such a walk: a callback may keep the lock as long as it
 * likes, and libunwind takes it to find unwind tables. */
LC_FORK_STATE static _Atomic int phdr_walkers;
/* This thread's walks give up rather than wait for another thread's, and
 * whether one did (lc_os_phdr_impatient). */
static LC_TLS bool phdr_impatient, phdr_refused;

LC_CHILD_CODE void lc_os_after_fork_child(void) {
    lc_os_cached_tid = 0;
    /* Only the forking thread is left; written only when it differs, as a
     * write costs the child a copy of the page. */
    int walkers = __atomic_load_n(&phdr_walks, __ATOMIC_RELAXED) > 0;
    if (atomic_load_explicit(&phdr_walkers, memory_order_relaxed) != walkers)
        atomic_store_explicit(&phdr_walkers, walkers, memory_order_relaxed);
    forked = true;
    own_code_mapped = false;
    atomic_store_explicit(&unstored_misses, CHILD_UNSTORED_MISSES, memory_order_relaxed);
}

uint64_t lc_os_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Until an absolute time: a relative sleep resumed with what remains makes
 * no progress when a signal is pending each time it starts (a program that
 * sends itself signals without pause), and the caller would never wake. */
void lc_os_sleep_ns(uint64_t ns) {
    uint64_t at = lc_os_now_ns() + ns;
    struct timespec ts = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static LC_TLS uintptr_t stack_lo, stack_hi;

bool lc_os_thread_stack_known(uintptr_t *lo, uintptr_t *hi) {
    if (!stack_hi) return false;
    *lo = stack_lo;
    *hi = stack_hi;
    return true;
}

typedef int (*phdr_callback)(struct dl_phdr_info *, size_t, void *);
static int (*_Atomic real_iterate_phdr)(phdr_callback, void *);

__attribute__((visibility("default"))) int dl_iterate_phdr(phdr_callback fn, void *arg) {
    int (*real)(phdr_callback, void *) =
        atomic_load_explicit(&real_iterate_phdr, memory_order_acquire);
    if (LC_UNLIKELY(!real)) {
        lc_self_enter(); /* dlsym may allocate its error buffer */
        *(void **)&real = dlsym(RTLD_NEXT, "dl_iterate_phdr");
        lc_self_leave();
        if (!real) return 0; /* no walk: as if no object were loaded */
        atomic_store_explicit(&real_iterate_phdr, real, memory_order_release);
    }
    if (LC_UNLIKELY(phdr_impatient) && !phdr_walks &&
        atomic_load_explicit(&phdr_walkers, memory_order_relaxed) > 0) {
        phdr_refused = true;
        return 0; /* as if no object were loaded: the caller stops there */
    }
    if (!phdr_walks) atomic_fetch_add_explicit(&phdr_walkers, 1, memory_order_relaxed);
    __atomic_store_n(&phdr_walks, phdr_walks + 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int rc = real(fn, arg);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&phdr_walks, phdr_walks - 1, __ATOMIC_RELAXED);
    if (!phdr_walks) atomic_fetch_sub_explicit(&phdr_walkers, 1, memory_order_relaxed);
    return rc;
}

bool lc_os_in_phdr_walk(void) {
    return __atomic_load_n(&phdr_walks, __ATOMIC_RELAXED) > 0;
}

bool lc_os_phdr_walk_elsewhere(void) {
    int others = atomic_load_explicit(&phdr_walkers, memory_order_relaxed);
    return others > (lc_os_in_phdr_walk() ? 1 : 0);
}

void lc_os_phdr_impatient(bool on) {
    phdr_impatient = on;
    phdr_refused = false;
}

bool lc_os_phdr_refused(void) {
    return phdr_refused;
}

LC_HOT_CODE bool lc_os_thread_stack(uintptr_t *lo, uintptr_t *hi) {
    if (LC_UNLIKELY(stack_hi == 0)) {
        if (lc_os_tid() == getpid()) {
            /* The main thread's stack grows on demand; its top (where
             * argc sits) is known without reading /proc, and both the walk
             * and the scan only need the top. */
            stack_hi = (uintptr_t)__libc_stack_end;
            stack_lo = 1;
        } else {
            pthread_attr_t attr;
            void *addr;
            size_t size;
            lc_self_enter(); /* pthread_getattr_np allocates its cpuset */
            if (pthread_getattr_np(pthread_self(), &attr) == 0) {
                if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
                    stack_lo = (uintptr_t)addr;
                    stack_hi = (uintptr_t)addr + size;
                }
                pthread_attr_destroy(&attr);
            }
            lc_self_leave();
            if (stack_hi == 0) return false;
        }
    }
    *lo = stack_lo;
    *hi = stack_hi;
    return true;
}

/* ------------------------------------------------------------ modules */

static const char *const runtime_names[] = {
    "libc.so",   "ld-linux",   "libm.so",      "libpthread.so", "libdl.so",   "librt.so",
    "libgcc_s.", "libstdc++.", "libresolv.so", "libnss_",       "linux-vdso",
};

static bool is_runtime_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof runtime_names / sizeof runtime_names[0]; i++)
        if (strncmp(base, runtime_names[i], strlen(runtime_names[i])) == 0) return true;
    return false;
}

#define MAX_TEXT_RANGES 32
LC_HOT static lc_region runtime_text[MAX_TEXT_RANGES];
LC_HOT static int nruntime_text;
static lc_region self_text[4];
static int nself_text;
/* The library's read-only segments (its headers, code and constants), as
 * one range of whole pages. */
static lc_region self_readonly;
static bool self_is_library; /* the library is a shared object of its own */
LC_HOT lc_region lc_os_linker_text;

/* Every object's executable segments and its whole span, as of the last
 * refresh: a return address must lie in the former. */
#define MAX_OBJECTS 256
#define MAX_CODE_RANGES 512
static lc_region code_ranges[MAX_CODE_RANGES];
static int ncode_ranges;
static lc_region object_spans[MAX_OBJECTS];
static int nobject_spans;

/* Whether this loaded object is the one that holds the library (the .so,
 * or the program when the archive is linked in). */
static bool holds_self(const struct dl_phdr_info *info) {
    uintptr_t probe = (uintptr_t)lc_os_pc_in_self;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && probe >= s && probe < s + ph->p_memsz) return true;
    }
    return false;
}

/* Answers of the sanitizer's runtime test (slow, and asked about the caller
 * of every allocation, whose callers repeat): a small direct-mapped cache,
 * each entry one word (pc << 1 | answer) so that racing writers can only
 * lose an entry, never mix two. Without that test no answer is cached. */
#define RUNTIME_CACHE_SLOTS 1024
static _Atomic uintptr_t runtime_cache[RUNTIME_CACHE_SLOTS];

static bool in_runtime_ranges(uintptr_t pc) {
    for (int i = 0; i < nruntime_text; i++)
        if (pc >= runtime_text[i].start && pc < runtime_text[i].end) return true;
    return false;
}

static int collect_text(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    (void)arg;
    bool is_self = holds_self(info);
    bool runtime = info->dlpi_name && is_runtime_name(info->dlpi_name);
    lc_region span = {UINTPTR_MAX, 0};
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        lc_region r = {info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz};
        if (r.start < span.start) span.start = r.start;
        if (r.end > span.end) span.end = r.end;
        if (is_self && !(ph->p_flags & PF_W)) {
            if (!self_readonly.end || r.start < self_readonly.start)
                self_readonly.start = r.start & ~(uintptr_t)4095;
            if (r.end > self_readonly.end) self_readonly.end = (r.end + 4095) & ~(uintptr_t)4095;
        }
        if (!(ph->p_flags & PF_X)) continue;
        if (ncode_ranges < MAX_CODE_RANGES) code_ranges[ncode_ranges++] = r;
        if (runtime && nruntime_text < MAX_TEXT_RANGES) runtime_text[nruntime_text++] = r;
        if (runtime && strstr(info->dlpi_name, "/ld-linux")) lc_os_linker_text = r;
        if (is_self && nself_text < 4) self_text[nself_text++] = r;
        if (is_self) self_is_library = info->dlpi_name && info->dlpi_name[0];
    }
    span.start &= ~(uintptr_t)4095; /* where the loader's mapping begins */
    if (span.end && nobject_spans < MAX_OBJECTS) object_spans[nobject_spans++] = span;
    return 0;
}

/* Return addresses the walks validated, one word each (racing writers can
 * only lose an entry); only yes answers are kept, so an object loaded later
 * is never refused from a stale entry. */
#define CODE_CACHE_SLOTS 4096
static _Atomic uintptr_t code_cache[CODE_CACHE_SLOTS];

static bool in_ranges(const lc_region *r, int n, uintptr_t pc) {
    for (int i = 0; i < n; i++)
        if (pc >= r[i].start && pc < r[i].end) return true;
    return false;
}

LC_CHILD_CODE bool lc_os_pc_in_code(uintptr_t pc) {
    _Atomic uintptr_t *slot = &code_cache[(pc ^ (pc >> 12)) % CODE_CACHE_SLOTS];
    if (LC_LIKELY(atomic_load_explicit(slot, memory_order_relaxed) == pc)) return pc != 0;
    bool code = in_ranges(code_ranges, ncode_ranges, pc);
    /* A known object's other segments, and the first pages, where nothing
     * is mapped, are no code: the usual garbage of a broken frame-pointer
     * chain is answered without the call (and, in a forked child, without
     * faulting in the page of libc's code it lives on). */
    if (!code && pc >= 65536 && !in_ranges(object_spans, nobject_spans, pc)) {
        /* Not in the code of an object known at the last refresh: in an
         * object loaded since (dlopen), whose segments are not known, it is
         * taken for code; in a known object's data, or outside every
         * object (a stack, the heap, a garbage word), it is not.
         * _dl_find_object takes no lock and never allocates. */
        struct dl_find_object found;
        code = _dl_find_object((void *)pc, &found) == 0 &&
               !in_ranges(object_spans, nobject_spans, (uintptr_t)found.dlfo_map_start);
    }
    if (code && store_answer()) atomic_store_explicit(slot, pc, memory_order_relaxed);
    return code;
}

void lc_os_modules_refresh(void) {
    lc_self_enter();
    for (size_t i = 0; i < RUNTIME_CACHE_SLOTS; i++)
        atomic_store(&runtime_cache[i], 0);
    for (size_t i = 0; i < CODE_CACHE_SLOTS; i++)
        atomic_store(&code_cache[i], 0);
    nruntime_text = 0;
    nself_text = 0;
    self_readonly = (lc_region){0, 0};
    ncode_ranges = 0;
    nobject_spans = 0;
    dl_iterate_phdr(collect_text, NULL);
    lc_self_leave();
}

/* Set once by a module above (the sanitizer's runtime code); read on every
 * question, so a test registered late applies from then on. */
LC_HOT static _Atomic(lc_pc_test_fn) extra_runtime_test;

void lc_os_set_runtime_pc_test(lc_pc_test_fn fn) {
    atomic_store_explicit(&extra_runtime_test, fn, memory_order_release);
}

static bool in_extra_runtime(uintptr_t pc) {
    lc_pc_test_fn fn = atomic_load_explicit(&extra_runtime_test, memory_order_acquire);
    return fn && fn(pc);
}

LC_HOT_CODE bool lc_os_pc_in_runtime(uintptr_t pc) {
    /* The C runtime's few text ranges are quicker to compare than a cache
     * line of the answers is to load (in a forked child, a page of them to
     * fault in); the cache is for the sanitizer's test, which is not. */
    if (!atomic_load_explicit(&extra_runtime_test, memory_order_relaxed))
        return in_runtime_ranges(pc);
    _Atomic uintptr_t *slot = &runtime_cache[(pc ^ (pc >> 10)) % RUNTIME_CACHE_SLOTS];
    uintptr_t seen = atomic_load_explicit(slot, memory_order_relaxed);
    if (seen >> 1 == pc) return seen & 1;
    bool answer = in_runtime_ranges(pc) || in_extra_runtime(pc);
    if (store_answer()) atomic_store_explicit(slot, pc << 1 | answer, memory_order_relaxed);
    return answer;
}

bool lc_os_pc_in_library(uintptr_t pc) {
    return self_is_library && lc_os_pc_in_self(pc);
}

/* fork copies no page-table entries of a file's mapping that was never
 * written, so a forked child faults in the library's code 64 KB at a time,
 * about 20 microseconds each on a virtual machine, and a check runs
 * through code all over the library. One call maps every page of it that
 * the page cache holds (with the parent running, all of them), once per
 * process: at its first check or checked test. Linux 5.14 and later;
 * elsewhere the faults stay. */
LC_CHILD_CODE void lc_os_map_own_code(void) {
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
    if (own_code_mapped) return;
    own_code_mapped = true;
    if (self_readonly.end > self_readonly.start)
        (void)madvise((void *)self_readonly.start, self_readonly.end - self_readonly.start,
                      MADV_POPULATE_READ);
}

bool lc_os_pc_in_self(uintptr_t pc) {
    for (int i = 0; i < nself_text; i++)
        if (pc >= self_text[i].start && pc < self_text[i].end) return true;
    return false;
}

typedef struct region_walk {
    lc_region_fn fn;
    void *arg;
} region_walk;

static int walk_data(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    region_walk *w = arg;
    const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "(main program)";
    /* The library's own data holds only disguised addresses, so it can be
     * scanned as user data; that keeps the archive build (library and
     * program in one object) simple. */
    lc_module_kind kind = is_runtime_name(name) ? LC_MODULE_RUNTIME : LC_MODULE_USER;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        lc_region r = {info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz};
        w->fn(&r, kind, name, w->arg);
    }
    return 0;
}

void lc_os_for_each_data_region(lc_region_fn fn, void *arg) {
    region_walk w = {fn, arg};
    dl_iterate_phdr(walk_data, &w);
}

static int walk_tls(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    region_walk *w = arg;
    if (!info->dlpi_tls_data) return 0; /* no TLS, or not allocated yet */
    const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "(main program)";
    lc_module_kind kind = is_runtime_name(name) ? LC_MODULE_RUNTIME : LC_MODULE_USER;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_TLS) continue;
        lc_region r = {(uintptr_t)info->dlpi_tls_data,
                       (uintptr_t)info->dlpi_tls_data + ph->p_memsz};
        w->fn(&r, kind, name, w->arg);
    }
    return 0;
}

void lc_os_for_each_tls_block(lc_region_fn fn, void *arg) {
    region_walk w = {fn, arg};
    dl_iterate_phdr(walk_tls, &w);
}

/* ------------------------------------------------------------ mappings */

long lc_os_exe_path(char *buf, size_t len) {
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) n = readlink("/proc/thread-self/exe", buf, len - 1);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return (long)n;
}

static uintptr_t parse_hex(const char **p) {
    uintptr_t v = 0;
    for (;; ++*p) {
        char c = **p;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16u;
        if (d == 16) return v;
        v = v << 4 | d;
    }
}

/* One line of maps: "start-end perms offset dev inode   name". */
static bool parse_mapping(const char *line, lc_mapping *m) {
    const char *p = line;
    m->start = parse_hex(&p);
    if (*p++ != '-') return false;
    m->end = parse_hex(&p);
    if (*p++ != ' ' || strlen(p) < 4) return false;
    m->flags = (p[0] == 'r' ? LC_MAP_READ : 0) | (p[1] == 'w' ? LC_MAP_WRITE : 0) |
               (p[2] == 'x' ? LC_MAP_EXEC : 0) | (p[3] == 's' ? LC_MAP_SHARED : 0);
    p += 4;
    /* offset, dev, inode: the inode is 0 for anonymous memory */
    for (int field = 0; field < 3; field++) {
        while (*p == ' ')
            p++;
        const char *f = p;
        while (*p && *p != ' ')
            p++;
        if (field == 2 && p - f == 1 && *f == '0') m->flags |= LC_MAP_ANON;
    }
    while (*p == ' ')
        p++;
    m->name = p;
    return true;
}

int lc_os_for_each_mapping(lc_mapping_fn fn, void *arg) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/maps", (int)lc_os_tid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    /* Read in pieces into pages of our own (never malloc); a line never
     * exceeds PATH_MAX plus its fixed fields. */
    size_t cap = 64 * 1024, len = 0;
    char *buf = lc_os_alloc(cap);
    if (!buf) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            lc_mapping m;
            if (parse_mapping(line, &m)) fn(&m, arg);
            line = nl + 1;
        }
        len = (size_t)(buf + len - line);
        memmove(buf, line, len);
        if (n == 0) break;
    }
    close(fd);
    lc_os_free(buf, cap);
    return 0;
}
