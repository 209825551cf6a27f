/* SPDX-License-Identifier: MIT */
/* test_toolkit.c: the behaviour of the toolkit the scenarios are built on.
 *
 * One test per rule: the channel rules Go defines (rendezvous, buffering,
 * close, drain, timeouts, select), the map's growth and shrink policy, the
 * wait group, named spawning and the safe map. Every test joins the threads
 * it starts and frees what it allocates, so the suite runs clean under
 * valgrind and ThreadSanitizer, forked or not. Timing assertions only ever
 * check lower bounds, which no slow machine can break. */
#include "leakcheck_toolkit.h"

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_MS 30

static void *val(intptr_t n) {
    return (void *)n;
}
static intptr_t num(void *v) {
    return (intptr_t)v;
}

static long elapsed_ms_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static struct timespec now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static pthread_t spawn(const char *name, void *(*fn)(void *), void *arg) {
    pthread_t t;
    ck_assert_int_eq(lc_spawn(&t, name, fn, arg), 0);
    return t;
}

static void *join(pthread_t t) {
    void *result;
    ck_assert_int_eq(pthread_join(t, &result), 0);
    return result;
}

/* ------------------------------------------------------ thread helpers */

struct sender {
    lc_chan *ch;
    intptr_t value;
    atomic_int finished;
    lc_chan_status status;
};

static void *send_one(void *arg) {
    struct sender *s = arg;
    s->status = lc_chan_send(s->ch, val(s->value));
    atomic_store(&s->finished, 1);
    return NULL;
}

static void *send_later(void *arg) {
    lc_sleep_ms(SHORT_MS);
    return send_one(arg);
}

static void *recv_one(void *arg) {
    void *value = val(-1);
    bool ok = lc_chan_recv(arg, &value);
    return ok ? value : val(-2);
}

/* Spin until the channel has a blocked peer: a try_ operation that succeeds
 * proves one is waiting without the test guessing at sleep lengths. */
static void try_send_until_taken(lc_chan *ch, void *value) {
    while (lc_chan_try_send(ch, value) == LC_CHAN_WOULD_BLOCK)
        lc_sleep_ms(1);
}

/* ------------------------------------------------------------ channels */

