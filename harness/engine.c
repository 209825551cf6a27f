/* SPDX-License-Identifier: MIT */
/* engine.c: the second leak engines behind one interface (engine.h).
 *
 * Each engine is a row of stages over its part of lc_engines, and the check
 * runs every row at every stage: an engine the program does not run under
 * returns at once. The rows are in report order (valgrind's part, then
 * LSan's). A new engine is a row here and its functions in a file of its
 * own; the check does not change. */
#include "engine.h"

typedef struct lc_engine {
    bool (*active)(void);
    void (*baseline)(void);
    void (*gather)(lc_engines *e);
    void (*judge)(lc_engines *e, long long own_objects, long long own_bytes, const lc_budget *b);
    void (*text)(lc_buf *text, const lc_engines *e);
    void (*json)(lc_buf *json, const lc_engines *e);
} lc_engine;

/* ---------------------------------------------------- valgrind memcheck */

static bool valgrind_active(void) {
    return lc_cfg.under_valgrind;
}
static void valgrind_baseline(void) {
    lc_valgrind_leak_check(NULL);
}
static void valgrind_judge(lc_engines *e, long long own_objects, long long own_bytes,
                           const lc_budget *b) {
    lc_valgrind_judge(&e->valgrind, own_objects, own_bytes, b);
    e->over_budget |= e->valgrind.over_budget;
}
static void valgrind_text(lc_buf *text, const lc_engines *e) {
    lc_valgrind_text(text, &e->valgrind);
}
static void valgrind_json(lc_buf *json, const lc_engines *e) {
    lc_valgrind_json(json, &e->valgrind);
}

/* ------------------------------------------------------- LeakSanitizer */

/* LSan's search covers the whole process, so it runs before the scan and
 * has no baseline; its finding is reported, the budget is the library's. */
static void lsan_gather(lc_engines *e) {
    lc_lsan_leak_check(&e->lsan);
}
static void lsan_text(lc_buf *text, const lc_engines *e) {
    lc_lsan_text(text, &e->lsan);
}
static void lsan_json(lc_buf *json, const lc_engines *e) {
    lc_lsan_json(json, &e->lsan);
}

static const lc_engine engines[] = {
    {valgrind_active, valgrind_baseline, NULL, valgrind_judge, valgrind_text, valgrind_json},
    {lc_sanitizer_hooked, NULL, lsan_gather, NULL, lsan_text, lsan_json},
};
#define NENGINES (sizeof engines / sizeof *engines)

bool lc_engines_active(void) {
    for (size_t i = 0; i < NENGINES; i++)
        if (engines[i].active()) return true;
    return false;
}

LC_CHILD_CODE void lc_engines_baseline(void) {
    for (size_t i = 0; i < NENGINES; i++)
        if (engines[i].baseline) engines[i].baseline();
}

void lc_engines_gather(lc_engines *e) {
    for (size_t i = 0; i < NENGINES; i++)
        if (engines[i].gather) engines[i].gather(e);
}

void lc_engines_judge(lc_engines *e, long long own_lost_objects, long long own_lost_bytes,
                      const lc_budget *budget) {
    e->over_budget = false;
    for (size_t i = 0; i < NENGINES; i++)
        if (engines[i].judge) engines[i].judge(e, own_lost_objects, own_lost_bytes, budget);
}

void lc_engines_text(lc_buf *text, const lc_engines *e) {
    for (size_t i = 0; i < NENGINES; i++)
        engines[i].text(text, e);
}

void lc_engines_json(lc_buf *json, const lc_engines *e) {
    for (size_t i = 0; i < NENGINES; i++)
        engines[i].json(json, e);
}
