/* SPDX-License-Identifier: MIT */
/* interior.c: a block reachable only through a pointer into its middle.
 *
 * Expected: clean by default, leak with --strict. The global interior_ref
 * points 8 bytes into a 64-byte block allocated in make_buffer; the scan
 * follows interior pointers, so the block is "reachable" (1 object, 64 B)
 * with the path interior_ref. (valgrind calls it "possibly lost", never
 * "definitely lost".) With -DFIXED the program frees the block: clean even
 * with --strict. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static char *interior_ref;

__attribute__((noinline)) static char *make_buffer(void) {
    char *p = malloc(64);
    if (p) memset(p, 0xab, 64);
    return p;
}

int main(void) {
    char *p = make_buffer();
    if (!p) return 1;
    interior_ref = p + 8;
    p = NULL;
    if (FIXED) {
        free(interior_ref - 8);
        interior_ref = NULL;
    }
    scrub_stack();
    return 0;
}
