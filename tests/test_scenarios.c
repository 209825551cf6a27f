/* SPDX-License-Identifier: MIT */
/* test_scenarios.c: the reproduction scenarios and the runner that runs them.
 *
 * Every variant of every scenario runs in a forked child, as the runner runs
 * it: baseline, variant, collection point, check at a zero budget. The child
 * sends its result back through a pipe and is discarded, so a leaky variant
 * may leave its threads blocked. The leaky variant must leak what its
 * scenario declares (thread count and wait, objects, bytes, the function the
 * report names) and the fixed variant must be clean. These assertions are
 * written out here, apart from the runner's own judging, so that a runner
 * that judged wrongly would not hide a scenario that stopped leaking.
 *
 * The runner is tested on scenario lists of the test's own: a variant that
 * crashes is reported as a crash with its signal and the runner goes on; a
 * variant that hangs is reported as timed out with a thread dump that shows
 * the hung thread; two jobs give the verdicts of one; the JSON and TAP
 * outputs are well-formed.
 *
 * Nothing the children leak is the parent's: the parent frees every result,
 * so the suite is clean under valgrind in both Check fork modes. A child
 * stops itself once its result is sent and the parent kills it, so that
 * memcheck never searches it for the leaks its variant made on purpose (some,
 * such as the arenas of cleanup-never-runs, are unreachable by design). */
#include "scenario.h"
#include "scenarios.h"
#include "leakcheck_toolkit.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

/* Seconds a variant's child may take before SIGALRM ends it; valgrind runs
 * everything some twenty times slower. */
#define CHILD_ALARM_SECONDS 120

/* ------------------------------------------------ one variant in a child */

/* What a child sends back: the check's result and whether its report names
 * the function the scenario declares, then the report itself. */
struct variant_outcome {
    lc_result res;
    int names_function;
    size_t report_len;
};

static void write_fully(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3);
        c += w;
        n -= (size_t)w;
    }
}

/* Everything the child wrote until it closed the pipe; NULL on an error. */
static char *read_until_eof(int fd, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) return NULL;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static _Noreturn void run_variant_in_child(const lc_scenario *sc, bool leaky, int fd) {
    signal(SIGALRM, SIG_DFL); /* not Check's handler, which a CK_FORK=no runner leaves */
    alarm(CHILD_ALARM_SECONDS);
    lc_baseline();
    (leaky ? sc->leaky : sc->fixed)();
    lc_collect();
    struct variant_outcome out;
    memset(&out, 0, sizeof out);
    lc_verify(&(const lc_options){.struct_version = LC_OPTIONS_VERSION,
                                  .quiet = 1,
                                  .budget = "bytes=0,objects=0,threads=0",
                                  .settle_seconds = leaky ? LC_SCENARIOS_LEAKY_SETTLE : 0},
              &out.res);
    const char *report = lc_last_report();
    out.names_function = sc->expect.must_name && strstr(report, sc->expect.must_name) != NULL;
    out.report_len = strlen(report);
    write_fully(fd, &out, sizeof out);
    write_fully(fd, report, out.report_len);
    close(fd);
    /* As the runner's children: stopped, then killed by the parent, the
     * child runs no exit-time code, not even memcheck's leak search, which
     * would report the leaks the variant made on purpose. */
    raise(SIGSTOP);
    _exit(0);
}

/* Run one variant in a child; *report receives the check's text report (the
 * caller frees it). */
static struct variant_outcome run_variant(const lc_scenario *sc, bool leaky, char **report) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        run_variant_in_child(sc, leaky, fds[1]);
    }
    close(fds[1]);
    size_t len = 0;
    char *data = read_until_eof(fds[0], &len);
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR)
        continue;
    if (WIFSTOPPED(status)) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            continue;
    }
    struct variant_outcome out;
    memset(&out, 0, sizeof out);
    bool complete = data && len >= sizeof out;
    if (complete) {
        memcpy(&out, data, sizeof out);
        complete = len - sizeof out == out.report_len;
    }
    if (!complete) free(data);
    ck_assert_msg(complete, "%s (%s): the child sent no result (status 0x%x)", sc->name,
                  leaky ? "leaky" : "fixed", (unsigned)status);
    *report = strndup(data + sizeof out, out.report_len);
    free(data);
    ck_assert_ptr_nonnull(*report);
    return out;
}

