/* SPDX-License-Identifier: MIT */
/* pprof_decode.c: profiles in pprof's format, read and compared.
 *
 * `leakcheck diff` reads profiles written by leakcheck, by Go's runtime/pprof
 * and by the pprof tool, so the reader takes the whole format as profile.proto
 * defines it (fields in any order, packed or unpacked repeated integers,
 * unknown fields skipped, several gzip members) and distrusts every byte of
 * it: lengths, indexes and ids are checked before use, so that malformed
 * input ends in an error message and never in a read out of bounds.
 *
 * The message is read in passes over its top-level fields, each pass taking
 * the fields whose dependencies the previous ones resolved: sizes, then the
 * string table, then what refers only to strings (sample types, mappings,
 * functions), then locations (which refer to mappings and functions), then
 * samples (which refer to locations). Everything the model holds lives in one
 * arena, released at once.
 *
 * The comparison lives here too because it is a query over two models: stacks
 * are matched by what they mean (function, file, line of each frame), never by
 * ids or addresses, which differ from one process to the next. */
#include "pprof_decode.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define set_error lc_pprof_set_error

/* ------------------------------------------------------------------- arena */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

struct lc_pprof_arena {
    arena_chunk *head;
};

#define ARENA_CHUNK_MIN ((size_t)64 * 1024)

static lc_pprof_arena *arena_new(void) {
    return calloc(1, sizeof(lc_pprof_arena));
}

