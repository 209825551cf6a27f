/* SPDX-License-Identifier: MIT */
/* snapshot_pprof.c: a snapshot written as a pprof heap profile.
 *
 * This file is the bridge between the live-block tables and the pprof
 * writer (pprof_encode.c), which knows nothing of them: it turns a snapshot
 * into one sample per allocation stack and symbolizes that stack's program
 * counters as reports do. The sample values follow Go's heap profile, so
 * that `go tool pprof` reads the numbers the way Go users expect:
 *   inuse_objects / inuse_space   the snapshot's live blocks of the stack;
 *   alloc_objects / alloc_space   everything the stack ever allocated, from
 *                                 the cumulative counts the snapshot copied.
 * A stack that allocated but holds nothing now is kept, with inuse 0: that
 * is what makes alloc_space show churn. Every live block is counted, those
 * the C runtime owns too: the profile shows the heap as it is, and judging
 * what is a leak is the check's business.
 *
 * Blocks recorded without a stack (capture disabled with a depth of 0, or an
 * unwinder that found nothing) share stack id 0. They are written as one
 * sample whose only location is named "(no stack)", at address 0, so that
 * their bytes are visible by name in `pprof -top` and in `leakcheck diff`
 * rather than hidden in an anonymous empty stack. The cumulative counts are
 * kept per real stack only, so that sample's alloc values are its inuse
 * values: what is live was allocated at least once. */
#include "core.h"
#include "heap.h"
#include "snapshot.h"
#include "stacks.h"
#include "symbols.h"
#include "pprof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The program counter of the "(no stack)" location: no code lives at 0. */
#define NO_STACK_PC ((uintptr_t)0)

typedef struct stack_use {
    int64_t objects, bytes;
} stack_use;

/* Stack frames are return addresses; the call is one byte earlier, which
 * matters when the call is the last instruction of a line (as symbolize.c
 * does for reports). The location keeps the return address itself. */
static int symbolize_frame(uintptr_t pc, lc_pprof_line *lines, int max, void *arg) {
    (void)arg;
    if (max < 1) return 0;
    if (pc == NO_STACK_PC) {
        lines[0] = (lc_pprof_line){"(no stack)", NULL, 0, 0};
        return 1;
    }
    lc_frame f;
    if (lc_symbolize_pc(pc - 1, &f) != 0) return 0;
    /* Start lines would need the function's debugging entry, which the
     * symbolizer does not look up; pprof treats 0 as unknown. */
    lines[0] = (lc_pprof_line){f.function, f.file, f.line, 0};
    return 1;
}

/* Samples of the snapshot into *out (malloc'ed); their program counters
 * point into the stack table, which never moves. Returns the count, or -1
 * when out of memory. */
static ssize_t build_samples(const lc_snapshot *s, lc_pprof_sample **out) {
    static const uintptr_t no_stack[1] = {NO_STACK_PC};
    /* A block's stack was interned before the block was inserted, so ids are
     * normally below s->nstacks; a racing insert is still counted. */
    size_t nids = s->nstacks ? s->nstacks : 1;
    for (size_t i = 0; i < s->n; i++) {
        size_t id = lc_block_stack(&s->blocks[i]);
        if (id >= nids) nids = id + 1;
    }
    stack_use *use = calloc(nids, sizeof *use);
    if (!use) return -1;
    for (size_t i = 0; i < s->n; i++) {
        stack_use *u = &use[lc_block_stack(&s->blocks[i])];
        u->objects++;
        u->bytes += (int64_t)lc_block_size(&s->blocks[i]);
    }

    size_t nsamples = 0;
    lc_pprof_sample *samples = NULL;
    for (int pass = 0; pass < 2; pass++) {
        /* The first pass counts, the second fills. */
        for (size_t id = 0; id < nids; id++) {
            int64_t alloc_objects = use[id].objects, alloc_bytes = use[id].bytes;
            if (id != 0 && s->stack_totals && id < s->nstacks) {
                alloc_objects = (int64_t)s->stack_totals[2 * id];
                alloc_bytes = (int64_t)s->stack_totals[2 * id + 1];
            }
            /* A block is inserted a moment before its stack's totals are
             * counted; a snapshot between the two must not show more in use
             * than ever allocated. */
            if (alloc_objects < use[id].objects) alloc_objects = use[id].objects;
            if (alloc_bytes < use[id].bytes) alloc_bytes = use[id].bytes;
            if (!use[id].objects && !alloc_objects) continue;
            if (pass == 1) {
                lc_pprof_sample *p = &samples[nsamples];
                const uintptr_t *pcs = NULL;
                int depth = id ? lc_stack_get((lc_stack_id)id, &pcs) : 0;
                p->pcs = depth > 0 ? pcs : no_stack;
                p->depth = depth > 0 ? depth : 1;
                p->values[LC_PPROF_ALLOC_OBJECTS] = alloc_objects;
                p->values[LC_PPROF_ALLOC_SPACE] = alloc_bytes;
                p->values[LC_PPROF_INUSE_OBJECTS] = use[id].objects;
                p->values[LC_PPROF_INUSE_SPACE] = use[id].bytes;
            }
            nsamples++;
        }
        if (pass == 0) {
            samples = malloc((nsamples ? nsamples : 1) * sizeof *samples);
            if (!samples) {
                free(use);
                return -1;
            }
            nsamples = 0;
        }
    }
    free(use);
    *out = samples;
    return (ssize_t)nsamples;
}

static int write_all(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_profile(const lc_snapshot *s, const char *path) {
    lc_pprof_sample *samples;
    ssize_t n = build_samples(s, &samples);
    if (n < 0) {
        errno = ENOMEM;
        return -1;
    }
    uint8_t *data;
    size_t len;
    errno = 0;
    int rc =
        lc_pprof_encode_heap(samples, (size_t)n, symbolize_frame, NULL, 1, &data, &len, NULL, 0);
    free(samples);
    if (rc != 0) {
        /* The encoder fails only when memory runs out or zlib refuses; an
         * errno of its own is kept, anything else is "not encodable". */
        if (errno != ENOMEM) errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        free(data);
        return -1;
    }
    rc = write_all(fd, data, len);
    int saved = errno;
    free(data);
    if (close(fd) != 0 && rc == 0) {
        saved = errno;
        rc = -1;
    }
    errno = saved;
    return rc;
}

int lc_snapshot_write_pprof(const lc_snapshot *s, const char *path) {
    if (!s || !path || !*path) {
        errno = EINVAL;
        return -1;
    }
    /* Everything allocated here (samples, the encoder's buffers, symbol
     * strings) is the library's own and must not appear in the heap being
     * profiled. */
    lc_self_enter();
    int rc = write_profile(s, path);
    int saved = errno;
    lc_self_leave();
    errno = saved;
    return rc;
}