/* --------------------------------------------- each variant as declared */

/* Whether every leaked thread group waits on (or is in the state) `wait`. */
static bool all_threads_in(const lc_result *r, const char *wait) {
    for (int i = 0; i < r->nthreads; i++)
        if (strcmp(r->threads[i].wait, wait) != 0 && strcmp(r->threads[i].state, wait) != 0)
            return false;
    return true;
}

START_TEST(test_leaky_variant_leaks_what_its_scenario_declares) {
    const lc_scenario *sc = &lc_scenarios[_i];
    const lc_scenario_expect *e = &sc->expect;
    char *report;
    struct variant_outcome out = run_variant(sc, true, &report);
    const lc_result *r = &out.res;
    /* Every assertion is checked before the report is freed. */
    char why[512] = "";
    if (r->verdict != 1)
        snprintf(why, sizeof why, "verdict %d, expected a leak", r->verdict);
    else if (r->leaked_threads != e->threads)
        snprintf(why, sizeof why, "%lld leaked threads, declared %d", r->leaked_threads,
                 e->threads);
    else if (e->wait && !all_threads_in(r, e->wait))
        snprintf(why, sizeof why, "leaked threads not all in \"%s\"", e->wait);
    else if (r->leaked_objects < e->min_objects)
        snprintf(why, sizeof why, "%lld leaked objects, declared at least %lld", r->leaked_objects,
                 e->min_objects);
    else if (r->leaked_bytes < e->min_bytes)
        snprintf(why, sizeof why, "%lld leaked bytes, declared at least %lld", r->leaked_bytes,
                 e->min_bytes);
    else if (e->must_name && !out.names_function)
        snprintf(why, sizeof why, "the report does not name %s", e->must_name);
    bool met = why[0] == '\0';
    if (!met) fprintf(stderr, "%s (leaky): %s; report:\n%s\n", sc->name, why, report);
    free(report);
    ck_assert_msg(met, "%s (leaky): %s", sc->name, why);
}
END_TEST

START_TEST(test_fixed_variant_is_clean_at_a_zero_budget) {
    const lc_scenario *sc = &lc_scenarios[_i];
    char *report;
    struct variant_outcome out = run_variant(sc, false, &report);
    const lc_result *r = &out.res;
    bool clean =
        r->verdict == 0 && r->leaked_threads == 0 && r->leaked_objects == 0 && r->leaked_bytes == 0;
    if (!clean) fprintf(stderr, "%s (fixed) is not clean; report:\n%s\n", sc->name, report);
    free(report);
    ck_assert_msg(clean, "%s (fixed): verdict %d, %lld threads, %lld objects leaked", sc->name,
                  r->verdict, r->leaked_threads, r->leaked_objects);
}
END_TEST

START_TEST(test_catalogue_has_the_seven_patterns_with_unique_names) {
    ck_assert_uint_eq(lc_scenario_count, 7);
    for (size_t i = 0; i < lc_scenario_count; i++) {
        ck_assert_ptr_eq(lc_scenario_find(lc_scenarios[i].name), &lc_scenarios[i]);
        ck_assert_ptr_nonnull(lc_scenarios[i].leaky);
        ck_assert_ptr_nonnull(lc_scenarios[i].fixed);
    }
    ck_assert_ptr_null(lc_scenario_find("no-such-scenario"));
    ck_assert_ptr_null(lc_scenario_find(NULL));
}
END_TEST

/* ------------------------------------------------ the runner's own cases */

/* A variant that leaks one block, kept reachable from a global so that the
 * discarded child loses nothing in memcheck's eyes. */
static void *kept_block;

static __attribute__((noinline)) void keep_a_block_forever(void) {
    kept_block = malloc(100);
}

static void allocate_and_free_a_block(void) {
    free(malloc(100));
}

static void crash_with_a_segfault(void) {
    /* The crash is the point; a core file of it is not. */
    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
    raise(SIGSEGV);
}