static void arena_free(lc_pprof_arena *a) {
    if (!a) return;
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* Zeroed memory for `count` elements of `size` bytes; NULL on overflow or
 * when out of memory. */
static void *arena_array(lc_pprof_arena *a, size_t count, size_t size) {
    if (size && count > (SIZE_MAX / 2) / size) return NULL;
    size_t want = count * size;
    want = (want + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (want == 0) want = sizeof(max_align_t);
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < want) {
        size_t cap = want > ARENA_CHUNK_MIN ? want : ARENA_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        /* A chunk sized for one large request goes behind the current one,
         * which may still have room for small ones. */
        if (a->head && cap == want && a->head->cap - a->head->used > 0) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += want;
    memset(p, 0, want);
    return p;
}

/* --------------------------------------------------------- wire decoding */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

typedef struct decoder {
    const uint8_t *base; /* the whole message, for offsets in errors */
    lc_pprof_arena *arena;
    lc_pprof *profile;
    char *err;
    size_t errlen;
    int failed;
    int not_a_profile; /* the input is no profile at all, rather than a bad one */
    int truncated;     /* a length or varint ran past the end of its message */
} decoder;

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

typedef struct field {
    uint32_t number;
    int wire;
    uint64_t value; /* varint and fixed wire types */
    const uint8_t *data;
    size_t len; /* length-delimited */
    size_t offset;
} field;

static int fail(decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(decoder *d, const char *fmt, ...) {
    if (!d->failed && d->err && d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
    }
    d->failed = 1;
    return -1;
}

static int fail_oom(decoder *d) {
    return fail(d, "out of memory");
}

static size_t offset_of(const decoder *d, const uint8_t *p) {
    return (size_t)(p - d->base);
}

static int get_varint(decoder *d, cursor *c, uint64_t *v, const char *where) {
    uint64_t x = 0;
    const uint8_t *start = c->p;
    for (int i = 0; i < 10; i++) {
        if (c->p == c->end) {
            d->truncated = 1;
            return fail(d, "truncated varint in %s at offset %zu", where, offset_of(d, start));
        }
        uint8_t b = *c->p++;
        /* The tenth byte holds bit 63 alone; more would not fit. */
        if (i == 9 && b > 1) break;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return fail(d, "bad varint (over 64 bits) in %s at offset %zu", where, offset_of(d, start));
}

/* The next field of the message under `c`: 1 and *f filled, 0 at its end,
 * -1 on malformed input. */
static int next_field(decoder *d, cursor *c, field *f, const char *message) {
    if (c->p == c->end) return 0;
    const uint8_t *start = c->p;
    f->offset = offset_of(d, start);
    uint64_t key;
    if (get_varint(d, c, &key, message)) return -1;
    uint64_t number = key >> 3;
    if (number == 0 || number > 0x1fffffff)
        return fail(d, "bad field number %llu in %s at offset %zu", (unsigned long long)number,
                    message, f->offset);
    f->number = (uint32_t)number;
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    size_t left;
    switch (f->wire) {
    case WIRE_VARINT:
        return get_varint(d, c, &f->value, message) ? -1 : 1;
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = f->wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n) {
            d->truncated = 1;
            return fail(d, "truncated %zu-byte field %u in %s at offset %zu", n, f->number, message,
                        f->offset);
        }
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)c->p[i] << (8 * i);
        c->p += n;
        return 1;
    }
    case WIRE_LEN: {
        uint64_t n;
        if (get_varint(d, c, &n, message)) return -1;
        left = (size_t)(c->end - c->p);
        if (n > left) {
            d->truncated = 1;
            return fail(d, "field %u of %s at offset %zu claims %llu bytes, %zu remain", f->number,
                        message, f->offset, (unsigned long long)n, left);
        }
        f->data = c->p;
        f->len = (size_t)n;
        c->p += n;
        return 1;
    }
    default:
        return fail(d, "bad wire type %d (field %u) in %s at offset %zu", f->wire, f->number,
                    message, f->offset);
    }
}

/* What a known field may hold. */
enum { SCALAR = 1, REPEATED_SCALAR, BYTES };

static int expect(decoder *d, const field *f, const char *name, int kind) {
    int ok = kind == SCALAR            ? f->wire == WIRE_VARINT
             : kind == REPEATED_SCALAR ? f->wire == WIRE_VARINT || f->wire == WIRE_LEN
                                       : f->wire == WIRE_LEN;
    if (ok) return 0;
    return fail(d, "%s (field %u) has wire type %d, expected %s, at offset %zu", name, f->number,
                f->wire,
                kind == SCALAR            ? "0 (varint)"
                : kind == REPEATED_SCALAR ? "0 (varint) or 2 (packed)"
                                          : "2 (length-delimited)",
                f->offset);
}

static cursor cursor_of(const field *f) {
    return (cursor){f->data, f->data + f->len};
}

/* Number of integers a repeated scalar field holds, checking packed ones. */
static int count_scalars(decoder *d, const field *f, const char *name, size_t *n) {
    if (f->wire == WIRE_VARINT) {
        (*n)++;
        return 0;
    }
    cursor c = cursor_of(f);
    uint64_t v;
    while (c.p < c.end) {
        if (get_varint(d, &c, &v, name)) return -1;
        (*n)++;
    }
    return 0;
}

/* Append the integers of a field already counted (so already checked). */
static void read_scalars(const field *f, uint64_t *dst, size_t *at) {
    if (f->wire == WIRE_VARINT) {
        dst[(*at)++] = f->value;
        return;
    }
    for (const uint8_t *p = f->data, *end = f->data + f->len; p < end;) {
        uint64_t x = 0;
        for (int shift = 0; p < end && shift < 64; shift += 7) {
            uint8_t b = *p++;
            x |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
        dst[(*at)++] = x;
    }
}

static const char *string_at(decoder *d, int64_t index, const char *where) {
    const lc_pprof *p = d->profile;
    if (index < 0 || (uint64_t)index >= p->nstrings) {
        fail(d, "string index %lld out of range in %s (the string table has %zu entries)",
             (long long)index, where, p->nstrings);
        return "";
    }
    return p->strings[index];
}

/* ---------------------------------------------------------------- messages */

/* Field numbers from profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_DROP_FRAMES = 7,
    PROFILE_KEEP_FRAMES = 8,
    PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};

static int decode_value_type(decoder *d, const field *outer, lc_pprof_value_type *vt) {
    cursor c = cursor_of(outer);
    field f;
    int64_t type = 0, unit = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "ValueType")) > 0) {
        if (f.number == 1) {
            if (expect(d, &f, "ValueType.type", SCALAR)) return -1;
            type = (int64_t)f.value;
        } else if (f.number == 2) {
            if (expect(d, &f, "ValueType.unit", SCALAR)) return -1;
            unit = (int64_t)f.value;
        }
    }
    if (rc < 0) return -1;
    vt->type = string_at(d, type, "ValueType.type");
    vt->unit = string_at(d, unit, "ValueType.unit");
    return d->failed ? -1 : 0;
}

static int decode_mapping(decoder *d, const field *outer, lc_pprof_mapping *m) {
    static const char *const names[] = {
        NULL,
        "Mapping.id",
        "Mapping.memory_start",
        "Mapping.memory_limit",
        "Mapping.file_offset",
        "Mapping.filename",
        "Mapping.build_id",
        "Mapping.has_functions",
        "Mapping.has_filenames",
        "Mapping.has_line_numbers",
        "Mapping.has_inline_frames",
    };
    cursor c = cursor_of(outer);
    field f;
    int64_t filename = 0, build_id = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Mapping")) > 0) {
        if (f.number > 10) continue;
        if (expect(d, &f, names[f.number], SCALAR)) return -1;
        switch (f.number) {
        case 1:
            m->id = f.value;
            break;
        case 2:
            m->memory_start = f.value;
            break;
        case 3:
            m->memory_limit = f.value;
            break;
        case 4:
            m->file_offset = f.value;
            break;
        case 5:
            filename = (int64_t)f.value;
            break;
        case 6:
            build_id = (int64_t)f.value;
            break;
        case 7:
            m->has_functions = f.value != 0;
            break;
        case 8:
            m->has_filenames = f.value != 0;
            break;
        case 9:
            m->has_line_numbers = f.value != 0;
            break;
        case 10:
            m->has_inline_frames = f.value != 0;
            break;
        }
    }
    if (rc < 0) return -1;
    m->filename = string_at(d, filename, "Mapping.filename");
    m->build_id = string_at(d, build_id, "Mapping.build_id");
    return d->failed ? -1 : 0;
}

static int decode_function(decoder *d, const field *outer, lc_pprof_function *fn) {
    static const char *const names[] = {
        NULL,
        "Function.id",
        "Function.name",
        "Function.system_name",
        "Function.filename",
        "Function.start_line",
    };
    cursor c = cursor_of(outer);
    field f;
    int64_t name = 0, system_name = 0, filename = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Function")) > 0) {
        if (f.number > 5) continue;
        if (expect(d, &f, names[f.number], SCALAR)) return -1;
        switch (f.number) {
        case 1:
            fn->id = f.value;
            break;
        case 2:
            name = (int64_t)f.value;
            break;
        case 3:
            system_name = (int64_t)f.value;
            break;
        case 4:
            filename = (int64_t)f.value;
            break;
        case 5:
            fn->start_line = (int64_t)f.value;
            break;
        }
    }
    if (rc < 0) return -1;
    fn->name = string_at(d, name, "Function.name");
    fn->system_name = string_at(d, system_name, "Function.system_name");
    fn->filename = string_at(d, filename, "Function.filename");
    return d->failed ? -1 : 0;
}

/* Ids of mappings, functions and locations, sorted for lookup. */
typedef struct id_entry {
    uint64_t id;
    size_t at;
} id_entry;

typedef struct id_index {
    id_entry *entries;
    size_t n;
} id_index;

static int id_entry_order(const void *a, const void *b) {
    const id_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int build_index(decoder *d, id_index *ix, size_t n, const void *items, size_t stride,
                       size_t id_offset, const char *what) {
    ix->n = n;
    ix->entries = arena_array(d->arena, n, sizeof *ix->entries);
    if (!ix->entries) return fail_oom(d);
    for (size_t i = 0; i < n; i++) {
        memcpy(&ix->entries[i].id, (const char *)items + i * stride + id_offset, sizeof(uint64_t));
        ix->entries[i].at = i;
        if (ix->entries[i].id == 0) return fail(d, "%s %zu has the reserved id 0", what, i);
    }
    qsort(ix->entries, n, sizeof *ix->entries, id_entry_order);
    for (size_t i = 1; i < n; i++)
        if (ix->entries[i].id == ix->entries[i - 1].id)
            return fail(d, "two %ss have the id %llu", what, (unsigned long long)ix->entries[i].id);
    return 0;
}

/* Position of `id` in the indexed array, or SIZE_MAX. */
static size_t find_id(const id_index *ix, uint64_t id) {
    /* Writers number ids 1..n, which makes the sorted index a direct map. */
    if (id >= 1 && id <= ix->n && ix->entries[id - 1].id == id) return ix->entries[id - 1].at;
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->entries[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->entries[lo].id == id ? ix->entries[lo].at : SIZE_MAX;
}

static int decode_line(decoder *d, const field *outer, const id_index *functions,
                       lc_pprof_location_line *ln, uint64_t location_id) {
    cursor c = cursor_of(outer);
    field f;
    uint64_t function_id = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Line")) > 0) {
        if (f.number == 1) {
            if (expect(d, &f, "Line.function_id", SCALAR)) return -1;
            function_id = f.value;
        } else if (f.number == 2) {
            if (expect(d, &f, "Line.line", SCALAR)) return -1;
            ln->line = (int64_t)f.value;
        } else if (f.number == 3) {
            if (expect(d, &f, "Line.column", SCALAR)) return -1;
            ln->column = (int64_t)f.value;
        }
    }
    if (rc < 0) return -1;
    size_t at = function_id ? find_id(functions, function_id) : SIZE_MAX;
    if (at == SIZE_MAX)
        return fail(d, "location %llu has a line with %s function id %llu",
                    (unsigned long long)location_id, function_id ? "unknown" : "no",
                    (unsigned long long)function_id);
    ln->function = &d->profile->functions[at];
    return 0;
}

static int decode_location(decoder *d, const field *outer, const id_index *mappings,
                           const id_index *functions, lc_pprof_location *loc) {
    static const char *const names[] = {
        NULL,
        "Location.id",
        "Location.mapping_id",
        "Location.address",
        "Location.line",
        "Location.is_folded",
    };
    static const int kinds[] = {0, SCALAR, SCALAR, SCALAR, BYTES, SCALAR};
    cursor c = cursor_of(outer);
    field f;
    size_t nlines = 0;
    uint64_t mapping_id = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Location")) > 0) {
        if (f.number > 5) continue;
        if (expect(d, &f, names[f.number], kinds[f.number])) return -1;
        switch (f.number) {
        case 1:
            loc->id = f.value;
            break;
        case 2:
            mapping_id = f.value;
            break;
        case 3:
            loc->address = f.value;
            break;
        case 4:
            nlines++;
            break;
        case 5:
            loc->is_folded = f.value != 0;
            break;
        }
    }
    if (rc < 0) return -1;
    /* As pprof does, an unknown mapping id leaves the location unmapped. */
    size_t at = mapping_id ? find_id(mappings, mapping_id) : SIZE_MAX;
    loc->mapping = at == SIZE_MAX ? NULL : &d->profile->mappings[at];
    if (nlines == 0) return 0;
    lc_pprof_location_line *lines = arena_array(d->arena, nlines, sizeof *lines);
    if (!lines) return fail_oom(d);
    c = cursor_of(outer);
    size_t i = 0;
    while (next_field(d, &c, &f, "Location") > 0)
        if (f.number == 4 && decode_line(d, &f, functions, &lines[i++], loc->id)) return -1;
    loc->lines = lines;
    loc->nlines = nlines;
    return 0;
}

static int decode_label(decoder *d, const field *outer, lc_pprof_label *label) {
    static const char *const names[] = {NULL, "Label.key", "Label.str", "Label.num",
                                        "Label.num_unit"};
    cursor c = cursor_of(outer);
    field f;
    int64_t key = 0, str = 0, num_unit = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Label")) > 0) {
        if (f.number > 4) continue;
        if (expect(d, &f, names[f.number], SCALAR)) return -1;
        switch (f.number) {
        case 1:
            key = (int64_t)f.value;
            break;
        case 2:
            str = (int64_t)f.value;
            break;
        case 3:
            label->num = (int64_t)f.value;
            break;
        case 4:
            num_unit = (int64_t)f.value;
            break;
        }
    }
    if (rc < 0) return -1;
    label->key = string_at(d, key, "Label.key");
    label->str = string_at(d, str, "Label.str");
    label->num_unit = string_at(d, num_unit, "Label.num_unit");
    return d->failed ? -1 : 0;
}

static int decode_sample(decoder *d, const field *outer, const id_index *locations,
                         lc_pprof_record *r, size_t index) {
    cursor c = cursor_of(outer);
    field f;
    size_t nlocations = 0, nvalues = 0, nlabels = 0;
    int rc;
    while ((rc = next_field(d, &c, &f, "Sample")) > 0) {
        if (f.number == 1) {
            if (expect(d, &f, "Sample.location_id", REPEATED_SCALAR) ||
                count_scalars(d, &f, "Sample.location_id", &nlocations))
                return -1;
        } else if (f.number == 2) {
            if (expect(d, &f, "Sample.value", REPEATED_SCALAR) ||
                count_scalars(d, &f, "Sample.value", &nvalues))
                return -1;
        } else if (f.number == 3) {
            if (expect(d, &f, "Sample.label", BYTES)) return -1;
            nlabels++;
        }
    }
    if (rc < 0) return -1;
    const lc_pprof *p = d->profile;
    if (nvalues != p->nsample_types)
        return fail(d, "sample %zu has %zu values for %zu sample types", index, nvalues,
                    p->nsample_types);

    uint64_t *ids = arena_array(d->arena, nlocations, sizeof *ids);
    const lc_pprof_location **locs = arena_array(d->arena, nlocations, sizeof *locs);
    uint64_t *values = arena_array(d->arena, nvalues, sizeof *values);
    lc_pprof_label *labels = arena_array(d->arena, nlabels, sizeof *labels);
    if (!ids || !locs || !values || !labels) return fail_oom(d);
    size_t at_location = 0, at_value = 0, at_label = 0;
    c = cursor_of(outer);
    while (next_field(d, &c, &f, "Sample") > 0) {
        if (f.number == 1)
            read_scalars(&f, ids, &at_location);
        else if (f.number == 2)
            read_scalars(&f, values, &at_value);
        else if (f.number == 3 && decode_label(d, &f, &labels[at_label++]))
            return -1;
    }
    for (size_t i = 0; i < nlocations; i++) {
        size_t at = find_id(locations, ids[i]);
        if (at == SIZE_MAX)
            return fail(d, "sample %zu refers to unknown location id %llu", index,
                        (unsigned long long)ids[i]);
        locs[i] = &p->locations[at];
    }
    r->nlocations = nlocations;
    r->locations = locs;
    /* int64 values travel as their two's complement bits. */
    r->values = (const int64_t *)values;
    r->nlabels = nlabels;
    r->labels = labels;
    return 0;
}

/* ------------------------------------------------------------------ profile */

typedef struct profile_counts {
    size_t sample_types, samples, mappings, locations, functions, strings, comments;
    int64_t drop_frames, keep_frames, default_sample_type;
    int has_period_type;
} profile_counts;

static int count_profile(decoder *d, const uint8_t *data, size_t len, profile_counts *n) {
    lc_pprof *p = d->profile;
    cursor c = {data, data + len};
    field f;
    int rc;
    while ((rc = next_field(d, &c, &f, "Profile")) > 0) {
        switch (f.number) {
        case PROFILE_SAMPLE_TYPE:
            if (expect(d, &f, "Profile.sample_type", BYTES)) return -1;
            n->sample_types++;
            break;
        case PROFILE_SAMPLE:
            if (expect(d, &f, "Profile.sample", BYTES)) return -1;
            n->samples++;
            break;
        case PROFILE_MAPPING:
            if (expect(d, &f, "Profile.mapping", BYTES)) return -1;
            n->mappings++;
            break;
        case PROFILE_LOCATION:
            if (expect(d, &f, "Profile.location", BYTES)) return -1;
            n->locations++;
            break;
        case PROFILE_FUNCTION:
            if (expect(d, &f, "Profile.function", BYTES)) return -1;
            n->functions++;
            break;
        case PROFILE_STRING_TABLE:
            if (expect(d, &f, "Profile.string_table", BYTES)) return -1;
            n->strings++;
            break;
        case PROFILE_DROP_FRAMES:
            if (expect(d, &f, "Profile.drop_frames", SCALAR)) return -1;
            n->drop_frames = (int64_t)f.value;
            break;
        case PROFILE_KEEP_FRAMES:
            if (expect(d, &f, "Profile.keep_frames", SCALAR)) return -1;
            n->keep_frames = (int64_t)f.value;
            break;
        case PROFILE_TIME_NANOS:
            if (expect(d, &f, "Profile.time_nanos", SCALAR)) return -1;
            p->time_nanos = (int64_t)f.value;
            break;
        case PROFILE_DURATION_NANOS:
            if (expect(d, &f, "Profile.duration_nanos", SCALAR)) return -1;
            p->duration_nanos = (int64_t)f.value;
            break;
        case PROFILE_PERIOD_TYPE:
            if (expect(d, &f, "Profile.period_type", BYTES)) return -1;
            n->has_period_type = 1;
            break;
        case PROFILE_PERIOD:
            if (expect(d, &f, "Profile.period", SCALAR)) return -1;
            p->period = (int64_t)f.value;
            break;
        case PROFILE_COMMENT:
            if (expect(d, &f, "Profile.comment", REPEATED_SCALAR) ||
                count_scalars(d, &f, "Profile.comment", &n->comments))
                return -1;
            break;
        case PROFILE_DEFAULT_SAMPLE_TYPE:
            if (expect(d, &f, "Profile.default_sample_type", SCALAR)) return -1;
            n->default_sample_type = (int64_t)f.value;
            break;
        }
    }
    return rc;
}

static int read_strings(decoder *d, const uint8_t *data, size_t len, size_t count) {
    lc_pprof *p = d->profile;
    if (count == 0) {
        d->not_a_profile = 1;
        return fail(d, "no string table");
    }
    const char **strings = arena_array(d->arena, count, sizeof *strings);
    if (!strings) return fail_oom(d);
    cursor c = {data, data + len};
    field f;
    size_t i = 0;
    while (next_field(d, &c, &f, "Profile") > 0) {
        if (f.number != PROFILE_STRING_TABLE) continue;
        char *s = arena_array(d->arena, f.len + 1, 1);
        if (!s) return fail_oom(d);
        memcpy(s, f.data, f.len);
        strings[i++] = s;
    }
    p->strings = strings;
    p->nstrings = count;
    if (strings[0][0] != 0) {
        d->not_a_profile = 1;
        return fail(d, "string_table[0] is not empty");
    }
    return 0;
}

/* A pass over the top-level fields decoding those numbered `number`. */
typedef int (*item_decoder)(decoder *d, const field *f, size_t index, void *ctx);

static int decode_each(decoder *d, const uint8_t *data, size_t len, uint32_t number,
                       item_decoder fn, void *ctx) {
    cursor c = {data, data + len};
    field f;
    size_t i = 0;
    while (next_field(d, &c, &f, "Profile") > 0)
        if (f.number == number && fn(d, &f, i++, ctx)) return -1;
    return 0;
}

typedef struct id_indexes {
    id_index mappings, functions, locations;
} id_indexes;

static int each_sample_type(decoder *d, const field *f, size_t i, void *ctx) {
    (void)ctx;
    return decode_value_type(d, f, (lc_pprof_value_type *)&d->profile->sample_types[i]);
}

static int each_period_type(decoder *d, const field *f, size_t i, void *ctx) {
    (void)i;
    (void)ctx;
    return decode_value_type(d, f, &d->profile->period_type);
}

static int each_mapping(decoder *d, const field *f, size_t i, void *ctx) {
    (void)ctx;
    return decode_mapping(d, f, (lc_pprof_mapping *)&d->profile->mappings[i]);
}

static int each_function(decoder *d, const field *f, size_t i, void *ctx) {
    (void)ctx;
    return decode_function(d, f, (lc_pprof_function *)&d->profile->functions[i]);
}

static int each_location(decoder *d, const field *f, size_t i, void *ctx) {
    id_indexes *ix = ctx;
    return decode_location(d, f, &ix->mappings, &ix->functions,
                           (lc_pprof_location *)&d->profile->locations[i]);
}

static int each_sample(decoder *d, const field *f, size_t i, void *ctx) {
    id_indexes *ix = ctx;
    return decode_sample(d, f, &ix->locations, (lc_pprof_record *)&d->profile->records[i], i);
}

typedef struct comment_indexes {
    uint64_t *indexes;
    size_t count;
} comment_indexes;

static int each_comment(decoder *d, const field *f, size_t i, void *ctx) {
    (void)d;
    (void)i;
    comment_indexes *c = ctx;
    read_scalars(f, c->indexes, &c->count);
    return 0;
}

static int decode_profile(decoder *d, const uint8_t *data, size_t len, const profile_counts *n) {
    lc_pprof *p = d->profile;
    if (read_strings(d, data, len, n->strings)) return -1;

    p->sample_types = arena_array(d->arena, n->sample_types, sizeof *p->sample_types);
    p->records = arena_array(d->arena, n->samples, sizeof *p->records);
    p->mappings = arena_array(d->arena, n->mappings, sizeof *p->mappings);
    p->locations = arena_array(d->arena, n->locations, sizeof *p->locations);
    p->functions = arena_array(d->arena, n->functions, sizeof *p->functions);
    const char **comments = arena_array(d->arena, n->comments, sizeof *comments);
    comment_indexes comment = {arena_array(d->arena, n->comments, sizeof(uint64_t)), 0};
    if (!p->sample_types || !p->records || !p->mappings || !p->locations || !p->functions ||
        !comments || !comment.indexes)
        return fail_oom(d);
    p->nsample_types = n->sample_types;
    p->nmappings = n->mappings;
    p->nfunctions = n->functions;
    p->nlocations = n->locations;
    p->nrecords = n->samples;

    if (n->samples && !n->sample_types) return fail(d, "samples without sample types");
    p->period_type = (lc_pprof_value_type){"", ""};
    if (decode_each(d, data, len, PROFILE_SAMPLE_TYPE, each_sample_type, NULL) ||
        decode_each(d, data, len, PROFILE_PERIOD_TYPE, each_period_type, NULL) ||
        decode_each(d, data, len, PROFILE_MAPPING, each_mapping, NULL) ||
        decode_each(d, data, len, PROFILE_FUNCTION, each_function, NULL) ||
        decode_each(d, data, len, PROFILE_COMMENT, each_comment, &comment))
        return -1;

    for (size_t i = 0; i < comment.count; i++)
        comments[i] = string_at(d, (int64_t)comment.indexes[i], "Profile.comment");
    p->comments = comments;
    p->ncomments = comment.count;
    p->drop_frames = string_at(d, n->drop_frames, "Profile.drop_frames");
    p->keep_frames = string_at(d, n->keep_frames, "Profile.keep_frames");
    p->default_sample_type = string_at(d, n->default_sample_type, "Profile.default_sample_type");
    if (d->failed) return -1;

    id_indexes ix;
    if (build_index(d, &ix.mappings, p->nmappings, p->mappings, sizeof *p->mappings,
                    offsetof(lc_pprof_mapping, id), "mapping") ||
        build_index(d, &ix.functions, p->nfunctions, p->functions, sizeof *p->functions,
                    offsetof(lc_pprof_function, id), "function"))
        return -1;
    if (decode_each(d, data, len, PROFILE_LOCATION, each_location, &ix)) return -1;
    if (build_index(d, &ix.locations, p->nlocations, p->locations, sizeof *p->locations,
                    offsetof(lc_pprof_location, id), "location"))
        return -1;
    return decode_each(d, data, len, PROFILE_SAMPLE, each_sample, &ix);
}

/* ----------------------------------------------------------------- gunzip */

static int is_gzip(const uint8_t *data, size_t len) {
    return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

static int gunzip(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        set_error(err, errlen, "gzip: cannot start decompressing");
        return -1;
    }
    size_t cap = len < ARENA_CHUNK_MIN ? ARENA_CHUNK_MIN : len * 4, produced = 0;
    if (cap > LC_PPROF_MAX_BYTES) cap = LC_PPROF_MAX_BYTES;
    uint8_t *buf = malloc(cap);
    const uint8_t *in = data;
    size_t left = len;
    const char *problem = buf ? NULL : "out of memory";
    while (!problem) {
        if (produced == cap) {
            if (cap >= LC_PPROF_MAX_BYTES) {
                problem = "decompressed profile larger than 1 GiB";
                break;
            }
            size_t grown_cap = cap * 2 > LC_PPROF_MAX_BYTES ? LC_PPROF_MAX_BYTES : cap * 2;
            uint8_t *grown = realloc(buf, grown_cap);
            if (!grown) {
                problem = "out of memory";
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        uInt in_chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        size_t room = cap - produced;
        uInt out_chunk = room > (1u << 30) ? (1u << 30) : (uInt)room;
        zs.next_in = (Bytef *)in;
        zs.avail_in = in_chunk;
        zs.next_out = buf + produced;
        zs.avail_out = out_chunk;
        int rc = inflate(&zs, Z_NO_FLUSH);
        in += in_chunk - zs.avail_in;
        left -= in_chunk - zs.avail_in;
        produced += out_chunk - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (left == 0) break;
            /* Concatenated gzip members decompress to one stream. */
            if (!is_gzip(in, left)) {
                problem = "trailing bytes after the gzip data";
                break;
            }
            inflateReset(&zs);
        } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
            /* Out of input before the end of the stream; a full output
             * buffer is grown on the next turn. */
            if (zs.avail_out > 0 && (left == 0 || rc == Z_BUF_ERROR))
                problem = left == 0 ? "truncated gzip data" : "corrupt gzip data";
        } else if (rc == Z_DATA_ERROR) {
            problem =
                zs.msg && strstr(zs.msg, "check") ? "gzip checksum mismatch" : "corrupt gzip data";
        } else if (rc == Z_MEM_ERROR) {
            problem = "out of memory";
        } else {
            problem = "corrupt gzip data";
        }
    }
    char detail[128] = "";
    if (problem && zs.msg && strcmp(problem, "corrupt gzip data") == 0)
        snprintf(detail, sizeof detail, " (%s)", zs.msg);
    inflateEnd(&zs);
    if (problem) {
        free(buf);
        set_error(err, errlen, "%s%s", problem, detail);
        return -1;
    }
    *out = buf;
    *outlen = produced;
    return 0;
}

/* ------------------------------------------------------------- public API */

int lc_pprof_parse(const void *data, size_t len, lc_pprof **out, char *err, size_t errlen) {
    *out = NULL;
    if (len == 0) {
        set_error(err, errlen, "empty input, not a profile");
        return -1;
    }
    if (len > LC_PPROF_MAX_BYTES) {
        set_error(err, errlen, "input larger than 1 GiB");
        return -1;
    }
    const uint8_t *message = data;
    size_t message_len = len;
    uint8_t *inflated = NULL;
    if (is_gzip(data, len)) {
        if (gunzip(data, len, &inflated, &message_len, err, errlen)) return -1;
        message = inflated;
        if (message_len == 0) {
            free(inflated);
            set_error(err, errlen, "empty profile inside the gzip data");
            return -1;
        }
    }

    lc_pprof *p = calloc(1, sizeof *p);
    lc_pprof_arena *arena = arena_new();
    if (!p || !arena) {
        free(p);
        arena_free(arena);
        free(inflated);
        set_error(err, errlen, "out of memory");
        return -1;
    }
    p->arena = arena;
    char detail[256] = "";
    decoder d = {message, arena, p, detail, sizeof detail, 0, 0, 0};
    profile_counts counts = {0};
    /* Top-level fields that do not frame as protobuf make no profile at all,
     * unless the last of them only runs past the end: a cut-off profile. */
    const char *kind = "malformed pprof profile";
    if (count_profile(&d, message, message_len, &counts))
        kind = d.truncated ? "truncated pprof profile" : "not a pprof profile";
    else if (decode_profile(&d, message, message_len, &counts) && d.not_a_profile)
        kind = "not a pprof profile";
    free(inflated);
    if (d.failed) {
        set_error(err, errlen, "%s: %s", kind, detail);
        lc_pprof_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int lc_pprof_read(const char *path, lc_pprof **out, char *err, size_t errlen) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_error(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap);
    const char *problem = buf ? NULL : "out of memory";
    while (!problem) {
        if (len == cap) {
            if (cap >= LC_PPROF_MAX_BYTES) {
                problem = "larger than 1 GiB";
                break;
            }
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                problem = "out of memory";
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) problem = strerror(errno);
            break;
        }
    }
    fclose(f);
    if (problem) {
        free(buf);
        set_error(err, errlen, "%s: %s", path, problem);
        return -1;
    }
    char detail[320];
    int rc = lc_pprof_parse(buf, len, out, detail, sizeof detail);
    free(buf);
    if (rc) set_error(err, errlen, "%s: %s", path, detail);
    return rc;
}

void lc_pprof_free(lc_pprof *p) {
    if (!p) return;
    arena_free(p->arena);
    free(p);
}

int lc_pprof_sample_type_index(const lc_pprof *p, const char *type) {
    for (size_t i = 0; i < p->nsample_types && i < INT32_MAX; i++)
        if (strcmp(p->sample_types[i].type, type) == 0) return (int)i;
    return -1;
}

/* --------------------------------------------------------------- comparing */

typedef struct bytes {
    uint8_t *data;
    size_t len, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t more) {
    if (more <= b->cap - b->len) return 0;
    if (more > SIZE_MAX / 4 - b->len) return -1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int bytes_varint(bytes *b, uint64_t v) {
    if (bytes_reserve(b, 10)) return -1;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
    return 0;
}

/* Length-prefixed, so that no two sequences of strings encode alike. */
static int bytes_string(bytes *b, const char *s) {
    size_t n = strlen(s);
    if (bytes_varint(b, n) || bytes_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static uint64_t hash_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 29);
}

static uint64_t hash_of(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return hash_mix(h, n);
}

static const char *function_name(const lc_pprof_function *fn) {
    return fn->name[0] ? fn->name : fn->system_name;
}

static int mapped(const lc_pprof_location *loc) {
    const lc_pprof_mapping *m = loc->mapping;
    return m && loc->address >= m->memory_start && loc->address < m->memory_limit;
}

/* What identifies a frame across processes: its source lines when known,
 * else its offset in its mapped file, else its bare address. */
static int location_key(bytes *k, const lc_pprof_location *loc) {
    k->len = 0;
    if (bytes_reserve(k, 1)) return -1;
    if (loc->nlines) {
        k->data[k->len++] = 'S';
        for (size_t i = 0; i < loc->nlines; i++) {
            const lc_pprof_location_line *ln = &loc->lines[i];
            if (bytes_string(k, function_name(ln->function)) ||
                bytes_string(k, ln->function->filename) || bytes_varint(k, (uint64_t)ln->line))
                return -1;
        }
    } else if (mapped(loc)) {
        k->data[k->len++] = 'M';
        if (bytes_string(k, loc->mapping->filename) ||
            bytes_varint(k, loc->address - loc->mapping->memory_start + loc->mapping->file_offset))
            return -1;
    } else {
        k->data[k->len++] = 'A';
        if (bytes_varint(k, loc->address)) return -1;
    }
    return 0;
}

/* Frames of both profiles, each distinct key once. */
typedef struct frame_entry {
    size_t key_at, key_len;
    const lc_pprof_location *location; /* the first seen, for display */
} frame_entry;

typedef struct frame_table {
    bytes keys;
    frame_entry *entries;
    size_t count, cap;
    uint32_t *slots; /* entry + 1, 0 free */
    size_t nslots;
} frame_table;

static size_t frame_slot(const frame_table *t, const uint8_t *key, size_t n, uint64_t h) {
    size_t mask = t->nslots - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t held = t->slots[i];
        if (!held) return i;
        const frame_entry *e = &t->entries[held - 1];
        if (e->key_len == n && memcmp(t->keys.data + e->key_at, key, n) == 0) return i;
    }
}

static int frame_table_grow(frame_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    if (cap > UINT32_MAX / 2) return -1;
    frame_entry *entries = realloc(t->entries, cap * sizeof *entries);
    if (!entries) return -1;
    t->entries = entries;
    t->cap = cap;
    uint32_t *slots = calloc(cap * 2, sizeof *slots);
    if (!slots) return -1;
    free(t->slots);
    t->slots = slots;
    t->nslots = cap * 2;
    for (size_t i = 0; i < t->count; i++) {
        const uint8_t *key = t->keys.data + t->entries[i].key_at;
        size_t n = t->entries[i].key_len;
        t->slots[frame_slot(t, key, n, hash_of(key, n))] = (uint32_t)i + 1;
    }
    return 0;
}

/* Id of the frame `key` names, adding it when new; -1 when out of memory. */
static int64_t frame_id(frame_table *t, const bytes *key, const lc_pprof_location *loc) {
    uint64_t h = hash_of(key->data, key->len);
    if (t->nslots) {
        uint32_t held = t->slots[frame_slot(t, key->data, key->len, h)];
        if (held) return held - 1;
    }
    if (t->count == t->cap && frame_table_grow(t)) return -1;
    if (bytes_reserve(&t->keys, key->len)) return -1;
    frame_entry *e = &t->entries[t->count];
    e->key_at = t->keys.len;
    e->key_len = key->len;
    e->location = loc;
    memcpy(t->keys.data + t->keys.len, key->data, key->len);
    t->keys.len += key->len;
    t->slots[frame_slot(t, key->data, key->len, h)] = (uint32_t)t->count + 1;
    return (int64_t)t->count++;
}

/* The three values compared: the ordering sample type, objects, bytes. */
enum { VALUE_SAMPLE, VALUE_OBJECTS, VALUE_BYTES, NCOMPARED };

typedef struct stack_entry {
    size_t frames_at, depth;
    uint64_t hash;
    int64_t before[NCOMPARED], after[NCOMPARED], delta[NCOMPARED];
    size_t order;
} stack_entry;

typedef struct stack_table {
    uint32_t *frames;
    size_t nframes, frames_cap;
    stack_entry *entries;
    size_t count, cap;
    uint32_t *slots;
    size_t nslots;
} stack_table;

static size_t stack_slot(const stack_table *t, const uint32_t *frames, size_t depth, uint64_t h) {
    size_t mask = t->nslots - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t held = t->slots[i];
        if (!held) return i;
        const stack_entry *e = &t->entries[held - 1];
        /* The frames of empty stacks may not even be allocated. */
        if (e->hash == h && e->depth == depth &&
            (depth == 0 || memcmp(t->frames + e->frames_at, frames, depth * sizeof *frames) == 0))
            return i;
    }
}

