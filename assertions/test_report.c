/* SPDX-License-Identifier: MIT */
/* test_report.c: a check's failure as a test framework needs it.
 *
 * Frameworks carry a failure message through narrow channels: Check packs
 * it into a record it refuses beyond 4 KiB (ending the whole runner), TAP
 * takes one line per result, JUnit and Check's XML put it in an attribute.
 * A report can be megabytes. So a framework gets a one-line summary (the
 * totals, the largest sites and threads, where the full report went), and
 * the full report goes once to the report stream and, with
 * LEAKCHECK_REPORT_DIR set, to a file named after the test.
 *
 * The per-test state (the test's name and place, whether a fixture wants a
 * check at its end) lives here, not in the framework headers, so that a
 * fixture armed in one translation unit is seen by test bodies in another. */
#include "budget.h"
#include "buf.h"
#include "core.h"
#include "os.h"
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under valgrind every baseline has memcheck search the heap, about a
 * second each. A test needs one search before its body: a second baseline
 * of the same test (the fixture's, then the body's; or the fork's, then
 * those) keeps the first. A search is wanted unless one ran since the
 * previous test began. */
LC_FORK_STATE static unsigned long searches_at_begin;
static void test_baseline(void) {
    lc_baseline_ex(lc_baseline_searches == searches_at_begin);
}

LC_FORK_STATE static struct {
    char name[128];
    char file[256];
    int line;
    bool began; /* lc_test_begin ran since the last arming */
    bool armed; /* a fixture wants a check at the test's end */
} cur;

LC_CHILD_CODE void lc_test_begin(const char *name, const char *file, int line) {
    lc_os_map_own_code(); /* the test's check will run through it */
    snprintf(cur.name, sizeof cur.name, "%s", name ? name : "");
    snprintf(cur.file, sizeof cur.file, "%s", file ? file : "");
    cur.line = line;
    cur.began = true;
    test_baseline();
    searches_at_begin = lc_baseline_searches;
}

void lc_test_arm(void) {
    cur.armed = true;
    cur.began = false;
    cur.name[0] = cur.file[0] = '\0';
    cur.line = 0;
    test_baseline(); /* for a test body that does not call lc_test_begin */
}

int lc_test_take_armed(void) {
    bool want = cur.armed && cur.began;
    if (want) cur.armed = false;
    return want;
}

int lc_test_disarm(void) {
    bool want = cur.armed && !cur.began;
    cur.armed = cur.began = false;
    return want;
}

/* ------------------------------------------------------------ summary */

/* Appends to a fixed buffer, keeping it one line: control characters
 * become spaces, and '#' (which starts a directive in a TAP result line)
 * is escaped as TAP allows. A piece that does not fit is dropped whole, and
 * so is everything after it; `full` records that it happened. */
typedef struct line_buf {
    char *s;
    size_t len, cap;
    bool full;
} line_buf;

