/* SPDX-License-Identifier: MIT */
/* alloc_hooks.c: the interposed allocation family.
 *
 * Every entry point forwards to glibc's own __libc_* functions (exported for
 * exactly this use, and available before any constructor ran, so there is
 * no dlsym bootstrap) and records the result in the live-block store.
 * Natively, each block the program gets is asked of glibc with room for a
 * 16-byte header before it (heap_inband.c), which holds its record; the
 * library's own blocks, and every block under valgrind, have none and go
 * to the table (heap_table.c). free tells the two apart by the header
 * store's bitmap.
 *
 * Re-entry has three sources, each handled here:
 *  - the library's own code (symbolizer, reports) allocating: lc_self_depth
 *    is set, and those blocks are not tracked;
 *  - a signal handler allocating or freeing while this thread is inside the
 *    tracker (holding a shard lock): the operation is queued in a small
 *    per-thread ring and applied when the thread leaves the tracker;
 *  - libunwind or dlsym allocating while a stack is captured: covered by the
 *    same in-tracker flag.
 * When the program is built with a sanitizer, its runtime's malloc is the
 * one the program calls and these interposers never run; the same tracking
 * is then fed by the sanitizer's allocation hooks (lc_alloc_hooked,
 * installed by sanitizer.c), and never by both.
 * Allocations made inside pthread_create (see threads.c) and by the
 * dynamic linker are flagged as the C runtime's own: the linker keeps its
 * link maps in memory of its own allocator, which no scan of tracked blocks
 * can follow, so ownership is decided where the block is made. */
#include "alloc.h"
#include "core.h"
#include "fault.h"
#include "heap.h"
#include "os.h"
#include "spans.h"
#include "stacks.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);

/* The two glibc calls of every pair, through pointers kept with the rest
 * of the allocation path's data (LC_HOT): a call through the PLT reads its
 * GOT entry, a page of its own. */
LC_HOT static void *(*libc_malloc)(size_t) = __libc_malloc;
LC_HOT static void (*libc_free)(void *) = __libc_free;

LC_TLS int lc_runtime_alloc_depth;
static LC_TLS volatile sig_atomic_t in_tracker;

/* Operations a signal handler made while this thread was in the tracker. */
#define PENDING_MAX 32
typedef struct pending_op {
    uintptr_t addr;
    size_t size; /* 0: a free */
    uintptr_t caller;
    uint64_t seq; /* a headed block recorded without its stack: its number */
} pending_op;
static LC_TLS pending_op pending[PENDING_MAX];
static LC_TLS volatile sig_atomic_t pending_head, pending_tail;
static _Atomic uint64_t pending_dropped;

static lc_stack_id stack_of(size_t size, const uintptr_t *pcs, int n) {
    lc_stack_id id = 0;
    if (lc_cfg.stack_depth > 0 && n > 0) {
        id = lc_stack_intern(pcs, n);
        lc_stack_account(id, size);
    }
    return id;
}

static uint32_t flags_of(uintptr_t caller, bool runtime_own) {
    bool runtime = runtime_own || lc_runtime_alloc_depth || lc_os_pc_in_linker(caller);
    return runtime ? LC_BLOCK_RUNTIME : 0;
}

static void record_block(uintptr_t addr, size_t size, const uintptr_t *pcs, int n, uintptr_t caller,
                         bool runtime_own) {
    lc_heap_insert(addr, size, stack_of(size, pcs, n), flags_of(caller, runtime_own));
}

static void track_alloc_locked(uintptr_t addr, size_t size, void *frame, uintptr_t caller) {
    lc_heap_prefetch(addr);
    uintptr_t pcs[LC_MAX_DEPTH];
    int depth = lc_cfg.stack_depth;
    int n = 0;
    if (depth > 0) n = frame ? lc_unwind(pcs, depth, frame, caller) : (pcs[0] = caller, 1);
    record_block(addr, size, pcs, n, caller, false);
}

