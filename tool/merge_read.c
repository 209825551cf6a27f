/* SPDX-License-Identifier: MIT */
/* merge_read.c: reading a shard's output for `leakcheck merge` (merge.h).
 *
 * Two small readers of the tool's own writers, not general parsers: JSON
 * lines are checked to be whole objects and only their top-level members
 * are looked at (the variant lines are copied to the merged report as
 * they are); JUnit XML is read in the exact shape junit.c writes, with the
 * entities it writes, so that a merged document says what the shards said
 * byte for byte. A file is refused at the first thing that is not so,
 * with the line or byte where it went wrong. */
#include "merge.h"
#include "opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Larger than any output of a run: a file past it is not one. */
#define MAX_INPUT (512L << 20)

static int bad(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const char *path, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return lc_opts_fail("merge", "%s: %s", path, why);
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *t = malloc(cap);
    int err = t ? 0 : ENOMEM;
    errno = 0;
    while (!err && (got = fread(t + len, 1, cap - 1 - len, f)) > 0) {
        len += got;
        if (len + 1 < cap) continue;
        char *g = cap < (size_t)MAX_INPUT ? realloc(t, 2 * cap) : NULL;
        if (!g) {
            err = cap < (size_t)MAX_INPUT ? ENOMEM : EFBIG;
        } else {
            t = g;
            cap *= 2;
        }
    }
    if (!err && ferror(f)) err = errno ? errno : EIO;
    fclose(f);
    if (err) {
        free(t);
        errno = err;
        return NULL;
    }
    t[len] = '\0';
    *size = len;
    return t;
}

/* ------------------------------------------------------------ JSON lines */

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Past the string at p (at its '"'); NULL when it is not one. */
static const char *skip_string(const char *p) {
    for (p++; *p; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            if (!*++p) return NULL;
            continue; /* the escaped character, whatever it is */
        }
        if (*p == '"') return p + 1;
    }
    return NULL;
}

/* Past the JSON value at p; NULL when there is none. Literals and numbers
 * are taken by their characters: the writer's own, never checked finer. */
static const char *skip_value(const char *p, int depth) {
    p = ws(p);
    if (depth > 64) return NULL;
    if (*p == '"') return skip_string(p);
    if (*p != '{' && *p != '[') {
        size_t n = strspn(p, "0123456789+-.eEtruefalsn");
        return n ? p + n : NULL;
    }
    bool object = *p == '{';
    char close = object ? '}' : ']';
    p = ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (object) {
            if (*p != '"' || !(p = skip_string(p))) return NULL;
            p = ws(p);
            if (*p++ != ':') return NULL;
        }
        if (!(p = skip_value(p, depth + 1))) return NULL;
        p = ws(p);
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = ws(p + 1);
    }
}

/* The value of the top-level member `key` of the object on `line`: 1 with
 * its span, 0 when it has none, -1 when the line is not one JSON object. */
static int member(const char *line, const char *key, const char **v, size_t *vlen) {
    const char *p = ws(line);
    size_t klen = strlen(key);
    int found = 0;
    if (*p != '{') return -1;
    p = ws(p + 1);
    if (*p == '}') return *ws(p + 1) ? -1 : 0;
    for (;;) {
        const char *k = p + 1, *e = *p == '"' ? skip_string(p) : NULL;
        if (!e) return -1;
        p = ws(e);
        if (*p++ != ':') return -1;
        p = ws(p);
        const char *end = skip_value(p, 0);
        if (!end) return -1;
        if (!found && (size_t)(e - 1 - k) == klen && memcmp(k, key, klen) == 0) {
            *v = p;
            *vlen = (size_t)(end - p);
            found = 1;
        }
        p = ws(end);
        if (*p == '}') return *ws(p + 1) ? -1 : found;
        if (*p != ',') return -1;
        p = ws(p + 1);
    }
}

