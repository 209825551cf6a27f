/* SPDX-License-Identifier: MIT */
/* pprof_diff.c: two profiles compared call stack by call stack, for
 * `leakcheck diff`.
 *
 * It is a query over two models read by pprof_read.c: stacks are matched by
 * what they mean (function, file, line of each frame), never by ids or
 * addresses, which differ from one process to the next. Frames and stacks
 * are interned in open-addressing tables keyed by that meaning; the result
 * lives in one arena, released at once. */
#include "profiles.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define set_error lc_pprof_set_error

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

/* A minimum is inclusive by default (grew by at least N) and exclusive
 * with strict_minimums (grew by more than N: "objects > 1000 and space >
 * 1 MB" as a leak hunt states its threshold). */
static bool passes_minimum(int64_t delta, int64_t min, int strict) {
    return strict ? delta > min : delta >= min;
}

static bool passes_minimums(const lc_pprof_diff_options *opts, const stack_entry *e) {
    int strict = opts->strict_minimums;
    if (opts->has_min_objects &&
        !passes_minimum(e->delta[VALUE_OBJECTS], opts->min_objects, strict))
        return false;
    return !opts->has_min_bytes || passes_minimum(e->delta[VALUE_BYTES], opts->min_bytes, strict);
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
        if (!passes_minimums(opts, e)) continue;
        if (e->delta[VALUE_SAMPLE] > 0) d->grown_stacks++;
        if (opts->top && kept == opts->top) continue;
        order[kept++] = order[i];
    }

    lc_pprof_diff_stack *out = lc_pprof_arena_array(d->arena, kept, sizeof *out);
    if (!out) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < kept; i++) {
        const stack_entry *e = order[i];
        size_t n = frames_of_stack(frames, stacks, e);
        lc_pprof_frame *f = lc_pprof_arena_array(d->arena, n, sizeof *f);
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
    int rc = d && (d->arena = lc_pprof_arena_new()) ? 0 : -1;
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
    lc_pprof_arena_free(d->arena);
    free(d);
}
