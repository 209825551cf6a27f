/* SPDX-License-Identifier: MIT */
/* test_pprof.c: the pprof writer, reader and comparison, one behaviour a test.
 *
 * Profiles written by the encoder are read back by the decoder; the format
 * details that other tools rely on (Go's sample types, string_table[0], gzip)
 * are checked on the bytes. Malformed input is built by hand, field by field,
 * one class of damage a test, each next to a twin that differs only in being
 * valid, so that a rejection is known to come from the damage. Snapshots of
 * this process's own heap are written with lc_snapshot_write_pprof and read
 * back, a kept block next to a freed twin. */
#include "profiles.h"
#include "leakcheck.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ helpers */

/* Synthetic program counters: bits 8-11 choose the function, the rest only
 * moves the address, as another process would. Index 6 has an inlined frame;
 * 7 and above have no symbols. */
static const char *const fn_names[] = {"alloc_site", "cache_put", "handler", "app_main",
                                       "worker",     "churn",     "parse"};

static int symbolize(uintptr_t pc, lc_pprof_line *lines, int max, void *arg) {
    (void)arg;
    size_t k = (pc >> 8) & 0xf;
    if (k >= sizeof fn_names / sizeof *fn_names || max < 2) return 0;
    if (k == 6) {
        lines[0] = (lc_pprof_line){"inlined_helper", "helper.h", 3, 1};
        lines[1] = (lc_pprof_line){fn_names[k], "parse.c", 60, 55};
        return 2;
    }
    lines[0] = (lc_pprof_line){fn_names[k], "app.c", 10 + (int)k, 5};
    return 1;
}

#define PC(fn, shift) ((uintptr_t)0x10000 * (shift) + ((uintptr_t)(fn) << 8) + 0x10)

static lc_pprof *parse_or_fail(const uint8_t *data, size_t len) {
    lc_pprof *p = NULL;
    char err[256] = "";
    int rc = lc_pprof_parse(data, len, &p, err, sizeof err);
    ck_assert_msg(rc == 0, "parse failed: %s", err);
    ck_assert_ptr_nonnull(p);
    return p;
}

static lc_pprof *encode_and_parse(const lc_pprof_sample *s, size_t n, int compress) {
    uint8_t *data;
    size_t len;
    char err[256] = "";
    ck_assert_msg(lc_pprof_encode(LC_PPROF_HEAP, s, n, symbolize, NULL, compress, &data, &len, err,
                                  sizeof err) == 0,
                  "encode failed: %s", err);
    lc_pprof *p = parse_or_fail(data, len);
    free(data);
    return p;
}

/* Parse input that must be rejected; returns the message. */
static const char *rejection(const uint8_t *data, size_t len) {
    static char err[512];
    lc_pprof *p = (lc_pprof *)1;
    err[0] = 0;
    ck_assert_int_eq(lc_pprof_parse(data, len, &p, err, sizeof err), -1);
    ck_assert_ptr_null(p);
    ck_assert_msg(err[0] != 0, "no error message");
    return err;
}

/* What the reader says of bytes that do not frame as the protobuf message
 * (bad or cut varints, wire types a field cannot have): the generated
 * decoder rejects them without saying which field. */
#define WIRE_REJECTION "do not decode as a Profile message"

#define ck_assert_contains(haystack, needle)                                                       \
    ck_assert_msg(strstr((haystack), (needle)) != NULL, "'%s' does not mention '%s'", (haystack),  \
                  (needle))

/* A hand-built protobuf message. */
typedef struct msg {
    uint8_t d[2048];
    size_t n;
} msg;