/* A run identity (shard.h) as written: 16 lowercase hex digits. */
static bool copy_run_id(const char *v, size_t len, char out[LC_SHARD_RUN_ID_LEN]) {
    if (len != LC_SHARD_RUN_ID_LEN - 1 || strspn(v, "0123456789abcdef") < len) return false;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

static bool is_string(const char *v, size_t len, const char *s) {
    size_t n = strlen(s);
    return len == n + 2 && v[0] == '"' && memcmp(v + 1, s, n) == 0 && v[n + 1] == '"';
}

/* A member that is an integer of at least 0; -1 when it is not one. */
static long count_member(const char *line, const char *key) {
    const char *v;
    size_t len;
    if (member(line, key, &v, &len) != 1 || len == 0 || len > 18 || strspn(v, "0123456789") != len)
        return -1;
    return strtol(v, NULL, 10);
}

/* The shard's summary line (shard.h, scenarios_cmd.c). */
static int read_summary(const char *path, size_t lineno, const char *line, shard_file *f) {
    const char *v;
    size_t len;
    if (member(line, "command", &v, &len) != 1 || !is_string(v, len, "scenarios run"))
        return bad(path, "line %zu is a shard line of no command merge can join", lineno);
    long k = count_member(line, "shard"), n = count_member(line, "shards");
    f->total = count_member(line, "total");
    long variants = count_member(line, "variants");
    long unmet = count_member(line, "expectations_not_met");
    if (n < 1 || n > LC_SHARD_MAX || k < 1 || k > n || f->total < 0 || variants < 0 || unmet < 0)
        return bad(path,
                   "line %zu: a shard line without a valid shard, shards, total, "
                   "variants or expectations_not_met",
                   lineno);
    f->shard = (lc_shard){(int)k, (int)n};
    if (member(line, "run", &v, &len) != 1 || len < 2 || !copy_run_id(v + 1, len - 2, f->run))
        return bad(path, "line %zu: a shard line without a valid run", lineno);
    if ((size_t)variants != f->nlines || unmet != f->unmet)
        return bad(path,
                   "its shard line counts %ld variants, %ld not met, above it are %zu, %ld "
                   "not met: the file is incomplete",
                   variants, unmet, f->nlines, f->unmet);
    size_t want = lc_shard_count(&f->shard, (size_t)f->total);
    if (want != f->nlines)
        return bad(path, "shard %ld/%ld of a run of %ld variants holds %zu of them, not %zu", k, n,
                   f->total, want, f->nlines);
    return 0;
}

/* The one document of `fault-sweep --shard K/N --format json`: its shard
 * members, the header the merged document repeats, and each failure point
 * as a line (the point's object, NUL-terminated in data). */
static int read_fault_json(const char *path, char *line, shard_file *f) {
    const char *v, *points;
    size_t len, plen;
    f->kind = MERGE_FAULT_SWEEP;
    long k = count_member(line, "shard"), n = count_member(line, "shards");
    if (n < 1 || n > LC_SHARD_MAX || k < 1 || k > n)
        return bad(path, "a fault-sweep document without a valid shard and shards: not the "
                         "output of fault-sweep --shard K/N --format json");
    f->shard = (lc_shard){(int)k, (int)n};
    if (member(line, "run", &v, &len) != 1 || len < 2 || !copy_run_id(v + 1, len - 2, f->run))
        return bad(path, "a fault-sweep shard without a valid run");
    if (member(line, "end", &v, &len) != 1) return bad(path, "a fault-sweep shard without its end");
    f->end = len == 4 && memcmp(v, "null", 4) == 0 ? 0 : count_member(line, "end");
    if (f->end < 0) return bad(path, "a fault-sweep shard whose end is not a number or null");
    const char *keys[] = {"command", "scope", "timeout_seconds"};
    for (int i = 0; i < 3; i++)
        if (member(line, keys[i], &f->header[i], &f->header_len[i]) != 1)
            return bad(path, "a fault-sweep shard without its %s", keys[i]);
    if (member(line, "seconds", &v, &len) != 1 || (f->seconds = strtod(v, NULL)) < 0)
        return bad(path, "a fault-sweep shard without its seconds");
    if (member(line, "points", &points, &plen) != 1 || *points != '[')
        return bad(path, "a fault-sweep shard without its points");
    size_t cap = 0;
    char *p = (char *)ws(points + 1);
    while (*p != ']') {
        char *end = (char *)skip_value(p, 0);
        if (!end || *p != '{') return bad(path, "a failure point that is not one JSON object");
        char *sep = (char *)ws(end);
        char after = *sep;
        if (after != ',' && after != ']') return bad(path, "its points are not one JSON array");
        *end = '\0'; /* the point alone; the separator was read */
        if (count_member(p, "allocation") < 1)
            return bad(path, "a failure point without its allocation");
        if (f->nlines == cap) {
            char **g = realloc(f->lines, (cap = cap ? 2 * cap : 32) * sizeof *g);
            if (!g) return bad(path, "out of memory");
            f->lines = g;
        }
        f->lines[f->nlines++] = p;
        if (after == ']') break;
        p = (char *)ws(sep + 1);
    }
    return 0;
}

static int read_json(const char *path, shard_file *f) {
    f->format = MERGE_JSON;
    f->kind = MERGE_SCENARIOS;
    bool summary = false;
    size_t lineno = 0, cap = 0;
    for (char *line = f->data, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (!*ws(line)) continue;
        const char *v;
        size_t len;
        int has = member(line, "schema", &v, &len);
        if (has < 0) return bad(path, "line %zu is not one JSON object", lineno);
        if (!has || !is_string(v, len, "leakcheck/1"))
            return bad(path, "line %zu is not a leakcheck/1 document", lineno);
        if (summary)
            return bad(path, "line %zu follows the shard line, which ends a shard", lineno);
        if (lineno == 1 && member(line, "kind", &v, &len) == 1 &&
            is_string(v, len, "fault-sweep")) {
            if (next && *ws(next))
                return bad(path, "more than the one document of a fault-sweep shard");
            return read_fault_json(path, line, f);
        }
        if (member(line, "kind", &v, &len) == 1) {
            if (!is_string(v, len, "shard"))
                return bad(path, "line %zu is a leakcheck/1 document of kind %.*s, not a shard's",
                           lineno, (int)(len > 40 ? 40 : len), v);
            if (read_summary(path, lineno, line, f) != 0) return LC_EXIT_USAGE;
            summary = true;
            continue;
        }
        if (member(line, "scenario", &v, &len) != 1)
            return bad(path, "line %zu is a leakcheck/1 report, not a line of scenarios run",
                       lineno);
        if (member(line, "expectation_met", &v, &len) != 1 ||
            !((len == 4 && memcmp(v, "true", 4) == 0) || (len == 5 && memcmp(v, "false", 5) == 0)))
            return bad(path, "line %zu has no expectation_met of true or false", lineno);
        f->unmet += len == 5; /* false */
        if (f->nlines == cap) {
            char **g = realloc(f->lines, (cap = cap ? 2 * cap : 32) * sizeof *g);
            if (!g) return bad(path, "out of memory");
            f->lines = g;
        }
        f->lines[f->nlines++] = line;
    }
    if (!summary)
        return bad(path, "no shard line at its end: not the output of scenarios run --shard K/N "
                         "--format json");
    return 0;
}

/* ------------------------------------------------------------ JUnit XML */

typedef struct xml {
    const char *start, *p;
} xml;

static void xws(xml *x) {
    x->p += strspn(x->p, " \t\r\n");
}

static bool xlit(xml *x, const char *s) {
    xws(x);
    size_t n = strlen(s);
    if (strncmp(x->p, s, n) != 0) return false;
    x->p += n;
    return true;
}

/* The text up to `stop` ('"' in an attribute, '<' in an element), with
 * the entities junit.c writes decoded; NULL at anything else. */
static char *xtext(xml *x, char stop) {
    static const struct {
        const char *entity;
        char c;
    } entities[] = {{"&amp;", '&'},   {"&lt;", '<'},  {"&gt;", '>'},   {"&quot;", '"'},
                    {"&apos;", '\''}, {"&#9;", '\t'}, {"&#10;", '\n'}, {"&#13;", '\r'}};
    lc_buf b = {0};
    const char *p = x->p;
    const char *plain = stop == '"' ? "&\"<" : "&<";
    while (*p && *p != stop) {
        size_t n = strcspn(p, plain);
        if (n) {
            lc_buf_printf(&b, "%.*s", (int)n, p);
            p += n;
            continue;
        }
        size_t i = 0, count = sizeof entities / sizeof *entities;
        while (i < count && strncmp(p, entities[i].entity, strlen(entities[i].entity)) != 0)
            i++;
        if (i == count) break;
        lc_buf_printf(&b, "%c", entities[i].c);
        p += strlen(entities[i].entity);
    }
    if (*p != stop || b.failed) {
        lc_buf_free(&b);
        return NULL;
    }
    x->p = p;
    return b.data ? b.data : strdup("");
}

/* The attributes of an element whose name was read, up to its '>' or
 * "/>" (then closed is set). */
#define MAX_ATTRS 10
typedef struct xattrs {
    size_t n;
    char *name[MAX_ATTRS], *value[MAX_ATTRS];
    bool closed;
} xattrs;

static void xattrs_free(xattrs *a) {
    for (size_t i = 0; i < a->n; i++) {
        free(a->name[i]);
        free(a->value[i]);
    }
    a->n = 0;
}

static bool xattrs_read(xml *x, xattrs *a) {
    a->n = 0;
    a->closed = false;
    for (;;) {
        if (xlit(x, "/>")) return a->closed = true;
        if (xlit(x, ">")) return true;
        size_t n = strspn(x->p, "abcdefghijklmnopqrstuvwxyz-");
        if (n == 0 || a->n == MAX_ATTRS || x->p[n] != '=' || x->p[n + 1] != '"') return false;
        a->name[a->n] = strndup(x->p, n);
        x->p += n + 2;
        a->value[a->n] = xtext(x, '"');
        if (!a->name[a->n] || !a->value[a->n]) {
            a->n++;
            return false;
        }
        a->n++;
        x->p++; /* the closing '"' */
    }
}

static const char *xattr(const xattrs *a, const char *name) {
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0) return a->value[i];
    return NULL;
}

