/* SPDX-License-Identifier: MIT */
/* leakcheck_toolkit.h: Go's concurrency vocabulary for POSIX threads.
 *
 * The leak patterns this project reproduces are written in terms of Go's
 * channels, maps, wait groups and goroutines. This header gives them a C
 * spelling close enough that a Go program and its C reproduction read alike:
 *
 *   lc_chan       chan T, buffered or not, with close, select and timeouts
 *   lc_hmap       map[string]V, with an explicit policy for giving memory back
 *   lc_waitgroup  sync.WaitGroup
 *   lc_spawn      go f(x), as a named joinable thread
 *   lc_safemap    a map of channels whose delete closes the channel
 *
 * Every call that may block tells the leak harness what it waits on (see
 * lc_thread_wait_begin in leakcheck.h), so that a thread stuck forever is
 * reported as "chan receive" rather than as an anonymous futex wait. Maps
 * and channels also fire USDT probes (provider leakcheck_toolkit, listed in
 * probes.h), free while nobody traces, so that scenarios/leaks.bt can list
 * the keys a running program never deleted and the channels it never closed.
 *
 * Nothing here prints; errors come back as values. Link with
 * -lleakcheck_toolkit -lleakcheck (pkg-config leakcheck-toolkit). */
#ifndef LC_TOOLKIT_H
#define LC_TOOLKIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ time */

/* Timeouts are in milliseconds. A negative timeout waits forever; zero does
 * not wait at all. */
#define LC_WAIT_FOREVER (-1L)

/* The CLOCK_MONOTONIC instant `ms` milliseconds from now. */
struct timespec lc_deadline_after_ms(long ms);

/* Initialize a condition variable whose timed waits take deadlines from
 * lc_deadline_after_ms, so that setting the wall clock moves no timeout.
 * Returns 0 or an errno value. */
int lc_cond_init_monotonic(pthread_cond_t *cond);

/* Sleep for `ms` milliseconds, resuming after signal interruptions. */
void lc_sleep_ms(long ms);

/* --------------------------------------------------------------- channels */

/* A channel carries void * values between threads. A channel of capacity 0
 * is a rendezvous: a send completes only once a receiver has taken the value.
 * A NULL channel behaves as Go's nil channel: it is never ready, so a send
 * or receive on it blocks forever (or until its timeout). */
typedef struct lc_chan lc_chan;

typedef enum lc_chan_status {
    LC_CHAN_OK = 0,      /* the value was transferred */
    LC_CHAN_CLOSED,      /* send or close on a closed channel, or receive on a
                            closed and drained one */
    LC_CHAN_TIMEOUT,     /* the timeout expired first */
    LC_CHAN_WOULD_BLOCK, /* a try_ operation found the channel not ready */
} lc_chan_status;

/* A short lower-case name of a status, for messages. */
const char *lc_chan_status_name(lc_chan_status status);

/* A new channel holding one reference, or NULL when out of memory. */
lc_chan *lc_chan_new(size_t capacity);

/* Channels are reference-counted, standing in for Go's garbage collector:
 * every thread or structure that keeps a channel takes its own reference
 * and gives it back with lc_chan_free, and the last one frees the channel.
 * No thread may still be blocked on the channel at that point. */
lc_chan *lc_chan_retain(lc_chan *ch);
void lc_chan_free(lc_chan *ch);

/* Block until the value is handed over. LC_CHAN_OK, or LC_CHAN_CLOSED when
 * the channel is or becomes closed (the value is then not delivered). */
lc_chan_status lc_chan_send(lc_chan *ch, void *value);

/* Go's `v, ok := <-ch`: block until a value arrives and return true, or
 * return false once the channel is closed and its buffer drained. *value
 * (may be NULL) receives the value, or NULL when the result is false. */
bool lc_chan_recv(lc_chan *ch, void **value);

/* Without blocking: LC_CHAN_OK, LC_CHAN_CLOSED or LC_CHAN_WOULD_BLOCK. */
lc_chan_status lc_chan_try_send(lc_chan *ch, void *value);
lc_chan_status lc_chan_try_recv(lc_chan *ch, void **value);