static void put_varint(msg *m, uint64_t v) {
    while (v >= 0x80) {
        m->d[m->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    m->d[m->n++] = (uint8_t)v;
}

static void put_key(msg *m, int field, int wire) {
    put_varint(m, (uint64_t)field << 3 | (unsigned)wire);
}

static void put_int(msg *m, int field, uint64_t v) {
    put_key(m, field, 0);
    put_varint(m, v);
}

static void put_bytes(msg *m, int field, const void *p, size_t n) {
    put_key(m, field, 2);
    put_varint(m, n);
    memcpy(m->d + m->n, p, n);
    m->n += n;
}

static void put_msg(msg *m, int field, const msg *inner) {
    put_bytes(m, field, inner->d, inner->n);
}

static void put_string(msg *m, const char *s) {
    put_bytes(m, 6, s, strlen(s));
}

static void put_strings(msg *m) {
    static const char *const table[] = {"", "objects", "count", "leak", "leak.c"};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        put_string(m, table[i]);
}

/* Parts of a minimal valid profile, with one field open to damage each. */
static void put_sample_type(msg *m) {
    msg vt = {.n = 0};
    put_int(&vt, 1, 1);
    put_int(&vt, 2, 2);
    put_msg(m, 1, &vt);
}

static void put_function(msg *m, uint64_t name) {
    msg fn = {.n = 0};
    put_int(&fn, 1, 1);
    put_int(&fn, 2, name);
    put_int(&fn, 4, 4);
    put_msg(m, 5, &fn);
}

static void put_location(msg *m) {
    msg line = {.n = 0}, loc = {.n = 0};
    put_int(&line, 1, 1);
    put_int(&line, 2, 7);
    put_int(&loc, 1, 1);
    put_int(&loc, 3, 0x401000);
    put_msg(&loc, 4, &line);
    put_msg(m, 4, &loc);
}

static void put_sample(msg *m, uint64_t location_id) {
    msg s = {.n = 0};
    put_int(&s, 1, location_id);
    put_int(&s, 2, 5);
    put_msg(m, 2, &s);
}

static msg minimal_profile(void) {
    msg m = {.n = 0};
    put_sample_type(&m);
    put_sample(&m, 1);
    put_location(&m);
    put_function(&m, 3);
    put_strings(&m);
    return m;
}

static void gzip_bytes(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen) {
    char err[128];
    ck_assert_int_eq(lc_pprof_gzip(in, len, out, outlen, err, sizeof err), 0);
}

/* ------------------------------------------------------------------ writing */

START_TEST(test_roundtrip_keeps_values) {
    uintptr_t a[] = {PC(0, 0), PC(1, 0), PC(3, 0)}, b[] = {PC(2, 0), PC(3, 0)};
    lc_pprof_sample s[] = {{a, 3, {10, 1000, 4, 400}}, {b, 2, {-1, 1LL << 40, 0, 7}}};
    lc_pprof *p = encode_and_parse(s, 2, 1);
    ck_assert_uint_eq(p->nrecords, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(p->records[i].nlocations, (size_t)s[i].depth);
        for (int v = 0; v < LC_PPROF_NVALUES; v++)
            ck_assert_int_eq(p->records[i].values[v], s[i].values[v]);
        for (int k = 0; k < s[i].depth; k++)
            ck_assert_uint_eq(p->records[i].locations[k]->address, s[i].pcs[k]);
    }
    ck_assert_str_eq(p->records[0].locations[0]->lines[0].function->name, "alloc_site");
    ck_assert_str_eq(p->records[0].locations[0]->lines[0].function->filename, "app.c");
    ck_assert_int_eq(p->records[0].locations[0]->lines[0].line, 10);
    ck_assert_int_eq(p->records[0].locations[0]->lines[0].function->start_line, 5);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_sample_types_in_go_heap_order) {
    lc_pprof *p = encode_and_parse(NULL, 0, 1);
    static const char *const types[] = {"alloc_objects", "alloc_space", "inuse_objects",
                                        "inuse_space"};
    static const char *const units[] = {"count", "bytes", "count", "bytes"};
    ck_assert_uint_eq(p->nsample_types, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(p->sample_types[i].type, types[i]);
        ck_assert_str_eq(p->sample_types[i].unit, units[i]);
    }
    ck_assert_str_eq(p->default_sample_type, "inuse_space");
    ck_assert_str_eq(p->period_type.type, "space");
    ck_assert_str_eq(p->period_type.unit, "bytes");
    ck_assert_int_gt(p->time_nanos, 0);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_thread_profile_has_one_thread_count_per_stack) {
    uintptr_t parked[] = {PC(0, 0), PC(3, 0)};
    lc_pprof_sample s[] = {{parked, 2, {3}}};
    uint8_t *data;
    size_t len;
    char err[256] = "";
    ck_assert_msg(lc_pprof_encode(LC_PPROF_THREADS, s, 1, symbolize, NULL, 1, &data, &len, err,
                                  sizeof err) == 0,
                  "encode failed: %s", err);
    lc_pprof *p = parse_or_fail(data, len);
    free(data);
    ck_assert_uint_eq(p->nsample_types, 1);
    ck_assert_str_eq(p->sample_types[0].type, "threads");
    ck_assert_str_eq(p->sample_types[0].unit, "count");
    ck_assert_str_eq(p->default_sample_type, "threads");
    ck_assert_str_eq(p->period_type.type, "threads");
    ck_assert_uint_eq(p->nrecords, 1);
    ck_assert_int_eq(p->records[0].values[0], 3);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_unknown_profile_kind_is_an_error) {
    uint8_t *data;
    size_t len;
    char err[256] = "";
    ck_assert_int_eq(
        lc_pprof_encode((lc_pprof_kind)7, NULL, 0, NULL, NULL, 1, &data, &len, err, sizeof err),
        -1);
    ck_assert_msg(strstr(err, "kind") != NULL, "message: %s", err);
}
END_TEST

START_TEST(test_string_table_starts_with_empty_string) {
    lc_pprof *p = encode_and_parse(NULL, 0, 0);
    ck_assert_uint_gt(p->nstrings, 1);
    ck_assert_str_eq(p->strings[0], "");
    for (size_t i = 1; i < p->nstrings; i++)
        for (size_t k = 0; k < i; k++)
            ck_assert_str_ne(p->strings[i], p->strings[k]);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_comment_names_leakcheck) {
    lc_pprof *p = encode_and_parse(NULL, 0, 0);
    ck_assert_uint_eq(p->ncomments, 1);
    ck_assert_str_eq(p->comments[0], "leakcheck " LEAKCHECK_VERSION);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_locations_deduplicated_per_pc) {
    uintptr_t a[] = {PC(0, 0), PC(3, 0)}, b[] = {PC(1, 0), PC(3, 0)}, c[] = {PC(0, 1), PC(3, 0)};
    lc_pprof_sample s[] = {{a, 2, {1, 1, 1, 1}}, {b, 2, {1, 1, 1, 1}}, {c, 2, {1, 1, 1, 1}}};
    lc_pprof *p = encode_and_parse(s, 3, 0);
    ck_assert_uint_eq(p->nlocations, 4);
    ck_assert_ptr_eq(p->records[0].locations[1], p->records[1].locations[1]);
    ck_assert_ptr_ne(p->records[0].locations[0], p->records[2].locations[0]);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_functions_deduplicated) {
    /* Two pcs in alloc_site, one in app_main. */
    uintptr_t a[] = {PC(0, 0), PC(3, 0)}, b[] = {PC(0, 1), PC(3, 0)};
    lc_pprof_sample s[] = {{a, 2, {1, 1, 1, 1}}, {b, 2, {1, 1, 1, 1}}};
    lc_pprof *p = encode_and_parse(s, 2, 0);
    ck_assert_uint_eq(p->nlocations, 3);
    ck_assert_uint_eq(p->nfunctions, 2);
    ck_assert_ptr_eq(p->records[0].locations[0]->lines[0].function,
                     p->records[1].locations[0]->lines[0].function);
    ck_assert_str_eq(p->functions[0].system_name, p->functions[0].name);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_inlined_frames_innermost_first) {
    uintptr_t a[] = {PC(6, 0), PC(3, 0)};
    lc_pprof_sample s[] = {{a, 2, {1, 8, 1, 8}}};
    lc_pprof *p = encode_and_parse(s, 1, 0);
    const lc_pprof_location *loc = p->records[0].locations[0];
    ck_assert_uint_eq(loc->nlines, 2);
    ck_assert_str_eq(loc->lines[0].function->name, "inlined_helper");
    ck_assert_str_eq(loc->lines[1].function->name, "parse");
    ck_assert_int_eq(loc->lines[1].line, 60);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_unsymbolized_pc_keeps_address_only) {
    uintptr_t a[] = {PC(9, 0)};
    lc_pprof_sample s[] = {{a, 1, {1, 8, 1, 8}}};
    lc_pprof *p = encode_and_parse(s, 1, 0);
    ck_assert_uint_eq(p->records[0].locations[0]->nlines, 0);
    ck_assert_uint_eq(p->records[0].locations[0]->address, PC(9, 0));
    ck_assert_uint_eq(p->nfunctions, 0);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_mapping_covers_own_code) {
    uintptr_t a[] = {(uintptr_t)symbolize + 1};
    lc_pprof_sample s[] = {{a, 1, {1, 8, 1, 8}}};
    lc_pprof *p = encode_and_parse(s, 1, 0);
    const lc_pprof_mapping *m = p->records[0].locations[0]->mapping;
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_le(m->memory_start, a[0]);
    ck_assert_uint_gt(m->memory_limit, a[0]);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = 0;
    ck_assert_str_eq(m->filename, exe);
    for (const char *c = m->build_id; *c; c++)
        ck_assert(strchr("0123456789abcdef", *c));
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_gzip_framing) {
    uintptr_t a[] = {PC(0, 0)};
    lc_pprof_sample s[] = {{a, 1, {1, 8, 1, 8}}};
    uint8_t *gz, *raw;
    size_t gz_len, raw_len;
    char err[128];
    ck_assert_int_eq(
        lc_pprof_encode(LC_PPROF_HEAP, s, 1, symbolize, NULL, 1, &gz, &gz_len, err, sizeof err), 0);
    ck_assert_int_eq(
        lc_pprof_encode(LC_PPROF_HEAP, s, 1, symbolize, NULL, 0, &raw, &raw_len, err, sizeof err),
        0);
    /* gzip member header: magic, deflate. */
    ck_assert_uint_ge(gz_len, 18);
    ck_assert_uint_eq(gz[0], 0x1f);
    ck_assert_uint_eq(gz[1], 0x8b);
    ck_assert_uint_eq(gz[2], 8);
    ck_assert_uint_ne(raw[0], 0x1f);
    /* The trailer's size field is the length of the bare message (the time
     * stamp may differ between the two, never its length in this decade). */
    uint32_t isize = (uint32_t)gz[gz_len - 4] | (uint32_t)gz[gz_len - 3] << 8 |
                     (uint32_t)gz[gz_len - 2] << 16 | (uint32_t)gz[gz_len - 1] << 24;
    ck_assert_uint_eq(isize, raw_len);
    lc_pprof_free(parse_or_fail(gz, gz_len));
    lc_pprof_free(parse_or_fail(raw, raw_len));
    free(gz);
    free(raw);
}
END_TEST

START_TEST(test_write_heap_file_reads_back) {
    char path[] = "/tmp/test_pprof_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    uintptr_t a[] = {PC(0, 0), PC(3, 0)};
    lc_pprof_sample s[] = {{a, 2, {3, 300, 2, 200}}};
    char err[256];
    ck_assert_int_eq(lc_pprof_write(LC_PPROF_HEAP, path, s, 1, symbolize, NULL, err, sizeof err),
                     0);
    lc_pprof *p = NULL;
    ck_assert_int_eq(lc_pprof_read(path, &p, err, sizeof err), 0);
    unlink(path);
    ck_assert_uint_eq(p->nrecords, 1);
    ck_assert_int_eq(p->records[0].values[LC_PPROF_INUSE_SPACE], 200);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_write_heap_reports_unwritable_path) {
    char err[256] = "";
    ck_assert_int_eq(lc_pprof_write(LC_PPROF_HEAP, "/nonexistent-dir/x.pb.gz", NULL, 0, NULL, NULL,
                                    err, sizeof err),
                     -1);
    ck_assert_contains(err, "/nonexistent-dir/x.pb.gz");
}
END_TEST

START_TEST(test_encode_rejects_negative_depth) {
    lc_pprof_sample s[] = {{NULL, -1, {0, 0, 0, 0}}};
    uint8_t *data = (uint8_t *)1;
    size_t len;
    char err[256] = "";
    ck_assert_int_eq(
        lc_pprof_encode(LC_PPROF_HEAP, s, 1, NULL, NULL, 1, &data, &len, err, sizeof err), -1);
    ck_assert_ptr_null(data);
    ck_assert_contains(err, "depth");
}
END_TEST

START_TEST(test_read_reports_missing_file) {
    lc_pprof *p = NULL;
    char err[256] = "";
    ck_assert_int_eq(lc_pprof_read("/nonexistent/profile.pb.gz", &p, err, sizeof err), -1);
    ck_assert_contains(err, "/nonexistent/profile.pb.gz");
    ck_assert_contains(err, "No such file");
}
END_TEST

/* ------------------------------------------------------------------ comparing */

typedef struct pair {
    lc_pprof *base, *after;
    lc_pprof_diff *diff;
} pair;

/* Stacks (leaf first): A = alloc_site<-cache_put<-app_main,
 * B = handler<-app_main, C = worker<-app_main, D = churn<-app_main. */
static pair compare(const lc_pprof_diff_options *opts, int shift_after) {
    uintptr_t a0[] = {PC(0, 0), PC(1, 0), PC(3, 0)}, b0[] = {PC(2, 0), PC(3, 0)},
              c0[] = {PC(4, 0), PC(3, 0)}, d0[] = {PC(5, 0), PC(3, 0)};
    int k = shift_after;
    uintptr_t a1[] = {PC(0, k), PC(1, k), PC(3, k)}, b1[] = {PC(2, k), PC(3, k)},
              c1[] = {PC(4, k), PC(3, k)}, d1[] = {PC(5, k), PC(3, k)};
    lc_pprof_sample base[] = {
        {a0, 3, {10, 1000, 10, 1000}},
        {b0, 2, {1, 100, 1, 100}},
        {c0, 2, {5, 5000, 5, 5000}},
        {d0, 2, {2, 20, 2, 20}},
    };
    /* Growth: A +90 objects +9000 bytes, B +2 objects +100000 bytes,
     * C -3 objects -3000 bytes, D unchanged. */
    lc_pprof_sample after[] = {
        {a1, 3, {100, 10000, 100, 10000}},
        {b1, 2, {3, 100100, 3, 100100}},
        {c1, 2, {6, 6000, 2, 2000}},
        {d1, 2, {2, 20, 2, 20}},
    };
    pair p;
    p.base = encode_and_parse(base, 4, 1);
    p.after = encode_and_parse(after, 4, 1);
    char err[256] = "";
    ck_assert_msg(lc_pprof_diff_compute(p.base, p.after, opts, &p.diff, err, sizeof err) == 0,
                  "diff failed: %s", err);
    return p;
}

static void release(pair *p) {
    lc_pprof_diff_free(p->diff);
    lc_pprof_free(p->base);
    lc_pprof_free(p->after);
}

static const char *leaf(const lc_pprof_diff *d, size_t i) {
    return d->stacks[i].frames[0].function;
}

START_TEST(test_diff_orders_by_growth_largest_first) {
    pair p = compare(NULL, 0);
    const lc_pprof_diff *d = p.diff;
    ck_assert_str_eq(d->sample, "inuse_space");
    ck_assert_uint_eq(d->nstacks, 3);
    ck_assert_str_eq(leaf(d, 0), "handler");
    ck_assert_int_eq(d->stacks[0].delta_bytes, 100000);
    ck_assert_int_eq(d->stacks[0].delta_objects, 2);
    ck_assert_str_eq(leaf(d, 1), "alloc_site");
    ck_assert_int_eq(d->stacks[1].delta, 9000);
    ck_assert_str_eq(leaf(d, 2), "worker");
    ck_assert_int_eq(d->stacks[2].delta_bytes, -3000);
    ck_assert_int_eq(d->total_delta_bytes, 106000);
    release(&p);
}
END_TEST

START_TEST(test_diff_leaves_out_unchanged_stacks) {
    pair p = compare(NULL, 0);
    ck_assert_uint_eq(p.diff->total_stacks, 3);
    for (size_t i = 0; i < p.diff->nstacks; i++)
        ck_assert_str_ne(leaf(p.diff, i), "churn");
    release(&p);
}
END_TEST

START_TEST(test_diff_frames_name_function_file_line) {
    pair p = compare(NULL, 0);
    const lc_pprof_diff_stack *s = &p.diff->stacks[1];
    ck_assert_uint_eq(s->nframes, 3);
    ck_assert_str_eq(s->frames[1].function, "cache_put");
    ck_assert_str_eq(s->frames[1].file, "app.c");
    ck_assert_int_eq(s->frames[1].line, 11);
    ck_assert_str_eq(s->frames[2].function, "app_main");
    release(&p);
}
END_TEST

START_TEST(test_diff_matches_stacks_by_symbols_not_addresses) {
    pair p = compare(NULL, 3);
    ck_assert_uint_eq(p.diff->total_stacks, 3);
    ck_assert_int_eq(p.diff->stacks[0].delta_bytes, 100000);
    release(&p);
}
END_TEST

START_TEST(test_diff_unsymbolized_frames_match_by_address) {
    uintptr_t same[] = {PC(9, 0), PC(3, 0)}, moved[] = {PC(9, 1), PC(3, 0)};
    lc_pprof_sample base[] = {{same, 2, {1, 10, 1, 10}}};
    lc_pprof_sample after[] = {{same, 2, {4, 40, 4, 40}}, {moved, 2, {1, 10, 1, 10}}};
    lc_pprof *b = encode_and_parse(base, 1, 0), *a = encode_and_parse(after, 2, 0);
    lc_pprof_diff *d;
    char err[256];
    ck_assert_int_eq(lc_pprof_diff_compute(b, a, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d->nstacks, 2);
    ck_assert_int_eq(d->stacks[0].delta_bytes, 30);
    ck_assert_int_eq(d->stacks[0].frames[0].symbolized, 0);
    ck_assert_uint_eq(d->stacks[0].frames[0].address, PC(9, 0));
    ck_assert_int_eq(d->stacks[1].delta_bytes, 10);
    lc_pprof_diff_free(d);
    lc_pprof_free(a);
    lc_pprof_free(b);
}
END_TEST

START_TEST(test_diff_empty_stacks_compare) {
    uintptr_t a[] = {PC(0, 0)};
    lc_pprof_sample base[] = {{NULL, 0, {1, 10, 1, 10}}};
    lc_pprof_sample after[] = {{NULL, 0, {2, 20, 2, 20}}, {a, 1, {1, 1, 1, 1}}};
    lc_pprof *b = encode_and_parse(base, 1, 0), *p = encode_and_parse(after, 2, 0);
    lc_pprof_diff *d;
    char err[256];
    ck_assert_int_eq(lc_pprof_diff_compute(b, p, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d->nstacks, 2);
    ck_assert_uint_eq(d->stacks[0].nframes, 0);
    ck_assert_int_eq(d->stacks[0].delta_bytes, 10);
    lc_pprof_diff_free(d);
    lc_pprof_free(p);
    lc_pprof_free(b);
}
END_TEST

START_TEST(test_diff_min_objects_keeps_growth_of_at_least_n) {
    lc_pprof_diff_options o = {.has_min_objects = 1, .min_objects = 2};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 2);
    ck_assert_str_eq(leaf(p.diff, 0), "handler");
    ck_assert_str_eq(leaf(p.diff, 1), "alloc_site");
    ck_assert_uint_eq(p.diff->total_stacks, 3);
    release(&p);
}
END_TEST

START_TEST(test_diff_min_bytes_keeps_growth_of_at_least_n) {
    lc_pprof_diff_options o = {.has_min_bytes = 1, .min_bytes = 10000};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 1);
    ck_assert_str_eq(leaf(p.diff, 0), "handler");
    release(&p);
}
END_TEST

START_TEST(test_diff_both_minimums_keep_stacks_passing_both) {
    lc_pprof_diff_options o = {
        .has_min_objects = 1, .min_objects = 50, .has_min_bytes = 1, .min_bytes = 5000};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 1);
    ck_assert_str_eq(leaf(p.diff, 0), "alloc_site");
    release(&p);
}
END_TEST

/* A: +90 objects, B: +2 objects. Inclusive, 2 keeps B; strict, it does not. */
START_TEST(test_diff_strict_minimums_keep_growth_of_more_than_n) {
    lc_pprof_diff_options o = {.has_min_objects = 1, .min_objects = 2, .strict_minimums = 1};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 1);
    ck_assert_str_eq(leaf(p.diff, 0), "alloc_site");
    release(&p);
}
END_TEST

