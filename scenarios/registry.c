/* SPDX-License-Identifier: MIT */
/* registry.c: the table of scenarios and what each leaky variant must leave.
 *
 * The expectations are lower bounds the harness must reach after the leaky
 * variant. They count only what the scenario itself allocates, never the
 * toolkit's own bookkeeping, so that they hold whatever the allocator and the
 * toolkit's internals look like. The function each report must name is a
 * thread entry point or the function that allocates the retained memory. */
#include "scenarios.h"

#include <string.h>

#define KIB 1024LL
#define MIB (1024LL * 1024LL)

const lc_scenario lc_scenarios[] = {
    {
        .name = "map-chan-thread",
        .summary = "a dispatcher deletes tenant inboxes without closing them; workers wait forever",
        .leaky = sc_map_chan_thread_leaky,
        .fixed = sc_map_chan_thread_fixed,
        /* 4 workers, each with its context, key, 64 KiB usage table and
         * inbox, and the registry they all hold */
        .expect = {.threads = 4,
                   .wait = "chan receive",
                   .min_objects = 17,
                   .min_bytes = 4 * 64 * KIB,
                   .must_name = "tenant_worker_main"},
    },
    {
        .name = "chan-waitgroup-thread",
        .summary =
            "hedged replicas block sending unread replies; the janitor waits on them forever",
        .leaky = sc_chan_waitgroup_thread_leaky,
        .fixed = sc_chan_waitgroup_thread_fixed,
        /* 3 replicas in "chan send" and the janitor in "waitgroup wait"; the
         * replicas hold their calls and reply pages, the request stays in
         * flight */
        .expect = {.threads = 4,
                   .wait = NULL,
                   .min_objects = 7,
                   .min_bytes = 3 * 4 * KIB,
                   .must_name = "replica_main"},
    },
    {
        .name = "closure-captures-map",
        .summary =
            "watchers capture the whole quote cache; blocked on their feeds, they keep it alive",
        .leaky = sc_closure_captures_map_leaky,
        .fixed = sc_closure_captures_map_fixed,
        /* 4 watchers hold the cache, its 1 MiB snapshot and their contexts */
        .expect = {.threads = 4,
                   .wait = "chan receive",
                   .min_objects = 6,
                   .min_bytes = 1 * MIB,
                   .must_name = "watch_symbol_capturing_cache"},
    },
    {
        .name = "self-registration",
        .summary = "jobs register a control channel and never deregister; the registry only grows",
        .leaky = sc_self_registration_leaky,
        .fixed = sc_self_registration_fixed,
        /* no thread; 8 registry entries and 8 channels, reachable */
        .expect = {.threads = 0,
                   .wait = NULL,
                   .min_objects = 16,
                   .min_bytes = 8 * 64,
                   .must_name = "run_job"},
    },
    {
        .name = "delete-no-shrink",
        .summary = "a session table emptied after a login burst keeps its 512 KiB bucket array",
        .leaky = sc_delete_no_shrink_leaky,
        .fixed = sc_delete_no_shrink_fixed,
        /* no thread; the bucket array of 65 536 pointers */
        .expect = {.threads = 0,
                   .wait = NULL,
                   .min_objects = 1,
                   .min_bytes = 512 * KIB,
                   .must_name = "log_in"},
    },
    {
        .name = "cleanup-never-runs",
        .summary = "a pool deletes its arena key before its workers exit; no arena destructor runs",
        .leaky = sc_cleanup_never_runs_leaky,
        .fixed = sc_cleanup_never_runs_fixed,
        /* no thread; 4 unreachable 64 KiB arenas */
        .expect = {.threads = 0,
                   .wait = NULL,
                   .min_objects = 4,
                   .min_bytes = 4 * 64 * KIB,
                   .must_name = "pool_worker"},
    },
    {
        .name = "blocked-channel",
        .summary = "the log shipper quits; producers block forever on its full queue",
        .leaky = sc_blocked_channel_leaky,
        .fixed = sc_blocked_channel_fixed,
        /* 4 producers in "chan send", each holding a line, 4 more queued */
        .expect = {.threads = 4,
                   .wait = "chan send",
                   .min_objects = 8,
                   .min_bytes = 8 * 512,
                   .must_name = "log_producer"},
    },
};

const size_t lc_scenario_count = sizeof(lc_scenarios) / sizeof(lc_scenarios[0]);

const lc_scenario *lc_scenario_find(const char *name) {
    for (size_t i = 0; i < lc_scenario_count; i++) {
        if (name && strcmp(lc_scenarios[i].name, name) == 0) return &lc_scenarios[i];
    }
    return NULL;
}
