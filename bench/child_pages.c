/* SPDX-License-Identifier: MIT */
/* child_pages.c: the pages each forked child touched, per writable mapping.
 *
 * Preloaded into a program that forks (a Check suite in fork mode), it
 * appends one line per writable mapping a child touched to CHILD_PAGES_OUT
 * when the child exits: the pid, the pages, the mapping (permissions, file
 * or "anon", size in hex). fork clears the accessed bits of the entries it
 * copies into the child, so smaps' "Referenced:" of a child counts what the
 * child itself read or wrote. Read-only file mappings are left out: the
 * kernel maps their pages sixteen at a time and marks all of them. It runs
 * as a destructor, so it sees the child up to the start of its exit, not
 * the other libraries' destructors. bench/README.md ("What a page costs a
 * forked test") has the command that sums the lines.
 *
 * Built alone: gcc -O2 -shared -fPIC -o child_pages.so bench/child_pages.c */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t first_pid;

__attribute__((constructor)) static void remember_first(void) {
    first_pid = getpid();
}

/* "rw-p libc.so.6 2000" from a line of /proc/self/smaps's headers. */
static void mapping_name(const char *line, char *out, size_t len) {
    unsigned long lo = 0, hi = 0;
    char perm[8] = "", path[512] = "";
    sscanf(line, "%lx-%lx %7s %*s %*s %*s %511s", &lo, &hi, perm, path);
    const char *base = strrchr(path, '/');
    snprintf(out, len, "%s %s %lx", perm, path[0] ? (base ? base + 1 : path) : "anon", hi - lo);
}

__attribute__((destructor)) static void report_pages(void) {
    if (getpid() == first_pid) return;
    const char *path = getenv("CHILD_PAGES_OUT");
    FILE *in = fopen("/proc/self/smaps", "r");
    FILE *out = fopen(path && *path ? path : "child_pages.txt", "a");
    char line[1024], name[600] = "";
    bool writable = false;
    while (in && out && fgets(line, sizeof line, in)) {
        unsigned long lo, hi;
        char dash;
        if (sscanf(line, "%lx%c%lx", &lo, &dash, &hi) == 3 && dash == '-') {
            mapping_name(line, name, sizeof name);
            writable = name[1] == 'w';
        } else if (writable && strncmp(line, "Referenced:", 11) == 0) {
            long kb = atol(line + 11);
            if (kb > 0) fprintf(out, "%d %ld %s\n", (int)getpid(), kb / 4, name);
        }
    }
    if (in) fclose(in);
    if (out) fclose(out);
}
