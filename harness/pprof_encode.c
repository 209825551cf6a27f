/* SPDX-License-Identifier: MIT */
/* pprof_encode.c: heap profiles written in pprof's format.
 *
 * A heap profile is one perftools.profiles.Profile message, gzip-compressed.
 * The message has a fixed, small shape (profile.proto), so it is encoded by
 * hand here instead of through a protobuf library: the library is preloaded
 * into arbitrary programs and should depend on nothing beyond libc and zlib.
 *
 * The output mirrors what Go's runtime/pprof writes for its heap profile, so
 * that pprof treats both alike: the four sample types in Go's order, one
 * sample per allocation stack, locations deduplicated per program counter,
 * functions deduplicated per name, file and start line, and one mapping per
 * executable segment of each loaded object (what /proc/self/maps shows), with
 * its GNU build id. Mappings whose locations were symbolized here are marked
 * so, which stops pprof from symbolizing them a second time.
 *
 * Sub-messages are encoded into a scratch buffer and appended with their
 * length; each repeated field of the profile accumulates in its own section
 * buffer, because the string table, written last, grows while the other
 * sections are built. Buffers record allocation failure and ignore later
 * writes, so the encoder checks for it once at the end instead of after every
 * byte. */
#include "os.h"
#include "pprof.h"
#include "leakcheck.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Field numbers from profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_TIME_NANOS = 9,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1,
    VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1,
    SAMPLE_VALUE = 2,
    MAPPING_ID = 1,
    MAPPING_MEMORY_START = 2,
    MAPPING_MEMORY_LIMIT = 3,
    MAPPING_FILE_OFFSET = 4,
    MAPPING_FILENAME = 5,
    MAPPING_BUILD_ID = 6,
    MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    MAPPING_HAS_INLINE_FRAMES = 10,
    LOCATION_ID = 1,
    LOCATION_MAPPING_ID = 2,
    LOCATION_ADDRESS = 3,
    LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1,
    LINE_LINE = 2,
    FUNCTION_ID = 1,
    FUNCTION_NAME = 2,
    FUNCTION_SYSTEM_NAME = 3,
    FUNCTION_FILENAME = 4,
    FUNCTION_START_LINE = 5,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

