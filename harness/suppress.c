/* SPDX-License-Identifier: MIT */
/* suppress.c: LeakSanitizer-style suppression files.
 *
 * Programs leak on purpose (a cache kept until exit) or through code their
 * authors cannot change (a third-party library); a suppression file names
 * those leaks once instead of raising the whole budget. The syntax is
 * LeakSanitizer's, so existing files keep working: `leak:PATTERN` is matched
 * against the function, source file and module of every frame of a leaked
 * block's allocation stack, `thread:PATTERN` against a leaked thread's
 * stack, start routine and creation stack. A pattern matches anywhere in
 * the name unless anchored with a leading `^` or a trailing `$`; `*` matches
 * any run of characters.
 *
 * A check may see a million leaked blocks sharing a few hundred stacks, so
 * the verdict for a stack is computed once per check and kept in a table
 * indexed by stack id. Rules, patterns and that table live in pages from
 * the OS: this file runs inside checks, where an allocation through malloc
 * would be tracked as the program's. */
#include "buf.h"
#include "os.h"
#include "stacks.h"
#include "suppress.h"
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KIND_LEAK, KIND_THREAD };
static const char *const kind_names[] = {"leak", "thread"};

typedef struct rule {
    int kind;
    uint32_t text; /* arena offset of the pattern as written */
    uint32_t glob; /* arena offset of the pattern as a glob: anchors made explicit */
    long long objects, bytes, threads; /* suppressed in the current check */
} rule;

/* Grown by copying into larger mappings; never freed (rules live as long as
 * the process, as the files they came from stay in force). */
static rule *rules;
static size_t nrules, rules_cap;
static char *arena;
static size_t arena_len, arena_cap;
static atomic_bool have_leak_rules; /* read without the lock by every leaked block */
LC_FORK_STATE static lc_spinlock lock;

/* Per-check verdict per stack id: 0 not computed yet, 1 no rule matches,
 * k + 2 rule k matches. */
static uint32_t *verdicts;
static size_t verdicts_bytes;
static uint32_t verdicts_n;

static char env_err[512];
LC_FORK_STATE static int env_state; /* 0 not loaded, 1 loaded, -1 failed (env_err says why) */

/* ------------------------------------------------------------ storage */

static bool grow(void **p, size_t *cap_bytes, size_t need_bytes) {
    if (need_bytes <= *cap_bytes) return true;
    size_t cap = *cap_bytes ? *cap_bytes : 4096;
    while (cap < need_bytes)
        cap *= 2;
    void *q = lc_os_alloc(cap);
    if (!q) return false;
    if (*p) {
        memcpy(q, *p, *cap_bytes);
        lc_os_free(*p, *cap_bytes);
    }
    *p = q;
    *cap_bytes = cap;
    return true;
}

/* Appends len bytes of s (or room for them when s is NULL) and a NUL;
 * returns the offset, or -1. */
static long arena_add(const char *s, size_t len) {
    if (arena_len + len + 1 > UINT32_MAX) return -1;
    if (!grow((void **)&arena, &arena_cap, arena_len + len + 1)) return -1;
    long at = (long)arena_len;
    if (s) memcpy(arena + arena_len, s, len);
    arena[arena_len + len] = '\0';
    arena_len += len + 1;
    return at;
}

static void verdicts_drop(void) {
    if (!verdicts) return; /* nothing written: a forked test's page stays shared */
    lc_os_free(verdicts, verdicts_bytes);
    verdicts = NULL;
    verdicts_bytes = 0;
    verdicts_n = 0;
}

/* ------------------------------------------------------------ matching */

/* Glob match where only `*` is special; the pattern's anchors were turned
 * into the absence of a leading or trailing `*` when it was loaded. On a
 * mismatch after a star, the star absorbs one more character and matching
 * resumes from there: linear in practice, quadratic at worst. */
