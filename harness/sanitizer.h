/* SPDX-License-Identifier: MIT */
/* sanitizer.h: running under a sanitizer runtime (sanitizer.c): its
 * allocation hooks feed the live-block table, its code counts as the C
 * runtime's, and LeakSanitizer's verdict is the second engine of a check. */
#ifndef LC_SANITIZER_H
#define LC_SANITIZER_H

#include "buf.h"

/* When the program runs under AddressSanitizer, LeakSanitizer or
 * ThreadSanitizer, their runtime owns malloc; blocks are then tracked through
 * __sanitizer_install_malloc_and_free_hooks instead of the interposers, and
 * collection points ask LSan for its own leak check (sanitizer.c). */

/* Decide, once at start-up, where allocations are tracked from: the
 * interposers, or the sanitizer's hooks (installed here) when the
 * sanitizer's malloc is the one the program calls. */
void lc_sanitizer_init(void);
/* Whether allocations are tracked through a sanitizer's hooks. */
bool lc_sanitizer_hooked(void);
/* Why the heap is not tracked in this process (the program's malloc is
 * neither the library's interposer nor a sanitizer's that the library
 * hooked: an allocator linked into the program, or a sanitizer whose hook
 * slots were all taken), written into why; false when it is tracked. A
 * check cannot judge the heap then, and says so instead of passing. */
bool lc_heap_untracked(char *why, size_t len);
/* "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", or NULL. */
const char *lc_sanitizer_name(void);
/* Whether a new thread must call no allocator and no intercepted function
 * before its start routine runs: under TSan the routine the library's
 * pthread_create is handed is the runtime's own, which sets the thread's
 * state up for everything the thread does afterwards. */
bool lc_sanitizer_owns_thread_start(void);
/* Whether pc is in the sanitizer runtime's code (its interceptors above
 * all): such frames are judged like the C runtime's. */
bool lc_sanitizer_pc_in_runtime(uintptr_t pc);
/* The stack of the allocation the hook is running for, from the
 * program's caller of the allocation function outwards; *runtime_own is
 * set when the sanitizer runtime's internals made the call (a block the
 * runtime allocated through the C library for itself). */
int lc_sanitizer_unwind(uintptr_t *pcs, int max, bool *runtime_own);
/* LeakSanitizer's verdict at a collection point
 * (__lsan_do_recoverable_leak_check). Its search covers the whole process,
 * not only what was allocated since the baseline. */
typedef struct lc_lsan_result {
    bool available; /* the program runs under LSan or ASan */
    bool ran;       /* LSan searched (not disabled by detect_leaks=0) */
    bool leaks;     /* it found unreachable blocks */
} lc_lsan_result;
void lc_lsan_leak_check(lc_lsan_result *out);
/* Whether the program runs under LSan or ASan (its leak check exists). */
bool lc_lsan_available(void);
/* LSan's part of a check's report: a line of text, and the JSON member
 * "lsan"; nothing when the program does not run under LSan. */
void lc_lsan_text(struct lc_buf *text, const lc_lsan_result *r);
void lc_lsan_json(struct lc_buf *json, const lc_lsan_result *r);

/* Called by LeakSanitizer before each of its searches. */
LC_API int __lsan_is_turned_off(void);

#endif