START_TEST(test_unbuffered_send_waits_for_receiver) {
    lc_chan *ch = lc_chan_new(0);
    struct sender s = {.ch = ch, .value = 7};
    pthread_t t = spawn("sender", send_one, &s);
    lc_sleep_ms(SHORT_MS);
    ck_assert_int_eq(atomic_load(&s.finished), 0);
    void *got = NULL;
    ck_assert(lc_chan_recv(ch, &got));
    join(t);
    ck_assert_int_eq(num(got), 7);
    ck_assert_int_eq(s.status, LC_CHAN_OK);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_unbuffered_send_times_out_without_receiver) {
    lc_chan *ch = lc_chan_new(0);
    struct timespec start = now();
    ck_assert_int_eq(lc_chan_send_timeout(ch, val(1), SHORT_MS), LC_CHAN_TIMEOUT);
    ck_assert_int_ge(elapsed_ms_since(&start), SHORT_MS);
    ck_assert_int_eq(lc_chan_try_recv(ch, NULL), LC_CHAN_WOULD_BLOCK);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_unbuffered_try_send_without_receiver_would_block) {
    lc_chan *ch = lc_chan_new(0);
    ck_assert_int_eq(lc_chan_try_send(ch, val(1)), LC_CHAN_WOULD_BLOCK);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_unbuffered_try_send_reaches_waiting_receiver) {
    lc_chan *ch = lc_chan_new(0);
    pthread_t t = spawn("receiver", recv_one, ch);
    try_send_until_taken(ch, val(42));
    ck_assert_int_eq(num(join(t)), 42);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_buffered_send_does_not_block_until_full) {
    lc_chan *ch = lc_chan_new(2);
    ck_assert_int_eq(lc_chan_try_send(ch, val(1)), LC_CHAN_OK);
    ck_assert_int_eq(lc_chan_try_send(ch, val(2)), LC_CHAN_OK);
    ck_assert_int_eq(lc_chan_try_send(ch, val(3)), LC_CHAN_WOULD_BLOCK);
    ck_assert_uint_eq(lc_chan_len(ch), 2);
    ck_assert_uint_eq(lc_chan_cap(ch), 2);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_buffered_channel_is_fifo) {
    lc_chan *ch = lc_chan_new(4);
    for (intptr_t i = 1; i <= 4; i++)
        ck_assert_int_eq(lc_chan_send(ch, val(i)), LC_CHAN_OK);
    for (intptr_t i = 1; i <= 4; i++) {
        void *got;
        ck_assert(lc_chan_recv(ch, &got));
        ck_assert_int_eq(num(got), i);
    }
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_recv_from_full_buffer_admits_blocked_sender_in_order) {
    lc_chan *ch = lc_chan_new(1);
    ck_assert_int_eq(lc_chan_send(ch, val(1)), LC_CHAN_OK);
    struct sender s = {.ch = ch, .value = 2};
    pthread_t t = spawn("sender", send_one, &s);
    lc_sleep_ms(SHORT_MS);
    ck_assert_int_eq(atomic_load(&s.finished), 0);
    void *first, *second;
    ck_assert(lc_chan_recv(ch, &first));
    join(t);
    ck_assert(lc_chan_recv(ch, &second));
    ck_assert_int_eq(num(first), 1);
    ck_assert_int_eq(num(second), 2);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_send_on_closed_channel_fails) {
    lc_chan *ch = lc_chan_new(1);
    ck_assert_int_eq(lc_chan_close(ch), LC_CHAN_OK);
    ck_assert_int_eq(lc_chan_send(ch, val(1)), LC_CHAN_CLOSED);
    ck_assert_int_eq(lc_chan_try_send(ch, val(1)), LC_CHAN_CLOSED);
    ck_assert_int_eq(lc_chan_send_timeout(ch, val(1), SHORT_MS), LC_CHAN_CLOSED);
    ck_assert_uint_eq(lc_chan_len(ch), 0);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_close_of_closed_channel_fails) {
    lc_chan *ch = lc_chan_new(0);
    ck_assert_int_eq(lc_chan_close(ch), LC_CHAN_OK);
    ck_assert_int_eq(lc_chan_close(ch), LC_CHAN_CLOSED);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_recv_on_closed_drains_buffer_first) {
    lc_chan *ch = lc_chan_new(3);
    lc_chan_send(ch, val(1));
    lc_chan_send(ch, val(2));
    lc_chan_close(ch);
    void *got;
    ck_assert(lc_chan_recv(ch, &got));
    ck_assert_int_eq(num(got), 1);
    ck_assert_int_eq(lc_chan_try_recv(ch, &got), LC_CHAN_OK);
    ck_assert_int_eq(num(got), 2);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_recv_on_closed_and_drained_is_not_ok) {
    lc_chan *ch = lc_chan_new(1);
    lc_chan_close(ch);
    void *got = val(99);
    ck_assert(!lc_chan_recv(ch, &got));
    ck_assert_ptr_null(got);
    ck_assert_int_eq(lc_chan_try_recv(ch, &got), LC_CHAN_CLOSED);
    ck_assert_int_eq(lc_chan_recv_timeout(ch, &got, SHORT_MS), LC_CHAN_CLOSED);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_close_wakes_every_blocked_receiver) {
    enum { RECEIVERS = 4 };
    lc_chan *ch = lc_chan_new(0);
    pthread_t t[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++)
        t[i] = spawn("receiver", recv_one, ch);
    lc_sleep_ms(SHORT_MS);
    ck_assert_int_eq(lc_chan_close(ch), LC_CHAN_OK);
    for (int i = 0; i < RECEIVERS; i++)
        ck_assert_int_eq(num(join(t[i])), -2);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_close_wakes_every_blocked_sender_with_an_error) {
    enum { SENDERS = 4 };
    lc_chan *ch = lc_chan_new(0);
    struct sender s[SENDERS];
    pthread_t t[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (struct sender){.ch = ch, .value = i};
        t[i] = spawn("sender", send_one, &s[i]);
    }
    lc_sleep_ms(SHORT_MS);
    ck_assert_int_eq(lc_chan_close(ch), LC_CHAN_OK);
    for (int i = 0; i < SENDERS; i++) {
        join(t[i]);
        ck_assert_int_eq(s[i].status, LC_CHAN_CLOSED);
    }
    ck_assert_int_eq(lc_chan_try_recv(ch, NULL), LC_CHAN_CLOSED);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_try_recv_on_empty_channel_would_block) {
    lc_chan *ch = lc_chan_new(1);
    void *got = val(5);
    ck_assert_int_eq(lc_chan_try_recv(ch, &got), LC_CHAN_WOULD_BLOCK);
    ck_assert_int_eq(num(got), 5);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_recv_timeout_expires_on_empty_channel) {
    lc_chan *ch = lc_chan_new(1);
    struct timespec start = now();
    ck_assert_int_eq(lc_chan_recv_timeout(ch, NULL, SHORT_MS), LC_CHAN_TIMEOUT);
    ck_assert_int_ge(elapsed_ms_since(&start), SHORT_MS);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_recv_timeout_returns_value_sent_in_time) {
    lc_chan *ch = lc_chan_new(0);
    struct sender s = {.ch = ch, .value = 11};
    pthread_t t = spawn("sender", send_later, &s);
    void *got = NULL;
    ck_assert_int_eq(lc_chan_recv_timeout(ch, &got, 10000), LC_CHAN_OK);
    join(t);
    ck_assert_int_eq(num(got), 11);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_send_timeout_on_full_buffer_expires) {
    lc_chan *ch = lc_chan_new(1);
    lc_chan_send(ch, val(1));
    struct timespec start = now();
    ck_assert_int_eq(lc_chan_send_timeout(ch, val(2), SHORT_MS), LC_CHAN_TIMEOUT);
    ck_assert_int_ge(elapsed_ms_since(&start), SHORT_MS);
    ck_assert_uint_eq(lc_chan_len(ch), 1);
    lc_chan_free(ch);
}
END_TEST

START_TEST(test_nil_channel_is_never_ready) {
    ck_assert_int_eq(lc_chan_try_send(NULL, val(1)), LC_CHAN_WOULD_BLOCK);
    ck_assert_int_eq(lc_chan_try_recv(NULL, NULL), LC_CHAN_WOULD_BLOCK);
    ck_assert_int_eq(lc_chan_recv_timeout(NULL, NULL, 1), LC_CHAN_TIMEOUT);
    ck_assert_int_eq(lc_chan_close(NULL), LC_CHAN_CLOSED);
}
END_TEST

