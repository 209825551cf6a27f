/* SPDX-License-Identifier: MIT */
/* profiles.h: profiles in pprof's format read (pprof_read.c) and compared
 * (pprof_diff.c), for `leakcheck diff`. The format and the writer, which
 * runs inside checked programs, are in harness/pprof.h; this module is
 * linked only into the tool (libleakcheck_profiles.a), never into the
 * library a checked program loads. */
#ifndef LC_PROFILES_H
#define LC_PROFILES_H

#include "pprof.h"

/* ------------------------------------------------------------------ reading */

/* Every string of the model is NUL-terminated (a string holding a NUL byte is
 * cut there) and never NULL: missing ones are "". Ids are the profile's own. */
typedef struct lc_pprof_value_type {
    const char *type, *unit;
} lc_pprof_value_type;

typedef struct lc_pprof_mapping {
    uint64_t id;
    uint64_t memory_start, memory_limit, file_offset;
    const char *filename, *build_id;
    int has_functions, has_filenames, has_line_numbers, has_inline_frames;
} lc_pprof_mapping;

typedef struct lc_pprof_function {
    uint64_t id;
    const char *name, *system_name, *filename;
    int64_t start_line;
} lc_pprof_function;

typedef struct lc_pprof_location_line {
    const lc_pprof_function *function;
    int64_t line, column;
} lc_pprof_location_line;

typedef struct lc_pprof_location {
    uint64_t id;
    const lc_pprof_mapping *mapping; /* NULL when none or not in the profile */
    uint64_t address;
    size_t nlines; /* innermost first; 0 when unsymbolized */
    const lc_pprof_location_line *lines;
    int is_folded;
} lc_pprof_location;

typedef struct lc_pprof_label {
    const char *key, *str, *num_unit;
    int64_t num;
} lc_pprof_label;

typedef struct lc_pprof_record {
    size_t nlocations; /* leaf first */
    const lc_pprof_location *const *locations;
    const int64_t *values; /* one per sample type */
    size_t nlabels;
    const lc_pprof_label *labels;
} lc_pprof_record;

/* The memory of a model or a comparison (arena.c): many small arrays
 * released at once. lc_pprof_arena_array returns zeroed memory for `count`
 * elements of `size` bytes, NULL on overflow or when out of memory. */
typedef struct lc_pprof_arena lc_pprof_arena;
lc_pprof_arena *lc_pprof_arena_new(void);
void *lc_pprof_arena_array(lc_pprof_arena *a, size_t count, size_t size);
void lc_pprof_arena_free(lc_pprof_arena *a);

typedef struct lc_pprof {
    size_t nsample_types;
    const lc_pprof_value_type *sample_types;
    size_t nrecords;
    const lc_pprof_record *records;
    size_t nmappings;
    const lc_pprof_mapping *mappings;
    size_t nlocations;
    const lc_pprof_location *locations;
    size_t nfunctions;
    const lc_pprof_function *functions;
    size_t nstrings;
    const char *const *strings;
    size_t ncomments;
    const char *const *comments;
    const char *drop_frames, *keep_frames, *default_sample_type;
    int64_t time_nanos, duration_nanos, period;
    lc_pprof_value_type period_type;
    lc_pprof_arena *arena; /* owns everything above */
} lc_pprof;

/* Input larger than this, compressed or not, is refused rather than read. */
#define LC_PPROF_MAX_BYTES ((size_t)1 << 30)

/* Parse a profile, gzip-compressed or bare, from memory. On success *out
 * holds a model that lc_pprof_free releases. Returns 0, or -1 with a message
 * in err and *out NULL. Any input is safe: malformed input is an error. */
int lc_pprof_parse(const void *data, size_t len, lc_pprof **out, char *err, size_t errlen);

/* lc_pprof_parse of the file at `path`. */
int lc_pprof_read(const char *path, lc_pprof **out, char *err, size_t errlen);

void lc_pprof_free(lc_pprof *p);

/* Index of the sample type named `type`, -1 when the profile has none. */
int lc_pprof_sample_type_index(const lc_pprof *p, const char *type);

/* --------------------------------------------------------------- comparing */

typedef struct lc_pprof_diff_options {
    const char *sample; /* sample type ordering the stacks; NULL: inuse_space
                           when both profiles have it, else the default sample
                           type of `after`, else its last sample type */
    int has_min_objects, has_min_bytes;
    int64_t min_objects; /* keep stacks whose objects grew by >= this */
    int64_t min_bytes;   /* keep stacks whose bytes grew by >= this */
    int strict_minimums; /* the minimums compare with > instead of >= */
    size_t top;          /* keep the first `top` stacks; 0 keeps all */
} lc_pprof_diff_options;

/* One frame of a compared stack. Inlined frames are frames of their own. */
typedef struct lc_pprof_frame {
    const char *function, *file; /* "" when unknown */
    int64_t line;
    uint64_t address;     /* of the location, as in the profile it came from */
    const char *mapping;  /* file of the location's mapping, "" when none */
    uint64_t file_offset; /* address within that file, 0 when no mapping */
    int symbolized;       /* 0: the frame is known only by its address */
} lc_pprof_frame;

/* The growth of one call stack from `base` to `after`. */
typedef struct lc_pprof_diff_stack {
    int64_t delta;                      /* of the ordering sample type */
    int64_t delta_objects, delta_bytes; /* 0 when the type is absent */
    int64_t after_objects, after_bytes; /* values in `after` */
    size_t nframes;                     /* leaf first */
    const lc_pprof_frame *frames;
} lc_pprof_diff_stack;

typedef struct lc_pprof_diff {
    const char *sample; /* the ordering sample type */
    const char *sample_unit;
    const char *objects_type;          /* "inuse_objects" (or alloc_objects when the
                                          ordering type is an alloc_ one); NULL when a
                                          profile lacks it */
    const char *bytes_type;            /* likewise inuse_space / alloc_space */
    size_t nstacks;                    /* kept after thresholds and top */
    const lc_pprof_diff_stack *stacks; /* largest growth first */
    size_t total_stacks;               /* stacks whose values changed at all */
    size_t grown_stacks;               /* stacks that passed the minimums and grew
                                          (by the ordering type), `top` or not */
    int64_t total_delta, total_delta_objects, total_delta_bytes; /* over those */
    lc_pprof_arena *arena;
} lc_pprof_diff;

/* Subtract `base` from `after` per call stack. A stack is identified by the
 * function, file and line of each of its frames, so that profiles of
 * different processes match despite address-space randomization; frames
 * without symbols are identified by their mapping's file and their offset
 * in it (by address when they have no mapping). Stacks whose values did not
 * change are left out. The strings of the result point into the profiles,
 * which must outlive it. Returns 0, or -1 with a message in err (a sample
 * type missing from a profile, a threshold on a type the profiles lack, out
 * of memory). */
int lc_pprof_diff_compute(const lc_pprof *base, const lc_pprof *after,
                          const lc_pprof_diff_options *opts, lc_pprof_diff **out, char *err,
                          size_t errlen);
void lc_pprof_diff_free(lc_pprof_diff *d);

#endif
