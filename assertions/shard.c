/* SPDX-License-Identifier: MIT */
/* shard.c: `--shard K/N` (shard.h). The split is a modulus, not ranges:
 * a shard's items are spread over the whole run, so shards of a run whose
 * cost grows along it (a fault sweep's later points run longer programs)
 * take about as long as one another. */
#include "shard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number of at most 4 digits, no sign, no blanks: *end after it. */
static int number(const char *p, const char **end) {
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 4) return -1;
    *end = p + digits;
    return atoi(p);
}

int lc_shard_parse(const char *text, lc_shard *s, char *why, size_t len) {
    const char *p;
    int k = number(text, &p), n = -1;
    if (k >= 0 && *p == '/') n = number(p + 1, &p);
    if (k < 0 || n < 0 || *p) {
        snprintf(why, len, "'%s' is not K/N (shard K of N, such as 2/4)", text);
        return -1;
    }
    if (n < 1 || n > LC_SHARD_MAX) {
        snprintf(why, len, "'%s': N must be 1 to %d", text, LC_SHARD_MAX);
        return -1;
    }
    if (k < 1 || k > n) {
        snprintf(why, len, "'%s': K must be 1 to N (%d)", text, n);
        return -1;
    }
    s->k = k;
    s->n = n;
    return 0;
}

bool lc_shard_owns(const lc_shard *s, size_t i) {
    return s->n == 0 || i % (size_t)s->n == (size_t)(s->k - 1);
}

void lc_shard_run_id(const char *const *parts, size_t n, char out[LC_SHARD_RUN_ID_LEN]) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a's offset basis and prime */
    for (size_t i = 0; i < n; i++) {
        /* Each string with its terminator, so that "ab","c" is not "a","bc";
         * a NULL one as a lone 0xff, a byte no terminated string ends with. */
        const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "\xff");
        do {
            h ^= *p;
            h *= 1099511628211ull;
        } while (*p++);
    }
    snprintf(out, LC_SHARD_RUN_ID_LEN, "%016llx", (unsigned long long)h);
}

size_t lc_shard_count(const lc_shard *s, size_t total) {
    if (s->n == 0) return total;
    size_t first = (size_t)(s->k - 1);
    return total > first ? (total - first + (size_t)s->n - 1) / (size_t)s->n : 0;
}
