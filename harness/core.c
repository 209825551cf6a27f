/* SPDX-License-Identifier: MIT */
/* core.c: the settings and the re-entry depth every module reads.
 *
 * Settings come from the environment once, at start-up (init.c calls
 * lc_config_read before any other module starts). The defaults below hold
 * until then: the allocation hooks run before any constructor and must
 * find usable values. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/valgrind.h>

LC_HOT lc_config lc_cfg = {
    .stack_depth = LC_DEFAULT_DEPTH,
    .settle_seconds = 1.0,
};

LC_TLS int lc_self_depth;
/* Read through a pointer kept with the allocation path's data: the GOT
 * entry that would give its address is a page of its own. */
LC_HOT const char *lc_single_threaded = &__libc_single_threaded;

void lc_config_read(void) {
    const char *depth = getenv("LEAKCHECK_STACK_DEPTH");
    if (depth && *depth) {
        char *end;
        long d = strtol(depth, &end, 10);
        if (*end == '\0' && d >= 0) lc_cfg.stack_depth = d > LC_MAX_DEPTH ? LC_MAX_DEPTH : (int)d;
    }
    const char *unwind = getenv("LEAKCHECK_UNWIND");
    lc_cfg.unwind_dwarf = unwind && strcmp(unwind, "dwarf") == 0;
    const char *quiet = getenv("LEAKCHECK_QUIET");
    lc_cfg.quiet = quiet && *quiet && strcmp(quiet, "0") != 0;
    lc_cfg.under_valgrind = RUNNING_ON_VALGRIND != 0;
    const char *vg = getenv("LEAKCHECK_VALGRIND_LEAK_CHECK");
    lc_cfg.valgrind_leak_check = !(vg && (strcmp(vg, "0") == 0 || strcmp(vg, "off") == 0));
}

/* Read at every check, as the budget is: a test may set it between two
 * checks, and a malformed value is an error, not a silent default. */
int lc_config_settle(double *out, char *err, size_t errlen) {
    *out = lc_cfg.settle_seconds;
    const char *settle = getenv("LEAKCHECK_SETTLE");
    if (!settle || !*settle) return 0;
    char *end;
    double s = strtod(settle, &end);
    if (*end != '\0' || !(s >= 0) || s > 1e6) {
        snprintf(err, errlen, "malformed LEAKCHECK_SETTLE \"%.64s\": expected seconds, >= 0",
                 settle);
        return -1;
    }
    *out = s;
    return 0;
}
