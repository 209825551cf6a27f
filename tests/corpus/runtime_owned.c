/* SPDX-License-Identifier: MIT */
/* runtime_owned.c: memory the C runtime allocates for itself.
 *
 * Expected: clean, even with --strict: stdio buffers, locale and time-zone
 * data, strerror's buffer, getpwuid's NSS state, a dlopen'ed library and
 * the thread library's caches after pthread_create + pthread_join all
 * belong to the runtime, not to the program. With -DLEAKY=1 the
 * same program also loses one 77-byte block in lose_one, and exactly that
 * block is reported: leak, 1 object, 77 B, direct. */
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

#ifndef LEAKY
#define LEAKY 0
#endif

static void *nothing(void *arg) {
    return arg;
}

__attribute__((noinline)) static void lose_one(void) {
    char *p = malloc(77);
    if (p) memset(p, 0xab, 77);
}

int main(void) {
    setlocale(LC_ALL, "C.UTF-8");
    time_t now = time(NULL);
    struct tm *tm = localtime(&now);
    printf("year %d; %s; %s\n", tm ? tm->tm_year + 1900 : 0, strerror(EINVAL), strerror(12345));
    struct passwd *pw = getpwuid(getuid());
    printf("user %s\n", pw ? pw->pw_name : "?");
    void *libm = dlopen("libm.so.6", RTLD_NOW);
    printf("libm %s\n", libm ? "loaded" : dlerror());
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0) pthread_join(t, NULL);
    if (LEAKY) lose_one();
    scrub_stack();
    return 0;
}