static bool glob_match(const char *p, const char *s) {
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = ++p;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static bool rule_matches(const rule *r, const char *s) {
    return s && *s && glob_match(arena + r->glob, s);
}

/* The first rule of `kind`, in load order, that matches the frame's
 * function, file or module (f symbolized at pc). Under the supervisor the
 * file is asked for only when a rule gets that far (symbols.h). */
static int match_frame(int kind, const lc_frame *f, uintptr_t pc) {
    const char *file = f->file;
    bool file_known = !lc_frame_deferred(f->file, f->line);
    for (size_t k = 0; k < nrules; k++) {
        const rule *r = &rules[k];
        if (r->kind != kind) continue;
        if (rule_matches(r, f->function) || rule_matches(r, f->module)) return (int)k;
        if (!file_known) {
            lc_frame now;
            lc_symbolize_pc_now(pc, &now);
            file = now.file;
            file_known = true;
        }
        if (rule_matches(r, file)) return (int)k;
    }
    return -1;
}

/* Frames are tried from the innermost out, so that the rule naming the
 * frame closest to the allocation is the one credited. */
static int match_stack(int kind, lc_stack_id id) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(id, &pcs);
    lc_symbolize_want_stack(id); /* one exchange with the supervisor, not one a frame */
    lc_symbolize_ask_wanted();
    for (int i = 0; i < depth; i++) {
        lc_frame f = {0};
        if (lc_stack_frame_at(id, i, &f) != 0) continue;
        int k = match_frame(kind, &f, pcs[i] - 1);
        if (k >= 0) return k;
    }
    return -1;
}

/* The glob for a pattern as written: no leading `*` when anchored with
 * `^`, no trailing one when anchored with `$`. dst has room for len + 3. */
static void write_glob(char *dst, const char *pat, size_t len) {
    bool start = len && pat[0] == '^';
    bool end = len > (size_t)start && pat[len - 1] == '$';
    size_t core = len - start - end;
    if (!start) *dst++ = '*';
    memmove(dst, pat + start, core);
    dst += core;
    if (!end) *dst++ = '*';
    *dst = '\0';
}

bool lc_suppress_pattern_matches(const char *pattern, const char *text) {
    char glob[1024];
    size_t len = pattern ? strlen(pattern) : 0;
    if (!len || len + 3 > sizeof glob || !text || !*text) return false;
    write_glob(glob, pattern, len);
    return glob_match(glob, text);
}

/* ------------------------------------------------------------ loading */

