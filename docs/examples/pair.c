/* SPDX-License-Identifier: MIT */
/* pair.c: make_pair() forgets its first block when the second allocation
 * fails; built with -DFIXED=1 it frees it. */
#include <stdlib.h>

struct pair {
    char *a, *b;
};

__attribute__((noinline)) static int make_pair(struct pair *p) {
    p->a = malloc(16);
    if (!p->a) return -1;
    p->b = malloc(32);
    if (!p->b) {
        if (FIXED) free(p->a);
        return -1;
    }
    return 0;
}

int main(void) {
    struct pair p;
    if (make_pair(&p) != 0) return 1;
    free(p.a);
    free(p.b);
    return 0;
}
