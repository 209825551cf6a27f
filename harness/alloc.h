/* SPDX-License-Identifier: MIT */
/* alloc.h: the interposed allocation family and the tracking it feeds
 * (alloc_hooks.c). The interposers are the only way blocks enter the
 * live-block table, except under a sanitizer, whose hooks feed it through
 * lc_alloc_hooked. */
#ifndef LC_ALLOC_H
#define LC_ALLOC_H

#include "heap.h"

#include <stdlib.h>

/* Per-thread flag: allocations made while set are owned by the C runtime
 * (the thread library's bookkeeping inside pthread_create). */
extern LC_TLS int lc_runtime_alloc_depth;

/* The hook path of the live-block table, for an allocator whose hooks run
 * inside its malloc (sanitizer.c): `unwind` captures the stack of the
 * allocation the hook runs for and says whether the allocator's runtime
 * made it for itself. */
typedef int (*lc_hook_unwind_fn)(uintptr_t *pcs, int max, bool *runtime_own);
void lc_alloc_hooked(void *p, size_t size, lc_hook_unwind_fn unwind);
void lc_free_hooked(void *p);
/* Whether `malloc` resolves to the library's own interposer. */
bool lc_alloc_interposers_active(void);

/* The interposed names stay visible to the dynamic linker: exported from
 * the library, they replace the C library's. */
LC_API void *malloc(size_t size);
LC_API void *calloc(size_t n, size_t size);
LC_API void *realloc(void *old, size_t size);
LC_API void *reallocarray(void *old, size_t n, size_t size);
LC_API void free(void *p);
LC_API int posix_memalign(void **out, size_t align, size_t size);
LC_API void *aligned_alloc(size_t align, size_t size);
LC_API void *memalign(size_t align, size_t size);
LC_API void *valloc(size_t size);
LC_API void *pvalloc(size_t size);
LC_API size_t malloc_usable_size(void *p);

#endif