void lc_pprof_set_error(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define set_error lc_pprof_set_error

/* ------------------------------------------------------------ byte buffers */

typedef struct pbuf {
    uint8_t *data;
    size_t len, cap;
    int failed;
} pbuf;

static int pbuf_reserve(pbuf *b, size_t more) {
    if (b->failed) return -1;
    if (more <= b->cap - b->len) return 0;
    if (more > SIZE_MAX - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t want = b->len + more;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static void pbuf_free(pbuf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put_bytes(pbuf *b, const void *p, size_t n) {
    if (n == 0 || pbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_varint(pbuf *b, uint64_t v) {
    if (pbuf_reserve(b, 10)) return;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_key(pbuf *b, int field, int wire) {
    put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

/* proto3 leaves fields at their default (zero) out of the message. */
static void put_int(pbuf *b, int field, int64_t v) {
    if (v == 0) return;
    put_key(b, field, WIRE_VARINT);
    put_varint(b, (uint64_t)v);
}

static void put_length_delimited(pbuf *b, int field, const void *p, size_t n) {
    put_key(b, field, WIRE_LEN);
    put_varint(b, n);
    put_bytes(b, p, n);
}

static void put_message(pbuf *b, int field, const pbuf *msg) {
    if (msg->failed) {
        b->failed = 1;
        return;
    }
    put_length_delimited(b, field, msg->data, msg->len);
}

/* ------------------------------------------------------------ hash tables */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_bytes(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return mix64(h ^ n);
}

/* Ids keyed by a pair of integers: locations by pc, functions by their
 * string indexes and start line. Id 0 marks a free slot, as profile ids
 * start at 1. */
typedef struct id_slot {
    uint64_t k1, k2;
    uint32_t id;
} id_slot;

typedef struct id_map {
    id_slot *slots;
    size_t nslots, count;
} id_map;

static size_t id_slot_of(const id_map *m, uint64_t k1, uint64_t k2) {
    size_t mask = m->nslots - 1;
    size_t i = (size_t)mix64(k1 ^ mix64(k2 + 0x9e3779b97f4a7c15ULL)) & mask;
    while (m->slots[i].id && (m->slots[i].k1 != k1 || m->slots[i].k2 != k2))
        i = (i + 1) & mask;
    return i;
}

static uint32_t id_map_get(const id_map *m, uint64_t k1, uint64_t k2) {
    if (!m->nslots) return 0;
    return m->slots[id_slot_of(m, k1, k2)].id;
}

static int id_map_put(id_map *m, uint64_t k1, uint64_t k2, uint32_t id) {
    if ((m->count + 1) * 2 > m->nslots) {
        size_t nslots = m->nslots ? m->nslots * 2 : 1024;
        id_slot *slots = calloc(nslots, sizeof *slots);
        if (!slots) return -1;
        id_map grown = {slots, nslots, m->count};
        for (size_t i = 0; i < m->nslots; i++)
            if (m->slots[i].id)
                grown.slots[id_slot_of(&grown, m->slots[i].k1, m->slots[i].k2)] = m->slots[i];
        free(m->slots);
        *m = grown;
    }
    id_slot *s = &m->slots[id_slot_of(m, k1, k2)];
    s->k1 = k1;
    s->k2 = k2;
    s->id = id;
    m->count++;
    return 0;
}

/* The string table: each string once, written to its section as it is first
 * seen. Slots hold index + 1 (0 is free); the bytes are found again through
 * their offset in the section. */
typedef struct string_table {
    pbuf section;
    size_t *offsets;
    uint32_t *lengths;
    size_t count, cap;
    uint32_t *slots;
    size_t nslots;
} string_table;

static size_t string_slot_of(const string_table *t, const char *s, size_t n, uint64_t h) {
    size_t mask = t->nslots - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        uint32_t held = t->slots[i];
        if (!held) return i;
        size_t at = held - 1;
        if (t->lengths[at] == n && memcmp(t->section.data + t->offsets[at], s, n) == 0) return i;
        i = (i + 1) & mask;
    }
}

static int string_table_grow(string_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    size_t *offsets = realloc(t->offsets, cap * sizeof *offsets);
    if (!offsets) return -1;
    t->offsets = offsets;
    uint32_t *lengths = realloc(t->lengths, cap * sizeof *lengths);
    if (!lengths) return -1;
    t->lengths = lengths;
    t->cap = cap;

    size_t nslots = cap * 2;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    for (size_t i = 0; i < t->count; i++) {
        const char *s = (const char *)t->section.data + t->offsets[i];
        size_t at = string_slot_of(t, s, t->lengths[i], hash_bytes(s, t->lengths[i]));
        t->slots[at] = (uint32_t)i + 1;
    }
    return 0;
}

/* Index of `s` in the table, adding it when new; -1 when out of memory. */
static int64_t string_index(string_table *t, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    if (n > UINT32_MAX || t->count >= UINT32_MAX - 1) return -1;
    uint64_t h = hash_bytes(s, n);
    if (t->nslots) {
        uint32_t held = t->slots[string_slot_of(t, s, n, h)];
        if (held) return held - 1;
    }
    if (t->count == t->cap && string_table_grow(t)) return -1;

    put_key(&t->section, PROFILE_STRING_TABLE, WIRE_LEN);
    put_varint(&t->section, n);
    size_t at = t->section.len;
    put_bytes(&t->section, s, n);
    if (t->section.failed) return -1;

    t->offsets[t->count] = at;
    t->lengths[t->count] = (uint32_t)n;
    t->slots[string_slot_of(t, s, n, h)] = (uint32_t)t->count + 1;
    return (int64_t)t->count++;
}

static void string_table_free(string_table *t) {
    pbuf_free(&t->section);
    free(t->offsets);
    free(t->lengths);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ----------------------------------------------------------------- encoder */

typedef struct encoder {
    string_table strings;
    id_map locations_by_pc;
    id_map functions_by_key;
    uint32_t nlocations, nfunctions;
    pbuf samples, locations, functions, mappings, scratch, line_scratch;
    lc_pprof_segments walk;
    lc_pprof_segment **by_start;
    lc_pprof_symbolize_fn symbolize;
    void *symbolize_arg;
    const struct profile_kind *kind;
    int failed;
} encoder;

/* What a kind of profile measures: its sample types (the values of every
 * sample, in order), its period type and its default sample type, as Go
 * writes the same kinds of profile. */
typedef struct profile_kind {
    int nvalues;
    const char *types[LC_PPROF_NVALUES], *units[LC_PPROF_NVALUES];
    const char *period_type, *period_unit;
    int default_value;
} profile_kind;

static const profile_kind kinds[] = {
    /* Go's heap profile: every allocation is recorded, a period of one byte. */
    [LC_PPROF_HEAP] = {LC_PPROF_NVALUES,
                       {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
                       {"count", "bytes", "count", "bytes"},
                       "space",
                       "bytes",
                       LC_PPROF_INUSE_SPACE},
    /* Go's goroutine profile, for threads: one sample per stack, the number
     * of threads on it. */
    [LC_PPROF_THREADS] = {1, {"threads"}, {"count"}, "threads", "count", 0},
};

static int64_t intern(encoder *e, const char *s) {
    int64_t at = string_index(&e->strings, s);
    if (at < 0) e->failed = 1;
    return at < 0 ? 0 : at;
}

static uint32_t function_id(encoder *e, const lc_pprof_line *ln) {
    int64_t name = intern(e, ln->function);
    int64_t file = intern(e, ln->file);
    uint64_t key = (uint64_t)name << 32 | (uint64_t)file;
    uint32_t id = id_map_get(&e->functions_by_key, key, (uint64_t)(int64_t)ln->start_line);
    if (id) return id;
    id = ++e->nfunctions;
    if (id_map_put(&e->functions_by_key, key, (uint64_t)(int64_t)ln->start_line, id)) {
        e->failed = 1;
        return 0;
    }
    pbuf *m = &e->scratch;
    m->len = 0;
    put_int(m, FUNCTION_ID, id);
    put_int(m, FUNCTION_NAME, name);
    put_int(m, FUNCTION_SYSTEM_NAME, name);
    put_int(m, FUNCTION_FILENAME, file);
    put_int(m, FUNCTION_START_LINE, ln->start_line);
    put_message(&e->functions, PROFILE_FUNCTION, m);
    return id;
}

static uint32_t location_id(encoder *e, uintptr_t pc) {
    uint32_t id = id_map_get(&e->locations_by_pc, pc, 0);
    if (id) return id;
    id = ++e->nlocations;
    if (id_map_put(&e->locations_by_pc, pc, 0, id)) {
        e->failed = 1;
        return 0;
    }

    lc_pprof_line lines[LC_PPROF_MAX_INLINE];
    int nlines = e->symbolize ? e->symbolize(pc, lines, LC_PPROF_MAX_INLINE, e->symbolize_arg) : 0;
    if (nlines < 0) nlines = 0;
    if (nlines > LC_PPROF_MAX_INLINE) nlines = LC_PPROF_MAX_INLINE;

    lc_pprof_segment *seg = lc_pprof_segment_of(e->by_start, e->walk.count, pc);
    /* Lines are encoded before the location because function_id reuses the
     * scratch buffer. */
    pbuf *lb = &e->line_scratch;
    lb->len = 0;
    for (int i = 0; i < nlines; i++) {
        const lc_pprof_line *ln = &lines[i];
        if (!ln->function && !ln->file) continue;
        uint32_t fid = function_id(e, ln);
        int64_t line = ln->line;
        size_t body =
            (fid ? 1 + varint_size(fid) : 0) + (line ? 1 + varint_size((uint64_t)line) : 0);
        put_key(lb, LOCATION_LINE, WIRE_LEN);
        put_varint(lb, body);
        put_int(lb, LINE_FUNCTION_ID, fid);
        put_int(lb, LINE_LINE, line);
        if (seg) {
            if (ln->function && ln->function[0]) seg->has_functions = 1;
            if (ln->file && ln->file[0]) seg->has_filenames = 1;
            if (ln->line > 0) seg->has_line_numbers = 1;
        }
    }

    pbuf *m = &e->scratch;
    m->len = 0;
    put_int(m, LOCATION_ID, id);
    if (seg) put_int(m, LOCATION_MAPPING_ID, seg->id);
    put_int(m, LOCATION_ADDRESS, (int64_t)pc);
    if (lb->failed) m->failed = 1;
    put_bytes(m, lb->data, lb->len);
    put_message(&e->locations, PROFILE_LOCATION, m);
    return id;
}

static void encode_sample(encoder *e, const lc_pprof_sample *s) {
    pbuf *m = &e->scratch;
    /* Location ids are gathered first: creating a location reuses scratch. */
    uint32_t ids_inline[64];
    uint32_t *ids = ids_inline;
    if (s->depth > 64) {
        ids = malloc((size_t)s->depth * sizeof *ids);
        if (!ids) {
            e->failed = 1;
            return;
        }
    }
    for (int i = 0; i < s->depth; i++)
        ids[i] = location_id(e, s->pcs[i]);

    m->len = 0;
    if (s->depth > 0) {
        size_t packed_len = 0;
        for (int i = 0; i < s->depth; i++)
            packed_len += varint_size(ids[i]);
        put_key(m, SAMPLE_LOCATION_ID, WIRE_LEN);
        put_varint(m, packed_len);
        for (int i = 0; i < s->depth; i++)
            put_varint(m, ids[i]);
    }
    size_t values_len = 0;
    for (int v = 0; v < e->kind->nvalues; v++)
        values_len += varint_size((uint64_t)s->values[v]);
    put_key(m, SAMPLE_VALUE, WIRE_LEN);
    put_varint(m, values_len);
    for (int v = 0; v < e->kind->nvalues; v++)
        put_varint(m, (uint64_t)s->values[v]);
    put_message(&e->samples, PROFILE_SAMPLE, m);
    if (ids != ids_inline) free(ids);
}

static void encode_mappings(encoder *e) {
    pbuf *m = &e->scratch;
    for (size_t i = 0; i < e->walk.count; i++) {
        const lc_pprof_segment *s = &e->walk.segments[i];
        m->len = 0;
        put_int(m, MAPPING_ID, s->id);
        put_int(m, MAPPING_MEMORY_START, (int64_t)s->start);
        put_int(m, MAPPING_MEMORY_LIMIT, (int64_t)s->limit);
        put_int(m, MAPPING_FILE_OFFSET, (int64_t)s->file_offset);
        put_int(m, MAPPING_FILENAME, intern(e, s->name));
        put_int(m, MAPPING_BUILD_ID, intern(e, s->build_id));
        put_int(m, MAPPING_HAS_FUNCTIONS, s->has_functions);
        put_int(m, MAPPING_HAS_FILENAMES, s->has_filenames);
        put_int(m, MAPPING_HAS_LINE_NUMBERS, s->has_line_numbers);
        /* The symbolizer reports inlined frames, so a symbolized mapping
         * has them all. */
        put_int(m, MAPPING_HAS_INLINE_FRAMES, s->has_functions);
        put_message(&e->mappings, PROFILE_MAPPING, m);
    }
}

static void put_value_type(pbuf *out, pbuf *scratch, int field, int64_t type, int64_t unit) {
    scratch->len = 0;
    put_int(scratch, VALUE_TYPE_TYPE, type);
    put_int(scratch, VALUE_TYPE_UNIT, unit);
    put_message(out, field, scratch);
}

static void encoder_free(encoder *e) {
    string_table_free(&e->strings);
    free(e->locations_by_pc.slots);
    free(e->functions_by_key.slots);
    pbuf_free(&e->samples);
    pbuf_free(&e->locations);
    pbuf_free(&e->functions);
    pbuf_free(&e->mappings);
    pbuf_free(&e->scratch);
    pbuf_free(&e->line_scratch);
    lc_pprof_segments_free(&e->walk);
    free(e->by_start);
}

static int encode_profile(encoder *e, const lc_pprof_sample *samples, size_t n, pbuf *out) {
    const profile_kind *k = e->kind;
    /* string_table[0] must be "". */
    intern(e, "");
    int64_t types[LC_PPROF_NVALUES], units[LC_PPROF_NVALUES];
    for (int v = 0; v < k->nvalues; v++) {
        types[v] = intern(e, k->types[v]);
        units[v] = intern(e, k->units[v]);
    }
    int64_t period_type = intern(e, k->period_type), period_unit = intern(e, k->period_unit);
    int64_t comment = intern(e, "leakcheck " LEAKCHECK_VERSION);

    if (lc_pprof_segments_collect(&e->walk)) return -1;
    if (e->walk.count) {
        e->by_start = malloc(e->walk.count * sizeof *e->by_start);
        if (!e->by_start) return -1;
        for (size_t i = 0; i < e->walk.count; i++)
            e->by_start[i] = &e->walk.segments[i];
        lc_pprof_segments_sort(e->by_start, e->walk.count);
    }

    for (size_t i = 0; i < n && !e->failed; i++)
        encode_sample(e, &samples[i]);
    encode_mappings(e);

    for (int v = 0; v < k->nvalues; v++)
        put_value_type(out, &e->scratch, PROFILE_SAMPLE_TYPE, types[v], units[v]);
    put_bytes(out, e->samples.data, e->samples.len);
    put_bytes(out, e->mappings.data, e->mappings.len);
    put_bytes(out, e->locations.data, e->locations.len);
    put_bytes(out, e->functions.data, e->functions.len);
    put_bytes(out, e->strings.section.data, e->strings.section.len);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    put_int(out, PROFILE_TIME_NANOS, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
    put_value_type(out, &e->scratch, PROFILE_PERIOD_TYPE, period_type, period_unit);
    put_int(out, PROFILE_PERIOD, 1);
    put_key(out, PROFILE_COMMENT, WIRE_VARINT);
    put_varint(out, (uint64_t)comment);
    put_int(out, PROFILE_DEFAULT_SAMPLE_TYPE, types[k->default_value]);

    if (e->failed || e->strings.section.failed || e->samples.failed || e->mappings.failed ||
        e->locations.failed || e->functions.failed || e->scratch.failed || out->failed)
        return -1;
    return 0;
}

int lc_pprof_encode(lc_pprof_kind kind, const lc_pprof_sample *samples, size_t n,
                    lc_pprof_symbolize_fn sym, void *arg, int compress, uint8_t **out,
                    size_t *outlen, char *err, size_t errlen) {
    *out = NULL;
    *outlen = 0;
    if (kind != LC_PPROF_HEAP && kind != LC_PPROF_THREADS) {
        set_error(err, errlen, "pprof: unknown profile kind %d", (int)kind);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (samples[i].depth < 0 || (samples[i].depth > 0 && !samples[i].pcs)) {
            set_error(err, errlen, "pprof: sample %zu has depth %d and %s program counters", i,
                      samples[i].depth, samples[i].pcs ? "some" : "no");
            return -1;
        }
    }
    encoder e;
    memset(&e, 0, sizeof e);
    e.symbolize = sym;
    e.symbolize_arg = arg;
    e.kind = &kinds[kind];
    pbuf message = {0};
    if (encode_profile(&e, samples, n, &message)) {
        encoder_free(&e);
        pbuf_free(&message);
        set_error(err, errlen, "pprof: out of memory while encoding %zu samples", n);
        return -1;
    }
    encoder_free(&e);
    if (!compress) {
        *out = message.data;
        *outlen = message.len;
        return 0;
    }
    int rc = lc_pprof_gzip(message.data, message.len, out, outlen, err, errlen);
    pbuf_free(&message);
    return rc;
}

int lc_pprof_write(lc_pprof_kind kind, const char *path, const lc_pprof_sample *samples, size_t n,
                   lc_pprof_symbolize_fn sym, void *arg, char *err, size_t errlen) {
    uint8_t *data;
    size_t len;
    if (lc_pprof_encode(kind, samples, n, sym, arg, 1, &data, &len, err, errlen)) return -1;
    FILE *f = fopen(path, "wb");
    if (!f) {
        set_error(err, errlen, "cannot create %s: %s", path, strerror(errno));
        free(data);
        return -1;
    }
    size_t written = fwrite(data, 1, len, f);
    int write_errno = errno;
    free(data);
    if (written != len) {
        fclose(f);
        set_error(err, errlen, "cannot write %s: %s", path, strerror(write_errno));
        return -1;
    }
    if (fclose(f)) {
        set_error(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
