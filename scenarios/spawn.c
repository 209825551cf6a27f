/* SPDX-License-Identifier: MIT */
/* spawn.c: `go f(x)` as a named, joinable POSIX thread.
 *
 * Leak reports identify threads by name, so every thread the scenarios start
 * gets one. The name is set by the creator before lc_spawn returns, which
 * makes it visible to anyone holding the pthread_t without waiting for the
 * new thread to run. */
#include "leakcheck_toolkit.h"

#include <string.h>

/* The kernel keeps 15 characters of a thread name plus the terminator. */
#define THREAD_NAME_MAX 16

int lc_spawn(pthread_t *out, const char *name, void *(*fn)(void *), void *arg) {
    pthread_t thread;
    int err = pthread_create(&thread, NULL, fn, arg);
    if (err) return err;
    if (name) {
        char short_name[THREAD_NAME_MAX];
        strncpy(short_name, name, sizeof(short_name) - 1);
        short_name[sizeof(short_name) - 1] = '\0';
        /* A name is a label, not a resource: the thread runs either way. */
        (void)pthread_setname_np(thread, short_name);
    }
    *out = thread;
    return 0;
}
