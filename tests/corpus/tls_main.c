/* SPDX-License-Identifier: MIT */
/* tls_main.c: a block whose only pointer is a thread-local variable of the
 * main thread.
 *
 * Expected: clean by default, leak with --strict. The main thread is alive
 * at exit, so its TLS is a root: the 400-byte block (allocated in
 * make_block) that its `__thread` variable tls_buf points to is "reachable"
 * (1 object, 400 B), with a path that starts at TLS. With -DFIXED the
 * program frees it: clean even with --strict. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static __thread char *tls_buf;

__attribute__((noinline)) static char *make_block(void) {
    char *p = malloc(400);
    if (p) memset(p, 0xab, 400);
    return p;
}

__attribute__((noinline)) static void fill_tls(void) {
    tls_buf = make_block();
}

int main(void) {
    pthread_setname_np(pthread_self(), "tls-main");
    fill_tls();
    if (!tls_buf) return 1;
    if (FIXED) {
        free(tls_buf);
        tls_buf = NULL;
    }
    scrub_stack();
    return 0;
}
