/* SPDX-License-Identifier: MIT */
/* hmap.c: a string-keyed hash map with an explicit shrink policy.
 *
 * Separate chaining over a power-of-two table of buckets; each entry is one
 * allocation holding its copy of the key. The table doubles when the load
 * passes 3/4. Deleting never shrinks it by itself, like Go's maps: that is
 * the behaviour behind leak pattern 5, where a table that once held a million
 * entries keeps its buckets forever. Shrinking is therefore a policy the
 * owner chooses, either explicitly or with LC_HMAP_AUTO_SHRINK, and an empty
 * map shrinks to no table at all.
 *
 * A key entering or leaving a map fires the toolkit's USDT probes
 * (probes.h), so that a tracer can list the keys never deleted. */
#include "leakcheck_toolkit.h"

#include "probes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 8

struct lc_hmap_entry {
    lc_hmap_entry *next;
    uint64_t hash;
    void *value;
    char key[];
};

/* FNV-1a: short keys, no adversary, good enough spread. */
static uint64_t hash_key(const char *key) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

void lc_hmap_init(lc_hmap *m, unsigned flags) {
    *m = (lc_hmap)LC_HMAP_INIT(flags);
}

void lc_hmap_destroy(lc_hmap *m) {
    for (size_t i = 0; i < m->capacity; i++) {
        lc_hmap_entry *e = m->buckets[i];
        while (e) {
            lc_hmap_entry *next = e->next;
            LC_PROBE_MAP_DELETE(m, e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    lc_hmap_init(m, m->flags);
}

size_t lc_hmap_size(const lc_hmap *m) {
    return m->size;
}

size_t lc_hmap_capacity(const lc_hmap *m) {
    return m->capacity;
}

size_t lc_hmap_bucket_bytes(const lc_hmap *m) {
    return m->capacity * sizeof(*m->buckets);
}

/* Rehash every entry into a table of `capacity` buckets (none when 0). */
static int resize(lc_hmap *m, size_t capacity) {
    lc_hmap_entry **buckets = NULL;
    if (capacity > 0) {
        buckets = calloc(capacity, sizeof(*buckets));
        if (!buckets) return -1;
    }
    for (size_t i = 0; i < m->capacity; i++) {
        lc_hmap_entry *e = m->buckets[i];
        while (e) {
            lc_hmap_entry *next = e->next;
            size_t at = e->hash & (capacity - 1);
            e->next = buckets[at];
            buckets[at] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->capacity = capacity;
    return 0;
}

/* The smallest table that holds `size` entries at a load of at most 1/2:
 * far enough from both the grow (3/4) and shrink (1/8) thresholds that a map
 * hovering around one size does not resize back and forth. */
static size_t fitting_capacity(size_t size) {
    if (size == 0) return 0;
    size_t capacity = MIN_CAPACITY;
    while (capacity / 2 < size)
        capacity *= 2;
    return capacity;
}

static lc_hmap_entry **find_slot(const lc_hmap *m, const char *key, uint64_t hash) {
    if (m->capacity == 0) return NULL;
    lc_hmap_entry **slot = &m->buckets[hash & (m->capacity - 1)];
    while (*slot && ((*slot)->hash != hash || strcmp((*slot)->key, key) != 0))
        slot = &(*slot)->next;
    return slot;
}

int lc_hmap_put(lc_hmap *m, const char *key, void *value, void **previous) {
    uint64_t hash = hash_key(key);
    lc_hmap_entry **slot = find_slot(m, key, hash);
    if (slot && *slot) {
        if (previous) *previous = (*slot)->value;
        (*slot)->value = value;
        return 1;
    }
    if ((m->size + 1) * 4 > m->capacity * 3) {
        if (resize(m, m->capacity ? m->capacity * 2 : MIN_CAPACITY) != 0) return -1;
    }
    size_t key_bytes = strlen(key) + 1;
    lc_hmap_entry *e = malloc(sizeof(*e) + key_bytes);
    if (!e) return -1;
    memcpy(e->key, key, key_bytes);
    e->hash = hash;
    e->value = value;
    size_t at = hash & (m->capacity - 1);
    e->next = m->buckets[at];
    m->buckets[at] = e;
    m->size++;
    LC_PROBE_MAP_INSERT(m, e->key);
    return 0;
}

bool lc_hmap_lookup(const lc_hmap *m, const char *key, void **value) {
    lc_hmap_entry **slot = find_slot(m, key, hash_key(key));
    if (!slot || !*slot) return false;
    if (value) *value = (*slot)->value;
    return true;
}

bool lc_hmap_delete(lc_hmap *m, const char *key, void **value) {
    lc_hmap_entry **slot = find_slot(m, key, hash_key(key));
    if (!slot || !*slot) return false;
    lc_hmap_entry *e = *slot;
    *slot = e->next;
    if (value) *value = e->value;
    LC_PROBE_MAP_DELETE(m, e->key);
    free(e);
    m->size--;
    /* A failed shrink leaves a correct map that is merely too large. */
    if ((m->flags & LC_HMAP_AUTO_SHRINK) && m->size < m->capacity / 8) lc_hmap_shrink(m);
    return true;
}

int lc_hmap_shrink(lc_hmap *m) {
    size_t capacity = fitting_capacity(m->size);
    if (capacity >= m->capacity) return 0;
    return resize(m, capacity);
}

void lc_hmap_iter_init(lc_hmap_iter *it, const lc_hmap *m) {
    it->map = m;
    it->bucket = 0;
    it->next = NULL;
}

bool lc_hmap_iter_next(lc_hmap_iter *it, const char **key, void **value) {
    while (!it->next && it->bucket < it->map->capacity)
        it->next = it->map->buckets[it->bucket++];
    const lc_hmap_entry *e = it->next;
    if (!e) return false;
    it->next = e->next;
    if (key) *key = e->key;
    if (value) *value = e->value;
    return true;
}
