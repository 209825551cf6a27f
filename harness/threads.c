/* SPDX-License-Identifier: MIT */
/* threads.c: the thread registry and the interposed pthread calls.
 *
 * Neither valgrind nor LeakSanitizer can tell a thread blocked forever from a
 * thread doing its job, so the library keeps its own record of every thread
 * the program starts: who created it (the `created by` stack), when, its
 * start routine, whether it is joinable, detached, exited or joined, and
 * what it declared it is waiting on. pthread_create starts the thread in a
 * trampoline that fills the record from inside the thread; join and detach
 * retire it. Threads the library did not see start (the main thread, or
 * threads that existed before it was loaded) are found through
 * /proc/self/task and compared by thread id. */
#include "alloc.h"
#include "core.h"
#include "heap.h"
#include "os.h"
#include "spans.h"
#include "sanitizer.h"
#include "stacks.h"
#include "probe.h"
#include "thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The records live in chunks that never move (a thread keeps a pointer to
 * its own for life), reached through a directory of chunks that doubles as
 * the program starts more threads. A directory that was replaced is kept:
 * a reader without the lock may still be looking through it, at records
 * below the lc_thread_recs_end() it read. */
LC_FORK_STATE static lc_thread_rec *first_dir[2];
lc_thread_rec **lc_thread_chunks = first_dir;
static size_t dir_cap = sizeof first_dir / sizeof first_dir[0];
static size_t nchunks;
LC_FORK_STATE static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
LC_FORK_STATE static uint64_t next_id = 1;
LC_FORK_STATE static uint64_t baseline_id = 1;
LC_FORK_STATE static lc_task_list baseline_tasks;
/* Set in a fork child until it starts a thread: the child has one thread,
 * the one that forked, and listing /proc/self/task for its baselines (an
 * open, a directory read and a close, twice in every forked Check test)
 * would only find it. A thread started with a raw clone, which no
 * interposer sees, is then new to the next check: reported, never missed. */
LC_FORK_STATE static bool forked_alone;
static lc_task_list ignored_tasks;
static LC_TLS lc_thread_rec *self_rec;
/* With the first directory (512 threads' records), in the fork state: a
 * forked child's fork handler reads both. */
LC_FORK_STATE static size_t recs_end; /* lc_thread_recs_end() */

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*join_fn)(pthread_t, void **);
typedef int (*timedjoin_fn)(pthread_t, void **, const struct timespec *);
typedef int (*detach_fn)(pthread_t);
typedef void (*exit_fn)(void *);

static struct {
    create_fn create;
    join_fn join, tryjoin;
    timedjoin_fn timedjoin;
    detach_fn detach;
    exit_fn exit;
} real;

static void resolve_real(void) {
    if (real.create) return;
    lc_self_enter();
    real.join = (join_fn)dlsym(RTLD_NEXT, "pthread_join");
    real.tryjoin = (join_fn)dlsym(RTLD_NEXT, "pthread_tryjoin_np");
    real.timedjoin = (timedjoin_fn)dlsym(RTLD_NEXT, "pthread_timedjoin_np");
    real.detach = (detach_fn)dlsym(RTLD_NEXT, "pthread_detach");
    real.exit = (exit_fn)dlsym(RTLD_NEXT, "pthread_exit");
    real.create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    lc_self_leave();
}

void lc_threads_lock(void) {
    pthread_mutex_lock(&registry_lock);
}
void lc_threads_unlock(void) {
    pthread_mutex_unlock(&registry_lock);
}

size_t lc_thread_recs_end(void) {
    return __atomic_load_n(&recs_end, __ATOMIC_ACQUIRE);
}

static size_t rec_index(const lc_thread_rec *r) {
    for (size_t c = 0; c < nchunks; c++)
        if (r >= lc_thread_chunks[c] && r < lc_thread_chunks[c] + LC_THREAD_CHUNK)
            return c * LC_THREAD_CHUNK + (size_t)(r - lc_thread_chunks[c]);
    return 0;
}

