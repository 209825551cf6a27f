/* SPDX-License-Identifier: MIT */
/* fork_page_cost.c: what a page costs a process that forks, on this machine.
 *
 * A Check suite in fork mode forks once a test, so every page the library
 * makes its processes touch is paid once a test: a page the parent writes
 * after the fork (copy-on-write protected until then, a fault even when the
 * child has exited), a page the child writes (a copy), a page the child
 * only reads (under a hypervisor's shadow paging, a new page-table entry to
 * fill). This times a fork and wait of a child that exits at once, with
 * PAGES pages of private memory present in the parent, written by the
 * child, or written by the parent after each fork; the differences are the
 * per-page costs bench/README.md quotes ("What a page costs a forked test").
 *
 * Usage: fork_page_cost PAGES ROUNDS
 * Built alone: gcc -O2 -o fork_page_cost bench/fork_page_cost.c */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

enum { PRESENT, CHILD_READS, CHILD_WRITES, PARENT_WRITES, MODES };
static const char *const mode_names[MODES] = {"present only", "read by the child",
                                              "written by the child", "written by the parent"};

/* Microseconds a fork and wait take, pages touched as `mode` says. */
static double fork_us(volatile char *m, long pages, long rounds, int mode) {
    double t0 = now();
    for (long r = 0; r < rounds; r++) {
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            unsigned sum = 0;
            for (long i = 0; i < pages && (mode == CHILD_READS || mode == CHILD_WRITES); i++) {
                if (mode == CHILD_READS)
                    sum += (unsigned)m[i * 4096];
                else
                    m[i * 4096]++;
            }
            _exit((int)(sum & 1));
        }
        if (waitpid(pid, NULL, 0) != pid) return -1;
        for (long i = 0; i < pages && mode == PARENT_WRITES; i++)
            m[i * 4096]++;
    }
    return (now() - t0) / (double)rounds * 1e6;
}

int main(int argc, char **argv) {
    long pages = argc > 1 ? atol(argv[1]) : 0, rounds = argc > 2 ? atol(argv[2]) : 0;
    if (argc != 3 || pages < 1 || rounds < 1) {
        fprintf(stderr, "usage: fork_page_cost PAGES ROUNDS (both at least 1)\n");
        return 2;
    }
    volatile char *m = mmap(NULL, (size_t)pages * 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("fork_page_cost: mmap");
        return 1;
    }
    for (long i = 0; i < pages; i++)
        m[i * 4096] = 1;
    double base = fork_us(m, 0, rounds, PRESENT);
    printf("fork and wait, nothing touched: %.1f us\n", base);
    for (int mode = 0; mode < MODES; mode++) {
        double us = fork_us(m, pages, rounds, mode);
        if (us < 0 || base < 0) {
            perror("fork_page_cost: fork");
            return 1;
        }
        printf("%ld pages %-22s %8.1f us a fork, %+.2f us a page\n", pages, mode_names[mode], us,
               (us - base) / (double)pages);
    }
    return 0;
}
