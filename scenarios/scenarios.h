/* scenarios.h: the catalogue of leak reproductions.
 *
 * Each scenario is a small program in the shape of real code (a dispatcher,
 * a fan-out, a cache, a pool) that reproduces one pattern of PATTERNS.md
 * twice: a leaky variant that leaves threads blocked forever or memory live,
 * and a fixed variant that ends every thread it starts and frees every block
 * before it returns. A variant runs the scenario body only; the runner forks
 * a child per variant, takes the baseline, calls the variant, and verifies at
 * a zero budget. The child is discarded afterwards, which is what lets a leaky
 * variant leave threads blocked for good. */
#ifndef LC_SCENARIOS_H
#define LC_SCENARIOS_H

#include <stddef.h>

/* What a check after the leaky variant must find. */
typedef struct lc_scenario_expect {
    int threads;           /* leaked threads expected in the leaky variant */
    const char *wait;      /* their wait state, e.g. "chan receive" (NULL: any) */
    long long min_objects; /* at least this many leaked objects */
    long long min_bytes;   /* at least this many leaked bytes */
    const char *must_name; /* a function of the scenario that the leak report must name */
} lc_scenario_expect;

typedef struct lc_scenario {
    const char *name;    /* "map-chan-thread", ... kebab-case */
    const char *summary; /* one line */
    void (*leaky)(void);
    void (*fixed)(void);
    lc_scenario_expect expect;
} lc_scenario;

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
