/* SPDX-License-Identifier: MIT */
/* sc_self_registration.c: pattern 4, self-registration without
 * deregistration.
 *
 * A batch scheduler runs each job on a thread of its own. So that an operator
 * can cancel a running job, the job registers a control channel under its id
 * in the global registry of running jobs when it starts. The leaky job
 * returns without deregistering: no thread leaks, every thread is joined,
 * yet the registry keeps one entry and one channel for every job that ever
 * ran. That growth stays reachable from a global, which makes it invisible to
 * a tool that reports only lost memory. The fixed job deregisters on its way
 * out, and the registry, which shrinks automatically, ends up owning nothing. */
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <stdio.h>

#define JOBS 8
#define JOB_STEPS 4
#define CANCELLED_JOB "job-3"

static lc_safemap running_jobs = LC_SAFEMAP_INIT;

/* The message an operator sends to cancel a job. */
static char cancel_request;

struct job {
    char id[16];
    int steps_done;
    bool cancelled;
};

/* Register the job and return its control channel (a reference for the
 * job), or NULL when out of memory. */
static lc_chan *register_job(const char *id) {
    lc_chan *control = lc_chan_new(1);
    if (control && lc_safemap_put(&running_jobs, id, control) != 0) {
        lc_chan_free(control);
        control = NULL;
    }
    return control;
}

static void do_steps(struct job *job, lc_chan *control) {
    for (int step = 0; step < JOB_STEPS && !job->cancelled; step++) {
        lc_sleep_ms(1);
        job->steps_done++;
        job->cancelled = lc_chan_try_recv(control, NULL) == LC_CHAN_OK;
    }
}

static void *run_job(void *arg) {
    struct job *job = arg;
    lc_chan *control = register_job(job->id);
    if (control) {
        do_steps(job, control);
        lc_chan_free(control);
    }
    return NULL;
}

static void *run_job_and_deregister(void *arg) {
    struct job *job = arg;
    lc_chan *control = register_job(job->id);
    if (control) {
        do_steps(job, control);
        lc_safemap_delete(&running_jobs, job->id);
        lc_chan_free(control);
    }
    return NULL;
}

static void run_batch(void *(*job_main)(void *)) {
    struct job jobs[JOBS];
    pthread_t threads[JOBS];
    int started = 0;
    for (int i = 0; i < JOBS; i++) {
        jobs[i] = (struct job){.steps_done = 0};
        snprintf(jobs[i].id, sizeof(jobs[i].id), "job-%d", i);
        if (lc_spawn(&threads[started], jobs[i].id, job_main, &jobs[i]) == 0) started++;
    }
    /* Whether the job is still running or long gone, this must not block:
     * the control channel has room for one request. */
    lc_safemap_send(&running_jobs, CANCELLED_JOB, &cancel_request);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

void sc_self_registration_leaky(void) {
    run_batch(run_job);
}

void sc_self_registration_fixed(void) {
    run_batch(run_job_and_deregister);
}
