/* SPDX-License-Identifier: MIT */
/* engine.h: the second leak engines behind one interface (engine.c).
 *
 * Besides the library's own scan, a check asks whichever other leak engine
 * the program runs under: valgrind's memcheck (collect.c) or LeakSanitizer
 * (sanitizer.c). The check calls the stages below and reads only
 * over_budget; which engine ran, and what it found, is the engines' own
 * business and that of their part of the report. An engine the program does
 * not run under does nothing at any stage. */
#ifndef LC_ENGINE_H
#define LC_ENGINE_H

#include "budget.h"
#include "buf.h"
#include "collect.h"
#include "sanitizer.h"

/* What the engines found at one check. */
typedef struct lc_engines {
    lc_valgrind_verdict valgrind;
    lc_lsan_result lsan;
    bool over_budget; /* an engine judged the check over its budget */
} lc_engines;

/* Whether any engine besides the library's own has a say in a check. */
bool lc_engines_active(void);
/* At a baseline (and so at every fork): each engine's own starting point. */
void lc_engines_baseline(void);
/* At a check, before the library's scan: the searches that cover the whole
 * process on their own. */
void lc_engines_gather(lc_engines *e);
/* At a check, after the scan: the searches judged against the budget,
 * beside the library's own lost objects and bytes. */
void lc_engines_judge(lc_engines *e, long long own_lost_objects, long long own_lost_bytes,
                      const lc_budget *budget);
/* Their parts of the report: text, and the JSON members after the check's
 * own. Renderers only: the verdicts were made in lc_engines_judge. */
void lc_engines_text(lc_buf *text, const lc_engines *e);
void lc_engines_json(lc_buf *json, const lc_engines *e);

#endif
