/* SPDX-License-Identifier: MIT */
/* server.c: a cache kept on purpose, and a parsed value lost by mistake. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make_cache(void) {
    char *c = malloc(64);
    memset(c, 1, 64);
    return c;
}

__attribute__((noinline)) static char *parse_config(void) {
    return strdup("port=8080");
}

int main(void) {
    make_cache();   /* both results are dropped: */
    parse_config(); /* both blocks are lost */
    return 0;
}
