/* SPDX-License-Identifier: MIT */
/* dlopen_plugin.c: the plugin dlopen.c loads (built as dlopen_plugin.so).
 *
 * It keeps one block in its own global, plugin_cache, allocated in
 * plugin_alloc, so that a report can name a frame of the plugin; the
 * block lives in the plugin's data segment, which dlclose unmaps. */
#include <stdlib.h>
#include <string.h>

void *plugin_cache;

__attribute__((noinline)) static void *plugin_alloc(size_t n) {
    void *p = malloc(n);
    if (p) memset(p, 0x7e, n);
    return p;
}

int plugin_keep(size_t n) {
    plugin_cache = plugin_alloc(n);
    return plugin_cache ? 0 : -1;
}

void plugin_release(void) {
    free(plugin_cache);
    plugin_cache = NULL;
}
