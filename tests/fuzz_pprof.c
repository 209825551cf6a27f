/* SPDX-License-Identifier: MIT */
/* fuzz_pprof.c: libFuzzer target for the profile reader and the comparison.
 *
 * `leakcheck diff` reads files it did not write, so the reader must survive
 * any bytes: every input either parses into a model whose pointers all lead
 * somewhere valid, or is rejected with a message. A parsed model is walked
 * field by field (so that AddressSanitizer sees any dangling pointer) and
 * compared with itself, which exercises the stack matching on whatever
 * shapes the fuzzer invents. Built and run by tests/fuzz.sh. */
#include "profiles.h"

#include <stdlib.h>
#include <string.h>

static size_t touched;

static void touch(const char *s) {
    touched += strlen(s);
}

static void walk_model(const lc_pprof *p) {
    for (size_t i = 0; i < p->nsample_types; i++) {
        touch(p->sample_types[i].type);
        touch(p->sample_types[i].unit);
    }
    for (size_t i = 0; i < p->nstrings; i++)
        touch(p->strings[i]);
    for (size_t i = 0; i < p->ncomments; i++)
        touch(p->comments[i]);
    touch(p->drop_frames);
    touch(p->keep_frames);
    touch(p->default_sample_type);
    touch(p->period_type.type);
    for (size_t i = 0; i < p->nmappings; i++) {
        touch(p->mappings[i].filename);
        touch(p->mappings[i].build_id);
    }
    for (size_t i = 0; i < p->nrecords; i++) {
        const lc_pprof_record *r = &p->records[i];
        for (size_t k = 0; k < p->nsample_types; k++)
            touched += (size_t)r->values[k];
        for (size_t k = 0; k < r->nlabels; k++) {
            touch(r->labels[k].key);
            touch(r->labels[k].str);
            touch(r->labels[k].num_unit);
        }
        for (size_t k = 0; k < r->nlocations; k++) {
            const lc_pprof_location *loc = r->locations[k];
            if (loc->mapping) touch(loc->mapping->filename);
            for (size_t j = 0; j < loc->nlines; j++) {
                touch(loc->lines[j].function->name);
                touch(loc->lines[j].function->filename);
            }
        }
    }
}

static void walk_diff(const lc_pprof_diff *d) {
    touch(d->sample);
    for (size_t i = 0; i < d->nstacks; i++)
        for (size_t k = 0; k < d->stacks[i].nframes; k++) {
            const lc_pprof_frame *f = &d->stacks[i].frames[k];
            touch(f->function);
            touch(f->file);
            touch(f->mapping);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lc_pprof *p = NULL;
    char err[256];
    err[0] = 0;
    if (lc_pprof_parse(data, size, &p, err, sizeof err) != 0) {
        /* A rejection always says why. */
        if (p || err[0] == 0 || strlen(err) >= sizeof err) abort();
        return 0;
    }
    walk_model(p);
    lc_pprof_diff_options ranked = {.top = 3, .has_min_objects = 1, .min_objects = 0};
    const lc_pprof_diff_options *options[] = {NULL, &ranked};
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        lc_pprof_diff *d = NULL;
        if (lc_pprof_diff_compute(p, p, options[i], &d, err, sizeof err) == 0) {
            /* A profile compared with itself has not changed anywhere. */
            if (d->total_stacks != 0) abort();
            walk_diff(d);
            lc_pprof_diff_free(d);
        }
    }
    if (p->nsample_types) {
        lc_pprof_diff_options by_first = {.sample = p->sample_types[0].type};
        lc_pprof_diff *d = NULL;
        if (lc_pprof_diff_compute(p, p, &by_first, &d, err, sizeof err) == 0) lc_pprof_diff_free(d);
    }
    lc_pprof_free(p);
    return 0;
}