/* A detached thread's record outlives its start routine: the thread still
 * runs its TSD destructors and glibc's cleanup after that, with its stack
 * and TLS holding what it works on. The record goes when the kernel says
 * the thread is gone (checked here, when a slot is needed). */
static bool rec_free(lc_thread_rec *r) {
    if (!r->used) return true;
    if (r->detached && r->exited && !r->adopted && !lc_os_task_exists(r->tid)) {
        r->used = 0;
        r->lingering = 0;
        return true;
    }
    return false;
}

/* One more chunk of records; false when no memory is left. Called with the
 * registry locked. */
static bool grow(void) {
    if (nchunks == dir_cap) {
        lc_thread_rec **dir = lc_os_alloc(2 * dir_cap * sizeof *dir);
        if (!dir) return false;
        memcpy(dir, lc_thread_chunks, dir_cap * sizeof *dir);
        __atomic_store_n(&lc_thread_chunks, dir, __ATOMIC_RELEASE);
        dir_cap *= 2;
    }
    lc_thread_rec *chunk = lc_os_alloc(LC_THREAD_CHUNK * sizeof *chunk);
    if (!chunk) return false;
    __atomic_store_n(&lc_thread_chunks[nchunks], chunk, __ATOMIC_RELEASE);
    nchunks++;
    return true;
}

/* A free record, preferring one that no exiting thread still lingers in;
 * the kernel is asked about exited detached threads only when no record is
 * free, and the registry grows only when none of them is gone either. */
static lc_thread_rec *rec_alloc(void) {
    lc_thread_rec *r = NULL, *lingering = NULL;
    for (size_t i = 0; i < nchunks * LC_THREAD_CHUNK && !r; i++) {
        lc_thread_rec *c = lc_thread_rec_at(i);
        if (c->used) continue;
        if (!c->lingering)
            r = c;
        else if (!lingering)
            lingering = c;
    }
    for (size_t i = 0; i < recs_end && !r; i++) {
        lc_thread_rec *c = lc_thread_rec_at(i);
        if (c->used && rec_free(c)) r = c;
    }
    if (!r && grow()) r = lc_thread_rec_at((nchunks - 1) * LC_THREAD_CHUNK);
    if (!r) r = lingering;
    if (!r) return NULL;
    size_t at = rec_index(r);
    memset(r, 0, sizeof *r);
    if (at >= recs_end) __atomic_store_n(&recs_end, at + 1, __ATOMIC_RELEASE);
    r->used = 1;
    r->id = next_id++;
    return r;
}

static lc_thread_rec *rec_by_handle(pthread_t h) {
    for (size_t i = 0; i < recs_end; i++) {
        lc_thread_rec *r = lc_thread_rec_at(i);
        /* A detached thread that exited may linger (rec_free); its handle
         * can already be a new thread's. */
        if (r->used && !r->adopted && !(r->detached && r->exited) && pthread_equal(r->handle, h))
            return r;
    }
    return NULL;
}

/* A retired thread may still be on its way out of the kernel (a detached
 * thread retires itself as it exits; pthread_join returns once the thread
 * has cleared its id, before the kernel unlists its task): the record lingers
 * with the thread's id until a check sees the task gone. */
static void rec_retire(lc_thread_rec *r) {
    if (!r) return;
    r->used = 0;
    r->lingering = r->tid != 0;
}

lc_thread_rec *lc_thread_self_rec(void) {
    if (self_rec) return self_rec;
    /* A thread the library did not start declares a wait: adopt it so the
     * declaration has somewhere to live. Adopted threads are judged by the
     * /proc comparison, not as registered threads. */
    pthread_mutex_lock(&registry_lock);
    lc_thread_rec *r = rec_alloc();
    if (r) {
        r->adopted = 1;
        r->tid = lc_os_tid();
        r->handle = pthread_self();
        r->created_ns = lc_os_now_ns();
    }
    pthread_mutex_unlock(&registry_lock);
    self_rec = r;
    return r;
}

