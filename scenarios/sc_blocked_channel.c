/* SPDX-License-Identifier: MIT */
/* sc_blocked_channel.c: pattern 7, threads blocked on a channel nobody reads.
 *
 * Log producers hand their lines to a shipper through a queue of four slots.
 * The upstream connection drops after two lines and the shipper returns. In
 * the leaky service nothing tells the producers: the queue fills up and each
 * of them blocks in "chan send" forever, holding the line it was sending,
 * while the queue holds four more. In the fixed service the shipper closes a
 * done channel on its way out, whatever the reason, and producers send with a
 * select that also watches done, so they drop their line and end. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdio.h>
#include <stdlib.h>

#define PRODUCERS 4
#define LINES_PER_PRODUCER 8
#define QUEUE_SLOTS 4
#define LINE_BYTES 512
#define LINES_BEFORE_DISCONNECT 2

/* The contexts of shipper and producers; done is NULL in the leaky service.
 * A producer owns its context and its channel references, and frees them
 * when it ends. */
struct shipper {
    lc_chan *queue;
    lc_chan *done;
    int shipped;
};

struct producer {
    lc_chan *queue;
    lc_chan *done;
    int id;
};

static struct producer *new_producer(lc_chan *queue, lc_chan *done, int id) {
    struct producer *p = malloc(sizeof(*p));
    if (p)
        *p = (struct producer){
            .queue = lc_chan_retain(queue), .done = lc_chan_retain(done), .id = id};
    return p;
}

static void free_producer(struct producer *p) {
    lc_chan_free(p->queue);
    lc_chan_free(p->done);
    free(p);
}

/* Start producer `id`; false when it could not be started. */
static bool start_producer(pthread_t *thread, void *(*produce)(void *), lc_chan *queue,
                           lc_chan *done, int id) {
    struct producer *p = new_producer(queue, done, id);
    if (!p) return false;
    char name[16];
    snprintf(name, sizeof(name), "producer-%d", id);
    if (lc_spawn(thread, name, produce, p) != 0) {
        free_producer(p);
        return false;
    }
    return true;
}

static char *format_line(int producer, int n) {
    char *line = malloc(LINE_BYTES);
    if (line) snprintf(line, LINE_BYTES, "producer %d: request %d served", producer, n);
    return line;
}

/* The upstream: accepts a few lines, then the connection is gone. */
static bool upload(struct shipper *s, const char *line) {
    (void)line;
    if (s->shipped == LINES_BEFORE_DISCONNECT) return false;
    s->shipped++;
    return true;
}

static void ship_until_disconnected(struct shipper *s) {
    void *line;
    while (lc_chan_recv(s->queue, &line)) {
        bool shipped = upload(s, line);
        free(line);
        if (!shipped) return;
    }
}

static void *log_shipper(void *arg) {
    ship_until_disconnected(arg);
    return NULL;
}

static void *log_shipper_closing_done(void *arg) {
    struct shipper *s = arg;
    ship_until_disconnected(s);
    lc_chan_close(s->done);
    return NULL;
}

static void *log_producer(void *arg) {
    struct producer *p = arg;
    for (int n = 0; n < LINES_PER_PRODUCER; n++) {
        char *line = format_line(p->id, n);
        if (line && lc_chan_send(p->queue, line) != LC_CHAN_OK) {
            free(line);
            break;
        }
    }
    free_producer(p);
    return NULL;
}

static void *log_producer_watching_done(void *arg) {
    struct producer *p = arg;
    for (int n = 0; n < LINES_PER_PRODUCER; n++) {
        char *line = format_line(p->id, n);
        if (!line) continue;
        lc_select_case cases[] = {{.chan = p->queue, .dir = LC_SELECT_SEND, .value = line},
                                  {.chan = p->done, .dir = LC_SELECT_RECV}};
        if (lc_select(cases, 2, LC_WAIT_FOREVER) != 0 || !cases[0].ok) {
            free(line);
            break;
        }
    }
    free_producer(p);
    return NULL;
}

void sc_blocked_channel_leaky(void) {
    lc_chan *queue = lc_chan_new(QUEUE_SLOTS);
    if (!queue) return;
    struct shipper shipper_ctx = {.queue = queue};
    pthread_t shipper;
    if (lc_spawn(&shipper, "shipper", log_shipper, &shipper_ctx) == 0) {
        for (int i = 0; i < PRODUCERS; i++) {
            pthread_t producer;
            start_producer(&producer, log_producer, queue, NULL, i);
        }
        pthread_join(shipper, NULL);
    }
    lc_chan_free(queue);
}

void sc_blocked_channel_fixed(void) {
    lc_chan *queue = lc_chan_new(QUEUE_SLOTS);
    lc_chan *done = lc_chan_new(0);
    struct shipper shipper_ctx = {.queue = queue, .done = done};
    pthread_t shipper, producers[PRODUCERS];
    int started = 0;
    if (queue && done &&
        lc_spawn(&shipper, "shipper", log_shipper_closing_done, &shipper_ctx) == 0) {
        for (int i = 0; i < PRODUCERS; i++) {
            if (start_producer(&producers[started], log_producer_watching_done, queue, done, i))
                started++;
        }
        pthread_join(shipper, NULL);
        for (int i = 0; i < started; i++)
            pthread_join(producers[i], NULL);
    }
    void *line;
    while (queue && lc_chan_try_recv(queue, &line) == LC_CHAN_OK)
        free(line);
    lc_chan_free(queue);
    lc_chan_free(done);
}