START_TEST(test_retained_channel_outlives_first_free) {
    lc_chan *ch = lc_chan_new(1);
    lc_chan *kept = lc_chan_retain(ch);
    lc_chan_free(ch);
    ck_assert_int_eq(lc_chan_send(kept, val(3)), LC_CHAN_OK);
    void *got;
    ck_assert(lc_chan_recv(kept, &got));
    ck_assert_int_eq(num(got), 3);
    lc_chan_free(kept);
}
END_TEST

START_TEST(test_status_names) {
    ck_assert_str_eq(lc_chan_status_name(LC_CHAN_OK), "ok");
    ck_assert_str_eq(lc_chan_status_name(LC_CHAN_CLOSED), "closed");
    ck_assert_str_eq(lc_chan_status_name(LC_CHAN_TIMEOUT), "timeout");
    ck_assert_str_eq(lc_chan_status_name(LC_CHAN_WOULD_BLOCK), "would block");
}
END_TEST

/* Many senders and receivers over a small buffer: every value arrives
 * exactly once. Threads report failures through their result, since a Check
 * assertion may only fail on the test's own thread. */
enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 2000 };

struct transfer {
    lc_chan *ch;
    intptr_t first;
    long long sum;
    long count;
};

static void *produce_range(void *arg) {
    struct transfer *t = arg;
    for (intptr_t v = t->first; v < t->first + PER_PRODUCER; v++) {
        if (lc_chan_send(t->ch, val(v)) != LC_CHAN_OK) return val(1);
    }
    return NULL;
}

static void *consume_all(void *arg) {
    struct transfer *t = arg;
    void *v;
    while (lc_chan_recv(t->ch, &v)) {
        t->sum += num(v);
        t->count++;
    }
    return NULL;
}

