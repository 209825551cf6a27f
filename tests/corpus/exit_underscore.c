/* SPDX-License-Identifier: MIT */
/* exit_underscore.c: the program ends with _exit().
 *
 * It loses a 24-byte block (lose_one) and calls _exit(0), as a shell or a
 * forked child does: no exit handler runs, but the library interposes
 * _exit and checks the process there (harness: process_mode.c,
 * early_exit), as valgrind does. Expected: leak, one block lost directly
 * (1 object, 24 B); the report's notes say the process ended with
 * _exit(0), checked there, its exit handlers and destructors not run.
 * With -DFIXED the block is freed before _exit(0): clean, status 0.
 * valgrind --leak-check=full agrees: "definitely lost: 24 bytes in 1
 * blocks"; the twin "All heap blocks were freed". */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"

__attribute__((noinline)) static void lose_one(void) {
    char *p = malloc(24);
    if (p) memset(p, 0x24, 24);
    if (FIXED) free(p);
}

int main(void) {
    lose_one();
    scrub_stack();
    _exit(0);
}
