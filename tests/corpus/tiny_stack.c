/* SPDX-License-Identifier: MIT */
/* tiny_stack.c: a thread running a coroutine on a 4 KiB stack when the
 * check interrupts it.
 *
 * The check captures every live thread with a signal. Delivered on the
 * coroutine's own stack, the kernel's signal frame and the handler would
 * run off its 4 KiB into the guard page below and kill the program; on the
 * alternate signal stack the library gives each thread, it cannot.
 *
 * Expected: leak. One leaked thread (it still spins at exit), no crash.
 * With -DFIXED the coroutine is told to stop and the thread joined: clean.
 * valgrind runs signal handlers on its own stacks and survives both. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "corpus.h"

#define COROUTINE_STACK 4096

static atomic_int started, stop;
static ucontext_t thread_ctx, coroutine_ctx;

static void coroutine(void) {
    atomic_store(&started, 1);
    while (!atomic_load(&stop))
        ;
}

static void *tiny_main(void *arg) {
    (void)arg;
    /* One guard page, then the coroutine's stack: running off it faults. */
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, (size_t)page + COROUTINE_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || mprotect(mem, (size_t)page, PROT_NONE) != 0) return NULL;
    getcontext(&coroutine_ctx);
    coroutine_ctx.uc_stack.ss_sp = mem + page;
    coroutine_ctx.uc_stack.ss_size = COROUTINE_STACK;
    coroutine_ctx.uc_link = &thread_ctx;
    makecontext(&coroutine_ctx, coroutine, 0);
    swapcontext(&thread_ctx, &coroutine_ctx);
    munmap(mem, (size_t)page + COROUTINE_STACK);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, tiny_main, NULL) != 0) return 1;
    while (!atomic_load(&started))
        ;
    if (FIXED) {
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
    }
    return 0;
}