static char *xattr_dup(const xattrs *a, const char *name) {
    const char *v = xattr(a, name);
    return v ? strdup(v) : NULL;
}

static long xattr_count(const xattrs *a, const char *name) {
    const char *v = xattr(a, name);
    if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18) return -1;
    return strtol(v, NULL, 10);
}

static void free_case(lc_junit_case *c) {
    free((char *)c->classname);
    free((char *)c->name);
    free((char *)c->type);
    free((char *)c->message);
    free((char *)c->text);
    free((char *)c->output);
}

/* One <testcase>, its name read. false when it is not as junit.c writes. */
static bool read_case(xml *x, lc_junit_case *c) {
    xattrs a;
    bool ok =
        xattrs_read(x, &a) && xattr(&a, "classname") && xattr(&a, "name") && xattr(&a, "time");
    if (ok) {
        c->classname = xattr_dup(&a, "classname");
        c->name = xattr_dup(&a, "name");
        c->seconds = strtod(xattr(&a, "time"), NULL);
        ok = c->classname && c->name;
    }
    bool body = ok && !a.closed;
    xattrs_free(&a);
    if (!body) return ok;
    bool failure = xlit(x, "<failure");
    if (failure || xlit(x, "<error")) {
        c->outcome = failure ? LC_JUNIT_FAILED : LC_JUNIT_ERRORED;
        if (!xattrs_read(x, &a) || a.closed || !xattr(&a, "message") || !xattr(&a, "type")) {
            xattrs_free(&a);
            return false;
        }
        c->message = xattr_dup(&a, "message");
        c->type = xattr_dup(&a, "type");
        xattrs_free(&a);
        char *text = xtext(x, '<');
        c->text = text && *text ? text : NULL;
        if (text && !*text) free(text);
        if (!text || !c->message || !c->type || !xlit(x, failure ? "</failure>" : "</error>"))
            return false;
    }
    if (xlit(x, "<system-out>")) {
        char *out = xtext(x, '<');
        c->output = out;
        if (!out || !xlit(x, "</system-out>")) return false;
    }
    return xlit(x, "</testcase>");
}

