/* SPDX-License-Identifier: MIT */
/* tsd.c: blocks the program keeps with pthread_setspecific.
 *
 * A thread-specific value is the program's root, as a global is, even
 * though it sits in the C runtime's thread descriptor: what it holds is
 * reachable and never excused as the runtime's. The first key holds a
 * 56-byte block that holds a 24-byte block; the 31st holds a 48-byte
 * block.
 *
 * Expected: leak. Both values are cleared before exit, the blocks
 * dropped: three lost, two direct (56, 48) and one indirect (24). With
 * -DFIXED the values stay: clean, three reachable blocks (128 bytes), and
 * with --strict they count. valgrind agrees (reachable, then lost). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define KEYS 31

__attribute__((noinline)) static void store(pthread_key_t a, pthread_key_t b) {
    void **outer = malloc(56);
    memset(outer, 0, 56);
    outer[0] = malloc(24);
    memset(outer[0], 0, 24);
    pthread_setspecific(a, outer);
    void *other = malloc(48);
    memset(other, 0, 48);
    pthread_setspecific(b, other);
}

int main(void) {
    static pthread_key_t keys[KEYS];
    for (int i = 0; i < KEYS; i++)
        if (pthread_key_create(&keys[i], NULL) != 0) return 1;
    store(keys[0], keys[KEYS - 1]);
    scrub_stack();
    if (!FIXED) {
        pthread_setspecific(keys[0], NULL);
        pthread_setspecific(keys[KEYS - 1], NULL);
    }
    return 0;
}
