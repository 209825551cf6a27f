/* SPDX-License-Identifier: MIT */
/* run_workload.c: the allocation-heavy program behind the `leakcheck run`
 * benchmark.
 *
 * It exists to compare whole-program leak checkers on the same unmodified
 * binary: `leakcheck run`, valgrind --leak-check=full and an LSan build of
 * this same source (bench/run.sh). So it behaves like an ordinary program
 * rather than a micro-benchmark: each worker thread, round after round,
 * builds a doubly linked list of records (a strdup'ed name and a payload,
 * a third of which grow by realloc), indexes them in a chained hash table
 * that doubles as it fills, collects them in a vector grown by realloc and
 * their names in a string buffer grown by realloc, looks every name up,
 * deletes half of the index by name, and tears everything down.
 *
 * At exit it leaves a known leak that every checker must find: one 48-byte
 * session record, lost, and the 21-byte name only that record points to
 * (69 bytes in 2 blocks; valgrind counts 48 definitely and 21 indirectly
 * lost). Everything else is freed. A checker that reports no leak did not
 * check.
 *
 * The program prints only `checksum 0x...` (flushed at once), which
 * depends only on the arguments, so that run.sh can tell a complete run from
 * a broken one under every tool.
 *
 * Usage: run_workload [-t THREADS] [-r ROUNDS] [-n RECORDS]
 *        (defaults 4, 60, 2000; -r scales the work linearly) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64

/* The deliberate leak. Its sizes are part of what run.sh checks. */
#define SESSION_NAME "run_workload session" /* 21 bytes with the NUL */
struct session {
    char *name;
    uint64_t id;
    unsigned char state[32];
};
_Static_assert(sizeof(struct session) == 48, "run.sh expects a 48-byte lost block");

struct record {
    struct record *prev, *next;
    char *name;
    unsigned char *payload;
    size_t payload_len;
    uint64_t key;
};

struct entry {
    struct entry *next;
    const char *name;
    uint64_t hash;
    struct record *rec;
};

struct table {
    struct entry **buckets;
    size_t nbuckets, count;
};

struct vec {
    struct record **items;
    size_t len, cap;
};

struct strbuf {
    char *data;
    size_t len, cap;
};

struct worker {
    pthread_t thread;
    unsigned index;
    long rounds, records;
    uint64_t rng;
    uint64_t checksum;
    int failed; /* out of memory */
};

/* Where the leaked session passes through, so that the compiler cannot drop
 * the allocation as unused; cleared at once, which makes the block lost. */
static void *volatile leak_slot;

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static __attribute__((noinline)) void leak_session(void) {
    struct session *s = calloc(1, sizeof *s);
    if (s == NULL) return;
    s->name = strdup(SESSION_NAME);
    s->id = 1;
    leak_slot = s;
    leak_slot = NULL;
}

/* ------------------------------------------------------------ the records */

static struct record *record_new(struct worker *w, long i) {
    char name[48];
    struct record *r = malloc(sizeof *r);
    if (r == NULL) return NULL;
    uint64_t key = next_random(&w->rng);
    snprintf(name, sizeof name, "w%u-r%ld-%016llx", w->index, i, (unsigned long long)key);
    r->name = strdup(name);
    r->payload_len = 16 + key % 49;
    r->payload = malloc(r->payload_len);
    if (r->name == NULL || r->payload == NULL) {
        free(r->name);
        free(r->payload);
        free(r);
        return NULL;
    }
    memset(r->payload, (int)(key & 0xff), r->payload_len);
    if (key % 3 == 0) {
        /* Messages that grow after they are made. */
        size_t grown = r->payload_len * (2 + key % 3);
        unsigned char *p = realloc(r->payload, grown);
        if (p == NULL) {
            free(r->name);
            free(r->payload);
            free(r);
            return NULL;
        }
        memset(p + r->payload_len, (int)(key >> 8 & 0xff), grown - r->payload_len);
        r->payload = p;
        r->payload_len = grown;
    }
    r->key = key;
    r->prev = r->next = NULL;
    return r;
}

static void record_free(struct record *r) {
    free(r->name);
    free(r->payload);
    free(r);
}

/* ----------------------------------------------------------- hash table */

