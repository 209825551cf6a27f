/* SPDX-License-Identifier: MIT */
/* spans_shim.c: the lower bound of a tracked allocation with an allocator
 * of the library's own, without the library.
 *
 * Not part of run.sh: a preloaded malloc/free for bench/alloc_workload.c
 * alone (bench/README.md, "Design 4"), that does what harness/spans.c and
 * the header store do for a pair, in the fewest instructions: size classes
 * with per-thread free lists in 64 KB spans of one reservation, a 16-byte
 * header (number, thread, size, stack id), a bit per 16 bytes with a
 * highest number per 64 KB region, a sequence number from a per-thread
 * chunk checked against an epoch, the thread id, the checks a real path
 * makes (a fault switch, re-entry and runtime flags, a signal-handler
 * flag around the list operations, the dynamic linker's code range), and
 * with -DSTACK_DEPTH=16 a frame-pointer walk of up to 16 frames compared
 * with the thread's last stack, and per-stack counts. It keeps no lock and
 * no atomics: one thread, or threads that free only their own blocks (the
 * workload's -t 2). -DPAD=N adds N instructions to every malloc.
 *
 *   gcc -O2 -fno-builtin -shared -fPIC -o build/bench/spans_shim.so bench/spans_shim.c
 *   gcc -O2 -fno-builtin -shared -fPIC -DSTACK_DEPTH=16 -o build/bench/spans_shim16.so
 * bench/spans_shim.c LD_PRELOAD=build/bench/spans_shim.so build/bench/alloc_plain -t 1 -n 4000000
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <stdatomic.h>

#define HEADER 16
#define ARENA ((uintptr_t)64 << 30)
#define SPAN (64 * 1024)
#define CLASSES 130 /* up to 2 KB in 16-byte steps */

typedef struct region {
    uint64_t bits[64];
    uint64_t max_seq;
    char pad[56];
} region;

static char *arena;
int fault_armed;
#ifndef STACK_DEPTH
#define STACK_DEPTH 0
#endif
int stack_depth = STACK_DEPTH;
uintptr_t linker_lo = 1, linker_hi = 2;
_Atomic uint64_t epoch;
static __thread int self_depth __attribute__((tls_model("initial-exec")));
static __thread int in_tracker __attribute__((tls_model("initial-exec")));
static __thread int rt_depth __attribute__((tls_model("initial-exec")));
static __thread volatile int busy __attribute__((tls_model("initial-exec")));
static __thread int tid __attribute__((tls_model("initial-exec")));
static __thread struct {
    uint64_t next, end, epoch;
} chunk __attribute__((tls_model("initial-exec")));
static __thread uintptr_t leaf_word __attribute__((tls_model("initial-exec")));
static _Atomic uint64_t seq_global;
static __thread uintptr_t last_pcs[16] __attribute__((tls_model("initial-exec")));
static __thread int last_n __attribute__((tls_model("initial-exec")));
static __thread uint32_t last_id __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stk_lo, stk_hi;
uint64_t counts[1024][2];
static __attribute__((noinline)) uint32_t intern_slow(uintptr_t *pcs, int n) {
    for (int i = 0; i < n; i++)
        last_pcs[i] = pcs[i];
    last_n = n;
    return ++last_id & 1023;
}
static inline uint32_t stack_id(void *frame, uintptr_t caller) {
    uintptr_t pcs[16];
    int n = 0;
    pcs[n++] = caller;
    uintptr_t *fp = (uintptr_t *)*(uintptr_t **)frame;
    if (!stk_hi) {
        stk_lo = (uintptr_t)frame - (8 << 20);
        stk_hi = (uintptr_t)frame + (1 << 20);
    }
    while (n < 16 && (uintptr_t)fp > stk_lo && (uintptr_t)fp < stk_hi && !((uintptr_t)fp & 7)) {
        uintptr_t ra = fp[1];
        if (!ra) break;
        pcs[n++] = ra;
        fp = (uintptr_t *)fp[0];
    }
    if (n == last_n) {
        int i = 0;
        while (i < n && pcs[i] == last_pcs[i])
            i++;
        if (i == n) return last_id & 1023;
    }
    return intern_slow(pcs, n);
}
static __attribute__((noinline)) uint64_t seq_slow(void) {
    chunk.next = atomic_fetch_add(&seq_global, 4096);
    chunk.end = chunk.next + 4096;
    chunk.epoch = epoch;
    return chunk.next++;
}
static __attribute__((noinline)) int tid_slow(void) {
    return tid = 1234;
}

static region *regions;
static _Atomic uintptr_t arena_next;

