/* SPDX-License-Identifier: MIT */
/* pprof_read.c: a profile in pprof's format read into the model of
 * profiles.h.
 *
 * `leakcheck diff` reads profiles written by leakcheck, by Go's runtime/pprof
 * and by the pprof tool, so the reader takes the whole format as
 * profile.proto defines it (fields in any order, packed or unpacked repeated
 * integers, unknown fields skipped, several gzip members). The wire format is
 * decoded by code protoc-c generates from profile.proto, which checks every
 * length and tag; what the wire format cannot say is checked here, before
 * the model is built: string indexes in range, ids unique and not 0, every
 * id a sample or a line refers to defined, one value per sample type. So
 * malformed input ends in a one-line error and never in a read out of
 * bounds (tests/fuzz_pprof.c). The model is copied out of the decoded
 * message into one arena, and the message is freed at once. */
#include "profiles.h"
#include "profile.pb-c.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define set_error lc_pprof_set_error

typedef Perftools__Profiles__Profile pb_profile;

/* ------------------------------------------------------------------ model */

typedef struct reader {
    lc_pprof_arena *arena;
    lc_pprof *profile;
    char *err;
    size_t errlen;
    int failed;
    int not_a_profile; /* the input is no profile at all, rather than a bad one */
} reader;

static int fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reader *r, const char *fmt, ...) {
    if (!r->failed && r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->failed = 1;
    return -1;
}

static int fail_oom(reader *r) {
    return fail(r, "out of memory");
}

static void *array(reader *r, size_t count, size_t size) {
    void *p = lc_pprof_arena_array(r->arena, count, size);
    if (!p) fail_oom(r);
    return p;
}

static const char *string_at(reader *r, int64_t index, const char *where) {
    const lc_pprof *p = r->profile;
    if (index < 0 || (uint64_t)index >= p->nstrings) {
        fail(r, "string index %lld out of range in %s (the string table has %zu entries)",
             (long long)index, where, p->nstrings);
        return "";
    }
    return p->strings[index];
}

static int read_strings(reader *r, const pb_profile *m) {
    lc_pprof *p = r->profile;
    if (m->n_string_table == 0) {
        r->not_a_profile = 1;
        return fail(r, "no string table");
    }
    const char **strings = array(r, m->n_string_table, sizeof *strings);
    if (!strings) return -1;
    for (size_t i = 0; i < m->n_string_table; i++) {
        size_t len = strlen(m->string_table[i]);
        char *s = array(r, len + 1, 1);
        if (!s) return -1;
        memcpy(s, m->string_table[i], len);
        strings[i] = s;
    }
    p->strings = strings;
    p->nstrings = m->n_string_table;
    if (strings[0][0] != 0) {
        r->not_a_profile = 1;
        return fail(r, "string_table[0] is not empty");
    }
    return 0;
}

static void read_value_type(reader *r, const Perftools__Profiles__ValueType *m,
                            lc_pprof_value_type *vt) {
    vt->type = string_at(r, m->type, "ValueType.type");
    vt->unit = string_at(r, m->unit, "ValueType.unit");
}

static void read_mapping(reader *r, const Perftools__Profiles__Mapping *m, lc_pprof_mapping *out) {
    out->id = m->id;
    out->memory_start = m->memory_start;
    out->memory_limit = m->memory_limit;
    out->file_offset = m->file_offset;
    out->filename = string_at(r, m->filename, "Mapping.filename");
    out->build_id = string_at(r, m->build_id, "Mapping.build_id");
    out->has_functions = m->has_functions;
    out->has_filenames = m->has_filenames;
    out->has_line_numbers = m->has_line_numbers;
    out->has_inline_frames = m->has_inline_frames;
}

static void read_function(reader *r, const Perftools__Profiles__Function *m,
                          lc_pprof_function *out) {
    out->id = m->id;
    out->name = string_at(r, m->name, "Function.name");
    out->system_name = string_at(r, m->system_name, "Function.system_name");
    out->filename = string_at(r, m->filename, "Function.filename");
    out->start_line = m->start_line;
}

/* ------------------------------------------------------------------- ids */

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

static int build_index(reader *r, id_index *ix, size_t n, const void *items, size_t stride,
                       size_t id_offset, const char *what) {
    ix->n = n;
    ix->entries = array(r, n, sizeof *ix->entries);
    if (!ix->entries) return -1;
    for (size_t i = 0; i < n; i++) {
        memcpy(&ix->entries[i].id, (const char *)items + i * stride + id_offset, sizeof(uint64_t));
        ix->entries[i].at = i;
        if (ix->entries[i].id == 0) return fail(r, "%s %zu has the reserved id 0", what, i);
    }
    qsort(ix->entries, n, sizeof *ix->entries, id_entry_order);
    for (size_t i = 1; i < n; i++)
        if (ix->entries[i].id == ix->entries[i - 1].id)
            return fail(r, "two %ss have the id %llu", what, (unsigned long long)ix->entries[i].id);
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

/* ------------------------------------------------- locations and samples */

static int read_location(reader *r, const Perftools__Profiles__Location *m,
                         const id_index *mappings, const id_index *functions,
                         lc_pprof_location *loc) {
    loc->id = m->id;
    loc->address = m->address;
    loc->is_folded = m->is_folded;
    /* As pprof does, an unknown mapping id leaves the location unmapped. */
    size_t at = m->mapping_id ? find_id(mappings, m->mapping_id) : SIZE_MAX;
    loc->mapping = at == SIZE_MAX ? NULL : &r->profile->mappings[at];
    if (m->n_line == 0) return 0;
    lc_pprof_location_line *lines = array(r, m->n_line, sizeof *lines);
    if (!lines) return -1;
    for (size_t i = 0; i < m->n_line; i++) {
        const Perftools__Profiles__Line *ln = m->line[i];
        size_t fn = ln->function_id ? find_id(functions, ln->function_id) : SIZE_MAX;
        if (fn == SIZE_MAX)
            return fail(r, "location %llu has a line with %s function id %llu",
                        (unsigned long long)m->id, ln->function_id ? "unknown" : "no",
                        (unsigned long long)ln->function_id);
        lines[i] = (lc_pprof_location_line){&r->profile->functions[fn], ln->line, ln->column};
    }
    loc->lines = lines;
    loc->nlines = m->n_line;
    return 0;
}

static int read_sample(reader *r, const Perftools__Profiles__Sample *m, const id_index *locations,
                       lc_pprof_record *rec, size_t index) {
    const lc_pprof *p = r->profile;
    if (m->n_value != p->nsample_types)
        return fail(r, "sample %zu has %zu values for %zu sample types", index, m->n_value,
                    p->nsample_types);
    const lc_pprof_location **locs = array(r, m->n_location_id, sizeof *locs);
    int64_t *values = array(r, m->n_value, sizeof *values);
    lc_pprof_label *labels = array(r, m->n_label, sizeof *labels);
    if (!locs || !values || !labels) return -1;
    for (size_t i = 0; i < m->n_location_id; i++) {
        size_t at = find_id(locations, m->location_id[i]);
        if (at == SIZE_MAX)
            return fail(r, "sample %zu refers to unknown location id %llu", index,
                        (unsigned long long)m->location_id[i]);
        locs[i] = &p->locations[at];
    }
    if (m->n_value) memcpy(values, m->value, m->n_value * sizeof *values);
    for (size_t i = 0; i < m->n_label; i++) {
        const Perftools__Profiles__Label *l = m->label[i];
        labels[i].key = string_at(r, l->key, "Label.key");
        labels[i].str = string_at(r, l->str, "Label.str");
        labels[i].num = l->num;
        labels[i].num_unit = string_at(r, l->num_unit, "Label.num_unit");
    }
    rec->nlocations = m->n_location_id;
    rec->locations = locs;
    rec->values = values;
    rec->nlabels = m->n_label;
    rec->labels = labels;
    return r->failed ? -1 : 0;
}

/* Strings first, then what refers only to strings (sample types, mappings,
 * functions), then locations (which refer to mappings and functions), then
 * samples (which refer to locations). */
static int read_profile(reader *r, const pb_profile *m) {
    lc_pprof *p = r->profile;
    if (read_strings(r, m)) return -1;
    if (m->n_sample && !m->n_sample_type) return fail(r, "samples without sample types");

    lc_pprof_value_type *types = array(r, m->n_sample_type, sizeof *types);
    lc_pprof_mapping *mappings = array(r, m->n_mapping, sizeof *mappings);
    lc_pprof_function *functions = array(r, m->n_function, sizeof *functions);
    lc_pprof_location *locations = array(r, m->n_location, sizeof *locations);
    lc_pprof_record *records = array(r, m->n_sample, sizeof *records);
    const char **comments = array(r, m->n_comment, sizeof *comments);
    if (r->failed) return -1;
    p->sample_types = types;
    p->nsample_types = m->n_sample_type;
    p->mappings = mappings;
    p->nmappings = m->n_mapping;
    p->functions = functions;
    p->nfunctions = m->n_function;
    p->locations = locations;
    p->nlocations = m->n_location;
    p->records = records;
    p->nrecords = m->n_sample;

    for (size_t i = 0; i < m->n_sample_type; i++)
        read_value_type(r, m->sample_type[i], &types[i]);
    p->period_type = (lc_pprof_value_type){"", ""};
    if (m->period_type) read_value_type(r, m->period_type, &p->period_type);
    for (size_t i = 0; i < m->n_mapping; i++)
        read_mapping(r, m->mapping[i], &mappings[i]);
    for (size_t i = 0; i < m->n_function; i++)
        read_function(r, m->function[i], &functions[i]);
    for (size_t i = 0; i < m->n_comment; i++)
        comments[i] = string_at(r, m->comment[i], "Profile.comment");
    p->comments = comments;
    p->ncomments = m->n_comment;
    p->drop_frames = string_at(r, m->drop_frames, "Profile.drop_frames");
    p->keep_frames = string_at(r, m->keep_frames, "Profile.keep_frames");
    p->default_sample_type = string_at(r, m->default_sample_type, "Profile.default_sample_type");
    p->time_nanos = m->time_nanos;
    p->duration_nanos = m->duration_nanos;
    p->period = m->period;
    if (r->failed) return -1;

    id_index mapping_ids, function_ids, location_ids;
    if (build_index(r, &mapping_ids, p->nmappings, mappings, sizeof *mappings,
                    offsetof(lc_pprof_mapping, id), "mapping") ||
        build_index(r, &function_ids, p->nfunctions, functions, sizeof *functions,
                    offsetof(lc_pprof_function, id), "function"))
        return -1;
    for (size_t i = 0; i < m->n_location; i++)
        if (read_location(r, m->location[i], &mapping_ids, &function_ids, &locations[i])) return -1;
    if (build_index(r, &location_ids, p->nlocations, locations, sizeof *locations,
                    offsetof(lc_pprof_location, id), "location"))
        return -1;
    for (size_t i = 0; i < m->n_sample; i++)
        if (read_sample(r, m->sample[i], &location_ids, &records[i], i)) return -1;
    return 0;
}

/* ----------------------------------------------------------------- gunzip */

/* The first output buffer: profiles compress about fourfold. */
#define GUNZIP_MIN_BUFFER ((size_t)64 * 1024)

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
    size_t cap = len < GUNZIP_MIN_BUFFER ? GUNZIP_MIN_BUFFER : len * 4, produced = 0;
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
    pb_profile *m = perftools__profiles__profile__unpack(NULL, message_len, message);
    free(inflated);
    if (!m) {
        /* The generated decoder says no more than that the bytes do not
         * frame as the message: a cut-off file, another format, damage. */
        set_error(err, errlen,
                  "not a pprof profile, or a truncated or damaged one: its bytes do not "
                  "decode as a Profile message");
        return -1;
    }

    lc_pprof *p = calloc(1, sizeof *p);
    lc_pprof_arena *arena = lc_pprof_arena_new();
    if (!p || !arena) {
        free(p);
        lc_pprof_arena_free(arena);
        perftools__profiles__profile__free_unpacked(m, NULL);
        set_error(err, errlen, "out of memory");
        return -1;
    }
    p->arena = arena;
    char detail[256] = "";
    reader r = {arena, p, detail, sizeof detail, 0, 0};
    read_profile(&r, m);
    perftools__profiles__profile__free_unpacked(m, NULL);
    if (r.failed) {
        set_error(err, errlen, "%s: %s",
                  r.not_a_profile ? "not a pprof profile" : "malformed pprof profile", detail);
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
    lc_pprof_arena_free(p->arena);
    free(p);
}

int lc_pprof_sample_type_index(const lc_pprof *p, const char *type) {
    for (size_t i = 0; i < p->nsample_types && i < INT32_MAX; i++)
        if (strcmp(p->sample_types[i].type, type) == 0) return (int)i;
    return -1;
}
