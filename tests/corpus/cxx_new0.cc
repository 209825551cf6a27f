/* SPDX-License-Identifier: MIT */
/* cxx_new0.cc: an empty C++ array of a type with a destructor.
 *
 * `new Entry[0]` allocates one word, the element count (0) that delete[]
 * reads, and returns the address just past it: the end of the 8-byte
 * block. The program's only pointer lies outside the block, yet holds it;
 * the scan makes the exception LeakSanitizer makes for this case. The
 * program makes such an array (make_empty) and drops its pointer.
 *
 * Expected: leak, 1 direct object of 8 B. With -DFIXED the global `empty`
 * keeps the array until exit: clean, the block reachable from `empty`.
 * valgrind calls the held array definitely lost (no heuristic of its covers
 * a pointer past the end), so the case is not in its comparison. */
#include <cstdio>

#include "corpus.h"

struct Entry {
    long key;
    ~Entry() { std::puts("never: the array is empty"); }
};

static Entry *empty;

__attribute__((noinline)) static Entry *make_empty(long n) {
    return new Entry[n];
}

int main(int argc, char **argv) {
    (void)argv;
    empty = make_empty(argc - 1); /* 0: the count is not a constant */
    if (!FIXED) empty = nullptr;
    scrub_stack();
    return 0;
}
