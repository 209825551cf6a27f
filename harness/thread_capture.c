/* SPDX-License-Identifier: MIT */
/* thread_capture.c: the call stacks of other threads, all at once.
 *
 * A thread can only unwind its own stack, so the capturer sends each target
 * thread a real-time signal whose handler unwinds from the interrupted
 * context (libunwind, through the signal frame) into a slot of a shared
 * table, then waits a bounded time for every answer. A thread that blocks
 * the signal is known from /proc before anything is sent; a thread that does
 * not answer in time is reported as such, never waited for forever. The slot
 * table is never freed, so an answer that arrives late lands in memory that
 * is still there and is ignored.
 *
 * The signal is the program's first: each capture takes a real-time signal
 * the program has no handler for (from SIGRTMAX-5 down), installs its
 * handler for the capture only, and gives the signal back to its default
 * disposition once every signal sent has been handled. A handler the
 * program installed is never replaced. Real-time signals queue: a thread
 * that had the signal blocked through two captures receives it twice, so
 * the handler stays until the count of signals handled catches up with the
 * count sent (a late one must never meet the default action, which ends the
 * process); a later capture gives the signal back then.
 *
 * The handler runs on an alternate signal stack (SA_ONSTACK): the signal
 * frame alone (the saved vector state) can exceed the 4 KiB stack a
 * coroutine runs on, and libunwind needs a few more. Every thread the
 * library starts, and the main thread, gets one unless it has one already;
 * a thread it did not start and that has none runs the handler on its own
 * stack, as before. The library is linked with -z now, so the handler
 * never enters the lazy binding resolver either. */
#define UNW_LOCAL_ONLY
#include "core.h"
#include "os.h"
#include "stacks.h"
#include "thread.h"

#include <errno.h>
#include <libunwind.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

#define CAPTURE_WAIT_NS (200ull * 1000000ull)

typedef struct capture_slot {
    pid_t tid;
    int done;
    int depth;
    int nregs;
    uintptr_t sp;
    uintptr_t pcs[LC_MAX_DEPTH];
    uintptr_t sps[LC_MAX_DEPTH];
    uintptr_t regs[LC_MAX_REGS];
    int nouter, elided;
    uintptr_t outer[LC_OUTER_DEPTH];
    bool was_waiting; /* not running when the signal was sent */
    size_t out;       /* the capture it answers for, lc_capture_stacks' out[out] */
} capture_slot;

/* The slots, as many as the largest capture so far needed; the handler
 * finds its own by thread id in the dense tids array. A table outgrown is
 * never freed either: a handler may still be looking through it. */
typedef struct slot_table {
    size_t cap;
    pid_t *tids;
    capture_slot *slots;
} slot_table;

/* How long a capture waits, at most, for the threads it woke from a wait
 * to be back in it. */
#define REWAIT_NS (100ull * 1000000ull)

/* How far the handler walks a stack deeper than LC_MAX_DEPTH to find its
 * outermost frames: a corrupt stack that loops must not hold it forever. */
#define OUTER_WALK_MAX 100000

static slot_table *table;
static capture_slot *slots; /* table->slots, for the capturer */
static size_t nactive;
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static int capture_sig;                       /* the signal of the capture in progress, or last */
static int handler_left;                      /* our handler is still installed on capture_sig */
static unsigned long signals_sent;            /* under capture_lock */
static _Atomic unsigned long signals_handled; /* by the handler, late ones too */

int lc_capture_signal(void) {
    return capture_sig ? capture_sig : SIGRTMAX - 5;
}

static uintptr_t context_sp(const ucontext_t *uc) {
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
}

/* The interrupted thread's registers may hold the only pointer to a block
 * (a callee-saved register across a blocking call, or a vector register an
 * optimised loop keeps it in), so they are roots. */