static void drain_pending(void) {
    while (pending_tail != pending_head) {
        pending_op op = pending[pending_tail % PENDING_MAX];
        in_tracker = 1;
        if (op.seq) {
            uintptr_t pcs[1] = {op.caller};
            lc_inband_set_stack(op.addr, op.seq, stack_of(op.size, pcs, op.caller ? 1 : 0));
        } else if (op.size)
            track_alloc_locked(op.addr, op.size, NULL, op.caller);
        else
            lc_heap_remove(op.addr);
        in_tracker = 0;
        pending_tail++;
    }
}

/* Leaves the tracker, and applies what a signal handler queued while this
 * thread was in it. */
static inline void leave_tracker(void) {
    in_tracker = 0;
    if (LC_UNLIKELY(pending_head != pending_tail)) drain_pending();
}

static void defer(uintptr_t addr, size_t size, uintptr_t caller) {
    if (pending_head - pending_tail >= PENDING_MAX) {
        atomic_fetch_add_explicit(&pending_dropped, 1, memory_order_relaxed);
        return;
    }
    pending[pending_head % PENDING_MAX] = (pending_op){addr, size, caller, 0};
    pending_head++;
}

static inline void on_alloc(void *p, size_t size, void *frame, uintptr_t caller) {
    if (!p || lc_self_depth) return;
    if (LC_UNLIKELY(in_tracker)) {
        defer((uintptr_t)p, size ? size : 1, caller);
        return;
    }
    in_tracker = 1;
    track_alloc_locked((uintptr_t)p, size, frame, caller);
    leave_tracker();
}

#define HEADER 16u

/* What glibc is asked for a block of size bytes that starts offset bytes
 * into its allocation. At least 9 bytes follow the header: with fewer,
 * glibc's smallest chunk would end right at the block's first byte, which
 * would then be the next chunk's header, an address glibc keeps pointers
 * to (its arena's top, its bins), and a scan would take those for the
 * program's. */
static inline size_t request(size_t offset, size_t size) {
    return offset + (size < 9 ? 9 : size);
}

/* The stack id of this thread's last keyed walk (unwind.c): an allocation
 * site in a loop finds the same frames every time, and their id without
 * the stack table. */
static LC_TLS struct {
    uint32_t key;
    lc_stack_id id;
} last_keyed;

/* The stack of an allocation, interned and counted, inside the tracker
 * (the unwinder and the stack table may allocate, and the table takes a
 * lock), into a buffer of the caller's. */
LC_INLINE lc_stack_id stack_into(uintptr_t *pcs, int depth, size_t size, void *frame,
                                 uintptr_t caller) {
    in_tracker = 1;
    uint32_t key;
    int n = lc_unwind_keyed(pcs, depth, frame, caller, &key);
    if (!key || key != last_keyed.key) {
        last_keyed.key = key;
        last_keyed.id = n > 0 ? lc_stack_intern(pcs, n) : 0;
    }
    lc_stack_id id = last_keyed.id;
    lc_stack_account(id, size);
    leave_tracker();
    return id;
}

static __attribute__((noinline)) lc_stack_id stack_here_deep(int depth, size_t size, void *frame,
                                                             uintptr_t caller) {
    uintptr_t pcs[LC_MAX_DEPTH];
    return stack_into(pcs, depth, size, frame, caller);
}

/* Not inlined: its buffer of return addresses stays out of malloc's frame.
 * The buffer holds the default depth; a deeper one is a frame of its own:
 * every byte of stack the allocation path takes below the program's call
 * may be a page more that a forked child, and its parent after the fork,
 * write for the first time (a Check runner's allocations after each test
 * reached one page deeper with a buffer of LC_MAX_DEPTH). */
