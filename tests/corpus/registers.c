/* SPDX-License-Identifier: MIT */
/* registers.c: a block whose only pointer is in a register of a thread that
 * spins forever.
 *
 * Expected: leak. One leaked thread "reg-spinner", running. It holds the
 * only pointer to a 200-byte block (allocated in make_block) in a
 * callee-saved register it never spills: no memory holds a copy. 1 object,
 * 200 B, class "thread", whose path starts at the thread's registers. With
 * -DFIXED main stops the thread, which frees the block, and joins it:
 * clean. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#if defined(__x86_64__)
#define HOLDING_REGISTER "r12"
#elif defined(__aarch64__)
#define HOLDING_REGISTER "x19"
#else
#error "registers.c needs a callee-saved register name for this architecture"
#endif

static atomic_int started, stop;

__attribute__((noinline)) static char *make_block(void) {
    char *p = malloc(200);
    if (p) memset(p, 0xab, 200);
    return p;
}

static void *spinner_main(void *arg) {
    (void)arg;
    register char *p asm(HOLDING_REGISTER) = make_block();
    /* make_block's frame, below this one, still holds the pointer. */
    scrub_stack();
    atomic_store(&started, 1);
    while (!atomic_load(&stop))
        asm volatile("" : : "r"(p));
    free(p);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, spinner_main, NULL) != 0) return 1;
    pthread_setname_np(t, "reg-spinner");
    while (!atomic_load(&started))
        ;
    if (FIXED) {
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
    }
    return 0;
}
