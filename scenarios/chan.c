/* SPDX-License-Identifier: MIT */
/* chan.c: Go channels and select for POSIX threads.
 *
 * A channel is a ring buffer of void * values plus two queues of blocked
 * threads (senders and receivers), all under the channel's mutex. Every
 * operation, a plain send or receive as well as a select over many channels,
 * is one algorithm: lock the channels involved in address order, run one
 * case that can proceed, and otherwise queue one waiter per case and sleep
 * on a parker of the calling thread's own.
 *
 * The thread that completes a queued operation must first claim the waiter's
 * parker, under the parker's lock. Exactly one claim per parker succeeds, so a
 * select runs exactly one case, a timeout cannot race with a transfer, and no
 * value is lost: a value changes hands only together with a successful claim.
 * Lock order is always channels (by address), then a parker.
 *
 * Making, closing and freeing a channel and starting a send or a receive
 * fire the toolkit's USDT probes (probes.h). */
#include "leakcheck_toolkit.h"

#include "leakcheck.h"
#include "probes.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

enum { NOT_FIRED = -1, TIMED_OUT = -2 };

/* Where a blocked thread sleeps. `fired` is NOT_FIRED until a case of the
 * operation completes (its index) or the timeout wins (TIMED_OUT). */
typedef struct parker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int fired;
} parker;

/* One case of a blocked operation, queued on that case's channel. It lives
 * on the blocked thread's stack and is written by other threads only under
 * the channel's lock. */
typedef struct waiter {
    struct waiter *prev, *next;
    parker *parker;
    int case_index;
    void *value; /* send: the value offered; receive: the value delivered */
    bool ok;
    bool queued;
} waiter;

typedef struct waitq {
    waiter *head, *tail;
} waitq;

struct lc_chan {
    pthread_mutex_t lock;
    atomic_size_t refs;
    bool closed;
    size_t capacity, count, head;
    waitq receivers, senders;
    void *slots[];
};

const char *lc_chan_status_name(lc_chan_status status) {
    switch (status) {
    case LC_CHAN_OK:
        return "ok";
    case LC_CHAN_CLOSED:
        return "closed";
    case LC_CHAN_TIMEOUT:
        return "timeout";
    case LC_CHAN_WOULD_BLOCK:
        return "would block";
    }
    return "unknown";
}

/* ---------------------------------------------------------- life cycle */

lc_chan *lc_chan_new(size_t capacity) {
    if (capacity > (SIZE_MAX - sizeof(lc_chan)) / sizeof(void *)) return NULL;
    lc_chan *ch = malloc(sizeof(*ch) + capacity * sizeof(void *));
    if (!ch) return NULL;
    if (pthread_mutex_init(&ch->lock, NULL) != 0) {
        free(ch);
        return NULL;
    }
    atomic_init(&ch->refs, 1);
    ch->closed = false;
    ch->capacity = capacity;
    ch->count = 0;
    ch->head = 0;
    ch->receivers = (waitq){NULL, NULL};
    ch->senders = (waitq){NULL, NULL};
    LC_PROBE_CHAN_MAKE(ch, capacity);
    return ch;
}

lc_chan *lc_chan_retain(lc_chan *ch) {
    if (ch) atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
    return ch;
}

void lc_chan_free(lc_chan *ch) {
    if (!ch || atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1) return;
    LC_PROBE_CHAN_FREE(ch);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
}

size_t lc_chan_len(lc_chan *ch) {
    if (!ch) return 0;
    pthread_mutex_lock(&ch->lock);
    size_t n = ch->count;
    pthread_mutex_unlock(&ch->lock);
    return n;
}

size_t lc_chan_cap(const lc_chan *ch) {
    return ch ? ch->capacity : 0;
}

/* -------------------------------------------------------- buffer, queues */

static void buffer_push(lc_chan *ch, void *value) {
    ch->slots[(ch->head + ch->count) % ch->capacity] = value;
    ch->count++;
}

static void *buffer_pop(lc_chan *ch) {
    void *value = ch->slots[ch->head];
    ch->head = (ch->head + 1) % ch->capacity;
    ch->count--;
    return value;
}

static void waitq_push(waitq *q, waiter *w) {
    w->prev = q->tail;
    w->next = NULL;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    w->queued = true;
}

static void waitq_remove(waitq *q, waiter *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->queued = false;
}

static waiter *waitq_pop(waitq *q) {
    waiter *w = q->head;
    if (w) waitq_remove(q, w);
    return w;
}

static waitq *queue_of(lc_chan *ch, lc_select_dir dir) {
    return dir == LC_SELECT_SEND ? &ch->senders : &ch->receivers;
}

/* Complete the operation `w` waits for, unless another case of its select
 * or its timeout got there first. Called with w's channel locked; the caller
 * moves the value only after a successful claim, and the woken thread reads
 * it only after taking that channel's lock again. */
