/* SPDX-License-Identifier: MIT */
/* exit_local.c: a block held by a live local of main when main calls
 * exit(0).
 *
 * main's frame is still there when exit() runs the exit check: its locals
 * are live, and what they hold is reachable, as valgrind and LeakSanitizer
 * count it (rsync keeps its argument copies this way).
 *
 * Expected: leak. main drops its only pointer to the 40-byte block before
 * it calls exit(0): one direct block lost. With -DFIXED the local still
 * holds it at the call: clean, one reachable block of 40 bytes. valgrind
 * agrees on both. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) static char *make_copy(const char *s) {
    char *p = malloc(40);
    strncpy(p, s, 39);
    p[39] = '\0';
    return p;
}

int main(int argc, char **argv) {
    (void)argc;
    char *volatile copy = make_copy(argv[0]);
    scrub_stack();
    if (!FIXED) copy = NULL;
    exit(copy && copy[0] == '\0' ? 1 : 0);
}
