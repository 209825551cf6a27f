/* SPDX-License-Identifier: MIT */
/* thread_profile.c: a program whose threads wait on known stacks, for
 * tests/cli_thread_profile.sh.
 *
 *   thread_profile BEFORE AFTER
 *
 * writes the thread profile of the process alone to BEFORE, then starts
 * three threads that wait in park_three() and one that waits in park_one(),
 * writes the profile again to AFTER, and lets the threads go. Exit status 0,
 * or 1 when a profile could not be written. */
#include <leakcheck.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int parked, released;

static void park(void) {
    pthread_mutex_lock(&lock);
    parked++;
    pthread_cond_broadcast(&changed);
    while (!released)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static void *park_three(void *arg) {
    (void)arg;
    park();
    return NULL;
}

__attribute__((noinline)) static void *park_one(void *arg) {
    (void)arg;
    park();
    return NULL;
}

static int write_profile(const char *path) {
    if (lc_threads_write_pprof(path) == 0) return 0;
    fprintf(stderr, "thread_profile: cannot write %s: %s\n", path, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: thread_profile BEFORE AFTER\n");
        return 2;
    }
    if (write_profile(argv[1])) return 1;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, i < 3 ? park_three : park_one, NULL);
    pthread_mutex_lock(&lock);
    while (parked < 4)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    int rc = write_profile(argv[2]);
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return rc;
}
