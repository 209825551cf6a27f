/* SPDX-License-Identifier: MIT */
/* sweep.c: lc_fault_sweep inside a program: every allocation of
 * load_config() fails in turn, and every error path is checked. */
#include <leakcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config {
    char *name, *path;
};

__attribute__((noinline)) static struct config *load_config(void) {
    struct config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->name = strdup("server");
    if (!c->name) goto fail;
    c->path = strdup("/etc/server.conf");
    if (!c->path) goto fail;
    return c;
fail:
    free(c); /* forgets c->name when the second strdup fails */
    return NULL;
}

static void run_once(void *arg) {
    (void)arg;
    struct config *c = load_config();
    if (c) {
        free(c->name);
        free(c->path);
        free(c);
    }
}

int main(void) {
    lc_fault_sweep_result r;
    int rc = lc_fault_sweep(run_once, NULL,
                            &(lc_fault_sweep_options){.scope = "load_config", .out = stdout}, &r);
    for (size_t i = 0; i < r.npoints; i++)
        printf("point: allocation %ld%s failing, in %s, %lld objects leaked\n", r.points[i].n,
               r.points[i].persistent ? " and every later one" : "", r.points[i].function,
               r.points[i].leaked_objects);
    lc_fault_sweep_result_free(&r);
    return rc;
}
