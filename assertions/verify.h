/* SPDX-License-Identifier: MIT */
/* verify.h: the check and its parts (verify.c): watched objects
 * (watch.c), retention paths (retention.c), the check of process mode, and
 * a failing check as test frameworks need it (test_report.c). */
#ifndef LC_VERIFY_H
#define LC_VERIFY_H

#include "buf.h"
#include "scan.h"

/* The exit check: exit_frame is where the exiting thread called exit(),
 * its frames above are scanned with the registers it had then (0 and NULL:
 * no live frame, as after a return from main). */
int lc_verify_process(const lc_options *opts, lc_result *res, bool strict, uintptr_t exit_frame,
                      const lc_registers_at_entry *exit_regs);

/* lc_baseline, with or without memcheck's search under valgrind (each
 * search takes about a second); lc_baseline_searches counts those taken. */
void lc_baseline_ex(bool memcheck_search);
extern unsigned long lc_baseline_searches;

/* A test framework's check failed (rc 1) or could not run (rc -1): print
 * the report, write the report file, and put the one-line summary in msg
 * (test_report.c). */
void lc_test_report_failure(int rc, const lc_result *res, const lc_options *opts, const char *name,
                            const char *file, int line, char *msg, size_t msglen);
/* The last check's retention paths as a Graphviz graph. */
const char *lc_last_report_dot(void);

/* Watched objects (assertions/watch.c): adds each watched block still
 * live to the text report and a JSON array, with what retains it (`path`
 * appends the text lines and the JSON member); returns how many. */
typedef void (*lc_watch_path_fn)(uintptr_t addr, lc_buf *text, lc_buf *json, void *ctx);
int lc_watch_report(lc_buf *text, lc_buf *json, lc_watch_path_fn path, void *ctx);
int lc_watch_count(void);

/* Retention paths (assertions/retention.c): the chain that keeps a leaked
 * block alive, from its root down, as text, JSON and Graphviz. */
#define LC_PATH_MAX 24
typedef struct lc_path_elem {
    const char *kind; /* "global", "tls", "thread", "registers", "region", "block" */
    char name[192];
    lc_frame site; /* allocation site, declaration, or the frame holding it */
    bool has_site;
    long long offset; /* of the pointer in its holder (register number) */
    long long bytes;  /* blocks */
    const char *module;
    char owner[128]; /* thread-locals: the thread they belong to */
} lc_path_elem;
typedef struct lc_retention {
    const lc_graph *g;
    const lc_thread_report *threads;
    const lc_thread_roots *tr;
    uintptr_t caller_frame;
    bool process_mode;
} lc_retention;
int lc_retention_path(const lc_retention *r, size_t k, lc_path_elem *out, int max, long *skipped);
void lc_retention_text(lc_buf *b, const lc_path_elem *p, int n, long skipped, const char *indent);
void lc_retention_json(lc_buf *b, const lc_path_elem *p, int n, long skipped);
void lc_retention_dot(lc_buf *b, const lc_path_elem *p, int n, const char *leak_id,
                      const char *leak_label);

#endif
