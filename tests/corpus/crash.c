/* SPDX-License-Identifier: MIT */
/* crash.c: a program that crashes.
 *
 * With the argument "crash" the program loses a block and then writes
 * through a null pointer. Expected: killed by SIGSEGV, and `leakcheck run`
 * says so and exits with 128 + 11. Its twin, the argument "exit", frees
 * what it allocated and calls exit(5): clean, and the run's status is the
 * program's own, 5. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

int main(int argc, char **argv) {
    char *p = malloc(64);
    if (!p) return 1;
    memset(p, 0xab, 64);
    if (argc > 1 && strcmp(argv[1], "crash") == 0) {
        p = NULL;
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    free(p);
    exit(5);
}
