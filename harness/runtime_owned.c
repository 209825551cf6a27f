/* runtime_owned.c: which live blocks the C runtime owns.
 *
 * The principle, applied the same way to every block: a block belongs to the
 * C runtime when the runtime's own storage (the writable data and this
 * thread's TLS of libc, the dynamic linker, libgcc_s, libstdc++ ..., and this
 * thread's descriptor in the thread library) points
 * at it, directly or through other runtime blocks, or when the dynamic
 * linker or the thread library (inside pthread_create) allocated it for
 * itself. stdio buffers, locale and time-zone data, NSS state and the
 * linker's link maps are all found this way, with no list of functions to
 * excuse. Runtime roots count only pointers to the start of a block:
 * malloc's own bins point at chunk headers, which can fall inside the
 * previous block and must not excuse it. */
#include "core.h"
#include "heap.h"
#include "os.h"
#include "scan.h"

#include <dlfcn.h>
#include <pthread.h>

static void add_runtime_region(const lc_region *r, lc_module_kind kind, const char *module,
                               void *arg) {
    if (kind != LC_MODULE_RUNTIME) return;
    lc_root root = {.r = *r, .kind = LC_ROOT_GLOBAL, .thread = -1, .module = module};
    lc_graph_add_root(arg, &root);
}

/* The thread library's descriptor of the calling thread (struct pthread):
 * glibc keeps per-thread buffers there, not in TLS (strerror's and
 * strsignal's messages for unknown numbers, for one). Its size is published
 * for the thread debugger. */
static size_t thread_descriptor_size(void) {
    static size_t size;
    if (!size) {
        lc_self_enter();
        const uint32_t *published = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
        lc_self_leave();
        size = published && *published ? *published : sizeof(uintptr_t);
    }
    return size;
}

size_t lc_runtime_add_roots(lc_graph *g) {
    size_t from = g->nroots;
    lc_os_for_each_data_region(add_runtime_region, g);
    lc_os_for_each_tls_block(add_runtime_region, g);
    uintptr_t self = (uintptr_t)pthread_self();
    lc_region tcb = {self, self + thread_descriptor_size()};
    add_runtime_region(&tcb, LC_MODULE_RUNTIME, "libc (thread descriptor)", g);
    return from;
}

int lc_runtime_owned(lc_graph *g, size_t from, size_t to, uint8_t bit) {
    lc_graph_mark(g, from, to, bit, 0, true, false);
    lc_graph_mark_flagged(g, LC_BLOCK_RUNTIME, bit, 0);
    return g->incomplete ? -1 : 0;
}
