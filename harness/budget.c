/* SPDX-License-Identifier: MIT */
/* budget.c: the leak budget and its text form.
 *
 * "bytes=1M,objects=10,threads=0": each field optional, suffixes k, M, G as
 * powers of 1024, "inf" for no limit. Sources override each other field by
 * field (built-in zero, LEAKCHECK_BUDGET, then the options), so parsing only
 * writes the fields it names. Any malformed part is an error that names it:
 * a budget that is silently ignored is a check that silently passes. */
#include "budget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *text, const char *what, const char *part,
                size_t partlen) {
    snprintf(err, errlen, "malformed budget \"%s\": %s in \"%.*s\"", text, what, (int)partlen,
             part);
    return -1;
}

static int parse_value(const char *s, size_t len, long long *out) {
    if (len == 3 && strncmp(s, "inf", 3) == 0) {
        *out = -1;
        return 0;
    }
    if (len == 0 || s[0] < '0' || s[0] > '9') return -1;
    char digits[32];
    if (len >= sizeof digits) return -1;
    memcpy(digits, s, len);
    digits[len] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, 10);
    if (errno) return -1;
    unsigned shift = 0;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'M':
            shift = 20;
            break;
        case 'G':
            shift = 30;
            break;
        default:
            return -1;
        }
        if (end[1]) return -1;
    }
    if (v > (unsigned long long)(INT64_MAX >> shift)) return -1;
    *out = (long long)(v << shift);
    return 0;
}

int lc_budget_parse(const char *text, lc_budget *b, char *err, size_t errlen) {
    lc_budget parsed = *b;
    const char *p = text;
    if (!*p) return fail(err, errlen, text, "empty budget", p, 0);
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t partlen = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', partlen);
        if (!eq) return fail(err, errlen, text, "expected NAME=VALUE", p, partlen);
        size_t namelen = (size_t)(eq - p);
        long long *field = NULL;
        if (namelen == 5 && strncmp(p, "bytes", 5) == 0)
            field = &parsed.bytes;
        else if (namelen == 7 && strncmp(p, "objects", 7) == 0)
            field = &parsed.objects;
        else if (namelen == 7 && strncmp(p, "threads", 7) == 0)
            field = &parsed.threads;
        if (!field)
            return fail(err, errlen, text, "unknown limit (want bytes, objects or threads)", p,
                        partlen);
        if (parse_value(eq + 1, partlen - namelen - 1, field) != 0)
            return fail(err, errlen, text,
                        "bad value (want a number with optional k/M/G suffix, or inf)", p, partlen);
        if (!comma) break;
        p = comma + 1;
        if (!*p) return fail(err, errlen, text, "trailing comma", p - 1, 1);
    }
    *b = parsed;
    return 0;
}

void lc_budget_format(const lc_budget *b, char *out, size_t len) {
    char v[3][24];
    const long long f[3] = {b->bytes, b->objects, b->threads};
    for (int i = 0; i < 3; i++) {
        if (f[i] < 0)
            snprintf(v[i], sizeof v[i], "inf");
        else
            snprintf(v[i], sizeof v[i], "%lld", f[i]);
    }
    snprintf(out, len, "bytes=%s,objects=%s,threads=%s", v[0], v[1], v[2]);
}
