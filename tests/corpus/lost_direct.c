/* SPDX-License-Identifier: MIT */
/* lost_direct.c: blocks whose only pointers the program drops.
 *
 * Expected: leak. Three unreachable blocks of 16, 32 and 64 bytes (112 B),
 * each "direct" (valgrind's "definitely lost": no other block points to
 * them), allocated in make_record. With -DFIXED the program frees them:
 * clean. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) static char *make_record(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 0xab, n);
    return p;
}

int main(void) {
    char *a = make_record(16), *b = make_record(32), *c = make_record(64);
    if (!a || !b || !c) return 1;
    if (FIXED) {
        free(a);
        free(b);
        free(c);
    }
    a = b = c = NULL;
    scrub_stack();
    return 0;
}