static int stack_table_grow(stack_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    if (cap > UINT32_MAX / 2) return -1;
    stack_entry *entries = realloc(t->entries, cap * sizeof *entries);
    if (!entries) return -1;
    t->entries = entries;
    t->cap = cap;
    uint32_t *slots = calloc(cap * 2, sizeof *slots);
    if (!slots) return -1;
    free(t->slots);
    t->slots = slots;
    t->nslots = cap * 2;
    for (size_t i = 0; i < t->count; i++) {
        const stack_entry *e = &t->entries[i];
        t->slots[stack_slot(t, t->frames + e->frames_at, e->depth, e->hash)] = (uint32_t)i + 1;
    }
    return 0;
}

static stack_entry *stack_of(stack_table *t, const uint32_t *frames, size_t depth) {
    uint64_t h = 0x84222325cbf29ce4ULL;
    for (size_t i = 0; i < depth; i++)
        h = hash_mix(h, frames[i]);
    if (t->nslots) {
        uint32_t held = t->slots[stack_slot(t, frames, depth, h)];
        if (held) return &t->entries[held - 1];
    }
    if (t->count == t->cap && stack_table_grow(t)) return NULL;
    if (depth > t->frames_cap - t->nframes) {
        size_t cap = t->frames_cap ? t->frames_cap : 4096;
        while (cap - t->nframes < depth) {
            if (cap > SIZE_MAX / 2 / sizeof *frames) return NULL;
            cap *= 2;
        }
        uint32_t *grown = realloc(t->frames, cap * sizeof *grown);
        if (!grown) return NULL;
        t->frames = grown;
        t->frames_cap = cap;
    }
    if (depth) memcpy(t->frames + t->nframes, frames, depth * sizeof *frames);
    stack_entry *e = &t->entries[t->count];
    memset(e, 0, sizeof *e);
    e->frames_at = t->nframes;
    e->depth = depth;
    e->hash = h;
    e->order = t->count;
    t->nframes += depth;
    t->slots[stack_slot(t, frames, depth, h)] = (uint32_t)t->count + 1;
    t->count++;
    return e;
}

