/* SPDX-License-Identifier: MIT */
/* buf.c: growing text buffers for reports.
 *
 * Reports are built in memory (they go to a FILE, to Check's failure message
 * and to a pipe) and are the library's own allocations, so the buffer
 * allocates as library code. A failed allocation marks the buffer failed
 * instead of crashing the check that is reporting a leak.
 *
 * Under the supervisor a report leaves the source file and line of a frame
 * as a hole (lc_buf_hole) that the supervisor fills from DWARF once the
 * process is gone. The hole's marker byte never comes from anything else
 * written here: lc_buf_printf replaces it (in a process whose reports have
 * holes), and the JSON writer escapes every control character, so a
 * program's strings cannot forge or break one. */
#include "buf.h"
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(lc_buf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    lc_self_enter();
    char *d = realloc(b->data, cap);
    lc_self_leave();
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

static bool guard;

void lc_buf_guard_holes(void) {
    guard = true;
}

void lc_buf_printf(lc_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return;
    if ((size_t)n < sizeof small) {
        memcpy(b->data + b->len, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    /* The hole marker (buf.h) comes only from lc_buf_hole: a thread name,
     * a label or a path that holds it is not a hole. */
    for (char *h = guard ? memchr(b->data + b->len, LC_HOLE, (size_t)n) : NULL; h;
         h = memchr(h, LC_HOLE, (size_t)(b->data + b->len + n - h)))
        *h = '?';
    b->len += (size_t)n;
}

void lc_buf_hole(lc_buf *b, char form, const char *key) {
    size_t n = strlen(key);
    if (!reserve(b, n + 3)) return;
    char *d = b->data + b->len;
    d[0] = LC_HOLE;
    d[1] = form;
    memcpy(d + 2, key, n);
    d[n + 2] = LC_HOLE;
    d[n + 3] = '\0';
    b->len += n + 3;
}

int lc_utf8_length(const unsigned char *s) {
    unsigned c = s[0];
    int n = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
    if (n <= 1) return n;
    unsigned cp = c & (0x3f >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not UTF-8 (a thread name, a path) replaced by U+FFFD, so
 * that the document stays valid JSON whatever the program named things. */
void lc_buf_json_str(lc_buf *b, const char *s) {
    if (!s) {
        lc_buf_printf(b, "null");
        return;
    }
    lc_buf_printf(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = lc_utf8_length(p);
        if (n == 0) {
            lc_buf_printf(b, "\\ufffd");
            p++;
        } else if (*p == '"' || *p == '\\') {
            lc_buf_printf(b, "\\%c", *p++);
        } else if (*p < 0x20) {
            lc_buf_printf(b, "\\u%04x", *p++);
        } else {
            lc_buf_printf(b, "%.*s", n, (const char *)p);
            p += n;
        }
    }
    lc_buf_printf(b, "\"");
}

void lc_buf_free(lc_buf *b) {
    lc_self_enter();
    free(b->data);
    lc_self_leave();
    *b = (lc_buf){0};
}

const char *lc_fmt_bytes(long long bytes, char *out, size_t len) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)(bytes < 0 ? -bytes : bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%lld B", bytes);
    else
        snprintf(out, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[u]);
    return out;
}
