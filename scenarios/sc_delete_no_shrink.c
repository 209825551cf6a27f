/* SPDX-License-Identifier: MIT */
/* sc_delete_no_shrink.c: pattern 5, delete does not shrink.
 *
 * A login service keeps its sessions in a table for the life of the process.
 * A burst of 25 000 logins grows the table to 65 536 buckets; when every one
 * of those sessions has logged out, the table is empty, yet the leaky table
 * still owns its 512 KiB bucket array: live bytes stay high although the
 * size is 0, and stay reachable from a global. The fixed table shrinks when
 * its load falls below 1/8, and gives its bucket array back entirely once it
 * is empty. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdint.h>
#include <stdio.h>

#define BURST_LOGINS 25000

static lc_hmap sessions = LC_HMAP_INIT(0);
static lc_hmap shrinking_sessions = LC_HMAP_INIT(LC_HMAP_AUTO_SHRINK);

static void session_token(char *token, size_t size, long login) {
    snprintf(token, size, "sess-%08lx", (unsigned long)login * 2654435761ul);
}

/* Values are user ids: a session needs nothing else here. Kept out of line
 * so that a report on the table's memory names the call that grew it. */
static __attribute__((noinline)) void log_in(lc_hmap *table, long login) {
    char token[32];
    session_token(token, sizeof(token), login);
    lc_hmap_put(table, token, (void *)(uintptr_t)(1000 + login % 977), NULL);
}

static void log_out(lc_hmap *table, long login) {
    char token[32];
    session_token(token, sizeof(token), login);
    lc_hmap_delete(table, token, NULL);
}

static void serve_login_burst(lc_hmap *table) {
    for (long login = 0; login < BURST_LOGINS; login++)
        log_in(table, login);
    for (long login = 0; login < BURST_LOGINS; login++)
        log_out(table, login);
}

void sc_delete_no_shrink_leaky(void) {
    serve_login_burst(&sessions);
}

void sc_delete_no_shrink_fixed(void) {
    serve_login_burst(&shrinking_sessions);
}