/* The <properties> of a shard's <testsuite>, into f. */
static bool read_properties(xml *x, const char **shard, const char **total, const char **end,
                            const char **run, xattrs *props, size_t max) {
    size_t n = 0;
    if (!xlit(x, "<properties>")) return true;
    while (xlit(x, "<property")) {
        if (n == max || !xattrs_read(x, &props[n]) || !props[n++].closed) return false;
        const char *name = xattr(&props[n - 1], "name"), *value = xattr(&props[n - 1], "value");
        if (!name || !value) return false;
        if (strcmp(name, LC_SHARD_PROP_SHARD) == 0) *shard = value;
        if (strcmp(name, LC_SHARD_PROP_TOTAL) == 0) *total = value;
        if (strcmp(name, LC_SHARD_PROP_END) == 0) *end = value;
        if (strcmp(name, LC_SHARD_PROP_RUN) == 0) *run = value;
    }
    return xlit(x, "</properties>");
}

static bool read_cases(xml *x, shard_file *f) {
    size_t cap = 0;
    while (xlit(x, "<testcase")) {
        if (f->ncases == cap) {
            lc_junit_case *g = realloc(f->cases, (cap = cap ? 2 * cap : 32) * sizeof *g);
            if (!g) return false;
            f->cases = g;
        }
        lc_junit_case *c = &f->cases[f->ncases++];
        memset(c, 0, sizeof *c);
        if (!read_case(x, c)) return false;
    }
    return true;
}