START_TEST(test_diff_strict_minimum_bytes_exclude_growth_of_exactly_n) {
    lc_pprof_diff_options o = {.has_min_bytes = 1, .min_bytes = 100000, .strict_minimums = 1};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 0);
    ck_assert_uint_eq(p.diff->grown_stacks, 0);
    release(&p);
}
END_TEST

START_TEST(test_diff_grown_stacks_counts_growth_only) {
    pair p = compare(NULL, 0);
    /* A and B grew, C shrank, D did not change. */
    ck_assert_uint_eq(p.diff->grown_stacks, 2);
    release(&p);
}
END_TEST

START_TEST(test_diff_grown_stacks_counts_past_top) {
    lc_pprof_diff_options o = {.top = 1};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 1);
    ck_assert_uint_eq(p.diff->grown_stacks, 2);
    release(&p);
}
END_TEST

START_TEST(test_diff_grown_stacks_counts_only_stacks_past_the_minimums) {
    lc_pprof_diff_options o = {.has_min_bytes = 1, .min_bytes = 10000};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->grown_stacks, 1);
    release(&p);
}
END_TEST

START_TEST(test_diff_top_keeps_first_n) {
    lc_pprof_diff_options o = {.top = 2};
    pair p = compare(&o, 0);
    ck_assert_uint_eq(p.diff->nstacks, 2);
    ck_assert_str_eq(leaf(p.diff, 0), "handler");
    ck_assert_str_eq(leaf(p.diff, 1), "alloc_site");
    release(&p);
}
END_TEST

