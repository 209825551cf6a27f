/* SPDX-License-Identifier: MIT */
/* stall.c: an error path that never returns. When open_both()'s second
 * allocation fails it waits for a retry that nobody will send; every other
 * run ends. Under `leakcheck fault-sweep --timeout` that run is reported as
 * hung, with where it waits, and the sweep goes on. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t retry;

__attribute__((noinline)) static int open_both(char **a, char **b) {
    *a = malloc(16);
    if (!*a) return -1;
    *b = malloc(32);
    if (!*b) {
        free(*a);
        while (!retry)
            pause(); /* waits for a signal to retry */
        return -1;
    }
    return 0;
}

int main(void) {
    char *a, *b;
    if (open_both(&a, &b) != 0) return 1;
    free(a);
    free(b);
    return 0;
}
