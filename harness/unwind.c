/* SPDX-License-Identifier: MIT */
/* unwind.c: capturing call stacks.
 *
 * Two unwinders, chosen per call. Walking frame pointers costs about a
 * nanosecond a frame and is what keeps tracking cheaper than the sanitizers;
 * it needs the program built with -fno-omit-frame-pointer (leakcheck.pc adds
 * it). The C runtime is built without frame pointers, so an allocation made
 * inside libc (strdup, fopen, getline, ...) would lose the caller's frame: for
 * those, and everywhere when LEAKCHECK_UNWIND=dwarf, libunwind unwinds from
 * the DWARF call-frame information instead. */
#define UNW_LOCAL_ONLY
#include "core.h"
#include "os.h"
#include "stacks.h"

#include <libunwind.h>
#include <valgrind/memcheck.h>

/* libunwind's walks step with unw_step, never through unw_backtrace.
 * unw_backtrace keeps a per-thread trace cache under a pthread key it
 * creates on its first call, and 256 KB of memory a thread, all of it
 * written when the cache is made: the key is one of the program's
 * PTHREAD_KEYS_MAX (a program that takes them all would find one gone),
 * and the cache's pages were copied into the page tables of every forked
 * child and torn down at its exit. The cache paid off when every walk
 * through code without frame pointers was libunwind's; the learned rules
 * (unwind_rules.c) now finish those walks, and libunwind walks only to
 * teach them, or through a frame they cannot describe. unw_step keeps
 * libunwind's small, shared cache of register rules. */
void lc_unwind_init(void) {
    lc_unwind_rules_init();
}

/* The return addresses of the caller's stack, the caller's own frame
 * first, as unw_backtrace gives them had the caller called it. */
__attribute__((noinline)) int lc_unwind_backtrace(void **buf, int max) {
    if (max <= 0) return 0;
    unw_context_t ctx;
    unw_cursor_t cursor;
    int n = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cursor, &ctx) != 0) return 0;
    while (n < max && unw_step(&cursor) > 0 && !lc_os_phdr_refused()) {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        buf[n++] = (void *)(uintptr_t)ip;
    }
    return n;
}

/* Code built without frame pointers leaves whatever it likes in the frame
 * pointer register, including values memcheck considers uninitialised;
 * the walk validates every link itself, so under valgrind the loaded words
 * are declared defined rather than reported. Built with a sanitizer, the
 * library's own loads are not checked either: a rule reads a frame's saved
 * registers where AddressSanitizer's redzones of that frame's locals lie. */
LC_NO_SANITIZE static inline uintptr_t load_word_as(const uintptr_t *p, bool under_valgrind) {
    uintptr_t w = *p;
    if (under_valgrind) {
        uintptr_t defined = w; /* in memory only here: the common path keeps w in a register */
        VALGRIND_MAKE_MEM_DEFINED(&defined, sizeof defined);
        w = defined;
    }
    return w;
}

LC_CHILD_CODE LC_NO_SANITIZE uintptr_t lc_unwind_load_word(const uintptr_t *p) {
    return load_word_as(p, LC_UNLIKELY(lc_cfg.under_valgrind));
}

/* What a walk keeps for the next on this thread, in one structure: the
 * walk then finds it from one thread-pointer offset, not one for each
 * variable (a shared library's thread-local variables each cost a load of
 * their offset).
 *
 * pcs: the return addresses the last walk found in code, frame by frame
 * ([0]: the interposer's caller): the next walk from the same place checks
 * only what differs (each check reads a cache of answers, a page the TLB
 * must hold). When that walk was complete by frame pointers alone, n is
 * its length and key names its frames: a walk that finds the same frames
 * gets the same key, and its caller may reuse what it made of them
 * (alloc_hooks.c reuses the stack id, and skips the stack table). Keys
 * only grow (next_key), so a key never names two stacks. begun tells a
 * walk that a signal handler walked in the middle of it, over the same
 * arrays: that walk's result gets no key.
 *
 * stack_lo, stack_hi: this thread's stack, as lc_os_thread_stack gave it,
 * read without a call on every walk.
 *
 * runtime_end: the last frame found in the C runtime, where every chain
 * ends (the runtime is never unloaded, and a loop's walks all end in the
 * same frame). */
static LC_TLS struct {
    uintptr_t pcs[LC_MAX_DEPTH];
    int n;
    uint32_t key, next_key, begun;
    uintptr_t stack_lo, stack_hi;
    uintptr_t runtime_end;
} walked;

static inline bool ends_in_runtime(uintptr_t pc) {
    if (pc == walked.runtime_end) return true;
    if (!lc_os_pc_in_runtime(pc)) return false;
    walked.runtime_end = pc;
    return true;
}