START_TEST(test_diff_alloc_sample_uses_alloc_types) {
    lc_pprof_diff_options o = {.sample = "alloc_objects"};
    pair p = compare(&o, 0);
    ck_assert_str_eq(p.diff->sample, "alloc_objects");
    ck_assert_str_eq(p.diff->objects_type, "alloc_objects");
    ck_assert_str_eq(p.diff->bytes_type, "alloc_space");
    /* alloc_objects: A +90, B +2, C +1 */
    ck_assert_str_eq(leaf(p.diff, 0), "alloc_site");
    ck_assert_int_eq(p.diff->stacks[0].delta, 90);
    ck_assert_str_eq(leaf(p.diff, 2), "worker");
    ck_assert_int_eq(p.diff->stacks[2].delta_bytes, 1000);
    release(&p);
}
END_TEST

START_TEST(test_diff_unknown_sample_type_is_an_error) {
    lc_pprof *p = encode_and_parse(NULL, 0, 0);
    lc_pprof_diff_options o = {.sample = "cpu"};
    lc_pprof_diff *d = (lc_pprof_diff *)1;
    char err[256] = "";
    ck_assert_int_eq(lc_pprof_diff_compute(p, p, &o, &d, err, sizeof err), -1);
    ck_assert_ptr_null(d);
    ck_assert_contains(err, "cpu");
    ck_assert_contains(err, "inuse_space");
    lc_pprof_free(p);
}
END_TEST