static __attribute__((noinline)) lc_stack_id stack_here(size_t size, void *frame,
                                                        uintptr_t caller) {
    int depth = lc_cfg.stack_depth; /* read once: the buffer must hold what the walk takes */
    if (LC_UNLIKELY(depth > LC_DEFAULT_DEPTH)) return stack_here_deep(depth, size, frame, caller);
    uintptr_t pcs[LC_DEFAULT_DEPTH];
    return stack_into(pcs, depth, size, frame, caller);
}

/* A block the header store cannot index: the table records it, at base,
 * inside the tracker (the table takes locks). */
static uintptr_t table_instead(uintptr_t base, size_t size, lc_stack_id stack, uint32_t flags) {
    in_tracker = 1;
    lc_heap_insert(base, size, stack, flags);
    leave_tracker();
    return base;
}

static uintptr_t not_indexed(uintptr_t base, size_t size, lc_stack_id stack, uint32_t flags) {
    (void)base, (void)size, (void)stack, (void)flags;
    return 0;
}

/* A signal handler's block, while its thread is in the tracker: it is
 * recorded at once (a free of it must find it), its stack later; one the
 * store cannot index waits for the table. */
static __attribute__((noinline)) void *headed_in_handler(uintptr_t base, uintptr_t user,
                                                         size_t size, uintptr_t caller) {
    if (!lc_inband_publish(base, user, size, 0, flags_of(caller, false), not_indexed)) {
        defer(base, size ? size : 1, caller);
        return (void *)base;
    }
    if (lc_cfg.stack_depth > 0 && pending_head - pending_tail < PENDING_MAX) {
        pending[pending_head % PENDING_MAX] = (pending_op){user, size, caller, lc_inband_seq(user)};
        pending_head++;
    }
    return (void *)user;
}

/* Records a block glibc made with room for a header: the program gets
 * base + offset. The store's publish is the last call, made as a jump: in
 * the bisection of bench/README.md ("The depth-0 path taken apart"), a
 * malloc that called it and then returned made the workload take about
 * 1.25 times as long as one that jumped to it. Publishing takes no lock
 * and allocates nothing: it writes the block's own header, and the
 * bitmap word, the region's highest number and the thread's next
 * sequence number each with one instruction a signal handler cannot
 * split. So the tracker is entered
 * only for what does take a lock or allocate: the stack, and the table. */
LC_INLINE void *headed(void *base, size_t offset, size_t size, void *frame, uintptr_t caller) {
    if (LC_UNLIKELY(!base)) return NULL;
    uintptr_t user = (uintptr_t)base + offset;
    if (LC_UNLIKELY(in_tracker)) return headed_in_handler((uintptr_t)base, user, size, caller);
    lc_stack_id id = lc_cfg.stack_depth > 0 ? stack_here(size, frame, caller) : 0;
    return (void *)lc_inband_publish((uintptr_t)base, user, size, id, flags_of(caller, false),
                                     table_instead);
}

/* Whether this allocation gets a header: natively, for the program. */
LC_INLINE bool heads(void) {
    return LC_LIKELY(lc_inband_on()) && !lc_self_depth;
}

/* Room for a block and its header: from the library's allocator when it
 * is on and the block is small (spans.c), otherwise, or when it has
 * none, from glibc. */
LC_INLINE void *room(size_t bytes) {
    void *base = NULL;
    if (LC_UNLIKELY(lc_spans_len) && bytes <= LC_SPANS_MAX) base = lc_spans_alloc(bytes);
    return LC_LIKELY(!base) ? libc_malloc(bytes) : base;
}

/* Gives back the room of a headed block, made for `bytes`. */
LC_INLINE void give_back(uintptr_t base, size_t bytes) {
    if (LC_UNLIKELY(lc_spans_owns(base)))
        lc_spans_free(base, bytes);
    else
        libc_free((void *)base);
}

LC_INLINE void *malloc_headed(size_t size, void *frame, uintptr_t caller) {
    if (LC_UNLIKELY(size > SIZE_MAX - HEADER)) {
        errno = ENOMEM;
        return NULL;
    }
    return headed(room(request(HEADER, size)), HEADER, size, frame, caller);
}

