/* SPDX-License-Identifier: MIT */
/* budget.h: what a check tolerates (budget.c): bytes, objects, threads. */
#ifndef LC_BUDGET_H
#define LC_BUDGET_H

#include "core.h"

typedef struct lc_budget {
    long long bytes, objects, threads; /* -1: unlimited */
} lc_budget;
/* Parse "bytes=1M,objects=10,threads=0" into *b, overriding only the
 * fields named. Returns 0, or -1 with a message naming the bad part. */
int lc_budget_parse(const char *text, lc_budget *b, char *err, size_t errlen);
void lc_budget_format(const lc_budget *b, char *out, size_t len);

#endif
