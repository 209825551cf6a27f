/* SPDX-License-Identifier: MIT */
/* suppress.h: suppression rules (suppress.c). */
#ifndef LC_SUPPRESS_H
#define LC_SUPPRESS_H

#include "buf.h"
#include "stacks.h"

/* LeakSanitizer-style suppression files (suppress.c): `leak:PATTERN` lines
 * matched against the function, file and module of every frame of a
 * leaked block's allocation stack, `thread:PATTERN` against a leaked
 * thread's stack, start routine and creator; `#` comments. The files named
 * by LEAKCHECK_SUPPRESSIONS (colon-separated) are loaded at the first check.
 * Returns 0, or -1 with "FILE:LINE: problem" (or the open error) in err. */
int lc_suppress_load_file(const char *path, char *err, size_t errlen);
int lc_suppress_load_env(char *err, size_t errlen);
/* Start counting for a new check. */
void lc_suppress_begin_check(void);
/* Whether a leaked block with this allocation stack is suppressed; counts
 * it against the matching pattern when it is. */
bool lc_suppress_leak(lc_stack_id stack, size_t bytes);
/* Before a run of lc_suppress_leak, when asks_files (leak rules, and the
 * supervisor to ask): every stack it will be asked about, then wanted(), so
 * that the files the rules may need are asked for in one exchange
 * (symbols.h). */
bool lc_suppress_asks_files(void);
void lc_suppress_want(lc_stack_id stack);
void lc_suppress_wanted(void);
/* Whether a leaked thread is suppressed (its captured stack, its start
 * routine, its creation stack); counts it when it is. */
bool lc_suppress_thread(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                        lc_stack_id created_by);
/* The same question without counting, for the settle loop, which asks at
 * every attempt (a suppressed thread must not make it wait the whole
 * window) while only the final verdict is counted; and whether any
 * `thread:` rule is loaded, so that stacks are captured for it. */
bool lc_suppress_thread_matches(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                                lc_stack_id created_by);
bool lc_suppress_has_thread_rules(void);
/* What was suppressed in this check: totals, and per pattern for the
 * report ("suppressed": [{"pattern", "objects", "bytes", "threads"}]). */
void lc_suppress_totals(long long *objects, long long *bytes, long long *threads);
void lc_suppress_report_text(struct lc_buf *text);
void lc_suppress_report_json(struct lc_buf *json);
/* Forget every rule and the environment's verdict, so that the next
 * lc_suppress_load_env reads LEAKCHECK_SUPPRESSIONS again (tests that run
 * many checks in one process). */
void lc_suppress_reset(void);
/* Whether one pattern, as written after `leak:` or `thread:`, matches a
 * name: the matching rule of the files, on its own. */
bool lc_suppress_pattern_matches(const char *pattern, const char *text);

#endif