static void check_every_value_arrives_once(size_t capacity) {
    lc_chan *ch = lc_chan_new(capacity);
    struct transfer producers[PRODUCERS], consumers[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        consumers[i] = (struct transfer){.ch = ch};
        ct[i] = spawn("consumer", consume_all, &consumers[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (struct transfer){.ch = ch, .first = 1 + (intptr_t)i * PER_PRODUCER};
        pt[i] = spawn("producer", produce_range, &producers[i]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_ptr_null(join(pt[i]));
    lc_chan_close(ch);
    long long sum = 0;
    long count = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        join(ct[i]);
        sum += consumers[i].sum;
        count += consumers[i].count;
    }
    long long n = (long long)PRODUCERS * PER_PRODUCER;
    ck_assert_int_eq(count, n);
    ck_assert_int_eq(sum, n * (n + 1) / 2);
    lc_chan_free(ch);
}

START_TEST(test_many_senders_and_receivers_transfer_every_value_once) {
    check_every_value_arrives_once(0);
    check_every_value_arrives_once(3);
}
END_TEST

/* --------------------------------------------------------------- select */

START_TEST(test_select_receives_from_the_ready_channel) {
    lc_chan *idle = lc_chan_new(1), *ready = lc_chan_new(1);
    lc_chan_send(ready, val(8));
    lc_select_case cases[] = {{.chan = idle, .dir = LC_SELECT_RECV},
                              {.chan = ready, .dir = LC_SELECT_RECV}};
    ck_assert_int_eq(lc_select(cases, 2, LC_WAIT_FOREVER), 1);
    ck_assert(cases[1].ok);
    ck_assert_int_eq(num(cases[1].value), 8);
    lc_chan_free(idle);
    lc_chan_free(ready);
}
END_TEST

START_TEST(test_select_sends_to_the_ready_channel) {
    lc_chan *full = lc_chan_new(1), *free_slot = lc_chan_new(1);
    lc_chan_send(full, val(1));
    lc_select_case cases[] = {{.chan = full, .dir = LC_SELECT_SEND, .value = val(2)},
                              {.chan = free_slot, .dir = LC_SELECT_SEND, .value = val(3)}};
    ck_assert_int_eq(lc_select(cases, 2, 0), 1);
    ck_assert(cases[1].ok);
    void *got;
    ck_assert_int_eq(lc_chan_try_recv(free_slot, &got), LC_CHAN_OK);
    ck_assert_int_eq(num(got), 3);
    ck_assert_uint_eq(lc_chan_len(full), 1);
    lc_chan_free(full);
    lc_chan_free(free_slot);
}
END_TEST

START_TEST(test_select_blocks_until_a_case_is_ready) {
    lc_chan *a = lc_chan_new(0), *b = lc_chan_new(0);
    struct sender s = {.ch = b, .value = 21};
    pthread_t t = spawn("sender", send_later, &s);
    lc_select_case cases[] = {{.chan = a, .dir = LC_SELECT_RECV},
                              {.chan = b, .dir = LC_SELECT_RECV}};
    ck_assert_int_eq(lc_select(cases, 2, LC_WAIT_FOREVER), 1);
    join(t);
    ck_assert_int_eq(num(cases[1].value), 21);
    ck_assert_int_eq(s.status, LC_CHAN_OK);
    lc_chan_free(a);
    lc_chan_free(b);
}
END_TEST

START_TEST(test_select_times_out_when_no_case_is_ready) {
    lc_chan *a = lc_chan_new(0), *b = lc_chan_new(1);
    lc_chan_send(b, val(1));
    lc_select_case cases[] = {{.chan = a, .dir = LC_SELECT_RECV},
                              {.chan = b, .dir = LC_SELECT_SEND, .value = val(2)}};
    struct timespec start = now();
    ck_assert_int_eq(lc_select(cases, 2, SHORT_MS), LC_SELECT_TIMEOUT);
    ck_assert_int_ge(elapsed_ms_since(&start), SHORT_MS);
    ck_assert_uint_eq(lc_chan_len(b), 1);
    ck_assert_int_eq(lc_chan_try_send(a, val(3)), LC_CHAN_WOULD_BLOCK);
    lc_chan_free(a);
    lc_chan_free(b);
}
END_TEST

START_TEST(test_select_without_wait_takes_the_default) {
    lc_chan *a = lc_chan_new(0);
    lc_select_case cases[] = {{.chan = a, .dir = LC_SELECT_RECV}};
    ck_assert_int_eq(lc_select(cases, 1, 0), LC_SELECT_DEFAULT);
    lc_chan_free(a);
}
END_TEST

START_TEST(test_select_reports_closed_channel_as_not_ok) {
    lc_chan *idle = lc_chan_new(0), *closed = lc_chan_new(0);
    lc_chan_close(closed);
    lc_select_case cases[] = {{.chan = idle, .dir = LC_SELECT_RECV},
                              {.chan = closed, .dir = LC_SELECT_RECV, .value = val(4)}};
    ck_assert_int_eq(lc_select(cases, 2, LC_WAIT_FOREVER), 1);
    ck_assert(!cases[1].ok);
    ck_assert_ptr_null(cases[1].value);
    lc_chan_free(idle);
    lc_chan_free(closed);
}
END_TEST

START_TEST(test_select_send_on_closed_channel_fails) {
    lc_chan *closed = lc_chan_new(1);
    lc_chan_close(closed);
    lc_select_case cases[] = {{.chan = closed, .dir = LC_SELECT_SEND, .value = val(1)}};
    ck_assert_int_eq(lc_select(cases, 1, LC_WAIT_FOREVER), 0);
    ck_assert(!cases[0].ok);
    lc_chan_free(closed);
}
END_TEST

static void *close_later(void *ch) {
    lc_sleep_ms(SHORT_MS);
    lc_chan_close(ch);
    return NULL;
}

START_TEST(test_close_wakes_a_blocked_select) {
    lc_chan *idle = lc_chan_new(0), *done = lc_chan_new(0);
    pthread_t t = spawn("closer", close_later, done);
    lc_select_case cases[] = {{.chan = idle, .dir = LC_SELECT_RECV},
                              {.chan = done, .dir = LC_SELECT_RECV}};
    ck_assert_int_eq(lc_select(cases, 2, LC_WAIT_FOREVER), 1);
    ck_assert(!cases[1].ok);
    join(t);
    lc_chan_free(idle);
    lc_chan_free(done);
}
END_TEST

START_TEST(test_select_ignores_nil_channel_cases) {
    lc_chan *ready = lc_chan_new(1);
    lc_chan_send(ready, val(6));
    lc_select_case cases[] = {{.chan = NULL, .dir = LC_SELECT_RECV},
                              {.chan = NULL, .dir = LC_SELECT_SEND, .value = val(1)},
                              {.chan = ready, .dir = LC_SELECT_RECV}};
    for (int round = 0; round < 20; round++) {
        int chosen = lc_select(cases, 3, 0);
        ck_assert(chosen == 2 || chosen == LC_SELECT_DEFAULT);
        if (chosen == 2) lc_chan_send(ready, val(6));
    }
    lc_chan_free(ready);
}
END_TEST

START_TEST(test_select_with_no_cases_times_out) {
    ck_assert_int_eq(lc_select(NULL, 0, 0), LC_SELECT_DEFAULT);
    ck_assert_int_eq(lc_select(NULL, 0, 1), LC_SELECT_TIMEOUT);
}
END_TEST

START_TEST(test_select_with_too_many_cases_is_invalid) {
    lc_select_case cases[LC_SELECT_MAX_CASES + 1];
    memset(cases, 0, sizeof(cases));
    ck_assert_int_eq(lc_select(cases, LC_SELECT_MAX_CASES + 1, 0), LC_SELECT_INVALID);
}
END_TEST

START_TEST(test_select_picks_fairly_between_ready_channels) {
    enum { ROUNDS = 1000 };
    lc_chan *a = lc_chan_new(1), *b = lc_chan_new(1);
    int picked[2] = {0, 0};
    for (int i = 0; i < ROUNDS; i++) {
        lc_chan_try_send(a, val(1));
        lc_chan_try_send(b, val(2));
        lc_select_case cases[] = {{.chan = a, .dir = LC_SELECT_RECV},
                                  {.chan = b, .dir = LC_SELECT_RECV}};
        int chosen = lc_select(cases, 2, 0);
        ck_assert(chosen == 0 || chosen == 1);
        picked[chosen]++;
    }
    ck_assert_int_gt(picked[0], ROUNDS / 5);
    ck_assert_int_gt(picked[1], ROUNDS / 5);
    lc_chan_free(a);
    lc_chan_free(b);
}
END_TEST

/* Receivers that select over two channels with short timeouts race with
 * senders and with their own deadlines; a value must never be both sent
 * and lost. */
enum { SELECT_SENDERS = 4, SELECT_RECEIVERS = 3, SELECT_PER_SENDER = 500 };

struct select_receiver {
    lc_chan *a, *b, *stop;
    long long sum;
    long count;
};

static void *select_until_stopped(void *arg) {
    struct select_receiver *r = arg;
    for (;;) {
        lc_select_case cases[] = {{.chan = r->a, .dir = LC_SELECT_RECV},
                                  {.chan = r->b, .dir = LC_SELECT_RECV},
                                  {.chan = r->stop, .dir = LC_SELECT_RECV}};
        int chosen = lc_select(cases, 3, 1);
        if (chosen == 2) return NULL;
        if (chosen >= 0) {
            r->sum += num(cases[chosen].value);
            r->count++;
        }
    }
}

struct select_sender {
    lc_chan *a, *b;
    intptr_t first;
};

static void *send_with_timeouts(void *arg) {
    struct select_sender *s = arg;
    for (intptr_t v = s->first; v < s->first + SELECT_PER_SENDER;) {
        lc_select_case cases[] = {{.chan = s->a, .dir = LC_SELECT_SEND, .value = val(v)},
                                  {.chan = s->b, .dir = LC_SELECT_SEND, .value = val(v)}};
        if (lc_select(cases, 2, 1) >= 0) v++;
    }
    return NULL;
}

START_TEST(test_select_never_loses_a_value_under_contention) {
    lc_chan *a = lc_chan_new(0), *b = lc_chan_new(2), *stop = lc_chan_new(0);
    struct select_receiver receivers[SELECT_RECEIVERS];
    struct select_sender senders[SELECT_SENDERS];
    pthread_t rt[SELECT_RECEIVERS], st[SELECT_SENDERS];
    for (int i = 0; i < SELECT_RECEIVERS; i++) {
        receivers[i] = (struct select_receiver){.a = a, .b = b, .stop = stop};
        rt[i] = spawn("selector", select_until_stopped, &receivers[i]);
    }
    for (int i = 0; i < SELECT_SENDERS; i++) {
        senders[i] = (struct select_sender){.a = a, .b = b, .first = 1 + i * SELECT_PER_SENDER};
        st[i] = spawn("sender", send_with_timeouts, &senders[i]);
    }
    for (int i = 0; i < SELECT_SENDERS; i++)
        join(st[i]);
    while (lc_chan_len(b) > 0)
        lc_sleep_ms(1);
    lc_chan_close(stop);
    long long sum = 0;
    long count = 0;
    for (int i = 0; i < SELECT_RECEIVERS; i++) {
        join(rt[i]);
        sum += receivers[i].sum;
        count += receivers[i].count;
    }
    long long n = (long long)SELECT_SENDERS * SELECT_PER_SENDER;
    ck_assert_int_eq(count, n);
    ck_assert_int_eq(sum, n * (n + 1) / 2);
    lc_chan_free(a);
    lc_chan_free(b);
    lc_chan_free(stop);
}
END_TEST

/* ------------------------------------------------------------------ map */

START_TEST(test_map_insert_then_lookup) {
    lc_hmap m = LC_HMAP_INIT(0);
    ck_assert_int_eq(lc_hmap_put(&m, "alpha", val(1), NULL), 0);
    ck_assert_int_eq(lc_hmap_put(&m, "beta", val(2), NULL), 0);
    void *got;
    ck_assert(lc_hmap_lookup(&m, "alpha", &got));
    ck_assert_int_eq(num(got), 1);
    ck_assert(lc_hmap_lookup(&m, "beta", &got));
    ck_assert_int_eq(num(got), 2);
    ck_assert_uint_eq(lc_hmap_size(&m), 2);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_lookup_of_missing_key_fails) {
    lc_hmap m = LC_HMAP_INIT(0);
    ck_assert(!lc_hmap_lookup(&m, "ghost", NULL));
    lc_hmap_put(&m, "present", val(1), NULL);
    ck_assert(!lc_hmap_lookup(&m, "ghost", NULL));
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_insert_replaces_and_returns_previous) {
    lc_hmap m = LC_HMAP_INIT(0);
    lc_hmap_put(&m, "k", val(1), NULL);
    void *previous = NULL;
    ck_assert_int_eq(lc_hmap_put(&m, "k", val(2), &previous), 1);
    ck_assert_int_eq(num(previous), 1);
    void *got;
    ck_assert(lc_hmap_lookup(&m, "k", &got));
    ck_assert_int_eq(num(got), 2);
    ck_assert_uint_eq(lc_hmap_size(&m), 1);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_copies_keys) {
    lc_hmap m = LC_HMAP_INIT(0);
    char key[] = "mutable";
    lc_hmap_put(&m, key, val(1), NULL);
    key[0] = 'M';
    ck_assert(lc_hmap_lookup(&m, "mutable", NULL));
    ck_assert(!lc_hmap_lookup(&m, key, NULL));
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_delete_removes_and_returns_value) {
    lc_hmap m = LC_HMAP_INIT(0);
    lc_hmap_put(&m, "k", val(5), NULL);
    void *got = NULL;
    ck_assert(lc_hmap_delete(&m, "k", &got));
    ck_assert_int_eq(num(got), 5);
    ck_assert(!lc_hmap_lookup(&m, "k", NULL));
    ck_assert_uint_eq(lc_hmap_size(&m), 0);
    ck_assert(!lc_hmap_delete(&m, "k", NULL));
    lc_hmap_destroy(&m);
}
END_TEST

static void key_of(char *buf, size_t size, int i) {
    snprintf(buf, size, "key-%d", i);
}

static void insert_range(lc_hmap *m, int from, int to) {
    char key[32];
    for (int i = from; i < to; i++) {
        key_of(key, sizeof(key), i);
        ck_assert_int_eq(lc_hmap_put(m, key, val(i), NULL), 0);
    }
}

static void delete_range(lc_hmap *m, int from, int to) {
    char key[32];
    for (int i = from; i < to; i++) {
        key_of(key, sizeof(key), i);
        ck_assert(lc_hmap_delete(m, key, NULL));
    }
}

START_TEST(test_map_iterate_visits_every_entry_once) {
    enum { N = 300 };
    lc_hmap m = LC_HMAP_INIT(0);
    insert_range(&m, 0, N);
    int seen[N] = {0};
    lc_hmap_iter it;
    const char *key;
    void *value;
    lc_hmap_iter_init(&it, &m);
    while (lc_hmap_iter_next(&it, &key, &value)) {
        char expected[32];
        key_of(expected, sizeof(expected), (int)num(value));
        ck_assert_str_eq(key, expected);
        seen[num(value)]++;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], 1);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_iterate_over_empty_map_yields_nothing) {
    lc_hmap m = LC_HMAP_INIT(0);
    lc_hmap_iter it;
    lc_hmap_iter_init(&it, &m);
    ck_assert(!lc_hmap_iter_next(&it, NULL, NULL));
}
END_TEST

START_TEST(test_map_grows_past_three_quarters_load) {
    lc_hmap m = LC_HMAP_INIT(0);
    insert_range(&m, 0, 6);
    ck_assert_uint_eq(lc_hmap_capacity(&m), 8);
    insert_range(&m, 6, 7);
    ck_assert_uint_eq(lc_hmap_capacity(&m), 16);
    insert_range(&m, 7, 10000);
    ck_assert_uint_ge(lc_hmap_capacity(&m) * 3, lc_hmap_size(&m) * 4);
    ck_assert_uint_eq(lc_hmap_size(&m), 10000);
    void *got;
    ck_assert(lc_hmap_lookup(&m, "key-9999", &got));
    ck_assert_int_eq(num(got), 9999);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_empty_map_owns_no_buckets) {
    lc_hmap m;
    lc_hmap_init(&m, 0);
    ck_assert_uint_eq(lc_hmap_capacity(&m), 0);
    ck_assert_uint_eq(lc_hmap_bucket_bytes(&m), 0);
    ck_assert(!lc_hmap_delete(&m, "k", NULL));
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_delete_does_not_shrink_by_default) {
    lc_hmap m = LC_HMAP_INIT(0);
    insert_range(&m, 0, 5000);
    size_t bytes = lc_hmap_bucket_bytes(&m);
    delete_range(&m, 0, 5000);
    ck_assert_uint_eq(lc_hmap_size(&m), 0);
    ck_assert_uint_eq(lc_hmap_bucket_bytes(&m), bytes);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_shrink_fits_the_remaining_entries) {
    lc_hmap m = LC_HMAP_INIT(0);
    insert_range(&m, 0, 5000);
    delete_range(&m, 10, 5000);
    ck_assert_int_eq(lc_hmap_shrink(&m), 0);
    ck_assert_uint_eq(lc_hmap_capacity(&m), 32);
    void *got;
    ck_assert(lc_hmap_lookup(&m, "key-9", &got));
    ck_assert_int_eq(num(got), 9);
    delete_range(&m, 0, 10);
    ck_assert_int_eq(lc_hmap_shrink(&m), 0);
    ck_assert_uint_eq(lc_hmap_bucket_bytes(&m), 0);
    lc_hmap_destroy(&m);
}
END_TEST

START_TEST(test_map_auto_shrink_below_one_eighth_load) {
    lc_hmap m = LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK);
    insert_range(&m, 0, 1000);
    size_t full = lc_hmap_capacity(&m);
    ck_assert_uint_eq(full, 2048);
    delete_range(&m, 0, 744);
    ck_assert_uint_eq(lc_hmap_capacity(&m), full);
    delete_range(&m, 744, 745);
    ck_assert_uint_lt(lc_hmap_capacity(&m), full);
    ck_assert_uint_eq(lc_hmap_size(&m), 255);
    delete_range(&m, 745, 1000);
    ck_assert_uint_eq(lc_hmap_bucket_bytes(&m), 0);
    lc_hmap_destroy(&m);
}
END_TEST

/* ----------------------------------------------------------- wait group */

static void *finish_after_a_while(void *wg) {
    lc_sleep_ms(5);
    lc_waitgroup_done(wg);
    return NULL;
}

START_TEST(test_waitgroup_wait_returns_when_counter_reaches_zero) {
    enum { WORKERS = 4 };
    lc_waitgroup wg;
    ck_assert_int_eq(lc_waitgroup_init(&wg), 0);
    ck_assert_int_eq(lc_waitgroup_add(&wg, WORKERS), 0);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        t[i] = spawn("worker", finish_after_a_while, &wg);
    lc_waitgroup_wait(&wg);
    ck_assert_int_eq(lc_waitgroup_add(&wg, -1), -1);
    for (int i = 0; i < WORKERS; i++)
        join(t[i]);
    lc_waitgroup_destroy(&wg);
}
END_TEST

START_TEST(test_waitgroup_wait_on_zero_returns_at_once) {
    lc_waitgroup wg;
    lc_waitgroup_init(&wg);
    lc_waitgroup_wait(&wg);
    ck_assert(lc_waitgroup_wait_timeout(&wg, 0));
    lc_waitgroup_destroy(&wg);
}
END_TEST

START_TEST(test_waitgroup_refuses_a_negative_counter) {
    lc_waitgroup wg;
    lc_waitgroup_init(&wg);
    ck_assert_int_eq(lc_waitgroup_done(&wg), -1);
    ck_assert_int_eq(lc_waitgroup_add(&wg, 2), 0);
    ck_assert_int_eq(lc_waitgroup_add(&wg, -3), -1);
    ck_assert_int_eq(lc_waitgroup_add(&wg, -2), 0);
    ck_assert(lc_waitgroup_wait_timeout(&wg, 0));
    lc_waitgroup_destroy(&wg);
}
END_TEST

START_TEST(test_waitgroup_wait_timeout_expires_while_work_remains) {
    lc_waitgroup wg;
    lc_waitgroup_init(&wg);
    lc_waitgroup_add(&wg, 1);
    struct timespec start = now();
    ck_assert(!lc_waitgroup_wait_timeout(&wg, SHORT_MS));
    ck_assert_int_ge(elapsed_ms_since(&start), SHORT_MS);
    lc_waitgroup_done(&wg);
    ck_assert(lc_waitgroup_wait_timeout(&wg, SHORT_MS));
    lc_waitgroup_destroy(&wg);
}
END_TEST

/* ---------------------------------------------------------------- spawn */

static void *wait_for_release(void *ch) {
    lc_chan_recv(ch, NULL);
    return val(77);
}

static void check_spawned_name(const char *given, const char *expected) {
    lc_chan *release = lc_chan_new(0);
    pthread_t t = spawn(given, wait_for_release, release);
    char name[16];
    ck_assert_int_eq(pthread_getname_np(t, name, sizeof(name)), 0);
    lc_chan_close(release);
    join(t);
    lc_chan_free(release);
    ck_assert_str_eq(name, expected);
}

START_TEST(test_spawn_names_the_thread) {
    check_spawned_name("tenant-acme", "tenant-acme");
}
END_TEST

START_TEST(test_spawn_cuts_long_names_to_fifteen_characters) {
    check_spawned_name("a-rather-long-thread-name", "a-rather-long-t");
}
END_TEST

START_TEST(test_spawn_passes_argument_and_result) {
    lc_chan *release = lc_chan_new(0);
    pthread_t t = spawn("worker", wait_for_release, release);
    lc_chan_send(release, NULL);
    ck_assert_int_eq(num(join(t)), 77);
    lc_chan_free(release);
}
END_TEST

/* ------------------------------------------------------------- safe map */

struct inbox_reader {
    lc_chan *inbox;
    long received;
};

static void *read_until_closed(void *arg) {
    struct inbox_reader *r = arg;
    while (lc_chan_recv(r->inbox, NULL))
        r->received++;
    lc_chan_free(r->inbox);
    return NULL;
}

START_TEST(test_safemap_delete_ends_the_waiting_worker) {
    lc_safemap m = LC_SAFEMAP_INIT;
    lc_chan *inbox = lc_chan_new(0);
    ck_assert_int_eq(lc_safemap_put(&m, "job-1", inbox), 0);
    struct inbox_reader reader = {.inbox = inbox};
    pthread_t t = spawn("reader", read_until_closed, &reader);
    ck_assert_int_eq(lc_safemap_send(&m, "job-1", val(1)), LC_CHAN_OK);
    ck_assert(lc_safemap_delete(&m, "job-1"));
    join(t);
    ck_assert_int_eq(reader.received, 1);
    ck_assert_uint_eq(lc_safemap_size(&m), 0);
    lc_safemap_destroy(&m);
}
END_TEST

START_TEST(test_safemap_send_to_missing_key_fails) {
    lc_safemap m;
    lc_safemap_init(&m);
    ck_assert_int_eq(lc_safemap_send(&m, "nobody", val(1)), LC_CHAN_CLOSED);
    ck_assert_ptr_null(lc_safemap_get(&m, "nobody"));
    ck_assert(!lc_safemap_delete(&m, "nobody"));
    lc_safemap_destroy(&m);
}
END_TEST

START_TEST(test_safemap_put_closes_the_replaced_channel) {
    lc_safemap m;
    lc_safemap_init(&m);
    lc_chan *old = lc_chan_new(1), *fresh = lc_chan_new(1);
    lc_safemap_put(&m, "k", old);
    lc_safemap_put(&m, "k", fresh);
    ck_assert_int_eq(lc_chan_try_send(old, val(1)), LC_CHAN_CLOSED);
    lc_chan *got = lc_safemap_get(&m, "k");
    ck_assert_ptr_eq(got, fresh);
    lc_chan_free(got);
    lc_chan_free(old);
    lc_chan_free(fresh);
    lc_safemap_destroy(&m);
}
END_TEST

START_TEST(test_safemap_destroy_closes_remaining_channels) {
    lc_safemap m;
    lc_safemap_init(&m);
    lc_chan *inbox = lc_chan_new(0);
    lc_safemap_put(&m, "k", inbox);
    struct inbox_reader reader = {.inbox = inbox};
    pthread_t t = spawn("reader", read_until_closed, &reader);
    lc_safemap_destroy(&m);
    join(t);
    ck_assert_int_eq(reader.received, 0);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *toolkit_suite(void) {
    Suite *s = suite_create("toolkit");

    TCase *chan = tcase_create("channel");
    tcase_add_test(chan, test_unbuffered_send_waits_for_receiver);
    tcase_add_test(chan, test_unbuffered_send_times_out_without_receiver);
    tcase_add_test(chan, test_unbuffered_try_send_without_receiver_would_block);
    tcase_add_test(chan, test_unbuffered_try_send_reaches_waiting_receiver);
    tcase_add_test(chan, test_buffered_send_does_not_block_until_full);
    tcase_add_test(chan, test_buffered_channel_is_fifo);
    tcase_add_test(chan, test_recv_from_full_buffer_admits_blocked_sender_in_order);
    tcase_add_test(chan, test_send_on_closed_channel_fails);
    tcase_add_test(chan, test_close_of_closed_channel_fails);
    tcase_add_test(chan, test_recv_on_closed_drains_buffer_first);
    tcase_add_test(chan, test_recv_on_closed_and_drained_is_not_ok);
    tcase_add_test(chan, test_close_wakes_every_blocked_receiver);
    tcase_add_test(chan, test_close_wakes_every_blocked_sender_with_an_error);
    tcase_add_test(chan, test_try_recv_on_empty_channel_would_block);
    tcase_add_test(chan, test_recv_timeout_expires_on_empty_channel);
    tcase_add_test(chan, test_recv_timeout_returns_value_sent_in_time);
    tcase_add_test(chan, test_send_timeout_on_full_buffer_expires);
    tcase_add_test(chan, test_nil_channel_is_never_ready);
    tcase_add_test(chan, test_retained_channel_outlives_first_free);
    tcase_add_test(chan, test_status_names);
    tcase_add_test(chan, test_many_senders_and_receivers_transfer_every_value_once);
    tcase_set_timeout(chan, 60);
    suite_add_tcase(s, chan);

    TCase *sel = tcase_create("select");
    tcase_add_test(sel, test_select_receives_from_the_ready_channel);
    tcase_add_test(sel, test_select_sends_to_the_ready_channel);
    tcase_add_test(sel, test_select_blocks_until_a_case_is_ready);
    tcase_add_test(sel, test_select_times_out_when_no_case_is_ready);
    tcase_add_test(sel, test_select_without_wait_takes_the_default);
    tcase_add_test(sel, test_select_reports_closed_channel_as_not_ok);
    tcase_add_test(sel, test_select_send_on_closed_channel_fails);
    tcase_add_test(sel, test_close_wakes_a_blocked_select);
    tcase_add_test(sel, test_select_ignores_nil_channel_cases);
    tcase_add_test(sel, test_select_with_no_cases_times_out);
    tcase_add_test(sel, test_select_with_too_many_cases_is_invalid);
    tcase_add_test(sel, test_select_picks_fairly_between_ready_channels);
    tcase_add_test(sel, test_select_never_loses_a_value_under_contention);
    tcase_set_timeout(sel, 60);
    suite_add_tcase(s, sel);

    TCase *map = tcase_create("map");
    tcase_add_test(map, test_map_insert_then_lookup);
    tcase_add_test(map, test_map_lookup_of_missing_key_fails);
    tcase_add_test(map, test_map_insert_replaces_and_returns_previous);
    tcase_add_test(map, test_map_copies_keys);
    tcase_add_test(map, test_map_delete_removes_and_returns_value);
    tcase_add_test(map, test_map_iterate_visits_every_entry_once);
    tcase_add_test(map, test_map_iterate_over_empty_map_yields_nothing);
    tcase_add_test(map, test_map_grows_past_three_quarters_load);
    tcase_add_test(map, test_map_empty_map_owns_no_buckets);
    tcase_add_test(map, test_map_delete_does_not_shrink_by_default);
    tcase_add_test(map, test_map_shrink_fits_the_remaining_entries);
    tcase_add_test(map, test_map_auto_shrink_below_one_eighth_load);
    tcase_set_timeout(map, 60);
    suite_add_tcase(s, map);

    TCase *wg = tcase_create("waitgroup");
    tcase_add_test(wg, test_waitgroup_wait_returns_when_counter_reaches_zero);
    tcase_add_test(wg, test_waitgroup_wait_on_zero_returns_at_once);
    tcase_add_test(wg, test_waitgroup_refuses_a_negative_counter);
    tcase_add_test(wg, test_waitgroup_wait_timeout_expires_while_work_remains);
    suite_add_tcase(s, wg);

    TCase *spawn_case = tcase_create("spawn");
    tcase_add_test(spawn_case, test_spawn_names_the_thread);
    tcase_add_test(spawn_case, test_spawn_cuts_long_names_to_fifteen_characters);
    tcase_add_test(spawn_case, test_spawn_passes_argument_and_result);
    suite_add_tcase(s, spawn_case);

    TCase *safemap = tcase_create("safemap");
    tcase_add_test(safemap, test_safemap_delete_ends_the_waiting_worker);
    tcase_add_test(safemap, test_safemap_send_to_missing_key_fails);
    tcase_add_test(safemap, test_safemap_put_closes_the_replaced_channel);
    tcase_add_test(safemap, test_safemap_destroy_closes_remaining_channels);
    suite_add_tcase(s, safemap);

    return s;
}

int main(void) {
    SRunner *runner = srunner_create(toolkit_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
