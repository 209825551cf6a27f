/* SPDX-License-Identifier: MIT */
/* stacks.h: stack capture (unwind.c) and the interned stack table
 * (stack_table.c). An allocation's stack is captured in the
 * interposer and stored once per distinct stack, with running totals. */
#ifndef LC_STACKS_H
#define LC_STACKS_H

#include "core.h"

typedef uint32_t lc_stack_id; /* 0: no stack recorded */

/* Capture the stack of an allocation: `frame` is the interposer's frame
 * address and `caller` its return address (the first frame reported). */
int lc_unwind(uintptr_t *pcs, int max, void *frame, uintptr_t caller);
/* The same, with a key for the frames found: a later walk of this thread
 * that finds the same frames gets the same nonzero key (0: no key, as for
 * a walk that needed DWARF information), and no other stack ever gets it. */
int lc_unwind_keyed(uintptr_t *pcs, int max, void *frame, uintptr_t caller, uint32_t *key);
/* Capture from a signal handler (thread dumps): full DWARF unwinding. */
int lc_unwind_here(uintptr_t *pcs, int max, int skip);
/* Whether the thread has the stack libunwind needs left below `frame`
 * (not on the minimal stack glibc gives its SIGEV_THREAD helper). */
bool lc_unwind_room_for_dwarf(void *frame);
/* The caller's stack, the return address into it first, from the learned
 * rules and, where they end, libunwind: for code whose frames down to the
 * program's may lack frame pointers (a sanitizer's hooks). */
int lc_unwind_dwarf_here(uintptr_t *pcs, int max);
/* Return addresses of the caller's stack from DWARF information, the
 * caller's own frame first (unw_backtrace's contract), with no per-thread
 * cache and no thread-specific key (unwind.c). */
int lc_unwind_backtrace(void **buf, int max);
void lc_unwind_init(void);

/* A frame as the rule walk sees it: its return address (or, for the first,
 * the interposer's) and the stack and frame pointers it runs with. */
typedef struct lc_frame_regs {
    uintptr_t pc, sp, bp;
} lc_frame_regs;
/* Step rules learned from libunwind, shared with every child forked later
 * (unwind_rules.c). The walk fills pcs from `at` and says where it ended:
 * where libunwind would have, at a frame no rule is confirmed for yet (a
 * learning walk of libunwind's can teach it), or at one no walk can teach
 * (a retired rule, a step out of the stack): libunwind's own walk, without
 * teaching, is then the fast one. */
typedef enum lc_rules_end { LC_RULES_COMPLETE, LC_RULES_UNTAUGHT, LC_RULES_STUCK } lc_rules_end;
void lc_unwind_rules_init(void);
bool lc_unwind_rules_room(void);
int lc_unwind_rules_walk(uintptr_t *pcs, int max, lc_frame_regs at, lc_rules_end *end);
/* libunwind stepped from `at` to `caller`; bp_loc is where it found the
 * caller's frame pointer saved (0: not in memory). */
void lc_unwind_rules_learn(const lc_frame_regs *at, const lc_frame_regs *caller, uintptr_t bp_loc);
void lc_unwind_rules_learn_outermost(uintptr_t pc);
/* Walks of the calling thread the rules finished without libunwind, and
 * walks of libunwind's that taught the rules (unwind.c). */
uint64_t lc_unwind_rules_walks(void);
uint64_t lc_unwind_learning_walks(void);
/* A word of the stack, declared defined to memcheck (unwind.c). */
uintptr_t lc_unwind_load_word(const uintptr_t *p);

lc_stack_id lc_stack_intern(const uintptr_t *pcs, int depth);
int lc_stack_get(lc_stack_id id, const uintptr_t **pcs);
void lc_stack_account(lc_stack_id id, size_t bytes);
/* Adds the counts this thread holds for its stacks to the records: before
 * the process gets a second thread (stack_table.c). */
void lc_stack_settle(void);
/* A thread that ends gives back its shard of the counters (threads.c). */
void lc_stack_thread_exit(void);
void lc_stack_totals(lc_stack_id id, uint64_t *objects, uint64_t *bytes);
uint32_t lc_stack_count(void);
void lc_stack_lock_all(void);
void lc_stack_unlock_all(void);

/* The checking thread's callee-saved registers as its caller had them when
 * it entered the library (unwind.c): a value the program keeps only in
 * such a register is a root. */
typedef struct lc_registers_at_entry {
    uintptr_t callee_saved[16];
    int n;
} lc_registers_at_entry;
int lc_unwind_callee_saved(uintptr_t *out, int max, int skip);

/* The same, taken inside the public function the program called (this is
 * inlined there; frame is its __builtin_frame_address(0)), without
 * libunwind: on x86-64 a callee-saved register the function's prologue
 * used was pushed just below its frame pointer (the library is built with
 * frame pointers), and any other still holds the caller's value. Both go
 * in, as roots a few extra words only make more conservative. Elsewhere,
 * libunwind steps out of the function. */
#if defined(__x86_64__)
#define LC_ENTRY_WORDS_BELOW_FRAME 8
#define LC_CALLEE_SAVED_AT_ENTRY(regs, frame)                                                      \
    do {                                                                                           \
        uintptr_t *out_ = (regs)->callee_saved;                                                    \
        __asm__ volatile("mov %%rbx, 0(%0)\n\t"                                                    \
                         "mov %%r12, 8(%0)\n\t"                                                    \
                         "mov %%r13, 16(%0)\n\t"                                                   \
                         "mov %%r14, 24(%0)\n\t"                                                   \
                         "mov %%r15, 32(%0)"                                                       \
                         :                                                                         \
                         : "r"(out_)                                                               \
                         : "memory");                                                              \
        const uintptr_t *frame_ = (const uintptr_t *)(frame);                                      \
        for (int i_ = 0; i_ <= LC_ENTRY_WORDS_BELOW_FRAME; i_++)                                   \
            out_[5 + i_] = lc_unwind_load_word(frame_ - i_); /* [0]: the caller's rbp */           \
        (regs)->n = 5 + LC_ENTRY_WORDS_BELOW_FRAME + 1;                                            \
    } while (0)
#else
#define LC_CALLEE_SAVED_AT_ENTRY(regs, frame)                                                      \
    ((regs)->n = lc_unwind_callee_saved((regs)->callee_saved, 16, 1), (void)(frame))
#endif

#endif
