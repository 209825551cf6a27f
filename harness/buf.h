/* SPDX-License-Identifier: MIT */
/* buf.h: growing text buffers for reports (buf.c), allocated untracked
 *. Every report, text or JSON, is written into one. */
#ifndef LC_BUF_H
#define LC_BUF_H

#include "core.h"

/* A growing text buffer allocated untracked. */
typedef struct lc_buf {
    char *data;
    size_t len, cap;
    bool failed;
} lc_buf;
void lc_buf_printf(lc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lc_buf_json_str(lc_buf *b, const char *s);
/* A hole the supervisor fills (tool/holes.c): LC_HOLE, the form, the key,
 * LC_HOLE. Once lc_buf_guard_holes was called (in a process whose reports
 * have holes), text written with lc_buf_printf never holds LC_HOLE: it is
 * replaced by '?'. */
#define LC_HOLE '\x01'
void lc_buf_hole(lc_buf *b, char form, const char *key);
void lc_buf_guard_holes(void);
/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values past
 * U+10FFFF included): what the JSON and the XML writers replace. */
int lc_utf8_length(const unsigned char *s);
void lc_buf_free(lc_buf *b);
/* "1.5 KiB" style; returns out. */
const char *lc_fmt_bytes(long long bytes, char *out, size_t len);

#endif
