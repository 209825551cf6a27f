/* SPDX-License-Identifier: MIT */
/* fault.h: allocation-failure injection, the decision made inside every
 * allocation (fault.c). The sweep that drives it runs above the
 * check (assertions/fault_sweep.c). */
#ifndef LC_FAULT_H
#define LC_FAULT_H

#include "stacks.h"

/* Non-zero while injection is armed: the one branch the interposers pay
 * when it is not (fault.c). */
extern atomic_int lc_fault_armed;
static inline bool lc_fault_is_armed(void) {
    return atomic_load_explicit(&lc_fault_armed, memory_order_relaxed) != 0;
}
/* Counts an allocation of the program (the interposer's frame and return
 * address) and says whether it must fail. Call only when armed. */
bool lc_fault_fires(void *frame, uintptr_t caller);
/* Restart the count: a new baseline. fail_alloc is LEAKCHECK_FAIL_ALLOC's
 * value as the baseline reads it (the environment now, or the parent's at a
 * fork); without it the last injection is armed again. */
void lc_fault_baseline(const char *fail_alloc);
/* The stack of the first failure injected since arming; 0 when none. */
lc_stack_id lc_fault_failed_stack(void);
/* For the sweep: a child counts allocations after its single failure
 * (whether the code allocated again), how many were counted since arming,
 * and the scope in force (to put back after the sweep). */
void lc_fault_count_after_hit(bool on);
long lc_fault_counted(void);
#define LC_FAULT_SCOPE_MAX 128
void lc_fault_scope_get(char *out, size_t len);
/* Appends the failed allocation's stack to LEAKCHECK_FAULT_STATUS now, as
 * the exit does: for a run `leakcheck fault-sweep` is about to kill at its
 * deadline. Nothing without a status file or an injected failure. */
void lc_fault_write_status(void);

#endif