/* An alignment above the header's gets a whole alignment unit before the
 * block: the header at its end, glibc's pointer at its start. Alignments
 * that glibc would round or refuse keep glibc's own answer, untouched. */
#define HEADED_ALIGN_MAX ((size_t)1 << 20)
static void *memalign_headed(size_t align, size_t size, void *frame, uintptr_t caller) {
    if (align <= HEADER) return malloc_headed(size, frame, caller);
    if (size > SIZE_MAX - align) {
        errno = ENOMEM;
        return NULL;
    }
    return headed(__libc_memalign(align, request(align, size)), align, size, frame, caller);
}

static bool headed_alignment(size_t align) {
    return heads() && align && !(align & (align - 1)) && align <= HEADED_ALIGN_MAX;
}

static inline void on_free(void *p) {
    if (LC_UNLIKELY(in_tracker)) {
        defer((uintptr_t)p, 0, 0);
        return;
    }
    in_tracker = 1;
    lc_heap_remove((uintptr_t)p);
    leave_tracker();
}

/* The sanitizer's hooks (sanitizer.c) run inside its malloc, after the block
 * was made and before it is returned; free's hook runs before the block is
 * released, so, as in free() below, no other thread can be handed the
 * address while it is still recorded. The stack is taken from inside the
 * sanitizer and cut below the allocation function the program called
 * (sanitizer.c), so the program's caller heads it as it does natively. */
void lc_alloc_hooked(void *p, size_t size, lc_hook_unwind_fn unwind) {
    if (!p || lc_self_depth) return;
    if (LC_UNLIKELY(in_tracker)) {
        defer((uintptr_t)p, size ? size : 1, 0);
        return;
    }
    in_tracker = 1;
    lc_heap_prefetch((uintptr_t)p);
    uintptr_t pcs[LC_MAX_DEPTH];
    /* One frame even when stacks are off: it says whether the dynamic
     * linker made the block. */
    bool sanitizer_own;
    int n = unwind(pcs, lc_cfg.stack_depth > 0 ? lc_cfg.stack_depth : 1, &sanitizer_own);
    record_block((uintptr_t)p, size, pcs, n, n > 0 ? pcs[0] : 0, sanitizer_own);
    leave_tracker();
}

void lc_free_hooked(void *p) {
    if (p) on_free(p);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))
#define FRAME __builtin_frame_address(0)

/* Whether this allocation must fail (fault.c). Off, it costs one branch on
 * a global flag; the library's own allocations and those a signal handler
 * makes inside the tracker never fail and never count. */
#define FAULT(frame, caller)                                                                       \
    (LC_UNLIKELY(lc_fault_is_armed()) && !lc_self_depth && !in_tracker &&                          \
     lc_fault_fires(frame, caller))

/* The library's allocator's malloc (spans.c), for the common case: a
 * small block for the program, no failure armed, this thread in neither
 * the tracker nor the library nor the C runtime's thread start; the rest
 * takes the general path. Each instruction counts: the workload of
 * bench/alloc_workload.c loses the overlap of its cache misses once the
 * instructions between them pass a threshold (bench/README.md, "Design
 * 4"). So the common case calls nothing and saves no register: every
 * other case is a function it jumps to, and the store's publish, its last
 * step, is a jump too. The functions jumped to get malloc's frame and
 * caller, which stay the program's (malloc's frame, popped before the
 * jump, is where the next function pushes its own). */
static void *malloc_general_out(size_t size, void *frame, uintptr_t caller);

/* flags_of(caller, false) for a request spans_serves let through: the C
 * runtime's thread start is not one of them, so its thread-local depth
 * is not read again on the fast path. */
LC_INLINE uint32_t spans_flags(uintptr_t caller) {
    return lc_os_pc_in_linker(caller) ? LC_BLOCK_RUNTIME : 0;
}