/* A profile of another kind: two sample types, no heap ones. */
static lc_pprof *cpu_profile(uint64_t samples, uint64_t nanos) {
    msg m = {.n = 0}, vt = {.n = 0}, s = {.n = 0}, loc = {.n = 0};
    put_int(&vt, 1, 1);
    put_int(&vt, 2, 2);
    put_msg(&m, 1, &vt);
    vt.n = 0;
    put_int(&vt, 1, 3);
    put_int(&vt, 2, 4);
    put_msg(&m, 1, &vt);
    put_int(&s, 1, 1);
    put_int(&s, 2, samples);
    put_int(&s, 2, nanos);
    put_msg(&m, 2, &s);
    put_int(&loc, 1, 1);
    put_int(&loc, 3, 0x1234);
    put_msg(&m, 4, &loc);
    static const char *const table[] = {"", "samples", "count", "cpu", "nanoseconds"};
    for (size_t i = 0; i < 5; i++)
        put_string(&m, table[i]);
    return parse_or_fail(m.d, m.n);
}

START_TEST(test_diff_defaults_to_last_sample_type) {
    lc_pprof *b = cpu_profile(1, 10), *a = cpu_profile(3, 50);
    lc_pprof_diff *d;
    char err[256];
    ck_assert_int_eq(lc_pprof_diff_compute(b, a, NULL, &d, err, sizeof err), 0);
    ck_assert_str_eq(d->sample, "cpu");
    ck_assert_ptr_null(d->objects_type);
    ck_assert_uint_eq(d->nstacks, 1);
    ck_assert_int_eq(d->stacks[0].delta, 40);
    lc_pprof_diff_free(d);
    lc_pprof_free(a);
    lc_pprof_free(b);
}
END_TEST

START_TEST(test_diff_minimum_on_missing_type_is_an_error) {
    lc_pprof *b = cpu_profile(1, 10), *a = cpu_profile(3, 50);
    lc_pprof_diff_options o = {.has_min_bytes = 1, .min_bytes = 1};
    lc_pprof_diff *d;
    char err[256] = "";
    ck_assert_int_eq(lc_pprof_diff_compute(b, a, &o, &d, err, sizeof err), -1);
    ck_assert_contains(err, "inuse_space");
    lc_pprof_free(a);
    lc_pprof_free(b);
}
END_TEST

/* ------------------------------------------------------------------ rejecting */

START_TEST(test_minimal_profile_accepted) {
    msg m = minimal_profile();
    lc_pprof *p = parse_or_fail(m.d, m.n);
    ck_assert_uint_eq(p->nrecords, 1);
    ck_assert_int_eq(p->records[0].values[0], 5);
    ck_assert_str_eq(p->records[0].locations[0]->lines[0].function->name, "leak");
    ck_assert_ptr_null(p->records[0].locations[0]->mapping);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_not_a_profile_rejected) {
    static const char text[] = "heap profile: 1: 64 [1: 64] @ heap/1048576\n";
    const char *err = rejection((const uint8_t *)text, sizeof text - 1);
    ck_assert_contains(err, "not a pprof profile");
}
END_TEST

START_TEST(test_empty_input_rejected) {
    ck_assert_contains(rejection((const uint8_t *)"", 0), "empty");
}
END_TEST

START_TEST(test_missing_string_table_rejected) {
    msg m = {.n = 0};
    put_sample_type(&m);
    ck_assert_contains(rejection(m.d, m.n), "no string table");
}
END_TEST

START_TEST(test_nonempty_first_string_rejected) {
    msg m = {.n = 0};
    put_string(&m, "x");
    ck_assert_contains(rejection(m.d, m.n), "string_table[0]");
}
END_TEST

START_TEST(test_complete_gzip_accepted) {
    msg m = minimal_profile();
    uint8_t *gz;
    size_t len;
    gzip_bytes(m.d, m.n, &gz, &len);
    lc_pprof_free(parse_or_fail(gz, len));
    free(gz);
}
END_TEST

START_TEST(test_truncated_gzip_rejected) {
    msg m = minimal_profile();
    uint8_t *gz;
    size_t len;
    gzip_bytes(m.d, m.n, &gz, &len);
    for (size_t cut = 2; cut < len; cut++)
        ck_assert_contains(rejection(gz, cut), "gzip");
    ck_assert_contains(rejection(gz, len - 1), "truncated gzip data");
    free(gz);
}
END_TEST

START_TEST(test_gzip_checksum_mismatch_rejected) {
    msg m = minimal_profile();
    uint8_t *gz;
    size_t len;
    gzip_bytes(m.d, m.n, &gz, &len);
    gz[len - 8] ^= 0xff; /* CRC-32 of the trailer */
    ck_assert_contains(rejection(gz, len), "checksum");
    free(gz);
}
END_TEST

