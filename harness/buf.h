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
void lc_buf_free(lc_buf *b);
/* "1.5 KiB" style; returns out. */
const char *lc_fmt_bytes(long long bytes, char *out, size_t len);

#endif
