/* SPDX-License-Identifier: MIT */
/* cache.c: a cache that keeps every entry it is given; reachable from a
 * global, so no check fails, but it grows with the number of requests. */
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    char value[248];
};
static struct entry *cache;

static void cache_put(const char *value) {
    struct entry *e = malloc(sizeof *e);
    strncpy(e->value, value, sizeof e->value - 1);
    e->value[sizeof e->value - 1] = '\0';
    e->next = cache;
    cache = e;
}

static char *handle(int request) {
    char *reply = malloc(64);
    strcpy(reply, request % 2 ? "odd" : "even");
    return reply;
}

int main(int argc, char **argv) {
    int requests = argc > 1 ? atoi(argv[1]) : 10;
    for (int i = 0; i < requests; i++) {
        char *reply = handle(i);
        cache_put(reply);
        free(reply);
    }
    return 0;
}
