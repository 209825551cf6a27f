/* SPDX-License-Identifier: MIT */
/* snapshot_pprof.c: a snapshot written as a pprof heap profile, and the
 * threads of the process as a pprof thread profile.
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
 * is what makes alloc_space show churn. The blocks the C runtime owns are
 * not the snapshot's (snapshot.c): a profile counts what a check counts.
 *
 * Blocks recorded without a stack (capture disabled with a depth of 0, or an
 * unwinder that found nothing) share stack id 0. They are written as one
 * sample whose only location is named "(no stack)", at address 0, so that
 * their bytes are visible by name in `pprof -top` and in `leakcheck diff`
 * rather than hidden in an anonymous empty stack. The cumulative counts are
 * kept per real stack only, so that sample's alloc values are its inuse
 * values: what is live was allocated at least once.
 *
 * The thread profile is Go's goroutine profile for threads: one sample per
 * distinct stack, valued by the number of threads on it, so that `go tool
 * pprof -top` lists where threads wait and `leakcheck diff` shows which
 * stacks gained threads between two profiles. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "snapshot.h"
#include "stacks.h"
#include "symbols.h"
#include "pprof.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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
    if (lc_symbolize_pc_now(pc - 1, &f) != 0) return 0; /* a profile has no holes */
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

/* Encode the samples as a profile of `kind` and write it to path. */
static int encode_and_write(lc_pprof_kind kind, const lc_pprof_sample *samples, size_t n,
                            const char *path) {
    uint8_t *data;
    size_t len;
    errno = 0;
    int rc = lc_pprof_encode(kind, samples, n, symbolize_frame, NULL, 1, &data, &len, NULL, 0);
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

static int write_profile(const lc_snapshot *s, const char *path) {
    lc_pprof_sample *samples;
    ssize_t n = build_samples(s, &samples);
    if (n < 0) {
        errno = ENOMEM;
        return -1;
    }
    int rc = encode_and_write(LC_PPROF_HEAP, samples, (size_t)n, path);
    int saved = errno;
    free(samples);
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

/* ------------------------------------------------------------ threads */

/* The frames of a thread's stack the profile shows: the library's
 * trampoline that ran the start routine, and the C runtime's start code
 * below it, say nothing, as in reports. */
static int shown_depth(const lc_capture *c) {
    for (int i = 1; i < c->depth; i++)
        if (lc_os_pc_in_self(c->pcs[i])) return i;
    return c->depth;
}

static bool same_stack(const lc_capture *a, const lc_capture *b) {
    int depth = shown_depth(a);
    return depth == shown_depth(b) && memcmp(a->pcs, b->pcs, (size_t)depth * sizeof a->pcs[0]) == 0;
}

/* One sample per distinct stack, its value the number of threads on it, as
 * Go's goroutine profile counts goroutines. A thread whose stack could not
 * be captured counts under "(no stack)". Returns the count, or -1 when out
 * of memory. */
static ssize_t build_thread_samples(const lc_thread_report *r, lc_pprof_sample **out) {
    static const uintptr_t no_stack[1] = {NO_STACK_PC};
    size_t n = r->n;
    lc_pprof_sample *samples = malloc((n ? n : 1) * sizeof *samples);
    const lc_capture **first = malloc((n ? n : 1) * sizeof *first);
    if (!samples || !first) {
        free(samples);
        free(first);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const lc_capture *c = &r->e[i].cap;
        bool known = c->status == LC_CAPTURE_OK && c->depth > 0;
        size_t j = 0;
        for (; j < k; j++) {
            bool known_j = first[j] != NULL;
            if (known == known_j && (!known || same_stack(c, first[j]))) break;
        }
        if (j == k) {
            first[k] = known ? c : NULL;
            memset(&samples[k], 0, sizeof samples[k]);
            samples[k].pcs = known ? c->pcs : no_stack;
            samples[k].depth = known ? shown_depth(c) : 1;
            k++;
        }
        samples[j].values[LC_PPROF_THREAD_COUNT]++;
    }
    free(first);
    *out = samples;
    return (ssize_t)k;
}

static int write_thread_profile(const char *path) {
    lc_thread_report *r = lc_threads_capture_all();
    if (!r) {
        errno = ENOMEM;
        return -1;
    }
    lc_pprof_sample *samples;
    ssize_t n = build_thread_samples(r, &samples);
    int rc = -1;
    errno = ENOMEM;
    if (n >= 0) {
        rc = encode_and_write(LC_PPROF_THREADS, samples, (size_t)n, path);
        free(samples);
    }
    int saved = errno;
    lc_thread_report_free(r);
    errno = saved;
    return rc;
}

int lc_threads_write_pprof(const char *path) {
    lc_api_return = (uintptr_t)__builtin_return_address(0);
    if (!path || !*path) {
        errno = EINVAL;
        return -1;
    }
    lc_self_enter();
    int rc = write_thread_profile(path);
    int saved = errno;
    lc_self_leave();
    errno = saved;
    return rc;
}