static void do_nothing(void) {}

/* Receive from a channel nobody sends on or closes. */
static void *wait_for_a_reply_nobody_sends(void *arg) {
    lc_chan_recv(arg, NULL);
    return NULL;
}

static void hang_waiting_for_a_worker(void) {
    lc_chan *replies = lc_chan_new(0);
    pthread_t worker;
    if (replies && lc_spawn(&worker, "stuck-worker", wait_for_a_reply_nobody_sends, replies) == 0)
        pthread_join(worker, NULL);
}

static const lc_scenario keeps_a_block = {
    .name = "keeps-a-block",
    .summary = "a block kept from a global, and its fix",
    .leaky = keep_a_block_forever,
    .fixed = allocate_and_free_a_block,
    .expect = {.threads = 0,
               .min_objects = 1,
               .min_bytes = 100,
               .must_name = "keep_a_block_forever"},
};

static const lc_scenario crashes = {
    .name = "crashes",
    .summary = "the leaky variant dies of SIGSEGV",
    .leaky = crash_with_a_segfault,
    .fixed = do_nothing,
    .expect = {.threads = 0, .min_objects = 1},
};

static const lc_scenario hangs = {
    .name = "hangs",
    .summary = "the leaky variant waits forever for a worker stuck in chan receive",
    .leaky = hang_waiting_for_a_worker,
    .fixed = do_nothing,
    .expect = {.threads = 1, .wait = "chan receive"},
};

static lc_variant_result *execute(const lc_scenario *const *list, size_t n,
                                  const lc_scenarios_opts *o, int *unmet) {
    lc_variant_result *results = NULL;
    *unmet = lc_scenarios_execute(list, n, o, &results);
    ck_assert_msg(*unmet >= 0, "the runner failed: %s", strerror(errno));
    return results;
}

START_TEST(test_runner_reports_a_crash_with_its_signal_and_goes_on) {
    const lc_scenario *list[] = {&crashes, &keeps_a_block};
    int unmet;
    lc_variant_result *r = execute(list, 2, &(lc_scenarios_opts){.timeout = 60}, &unmet);
    lc_variant_result crashed = r[0], crash_fix = r[1], leak = r[2], fix = r[3];
    bool crash_named = strstr(crashed.why, "signal 11") != NULL;
    lc_variant_results_free(r, 4);

    ck_assert_int_eq(unmet, 1);
    ck_assert_int_eq(crashed.outcome, LC_VARIANT_CRASHED);
    ck_assert_int_eq(crashed.signal, SIGSEGV);
    ck_assert(!crashed.expectation_met);
    ck_assert_msg(crash_named, "the crash is not described with its signal");
    ck_assert_int_eq(crash_fix.outcome, LC_VARIANT_CHECKED);
    ck_assert(crash_fix.expectation_met);
    ck_assert_int_eq(leak.outcome, LC_VARIANT_CHECKED);
    ck_assert(leak.expectation_met);
    ck_assert_int_eq(leak.check.leaked_objects, 1);
    ck_assert_int_eq(fix.outcome, LC_VARIANT_CHECKED);
    ck_assert(fix.expectation_met);
}
END_TEST

/* The deadline of runs that include the hanging scenario, whose fixed
 * variant must finish within it: under valgrind on a loaded machine a
 * forked variant's check alone can take more than a second. */
#define HANG_TIMEOUT (RUNNING_ON_VALGRIND ? 10 : 1)

static const char *timed_out_text(void) {
    static char text[64];
    snprintf(text, sizeof text, "timed out after %.1f s", (double)HANG_TIMEOUT);
    return text;
}