static int table_grow(struct table *t) {
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    struct entry **b = calloc(n, sizeof *b);
    if (b == NULL) return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            size_t k = e->hash & (n - 1);
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static int table_put(struct table *t, struct record *r) {
    if (t->count >= t->nbuckets && table_grow(t) != 0) return -1;
    struct entry *e = malloc(sizeof *e);
    if (e == NULL) return -1;
    e->name = r->name;
    e->hash = hash_name(r->name);
    e->rec = r;
    size_t k = e->hash & (t->nbuckets - 1);
    e->next = t->buckets[k];
    t->buckets[k] = e;
    t->count++;
    return 0;
}

static struct entry **table_find(struct table *t, const char *name) {
    uint64_t h = hash_name(name);
    struct entry **link = &t->buckets[h & (t->nbuckets - 1)];
    for (; *link != NULL; link = &(*link)->next)
        if ((*link)->hash == h && strcmp((*link)->name, name) == 0) return link;
    return NULL;
}

static void table_remove(struct table *t, const char *name) {
    struct entry **link = table_find(t, name);
    if (link == NULL) return;
    struct entry *e = *link;
    *link = e->next;
    free(e);
    t->count--;
}

static void table_free(struct table *t) {
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t->buckets);
    *t = (struct table){0};
}

/* ------------------------------------------------- growing by realloc */

static int vec_push(struct vec *v, struct record *r) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap + v->cap / 2 : 4;
        struct record **items = realloc(v->items, cap * sizeof *items);
        if (items == NULL) return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = r;
    return 0;
}

static int strbuf_append(struct strbuf *s, const char *text) {
    size_t n = strlen(text);
    if (s->len + n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap : 16;
        while (s->len + n + 2 > cap)
            cap *= 2;
        char *data = realloc(s->data, cap);
        if (data == NULL) return -1;
        s->data = data;
        s->cap = cap;
    }
    memcpy(s->data + s->len, text, n);
    s->len += n;
    s->data[s->len++] = ',';
    s->data[s->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------- a round */

/* Build, use and tear down one generation of structures; 0, or -1 when out
 * of memory (everything made so far is freed either way). */
static int one_round(struct worker *w) {
    struct record *head = NULL, *tail = NULL;
    struct table index = {0};
    struct vec all = {0};
    struct strbuf names = {0};
    int rc = 0;

    for (long i = 0; i < w->records && rc == 0; i++) {
        struct record *r = record_new(w, i);
        if (r == NULL) {
            rc = -1;
            break;
        }
        r->prev = tail;
        if (tail != NULL)
            tail->next = r;
        else
            head = r;
        tail = r;
        if (table_put(&index, r) != 0 || vec_push(&all, r) != 0 ||
            strbuf_append(&names, r->name) != 0)
            rc = -1;
    }

    uint64_t sum = names.len;
    for (size_t i = 0; i < all.len && rc == 0; i++) {
        struct entry **link = table_find(&index, all.items[i]->name);
        if (link != NULL) sum += (*link)->rec->payload[(*link)->rec->payload_len - 1];
    }
    for (size_t i = 0; i < all.len; i += 2)
        table_remove(&index, all.items[i]->name);
    sum += index.count;
    w->checksum += sum * (w->index + 1);

    table_free(&index);
    free(all.items);
    free(names.data);
    while (head != NULL) {
        struct record *next = head->next;
        record_free(head);
        head = next;
    }
    return rc;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (long r = 0; r < w->rounds && !w->failed; r++)
        if (one_round(w) != 0) w->failed = 1;
    return NULL;
}

/* ------------------------------------------------------------------ main */

static int parse_long(const char *text, long min, long *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    long threads = 4, rounds = 60, records = 2000;
    int opt;
    while ((opt = getopt(argc, argv, "t:r:n:")) != -1) {
        long *target = opt == 't' ? &threads : opt == 'r' ? &rounds : opt == 'n' ? &records : NULL;
        long min = opt == 't' || opt == 'n' ? 1 : 0;
        if (target == NULL || parse_long(optarg, min, target) != 0 ||
            (opt == 't' && threads > MAX_THREADS)) {
            fprintf(stderr, "usage: run_workload [-t THREADS(1..%d)] [-r ROUNDS] [-n RECORDS]\n",
                    MAX_THREADS);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "run_workload: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    leak_session();

    static struct worker workers[MAX_THREADS];
    long started = 0;
    for (long i = 0; i < threads; i++) {
        workers[i] = (struct worker){.index = (unsigned)i,
                                     .rounds = rounds,
                                     .records = records,
                                     .rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)};
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) break;
        started++;
    }
    uint64_t checksum = 0;
    int failed = started < threads;
    for (long i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        checksum += workers[i].checksum;
        failed |= workers[i].failed;
    }
    if (failed) {
        fprintf(stderr, "run_workload: out of memory or threads\n");
        return 1;
    }
    printf("checksum 0x%016llx\n", (unsigned long long)checksum);
    /* LSan ends a leaking program from its exit-time check, before stdio
     * flushes its buffers; the line must be out by then. */
    if (fflush(stdout) != 0) return 1;
    return 0;
}