START_TEST(test_concatenated_gzip_members_accepted) {
    /* Two members whose contents concatenate to one message. */
    msg m = minimal_profile();
    size_t half = m.n / 2;
    uint8_t *first, *second;
    size_t first_len, second_len;
    gzip_bytes(m.d, half, &first, &first_len);
    gzip_bytes(m.d + half, m.n - half, &second, &second_len);
    uint8_t *both = malloc(first_len + second_len);
    memcpy(both, first, first_len);
    memcpy(both + first_len, second, second_len);
    lc_pprof_free(parse_or_fail(both, first_len + second_len));
    free(both);
    free(first);
    free(second);
}
END_TEST

START_TEST(test_trailing_bytes_after_gzip_rejected) {
    msg m = minimal_profile();
    uint8_t *gz;
    size_t len;
    gzip_bytes(m.d, m.n, &gz, &len);
    uint8_t *longer = malloc(len + 3);
    memcpy(longer, gz, len);
    memcpy(longer + len, "abc", 3);
    ck_assert_contains(rejection(longer, len + 3), "trailing");
    free(longer);
    free(gz);
}
END_TEST

START_TEST(test_longest_varint_accepted) {
    /* -1 as a value: ten bytes, the last one 0x01. */
    msg m = {.n = 0}, s = {.n = 0};
    put_sample_type(&m);
    put_int(&s, 2, UINT64_MAX);
    put_msg(&m, 2, &s);
    put_strings(&m);
    lc_pprof *p = parse_or_fail(m.d, m.n);
    ck_assert_int_eq(p->records[0].values[0], -1);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_bad_varint_rejected) {
    msg m = {.n = 0}, s = {.n = 0};
    put_sample_type(&m);
    put_key(&s, 2, 0);
    for (int i = 0; i < 10; i++)
        s.d[s.n++] = 0xff;
    s.d[s.n++] = 0x01;
    put_msg(&m, 2, &s);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), WIRE_REJECTION);
}
END_TEST

START_TEST(test_truncated_varint_rejected) {
    msg m = {.n = 0};
    put_key(&m, 9, 0);
    m.d[m.n++] = 0x80;
    ck_assert_contains(rejection(m.d, m.n), WIRE_REJECTION);
}
END_TEST

START_TEST(test_right_wire_type_accepted) {
    /* Sample.value unpacked (varint) and packed (length-delimited). */
    msg m = {.n = 0}, s = {.n = 0};
    put_sample_type(&m);
    uint8_t packed[] = {7};
    put_int(&s, 2, 7);
    put_msg(&m, 2, &s);
    s.n = 0;
    put_bytes(&s, 2, packed, 1);
    put_msg(&m, 2, &s);
    put_strings(&m);
    lc_pprof *p = parse_or_fail(m.d, m.n);
    ck_assert_int_eq(p->records[0].values[0], 7);
    ck_assert_int_eq(p->records[1].values[0], 7);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_wrong_wire_type_rejected) {
    msg m = {.n = 0}, s = {.n = 0};
    put_sample_type(&m);
    put_key(&s, 2, 5); /* Sample.value as fixed32 */
    memcpy(s.d + s.n, "\7\0\0\0", 4);
    s.n += 4;
    put_msg(&m, 2, &s);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), WIRE_REJECTION);
}
END_TEST

START_TEST(test_wrong_wire_type_for_message_rejected) {
    msg m = {.n = 0};
    put_int(&m, 4, 1); /* Profile.location as a varint */
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), WIRE_REJECTION);
}
END_TEST

START_TEST(test_invalid_wire_type_rejected) {
    msg m = {.n = 0};
    put_strings(&m);
    put_key(&m, 20, 7);
    ck_assert_contains(rejection(m.d, m.n), WIRE_REJECTION);
}
END_TEST

START_TEST(test_last_string_index_accepted) {
    msg m = {.n = 0};
    put_sample_type(&m);
    put_sample(&m, 1);
    put_location(&m);
    put_function(&m, 4); /* "leak.c", the last string */
    put_strings(&m);
    lc_pprof *p = parse_or_fail(m.d, m.n);
    ck_assert_str_eq(p->functions[0].name, "leak.c");
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_out_of_range_string_index_rejected) {
    msg m = {.n = 0};
    put_sample_type(&m);
    put_sample(&m, 1);
    put_location(&m);
    put_function(&m, 5);
    put_strings(&m);
    const char *err = rejection(m.d, m.n);
    ck_assert_contains(err, "string index 5 out of range");
    ck_assert_contains(err, "Function.name");
}
END_TEST

START_TEST(test_negative_string_index_rejected) {
    msg m = {.n = 0};
    put_function(&m, UINT64_MAX);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), "string index -1 out of range");
}
END_TEST

START_TEST(test_exact_length_accepted) {
    msg m = {.n = 0};
    put_strings(&m);
    lc_pprof *p = parse_or_fail(m.d, m.n);
    ck_assert_uint_eq(p->nstrings, 5);
    ck_assert_str_eq(p->strings[4], "leak.c");
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_length_past_the_end_rejected) {
    msg m = {.n = 0};
    put_strings(&m);
    m.d[m.n - 7] = 7; /* "leak.c" claims one byte more than remains */
    ck_assert_contains(rejection(m.d, m.n), "truncated");
}
END_TEST

START_TEST(test_unknown_location_rejected) {
    msg m = {.n = 0};
    put_sample_type(&m);
    put_sample(&m, 2);
    put_location(&m);
    put_function(&m, 3);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), "unknown location id 2");
}
END_TEST

START_TEST(test_unknown_function_rejected) {
    msg m = {.n = 0};
    put_location(&m);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), "unknown function id 1");
}
END_TEST

START_TEST(test_duplicate_id_rejected) {
    msg m = {.n = 0};
    put_function(&m, 3);
    put_function(&m, 3);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), "two functions have the id 1");
}
END_TEST

START_TEST(test_value_count_mismatch_rejected) {
    msg m = {.n = 0}, s = {.n = 0};
    put_sample_type(&m);
    put_int(&s, 2, 1);
    put_int(&s, 2, 2);
    put_msg(&m, 2, &s);
    put_strings(&m);
    ck_assert_contains(rejection(m.d, m.n), "2 values for 1 sample types");
}
END_TEST

START_TEST(test_unknown_fields_skipped) {
    msg m = minimal_profile();
    put_int(&m, 99, 5);
    put_bytes(&m, 100, "xyz", 3);
    put_key(&m, 101, 1);
    memcpy(m.d + m.n, "12345678", 8);
    m.n += 8;
    put_key(&m, 102, 5);
    memcpy(m.d + m.n, "1234", 4);
    m.n += 4;
    lc_pprof_free(parse_or_fail(m.d, m.n));
}
END_TEST

