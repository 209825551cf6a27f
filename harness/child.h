/* SPDX-License-Identifier: MIT */
/* child.h: run a function in a forked child with a deadline and bring back
 * its result (child.c).
 *
 * The child writes its result into an unlinked memory file that the parent
 * created before the fork (so no pipe can fill up and stall a child
 * mid-result, and the parent reads it whole at the end), then seals it and
 * stops itself; the parent, seeing a stopped child with a sealed result,
 * kills it. A child discarded that way runs no exit-time code at all, not
 * even the leak search of a checker it runs under (valgrind), which could
 * only find what the child left behind on purpose. A child past its
 * deadline is killed and reported as timed out; one that dies or exits
 * without sealing a result is reported with its wait status, and whatever
 * it wrote is still there to read. Used by the fault sweep (run), the
 * scenario runner and `leakcheck fault-sweep`. */
#ifndef LC_CHILD_H
#define LC_CHILD_H

#include "os.h"

typedef enum lc_child_end {
    LC_CHILD_RUNNING,   /* not ended yet */
    LC_CHILD_DONE,      /* sealed its result (and was discarded) */
    LC_CHILD_EXITED,    /* exited without sealing a result: WEXITSTATUS(status) */
    LC_CHILD_SIGNALED,  /* died of WTERMSIG(status) without sealing a result */
    LC_CHILD_TIMED_OUT, /* was still running at its deadline and was killed */
    LC_CHILD_LOST,      /* waitpid failed: the errno is in .error */
} lc_child_end;

typedef struct lc_child {
    pid_t pid;
    int fd;            /* the result file, shared with the child */
    uint64_t deadline; /* lc_os_now_ns() at which the child is killed; 0: never */
    bool killed;       /* at its deadline */
    lc_child_end end;
    int status; /* the wait status, once ended (LOST aside) */
    int error;  /* errno, for LC_CHILD_LOST */
    size_t len; /* the result's length: sealed, or as much as was written */
} lc_child;

/* The function a child runs, with the result file to write to (with
 * lc_child_write, or a stdio stream of its own over a dup of it). When it
 * returns, the child seals what it wrote (lc_child_seal(fd, 0)). */
typedef void (*lc_child_fn)(int fd, void *arg);

/* Fork a child that runs fn(fd, arg); timeout_seconds > 0 is its deadline.
 * 0, or -1 with errno set (nothing left to clean up). The result file is
 * close-on-exec: a child that execs another program leaves it behind. */
int lc_child_start(lc_child *c, double timeout_seconds, lc_child_fn fn, void *arg);

/* In the child: write all of p (0, or -1 on an error). */
int lc_child_write(int fd, const void *p, size_t len);
/* In the child: seal what was written as the complete result, stop so the
 * parent discards it, and leave with `status` should something continue
 * it instead (with 1 at once when the seal cannot be written). Any thread
 * of the child may call it, once; a stdio stream over the file must have
 * been flushed. */
_Noreturn void lc_child_seal(int fd, int status);

/* Reap the child if it ended, discard it if it stopped after sealing (let
 * it go on if something else stopped it), kill it past its deadline. True
 * once it ended (c->end says how); never blocks. */
bool lc_child_poll(lc_child *c);
/* Block until the child ended. */
void lc_child_wait(lc_child *c);
/* Copy up to len bytes of the result from offset `at`; how many. */
size_t lc_child_read(const lc_child *c, void *buf, size_t len, size_t at);
/* Close the result file (the child must have ended). */
void lc_child_close(lc_child *c);

#endif