typedef struct tcache {
    void *free[CLASSES];
    char *bump[CLASSES], *end[CLASSES];
    uint64_t seq;
} tcache;
static __thread tcache tc __attribute__((tls_model("initial-exec")));

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);

__attribute__((constructor)) static void init(void) {
    arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    regions = mmap(NULL, (ARENA >> 16) * sizeof(region), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

static __attribute__((noinline)) char *refill(unsigned c) {
    size_t sz = (size_t)c * 16;
    char *s = arena + atomic_fetch_add(&arena_next, SPAN);
    tc.bump[c] = s + sz;
    tc.end[c] = s + SPAN - sz + 1;
    return s;
}

/* -DPAD=N (a multiple of 32): N more instructions in every malloc, moves
 * of constants into scratch registers that nothing waits for. */
#ifndef PAD
#define PAD 0
#endif
#define R4 "mov $1, %%r8\n mov $2, %%r9\n mov $3, %%r10\n mov $4, %%r11\n"
#define R32 R4 R4 R4 R4 R4 R4 R4 R4
static inline __attribute__((always_inline)) void pad(void) {
    for (int i = 0; i < PAD / 32; i++)
        __asm__ volatile(R32 ::: "r8", "r9", "r10", "r11");
}

void *malloc(size_t n) {
    pad();
    if (!arena || n > (CLASSES - 2) * 16 ||
        fault_armed | self_depth | in_tracker | rt_depth | busy) {
        return __libc_malloc(n);
    }
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    unsigned c = (unsigned)((n + HEADER + 15) >> 4);
    busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    char *b = tc.free[c];
    if (b) {
        tc.free[c] = *(void **)b;
    } else if (tc.bump[c] && tc.bump[c] < tc.end[c]) {
        b = tc.bump[c];
        tc.bump[c] = b + (size_t)c * 16;
    } else {
        b = refill(c);
    }
    atomic_signal_fence(memory_order_seq_cst);
    busy = 0;
    uint64_t seq = chunk.next++;
    if (seq >= chunk.end || chunk.epoch != atomic_load_explicit(&epoch, memory_order_relaxed))
        seq = seq_slow();
    int t = tid;
    if (!t) t = tid_slow();
    uint64_t flags = caller >= linker_lo && caller < linker_hi;
    uint32_t id = 0;
    if (stack_depth) {
        id = stack_id(__builtin_frame_address(0), caller);
        counts[id][0]++;
        counts[id][1] += n;
    }
    ((uint64_t *)b)[0] = seq << 24 | (uint64_t)(t & 0x3fffff) << 2 | flags;
    ((uint64_t *)b)[1] = (uint64_t)n << 24 | id;
    uintptr_t user = (uintptr_t)b + HEADER;
    uintptr_t w = leaf_word;
    if ((w >> 48) != ((user >> 30) + 1)) leaf_word = w = ((user >> 30) + 1) << 48 | 1;
    uintptr_t off = user - (uintptr_t)arena;
    region *r = &regions[off >> 16];
    uint64_t g = off >> 4;
    if (r->max_seq < seq) r->max_seq = seq + 1024;
    r->bits[g % 4096 / 64] |= (uint64_t)1 << (g % 64);
    return (void *)user;
}

void free(void *p) {
    uintptr_t off = (uintptr_t)p - (uintptr_t)arena;
    if (off >= ARENA || ((uintptr_t)p & 15)) {
        if (p) __libc_free(p);
        return;
    }
    uintptr_t w = leaf_word;
    if ((w >> 48) != (((uintptr_t)p >> 30) + 1)) leaf_word = ((((uintptr_t)p >> 30) + 1) << 48) | 1;
    region *r = &regions[off >> 16];
    uint64_t g = off >> 4;
    uint64_t *word = &r->bits[g % 4096 / 64], m = (uint64_t)1 << (g % 64);
    if (!(*word & m)) {
        __libc_free(p);
        return;
    }
    *word &= ~m;
    char *b = (char *)p - HEADER;
    uint64_t ss = ((uint64_t *)b)[1];
    if (ss & (1u << 23)) {
        __libc_free(p);
        return;
    }
    unsigned c = (unsigned)(((ss >> 24) + HEADER + 15) >> 4);
    if (busy) return;
    busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    *(void **)b = tc.free[c];
    tc.free[c] = b;
    atomic_signal_fence(memory_order_seq_cst);
    busy = 0;
}

void *calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *realloc(void *p, size_t n) {
    if (!p) return malloc(n);
    uintptr_t off = (uintptr_t)p - (uintptr_t)arena;
    if (off >= ARENA) return __libc_realloc(p, n);
    size_t old = (size_t)(((uint64_t *)p)[-1] >> 24);
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}
