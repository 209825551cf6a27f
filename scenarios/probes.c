/* SPDX-License-Identifier: MIT */
/* probes.c: the semaphores of the toolkit's USDT probes (see probes.h).
 *
 * A tracer that attaches to a probe increments the probe's semaphore in the
 * traced process and decrements it when it detaches. The semaphores must be
 * two-byte variables in a section named ".probes", where tracers look for
 * them; their names are the provider and probe names joined by underscores. */
#include "probes.h"

#include "leakcheck_toolkit.h"

#define LC_SEMAPHORE(name)                                                                         \
    __extension__ unsigned short leakcheck_toolkit_##name##_semaphore                              \
        __attribute__((section(".probes")))

LC_SEMAPHORE(map_insert);
LC_SEMAPHORE(map_delete);
LC_SEMAPHORE(chan_make);
LC_SEMAPHORE(chan_close);
LC_SEMAPHORE(chan_send);
LC_SEMAPHORE(chan_recv);
LC_SEMAPHORE(chan_free);

/* The tracer writes the semaphores from outside the process: read them
 * through volatile so that a polling loop sees every change. */
static int enabled(const unsigned short *semaphore) {
    return *(const volatile unsigned short *)semaphore != 0;
}

int lc_toolkit_probes_enabled(int *total) {
    if (total) *total = LC_TOOLKIT_PROBES;
    return enabled(&leakcheck_toolkit_map_insert_semaphore) +
           enabled(&leakcheck_toolkit_map_delete_semaphore) +
           enabled(&leakcheck_toolkit_chan_make_semaphore) +
           enabled(&leakcheck_toolkit_chan_close_semaphore) +
           enabled(&leakcheck_toolkit_chan_send_semaphore) +
           enabled(&leakcheck_toolkit_chan_recv_semaphore) +
           enabled(&leakcheck_toolkit_chan_free_semaphore);
}