LC_INLINE bool spans_serves(size_t size) {
    return size <= LC_SPANS_MAX - HEADER && !LC_UNLIKELY(lc_fault_is_armed()) &&
           !(lc_self_depth | in_tracker | lc_runtime_alloc_depth);
}

/* The thread's list of the class was empty (or busy): a block from the
 * rest of the allocator, or glibc's through the general path. */
static __attribute__((noinline)) void *malloc_spans_refill(size_t size, void *frame,
                                                           uintptr_t caller) {
    void *base = lc_spans_alloc(lc_spans_request(size));
    if (!base) return malloc_general_out(size, frame, caller);
    lc_stack_id id = lc_cfg.stack_depth > 0 ? stack_here(size, frame, caller) : 0;
    return (void *)lc_inband_publish_spans((uintptr_t)base, size, id, spans_flags(caller));
}

/* With stack capture on: the walk is a call, so its registers are saved
 * here and not in malloc. The block is taken first: a block made by the
 * general path instead counts its stack there. */
static __attribute__((noinline)) void *malloc_spans_walked(size_t size, void *frame,
                                                           uintptr_t caller) {
    void *base = lc_spans_pop(lc_spans_request(size));
    if (LC_UNLIKELY(!base)) return malloc_spans_refill(size, frame, caller);
    lc_stack_id id = stack_here(size, frame, caller);
    return (void *)lc_inband_publish_spans((uintptr_t)base, size, id, spans_flags(caller));
}

LC_HOT_CODE void *malloc(size_t size) {
    if (LC_UNLIKELY(!lc_spans_len)) return malloc_general_out(size, FRAME, CALLER);
    if (!spans_serves(size)) return malloc_general_out(size, FRAME, CALLER);
    if (lc_cfg.stack_depth > 0) return malloc_spans_walked(size, FRAME, CALLER);
    void *base = lc_spans_pop(lc_spans_request(size));
    if (LC_UNLIKELY(!base)) return malloc_spans_refill(size, FRAME, CALLER);
    return (void *)lc_inband_publish_spans((uintptr_t)base, size, 0, spans_flags(CALLER));
}

