/* SPDX-License-Identifier: MIT */
/* pprof.h: heap profiles in pprof's format, written and read.
 *
 * Profiles are perftools.profiles.Profile messages (profile.proto),
 * gzip-compressed, as Go's runtime/pprof writes them, so that `go tool pprof`
 * and every tool built on it reads leakcheck's profiles, and leakcheck reads
 * theirs. The writer (pprof_encode.c) takes a self-contained model of a heap
 * snapshot (one sample per allocation stack, its program counters and four
 * values) or of the threads (one sample per stack, its thread count), plus a
 * callback that symbolizes a program counter; it knows nothing of the
 * live-block tables or the thread registry. The reader (profiles/pprof_read.c, declared in
 * profiles/profiles.h, linked into the tool only) turns any profile into an
 * in-memory model, rejecting
 * malformed input with an error message rather
 * than trusting it, and compares two profiles stack by stack for
 * `leakcheck diff`.
 *
 * Every function reports failure by its return value and, when `err` is not
 * NULL, a one-line message in err[0..errlen). Nothing here prints. */
#ifndef LC_PPROF_H
#define LC_PPROF_H

#include <stddef.h>
#include <stdint.h>

/* Format a one-line error into err[0..errlen) when err is not NULL; shared
 * by the writer and the reader. */
void lc_pprof_set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ writing */

/* One source line of a program counter. Strings may be NULL (unknown) and need
 * only live until the symbolizer is called again: the writer copies them. */
typedef struct lc_pprof_line {
    const char *function;
    const char *file;
    int line;
    int start_line; /* first line of the function, 0 when unknown */
} lc_pprof_line;

/* The most lines one program counter may expand to (itself and the frames
 * inlined into it). */
#define LC_PPROF_MAX_INLINE 32

/* Symbolize `pc` into at most `max` lines, innermost (inlined) first, the
 * function containing pc last. Returns the number of lines filled, 0 when pc
 * is unknown (its location then carries only its address). */
typedef int (*lc_pprof_symbolize_fn)(uintptr_t pc, lc_pprof_line *lines, int max, void *arg);

/* The kinds of profile, each as Go writes it: a heap profile (four values
 * per sample, below) or a thread profile, Go's goroutine profile for
 * threads (one value per sample: the number of threads on that stack). */
typedef enum lc_pprof_kind { LC_PPROF_HEAP, LC_PPROF_THREADS } lc_pprof_kind;

/* The values of a heap sample, in the order of Go's heap profiles. */
enum {
    LC_PPROF_ALLOC_OBJECTS,
    LC_PPROF_ALLOC_SPACE,
    LC_PPROF_INUSE_OBJECTS,
    LC_PPROF_INUSE_SPACE,
    LC_PPROF_NVALUES
};

/* The value of a thread sample. */
#define LC_PPROF_THREAD_COUNT 0

/* One stack: `depth` program counters, the allocation site (or the thread's
 * innermost frame) first, each caller's return address after it. Each pc is
 * written (and symbolized) as given. A thread sample uses values[0] only. */
typedef struct lc_pprof_sample {
    const uintptr_t *pcs;
    int depth;
    int64_t values[LC_PPROF_NVALUES];
} lc_pprof_sample;

/* Encode a profile of `kind` with `n` samples into a buffer allocated with
 * malloc (*out, *outlen; the caller frees it). `compress`: 1 for gzip, as
 * profiles are stored; 0 for the bare protobuf message. `sym` may be NULL
 * (addresses only). Returns 0, or -1 with a message in err. */
int lc_pprof_encode(lc_pprof_kind kind, const lc_pprof_sample *samples, size_t n,
                    lc_pprof_symbolize_fn sym, void *arg, int compress, uint8_t **out,
                    size_t *outlen, char *err, size_t errlen);

/* lc_pprof_encode, gzip-compressed, into the file at `path`. */
int lc_pprof_write(lc_pprof_kind kind, const char *path, const lc_pprof_sample *samples, size_t n,
                   lc_pprof_symbolize_fn sym, void *arg, char *err, size_t errlen);

/* Gzip `len` bytes into a malloc'ed buffer. Returns 0, or -1 when out of
 * memory or on a zlib error. */
int lc_pprof_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen);

/* ----------------------------------------------- mappings (pprof_mappings.c) */

#define LC_PPROF_BUILD_ID_MAX 64

/* One executable segment of a loaded object, page-aligned. */
typedef struct lc_pprof_segment {
    uintptr_t start, limit;
    uint64_t file_offset;
    const char *name; /* in the name pool */
    char build_id[2 * LC_PPROF_BUILD_ID_MAX + 1];
    uint32_t id;
    int has_functions, has_filenames, has_line_numbers;
} lc_pprof_segment;

/* Collected in two walks over the loaded objects: one to size the arrays,
 * one to fill them, so that nothing is allocated while the dynamic linker's
 * lock is held (malloc may be interposed by code that walks the objects
 * too). Objects loaded between the walks are left out. */
typedef struct lc_pprof_segments {
    lc_pprof_segment *segments;
    size_t count, cap;
    char *names;
    size_t names_len, names_cap;
    int objects_seen;
    char main_path[4096];
} lc_pprof_segments;

/* Fills w (zeroed by the caller); -1 when out of memory. */
int lc_pprof_segments_collect(lc_pprof_segments *w);
void lc_pprof_segments_free(lc_pprof_segments *w);
/* Sorts pointers to segments by start, for lc_pprof_segment_of. */
void lc_pprof_segments_sort(lc_pprof_segment **by_start, size_t n);
/* The segment holding pc, NULL when none. */
lc_pprof_segment *lc_pprof_segment_of(lc_pprof_segment **by_start, size_t n, uintptr_t pc);

#endif
