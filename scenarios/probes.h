/* SPDX-License-Identifier: MIT */
/* probes.h: the toolkit's USDT probes, provider "leakcheck_toolkit".
 *
 * The source material finds leaked map keys by tracing inserts and deletes
 * with eBPF; these probes give a tracer (scenarios/leaks.bt) the same view of
 * the toolkit's maps and channels:
 *
 *   map_insert(map, key)   a new key entered the map (not a replacement)
 *   map_delete(map, key)   a key left the map, by delete or by destroy
 *   chan_make(ch, cap)     a channel was made with that capacity
 *   chan_close(ch)         a channel was closed (the first close only)
 *   chan_send(ch)          a thread starts a send, or a select offers one;
 *                          it may block, so a send without its receive
 *                          points at a blocked sender
 *   chan_recv(ch)          the same for a receive
 *   chan_free(ch)          the last reference went and the channel was freed
 *
 * A probe is a single no-op instruction until a tracer attaches, so the
 * toolkit pays nothing when nobody traces. Each probe also has a semaphore
 * that a tracer raises while it is attached; the scenario runner reads them
 * to start a variant only once a tracer is listening. Private to the
 * toolkit: include it before any other inclusion of <sys/sdt.h>. */
#ifndef LC_PROBES_H
#define LC_PROBES_H

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

extern unsigned short leakcheck_toolkit_map_insert_semaphore;
extern unsigned short leakcheck_toolkit_map_delete_semaphore;
extern unsigned short leakcheck_toolkit_chan_make_semaphore;
extern unsigned short leakcheck_toolkit_chan_close_semaphore;
extern unsigned short leakcheck_toolkit_chan_send_semaphore;
extern unsigned short leakcheck_toolkit_chan_recv_semaphore;
extern unsigned short leakcheck_toolkit_chan_free_semaphore;

/* sdt.h sizes each argument with sizeof: a key stored as a flexible array
 * member must be passed as a pointer. */
#define LC_PROBE_MAP_INSERT(map, key)                                                              \
    DTRACE_PROBE2(leakcheck_toolkit, map_insert, map, (const char *)(key))
#define LC_PROBE_MAP_DELETE(map, key)                                                              \
    DTRACE_PROBE2(leakcheck_toolkit, map_delete, map, (const char *)(key))
#define LC_PROBE_CHAN_MAKE(ch, cap) DTRACE_PROBE2(leakcheck_toolkit, chan_make, ch, cap)
#define LC_PROBE_CHAN_CLOSE(ch) DTRACE_PROBE1(leakcheck_toolkit, chan_close, ch)
#define LC_PROBE_CHAN_SEND(ch) DTRACE_PROBE1(leakcheck_toolkit, chan_send, ch)
#define LC_PROBE_CHAN_RECV(ch) DTRACE_PROBE1(leakcheck_toolkit, chan_recv, ch)
#define LC_PROBE_CHAN_FREE(ch) DTRACE_PROBE1(leakcheck_toolkit, chan_free, ch)

/* The number of toolkit probes (lc_toolkit_probes_enabled, in
 * leakcheck_toolkit.h, counts the enabled ones). */
#define LC_TOOLKIT_PROBES 7

#endif
