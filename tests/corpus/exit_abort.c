/* SPDX-License-Identifier: MIT */
/* exit_abort.c: the program ends with abort().
 *
 * It loses a 40-byte block (lose_one) and calls abort(): SIGABRT ends the
 * process where it stands, no exit handler runs, so neither does the exit
 * check. Expected: `leakcheck run` exits 134 (128 + SIGABRT), the
 * program's own end, and its report lists the process as not checked
 * (ended before its exit check, killed by a signal): no verdict on a
 * process that was not checked. With -DFIXED the program frees the block
 * and returns: clean, status 0.
 *
 * leakcheck means less than valgrind here: valgrind --leak-check=full runs
 * its leak search on a fatal signal too ("Process terminating with default
 * action of signal 6 (SIGABRT)", then "definitely lost: 40 bytes in 1
 * blocks"); the twin "All heap blocks were freed". So this case has no
 * row in cli_corpus_valgrind.sh. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) static void lose_one(void) {
    char *p = malloc(40);
    if (p) memset(p, 0x40, 40);
    if (FIXED) free(p);
}

int main(void) {
    lose_one();
    scrub_stack();
    if (!FIXED) abort();
    return 0;
}