START_TEST(test_runner_reports_a_hang_as_timed_out_with_a_dump_showing_the_hung_thread) {
    const lc_scenario *list[] = {&hangs};
    int unmet;
    lc_variant_result *r = execute(list, 1, &(lc_scenarios_opts){.timeout = HANG_TIMEOUT}, &unmet);
    lc_variant_result hung = r[0], fix = r[1];
    const char *dump = hung.report ? hung.report : "";
    bool says_timed_out = strstr(dump, timed_out_text()) != NULL;
    bool names_thread = strstr(dump, "stuck-worker") != NULL;
    bool names_function = strstr(dump, "wait_for_a_reply_nobody_sends") != NULL;
    bool names_wait = strstr(dump, "chan receive") != NULL;
    if (!(says_timed_out && names_thread && names_function && names_wait))
        fprintf(stderr, "thread dump of the hang:\n%s\n", dump);
    lc_variant_results_free(r, 2);

    ck_assert_int_eq(unmet, 1);
    ck_assert_int_eq(hung.outcome, LC_VARIANT_TIMED_OUT);
    ck_assert(!hung.expectation_met);
    ck_assert_double_ge(hung.seconds, HANG_TIMEOUT);
    ck_assert_msg(says_timed_out, "the dump does not say the variant timed out");
    ck_assert_msg(names_thread, "the dump does not name the hung thread");
    ck_assert_msg(names_function, "the dump does not show where the hung thread waits");
    ck_assert_msg(names_wait, "the dump does not show what the hung thread waits on");
    ck_assert_int_eq(fix.outcome, LC_VARIANT_CHECKED);
    ck_assert(fix.expectation_met);
}
END_TEST

START_TEST(test_runner_gives_the_same_verdicts_with_two_jobs_as_with_one) {
    enum { MAX = 32 };
    const lc_scenario *list[MAX];
    ck_assert_uint_le(lc_scenario_count + 2, MAX);
    size_t n = 0;
    for (size_t i = 0; i < lc_scenario_count; i++)
        list[n++] = &lc_scenarios[i];
    list[n++] = &crashes;
    list[n++] = &keeps_a_block;
    int unmet_one, unmet_two;
    lc_variant_result *one =
        execute(list, n, &(lc_scenarios_opts){.jobs = 1, .timeout = 60}, &unmet_one);
    lc_variant_result *two =
        execute(list, n, &(lc_scenarios_opts){.jobs = 2, .timeout = 60}, &unmet_two);
    char differs[768] = "";
    for (size_t i = 0; i < 2 * n && !differs[0]; i++) {
        const lc_variant_result *a = &one[i], *b = &two[i];
        if (a->scenario != b->scenario || a->leaky != b->leaky || a->outcome != b->outcome ||
            a->expectation_met != b->expectation_met || a->check.verdict != b->check.verdict ||
            a->check.leaked_threads != b->check.leaked_threads)
            snprintf(differs, sizeof differs,
                     "%s (%s): jobs 1 gave outcome %d verdict %d (%s), jobs 2 %d %d (%s)",
                     a->scenario->name, a->leaky ? "leaky" : "fixed", a->outcome, a->check.verdict,
                     a->why, b->outcome, b->check.verdict, b->why);
    }
    lc_variant_results_free(one, 2 * n);
    lc_variant_results_free(two, 2 * n);

    ck_assert_msg(!differs[0], "%s", differs);
    ck_assert_int_eq(unmet_one, 1); /* the crash */
    ck_assert_int_eq(unmet_two, 1);
}
END_TEST

/* ------------------------------------------------ output formats */

/* Run list with options o and return what the runner printed (caller frees). */
static char *printed(const lc_scenario *const *list, size_t n, const lc_scenarios_opts *o) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    int unmet = lc_scenarios_run(list, n, o, out);
    fclose(out);
    ck_assert_int_ge(unmet, 0);
    return text;
}

/* A JSON parser that only validates: each function consumes one element of
 * the grammar at *p and returns false on anything RFC 8259 does not allow. */
static void json_space(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool json_value(const char **p, int depth);

static bool json_string_token(const char **p) {
    if (**p != '"') return false;
    for ((*p)++; **p != '"'; (*p)++) {
        unsigned char c = (unsigned char)**p;
        if (c < 0x20) return false;
        if (c != '\\') continue;
        (*p)++;
        if (**p == 'u') {
            for (int k = 0; k < 4; k++) {
                (*p)++;
                if (!strchr("0123456789abcdefABCDEF", **p) || !**p) return false;
            }
        } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
            return false;
        }
    }
    (*p)++;
    return true;
}