/* Blocking for at most timeout_ms: LC_CHAN_OK, LC_CHAN_CLOSED or
 * LC_CHAN_TIMEOUT. A value is either delivered or not, never both. */
lc_chan_status lc_chan_send_timeout(lc_chan *ch, void *value, long timeout_ms);
lc_chan_status lc_chan_recv_timeout(lc_chan *ch, void **value, long timeout_ms);

/* Close the channel: later sends fail, receivers drain the buffer and then
 * get false, and every blocked sender and receiver wakes up. LC_CHAN_OK, or
 * LC_CHAN_CLOSED when it was already closed (or is NULL). */
lc_chan_status lc_chan_close(lc_chan *ch);

/* Values buffered now, and the capacity given at creation. */
size_t lc_chan_len(lc_chan *ch);
size_t lc_chan_cap(const lc_chan *ch);

/* ----------------------------------------------------------------- select */

typedef enum lc_select_dir { LC_SELECT_RECV, LC_SELECT_SEND } lc_select_dir;

/* One case of a select. For a send case, `value` is what to send; for a
 * receive case it is where the received value lands. After the case runs,
 * `ok` tells whether a value was transferred: false for a receive from a
 * closed and drained channel or a send to a closed channel. A case with a
 * NULL channel is never ready, which disables it as in Go. */
typedef struct lc_select_case {
    lc_chan *chan;
    lc_select_dir dir;
    void *value;
    bool ok;
} lc_select_case;

#define LC_SELECT_MAX_CASES 16

enum {
    LC_SELECT_TIMEOUT = -1, /* no case became ready within the timeout */
    LC_SELECT_DEFAULT = -2, /* timeout 0 and no case ready: Go's default */
    LC_SELECT_INVALID = -3, /* more than LC_SELECT_MAX_CASES cases */
};

/* Wait until one of the cases can proceed, run exactly that one and return
 * its index. When several are ready, one is picked at random so that none
 * starves. timeout_ms as for the channel calls: LC_WAIT_FOREVER, 0 for a
 * select with a default case, or a limit. A select with no case blocks
 * forever, as Go's `select {}`. */
int lc_select(lc_select_case *cases, size_t ncases, long timeout_ms);

/* --------------------------------------------------------------- hash map */

/* A map from strings (copied) to void * values. The table grows when the
 * load passes 3/4. It shrinks only when asked: by lc_hmap_shrink, or after
 * each delete that leaves the load below 1/8 when the map has the
 * LC_HMAP_AUTO_SHRINK flag. An empty map that has shrunk owns no memory, so a
 * map with static storage costs nothing while it is empty.
 *
 * The fields are public only so that maps can be embedded and statically
 * initialized; use the functions. Not thread-safe: callers lock. */
typedef struct lc_hmap_entry lc_hmap_entry;

typedef struct lc_hmap {
    lc_hmap_entry **buckets; /* NULL while the map owns no table */
    size_t capacity;         /* buckets: 0 or a power of two */
    size_t size;
    unsigned flags;
} lc_hmap;

#define LC_HMAP_AUTO_SHRINK 1u

#define LC_HMAP_INIT(flags_)                                                                       \
    { .buckets = NULL, .capacity = 0, .size = 0, .flags = (flags_) }

void lc_hmap_init(lc_hmap *m, unsigned flags);

/* Free every entry and the table; values are the caller's. The map is left
 * empty and usable. */
void lc_hmap_destroy(lc_hmap *m);

/* Insert or replace. Returns 0 when the key was new, 1 when it replaced a
 * value (stored in *previous when previous is not NULL), -1 when out of
 * memory (the map is then unchanged). */
int lc_hmap_put(lc_hmap *m, const char *key, void *value, void **previous);

/* True when the key is present; its value goes to *value (may be NULL). */
bool lc_hmap_lookup(const lc_hmap *m, const char *key, void **value);

/* Remove the key. True when it was present; its value goes to *value. */
bool lc_hmap_delete(lc_hmap *m, const char *key, void **value);

