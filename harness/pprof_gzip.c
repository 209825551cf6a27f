/* SPDX-License-Identifier: MIT */
/* pprof_gzip.c: gzip for the profiles the library writes (zlib, linked).
 *
 * Loading zlib only when a profile is first compressed would spare every
 * process that writes none its mappings (five fewer for each fork to copy)
 * and its finalizer at each exit, but then a later dlopen of libdw (a
 * report's symbols) loads zlib too, and memcheck reports 40 bytes of that
 * load definitely lost (the dynamic linker's _dl_map_object_deps), which
 * fails the valgrind pass of every test that symbolizes. So it stays
 * linked until that allocation is understood. */
#include "pprof.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int lc_pprof_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen) {
    *out = NULL;
    *outlen = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* Level 1, as Go's runtime/pprof: profiles are written while a program
     * runs, and a profile compresses well at any level. windowBits 15 + 16
     * asks for the gzip framing. */
    int rc = deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        lc_pprof_set_error(err, errlen, "gzip: cannot start compressing: %s",
                           rc == Z_MEM_ERROR ? "out of memory" : zError(rc));
        return -1;
    }
    size_t cap = deflateBound(&zs, len) + 64, produced = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
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
                    deflateEnd(&zs);
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
            rc = deflate(&zs, flush);
            produced += before - zs.avail_out;
            if (rc == Z_STREAM_ERROR) {
                free(buf);
                deflateEnd(&zs);
                lc_pprof_set_error(err, errlen, "gzip: compression failed");
                return -1;
            }
        } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
        in += chunk;
        left -= chunk;
    } while (left > 0);
    deflateEnd(&zs);
    *out = buf;
    *outlen = produced;
    return 0;
}