static bool json_number(const char **p) {
    const char *start = *p;
    if (**p == '-') (*p)++;
    if (**p == '0')
        (*p)++;
    else if (**p >= '1' && **p <= '9')
        while (**p >= '0' && **p <= '9')
            (*p)++;
    else
        return false;
    if (**p == '.') {
        (*p)++;
        if (!(**p >= '0' && **p <= '9')) return false;
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-') (*p)++;
        if (!(**p >= '0' && **p <= '9')) return false;
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    return *p > start;
}

static bool json_members(const char **p, char close, bool keyed, int depth) {
    (*p)++;
    json_space(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        json_space(p);
        if (keyed) {
            if (!json_string_token(p)) return false;
            json_space(p);
            if (**p != ':') return false;
            (*p)++;
        }
        if (!json_value(p, depth + 1)) return false;
        json_space(p);
        if (**p == close) {
            (*p)++;
            return true;
        }
        if (**p != ',') return false;
        (*p)++;
    }
}

static bool json_value(const char **p, int depth) {
    if (depth > 64) return false;
    json_space(p);
    switch (**p) {
    case '{':
        return json_members(p, '}', true, depth);
    case '[':
        return json_members(p, ']', false, depth);
    case '"':
        return json_string_token(p);
    case 't':
        return strncmp(*p, "true", 4) == 0 && (*p += 4);
    case 'f':
        return strncmp(*p, "false", 5) == 0 && (*p += 5);
    case 'n':
        return strncmp(*p, "null", 4) == 0 && (*p += 4);
    default:
        return json_number(p);
    }
}

/* Whether line is exactly one JSON object. */
static bool json_object_line(const char *line) {
    const char *p = line;
    json_space(&p);
    if (*p != '{' || !json_value(&p, 0)) return false;
    json_space(&p);
    return *p == '\0';
}

/* What the JSON lines of one run looked like. */
struct json_census {
    int lines, malformed, with_fields, crashes, timeouts;
    char first_malformed[160];
};

static void census_of_json(char *text, struct json_census *c) {
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        c->lines++;
        if (!json_object_line(line)) {
            if (!c->malformed++)
                snprintf(c->first_malformed, sizeof c->first_malformed, "%s", line);
            continue;
        }
        c->with_fields += strstr(line, "\"scenario\": \"") && strstr(line, "\"variant\": \"") &&
                          strstr(line, "\"verdict\": \"") &&
                          strstr(line, "\"schema\": \"leakcheck/1\"");
        c->crashes += strstr(line, "\"verdict\": \"crash\", \"signal\": 11") != NULL;
        char dump_start[96];
        snprintf(dump_start, sizeof dump_start, "\"thread_dump\": \"%s", timed_out_text());
        c->timeouts += strstr(line, "\"verdict\": \"timeout\"") && strstr(line, dump_start);
    }
}

START_TEST(test_json_output_is_one_well_formed_object_per_variant) {
    const lc_scenario *list[] = {&keeps_a_block, &crashes, &lc_scenarios[0]};
    const lc_scenario *hang[] = {&hangs};
    struct json_census c = {0};
    char *text = printed(list, 3, &(lc_scenarios_opts){.format = LC_SCENARIOS_JSON, .timeout = 60});
    census_of_json(text, &c);
    free(text);
    /* A thread dump has quotes, backslashes and newlines to escape. */
    text = printed(hang, 1,
                   &(lc_scenarios_opts){.format = LC_SCENARIOS_JSON, .timeout = HANG_TIMEOUT});
    census_of_json(text, &c);
    free(text);

    ck_assert_int_eq(c.lines, 8);
    ck_assert_msg(c.malformed == 0, "%d malformed lines, the first: %s", c.malformed,
                  c.first_malformed);
    ck_assert_int_eq(c.with_fields, 8);
    ck_assert_msg(c.crashes == 1, "the crash is not a \"crash\" verdict with its signal");
    ck_assert_msg(c.timeouts == 1, "the hang is not a \"timeout\" verdict with its thread dump");
}
END_TEST

