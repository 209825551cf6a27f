/* SPDX-License-Identifier: MIT */
/* budget.c: one 100-byte block left behind, checked against three budgets. */
#include <leakcheck.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    lc_baseline();
    void *kept = malloc(100);
    /* Unset fields keep the default limit, 0: one object is over it. */
    int a = LC_VERIFY_NONE(.budget = "bytes=1k");
    int b = LC_VERIFY_NONE(.budget = "bytes=1k,objects=inf");
    int c = LC_VERIFY_NONE(.budget = "bytes=1X");
    printf("bytes=1k: %d, bytes=1k,objects=inf: %d, bytes=1X: %d\n", a, b, c);
    free(kept);
    return 0;
}
