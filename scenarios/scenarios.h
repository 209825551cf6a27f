/* SPDX-License-Identifier: MIT */
/* scenarios.h: the catalogue of leak reproductions.
 *
 * Each scenario is a small program in the shape of real code (a dispatcher,
 * a fan-out, a cache, a pool) that reproduces one pattern of PATTERNS.md
 * twice: a leaky variant that leaves threads blocked forever or memory live,
 * and a fixed variant that ends every thread it starts and frees every block
 * before it returns. A variant runs the scenario body only; the runner forks
 * a child per variant, takes the baseline, calls the variant, and verifies at
 * a zero budget. The child is discarded afterwards, which is what lets a leaky
 * variant leave threads blocked for good.
 *
 * They are declared with the public scenario API (leakcheck_scenario.h) and
 * run by the library's runner, as a user's own scenarios are; this table
 * keeps their order and their expectations in one place. */
#ifndef LC_SCENARIOS_H
#define LC_SCENARIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "leakcheck_scenario.h"

extern const lc_scenario lc_scenarios[];
extern const size_t lc_scenario_count;

/* The scenario called `name`, or NULL. */
const lc_scenario *lc_scenario_find(const char *name);

/* The variants, one pair per scenario file. */
void sc_map_chan_thread_leaky(void);
void sc_map_chan_thread_fixed(void);
void sc_chan_waitgroup_thread_leaky(void);
void sc_chan_waitgroup_thread_fixed(void);
void sc_closure_captures_map_leaky(void);
void sc_closure_captures_map_fixed(void);
void sc_self_registration_leaky(void);
void sc_self_registration_fixed(void);
void sc_delete_no_shrink_leaky(void);
void sc_delete_no_shrink_fixed(void);
void sc_cleanup_never_runs_leaky(void);
void sc_cleanup_never_runs_fixed(void);
void sc_blocked_channel_leaky(void);
void sc_blocked_channel_fixed(void);

#endif