/* A return address the last walk did not find at this depth: taken when
 * it is code (and kept for the next walk), else the chain ends here.
 * Out of line, so that the loop over known frames keeps its registers; with
 * the forked child's code, since every frame is new to a child's first
 * walks (elsewhere it was a page of code of its own to fault in). */
LC_CHILD_CODE static __attribute__((noinline)) bool
new_return_address(uintptr_t ret, int n, const uintptr_t *pcs, bool *broken, bool *changed) {
    if (!lc_os_pc_in_code(ret)) {
        *broken = !ends_in_runtime(pcs[n - 1]);
        return false;
    }
    walked.pcs[n] = ret;
    *changed = true;
    return true;
}

/* Follows the frame-pointer chain from the interposer's frame. Code built
 * without frame pointers uses the register for anything, so every link is
 * checked before it is believed: the next frame must lie above this one,
 * inside the thread's stack, aligned, and its return address must be in an
 * object's code. A link that fails ends the walk; *broken says whether the
 * chain broke inside the program's own frames (code without frame
 * pointers, whose callers only DWARF information can find) rather than at
 * the C runtime's frames that start a thread or main, where every chain
 * ends. under_valgrind is a constant where it is inlined: the loop, about
 * twenty instructions a frame on every malloc, then holds no test of it. */
LC_INLINE int walk_frame_pointers(uintptr_t *pcs, int max, void *frame, uintptr_t caller,
                                  bool under_valgrind, bool *broken, bool *changed) {
    uintptr_t lo, hi;
    int n = 0;
    *broken = false;
    *changed = caller != walked.pcs[0];
    if (*changed) walked.pcs[0] = caller;
    pcs[n++] = caller;
    if (max > LC_MAX_DEPTH) max = LC_MAX_DEPTH; /* the depth's own bound, and walked.pcs's */
    lo = walked.stack_lo;
    hi = walked.stack_hi;
    if (LC_UNLIKELY(!hi)) {
        if (!lc_os_thread_stack(&lo, &hi)) return n;
        walked.stack_lo = lo;
        walked.stack_hi = hi;
    }
    uintptr_t fp = (uintptr_t)frame;
    const uintptr_t align = sizeof(uintptr_t) - 1;
    if (hi < 2 * sizeof(uintptr_t)) return n;
    const uintptr_t last = hi - 2 * sizeof(uintptr_t); /* the highest frame that fits */
    /* frame points at the interposer's saved frame pointer; its caller's
     * frame is the next link. Each link is checked to lie above the one
     * before, so only the first needs checking against the stack's bottom. */
    if (fp < lo || fp > last || (fp & align)) return n;
    while (n < max) {
        uintptr_t next = load_word_as((uintptr_t *)fp, under_valgrind);
        if (next <= fp || next > last || (next & align)) {
            /* Zero ends the chain on purpose (the runtime clears the
             * register where a thread or the program starts); anything
             * else is a frame pointer the code did not keep. */
            *broken = next != 0 && !ends_in_runtime(pcs[n - 1]);
            break;
        }
        uintptr_t ret = load_word_as((uintptr_t *)next + 1, under_valgrind);
        if (ret != walked.pcs[n] && !new_return_address(ret, n, pcs, broken, changed)) break;
        pcs[n++] = ret;
        fp = next;
    }
    return n;
}

/* The registers a frame runs with, as libunwind has them. */
static bool frame_regs(unw_cursor_t *c, lc_frame_regs *out) {
    unw_word_t pc, sp, bp;
    if (unw_get_reg(c, UNW_REG_IP, &pc) < 0 || unw_get_reg(c, UNW_REG_SP, &sp) < 0) return false;
#if defined(__x86_64__)
    if (unw_get_reg(c, UNW_X86_64_RBP, &bp) < 0) return false;
#else
    bp = 0;
#endif
    *out = (lc_frame_regs){.pc = (uintptr_t)pc, .sp = (uintptr_t)sp, .bp = (uintptr_t)bp};
    return true;
}

/* libunwind's walk with unw_step, teaching the rule table each step it
 * takes from a return address (not the first frame, whose address is no
 * return address, nor a signal frame or the frame it interrupted). */