static int context_regs(const ucontext_t *uc, uintptr_t *out) {
#if defined(__x86_64__)
    int n = NGREG < LC_MAX_REGS ? NGREG : LC_MAX_REGS;
    for (int i = 0; i < n; i++)
        out[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
    /* xmm0-15, saved by the kernel in the signal frame. */
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    for (int i = 0; fp && i < 16 && n + 2 <= LC_MAX_REGS; i++, n += 2)
        memcpy(&out[n], &fp->_xmm[i], 2 * sizeof(uintptr_t));
    return n;
#elif defined(__aarch64__)
    for (int i = 0; i < 31 && i < LC_MAX_REGS; i++)
        out[i] = (uintptr_t)uc->uc_mcontext.regs[i];
    return 31;
#else
    (void)uc;
    (void)out;
    return 0;
#endif
}

/* Past the first LC_MAX_DEPTH frames, keep walking to the outermost ones,
 * as Go prints the first and last frames of a deep goroutine: the start
 * routine and its caller chain are what identifies a thread, and they lie at
 * the far end. A ring keeps the last LC_OUTER_DEPTH frames; the ones in
 * between are counted. */
static void walk_outer(unw_cursor_t *cursor, capture_slot *s) {
    uintptr_t ring[LC_OUTER_DEPTH];
    long seen = 0;
    bool ended = false;
    for (long steps = 0; steps < OUTER_WALK_MAX; steps++) {
        if (unw_step(cursor) <= 0) {
            ended = true;
            break;
        }
        unw_word_t ip;
        if (unw_get_reg(cursor, UNW_REG_IP, &ip) < 0 || ip == 0) {
            ended = true;
            break;
        }
        ring[seen % LC_OUTER_DEPTH] = (uintptr_t)ip;
        seen++;
    }
    int kept = seen < LC_OUTER_DEPTH ? (int)seen : LC_OUTER_DEPTH;
    for (int i = 0; i < kept; i++)
        s->outer[i] = ring[(seen - kept + i) % LC_OUTER_DEPTH];
    s->nouter = kept;
    s->elided = ended ? (int)(seen - kept) : -1;
}

/* The interrupted frames by their frame pointers alone, each link checked
 * to lie above the last inside the thread's stack (from the signal frame
 * up, which is mapped): no lock and no call, for a thread that holds the
 * dynamic linker's lock. There libunwind would deadlock: another thread's
 * handler may hold libunwind's cache lock while it waits for the linker's
 * (libunwind looks up unwind tables with dl_iterate_phdr under that lock),
 * and this handler would wait for libunwind's. Code without frame pointers
 * ends the walk early: the frames kept are the library's own, whose walk
 * was interrupted. */
static int walk_context_frame_pointers(const ucontext_t *uc, capture_slot *s) {
#if defined(__x86_64__)
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    uintptr_t lo, hi;
    int depth = 0;
    s->sps[depth] = sp;
    s->pcs[depth++] = pc;
    if (!lc_os_thread_stack_known(&lo, &hi)) return depth;
    if (lo < sp) lo = sp;
    while (depth < LC_MAX_DEPTH && fp >= lo && hi >= 2 * sizeof(uintptr_t) &&
           fp <= hi - 2 * sizeof(uintptr_t) && !(fp & (sizeof(uintptr_t) - 1))) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        if (!frame[1]) break;
        s->sps[depth] = fp + 2 * sizeof(uintptr_t);
        s->pcs[depth++] = frame[1];
        if (frame[0] <= fp) break;
        fp = frame[0];
    }
    return depth;
#else
    (void)uc;
    (void)s;
    return 0;
#endif
}

static void capture_handler(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    int saved = errno;
    atomic_fetch_add(&signals_handled, 1);
    pid_t me = lc_os_tid();
    size_t n = __atomic_load_n(&nactive, __ATOMIC_ACQUIRE);
    const slot_table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    if (!t) n = 0;
    if (t && n > t->cap) n = t->cap;
    for (size_t i = 0; i < n; i++) {
        if (t->tids[i] != me) continue;
        capture_slot *s = &t->slots[i];
        if (s->tid != me || __atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) continue;
        unw_cursor_t cursor;
        int depth = 0;
        if (lc_os_in_phdr_walk()) {
            depth = walk_context_frame_pointers(ucv, s);
        } else if (unw_init_local2(&cursor, (unw_context_t *)ucv, UNW_INIT_SIGNAL_FRAME) == 0) {
            do {
                unw_word_t ip, sp;
                if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
                if (unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) sp = 0;
                s->sps[depth] = (uintptr_t)sp;
                s->pcs[depth++] = (uintptr_t)ip;
            } while (depth < LC_MAX_DEPTH && unw_step(&cursor) > 0);
            if (depth == LC_MAX_DEPTH) walk_outer(&cursor, s);
        }
        s->depth = depth;
        s->sp = context_sp(ucv);
        s->nregs = context_regs(ucv, s->regs);
        __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
        break;
    }
    errno = saved;
}