START_TEST(test_every_prefix_handled) {
    uintptr_t a[] = {PC(6, 0), PC(1, 0), PC(9, 0)};
    lc_pprof_sample s[] = {{a, 3, {1, 2, 3, 4}}};
    uint8_t *raw;
    size_t len;
    char err[256];
    ck_assert_int_eq(
        lc_pprof_encode(LC_PPROF_HEAP, s, 1, symbolize, NULL, 0, &raw, &len, err, sizeof err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        lc_pprof *p = NULL;
        if (lc_pprof_parse(raw, cut, &p, err, sizeof err) == 0)
            lc_pprof_free(p);
        else
            ck_assert(err[0] != 0);
    }
    free(raw);
}
END_TEST

START_TEST(test_every_byte_corruption_handled) {
    uintptr_t a[] = {PC(6, 0), PC(1, 0), PC(9, 0)};
    lc_pprof_sample s[] = {{a, 3, {1, 2, 3, 4}}};
    uint8_t *raw;
    size_t len;
    char err[256];
    ck_assert_int_eq(
        lc_pprof_encode(LC_PPROF_HEAP, s, 1, symbolize, NULL, 0, &raw, &len, err, sizeof err), 0);
    static const uint8_t replacements[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        uint8_t saved = raw[i];
        for (size_t r = 0; r < sizeof replacements; r++) {
            raw[i] = replacements[r];
            lc_pprof *p = NULL;
            if (lc_pprof_parse(raw, len, &p, err, sizeof err) == 0) {
                lc_pprof_diff *d;
                if (lc_pprof_diff_compute(p, p, NULL, &d, err, sizeof err) == 0)
                    lc_pprof_diff_free(d);
                lc_pprof_free(p);
            }
        }
        raw[i] = saved;
    }
    free(raw);
}
END_TEST

/* ------------------------------------------------------------------ snapshots */

/* A live heap written by lc_snapshot_write_pprof and read back. The
 * allocating helpers have frames of their own (tests build at -O0), so the
 * leaf of their stack must be exactly them; their sizes are distinctive, so
 * that values cannot match by accident. */
#define KEPT_SIZE 4321
#define KEPT_COUNT 3
#define FREED_SIZE 4322

static void *kept_alloc(void) {
    return malloc(KEPT_SIZE);
}
static void *freed_alloc(void) {
    return malloc(FREED_SIZE);
}

/* The function of a location: the containing one, listed last. */
static const char *location_function(const lc_pprof_location *l) {
    return l->nlines ? l->lines[l->nlines - 1].function->name : "";
}

/* The record whose leaf is `fn`; NULL when there is none. */
static const lc_pprof_record *record_with_leaf(const lc_pprof *p, const char *fn) {
    for (size_t i = 0; i < p->nrecords; i++)
        if (p->records[i].nlocations &&
            strcmp(location_function(p->records[i].locations[0]), fn) == 0)
            return &p->records[i];
    return NULL;
}

static int record_has_caller(const lc_pprof_record *r, const char *fn) {
    for (size_t k = 1; k < r->nlocations; k++)
        if (strstr(location_function(r->locations[k]), fn)) return 1;
    return 0;
}

/* A snapshot of the heap now, written and parsed. */
static lc_pprof *profile_of_heap_now(void) {
    char path[] = "/tmp/test_pprof_snapshot_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lc_snapshot *s = lc_snapshot_take();
    ck_assert_ptr_nonnull(s);
    int rc = lc_snapshot_write_pprof(s, path);
    int saved = errno;
    lc_snapshot_free(s);
    ck_assert_msg(rc == 0, "lc_snapshot_write_pprof: %s", strerror(saved));
    lc_pprof *p = NULL;
    char err[256] = "";
    rc = lc_pprof_read(path, &p, err, sizeof err);
    unlink(path);
    ck_assert_msg(rc == 0, "reading the snapshot's profile: %s", err);
    ck_assert_int_eq(lc_pprof_sample_type_index(p, "inuse_space"), LC_PPROF_INUSE_SPACE);
    return p;
}

START_TEST(test_snapshot_profile_names_live_allocation_site) {
    void *kept[KEPT_COUNT];
    for (int i = 0; i < KEPT_COUNT; i++)
        kept[i] = kept_alloc();
    lc_pprof *p = profile_of_heap_now();
    for (int i = 0; i < KEPT_COUNT; i++)
        free(kept[i]);
    const lc_pprof_record *r = record_with_leaf(p, "kept_alloc");
    ck_assert_msg(r != NULL, "no sample allocated in kept_alloc among %zu", p->nrecords);
    ck_assert_msg(record_has_caller(r, "test_snapshot_profile_names_live_allocation_site"),
                  "the stack does not reach the test function");
    ck_assert_int_eq(r->values[LC_PPROF_INUSE_OBJECTS], KEPT_COUNT);
    ck_assert_int_eq(r->values[LC_PPROF_INUSE_SPACE], KEPT_COUNT * KEPT_SIZE);
    ck_assert_int_eq(r->values[LC_PPROF_ALLOC_OBJECTS], KEPT_COUNT);
    ck_assert_int_eq(r->values[LC_PPROF_ALLOC_SPACE], KEPT_COUNT * KEPT_SIZE);
    /* The location is the return address, symbolized as the call. */
    const lc_pprof_location *leaf = r->locations[0];
    ck_assert_uint_eq(leaf->nlines, 1);
    ck_assert_ptr_nonnull(strstr(leaf->lines[0].function->filename, "test_pprof.c"));
    ck_assert_int_gt(leaf->lines[0].line, 0);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_snapshot_profile_freed_block_not_in_use) {
    free(freed_alloc());
    lc_pprof *p = profile_of_heap_now();
    const lc_pprof_record *r = record_with_leaf(p, "freed_alloc");
    ck_assert_msg(r != NULL, "no sample allocated in freed_alloc among %zu", p->nrecords);
    ck_assert_int_eq(r->values[LC_PPROF_INUSE_OBJECTS], 0);
    ck_assert_int_eq(r->values[LC_PPROF_INUSE_SPACE], 0);
    /* Go's heap profiles keep such stacks for alloc_space: churn shows. */
    ck_assert_int_eq(r->values[LC_PPROF_ALLOC_OBJECTS], 1);
    ck_assert_int_eq(r->values[LC_PPROF_ALLOC_SPACE], FREED_SIZE);
    lc_pprof_free(p);
}
END_TEST

START_TEST(test_snapshot_profile_writing_allocates_nothing_tracked) {
    lc_snapshot *before = lc_snapshot_take();
    ck_assert_ptr_nonnull(before);
    char path[] = "/tmp/test_pprof_snapshot_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(lc_snapshot_write_pprof(before, path), 0);
    unlink(path);
    lc_snapshot *after = lc_snapshot_take();
    ck_assert_ptr_nonnull(after);
    lc_diff *d = lc_snapshot_diff(before, after, NULL);
    ck_assert_ptr_nonnull(d);
    size_t changed = lc_diff_count(d);
    lc_diff_free(d);
    lc_snapshot_free(before);
    lc_snapshot_free(after);
    ck_assert_uint_eq(changed, 0);
}
END_TEST

START_TEST(test_snapshot_profile_unwritable_path_sets_errno) {
    lc_snapshot *s = lc_snapshot_take();
    ck_assert_ptr_nonnull(s);
    errno = 0;
    int rc = lc_snapshot_write_pprof(s, "/nonexistent-dir/heap.pb.gz");
    int saved = errno;
    errno = 0;
    int rc_null = lc_snapshot_write_pprof(NULL, "/tmp/unused.pb.gz");
    int saved_null = errno;
    lc_snapshot_free(s);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(saved, ENOENT);
    ck_assert_int_eq(rc_null, -1);
    ck_assert_int_eq(saved_null, EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *pprof_suite(void) {
    Suite *s = suite_create("pprof");
    TCase *w = tcase_create("write");
    tcase_add_test(w, test_roundtrip_keeps_values);
    tcase_add_test(w, test_sample_types_in_go_heap_order);
    tcase_add_test(w, test_thread_profile_has_one_thread_count_per_stack);
    tcase_add_test(w, test_unknown_profile_kind_is_an_error);
    tcase_add_test(w, test_string_table_starts_with_empty_string);
    tcase_add_test(w, test_comment_names_leakcheck);
    tcase_add_test(w, test_locations_deduplicated_per_pc);
    tcase_add_test(w, test_functions_deduplicated);
    tcase_add_test(w, test_inlined_frames_innermost_first);
    tcase_add_test(w, test_unsymbolized_pc_keeps_address_only);
    tcase_add_test(w, test_mapping_covers_own_code);
    tcase_add_test(w, test_gzip_framing);
    tcase_add_test(w, test_write_heap_file_reads_back);
    tcase_add_test(w, test_write_heap_reports_unwritable_path);
    tcase_add_test(w, test_encode_rejects_negative_depth);
    tcase_add_test(w, test_read_reports_missing_file);
    suite_add_tcase(s, w);

    TCase *d = tcase_create("diff");
    tcase_add_test(d, test_diff_orders_by_growth_largest_first);
    tcase_add_test(d, test_diff_leaves_out_unchanged_stacks);
    tcase_add_test(d, test_diff_frames_name_function_file_line);
    tcase_add_test(d, test_diff_matches_stacks_by_symbols_not_addresses);
    tcase_add_test(d, test_diff_unsymbolized_frames_match_by_address);
    tcase_add_test(d, test_diff_empty_stacks_compare);
    tcase_add_test(d, test_diff_min_objects_keeps_growth_of_at_least_n);
    tcase_add_test(d, test_diff_min_bytes_keeps_growth_of_at_least_n);
    tcase_add_test(d, test_diff_both_minimums_keep_stacks_passing_both);
    tcase_add_test(d, test_diff_top_keeps_first_n);
    tcase_add_test(d, test_diff_strict_minimums_keep_growth_of_more_than_n);
    tcase_add_test(d, test_diff_strict_minimum_bytes_exclude_growth_of_exactly_n);
    tcase_add_test(d, test_diff_grown_stacks_counts_growth_only);
    tcase_add_test(d, test_diff_grown_stacks_counts_past_top);
    tcase_add_test(d, test_diff_grown_stacks_counts_only_stacks_past_the_minimums);
    tcase_add_test(d, test_diff_alloc_sample_uses_alloc_types);
    tcase_add_test(d, test_diff_unknown_sample_type_is_an_error);
    tcase_add_test(d, test_diff_defaults_to_last_sample_type);
    tcase_add_test(d, test_diff_minimum_on_missing_type_is_an_error);
    suite_add_tcase(s, d);

    TCase *snap = tcase_create("snapshot");
    tcase_add_test(snap, test_snapshot_profile_names_live_allocation_site);
    tcase_add_test(snap, test_snapshot_profile_freed_block_not_in_use);
    tcase_add_test(snap, test_snapshot_profile_writing_allocates_nothing_tracked);
    tcase_add_test(snap, test_snapshot_profile_unwritable_path_sets_errno);
    suite_add_tcase(s, snap);

    TCase *r = tcase_create("reject");
    tcase_set_timeout(r, 60);
    tcase_add_test(r, test_minimal_profile_accepted);
    tcase_add_test(r, test_not_a_profile_rejected);
    tcase_add_test(r, test_empty_input_rejected);
    tcase_add_test(r, test_missing_string_table_rejected);
    tcase_add_test(r, test_nonempty_first_string_rejected);
    tcase_add_test(r, test_complete_gzip_accepted);
    tcase_add_test(r, test_truncated_gzip_rejected);
    tcase_add_test(r, test_gzip_checksum_mismatch_rejected);
    tcase_add_test(r, test_concatenated_gzip_members_accepted);
    tcase_add_test(r, test_trailing_bytes_after_gzip_rejected);
    tcase_add_test(r, test_longest_varint_accepted);
    tcase_add_test(r, test_bad_varint_rejected);
    tcase_add_test(r, test_truncated_varint_rejected);
    tcase_add_test(r, test_right_wire_type_accepted);
    tcase_add_test(r, test_wrong_wire_type_rejected);
    tcase_add_test(r, test_wrong_wire_type_for_message_rejected);
    tcase_add_test(r, test_invalid_wire_type_rejected);
    tcase_add_test(r, test_last_string_index_accepted);
    tcase_add_test(r, test_out_of_range_string_index_rejected);
    tcase_add_test(r, test_negative_string_index_rejected);
    tcase_add_test(r, test_exact_length_accepted);
    tcase_add_test(r, test_length_past_the_end_rejected);
    tcase_add_test(r, test_unknown_location_rejected);
    tcase_add_test(r, test_unknown_function_rejected);
    tcase_add_test(r, test_duplicate_id_rejected);
    tcase_add_test(r, test_value_count_mismatch_rejected);
    tcase_add_test(r, test_unknown_fields_skipped);
    tcase_add_test(r, test_every_prefix_handled);
    tcase_add_test(r, test_every_byte_corruption_handled);
    suite_add_tcase(s, r);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pprof_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
