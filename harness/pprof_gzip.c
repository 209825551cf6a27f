/* SPDX-License-Identifier: MIT */
/* pprof_gzip.c: gzip for the profiles the library writes (zlib).
 *
 * zlib is loaded when a profile is first compressed (dlopen), not linked:
 * a process that writes no profile, nearly every one, is spared its five
 * mappings (which every fork copies) and its finalizer at every exit (three
 * page faults in each forked Check test). Threads that write their first
 * profiles at once may each load it (dlopen counts, and each finds the
 * same functions); no lock is held across the load, so a fork in the
 * middle of one leaves the child nothing held. RTLD_LOCAL keeps zlib's
 * names out of the program's lookups, RTLD_NOW binds them here. libdw,
 * loaded for reports, needs zlib too: symbolize_dw.c loads it first, by
 * name, for the reason given there. */
#include "core.h"
#include "pprof.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZLIB_FUNCTIONS(X) X(deflateInit2_) X(deflateBound) X(deflate) X(deflateEnd) X(zError)
#define ZLIB_FIELD(name) _Atomic(__typeof__(&name)) name;
static struct { ZLIB_FUNCTIONS(ZLIB_FIELD) } zlib;
#define Z(name) atomic_load_explicit(&zlib.name, memory_order_relaxed)
static _Atomic int zlib_state; /* 0: not tried, 1: loaded, -1: could not be */

static bool zlib_load(char *err, size_t errlen) {
    lc_self_enter(); /* the link map is the library's, not the program's */
    void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    lc_self_leave();
    if (!h) {
        const char *e = dlerror();
        lc_pprof_set_error(err, errlen, "gzip: zlib could not be loaded: %s",
                           e ? e : "dlopen failed");
        return false;
    }
#define ZLIB_LOOKUP(name)                                                                          \
    {                                                                                              \
        void *f = dlsym(h, #name);                                                                 \
        if (!f) {                                                                                  \
            lc_pprof_set_error(err, errlen, "gzip: zlib could not be loaded: libz.so.1 has no %s", \
                               #name);                                                             \
            return false;                                                                          \
        }                                                                                          \
        atomic_store_explicit(&zlib.name, (__typeof__(&name))f, memory_order_relaxed);             \
    }
    ZLIB_FUNCTIONS(ZLIB_LOOKUP)
#undef ZLIB_LOOKUP
    return true;
}

/* Whether zlib is there; the first call loads it. */
static bool zlib_ready(char *err, size_t errlen) {
    int state = atomic_load_explicit(&zlib_state, memory_order_acquire);
    if (state == 0) {
        state = zlib_load(err, errlen) ? 1 : -1;
        atomic_store_explicit(&zlib_state, state, memory_order_release);
    } else if (state < 0) {
        lc_pprof_set_error(err, errlen, "gzip: zlib could not be loaded");
    }
    return state > 0;
}

int lc_pprof_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen) {
    *out = NULL;
    *outlen = 0;
    if (!zlib_ready(err, errlen)) return -1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* Level 1, as Go's runtime/pprof: profiles are written while a program
     * runs, and a profile compresses well at any level. windowBits 15 + 16
     * asks for the gzip framing. */
    int rc = Z(deflateInit2_)(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                              ZLIB_VERSION, (int)sizeof(z_stream));
    if (rc != Z_OK) {
        lc_pprof_set_error(err, errlen, "gzip: cannot start compressing: %s",
                           rc == Z_MEM_ERROR ? "out of memory" : Z(zError)(rc));
        return -1;
    }
    size_t cap = Z(deflateBound)(&zs, len) + 64, produced = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        Z(deflateEnd)(&zs);
        lc_pprof_set_error(err, errlen, "gzip: out of memory");
        return -1;
    }
    const uint8_t *in = data;
    size_t left = len;
    do {
        /* zlib counts in uInt; feed large inputs in pieces. */
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        zs.next_in = (Bytef *)in;
        zs.avail_in = chunk;
        int flush = chunk == left ? Z_FINISH : Z_NO_FLUSH;
        do {
            if (produced == cap) {
                size_t grown_cap = cap * 2;
                uint8_t *grown = realloc(buf, grown_cap);
                if (!grown) {
                    free(buf);
                    Z(deflateEnd)(&zs);
                    lc_pprof_set_error(err, errlen, "gzip: out of memory");
                    return -1;
                }
                buf = grown;
                cap = grown_cap;
            }
            size_t room = cap - produced;
            zs.next_out = buf + produced;
            zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
            uInt before = zs.avail_out;
            rc = Z(deflate)(&zs, flush);
            produced += before - zs.avail_out;
            if (rc == Z_STREAM_ERROR) {
                free(buf);
                Z(deflateEnd)(&zs);
                lc_pprof_set_error(err, errlen, "gzip: compression failed");
                return -1;
            }
        } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
        in += chunk;
        left -= chunk;
    } while (left > 0);
    Z(deflateEnd)(&zs);
    *out = buf;
    *outlen = produced;
    return 0;
}