/* The thread is done with the program's code, and says so without the
 * registry lock: a check holds that lock while it looks at the threads,
 * and must see a thread on its way out as exited, not as blocked in a
 * futex (which it would report as leaked once its settle window passed).
 * A detached thread's record stays until its task is gone (rec_free). */
static void mark_exited(lc_thread_rec *r) {
    if (!r) return;
    prctl(PR_GET_NAME, r->name, 0, 0, 0);
    r->exited_ns = lc_os_now_ns();
    __atomic_store_n(&r->exited, 1, __ATOMIC_RELEASE);
    LC_PROBE_THREAD_END(r->tid);
}

static void exit_cleanup(void *arg) {
    lc_thread_rec *r = arg;
    void *alt = r ? (void *)r->altstack : NULL;
    mark_exited(r);
    lc_capture_altstack_leave(alt);
    lc_spans_thread_exit();
    lc_stack_thread_exit();
}

__attribute__((noinline)) void *lc_thread_trampoline(void *p) {
    lc_thread_rec *r = p;
    void *(*fn)(void *) = (void *(*)(void *))r->start_routine;
    void *arg = (void *)(r->start_arg ^ LC_HIDE);
    self_rec = r;
    r->tid = lc_os_tid();
    uintptr_t lo, hi;
    if (!lc_sanitizer_owns_thread_start() && lc_os_thread_stack(&lo, &hi)) {
        r->stack_lo = lo;
        r->stack_hi = hi;
    }
    r->altstack = (uintptr_t)lc_capture_altstack_enter();
    __atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
    LC_PROBE_THREAD_START(r->tid, fn);
    void *ret;
    pthread_cleanup_push(exit_cleanup, r);
    ret = fn(arg);
    pthread_cleanup_pop(1);
    return ret;
}

int pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    resolve_real();
    if (!real.create) return EAGAIN;
    uintptr_t pcs[LC_MAX_DEPTH];
    int depth = lc_unwind(pcs, LC_DEFAULT_DEPTH, __builtin_frame_address(0),
                          (uintptr_t)__builtin_return_address(0));
    lc_stack_id creator = lc_stack_intern(pcs, depth);
    int detached = 0;
    if (attr) {
        int state;
        if (pthread_attr_getdetachstate(attr, &state) == 0)
            detached = state == PTHREAD_CREATE_DETACHED;
    }
    pthread_mutex_lock(&registry_lock);
    forked_alone = false;
    lc_thread_rec *r = rec_alloc();
    if (r) {
        /* The record carries the start routine and its argument (disguised,
         * so the registry never makes the argument look reachable), so
         * starting a thread allocates nothing a fork could strand. */
        r->start_routine = (uintptr_t)fn;
        r->start_arg = (uintptr_t)arg ^ LC_HIDE;
        r->created_by = creator;
        r->created_ns = lc_os_now_ns();
        r->detached = detached;
    }
    pthread_mutex_unlock(&registry_lock);
    /* What glibc allocates here (the thread's DTV, its TLS blocks) is the
     * thread library's bookkeeping, not the program's. */
    lc_runtime_alloc_depth++;
    lc_stack_settle(); /* the new thread may read the stacks' totals at once */
    int rc = r ? real.create(out, attr, lc_thread_trampoline, r) : real.create(out, attr, fn, arg);
    lc_runtime_alloc_depth--;
    if (rc != 0) {
        pthread_mutex_lock(&registry_lock);
        rec_retire(r);
        pthread_mutex_unlock(&registry_lock);
        return rc;
    }
    if (r) r->handle = *out;
    return 0;
}

static void retire_joined(pthread_t h) {
    pthread_mutex_lock(&registry_lock);
    rec_retire(rec_by_handle(h));
    pthread_mutex_unlock(&registry_lock);
}