LC_INLINE void *malloc_general(size_t size, void *frame, uintptr_t caller) {
    if (FAULT(frame, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    if (heads()) return malloc_headed(size, frame, caller);
    void *p = __libc_malloc(size);
    on_alloc(p, size, frame, caller);
    return p;
}

/* Out of line: malloc's own frame then saves no register. */
static __attribute__((noinline)) void *malloc_general_out(size_t size, void *frame,
                                                          uintptr_t caller) {
    return malloc_general(size, frame, caller);
}

LC_HOT_CODE void *calloc(size_t n, size_t size) {
    if (FAULT(FRAME, CALLER)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total;
    if (heads() && !__builtin_mul_overflow(n, size, &total) && total <= SIZE_MAX - HEADER) {
        size_t bytes = request(HEADER, total);
        void *base = LC_UNLIKELY(lc_spans_len) ? lc_spans_alloc(bytes) : NULL;
        if (base)
            memset(base, 0, bytes);
        else
            base = __libc_calloc(1, bytes);
        return headed(base, HEADER, total, FRAME, CALLER);
    }
    void *p = __libc_calloc(n, size);
    on_alloc(p, n * size, FRAME, CALLER);
    return p;
}

/* A block without a header: the library's own, the dynamic linker's, or
 * any under valgrind. */
static __attribute__((noinline)) void free_unheaded(void *p) {
    on_free(p);
    __libc_free(p);
}

LC_HOT_CODE void free(void *p) {
    if (LC_UNLIKELY(lc_spans_owns((uintptr_t)p - HEADER))) {
        lc_inband_free_spans((uintptr_t)p);
        return;
    }
    if (!p) return;
    uintptr_t base = lc_inband_retire((uintptr_t)p);
    if (LC_LIKELY(base))
        libc_free((void *)base);
    else
        free_unheaded(p);
}

/* realloc of a headed block. Its record goes first, as below; glibc moves
 * the header with the contents, and the record is written anew. An aligned
 * block is moved by hand: glibc's realloc would not keep its alignment
 * unit. A failed realloc leaves the old block as it was, recorded again. */
static void *realloc_headed(void *old, uintptr_t base, size_t old_size, size_t size, void *frame,
                            uintptr_t caller) {
    size_t offset = (uintptr_t)old - base;
    if (!size) {
        give_back(base, request(HEADER, old_size));
        return NULL;
    }
    void *p = NULL;
    if (lc_spans_owns(base)) {
        /* Moved by hand, with all the old block holds: the program may
         * have used what malloc_usable_size told it. */
        size_t held = lc_spans_block_size(lc_spans_request(old_size)) - HEADER;
        if (size <= SIZE_MAX - HEADER && (p = room(request(HEADER, size)))) {
            memcpy((char *)p + HEADER, old, held < size ? held : size);
            lc_spans_free(base, lc_spans_request(old_size));
        }
    } else if (size <= SIZE_MAX - HEADER && offset == HEADER) {
        p = __libc_realloc((void *)base, request(HEADER, size));
    } else if (size <= SIZE_MAX - HEADER && (p = __libc_malloc(request(HEADER, size)))) {
        memcpy((char *)p + HEADER, old, old_size < size ? old_size : size);
        __libc_free((void *)base);
    }
    if (!p) {
        headed((void *)base, offset, old_size, frame, caller);
        errno = ENOMEM;
        return NULL;
    }
    return headed(p, HEADER, size, frame, caller);
}

LC_HOT_CODE static void *realloc_from(void *old, size_t size, void *frame, uintptr_t caller) {
    /* realloc(p, 0) frees; only a request for memory may fail, and a
     * failed one leaves the old block as it was. */
    if ((!old || size) && FAULT(frame, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!old) {
        if (heads()) return malloc_headed(size, frame, caller);
        void *p = __libc_malloc(size);
        on_alloc(p, size, frame, caller);
        return p;
    }
    uintptr_t base = lc_inband_retire((uintptr_t)old);
    if (base) return realloc_headed(old, base, lc_inband_size((uintptr_t)old), size, frame, caller);
    /* The old record goes first: once glibc frees the old block, another
     * thread may be handed the same address and record it. When realloc
     * fails, the old block is still the caller's, so it is put back (as a
     * new allocation at this site: it is the site that now owns it). */
    on_free(old);
    void *p = __libc_realloc(old, size);
    if (p)
        on_alloc(p, size, frame, caller);
    else if (size)
        on_alloc(old, malloc_usable_size(old), frame, caller);
    return p;
}

LC_HOT_CODE void *realloc(void *old, size_t size) {
    return realloc_from(old, size, FRAME, CALLER);
}

void *reallocarray(void *old, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_from(old, total, FRAME, CALLER);
}

static bool power_of_two(size_t x) {
    return x && !(x & (x - 1));
}

int posix_memalign(void **out, size_t align, size_t size) {
    if (!power_of_two(align) || align % sizeof(void *)) return EINVAL;
    if (FAULT(FRAME, CALLER)) return ENOMEM;
    int saved = errno;
    if (headed_alignment(align)) {
        void *p = memalign_headed(align, size, FRAME, CALLER);
        if (!p) return ENOMEM;
        errno = saved;
        *out = p;
        return 0;
    }
    void *p = __libc_memalign(align, size);
    if (!p) return ENOMEM;
    errno = saved;
    on_alloc(p, size, FRAME, CALLER);
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size) {
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (FAULT(FRAME, CALLER)) {
        errno = ENOMEM;
        return NULL;
    }
    if (headed_alignment(align)) return memalign_headed(align, size, FRAME, CALLER);
    void *p = __libc_memalign(align, size);
    on_alloc(p, size, FRAME, CALLER);
    return p;
}

void *memalign(size_t align, size_t size) {
    if (FAULT(FRAME, CALLER)) {
        errno = ENOMEM;
        return NULL;
    }
    if (headed_alignment(align)) return memalign_headed(align, size, FRAME, CALLER);
    void *p = __libc_memalign(align, size);
    on_alloc(p, size, FRAME, CALLER);
    return p;
}

void *valloc(size_t size) {
    if (FAULT(FRAME, CALLER)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (headed_alignment(page)) return memalign_headed(page, size, FRAME, CALLER);
    void *p = __libc_valloc(size);
    on_alloc(p, size, FRAME, CALLER);
    return p;
}

/* pvalloc is valloc with the size rounded up to whole pages; done here
 * through memalign because valgrind's allocator aborts on pvalloc. */
void *pvalloc(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = size ? (size + page - 1) & ~(page - 1) : page;
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    if (FAULT(FRAME, CALLER)) {
        errno = ENOMEM;
        return NULL;
    }
    if (headed_alignment(page)) return memalign_headed(page, rounded, FRAME, CALLER);
    void *p = __libc_memalign(page, rounded);
    on_alloc(p, size, FRAME, CALLER);
    return p;
}

/* glibc's answer, less the header of a headed block; looked up once
 * because glibc exports no __libc_ name for it. */
size_t malloc_usable_size(void *p) {
    static size_t (*real)(void *);
    if (!real) {
        lc_self_enter();
        real = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
        lc_self_leave();
        if (!real) return 0;
    }
    if (p && lc_inband_owns((uintptr_t)p)) {
        uintptr_t base = lc_inband_base((uintptr_t)p);
        if (lc_spans_owns(base))
            return lc_spans_block_size(lc_spans_request(lc_inband_size((uintptr_t)p))) - HEADER;
        return real((void *)base) - ((uintptr_t)p - base);
    }
    return real(p);
}

uint64_t lc_alloc_events_dropped(void) {
    return atomic_load(&pending_dropped);
}

/* An executable that takes malloc's address (pigz, python3) has "malloc"
 * in its own symbol table, undefined but with the address of its PLT entry:
 * the function's canonical address, which dlsym gives, while its calls go
 * on to the malloc the dynamic linker found. One call through the entry
 * says whether that is ours: the block it returns is tracked or not. The
 * call is made with tracking on, whatever the caller's depth, and the block
 * goes back through the program's own free. */
static bool reaches_interposers(void *entry) {
    int depth = lc_self_depth;
    lc_self_depth = 0;
    void *p = ((void *(*)(size_t))entry)(1);
    lc_self_depth = depth;
    if (!p) return true; /* no answer: no claim that the allocator is another */
    lc_block b;
    bool tracked = lc_heap_lookup((uintptr_t)p, &b);
    lc_self_enter();
    void (*release)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
    lc_self_leave();
    lc_self_depth = 0;
    if (release) release(p);
    lc_self_depth = depth;
    return tracked;
}

/* Whether the program's `malloc` is defined in the object that holds this
 * code: the interposers, whatever else the object was linked with. */
bool lc_alloc_interposers_active(void) {
    lc_self_enter();
    void *resolved = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info theirs, ours;
    const ElfW(Sym) *sym = NULL;
    bool found = resolved && dladdr1(resolved, &theirs, (void **)&sym, RTLD_DL_SYMENT);
    bool same = found && dladdr((void *)(uintptr_t)lc_alloc_interposers_active, &ours) &&
                theirs.dli_fbase == ours.dli_fbase;
    bool plt_entry = found && !same && sym && sym->st_shndx == SHN_UNDEF;
    lc_self_leave();
    return same || (plt_entry && reaches_interposers(resolved));
}
