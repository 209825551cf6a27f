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
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int parked, released;
static pid_t parked_tids[4];

static void park(void) {
    pthread_mutex_lock(&lock);
    parked_tids[parked++] = (pid_t)syscall(SYS_gettid);
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

/* Whether the thread is asleep in the futex of pthread_cond_wait: until it
 * is, it may be anywhere between its increment of `parked` and the wait,
 * and its stack would not be the one the profile must show. */
static int waits_in_futex(pid_t tid) {
    char path[64], line[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fgets(line, sizeof line, f) && atoi(line) == SYS_futex;
    fclose(f);
    return ok;
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
    for (int i = 0; i < 4; i++)
        while (!waits_in_futex(parked_tids[i]))
            usleep(1000);
    int rc = write_profile(argv[2]);
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return rc;
}
