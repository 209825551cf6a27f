/* buf.c: growing text buffers for reports.
 *
 * Reports are built in memory (they go to a FILE, to Check's failure message
 * and to a pipe) and are the library's own allocations, so the buffer
 * allocates as library code. A failed allocation marks the buffer failed
 * instead of crashing the check that is reporting a leak. */
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
    b->len += (size_t)n;
}

void lc_buf_json_str(lc_buf *b, const char *s) {
    if (!s) {
        lc_buf_printf(b, "null");
        return;
    }
    lc_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            lc_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            lc_buf_printf(b, "\\u%04x", c);
        else
            lc_buf_printf(b, "%c", c);
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