static int walk_dwarf_learning(uintptr_t *pcs, int max, uintptr_t caller) {
    unw_context_t ctx;
    unw_cursor_t cursor;
    lc_frame_regs at;
    int n = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cursor, &ctx) != 0 ||
        !frame_regs(&cursor, &at))
        return (pcs[0] = caller, 1);
    bool learnable = false; /* the first frame's address is no return address */
    bool reached = false;   /* the library's own frames are behind */
    for (int steps = 0; steps < LC_MAX_DEPTH + 48; steps++) {
        reached = reached || at.pc == caller;
        if (reached) pcs[n++] = at.pc;
        if (n == max) break;
        bool signal_frame = unw_is_signal_frame(&cursor) > 0;
        int stepped = unw_step(&cursor);
        /* A step without the unwind tables is a guess: neither kept nor
         * taught. */
        if (lc_os_phdr_refused()) break;
        if (stepped == 0 && learnable && !signal_frame) lc_unwind_rules_learn_outermost(at.pc);
        lc_frame_regs next;
        if (stepped <= 0 || !frame_regs(&cursor, &next)) break;
#if defined(__x86_64__)
        unw_save_loc_t loc;
        uintptr_t bp_loc =
            unw_get_save_loc(&cursor, UNW_X86_64_RBP, &loc) == 0 && loc.type == UNW_SLT_MEMORY
                ? (uintptr_t)loc.u.addr
                : 0;
        if (learnable && !signal_frame) lc_unwind_rules_learn(&at, &next, bp_loc);
#endif
        learnable = !signal_frame;
        if (!next.pc) break;
        at = next;
    }
    if (!n) pcs[n++] = caller;
    return n;
}

/* Walks that taught the rules, on this thread (read by tests). */
static LC_TLS uint64_t learning_walks;

uint64_t lc_unwind_learning_walks(void) {
    return learning_walks;
}

/* Teaching costs more than a plain walk (each step's registers are read
 * back and recorded): only a walk that can teach a missing rule does it.
 * A frame whose rule was retired would otherwise make every walk through
 * it a learning one, for good. */
static int walk_dwarf(uintptr_t *pcs, int max, uintptr_t caller, bool teach) {
    if (teach && lc_unwind_rules_room()) {
        learning_walks++;
        return walk_dwarf_learning(pcs, max, caller);
    }
    void *buf[LC_MAX_DEPTH + 8];
    int got = lc_unwind_backtrace(buf, max + 8 < (int)(sizeof buf / sizeof buf[0])
                                           ? max + 8
                                           : (int)(sizeof buf / sizeof buf[0]));
    /* Drop the library's own frames: everything up to the interposer's
     * return address, which is the first frame of the report. */
    int start = 0;
    while (start < got && (uintptr_t)buf[start] != caller)
        start++;
    if (start == got) {
        pcs[0] = caller;
        return 1;
    }
    int n = 0;
    for (int i = start; i < got && n < max; i++)
        pcs[n++] = (uintptr_t)buf[i];
    return n;
}

/* The stack from the learned rules, from the interposer's caller on: its
 * frame starts where the interposer's ends (`frame` holds the saved frame
 * pointer, the return address above it). */
LC_CHILD_CODE static int walk_rules(uintptr_t *pcs, int max, void *frame, uintptr_t caller,
                                    lc_rules_end *end) {
    const uintptr_t *fp = frame;
    lc_frame_regs at = {.pc = caller, .sp = (uintptr_t)(fp + 2), .bp = lc_unwind_load_word(fp)};
    return lc_unwind_rules_walk(pcs, max, at, end);
}

/* libunwind needs several KiB of stack (its cursor, its context, and its
 * first look at a module's unwind tables more). A thread the C runtime
 * starts on the smallest stack it can (glibc's SIGEV_THREAD helper, which
 * allocates as it starts each notification) may not have them: there the
 * walk follows frame pointers, and an allocation inside libc keeps its libc
 * frame only. */
#define DWARF_STACK_NEEDED (64 * 1024)

LC_CHILD_CODE bool lc_unwind_room_for_dwarf(void *frame) {
    uintptr_t lo, hi, sp = (uintptr_t)frame;
    if (!lc_os_thread_stack(&lo, &hi) || lo <= 1) return true; /* main's grows */
    return sp > lo && sp - lo >= DWARF_STACK_NEEDED;
}

/* The learned rules from `frame` on, and libunwind where they end: it
 * learns the rule of a frame the rules were not taught. */
LC_CHILD_CODE static int walk_rules_then_dwarf(uintptr_t *pcs, int max, void *frame,
                                               uintptr_t caller) {
    lc_rules_end end;
    int n = walk_rules(pcs, max, frame, caller, &end);
    if (end == LC_RULES_COMPLETE) return n;
    /* libunwind finds unwind tables under the dynamic linker's lock, which
     * another thread's dl_iterate_phdr callback may keep as long as it
     * likes: the program's allocation would wait for it, as glibc's never
     * does. The frames the rules found are the stack then. */
    if (LC_UNLIKELY(lc_os_phdr_walk_elsewhere())) return n > 0 ? n : (pcs[0] = caller, 1);
    lc_os_phdr_impatient(true); /* one may begin meanwhile */
    int got = walk_dwarf(pcs, max, caller, end == LC_RULES_UNTAUGHT);
    lc_os_phdr_impatient(false);
    return got;
}