/* The handler's frame, libunwind's cursor and its DWARF walk stay well
 * within 16 KiB; the kernel's signal frame (up to ~10 KiB with AVX-512
 * state) comes on top. */
#define ALTSTACK_BYTES (64u * 1024u)

void *lc_capture_altstack_enter(void) {
    /* valgrind delivers signals on stacks of its own making; on ours its
     * stack tracking would take libunwind's probes of the handler's
     * frames for the program's reads of dead stack. */
    if (lc_cfg.under_valgrind) return NULL;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE)) return NULL;
    void *mem = lc_os_alloc(ALTSTACK_BYTES);
    if (!mem) return NULL;
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        lc_os_free(mem, ALTSTACK_BYTES);
        return NULL;
    }
    return mem;
}

void lc_capture_altstack_leave(void *mine) {
    if (!mine) return;
    stack_t cur;
    /* The program may have put its own in place since: leave that one. */
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == mine && !(cur.ss_flags & SS_ONSTACK)) {
        stack_t off = {.ss_flags = SS_DISABLE};
        if (sigaltstack(&off, NULL) != 0) return;
    } else if (cur.ss_sp == mine) {
        return;
    }
    lc_os_free(mine, ALTSTACK_BYTES);
}

static void capture_handler(int sig, siginfo_t *si, void *ucv);

/* Whether a signal is free for a capture: nobody's handler, or ours. */
static bool signal_is_free(const struct sigaction *cur) {
    if (cur->sa_flags & SA_SIGINFO) return cur->sa_sigaction == capture_handler;
    return cur->sa_handler == SIG_DFL;
}

/* Room for n slots. */
static bool reserve_slots(size_t n) {
    if (table && table->cap >= n) return true;
    size_t cap = table ? table->cap : 64;
    while (cap < n)
        cap *= 2;
    size_t bytes = sizeof(slot_table) + cap * sizeof(pid_t);
    bytes = (bytes + 63) & ~(size_t)63;
    char *mem = lc_os_reserve(bytes + cap * sizeof(capture_slot));
    if (!mem) return false;
    slot_table *t = (slot_table *)mem;
    t->cap = cap;
    t->tids = (pid_t *)(mem + sizeof(slot_table));
    t->slots = (capture_slot *)(mem + bytes);
    __atomic_store_n(&table, t, __ATOMIC_RELEASE);
    slots = t->slots;
    return true;
}

static bool prepare(size_t n) {
    if (!reserve_slots(n)) return false;
    if (handler_left) {
        struct sigaction cur;
        if (sigaction(capture_sig, NULL, &cur) == 0 && cur.sa_flags & SA_SIGINFO &&
            cur.sa_sigaction == capture_handler)
            return true;
        handler_left = 0; /* the program took the signal since */
    }
    for (int sig = SIGRTMAX - 5; sig >= SIGRTMIN + 2; sig--) {
        struct sigaction cur;
        if (sigaction(sig, NULL, &cur) != 0 || !signal_is_free(&cur)) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = capture_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
        sigfillset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) != 0) continue;
        capture_sig = sig;
        handler_left = 1;
        return true;
    }
    return false;
}

/* The signal goes back to its default disposition once nothing can still
 * arrive for the handler. */
static void finish(void) {
    if (!handler_left || atomic_load(&signals_handled) != signals_sent) return;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(capture_sig, &dfl, NULL) == 0) handler_left = 0;
}

/* The signal wakes a thread from its wait: it runs the handler, returns,
 * and enters the wait again. Until it is scheduled to do so, /proc shows it
 * running, and the next look at the threads (a check's next attempt, a dump
 * right after a check) would see a running thread the program never had.
 * So the capture ends when the threads it woke are waiting again, as it
 * found them, or after REWAIT_NS. Under valgrind /proc describes valgrind's
 * scheduler, not the program, and there is nothing to restore. */
