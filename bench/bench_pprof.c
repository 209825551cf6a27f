/* SPDX-License-Identifier: MIT */
/* bench_pprof.c: the cost of writing a heap profile and of `leakcheck diff`.
 *
 * The target: a heap of 1 million live blocks spread over 10,000 allocation
 * stacks (16 frames each, drawn from 60,000 functions, one in eight with an
 * inlined frame) is written as a profile in under a second, and two such
 * profiles, written by different "processes" (the same functions at other
 * addresses), are compared by `leakcheck diff` in under a second, output
 * included. Each figure is the median of five runs; the program exits 1 when
 * a median misses its target.
 *
 *   make && cc -std=gnu11 -O2 -D_GNU_SOURCE -pthread -Iinclude -Iharness -Iassertions -Itool \
 *      -Iprofiles bench/bench_pprof.c tool/diff.c \
 *      build/libleakcheck_profiles.a build/libleakcheck_internal.a -lprotobuf-c \
 *      -ldw -lelf -lunwind -lz -ldl -o build/bench_pprof
 *   build/bench_pprof [DIR]      (profiles are written to DIR, default /tmp) */
#include "profiles.h"
#include "tool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NSTACKS 10000
#define DEPTH 16
#define NFUNCTIONS 60000
#define BLOCKS_PER_STACK 100 /* 1,000,000 live blocks in all */
#define RUNS 5
#define TARGET_SECONDS 1.0

/* Function i of a "process" lives at base + 64 * i. */
typedef struct process {
    uintptr_t base;
} process;

typedef struct symbol_names {
    char function[NFUNCTIONS][24];
    char file[NFUNCTIONS / 100][24];
} symbol_names;

static symbol_names *names;

static int symbolize(uintptr_t pc, lc_pprof_line *lines, int max, void *arg) {
    const process *p = arg;
    if (pc < p->base || max < 2) return 0;
    size_t i = (pc - p->base) / 64;
    if (i >= NFUNCTIONS) return 0;
    int n = 0;
    if (i % 8 == 0) lines[n++] = (lc_pprof_line){"inlined_helper", "src/helper.h", 12, 10};
    lines[n++] = (lc_pprof_line){names->function[i], names->file[i / 100], (int)(i % 500) + 20,
                                 (int)(i % 500) + 10};
    return n;
}