static int64_t saturating_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t saturating_sub(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Add every sample of `p` to the stack table, on side 0 (base) or 1. */
static int add_profile(frame_table *frames, stack_table *stacks, const lc_pprof *p,
                       const int index[NCOMPARED], int side) {
    uint32_t *frame_of = malloc((p->nlocations ? p->nlocations : 1) * sizeof *frame_of);
    size_t longest = 1;
    for (size_t i = 0; i < p->nrecords; i++)
        if (p->records[i].nlocations > longest) longest = p->records[i].nlocations;
    uint32_t *stack = malloc(longest * sizeof *stack);
    bytes key = {0};
    int rc = frame_of && stack ? 0 : -1;
    for (size_t i = 0; i < p->nlocations && rc == 0; i++) {
        int64_t id =
            location_key(&key, &p->locations[i]) ? -1 : frame_id(frames, &key, &p->locations[i]);
        if (id < 0)
            rc = -1;
        else
            frame_of[i] = (uint32_t)id;
    }
    for (size_t i = 0; i < p->nrecords && rc == 0; i++) {
        const lc_pprof_record *r = &p->records[i];
        for (size_t k = 0; k < r->nlocations; k++)
            stack[k] = frame_of[r->locations[k] - p->locations];
        stack_entry *e = stack_of(stacks, stack, r->nlocations);
        if (!e) {
            rc = -1;
            break;
        }
        int64_t *sums = side ? e->after : e->before;
        for (int v = 0; v < NCOMPARED; v++)
            if (index[v] >= 0) sums[v] = saturating_add(sums[v], r->values[index[v]]);
    }
    free(key.data);
    free(stack);
    free(frame_of);
    return rc;
}

static int growth_order(const void *a, const void *b) {
    const stack_entry *x = *(stack_entry *const *)a, *y = *(stack_entry *const *)b;
    for (int v = 0; v < NCOMPARED; v++)
        if (x->delta[v] != y->delta[v]) return x->delta[v] > y->delta[v] ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void list_types(const lc_pprof *p, char *out, size_t outlen) {
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < p->nsample_types && used < outlen; i++) {
        int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", p->sample_types[i].type);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (p->nsample_types == 0) snprintf(out, outlen, "none");
}

static int in_both(const lc_pprof *base, const lc_pprof *after, const char *type) {
    return lc_pprof_sample_type_index(base, type) >= 0 &&
           lc_pprof_sample_type_index(after, type) >= 0;
}

static const char *choose_sample(const lc_pprof *base, const lc_pprof *after, const char *want,
                                 char *err, size_t errlen) {
    char types[256];
    if (want) {
        const lc_pprof *missing = lc_pprof_sample_type_index(base, want) < 0    ? base
                                  : lc_pprof_sample_type_index(after, want) < 0 ? after
                                                                                : NULL;
        if (!missing) return want;
        list_types(missing, types, sizeof types);
        set_error(err, errlen, "sample type %s is not in the %s profile (it has: %s)", want,
                  missing == base ? "base" : "after", types);
        return NULL;
    }
    if (in_both(base, after, "inuse_space")) return "inuse_space";
    if (after->default_sample_type[0] && in_both(base, after, after->default_sample_type))
        return after->default_sample_type;
    for (size_t i = after->nsample_types; i-- > 0;)
        if (lc_pprof_sample_type_index(base, after->sample_types[i].type) >= 0)
            return after->sample_types[i].type;
    list_types(base, types, sizeof types);
    char after_types[256];
    list_types(after, after_types, sizeof after_types);
    set_error(err, errlen, "the profiles share no sample type (base has: %s; after has: %s)", types,
              after_types);
    return NULL;
}

static size_t frames_of_stack(const frame_table *frames, const stack_table *stacks,
                              const stack_entry *e) {
    size_t n = 0;
    for (size_t k = 0; k < e->depth; k++) {
        size_t lines = frames->entries[stacks->frames[e->frames_at + k]].location->nlines;
        n += lines ? lines : 1;
    }
    return n;
}

static void fill_frames(const frame_table *frames, const stack_table *stacks, const stack_entry *e,
                        lc_pprof_frame *out) {
    size_t n = 0;
    for (size_t k = 0; k < e->depth; k++) {
        const lc_pprof_location *loc = frames->entries[stacks->frames[e->frames_at + k]].location;
        const char *mapping = loc->mapping ? loc->mapping->filename : "";
        uint64_t file_offset =
            mapped(loc) ? loc->address - loc->mapping->memory_start + loc->mapping->file_offset : 0;
        if (!loc->nlines) {
            out[n++] = (lc_pprof_frame){"", "", 0, loc->address, mapping, file_offset, 0};
            continue;
        }
        for (size_t i = 0; i < loc->nlines; i++) {
            const lc_pprof_location_line *ln = &loc->lines[i];
            out[n++] = (lc_pprof_frame){function_name(ln->function),
                                        ln->function->filename,
                                        ln->line,
                                        loc->address,
                                        mapping,
                                        file_offset,
                                        1};
        }
    }
}

static int build_result(lc_pprof_diff *d, const frame_table *frames, const stack_table *stacks,
                        const lc_pprof_diff_options *opts) {
    stack_entry **order = malloc((stacks->count ? stacks->count : 1) * sizeof *order);
    if (!order) return -1;
    size_t changed = 0;
    for (size_t i = 0; i < stacks->count; i++) {
        stack_entry *e = &stacks->entries[i];
        int moved = 0;
        for (int v = 0; v < NCOMPARED; v++) {
            e->delta[v] = saturating_sub(e->after[v], e->before[v]);
            moved |= e->delta[v] != 0;
        }
        if (!moved) continue;
        d->total_delta = saturating_add(d->total_delta, e->delta[VALUE_SAMPLE]);
        d->total_delta_objects = saturating_add(d->total_delta_objects, e->delta[VALUE_OBJECTS]);
        d->total_delta_bytes = saturating_add(d->total_delta_bytes, e->delta[VALUE_BYTES]);
        order[changed++] = e;
    }
    d->total_stacks = changed;
    qsort(order, changed, sizeof *order, growth_order);

    size_t kept = 0;
    for (size_t i = 0; i < changed; i++) {
        const stack_entry *e = order[i];
        if (opts->has_min_objects && e->delta[VALUE_OBJECTS] < opts->min_objects) continue;
        if (opts->has_min_bytes && e->delta[VALUE_BYTES] < opts->min_bytes) continue;
        if (opts->top && kept == opts->top) break;
        order[kept++] = order[i];
    }

    lc_pprof_diff_stack *out = arena_array(d->arena, kept, sizeof *out);
    if (!out) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < kept; i++) {
        const stack_entry *e = order[i];
        size_t n = frames_of_stack(frames, stacks, e);
        lc_pprof_frame *f = arena_array(d->arena, n, sizeof *f);
        if (!f) {
            free(order);
            return -1;
        }
        fill_frames(frames, stacks, e, f);
        out[i] = (lc_pprof_diff_stack){e->delta[VALUE_SAMPLE],
                                       e->delta[VALUE_OBJECTS],
                                       e->delta[VALUE_BYTES],
                                       e->after[VALUE_OBJECTS],
                                       e->after[VALUE_BYTES],
                                       n,
                                       f};
    }
    free(order);
    d->stacks = out;
    d->nstacks = kept;
    return 0;
}

int lc_pprof_diff_compute(const lc_pprof *base, const lc_pprof *after,
                          const lc_pprof_diff_options *opts, lc_pprof_diff **out, char *err,
                          size_t errlen) {
    static const lc_pprof_diff_options defaults;
    *out = NULL;
    if (!opts) opts = &defaults;
    const char *sample = choose_sample(base, after, opts->sample, err, errlen);
    if (!sample) return -1;
    const char *base_unit = base->sample_types[lc_pprof_sample_type_index(base, sample)].unit;
    const char *unit = after->sample_types[lc_pprof_sample_type_index(after, sample)].unit;
    if (strcmp(base_unit, unit) != 0) {
        set_error(err, errlen, "sample type %s counts %s in the base profile but %s in the other",
                  sample, base_unit[0] ? base_unit : "(no unit)", unit[0] ? unit : "(no unit)");
        return -1;
    }

    int alloc = strncmp(sample, "alloc_", 6) == 0;
    const char *objects = alloc ? "alloc_objects" : "inuse_objects";
    const char *space = alloc ? "alloc_space" : "inuse_space";
    if (!in_both(base, after, objects)) objects = NULL;
    if (!in_both(base, after, space)) space = NULL;
    if ((opts->has_min_objects && !objects) || (opts->has_min_bytes && !space)) {
        set_error(err, errlen, "a minimum on %s needs the sample type %s in both profiles",
                  opts->has_min_objects && !objects ? "objects" : "bytes",
                  opts->has_min_objects && !objects ? (alloc ? "alloc_objects" : "inuse_objects")
                                                    : (alloc ? "alloc_space" : "inuse_space"));
        return -1;
    }

    const lc_pprof *profiles[2] = {base, after};
    int index[2][NCOMPARED];
    for (int side = 0; side < 2; side++) {
        index[side][VALUE_SAMPLE] = lc_pprof_sample_type_index(profiles[side], sample);
        index[side][VALUE_OBJECTS] =
            objects ? lc_pprof_sample_type_index(profiles[side], objects) : -1;
        index[side][VALUE_BYTES] = space ? lc_pprof_sample_type_index(profiles[side], space) : -1;
    }

    lc_pprof_diff *d = calloc(1, sizeof *d);
    frame_table frames = {0};
    stack_table stacks = {0};
    int rc = d && (d->arena = arena_new()) ? 0 : -1;
    /* `after` first, so that stacks and frames show as that profile has them. */
    for (int side = 1; side >= 0 && rc == 0; side--)
        rc = add_profile(&frames, &stacks, profiles[side], index[side], side);
    if (rc == 0) {
        d->sample = after->sample_types[index[1][VALUE_SAMPLE]].type;
        d->sample_unit = unit;
        d->objects_type = objects;
        d->bytes_type = space;
        rc = build_result(d, &frames, &stacks, opts);
    }
    free(frames.keys.data);
    free(frames.entries);
    free(frames.slots);
    free(stacks.frames);
    free(stacks.entries);
    free(stacks.slots);
    if (rc) {
        lc_pprof_diff_free(d);
        set_error(err, errlen, "out of memory comparing the profiles");
        return -1;
    }
    *out = d;
    return 0;
}

void lc_pprof_diff_free(lc_pprof_diff *d) {
    if (!d) return;
    arena_free(d->arena);
    free(d);
}
