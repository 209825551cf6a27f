/* SPDX-License-Identifier: MIT */
/* pprof_writer.c: writes heap profiles with known stacks and values.
 *
 * The validation against Go's pprof (tests/pprof_go.sh) needs profiles whose
 * contents it knows in advance, written by the real encoder from real
 * program counters (so that they fall in the program's own mapping), and the
 * fuzzer needs a seed corpus of valid profiles. This program makes both:
 *
 *     pprof_writer base PATH     the "before" profile
 *     pprof_writer after PATH    the "after" profile: the same stacks at
 *                                other addresses, some grown, one shrunk
 *     pprof_writer seeds DIR     a few profiles, gzip and bare, for fuzzing
 *
 * `base` and `after` print the totals of their four sample types, one
 * "name=value" a line, for the script to compare with pprof's. */
#include "pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The functions whose addresses make the stacks: each at least 16 bytes
 * long, so that the program counters chosen below stay inside it. */
#define DEFINE_SITE(name)                                                                          \
    __attribute__((noinline)) int name(int x) {                                                    \
        __asm__ volatile(".rept 16\n\tnop\n\t.endr" : "+r"(x));                                    \
        return x * 3 + (int)sizeof(#name);                                                         \
    }
DEFINE_SITE(leak_small)
DEFINE_SITE(cache_put)
DEFINE_SITE(leak_large)
DEFINE_SITE(load_config)
DEFINE_SITE(temp_buffer)
DEFINE_SITE(handle_request)
DEFINE_SITE(steady_state)
DEFINE_SITE(init_tables)
DEFINE_SITE(parse_record)
DEFINE_SITE(no_symbols)
DEFINE_SITE(app_main)

typedef struct site {
    int (*code)(int);
    const char *function, *file;
    int line, start_line;
    const char *inlined; /* a function inlined at this site, or NULL */
} site;

static const site sites[] = {
    {leak_small, "leak_small", "src/cache.c", 12, 10, NULL},
    {cache_put, "cache_put", "src/cache.c", 40, 35, NULL},
    {leak_large, "leak_large", "src/config.c", 22, 20, NULL},
    {load_config, "load_config", "src/config.c", 70, 60, NULL},
    {temp_buffer, "temp_buffer", "src/server.c", 15, 14, NULL},
    {handle_request, "handle_request", "src/server.c", 90, 80, NULL},
    {steady_state, "steady_state", "src/init.c", 5, 3, NULL},
    {init_tables, "init_tables", "src/init.c", 30, 25, NULL},
    {parse_record, "parse_record", "src/parse.c", 50, 44, "parse_field"},
    {app_main, "app_main", "src/main.c", 100, 90, NULL},
};

static int symbolize(uintptr_t pc, lc_pprof_line *lines, int max, void *arg) {
    (void)arg;
    for (size_t i = 0; i < sizeof sites / sizeof *sites; i++) {
        uintptr_t start = (uintptr_t)sites[i].code;
        if (pc < start || pc >= start + 16) continue;
        int n = 0;
        if (sites[i].inlined && n < max)
            lines[n++] = (lc_pprof_line){sites[i].inlined, "src/parse.h", 7, 5};
        if (n < max)
            lines[n++] = (lc_pprof_line){sites[i].function, sites[i].file, sites[i].line,
                                         sites[i].start_line};
        return n;
    }
    return 0;
}

/* Program counters of a stack: `shift` moves them within their functions,
 * as another run (or another call site on the same line) would. */
static void stack_of(uintptr_t *pcs, int (*const *code)(int), int depth, int shift) {
    for (int i = 0; i < depth; i++)
        pcs[i] = (uintptr_t)code[i] + (uintptr_t)shift;
}

static int write_profile(const char *path, int after) {
    static int (*const leak_small_stack[])(int) = {leak_small, cache_put, app_main};
    static int (*const leak_large_stack[])(int) = {leak_large, load_config, app_main};
    static int (*const temp_stack[])(int) = {temp_buffer, handle_request, app_main};
    static int (*const steady_stack[])(int) = {steady_state, init_tables, app_main};
    static int (*const parse_stack[])(int) = {parse_record, app_main};
    static int (*const unknown_stack[])(int) = {no_symbols, app_main};
    uintptr_t pcs[6][3];
    int shift = after ? 8 : 4;
    stack_of(pcs[0], leak_small_stack, 3, shift);
    stack_of(pcs[1], leak_large_stack, 3, shift);
    stack_of(pcs[2], temp_stack, 3, shift);
    stack_of(pcs[3], steady_stack, 3, shift);
    stack_of(pcs[4], parse_stack, 2, shift);
    /* No symbols: identified by its offset in the executable, so the same
     * in both profiles. */
    stack_of(pcs[5], unknown_stack, 2, 4);

    /* alloc_objects, alloc_space, inuse_objects, inuse_space */
    lc_pprof_sample base[] = {
        {pcs[0], 3, {10, 1000, 5, 500}},     {pcs[1], 3, {1, 1048576, 1, 1048576}},
        {pcs[2], 3, {40, 40960, 20, 20480}}, {pcs[3], 3, {3, 3072, 3, 3072}},
        {pcs[4], 2, {2, 128, 2, 128}},       {pcs[5], 2, {1, 100, 1, 100}},
    };
    lc_pprof_sample grown[] = {
        {pcs[0], 3, {110, 11000, 105, 10500}}, {pcs[1], 3, {3, 3145728, 3, 3145728}},
        {pcs[2], 3, {80, 81920, 10, 10240}},   {pcs[3], 3, {3, 3072, 3, 3072}},
        {pcs[4], 2, {52, 3328, 42, 2688}},     {pcs[5], 2, {8, 800, 8, 800}},
    };
    const lc_pprof_sample *samples = after ? grown : base;
    size_t n = 6;
    char err[256];
    if (lc_pprof_write(LC_PPROF_HEAP, path, samples, n, symbolize, NULL, err, sizeof err)) {
        fprintf(stderr, "pprof_writer: %s\n", err);
        return 1;
    }
    static const char *const names[LC_PPROF_NVALUES] = {"alloc_objects", "alloc_space",
                                                        "inuse_objects", "inuse_space"};
    for (int v = 0; v < LC_PPROF_NVALUES; v++) {
        long long total = 0;
        for (size_t i = 0; i < n; i++)
            total += samples[i].values[v];
        printf("%s=%lld\n", names[v], total);
    }
    return 0;
}

static int write_seed(const char *dir, const char *name, const lc_pprof_sample *samples, size_t n,
                      int compress) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *data;
    size_t len;
    char err[256];
    if (lc_pprof_encode(LC_PPROF_HEAP, samples, n, symbolize, NULL, compress, &data, &len, err,
                        sizeof err)) {
        fprintf(stderr, "pprof_writer: %s\n", err);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    int failed = !f || fwrite(data, 1, len, f) != len;
    if (f && fclose(f)) failed = 1;
    free(data);
    if (failed) fprintf(stderr, "pprof_writer: cannot write %s\n", path);
    return failed;
}

static int write_seeds(const char *dir) {
    static int (*const stack[])(int) = {parse_record, leak_small, cache_put, app_main};
    uintptr_t pcs[4], unknown[2] = {0x1000, 0x2000};
    stack_of(pcs, stack, 4, 4);
    lc_pprof_sample one[] = {{pcs, 4, {1, 64, 1, 64}}};
    lc_pprof_sample several[] = {
        {pcs, 4, {7, 448, 3, 192}},
        {pcs + 1, 3, {-1, -64, 0, 0}},
        {unknown, 2, {1, 1 << 20, 1, 1 << 20}},
        {NULL, 0, {0, 0, 0, 0}},
    };
    return write_seed(dir, "empty.pb", NULL, 0, 0) || write_seed(dir, "one.pb", one, 1, 0) ||
           write_seed(dir, "one.pb.gz", one, 1, 1) ||
           write_seed(dir, "several.pb", several, 4, 0) ||
           write_seed(dir, "several.pb.gz", several, 4, 1);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "base") == 0) return write_profile(argv[2], 0);
    if (argc == 3 && strcmp(argv[1], "after") == 0) return write_profile(argv[2], 1);
    if (argc == 3 && strcmp(argv[1], "seeds") == 0) return write_seeds(argv[2]);
    fprintf(stderr, "usage: pprof_writer base|after PATH | seeds DIR\n");
    return 2;
}
