/* SPDX-License-Identifier: MIT */
/* corpus.h: what every program of the `leakcheck run` corpus shares.
 *
 * A conservative scan (leakcheck's, valgrind's) treats any word that looks
 * like a pointer as one. A pointer a program has dropped can survive as a
 * stale copy in a dead stack frame that a later call reuses, and the case
 * would then test luck instead of the classification. The programs allocate
 * in helper functions and wipe the stack below their caller afterwards, so
 * that the only copies of a pointer are the ones the case describes.
 *
 * Most programs are built twice from one source: as written (the case) and
 * with -DFIXED (its twin, which differs only where the comment says); the
 * others get their twin from another macro or an argument, as their comment
 * says. build.sh lists every build. */
#ifndef CORPUS_H
#define CORPUS_H

#include <stddef.h>

#ifndef FIXED
#define FIXED 0
#endif

/* Overwrites the stack the callees of the caller used. */
__attribute__((noinline, unused)) static void scrub_stack(void) {
    volatile char pad[16384];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = 0;
}

#endif
