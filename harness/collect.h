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
 * baseline and fork). A check's own search runs in lc_valgrind_judge. */
typedef struct lc_valgrind_counts {
    unsigned long leaked_bytes, dubious_bytes, leaked_blocks, dubious_blocks;
} lc_valgrind_counts;
void lc_valgrind_leak_check(lc_valgrind_counts *out);
/* The valgrind engine's verdict in a check (collect.c): memcheck's search
 * run at the check, its definitely-lost growth since the baseline judged
 * against the budget, beside the harness's own lost objects and bytes. */
typedef struct lc_valgrind_verdict {
    bool on;          /* the engine ran; nothing else is set otherwise */
    bool judged;      /* its growth is judged (not a fork's first check) */
    bool baseline;    /* growth since the baseline, else since start-up */
    bool over_budget; /* judged, and over the budget: the check leaks */
    lc_valgrind_counts counts;
    long long own_lost_objects, own_lost_bytes;
} lc_valgrind_verdict;
void lc_valgrind_judge(lc_valgrind_verdict *v, long long own_lost_objects, long long own_lost_bytes,
                       const struct lc_budget *budget);
/* The verdict as report text and as the JSON member "valgrind", saying
 * which engine found what and whether they agree; nothing when it is off. */
void lc_valgrind_text(struct lc_buf *text, const lc_valgrind_verdict *v);
void lc_valgrind_json(struct lc_buf *json, const lc_valgrind_verdict *v);

#endif
