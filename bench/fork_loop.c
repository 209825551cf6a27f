/* SPDX-License-Identifier: MIT */
/* fork_loop.c: what one fork costs a process, measured by hand.
 *
 * Not part of run.sh: it isolates the part of a forked Check test that is
 * the fork itself (bench/README.md, "The per-test cost in a Check suite").
 * The parent forks N children one after the other; each allocates and frees
 * a block and exits at once. It prints the CPU time per child (user + system,
 * RUSAGE_CHILDREN), the parent's CPU time per fork, and the minor page
 * faults per child. Run it plain and with the library preloaded:
 *
 *   gcc -O2 -o build/bench/fork_loop bench/fork_loop.c
 *   build/bench/fork_loop 1000
 *   LD_PRELOAD=build/libleakcheck.so LEAKCHECK_QUIET=1 build/bench/fork_loop 1000 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double cpu_ms(const struct rusage *u) {
    return (double)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) * 1e3 +
           (double)(u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n <= 0) {
        fprintf(stderr, "usage: fork_loop [CHILDREN > 0]\n");
        return 2;
    }
    free(malloc(100)); /* the parent's heap exists before the first fork */
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            free(malloc(64));
            _exit(0);
        }
        if (waitpid(pid, NULL, 0) != pid) {
            perror("waitpid");
            return 1;
        }
    }
    struct rusage children, self;
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_SELF, &self);
    printf("child %.3f ms  parent %.3f ms  faults/child %.1f\n", cpu_ms(&children) / n,
           cpu_ms(&self) / n, (double)children.ru_minflt / n);
    return 0;
}