size_t lc_hmap_size(const lc_hmap *m);
size_t lc_hmap_capacity(const lc_hmap *m);
size_t lc_hmap_bucket_bytes(const lc_hmap *m);

/* Resize the table to fit the current entries (no table at all when empty).
 * Returns 0, or -1 when out of memory (the map is then unchanged). */
int lc_hmap_shrink(lc_hmap *m);

/* Iteration in no particular order. The map must not change meanwhile. */
typedef struct lc_hmap_iter {
    const lc_hmap *map;
    size_t bucket;
    const lc_hmap_entry *next;
} lc_hmap_iter;

void lc_hmap_iter_init(lc_hmap_iter *it, const lc_hmap *m);
bool lc_hmap_iter_next(lc_hmap_iter *it, const char **key, void **value);

/* ------------------------------------------------------------- wait group */

/* Go's sync.WaitGroup: a counter that wait blocks on until it is zero. */
typedef struct lc_waitgroup {
    pthread_mutex_t lock;
    pthread_cond_t zero;
    long counter;
} lc_waitgroup;

/* Returns 0 or an errno value. */
int lc_waitgroup_init(lc_waitgroup *wg);
void lc_waitgroup_destroy(lc_waitgroup *wg);

/* Add delta (which may be negative) to the counter. Returns 0, or -1 when the
 * counter would drop below zero (Go panics; the counter is left alone). */
int lc_waitgroup_add(lc_waitgroup *wg, long delta);
int lc_waitgroup_done(lc_waitgroup *wg);

void lc_waitgroup_wait(lc_waitgroup *wg);

/* True when the counter reached zero within timeout_ms. */
bool lc_waitgroup_wait_timeout(lc_waitgroup *wg, long timeout_ms);

/* ------------------------------------------------------------------ spawn */

/* Start fn(arg) on a new joinable thread named `name` (cut to the 15
 * characters the kernel keeps; NULL leaves the inherited name), so that
 * thread dumps and leak reports say which worker is which. Returns 0 or an
 * errno value from pthread_create. */
int lc_spawn(pthread_t *out, const char *name, void *(*fn)(void *), void *arg);

/* --------------------------------------------------------------- safe map */

/* A thread-safe map from keys to channels whose delete also closes the
 * channel: the fix for a registry whose entries outlive the workers that wait
 * on them. The map holds its own reference to every channel it stores. */
typedef struct lc_safemap {
    pthread_mutex_t lock;
    lc_hmap channels;
} lc_safemap;

#define LC_SAFEMAP_INIT                                                                            \
    { .lock = PTHREAD_MUTEX_INITIALIZER, .channels = LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK) }

void lc_safemap_init(lc_safemap *m);

/* Close and release every channel still stored, then free the map. */
void lc_safemap_destroy(lc_safemap *m);

/* Store ch under key, taking a reference. A channel it replaces is closed
 * and released. Returns 0, or -1 when out of memory. */
int lc_safemap_put(lc_safemap *m, const char *key, lc_chan *ch);

/* The channel under key with a new reference for the caller (who frees it),
 * or NULL when the key is absent. */
lc_chan *lc_safemap_get(lc_safemap *m, const char *key);

/* Remove key, close its channel and release the map's reference, so that
 * the workers receiving from it see the close and end. True when the key was
 * present. */
bool lc_safemap_delete(lc_safemap *m, const char *key);

/* Send value to the channel under key, blocking as lc_chan_send but without
 * holding the map's lock. LC_CHAN_CLOSED when the key is absent. */
lc_chan_status lc_safemap_send(lc_safemap *m, const char *key, void *value);

size_t lc_safemap_size(lc_safemap *m);

/* ---------------------------------------------------------------- probes */

/* How many of the toolkit's USDT probes a tracer has enabled now, and in
 * *total (when not NULL) how many there are: a program, or the scenario
 * runner, can wait for a tracer to attach before it starts. */
int lc_toolkit_probes_enabled(int *total);

#ifdef __cplusplus
}
#endif
#endif