static void await_return_to_wait(size_t k) {
    if (lc_cfg.under_valgrind) return;
    uint64_t deadline = lc_os_now_ns() + REWAIT_NS;
    for (size_t j = 0; j < k; j++) {
        if (!slots[j].was_waiting || !__atomic_load_n(&slots[j].done, __ATOMIC_ACQUIRE)) continue;
        lc_task_info info;
        while (lc_os_task_info(slots[j].tid, &info) && info.state == 'R' &&
               lc_os_now_ns() < deadline)
            lc_os_sleep_ns(50000);
    }
}

/* A thread interrupted inside the library (its malloc recording a block,
 * or the C library's malloc or memcmp called from there) is shown from the
 * program's frame that called in: the library's own frames never top a
 * reported stack. Only the list of frames is cut; the stack pointer, and
 * so what the scan reads, stay as captured. */
static void drop_own_frames(lc_capture *c) {
    int from = 0;
    for (int i = 0; i < c->depth; i++) {
        if (lc_os_pc_in_library(c->pcs[i]))
            from = i + 1;
        else if (!lc_os_pc_in_runtime(c->pcs[i]))
            break;
    }
    if (from == 0 || from == c->depth) return;
    c->depth -= from;
    memmove(c->pcs, c->pcs + from, (size_t)c->depth * sizeof(uintptr_t));
    memmove(c->sps, c->sps + from, (size_t)c->depth * sizeof(uintptr_t));
}

/* Whether the instruction that ends at ret is a call: a direct one
 * (e8 rel32) or an indirect one (ff /2, two to seven bytes long). */
static bool follows_call(uintptr_t ret) {
#if defined(__x86_64__)
    unsigned char b[7];
    if (ret < sizeof b || lc_os_read_self(b, ret - sizeof b, sizeof b) != sizeof b) return false;
    if (b[2] == 0xe8) return true;
    /* ff then its ModRM byte (reg field 2), 2, 3, 4, 6 or 7 bytes before
     * ret: call *%reg or *(%reg); disp8 or sib; sib+disp8; disp32 (and
     * %rip-relative); sib+disp32. */
    static const int ff_at[] = {5, 4, 3, 1, 0};
    for (size_t i = 0; i < sizeof ff_at / sizeof ff_at[0]; i++)
        if (b[ff_at[i]] == 0xff && (b[ff_at[i] + 1] & 0x38) == 0x10) return true;
    return false;
#else
    (void)ret;
    return false;
#endif
}

/* A thread interrupted in code that has no unwind information and keeps
 * no frame of its own (a hand-written loop, code generated at run time) is
 * unwound by its frame pointer, which is still its caller's: the walk goes
 * on from the caller's caller, and the caller, the program's function that
 * called in, is missing. The word at the stack pointer is then the return
 * address into that caller, as a debugger assumes of a frameless leaf: it
 * is put back when it lies in a loaded object's code right after a call.
 * Only for code outside every loaded object, whose unwind information the
 * walk could not have had. */
static void recover_leaf_caller(lc_capture *c) {
    if (c->depth < 1 || c->depth >= LC_MAX_DEPTH || lc_os_pc_in_code(c->pcs[0])) return;
    uintptr_t ret;
    if (lc_os_read_self(&ret, c->sp, sizeof ret) != sizeof ret) return;
    if (c->depth > 1 && c->pcs[1] == ret) {
        c->caller_found = true;
        return;
    }
    if (!lc_os_pc_in_code(ret) || !follows_call(ret)) return;
    size_t rest = (size_t)(c->depth - 1) * sizeof(uintptr_t);
    memmove(c->pcs + 2, c->pcs + 1, rest);
    memmove(c->sps + 2, c->sps + 1, rest);
    c->pcs[1] = ret;
    c->sps[1] = c->sp + sizeof(uintptr_t);
    c->depth++;
    c->caller_found = true;
}

