/* SPDX-License-Identifier: MIT */
/* shard.h: `--shard K/N`, the split of one run over N machines.
 *
 * `scenarios run` and `fault-sweep` take the same option and split the same
 * way: the items of the whole run, in their fixed order (the variants of
 * the scenarios as named, failure points 1, 2, 3, ...), are dealt out in
 * turn, so the i-th (counting from 0) goes to shard i mod N + 1. A shard
 * thus knows which items are its own without any coordination, and
 * `leakcheck merge` knows where each result of a shard belongs. Shards
 * record what merge needs in their JSON summary line or their JUnit
 * <properties>, under the names below. */
#ifndef LC_TOOL_SHARD_H
#define LC_TOOL_SHARD_H

#include <stdbool.h>
#include <stddef.h>

#define LC_SHARD_MAX 1000

/* The shard K of N; {0, 0} when the run is not split. */
typedef struct lc_shard {
    int k, n;
} lc_shard;

/* JUnit <property> names of a shard's output and of a merged one. */
#define LC_SHARD_PROP_SHARD "leakcheck.shard"   /* "K/N" */
#define LC_SHARD_PROP_TOTAL "leakcheck.total"   /* items of the whole run */
#define LC_SHARD_PROP_END "leakcheck.end"       /* fault-sweep: see fault_cmd.c */
#define LC_SHARD_PROP_SHARDS "leakcheck.shards" /* merged: how many */
#define LC_SHARD_PROP_RUN "leakcheck.run"       /* lc_shard_run_id */

/* Parse "K/N" (decimal, 1 <= K <= N <= LC_SHARD_MAX) into *s. 0, or -1
 * with why it is not one in why. */
int lc_shard_parse(const char *text, lc_shard *s, char *why, size_t len);

/* Whether item i (from 0) of the whole run is the shard's; every item is
 * when the run is not split. */
bool lc_shard_owns(const lc_shard *s, size_t i);

/* How many of total items the shard owns. */
size_t lc_shard_count(const lc_shard *s, size_t total);

/* Which run a shard is of, from what every shard of it is given alike (the
 * scenario names; the program, its arguments and the sweep's options):
 * the 64-bit FNV-1a hash of the n strings (a NULL one apart from an empty
 * one) in 16 hex digits, into out. Merge refuses a shard whose run
 * differs: its items would be put in places they do not belong. */
#define LC_SHARD_RUN_ID_LEN 17
void lc_shard_run_id(const char *const *parts, size_t n, char out[LC_SHARD_RUN_ID_LEN]);

#endif
