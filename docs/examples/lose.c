/* SPDX-License-Identifier: MIT */
/* lose.c: a name lost after the baseline, for the sanitizer recipe. */
#include <leakcheck.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void lose_a_name(void) {
    char *name = strdup("forgotten");
    (void)name;
    name = NULL; /* its last pointer is gone: lost */
}

int main(void) {
    lc_baseline();
    lose_a_name();
    return LC_VERIFY_NONE() == 0 ? 0 : 1;
}
