/* SPDX-License-Identifier: MIT */
/* probe.h: the library's USDT probes, provider "leakcheck".
 *
 * A tracer (bpftrace, perf, SystemTap) attached to a process that has the
 * library sees what the library does, in order, with no build or code
 * change of the program; scenarios/timeline.bt prints it as a timeline:
 *
 *   baseline(seq)                      a baseline: blocks from seq on are new
 *   thread_start(tid, start_routine)   a thread the program started runs
 *   thread_end(tid)                    it returned or called pthread_exit
 *   check_begin(baseline_seq)          a check starts
 *   watch_hit(ptr, label)              a watched object is still live
 *   verdict(verdict, objects, bytes, threads)
 *                                      a check ended: 0 clean, 1 leak,
 *                                      -1 error, and what leaked
 *
 * A probe is one no-op instruction until a tracer attaches; the arguments
 * are values the caller has at hand, so an unattached probe costs nothing.
 * No semaphores: nothing here is expensive to compute. */
#ifndef LC_PROBE_H
#define LC_PROBE_H

#include <sys/sdt.h>

/* No parameter is named after a probe: a macro parameter "verdict" would
 * replace the probe's name too. */
#define LC_PROBE_BASELINE(s) DTRACE_PROBE1(leakcheck, baseline, s)
#define LC_PROBE_THREAD_START(tid, fn) DTRACE_PROBE2(leakcheck, thread_start, tid, fn)
#define LC_PROBE_THREAD_END(tid) DTRACE_PROBE1(leakcheck, thread_end, tid)
#define LC_PROBE_CHECK_BEGIN(s) DTRACE_PROBE1(leakcheck, check_begin, s)
#define LC_PROBE_WATCH_HIT(ptr, label) DTRACE_PROBE2(leakcheck, watch_hit, ptr, label)
#define LC_PROBE_VERDICT(v, objects, bytes, threads)                                               \
    DTRACE_PROBE4(leakcheck, verdict, v, objects, bytes, threads)

#endif
