/* SPDX-License-Identifier: MIT */
/* lost_indirect.c: a lost tree; its inner blocks are lost only because
 * their parent is.
 *
 * Expected: leak. The root (64 B) is direct; its two children (32 B each)
 * and their two children (16 B each) are indirect (96 B): they are pointed
 * to only from lost blocks. 5 unreachable blocks, 160 B. With -DFIXED the
 * program frees the tree: clean. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

struct leaf {
    char data[16];
};

struct branch {
    struct leaf *leaf;
    char pad[24];
};

struct root {
    struct branch *left, *right;
    char pad[48];
};

__attribute__((noinline)) static void *zeroed(size_t n) {
    void *p = malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

__attribute__((noinline)) static struct branch *make_branch(void) {
    struct branch *b = zeroed(sizeof *b);
    if (b) b->leaf = zeroed(sizeof *b->leaf);
    return b;
}

__attribute__((noinline)) static struct root *make_tree(void) {
    struct root *t = zeroed(sizeof *t);
    if (!t) return NULL;
    t->left = make_branch();
    t->right = make_branch();
    return t;
}

int main(void) {
    struct root *t = make_tree();
    if (!t || !t->left || !t->right || !t->left->leaf || !t->right->leaf) return 1;
    if (FIXED) {
        free(t->left->leaf);
        free(t->right->leaf);
        free(t->left);
        free(t->right);
        free(t);
    }
    t = NULL;
    scrub_stack();
    return 0;
}
