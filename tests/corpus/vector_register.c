/* SPDX-License-Identifier: MIT */
/* vector_register.c: a block whose only pointer is in a vector register
 * (xmm7) of a thread that spins forever, as an -O2 program can keep one.
 *
 * The capture signal's context holds the thread's vector registers beside
 * its general ones; both are roots.
 *
 * Expected: leak. One leaked thread "vec-spinner" holds the only pointer to
 * a 136-byte block in xmm7: 1 object, 136 B, class "thread". With -DFIXED
 * the thread drops it (xmm7 cleared) before it spins: the block is lost,
 * 1 object direct, as valgrind, which scans vector registers too, says. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#if !defined(__x86_64__)
#error "vector_register.c is written for x86-64's xmm registers"
#endif

static atomic_int started;

__attribute__((noinline, used)) static char *make_block(void) {
    char *p = malloc(136);
    if (p) memset(p, 0xcd, 136);
    return p;
}

__attribute__((noinline)) static void hold_in_xmm7(void) {
    /* Into xmm7 straight from make_block's return register; the frames
     * below are scrubbed before the spin. */
    asm volatile("call make_block\n\t"
                 "movq %%rax, %%xmm7\n\t"
                 /* no general register keeps a copy */
                 "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t"
                 "xorl %%esi, %%esi\n\txorl %%edi, %%edi\n\txorl %%r8d, %%r8d\n\t"
                 "xorl %%r9d, %%r9d\n\txorl %%r10d, %%r10d\n\txorl %%r11d, %%r11d"
                 :
                 :
                 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1",
                   "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "memory");
}

static void *spinner_main(void *arg) {
    (void)arg;
    hold_in_xmm7();
    scrub_stack();
    if (FIXED) asm volatile("pxor %%xmm7, %%xmm7" : : : "xmm7");
    atomic_store(&started, 1);
    for (;;)
        asm volatile("pause");
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, spinner_main, NULL) != 0) return 1;
    pthread_setname_np(t, "vec-spinner");
    while (!atomic_load(&started))
        ;
    return 0;
}