static uint64_t next_random(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* The same 10,000 stacks in any process: frame k of stack s is a function
 * chosen by a fixed sequence, so that two processes share their stacks. */
static void make_stacks(uintptr_t (*pcs)[DEPTH], const process *p) {
    uint64_t state = 42;
    for (size_t s = 0; s < NSTACKS; s++)
        for (size_t k = 0; k < DEPTH; k++) {
            /* Callers near the root are shared by many stacks. */
            size_t spread = k < DEPTH / 2 ? NFUNCTIONS : 200;
            size_t fn = (size_t)next_random(&state) % spread;
            pcs[s][k] = p->base + 64 * fn + 8;
        }
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v) {
    qsort(v, RUNS, sizeof *v, by_value);
    return v[RUNS / 2];
}

static int write_profile(const char *path, uintptr_t (*pcs)[DEPTH], process *p, int grown,
                         double *seconds) {
    static lc_pprof_sample samples[NSTACKS];
    for (size_t s = 0; s < NSTACKS; s++) {
        int64_t objects = BLOCKS_PER_STACK, size = 16 + (int64_t)(s % 64) * 16;
        /* The "after" profile: every tenth stack leaks 10 more blocks. */
        if (grown && s % 10 == 0) objects += 10;
        samples[s] = (lc_pprof_sample){
            pcs[s], DEPTH, {objects * 2, objects * 2 * size, objects, objects * size}};
    }
    char err[256];
    double start = now_seconds();
    if (lc_pprof_write(LC_PPROF_HEAP, path, samples, NSTACKS, symbolize, p, err, sizeof err)) {
        fprintf(stderr, "bench_pprof: %s\n", err);
        return -1;
    }
    *seconds = now_seconds() - start;
    return 0;
}

/* lc_cli_diff with its output going to /dev/null. */
static int run_diff(int argc, char **argv, double *seconds) {
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (saved < 0 || null < 0) return -1;
    dup2(null, STDOUT_FILENO);
    close(null);
    double start = now_seconds();
    int rc = lc_cli_diff(argc, argv);
    fflush(stdout);
    *seconds = now_seconds() - start;
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return rc;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char base_path[4096], after_path[4096];
    snprintf(base_path, sizeof base_path, "%s/bench_pprof_base.pb.gz", dir);
    snprintf(after_path, sizeof after_path, "%s/bench_pprof_after.pb.gz", dir);

    names = malloc(sizeof *names);
    uintptr_t(*base_pcs)[DEPTH] = malloc(sizeof(uintptr_t[NSTACKS][DEPTH]));
    uintptr_t(*after_pcs)[DEPTH] = malloc(sizeof(uintptr_t[NSTACKS][DEPTH]));
    if (!names || !base_pcs || !after_pcs) {
        fprintf(stderr, "bench_pprof: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < NFUNCTIONS; i++)
        snprintf(names->function[i], 24, "module_fn_%zu", i);
    for (size_t i = 0; i < NFUNCTIONS / 100; i++)
        snprintf(names->file[i], 24, "src/mod_%zu.c", i);
    process before = {0x555500000000}, later = {0x7f1200000000};
    make_stacks(base_pcs, &before);
    make_stacks(after_pcs, &later);

    double write_times[RUNS], diff_times[RUNS], top_times[RUNS], json_times[RUNS], unused;
    int failed = 0;
    for (int r = 0; r < RUNS && !failed; r++) {
        failed |= write_profile(base_path, base_pcs, &before, 0, &write_times[r]) != 0;
        failed |= write_profile(after_path, after_pcs, &later, 1, &unused) != 0;
    }
    char *text_argv[] = {"diff", base_path, after_path};
    char *json_argv[] = {"diff", base_path, after_path, "--format", "json"};
    char *top_argv[] = {"diff", base_path, after_path, "--top", "20"};
    for (int r = 0; r < RUNS && !failed; r++) {
        failed |= run_diff(3, text_argv, &diff_times[r]) != 0;
        failed |= run_diff(5, json_argv, &json_times[r]) != 0;
        failed |= run_diff(5, top_argv, &top_times[r]) != 0;
    }
    if (failed) {
        fprintf(stderr, "bench_pprof: a run failed\n");
        return 2;
    }

    struct stat st;
    long long size = stat(base_path, &st) == 0 ? (long long)st.st_size : -1;
    lc_pprof *written = NULL;
    char err[256];
    if (lc_pprof_read(base_path, &written, err, sizeof err)) {
        fprintf(stderr, "bench_pprof: %s\n", err);
        return 2;
    }
    double write_s = median(write_times), diff_s = median(diff_times);
    double json_s = median(json_times), top_s = median(top_times);
    printf("profile: %zu stacks x %d frames, %d live blocks, %zu locations, %zu functions, "
           "%lld bytes gzip\n",
           written->nrecords, DEPTH, NSTACKS * BLOCKS_PER_STACK, written->nlocations,
           written->nfunctions, size);
    lc_pprof_free(written);
    printf("write profile             %8.1f ms  (target < %.0f ms)\n", write_s * 1e3,
           TARGET_SECONDS * 1e3);
    printf(
        "leakcheck diff, text      %8.1f ms  (target < %.0f ms; 1,000 stacks grew, all printed)\n",
        diff_s * 1e3, TARGET_SECONDS * 1e3);
    printf("leakcheck diff, json      %8.1f ms\n", json_s * 1e3);
    printf("leakcheck diff, --top 20  %8.1f ms\n", top_s * 1e3);
    unlink(base_path);
    unlink(after_path);
    free(names);
    free(base_pcs);
    free(after_pcs);
    return write_s < TARGET_SECONDS && diff_s < TARGET_SECONDS ? 0 : 1;
}
