/* SPDX-License-Identifier: MIT */
/* tsd_all_keys.c: a program that takes every thread-specific key there is.
 *
 * PTHREAD_KEYS_MAX is a process-wide limit, and the program may use all of
 * it. Whatever the library needs per thread must not come out of the
 * program's keys: here the program takes every free key, keeps a 64-byte
 * block in its first one, and has four threads and then main allocate
 * inside the C runtime (strdup), where call stacks are unwound from DWARF
 * information. Each thread keeps a value of its own in the same key and
 * checks it after allocating; main checks its block's. A value that
 * changed under the program exits 3.
 *
 * Expected: clean, one reachable block of 64 bytes, held only by the key.
 * With -DLEAKY main clears the key's value before it returns: one direct
 * block of 64 bytes lost. valgrind agrees on both. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#ifndef LEAKY
#define LEAKY 0
#endif

#define THREADS 4

static pthread_key_t first; /* the lowest key the program owns */
static char marks[THREADS];
/* The block's address, disguised so that it is not a root of its own. */
static uintptr_t kept;
#define DISGUISE ((uintptr_t)0x5a5a5a5a5a5a5a5a)

/* Allocates inside the C runtime, then frees: only the stack capture
 * stays behind. */
__attribute__((noinline)) static void allocate_in_libc(void) {
    char *copy = strdup("an allocation made by libc");
    free(copy);
}

static void *worker(void *arg) {
    void *mine = arg;
    pthread_setspecific(first, mine);
    allocate_in_libc();
    return pthread_getspecific(first) == mine ? NULL : (void *)1;
}

__attribute__((noinline)) static int take_every_key(void) {
    pthread_key_t k;
    int n = 0;
    while (pthread_key_create(&k, NULL) == 0) {
        if (n == 0 || k < first) first = k;
        n++;
    }
    return n;
}

__attribute__((noinline)) static void keep_block(void) {
    void *block = malloc(64);
    memset(block, 0, 64);
    pthread_setspecific(first, block);
    kept = (uintptr_t)block ^ DISGUISE;
}

int main(void) {
    if (take_every_key() == 0) return 2;
    keep_block();
    scrub_stack();
    int changed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_t t;
        void *ret = NULL;
        if (pthread_create(&t, NULL, worker, &marks[i]) != 0) return 2;
        pthread_join(t, &ret);
        changed |= ret != NULL;
    }
    allocate_in_libc();
    changed |= (uintptr_t)pthread_getspecific(first) != (kept ^ DISGUISE);
    if (LEAKY) pthread_setspecific(first, NULL);
    return changed ? 3 : 0;
}
