/* SPDX-License-Identifier: MIT */
/* cxx_new.cc: blocks from C++ `new` and `new[]`, next to the memory the C++
 * runtime keeps for itself.
 *
 * Expected: leak. A Widget (32 B, from make_widget) is lost with the
 * 100-byte buffer it alone points to, and an array of ten ints (40 B, from
 * make_counts) is lost: direct 2 objects / 72 B, indirect 1 object / 100 B.
 * The program also throws and catches an exception and writes to std::cout;
 * what libstdc++ keeps for that (its emergency exception pool, stream
 * state) is the runtime's and never counts. With -DFIXED the program
 * deletes its objects: clean even with --strict. */
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "corpus.h"

struct Widget {
    long id;
    char *buf;
    long pad[2];
};

__attribute__((noinline)) static Widget *make_widget() {
    Widget *w = new Widget();
    w->buf = new char[100];
    std::memset(w->buf, 0xab, 100);
    return w;
}

__attribute__((noinline)) static int *make_counts() {
    int *c = new int[10];
    for (int i = 0; i < 10; i++)
        c[i] = i;
    return c;
}

int main() {
    Widget *w = make_widget();
    int *c = make_counts();
    try {
        throw std::runtime_error("a failure the program handles");
    } catch (const std::exception &e) {
        std::cout << "caught: " << e.what() << std::endl;
    }
    if (FIXED) {
        delete[] w->buf;
        delete w;
        delete[] c;
    }
    w = nullptr;
    c = nullptr;
    scrub_stack();
    return 0;
}
