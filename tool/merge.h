/* SPDX-License-Identifier: MIT */
/* merge.h: the shard outputs `leakcheck merge` reads (merge_read.c) and
 * joins (merge_cmd.c).
 *
 * The reader accepts only what the tool itself writes: the JSON lines of
 * `scenarios run --shard K/N --format json` (variant lines, then the
 * shard's summary line), the one JSON document of `fault-sweep --shard K/N
 * --format json`, and the JUnit XML of `scenarios run` and `fault-sweep`
 * with --shard K/N, as junit.c writes it. Anything else is
 * refused with one line saying which file and why: a merge that guessed
 * at a foreign file could report a verdict for a run that never happened. */
#ifndef LC_TOOL_MERGE_H
#define LC_TOOL_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "junit.h"
#include "shard.h"

typedef enum merge_format { MERGE_JSON, MERGE_JUNIT } merge_format;
typedef enum merge_kind { MERGE_SCENARIOS, MERGE_FAULT_SWEEP } merge_kind;

typedef struct shard_file {
    const char *path;
    char *data; /* the whole file; JSON lines point into it */
    merge_format format;
    merge_kind kind;
    lc_shard shard;
    long total; /* scenarios: variants of the whole run */
    long end;   /* fault-sweep: the first point not reached; 0: --max stopped it */
    char run[LC_SHARD_RUN_ID_LEN]; /* which run it is a shard of (shard.h) */
    /* JSON: the variant lines, without their newline (NUL-terminated in
     * data), and how many did not meet their expectation; of a fault-sweep,
     * its failure points, and its command, scope and timeout_seconds as
     * written (spans of data). */
    char **lines;
    const char *header[3];
    size_t header_len[3];
    size_t nlines;
    long unmet;
    /* JUnit: the suite and its cases, strings owned here. */
    char *suite;
    double seconds, started;
    lc_junit_case *cases;
    size_t ncases;
} shard_file;

/* Read path into *f. 0, or 2 after printing one line naming the file and
 * what is wrong with it. */
int lc_merge_read(const char *path, shard_file *f);

void lc_merge_free(shard_file *f);

/* The failure point of a fault-sweep JSON point (its allocation), or 0. */
long lc_merge_json_point(const char *point);

/* The failure point of a fault-sweep test case ("allocation N failing"),
 * or 0 when it is not one. */
long lc_merge_case_point(const lc_junit_case *c);

#endif
