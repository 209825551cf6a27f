/* SPDX-License-Identifier: MIT */
/* snapshot.h: heap snapshots and their diffs (snapshot.c), and a snapshot
 * written as a pprof heap profile (snapshot_pprof.c). */
#ifndef LC_SNAPSHOT_H
#define LC_SNAPSHOT_H

#include "heap.h"

struct lc_thread_snap;
struct lc_snapshot {
    lc_block *blocks; /* sorted by sequence number */
    size_t n;
    size_t map_bytes;
    size_t live_bytes;
    uint32_t nstacks;
    uint64_t *stack_totals; /* [2*nstacks]: cumulative objects, bytes */
    size_t totals_bytes;
    struct lc_thread_snap *threads;
};

/* A snapshot of the heap alone, without the threads (and without the
 * signal their capture sends): for heap profiles. */
lc_snapshot *lc_snapshot_take_heap(void);

#endif