/* "FILE:LINE: " and the problem, into err. */
__attribute__((format(printf, 5, 6))) static void
fail_at(char *err, size_t errlen, const char *path, int line, const char *fmt, ...) {
    if (!err || !errlen) return;
    int n = snprintf(err, errlen, "%s:%d: ", path, line);
    if (n < 0 || (size_t)n >= errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len) {
    while (*len && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

/* Adds the rule, unless the same kind and pattern is already loaded (a
 * file named twice, or the same line in two files): one line in the report
 * per pattern. Returns 0, or -1 when out of memory. */
static int add_rule(int kind, const char *pat, size_t len) {
    for (size_t k = 0; k < nrules; k++)
        if (rules[k].kind == kind && strlen(arena + rules[k].text) == len &&
            memcmp(arena + rules[k].text, pat, len) == 0)
            return 0;
    long text = arena_add(pat, len);
    if (text < 0) return -1;
    long glob = arena_add(NULL, len + 2);
    if (glob < 0) return -1;
    write_glob(arena + glob, arena + text, len);
    if (!grow((void **)&rules, &rules_cap, (nrules + 1) * sizeof *rules)) return -1;
    rules[nrules++] = (rule){.kind = kind, .text = (uint32_t)text, .glob = (uint32_t)glob};
    if (kind == KIND_LEAK) have_leak_rules = true;
    return 0;
}

static int parse_line(const char *path, int lineno, const char *s, size_t len, char *err,
                      size_t errlen) {
    trim(&s, &len);
    if (len == 0 || s[0] == '#') return 0;
    if (memchr(s, '\0', len)) {
        fail_at(err, errlen, path, lineno, "NUL byte in a suppression line");
        return -1;
    }
    const char *colon = memchr(s, ':', len);
    if (!colon) {
        fail_at(err, errlen, path, lineno, "expected leak:PATTERN or thread:PATTERN, got '%.*s'",
                (int)len, s);
        return -1;
    }
    const char *kind_s = s, *pat = colon + 1;
    size_t kind_len = (size_t)(colon - s), pat_len = len - kind_len - 1;
    trim(&kind_s, &kind_len);
    trim(&pat, &pat_len);
    int kind = -1;
    for (int k = 0; k < 2; k++)
        if (strlen(kind_names[k]) == kind_len && memcmp(kind_names[k], kind_s, kind_len) == 0)
            kind = k;
    if (kind < 0) {
        fail_at(err, errlen, path, lineno, "unknown suppression kind '%.*s' (want leak or thread)",
                (int)kind_len, kind_s);
        return -1;
    }
    size_t anchors = (pat_len && pat[0] == '^') + (pat_len > 1 && pat[pat_len - 1] == '$');
    if (pat_len == 0 || (pat_len == 1 && pat[0] == '$') || pat_len == anchors) {
        fail_at(err, errlen, path, lineno, "empty pattern in '%.*s'", (int)len, s);
        return -1;
    }
    if (add_rule(kind, pat, pat_len) != 0) {
        fail_at(err, errlen, path, lineno, "out of memory loading suppressions");
        return -1;
    }
    return 0;
}

/* The whole file, in pages from the OS; *cap is what to unmap. */
static char *read_all(int fd, size_t *len, size_t *cap) {
    char *buf = NULL;
    *len = *cap = 0;
    for (;;) {
        if (!grow((void **)&buf, cap, *len + 4096)) {
            if (buf) lc_os_free(buf, *cap);
            errno = ENOMEM;
            return NULL;
        }
        ssize_t n = read(fd, buf + *len, *cap - *len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            lc_os_free(buf, *cap);
            errno = e;
            return NULL;
        }
        if (n == 0) return buf;
        *len += (size_t)n;
    }
}

int lc_suppress_load_file(const char *path, char *err, size_t errlen) {
    if (!path || !*path) {
        if (err && errlen) snprintf(err, errlen, "empty suppression file name");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0, cap = 0;
    char *text = fd >= 0 ? read_all(fd, &len, &cap) : NULL;
    int open_errno = errno;
    if (fd >= 0) close(fd);
    if (!text) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read suppression file '%s': %s", path,
                     strerror(open_errno));
        return -1;
    }
    lc_spin_lock(&lock);
    /* A file with an error adds nothing: it is fixed and loaded whole. */
    size_t rules_before = nrules, arena_before = arena_len;
    bool leak_before = have_leak_rules;
    int rc = 0, lineno = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        rc = parse_line(path, ++lineno, text + at, end - at, err, errlen);
        at = end + 1;
    }
    if (rc != 0) {
        nrules = rules_before;
        arena_len = arena_before;
        have_leak_rules = leak_before;
    }
    verdicts_drop(); /* verdicts of this check were made with the old rules */
    lc_spin_unlock(&lock);
    lc_os_free(text, cap);
    return rc;
}

/* Held for the whole of the first load, so that two threads checking at
 * once load the files once; the files themselves take `lock`. */
LC_FORK_STATE static lc_spinlock env_lock;

/* The files of LEAKCHECK_SUPPRESSIONS, v. A function of its own: its path
 * buffer would otherwise deepen every check's stack by a page, which a
 * forked test's check then faults in (most suites set no files). */
static __attribute__((noinline)) void load_env_files(const char *v) {
    char path[4096];
    while (v && *v && env_state == 1) {
        const char *colon = strchr(v, ':');
        size_t n = colon ? (size_t)(colon - v) : strlen(v);
        if (n >= sizeof path) {
            snprintf(env_err, sizeof env_err,
                     "LEAKCHECK_SUPPRESSIONS: file name too long: '%.64s...'", v);
            env_state = -1;
        } else if (n) {
            memcpy(path, v, n);
            path[n] = '\0';
            if (lc_suppress_load_file(path, env_err, sizeof env_err) != 0) env_state = -1;
        }
        v = colon ? colon + 1 : NULL;
    }
}

int lc_suppress_load_env(char *err, size_t errlen) {
    lc_spin_lock(&env_lock);
    if (env_state == 0) {
        const char *v = getenv("LEAKCHECK_SUPPRESSIONS");
        env_state = 1;
        if (v && *v) load_env_files(v);
    }
    int rc = env_state < 0 ? -1 : 0;
    if (rc && err && errlen) snprintf(err, errlen, "%s", env_err);
    lc_spin_unlock(&env_lock);
    return rc;
}

void lc_suppress_reset(void) {
    lc_spin_lock(&env_lock);
    lc_spin_lock(&lock);
    nrules = 0;
    arena_len = 0;
    have_leak_rules = false;
    env_state = 0;
    env_err[0] = '\0';
    verdicts_drop();
    lc_spin_unlock(&lock);
    lc_spin_unlock(&env_lock);
}

/* ------------------------------------------------------------ checking */

void lc_suppress_begin_check(void) {
    lc_spin_lock(&lock);
    for (size_t k = 0; k < nrules; k++)
        rules[k].objects = rules[k].bytes = rules[k].threads = 0;
    verdicts_drop();
    lc_spin_unlock(&lock);
}

/* The verdict slot of a stack id; the table is sized by the stack table at
 * first use and grows if the program interned new stacks since. */
static uint32_t *verdict_slot(lc_stack_id id) {
    if (id >= verdicts_n) {
        uint32_t n = lc_stack_count();
        if (n <= id) n = id + 1;
        n += n / 4 + 64;
        void *p = verdicts;
        size_t bytes = verdicts_bytes;
        if (!grow(&p, &bytes, (size_t)n * sizeof *verdicts)) return NULL;
        verdicts = p;
        verdicts_bytes = bytes;
        verdicts_n = (uint32_t)(bytes / sizeof *verdicts);
    }
    return &verdicts[id];
}

/* A verdict slot holds 0 (not seen), WANTED, or the rule's index + 2
 * (-1 + 2 when none matched). */
#define WANTED 1u

bool lc_suppress_asks_files(void) {
    return have_leak_rules && lc_line_service_known();
}

void lc_suppress_want(lc_stack_id stack) {
    if (stack == 0) return;
    lc_spin_lock(&lock);
    uint32_t *slot = verdict_slot(stack);
    bool first = slot && *slot == 0;
    if (first) *slot = WANTED;
    lc_spin_unlock(&lock);
    if (first) lc_symbolize_want_stack(stack);
}

void lc_suppress_wanted(void) {
    lc_symbolize_ask_wanted();
}

bool lc_suppress_leak(lc_stack_id stack, size_t bytes) {
    if (!have_leak_rules || stack == 0) return false;
    lc_spin_lock(&lock);
    uint32_t *slot = verdict_slot(stack);
    int k;
    if (slot && *slot > WANTED) {
        k = (int)*slot - 2;
    } else {
        k = match_stack(KIND_LEAK, stack);
        if (slot) *slot = (uint32_t)(k + 2);
    }
    if (k >= 0) {
        rules[k].objects++;
        rules[k].bytes += (long long)bytes;
    }
    lc_spin_unlock(&lock);
    return k >= 0;
}

bool lc_suppress_has_thread_rules(void) {
    lc_spin_lock(&lock);
    bool any = false;
    for (size_t k = 0; k < nrules && !any; k++)
        any = rules[k].kind == KIND_THREAD;
    lc_spin_unlock(&lock);
    return any;
}

/* The rule a thread matches, or -1; called with the lock held. Where the
 * thread is now comes first, innermost frame first: the interrupted pc as
 * is, return addresses one byte back, into their call instruction. */
static int thread_rule(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                       lc_stack_id created_by) {
    int k = -1;
    for (int i = 0; i < depth && k < 0; i++) {
        lc_frame f = {0};
        uintptr_t pc = i == 0 ? pcs[i] : pcs[i] - 1;
        lc_symbolize_pc(pc, &f);
        k = match_frame(KIND_THREAD, &f, pc);
    }
    if (k < 0 && start_routine) {
        lc_frame f = {0};
        lc_symbolize_pc(start_routine, &f);
        k = match_frame(KIND_THREAD, &f, start_routine);
    }
    if (k < 0 && created_by) k = match_stack(KIND_THREAD, created_by);
    return k;
}

bool lc_suppress_thread_matches(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                                lc_stack_id created_by) {
    if (!lc_suppress_has_thread_rules()) return false;
    lc_spin_lock(&lock);
    int k = thread_rule(pcs, depth, start_routine, created_by);
    lc_spin_unlock(&lock);
    return k >= 0;
}

bool lc_suppress_thread(const uintptr_t *pcs, int depth, uintptr_t start_routine,
                        lc_stack_id created_by) {
    if (!lc_suppress_has_thread_rules()) return false;
    lc_spin_lock(&lock);
    int k = thread_rule(pcs, depth, start_routine, created_by);
    if (k >= 0) rules[k].threads++;
    lc_spin_unlock(&lock);
    return k >= 0;
}

void lc_suppress_totals(long long *objects, long long *bytes, long long *threads) {
    long long o = 0, b = 0, t = 0;
    lc_spin_lock(&lock);
    for (size_t k = 0; k < nrules; k++) {
        o += rules[k].objects;
        b += rules[k].bytes;
        t += rules[k].threads;
    }
    lc_spin_unlock(&lock);
    if (objects) *objects = o;
    if (bytes) *bytes = b;
    if (threads) *threads = t;
}

/* ------------------------------------------------------------ reporting */

static const char *plural(long long n, const char *one, const char *many) {
    return n == 1 ? one : many;
}

/* As LeakSanitizer's "Suppressions used:", one line per pattern that
 * matched, after the totals. */
void lc_suppress_report_text(lc_buf *text) {
    long long o, b, t;
    lc_suppress_totals(&o, &b, &t);
    if (!o && !t) return;
    char sz[32];
    lc_buf_printf(text, "\nsuppressed:");
    if (o)
        lc_buf_printf(text, " %lld %s (%s)%s", o, plural(o, "object", "objects"),
                      lc_fmt_bytes(b, sz, sizeof sz), t ? "," : "");
    if (t) lc_buf_printf(text, " %lld %s", t, plural(t, "thread", "threads"));
    lc_buf_printf(text, "\n");
    lc_spin_lock(&lock);
    for (size_t k = 0; k < nrules; k++) {
        const rule *r = &rules[k];
        if (!r->objects && !r->threads) continue;
        lc_buf_printf(text, "  ");
        if (r->objects)
            lc_buf_printf(text, "%lld %s, %s", r->objects, plural(r->objects, "object", "objects"),
                          lc_fmt_bytes(r->bytes, sz, sizeof sz));
        if (r->threads)
            lc_buf_printf(text, "%s%lld %s", r->objects ? ", " : "", r->threads,
                          plural(r->threads, "thread", "threads"));
        lc_buf_printf(text, ": %s:%s\n", kind_names[r->kind], arena + r->text);
    }
    lc_spin_unlock(&lock);
}

void lc_suppress_report_json(lc_buf *json) {
    lc_buf_printf(json, ", \"suppressed\": [");
    lc_spin_lock(&lock);
    int first = 1;
    for (size_t k = 0; k < nrules; k++) {
        const rule *r = &rules[k];
        if (!r->objects && !r->threads) continue;
        lc_buf_printf(json, "%s{\"pattern\": ", first ? "" : ", ");
        first = 0;
        char pattern[4096];
        snprintf(pattern, sizeof pattern, "%s:%s", kind_names[r->kind], arena + r->text);
        lc_buf_json_str(json, pattern);
        lc_buf_printf(json, ", \"objects\": %lld, \"bytes\": %lld, \"threads\": %lld}", r->objects,
                      r->bytes, r->threads);
    }
    lc_spin_unlock(&lock);
    lc_buf_printf(json, "]");
}
