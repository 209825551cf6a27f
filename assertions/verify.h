/* SPDX-License-Identifier: MIT */
/* verify.h: the check and its parts (verify.c): watched objects
 * (watch.c), retention paths (retention.c), the check of process mode, and
 * a failing check as test frameworks need it (test_report.c). */
#ifndef LC_VERIFY_H
#define LC_VERIFY_H

#include "budget.h"
#include "buf.h"
#include "collect.h"
#include "engine.h"
#include "heap.h"
#include "sanitizer.h"
#include "scan.h"
#include "thread.h"

/* The exit check: exit_frame is where the exiting thread called exit(),
 * its frames above are scanned with the registers it had then (0 and NULL:
 * no live frame, as after a return from main). */
int lc_verify_process(const lc_options *opts, lc_result *res, bool strict, uintptr_t exit_frame,
                      const lc_registers_at_entry *exit_regs);

/* lc_baseline, with or without memcheck's search under valgrind (each
 * search takes about a second); lc_baseline_searches counts those taken. */
void lc_baseline_ex(bool memcheck_search);
extern unsigned long lc_baseline_searches;
/* A fork's baseline: the parent's part (before the fork, in the forking
 * thread) and the child's (its fork handler). */
void lc_baseline_before_fork(void);
void lc_baseline_after_fork_child(void);
/* The baseline's heap sequence number: blocks at or after it are new. */
extern uint64_t lc_baseline_seq;
/* Write the baseline's and the present heap as profiles into
 * LEAKCHECK_PPROF_DIR and name them in t. Returns 0 when both were
 * written, -1 when they were not (or no directory was set). */
int lc_baseline_write_profiles(lc_buf *t);

/* A test framework's check failed (rc 1) or could not run (rc -1): print
 * the report, write the report file, and put the one-line summary in msg
 * (test_report.c). */
void lc_test_report_failure(int rc, const lc_result *res, const lc_options *opts, const char *name,
                            const char *file, int line, char *msg, size_t msglen);
/* The last check's retention paths as a Graphviz graph. */
const char *lc_last_report_dot(void);
/* The members of the last JSON report (lc_last_report_json) without the
 * braces around them, *len bytes from the pointer returned; "" and 0 when
 * there was no check. For a caller that renders them inside an object of
 * its own: the scenario runner's lines (assertions/scenario_runner.c). */
const char *lc_last_report_json_members(size_t *len);

/* Watched objects (assertions/watch.c): each watched block still live, as
 * the check's model holds it. */
typedef struct lc_watched {
    char label[64];
    uintptr_t addr;
    size_t bytes;
    lc_stack_id stack; /* where it was allocated */
} lc_watched;
/* The watched blocks still live, into out[0..cap); returns how many there
 * are (more than cap: the rest are left out). Forgets the watches whose
 * block was freed. */
size_t lc_watch_live(lc_watched *out, size_t cap);
int lc_watch_count(void);
#define LC_MAX_WATCHES 256

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

/* ------------------------------------------------------- the check's model
 *
 * A check is three stages over one plain struct: gather (threads after the
 * settle window, the heap copied and scanned, watched objects, the
 * engines' searches), judge (totals against the budget, the engines'
 * verdicts), render. The renderers (report.c) only read it: text, JSON,
 * Graphviz and the public lc_result. */

enum { LC_CLASS_UNREACHABLE, LC_CLASS_THREAD, LC_CLASS_REACHABLE, LC_NCLASSES };
extern const char *const lc_class_names[LC_NCLASSES];

/* Leaked blocks grouped by allocation stack and class. */
typedef struct lc_site {
    lc_stack_id stack;
    int klass;
    bool indirect; /* unreachable, and only lost blocks point to it */
    long long objects, bytes;
    size_t example; /* the block whose retention path is shown */
    uint32_t example_depth;
} lc_site;

/* The heap at a check: every live block, sorted by address, the marks of
 * the scan, and the sites of the leaked ones with their totals. */
typedef struct lc_heap_view {
    lc_block *all;
    size_t n, map_bytes;
    uint8_t *mark;
    size_t mark_bytes;
    lc_graph graph;
    lc_thread_roots troots;
    lc_retention retention;
    lc_site *sites;
    size_t nsites, sites_bytes;
    bool count_reachable; /* test mode, or process mode with --strict */
    bool incomplete;      /* out of memory while scanning */
    long long objects, bytes, unreachable_objects, unreachable_bytes;
    long long indirect_objects, indirect_bytes, thread_objects, thread_bytes;
    long long reachable_objects, reachable_bytes; /* listed, maybe not counted */
    long long suppressed_objects, suppressed_bytes;
    double scan_seconds;
} lc_heap_view;

typedef struct lc_check {
    /* gathered */
    lc_budget budget;
    int top; /* sites and threads shown in text */
    lc_thread_report *threads;
    long long nthreads;
    lc_heap_view heap;
    bool scanned; /* the scan finished */
    /* watched blocks still live, each with what retains it (npath 0: no
     * holder the scan knows of, or no scan) */
    struct lc_watched_view {
        lc_watched w;
        lc_path_elem path[LC_PATH_MAX];
        int npath;
        long skipped;
        bool scanned;
    } * watched;
    size_t watched_bytes;
    int watched_live;
    lc_engines engines; /* valgrind's memcheck, LSan: whichever runs */
    lc_buf profiles;    /* where a failing check's heap profiles went */
    /* judged */
    bool leak;   /* over the budget, in either engine, or a watched block live */
    int verdict; /* 1 leak, 0 clean, -1 no verdict (the scan did not finish) */
} lc_check;

void lc_report_text(lc_buf *b, const lc_check *c);
/* The members of the JSON report, without the braces around them: the
 * check wraps them in its object, the scenario runner in a line of its own
 * (lc_last_report_json_members). */
void lc_report_json_members(lc_buf *b, const lc_check *c);
void lc_report_dot(lc_buf *b, const lc_check *c);
void lc_report_result(const lc_check *c, lc_result *res);

#endif
