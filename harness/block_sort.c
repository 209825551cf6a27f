/* SPDX-License-Identifier: MIT */
/* block_sort.c: sorting block records without allocating.
 *
 * Snapshots of a million blocks must be sorted by sequence number (to diff
 * them) and by address (to resolve pointers during a scan) in a few
 * milliseconds, from inside a process whose malloc is being measured. An LSD
 * radix sort over 11-bit digits does both in a handful of linear passes,
 * with scratch space from mmap. A few blocks (what a check after a small
 * test sorts) are sorted in place instead: the digit table alone is 16 KB
 * of stack, four fresh pages for a forked test's check to fault in, and the
 * scratch a mapping of its own. */
#include "heap.h"
#include "os.h"

#include <string.h>

typedef uint64_t (*key_fn)(const lc_block *);

static uint64_t key_addr(const lc_block *b) {
    return lc_block_addr(b);
}
static uint64_t key_seq(const lc_block *b) {
    return lc_block_seq(b);
}

#define DIGIT_BITS 11
#define DIGITS (1u << DIGIT_BITS)
#define SMALL_SORT 32

static void insertion_sort(lc_block *b, size_t n, key_fn key) {
    for (size_t i = 1; i < n; i++) {
        lc_block x = b[i];
        uint64_t k = key(&x);
        size_t j = i;
        for (; j > 0 && key(&b[j - 1]) > k; j--)
            b[j] = b[j - 1];
        b[j] = x;
    }
}

/* noinline: the digit table stays out of the frames of callers that sort
 * only a few blocks. */
__attribute__((noinline)) static void radix_sort(lc_block *b, size_t n, key_fn key, int key_bits) {
    size_t bytes = n * sizeof(lc_block);
    lc_block *tmp = lc_os_alloc(bytes);
    if (!tmp) return; /* callers treat an unsorted array as a failed snapshot */
    size_t counts[DIGITS];
    lc_block *src = b, *dst = tmp;
    for (int shift = 0; shift < key_bits; shift += DIGIT_BITS) {
        memset(counts, 0, sizeof counts);
        bool sorted_digit = true;
        uint64_t first = (key(&src[0]) >> shift) & (DIGITS - 1);
        for (size_t i = 0; i < n; i++) {
            uint64_t d = (key(&src[i]) >> shift) & (DIGITS - 1);
            counts[d]++;
            sorted_digit &= d == first;
        }
        if (sorted_digit) continue; /* every key shares this digit */
        size_t sum = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = counts[d];
            counts[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[counts[(key(&src[i]) >> shift) & (DIGITS - 1)]++] = src[i];
        lc_block *t = src;
        src = dst;
        dst = t;
    }
    if (src != b) memcpy(b, src, bytes);
    lc_os_free(tmp, bytes);
}

/* Whether b is sorted already: a copy of the heap comes out of the block
 * store in address order (heap_inband.c), and one pass costs much less
 * than the radix sort's ten. */
static bool is_sorted(const lc_block *b, size_t n, key_fn key) {
    for (size_t i = 1; i < n; i++)
        if (key(&b[i - 1]) > key(&b[i])) return false;
    return true;
}

static void sort_blocks(lc_block *b, size_t n, key_fn key, int key_bits) {
    if (is_sorted(b, n, key)) return;
    if (n <= SMALL_SORT)
        insertion_sort(b, n, key);
    else
        radix_sort(b, n, key, key_bits);
}

void lc_blocks_sort_by_addr(lc_block *b, size_t n) {
    sort_blocks(b, n, key_addr, 48);
}
void lc_blocks_sort_by_seq(lc_block *b, size_t n) {
    sort_blocks(b, n, key_seq, 40);
}

/* By the bits the radix sort's digits cover (whole digits from from_bit,
 * up to bit 63), equal values keeping their order, as in the radix sort. */
static void insertion_sort_u64(uint64_t *v, size_t n, int from_bit, int bits) {
    int covered = (bits + DIGIT_BITS - 1) / DIGIT_BITS * DIGIT_BITS;
    uint64_t mask =
        from_bit + covered >= 64 ? ~0ull << from_bit : ((1ull << covered) - 1) << from_bit;
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && (v[j - 1] & mask) > (x & mask); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* noinline, as radix_sort. */
__attribute__((noinline)) static void radix_sort_u64(uint64_t *v, uint64_t *scratch, size_t n,
                                                     int from_bit, int bits) {
    uint64_t *src = v, *dst = scratch;
    size_t counts[DIGITS];
    for (int shift = from_bit; shift < from_bit + bits; shift += DIGIT_BITS) {
        memset(counts, 0, sizeof counts);
        for (size_t i = 0; i < n; i++)
            counts[(src[i] >> shift) & (DIGITS - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = counts[d];
            counts[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[counts[(src[i] >> shift) & (DIGITS - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, n * sizeof *v);
}

void lc_sort_u64(uint64_t *v, uint64_t *scratch, size_t n, int from_bit, int bits) {
    if (n <= SMALL_SORT)
        insertion_sort_u64(v, n, from_bit, bits);
    else
        radix_sort_u64(v, scratch, n, from_bit, bits);
}