static double parse_stamp(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    return end && !*end ? (double)timegm(&tm) : 0;
}

/* The failure point of a fault-sweep case ("allocation N failing"), or 0. */
long lc_merge_case_point(const lc_junit_case *c) {
    long n = 0;
    int used = 0;
    if (sscanf(c->name, "allocation %ld failing%n", &n, &used) != 1 || n < 1) return 0;
    const char *rest = c->name + used;
    return !*rest || strcmp(rest, " (not reached)") == 0 ? n : 0;
}

/* What the properties of a suite say, checked against its cases. */
static int read_shard_props(const char *path, shard_file *f, const char *shard, const char *total,
                            const char *end, const char *run) {
    char why[128];
    if (!shard)
        return bad(path, "no %s property: not the output of a run with --shard K/N",
                   LC_SHARD_PROP_SHARD);
    if (lc_shard_parse(shard, &f->shard, why, sizeof why) != 0)
        return bad(path, "%s %s", LC_SHARD_PROP_SHARD, why);
    if (!run || !copy_run_id(run, strlen(run), f->run))
        return bad(path, "no valid %s property", LC_SHARD_PROP_RUN);
    if (f->kind == MERGE_SCENARIOS) {
        char *e = NULL;
        f->total = total && *total ? strtol(total, &e, 10) : -1;
        if (f->total < 0 || (e && *e))
            return bad(path, "no valid %s property", LC_SHARD_PROP_TOTAL);
        size_t want = lc_shard_count(&f->shard, (size_t)f->total);
        if (want != f->ncases)
            return bad(path, "shard %s of a run of %ld variants holds %zu of them, not %zu", shard,
                       f->total, want, f->ncases);
        return 0;
    }
    char *e = NULL;
    f->end = end && strcmp(end, "none") == 0 ? 0 : end && *end ? strtol(end, &e, 10) : -1;
    if (f->end < 0 || (e && *e) || (e && f->end == 0))
        return bad(path, "no valid %s property", LC_SHARD_PROP_END);
    for (size_t i = 0; i < f->ncases; i++) {
        long n = lc_merge_case_point(&f->cases[i]);
        if (n == 0 || !lc_shard_owns(&f->shard, (size_t)(n - 1)) || (f->end && n > f->end))
            return bad(path, "test case '%s' is not a failure point of shard %s%s",
                       f->cases[i].name, shard, f->end ? " before the sweep's end" : "");
    }
    return 0;
}