int pthread_join(pthread_t h, void **ret) {
    resolve_real();
    int rc = real.join(h, ret);
    if (rc == 0) retire_joined(h);
    return rc;
}

int pthread_tryjoin_np(pthread_t h, void **ret) {
    resolve_real();
    int rc = real.tryjoin(h, ret);
    if (rc == 0) retire_joined(h);
    return rc;
}

int pthread_timedjoin_np(pthread_t h, void **ret, const struct timespec *abstime) {
    resolve_real();
    int rc = real.timedjoin(h, ret, abstime);
    if (rc == 0) retire_joined(h);
    return rc;
}

int pthread_detach(pthread_t h) {
    resolve_real();
    int rc = real.detach(h);
    if (rc == 0) {
        pthread_mutex_lock(&registry_lock);
        lc_thread_rec *r = rec_by_handle(h);
        if (r) {
            r->detached = 1;
        }
        pthread_mutex_unlock(&registry_lock);
    }
    return rc;
}

void pthread_exit(void *ret) {
    resolve_real();
    /* The trampoline's cleanup handler marks the thread exited as
     * pthread_exit unwinds; nothing else to record here. */
    real.exit(ret);
    __builtin_unreachable();
}

/* ------------------------------------------------------------ waits */

void lc_thread_wait_begin(const char *kind, const void *object) {
    lc_thread_rec *r = lc_thread_self_rec();
    if (!r) return;
    r->wait_object = (uintptr_t)object ^ LC_HIDE;
    r->wait_since_ns = lc_os_now_ns();
    __atomic_store_n(&r->wait_kind, kind, __ATOMIC_RELEASE);
}

void lc_thread_wait_end(void) {
    lc_thread_rec *r = self_rec;
    if (r) __atomic_store_n(&r->wait_kind, NULL, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ baselines */

LC_CHILD_CODE void lc_threads_baseline(void) {
    /* A forked child that started no thread is this thread alone: nothing
     * to lock out (and no page of libc's lock code to fault in). */
    bool alone = forked_alone;
    if (!alone) pthread_mutex_lock(&registry_lock);
    baseline_id = next_id;
    if (alone)
        lc_os_task_list_self(&baseline_tasks);
    else
        lc_os_list_all_tasks(&baseline_tasks);
    if (!alone) pthread_mutex_unlock(&registry_lock);
}

void lc_ignore_current(void) {
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < recs_end; i++)
        if (lc_thread_rec_at(i)->used) lc_thread_rec_at(i)->ignored = 1;
    lc_os_list_all_tasks(&ignored_tasks);
    pthread_mutex_unlock(&registry_lock);
}

static bool in_list(const lc_task_list *l, pid_t tid) {
    for (size_t i = 0; i < l->n; i++)
        if (l->tid[i] == tid) return true;
    return false;
}

bool lc_threads_is_new(const lc_thread_rec *r) {
    return r->id >= baseline_id && !r->ignored && !r->adopted;
}

bool lc_threads_task_is_new(pid_t tid) {
    return tid != getpid() && !in_list(&baseline_tasks, tid) && !in_list(&ignored_tasks, tid);
}

LC_CHILD_CODE void lc_threads_after_fork_child(void) {
    /* Only the forking thread exists in the child. */
    registry_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER; /* no call into libc's code */
    forked_alone = true;
    /* Only the records that were ever used, and of those only the ones to
     * retire are written: the rest of the registry stays shared with the
     * parent (a Check test in fork mode pays no copy of it). */
    for (size_t i = 0; i < recs_end; i++) {
        lc_thread_rec *r = lc_thread_rec_at(i);
        if (r->used && r != self_rec) r->used = 0;
        r->lingering = 0;
    }
    if (self_rec) {
        self_rec->tid = lc_os_tid();
        self_rec->adopted = 1;
    }
}

void lc_threads_init(void) {
    resolve_real();
    if (lc_os_tid() == getpid())
        (void)lc_capture_altstack_enter(); /* the main thread's, for life */
    lc_threads_baseline();
}
