/* SPDX-License-Identifier: MIT */
/* startup_neighbour.c: a block held only from a mapping the kernel merged
 * with the dynamic linker's start-up mapping.
 *
 * The main thread's control block and static TLS, and the link maps of the
 * objects loaded before main, lie in anonymous memory the dynamic linker
 * mapped at start-up: the runtime's, left out of the scan. An anonymous
 * mapping the program makes right beside it is merged with it by the
 * kernel into one mapping, and the program's part must stay a root: cc1
 * (`gcc -O1 hello.c`) keeps its line maps in garbage-collected pages that
 * landed there, and a scan that dropped the merged mapping whole called
 * them lost.
 *
 * The page beside the start-up mapping is free when the program starts,
 * and the library's own mappings would take it at its start-up; so a
 * pre-init function (it runs before any library's constructor) reserves it
 * with no access, which the kernel keeps apart, and main maps it for use,
 * keeping there the only pointer to a 72-byte block (from make_entry). The
 * program exits with status 3, and no check, if the page was not free or
 * the kernel did not merge it (it does not when the start-up mapping was
 * itself made of moved or merged pieces, about one run in seven on one
 * test machine), since the case would not be the one described; it says
 * "run again" on stderr, and the corpus runs it again (the layout changes
 * from run to run).
 *
 * Expected: leak, 1 direct object of 72 B: the pointer is dropped before
 * exit. With -DFIXED it stays: clean, the block reachable from the mapping.
 * Not compared with valgrind: its address-space manager lays out the
 * program's memory itself, and the page is not free there (status 3). */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "corpus.h"

#define PAGE 4096

static uintptr_t beside; /* the reserved page */

/* The start and end of the mapping that holds addr, read from /proc with
 * system calls alone (no library is initialised yet). */
static int mapping_of(uintptr_t addr, uintptr_t *start, uintptr_t *end) {
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t len = 0;
    for (ssize_t n; len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0;)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    for (char *line = buf; *line;) {
        char *p = line;
        uintptr_t s = strtoul(p, &p, 16), e = strtoul(p + 1, &p, 16);
        if (s <= addr && addr < e) {
            *start = s;
            *end = e;
            return 1;
        }
        char *nl = strchr(line, '\n');
        if (!nl) break;
        line = nl + 1;
    }
    return 0;
}

static void reserve_beside_start_up(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    uintptr_t s, e;
    if (!mapping_of((uintptr_t)pthread_self(), &s, &e)) return;
    void *p = mmap((void *)(s - PAGE), PAGE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == (void *)(s - PAGE))
        beside = s - PAGE;
    else if (p != MAP_FAILED)
        munmap(p, PAGE);
}

typedef void preinit_fn(int argc, char **argv, char **envp);
__attribute__((section(".preinit_array"), used)) static preinit_fn *const preinit =
    reserve_beside_start_up;

__attribute__((noinline)) static void *make_entry(void) {
    void *p = malloc(72);
    if (p) memset(p, 0x5a, 72);
    return p;
}

static int layout_not_reproduced(void) {
    static const char msg[] =
        "startup_neighbour: the page did not merge with the start-up mapping: "
        "run again\n";
    if (write(2, msg, sizeof msg - 1) < 0) return 3;
    return 3;
}

int main(void) {
    uintptr_t s, e;
    if (!beside || munmap((void *)beside, PAGE) != 0) return layout_not_reproduced();
    void **page = mmap((void *)beside, PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != (void **)beside || !mapping_of((uintptr_t)pthread_self(), &s, &e) || s > beside)
        return layout_not_reproduced();
    page[3] = make_entry();
    if (!FIXED) page[3] = NULL;
    scrub_stack();
    return 0;
}