START_TEST(test_tap_output_has_a_plan_and_one_test_line_per_variant_in_order) {
    const lc_scenario *list[] = {&keeps_a_block, &crashes};
    char *text = printed(list, 2, &(lc_scenarios_opts){.format = LC_SCENARIOS_TAP, .timeout = 60});
    const char *want[] = {"ok 1 - keeps-a-block leaky: leak", "ok 2 - keeps-a-block fixed: clean",
                          "not ok 3 - crashes leaky: crashed (signal 11",
                          "ok 4 - crashes fixed: clean"};
    char problem[256] = "";
    int tests = 0, line_no = 0;
    for (char *line = strtok(text, "\n"); line && !problem[0]; line = strtok(NULL, "\n")) {
        line_no++;
        if (line_no == 1) {
            if (strcmp(line, "1..4") != 0) snprintf(problem, sizeof problem, "plan: %s", line);
        } else if (line[0] != '#') {
            if (tests >= 4 || strncmp(line, want[tests], strlen(want[tests])) != 0)
                snprintf(problem, sizeof problem, "test line %d: %s", tests + 1, line);
            tests++;
        }
    }
    free(text);

    ck_assert_msg(!problem[0], "%s", problem);
    ck_assert_int_eq(tests, 4);
}
END_TEST

START_TEST(test_text_output_has_a_row_per_variant_and_a_summary) {
    const lc_scenario *list[] = {&keeps_a_block};
    char *text = printed(list, 1, &(lc_scenarios_opts){.verbose = 1, .timeout = 60});
    bool header = strstr(text, "scenario ") && strstr(text, "top suspect");
    bool leaky_row = strstr(text, "\nkeeps-a-block              leaky   leak ") != NULL;
    bool fixed_row = strstr(text, "\nkeeps-a-block              fixed   clean ") != NULL;
    bool report = strstr(text, "=== keeps-a-block (leaky)") && strstr(text, "leakcheck: LEAK");
    bool summary = strstr(text, "2 variants, 0 expectations not met\n") != NULL;
    if (!(header && leaky_row && fixed_row && report && summary))
        fprintf(stderr, "runner output:\n%s\n", text);
    free(text);

    ck_assert(header);
    ck_assert(leaky_row);
    ck_assert(fixed_row);
    ck_assert_msg(report, "verbose output lacks the full report");
    ck_assert(summary);
}
END_TEST

/* ------------------------------------------------------------ the suite */

static Suite *scenarios_suite(void) {
    Suite *s = suite_create("scenarios");
    /* Under valgrind every child is slow to start, check and symbolize. */
    int timeout = RUNNING_ON_VALGRIND ? 600 : 120;

    TCase *variants = tcase_create("variants");
    tcase_set_timeout(variants, timeout);
    tcase_add_test(variants, test_catalogue_has_the_seven_patterns_with_unique_names);
    tcase_add_loop_test(variants, test_leaky_variant_leaks_what_its_scenario_declares, 0,
                        (int)lc_scenario_count);
    tcase_add_loop_test(variants, test_fixed_variant_is_clean_at_a_zero_budget, 0,
                        (int)lc_scenario_count);
    suite_add_tcase(s, variants);

    TCase *runner = tcase_create("runner");
    tcase_set_timeout(runner, timeout);
    tcase_add_test(runner, test_runner_reports_a_crash_with_its_signal_and_goes_on);
    tcase_add_test(runner,
                   test_runner_reports_a_hang_as_timed_out_with_a_dump_showing_the_hung_thread);
    tcase_add_test(runner, test_runner_gives_the_same_verdicts_with_two_jobs_as_with_one);
    suite_add_tcase(s, runner);

    TCase *formats = tcase_create("formats");
    tcase_set_timeout(formats, timeout);
    tcase_add_test(formats, test_json_output_is_one_well_formed_object_per_variant);
    tcase_add_test(formats, test_tap_output_has_a_plan_and_one_test_line_per_variant_in_order);
    tcase_add_test(formats, test_text_output_has_a_row_per_variant_and_a_summary);
    suite_add_tcase(s, formats);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(scenarios_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
