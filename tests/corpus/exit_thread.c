/* SPDX-License-Identifier: MIT */
/* exit_thread.c: the process ends from a thread other than main.
 *
 * With no argument a worker calls exit(0) while main waits to join it;
 * with "pthread_exit" main calls pthread_exit and the worker, the last
 * thread, returns, so that the C library ends the process from it. Either
 * way the exit check runs on the worker: it is the thread doing the
 * checking, never a leaked thread of its own, and what its live frames
 * hold when it calls exit() is reachable.
 *
 * Expected: leak. The worker drops its only pointer to a 72-byte block:
 * one direct block lost, no leaked thread. With -DFIXED the worker keeps
 * the block in a live local when it calls exit(): clean, one reachable
 * block; after main's pthread_exit it frees it: clean. valgrind agrees on
 * the heap; it has no thread verdict. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"

static int by_pthread_exit;

__attribute__((noinline)) static void *make(void) {
    void *p = malloc(72);
    memset(p, 0x11, 72);
    return p;
}

/* Waits until main has gone (its task a zombie), so that the worker is
 * the last thread. */
static void wait_for_main_to_exit(void) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    for (;;) {
        FILE *f = fopen(path, "r");
        if (!f) return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *state = strrchr(buf, ')');
        if (!state || state[1] == '\0' || state[2] == 'Z' || state[2] == 'X') return;
        usleep(1000);
    }
}

static void *worker(void *arg) {
    (void)arg;
    void *volatile held = make();
    scrub_stack();
    if (by_pthread_exit) {
        wait_for_main_to_exit();
        if (FIXED) free(held);
        return NULL;
    }
    if (!FIXED) held = NULL;
    exit(held && ((char *)held)[0] != 0x11 ? 1 : 0);
}

int main(int argc, char **argv) {
    by_pthread_exit = argc > 1 && strcmp(argv[1], "pthread_exit") == 0;
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
    if (by_pthread_exit) pthread_exit(NULL);
    pthread_join(t, NULL);
    return 0;
}
