/* SPDX-License-Identifier: MIT */
/* collect.h: collection points (collect.c): the program's collection
 * hooks, and valgrind's memcheck as a second leak engine. */
#ifndef LC_COLLECT_H
#define LC_COLLECT_H

#include "budget.h"
#include "buf.h"

/* Runs the hooks; -1 (and runs none) when called from inside one of them. */
int lc_collect_run_hooks(void);
/* Whether this thread is running the hooks now. */
bool lc_collect_in_hook(void);

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

#endif