void lc_capture_stacks(lc_capture *out, size_t n) {
    pthread_mutex_lock(&capture_lock);
    lc_self_enter();
    bool ready = prepare(n);
    pid_t me = lc_os_tid();
    uint64_t sigbit = 1ull << (lc_capture_signal() - 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        lc_capture *c = &out[i];
        c->depth = 0;
        c->nouter = 0;
        c->caller_found = false;
        /* The checker's own stack is not walked past LC_MAX_DEPTH: a full
         * one is cut at an unknown count. */
        c->elided = 0;
        c->status = LC_CAPTURE_NO_ANSWER;
        if (c->tid == me) {
            c->depth = lc_unwind_here(c->pcs, LC_MAX_DEPTH, 1);
            memset(c->sps, 0, sizeof c->sps);
            int from = 0;
            while (from < c->depth && c->pcs[from] != lc_api_return)
                from++;
            if (from < c->depth) {
                c->depth -= from;
                memmove(c->pcs, c->pcs + from, (size_t)c->depth * sizeof(uintptr_t));
            }
            c->sp = (uintptr_t)__builtin_frame_address(0);
            if (c->depth + from == LC_MAX_DEPTH) c->elided = -1;
            c->status = LC_CAPTURE_OK;
            continue;
        }
        lc_task_info info;
        /* A zombie (main after pthread_exit) has no stack left to read. */
        if (!lc_os_task_info(c->tid, &info) || info.state == 'Z' || info.state == 'X') {
            c->status = LC_CAPTURE_GONE;
            continue;
        }
        /* valgrind keeps every signal blocked in the kernel's view while a
         * thread runs guest code, so /proc's mask means nothing there: send
         * and let the answer (or its absence) tell. */
        if ((info.sig_blocked & sigbit) && !lc_cfg.under_valgrind) {
            c->status = LC_CAPTURE_SIGNAL_BLOCKED;
            continue;
        }
        if (!ready) continue;
        slots[k].tid = c->tid;
        slots[k].out = i;
        slots[k].done = 0;
        slots[k].depth = 0;
        slots[k].nouter = 0;
        slots[k].elided = 0;
        slots[k].was_waiting = info.state != 'R';
        table->tids[k] = c->tid;
        k++;
    }
    __atomic_store_n(&nactive, k, __ATOMIC_RELEASE);
    for (size_t j = 0; j < k; j++)
        if (lc_os_signal_task(slots[j].tid, lc_capture_signal()) == 0) signals_sent++;
    uint64_t deadline = lc_os_now_ns() + CAPTURE_WAIT_NS;
    for (;;) {
        size_t answered = 0;
        for (size_t j = 0; j < k; j++)
            answered += __atomic_load_n(&slots[j].done, __ATOMIC_ACQUIRE);
        if (answered == k || lc_os_now_ns() >= deadline) break;
        lc_os_sleep_ns(50000);
    }
    __atomic_store_n(&nactive, 0, __ATOMIC_RELEASE);
    finish();
    await_return_to_wait(k);
    for (size_t j = 0; j < k; j++) {
        lc_capture *c = &out[slots[j].out];
        if (!__atomic_load_n(&slots[j].done, __ATOMIC_ACQUIRE)) continue;
        if (c->tid != slots[j].tid || c->status != LC_CAPTURE_NO_ANSWER) continue;
        c->depth = slots[j].depth;
        memcpy(c->pcs, slots[j].pcs, (size_t)c->depth * sizeof(uintptr_t));
        memcpy(c->sps, slots[j].sps, (size_t)c->depth * sizeof(uintptr_t));
        c->sp = slots[j].sp;
        c->nregs = slots[j].nregs;
        memcpy(c->regs, slots[j].regs, sizeof c->regs);
        c->nouter = slots[j].nouter;
        c->elided = slots[j].elided;
        memcpy(c->outer, slots[j].outer, (size_t)c->nouter * sizeof(uintptr_t));
        c->status = LC_CAPTURE_OK;
        recover_leaf_caller(c);
        drop_own_frames(c);
    }
    lc_self_leave();
    pthread_mutex_unlock(&capture_lock);
}

const char *lc_capture_status_text(int status) {
    switch (status) {
    case LC_CAPTURE_OK:
        return NULL;
    case LC_CAPTURE_SIGNAL_BLOCKED:
        return "stack unavailable: the thread blocks the capture signal";
    case LC_CAPTURE_GONE:
        return "stack unavailable: the thread has exited";
    default:
        return "stack unavailable: the thread did not answer within 200 ms";
    }
}