/* Frame pointers where DWARF cannot be afforded: out of line, as the
 * common walk is inlined. */
static __attribute__((noinline)) int walk_frame_pointers_alone(uintptr_t *pcs, int max, void *frame,
                                                               uintptr_t caller) {
    bool broken, changed;
    return walk_frame_pointers(pcs, max, frame, caller, lc_cfg.under_valgrind, &broken, &changed);
}

LC_HOT_CODE int lc_unwind_keyed(uintptr_t *pcs, int max, void *frame, uintptr_t caller,
                                uint32_t *key) {
    *key = 0;
    if (max <= 0) return 0;
    uint32_t begun = ++walked.begun;
    /* A caller the last complete walk started from was no runtime's. */
    bool known_caller = walked.n && caller == walked.pcs[0];
    bool dwarf = lc_cfg.unwind_dwarf || (!known_caller && lc_os_pc_in_runtime(caller));
    bool broken = false, changed = true;
    int n = 0;
    if (!dwarf) {
        n = LC_UNLIKELY(lc_cfg.under_valgrind)
                ? walk_frame_pointers(pcs, max, frame, caller, true, &broken, &changed)
                : walk_frame_pointers(pcs, max, frame, caller, false, &broken, &changed);
        /* The chain broke in code built without frame pointers: DWARF
         * finds the callers the chain lost, where the stack has room. */
        if (LC_LIKELY(!broken)) {
            uint32_t found = walked.key;
            if (changed || n != walked.n)
                found = ++walked.next_key ? walked.next_key : ++walked.next_key;
            walked.n = n;
            walked.key = found;
            if (LC_UNLIKELY(walked.begun != begun))
                walked.n = 0; /* a handler walked meanwhile: no key */
            else
                *key = found;
            return n;
        }
    }
    walked.n = 0;
    if (!lc_unwind_room_for_dwarf(frame))
        return dwarf ? walk_frame_pointers_alone(pcs, max, frame, caller) : n;
    return walk_rules_then_dwarf(pcs, max, frame, caller);
}

LC_HOT_CODE int lc_unwind(uintptr_t *pcs, int max, void *frame, uintptr_t caller) {
    uint32_t key;
    return lc_unwind_keyed(pcs, max, frame, caller, &key);
}

/* As lc_unwind, for a caller whose own frames down to the program's may
 * lack frame pointers (a sanitizer's allocation hook): the rules from the
 * caller's frame on, libunwind where they end. */
__attribute__((noinline)) int lc_unwind_dwarf_here(uintptr_t *pcs, int max) {
    if (max <= 0) return 0;
    void *frame = __builtin_frame_address(0);
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    return walk_rules_then_dwarf(pcs, max, frame, caller);
}

int lc_unwind_here(uintptr_t *pcs, int max, int skip) {
    void *buf[LC_MAX_DEPTH + 16];
    int want = max + skip;
    if (want > (int)(sizeof buf / sizeof buf[0])) want = (int)(sizeof buf / sizeof buf[0]);
    int got = lc_unwind_backtrace(buf, want);
    int n = 0;
    for (int i = skip; i < got && n < max; i++)
        pcs[n++] = (uintptr_t)buf[i];
    return n;
}

/* The callee-saved registers as they are in the frame `skip` levels above
 * the caller: a value the program keeps only in such a register across its
 * call into the library is either still in the register or in the save
 * slot a prologue on the way pushed it to, and the unwinder knows which. */
int lc_unwind_callee_saved(uintptr_t *out, int max, int skip) {
#if defined(__x86_64__)
    static const int regs[] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                               UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};
#elif defined(__aarch64__)
    static const int regs[] = {UNW_AARCH64_X19, UNW_AARCH64_X20, UNW_AARCH64_X21, UNW_AARCH64_X22,
                               UNW_AARCH64_X23, UNW_AARCH64_X24, UNW_AARCH64_X25, UNW_AARCH64_X26,
                               UNW_AARCH64_X27, UNW_AARCH64_X28, UNW_AARCH64_X29};
#else
    static const int regs[] = {UNW_REG_SP};
#endif
    unw_context_t ctx;
    unw_cursor_t cursor;
    int n = 0;
    lc_self_enter(); /* libunwind's caches are the library's, not the program's */
    if (unw_getcontext(&ctx) == 0 && unw_init_local(&cursor, &ctx) == 0) {
        int steps = 0;
        while (steps <= skip && unw_step(&cursor) > 0)
            steps++;
        for (size_t i = 0; steps > skip && i < sizeof regs / sizeof regs[0] && n < max; i++) {
            unw_word_t v;
            if (unw_get_reg(&cursor, regs[i], &v) == 0) out[n++] = (uintptr_t)v;
        }
    }
    lc_self_leave();
    return n;
}