/* A scenario run's suite: "leakcheck scenarios run", or "PROGRAM run" of a
 * user's scenario program (lc_scenarios_main). */
static bool scenario_suite(const char *name) {
    size_t len = strlen(name);
    return strncmp(name, "leakcheck fault-sweep ", 22) != 0 && len > 4 &&
           strcmp(name + len - 4, " run") == 0;
}

static int read_junit(const char *path, shard_file *f) {
    f->format = MERGE_JUNIT;
    xml x = {f->data, f->data};
    xattrs suites = {0}, suite = {0}, props[8] = {{0}};
    const char *shard = NULL, *total = NULL, *end = NULL, *run = NULL;
    bool ok = xlit(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>") && xlit(&x, "<testsuites") &&
              xattrs_read(&x, &suites) && !suites.closed && xlit(&x, "<testsuite") &&
              xattrs_read(&x, &suite) && !suite.closed &&
              read_properties(&x, &shard, &total, &end, &run, props, 8) && read_cases(&x, f) &&
              xlit(&x, "</testsuite>") && xlit(&x, "</testsuites>");
    if (ok) xws(&x);
    int rc = 0;
    const char *name = xattr(&suite, "name");
    long tests = xattr_count(&suite, "tests"), failures = xattr_count(&suite, "failures"),
         errors = xattr_count(&suite, "errors");
    size_t nfail = 0, nerr = 0;
    for (size_t i = 0; i < f->ncases; i++) {
        nfail += f->cases[i].outcome == LC_JUNIT_FAILED;
        nerr += f->cases[i].outcome == LC_JUNIT_ERRORED;
    }
    if (!ok || *x.p || !name)
        rc = bad(path, "not JUnit XML as leakcheck writes it (at byte %zu)",
                 (size_t)(x.p - x.start));
    else if (tests != (long)f->ncases || failures != (long)nfail || errors != (long)nerr)
        rc = bad(path,
                 "its suite counts tests=%ld failures=%ld errors=%ld, its test cases %zu, "
                 "%zu, %zu: the file was altered",
                 tests, failures, errors, f->ncases, nfail, nerr);
    else if (!scenario_suite(name) && strncmp(name, "leakcheck fault-sweep ", 22) != 0)
        rc = bad(path, "a JUnit suite named '%s', not of scenarios run or fault-sweep", name);
    if (rc == 0) {
        f->kind = scenario_suite(name) ? MERGE_SCENARIOS : MERGE_FAULT_SWEEP;
        f->suite = strdup(name);
        f->seconds = strtod(xattr(&suite, "time") ? xattr(&suite, "time") : "0", NULL);
        f->started = parse_stamp(xattr(&suite, "timestamp"));
        rc = f->suite ? read_shard_props(path, f, shard, total, end, run)
                      : bad(path, "out of memory");
    }
    xattrs_free(&suites);
    xattrs_free(&suite);
    for (size_t i = 0; i < 8; i++)
        xattrs_free(&props[i]);
    return rc;
}

/* ------------------------------------------------------------ the file */

int lc_merge_read(const char *path, shard_file *f) {
    memset(f, 0, sizeof *f);
    f->path = path;
    size_t len;
    if (!(f->data = slurp(path, &len))) return bad(path, "cannot read it: %s", strerror(errno));
    if (strlen(f->data) != len) return bad(path, "holds a NUL byte: not a text file");
    const char *p = f->data + strspn(f->data, " \t\r\n");
    if (*p == '{') return read_json(path, f);
    if (*p == '<') return read_junit(path, f);
    return bad(path, *p ? "neither JSON nor JUnit XML written by leakcheck" : "empty");
}

long lc_merge_json_point(const char *point) {
    long n = count_member(point, "allocation");
    return n > 0 ? n : 0;
}

void lc_merge_free(shard_file *f) {
    for (size_t i = 0; i < f->ncases; i++)
        free_case(&f->cases[i]);
    free(f->cases);
    free(f->lines);
    free(f->suite);
    free(f->data);
}