static bool claim(waiter *w, bool ok) {
    parker *p = w->parker;
    pthread_mutex_lock(&p->lock);
    bool won = p->fired == NOT_FIRED;
    if (won) {
        p->fired = w->case_index;
        w->ok = ok;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    return won;
}

/* ------------------------------------------------ one case, channel locked */

static bool try_send_locked(lc_chan *ch, lc_select_case *c) {
    if (ch->closed) {
        c->ok = false;
        return true;
    }
    for (waiter *w; (w = waitq_pop(&ch->receivers));) {
        if (claim(w, true)) {
            w->value = c->value;
            c->ok = true;
            return true;
        }
    }
    if (ch->count < ch->capacity) {
        buffer_push(ch, c->value);
        c->ok = true;
        return true;
    }
    return false;
}

/* A sender waits only while the buffer is full, so taking its value means
 * taking the oldest buffered value and queueing the sender's behind the rest:
 * FIFO order holds across the buffer and the blocked senders. */
static bool try_recv_locked(lc_chan *ch, lc_select_case *c) {
    for (waiter *w; (w = waitq_pop(&ch->senders));) {
        if (!claim(w, true)) continue;
        if (ch->capacity == 0) {
            c->value = w->value;
        } else {
            c->value = buffer_pop(ch);
            buffer_push(ch, w->value);
        }
        c->ok = true;
        return true;
    }
    if (ch->count > 0) {
        c->value = buffer_pop(ch);
        c->ok = true;
        return true;
    }
    if (ch->closed) {
        c->value = NULL;
        c->ok = false;
        return true;
    }
    return false;
}

/* -------------------------------------------------------------- locking */

/* The distinct channels of the cases, sorted by address: locking them in
 * this order lets any number of selects share channels without deadlock. */
static size_t lock_order(const lc_select_case *cases, size_t ncases, lc_chan **order) {
    size_t n = 0;
    for (size_t i = 0; i < ncases; i++) {
        lc_chan *ch = cases[i].chan;
        if (!ch) continue;
        size_t at = n;
        while (at > 0 && (uintptr_t)order[at - 1] > (uintptr_t)ch)
            at--;
        if (at > 0 && order[at - 1] == ch) continue;
        for (size_t j = n; j > at; j--)
            order[j] = order[j - 1];
        order[at] = ch;
        n++;
    }
    return n;
}

static void lock_all(lc_chan **order, size_t n) {
    for (size_t i = 0; i < n; i++)
        pthread_mutex_lock(&order[i]->lock);
}

static void unlock_all(lc_chan **order, size_t n) {
    for (size_t i = n; i > 0; i--)
        pthread_mutex_unlock(&order[i - 1]->lock);
}

/* ------------------------------------------------------------- select */

/* A per-thread xorshift generator: enough to vary which ready case wins. */
static uint32_t next_random(void) {
    static _Thread_local uint32_t state;
    if (state == 0) state = (uint32_t)(uintptr_t)&state | 1u;
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static int poll_cases(lc_select_case *cases, size_t ncases) {
    size_t start = ncases > 1 ? next_random() % ncases : 0;
    for (size_t k = 0; k < ncases; k++) {
        size_t i = (start + k) % ncases;
        lc_select_case *c = &cases[i];
        if (!c->chan) continue;
        bool done =
            c->dir == LC_SELECT_SEND ? try_send_locked(c->chan, c) : try_recv_locked(c->chan, c);
        if (done) return (int)i;
    }
    return NOT_FIRED;
}

/* Sleep until a case is claimed or the deadline passes; the result is the
 * parker's final `fired`. The timeout is settled under the parker's lock, so
 * a claim that got in just before it still counts. */
static int park(parker *p, const struct timespec *deadline, const char *wait_kind,
                const void *wait_object) {
    lc_thread_wait_begin(wait_kind, wait_object);
    pthread_mutex_lock(&p->lock);
    while (p->fired == NOT_FIRED) {
        if (!deadline) {
            pthread_cond_wait(&p->wake, &p->lock);
        } else if (pthread_cond_timedwait(&p->wake, &p->lock, deadline) == ETIMEDOUT &&
                   p->fired == NOT_FIRED) {
            p->fired = TIMED_OUT;
        }
    }
    int fired = p->fired;
    pthread_mutex_unlock(&p->lock);
    lc_thread_wait_end();
    return fired;
}

/* Queue one waiter per case, sleep until a case completes or the deadline
 * (NULL: none) passes, then take the waiters back. Called with every channel
 * locked; returns with them unlocked. */
static int block_on_cases(lc_select_case *cases, size_t ncases, lc_chan **order, size_t nlocked,
                          const struct timespec *deadline, const char *wait_kind,
                          const void *wait_object) {
    parker p = {.fired = NOT_FIRED};
    pthread_mutex_init(&p.lock, NULL);
    lc_cond_init_monotonic(&p.wake);
    waiter waiters[LC_SELECT_MAX_CASES];
    for (size_t i = 0; i < ncases; i++) {
        waiters[i] = (waiter){.parker = &p, .case_index = (int)i, .value = cases[i].value};
        if (cases[i].chan) waitq_push(queue_of(cases[i].chan, cases[i].dir), &waiters[i]);
    }
    unlock_all(order, nlocked);

    int fired = park(&p, deadline, wait_kind, wait_object);

    /* Taking the locks again also waits out any claimer still inside a
     * channel, so the parker and waiters can go once they are released. */
    lock_all(order, nlocked);
    for (size_t i = 0; i < ncases; i++) {
        if (waiters[i].queued) waitq_remove(queue_of(cases[i].chan, cases[i].dir), &waiters[i]);
    }
    if (fired >= 0) {
        lc_select_case *c = &cases[fired];
        c->ok = waiters[fired].ok;
        if (c->dir == LC_SELECT_RECV) c->value = waiters[fired].value;
    }
    unlock_all(order, nlocked);
    pthread_cond_destroy(&p.wake);
    pthread_mutex_destroy(&p.lock);
    return fired >= 0 ? fired : LC_SELECT_TIMEOUT;
}

static int select_cases(lc_select_case *cases, size_t ncases, long timeout_ms,
                        const char *wait_kind, const void *wait_object) {
    if (ncases > LC_SELECT_MAX_CASES || (ncases > 0 && !cases)) return LC_SELECT_INVALID;
    for (size_t i = 0; i < ncases; i++) {
        if (cases[i].dir == LC_SELECT_SEND)
            LC_PROBE_CHAN_SEND(cases[i].chan);
        else
            LC_PROBE_CHAN_RECV(cases[i].chan);
    }
    struct timespec deadline = {0, 0};
    if (timeout_ms > 0) deadline = lc_deadline_after_ms(timeout_ms);

    lc_chan *order[LC_SELECT_MAX_CASES];
    size_t nlocked = lock_order(cases, ncases, order);
    lock_all(order, nlocked);
    int fired = poll_cases(cases, ncases);
    if (fired == NOT_FIRED && timeout_ms != 0)
        return block_on_cases(cases, ncases, order, nlocked, timeout_ms > 0 ? &deadline : NULL,
                              wait_kind, wait_object);
    unlock_all(order, nlocked);
    return fired != NOT_FIRED ? fired : LC_SELECT_DEFAULT;
}

int lc_select(lc_select_case *cases, size_t ncases, long timeout_ms) {
    const void *first = NULL;
    for (size_t i = 0; i < ncases && cases && !first; i++)
        first = cases[i].chan;
    return select_cases(cases, ncases, timeout_ms, ncases ? "select" : "select (no cases)", first);
}

/* ------------------------------------------------- single-channel calls */

/* The wait kinds are those of Go's goroutine dumps. */
static lc_chan_status chan_op(lc_chan *ch, lc_select_dir dir, void **value, long timeout_ms) {
    lc_select_case c = {.chan = ch, .dir = dir, .value = dir == LC_SELECT_SEND ? *value : NULL};
    const char *kind;
    if (dir == LC_SELECT_SEND)
        kind = ch ? "chan send" : "chan send (nil chan)";
    else
        kind = ch ? "chan receive" : "chan receive (nil chan)";
    int fired = select_cases(&c, 1, timeout_ms, kind, ch);
    if (fired == LC_SELECT_TIMEOUT) return LC_CHAN_TIMEOUT;
    if (fired == LC_SELECT_DEFAULT) return LC_CHAN_WOULD_BLOCK;
    if (dir == LC_SELECT_RECV && value) *value = c.value;
    return c.ok ? LC_CHAN_OK : LC_CHAN_CLOSED;
}

lc_chan_status lc_chan_send(lc_chan *ch, void *value) {
    return chan_op(ch, LC_SELECT_SEND, &value, LC_WAIT_FOREVER);
}

bool lc_chan_recv(lc_chan *ch, void **value) {
    return chan_op(ch, LC_SELECT_RECV, value, LC_WAIT_FOREVER) == LC_CHAN_OK;
}

lc_chan_status lc_chan_try_send(lc_chan *ch, void *value) {
    return chan_op(ch, LC_SELECT_SEND, &value, 0);
}

lc_chan_status lc_chan_try_recv(lc_chan *ch, void **value) {
    return chan_op(ch, LC_SELECT_RECV, value, 0);
}

lc_chan_status lc_chan_send_timeout(lc_chan *ch, void *value, long timeout_ms) {
    return chan_op(ch, LC_SELECT_SEND, &value, timeout_ms);
}

lc_chan_status lc_chan_recv_timeout(lc_chan *ch, void **value, long timeout_ms) {
    return chan_op(ch, LC_SELECT_RECV, value, timeout_ms);
}

lc_chan_status lc_chan_close(lc_chan *ch) {
    if (!ch) return LC_CHAN_CLOSED;
    pthread_mutex_lock(&ch->lock);
    if (ch->closed) {
        pthread_mutex_unlock(&ch->lock);
        return LC_CHAN_CLOSED;
    }
    ch->closed = true;
    LC_PROBE_CHAN_CLOSE(ch);
    for (waiter *w; (w = waitq_pop(&ch->receivers));) {
        if (claim(w, false)) w->value = NULL;
    }
    for (waiter *w; (w = waitq_pop(&ch->senders));)
        claim(w, false);
    pthread_mutex_unlock(&ch->lock);
    return LC_CHAN_OK;
}
