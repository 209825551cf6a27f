/* SPDX-License-Identifier: MIT */
/* fork.c: a program that forks; each process is checked on its own.
 *
 * The argument says who loses a block after the fork: "both" (the child
 * loses 111 B, the parent 222 B), "child" or "none". The parent prints
 * "parent PID child PID" once the child has exited.
 * Expected: one report per process, each naming its pid and holding only
 * that process's block: with "both", the child's report a leak of 1 object /
 * 111 B, the parent's a leak of 1 object / 222 B, and the run's status the
 * parent's (23); with "child", the child's report a leak and the parent's
 * clean, status 0; with "none", both clean, status 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus.h"

__attribute__((noinline)) static void lose(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 0xab, n);
}

int main(int argc, char **argv) {
    const char *who = argc > 1 ? argv[1] : "both";
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        if (strcmp(who, "none") != 0) lose(111);
        scrub_stack();
        exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child) return 1;
    printf("parent %d child %d\n", (int)getpid(), (int)child);
    if (strcmp(who, "both") == 0) lose(222);
    scrub_stack();
    return 0;
}
