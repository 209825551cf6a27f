/* SPDX-License-Identifier: MIT */
/* dispatch.c: a table entry kept from a global, and a thread blocked on a
 * condition variable holding a block in its frame and one in a thread-local.
 * With any argument it frees all three and joins the thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    int key;
    struct entry *next;
    char *value;
};
struct table {
    int count;
    struct entry *buckets[8];
};
static struct table *registry;
static __thread char *scratch;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int quit, ready;

static void registry_put(int key) {
    struct entry *e = calloc(1, sizeof *e);
    e->key = key;
    e->value = strdup("a value kept forever");
    e->next = registry->buckets[key % 8];
    registry->buckets[key % 8] = e;
}

static void *worker_main(void *arg) {
    char *volatile job = malloc(1000);
    scratch = malloc(77);
    (void)arg;
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!quit)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    free(job);
    free(scratch);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argv;
    int fixed = argc > 1;
    registry = calloc(1, sizeof *registry);
    registry_put(8);
    pthread_t t;
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    if (fixed) {
        pthread_mutex_lock(&mu);
        quit = 1;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        pthread_join(t, NULL);
        struct entry *e = registry->buckets[0];
        free(e->value);
        free(e);
        free(registry);
        registry = NULL;
    }
    return 0;
}