static void line_put(line_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_put(line_buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (b->full) return;
    size_t start = b->len;
    for (const char *p = tmp; *p; p++) {
        char c = (unsigned char)*p < ' ' || *p == 0x7f ? ' ' : *p;
        size_t need = c == '#' ? 2 : 1;
        if (b->len + need + 1 > b->cap) {
            b->full = true;
            b->len = start;
            b->s[start] = '\0';
            return;
        }
        if (c == '#') b->s[b->len++] = '\\';
        b->s[b->len++] = c;
    }
    b->s[b->len] = '\0';
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The report file of a test: DIR/NAME.txt, the name kept to characters
 * safe in a path. */
static int write_report_file(const char *dir, const char *name, char *path, size_t pathlen,
                             char *err, size_t errlen) {
    char safe[128];
    size_t n = 0;
    for (const char *p = *name ? name : "test"; *p && n + 1 < sizeof safe; p++)
        safe[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                            (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'
                        ? *p
                        : '_';
    safe[n] = '\0';
    snprintf(path, pathlen, "%s/%s.txt", dir, safe);
    lc_self_enter(); /* stdio's buffer is the library's, not the test's */
    FILE *f = fopen(path, "w");
    int rc = -1;
    if (f) {
        bool ok = fputs(lc_last_report(), f) >= 0;
        ok = fclose(f) == 0 && ok;
        rc = ok ? 0 : -1;
    }
    if (rc != 0) snprintf(err, errlen, "%s", strerror(errno));
    lc_self_leave();
    return rc;
}

void lc_test_report_failure(int rc, const lc_result *res, const lc_options *opts, const char *name,
                            const char *file, int line, char *msg, size_t msglen) {
    if (!name) name = cur.name;
    if (!file || !*file) {
        file = cur.file;
        line = cur.line;
    }
    bool quiet = (opts && opts->quiet) || lc_cfg.quiet;
    FILE *out = opts && opts->out ? opts->out : stderr;
    if (!quiet) {
        fputs(lc_last_report(), out);
        fflush(out);
    }
    char path[768] = "", err[128] = "";
    const char *dir = getenv("LEAKCHECK_REPORT_DIR");
    int written =
        dir && *dir ? write_report_file(dir, name, path, sizeof path, err, sizeof err) : 1;
    if (!msg || msglen == 0) return;

    /* Where the full report went comes last but must never be cut: it is
     * composed first and the rest is given the room left. */
    char where_text[900];
    line_buf where = {where_text, 0, sizeof where_text, false};
    const char *stream = out == stderr ? "stderr" : out == stdout ? "stdout" : "the report stream";
    line_put(&where, "; full report: ");
    if (!quiet) line_put(&where, "%s", stream);
    if (written == 0) line_put(&where, "%s%s", quiet ? "" : " and ", path);
    if (written < 0) line_put(&where, "%s(could not write %s: %s)", quiet ? "" : " ", path, err);
    if (quiet && written != 0) line_put(&where, "lc_last_report()");

    /* Room for the rest: what `where` leaves, less 4 for " ..." when cut. */
    size_t room = msglen > where.len + 1 ? msglen - where.len : msglen;
    line_buf b = {msg, 0, room > 8 ? room - 4 : room, false};
    msg[0] = '\0';
    line_put(&b, "leakcheck: ");
    if (name && *name) line_put(&b, "%s", name);
    if (file && *file) line_put(&b, " (%s:%d)", base_name(file), line);
    if (rc < 0) {
        const char *text = lc_last_report();
        if (strncmp(text, "leakcheck: ", 11) == 0) text += 11;
        line_put(&b, ": check could not run: %s", text);
    } else {
        char sz[32], budget[96];
        lc_budget bud = {res->budget_bytes, res->budget_objects, res->budget_threads};
        lc_budget_format(&bud, budget, sizeof budget);
        line_put(&b, ": LEAK: %lld thread%s and %lld object%s (%s) leaked; budget %s",
                 res->leaked_threads, res->leaked_threads == 1 ? "" : "s", res->leaked_objects,
                 res->leaked_objects == 1 ? "" : "s",
                 lc_fmt_bytes(res->leaked_bytes, sz, sizeof sz), budget);
        if (res->watched_live)
            line_put(&b, "; %lld watched object%s still live", res->watched_live,
                     res->watched_live == 1 ? "" : "s");
        /* The three largest of each: enough to recognise the bug from a
         * dashboard; the report has the rest. */
        for (int i = 0; i < res->nthreads && i < 3; i++) {
            const lc_result_thread *t = &res->threads[i];
            line_put(&b, "%s%d thread%s %s", i ? ", " : "; threads: ", t->count,
                     t->count == 1 ? "" : "s", t->state);
            if (t->wait[0]) line_put(&b, " (%s)", t->wait);
            if (t->function[0]) line_put(&b, " in %s", t->function);
            if (t->created_by[0]) line_put(&b, ", created by %s", t->created_by);
        }
        if (res->nthreads > 3) line_put(&b, ", %d more groups", res->nthreads - 3);
        for (int i = 0; i < res->nsites && i < 3; i++) {
            const lc_result_site *s = &res->sites[i];
            line_put(&b, "%s%s in %lld object%s [%s] from %s",
                     i ? ", " : "; largest: ", lc_fmt_bytes(s->bytes, sz, sizeof sz), s->objects,
                     s->objects == 1 ? "" : "s", s->klass, s->function[0] ? s->function : "??");
            if (s->file[0]) line_put(&b, " (%s:%d)", base_name(s->file), s->line);
        }
        long long shown = 0;
        for (int i = 0; i < res->nsites && i < 3; i++)
            shown += res->sites[i].objects;
        if (res->leaked_objects > shown)
            line_put(&b, "; %lld more object%s from other sites", res->leaked_objects - shown,
                     res->leaked_objects - shown == 1 ? "" : "s");
    }
    if (b.full) {
        b.cap = room;
        b.full = false;
        line_put(&b, " ...");
    }
    /* Already made one line and escaped. */
    if (b.len + where.len < msglen) {
        memcpy(b.s + b.len, where_text, where.len + 1);
        b.len += where.len;
    }
}
