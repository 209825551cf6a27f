/* SPDX-License-Identifier: MIT */
/* timeline_prog.c: a program whose check a tracer watches, for
 * tests/cli_timeline.sh.
 *
 * It prints "ready PID" and waits for a line on stdin, so that the tracer
 * attaches first. Then: a baseline; a worker that returns at once (joined);
 * a worker parked on a condition variable; a block kept and watched as
 * "session"; a check, which finds the parked worker and the watched block
 * (verdict 1); then it lets the worker go, joins it, prints "done" and
 * exits 0. */
#include <leakcheck.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "latch.h"

static struct latch release = LATCH_INIT;

static void *returns_at_once(void *arg) {
    return arg;
}

static void *parked(void *arg) {
    (void)arg;
    WAIT_FOR_LATCH(&release);
    return NULL;
}

static void *session;

int main(void) {
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;

    lc_baseline();
    pthread_t quick, slow;
    pthread_create(&quick, NULL, returns_at_once, NULL);
    pthread_join(quick, NULL);
    pthread_create(&slow, NULL, parked, NULL);
    session = malloc(48);
    lc_watch(session, "session");
    int verdict = lc_verify(LC_OPTIONS(.quiet = 1), NULL);
    open_latch(&release);
    pthread_join(slow, NULL);
    free(session);
    printf("done %d\n", verdict);
    return 0;
}
