/* SPDX-License-Identifier: MIT */
/* fault_report.c: the results of `leakcheck fault-sweep` as text, JSON and
 * JUnit XML (the contract is in fault_report.h).
 *
 * The failed allocation's stack arrives as the text the program wrote into
 * its status file at exit (harness/fault.c), one frame a line as every
 * report writes it (harness/stack_report.c: "function (file:line)",
 * "function (module+0xoffset)" or "function (0xpc)"); the JSON gives it
 * back as frames of the schema's `stack`. A leak report in JSON is the
 * exit check's own document, embedded whole. */
#include "fault_report.h"
#include "junit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void lc_fault_run_free(lc_fault_run *r) {
    free(r->stack);
    free(r->report);
    free(r->dump);
    free(r->reason);
}

const char *lc_fault_outcome_name(lc_fault_outcome o) {
    switch (o) {
    case LC_FAULT_CLEAN:
        return "clean";
    case LC_FAULT_LEAK:
        return "leak";
    case LC_FAULT_CRASH:
        return "crash";
    case LC_FAULT_HUNG:
        return "hung";
    case LC_FAULT_UNCHECKED:
        return "unchecked";
    }
    return "?";
}

static const char no_stack[] = "    (no stack: the program did not exit)\n";

static void print_indented(FILE *f, const char *text, const char *indent) {
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        fprintf(f, "%s%.*s\n", indent, (int)len, text);
        text += len + (nl ? 1 : 0);
    }
}

/* "allocation N failing: WHAT", without the stack: the text's headline
 * and the JUnit message's start. */
static void headline(lc_buf *b, const lc_fault_run *r, const lc_fault_sweep_info *s) {
    lc_buf_printf(b, "allocation %ld failing: ", r->n);
    switch (r->outcome) {
    case LC_FAULT_CLEAN:
        lc_buf_printf(b, "clean");
        break;
    case LC_FAULT_LEAK:
        lc_buf_printf(b, "leaked");
        break;
    case LC_FAULT_CRASH:
        lc_buf_printf(b, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
        break;
    case LC_FAULT_HUNG:
        lc_buf_printf(b, "hung, killed after %g s", s ? s->timeout : 0);
        break;
    case LC_FAULT_UNCHECKED:
        lc_buf_printf(b, "not checked: %.*s", (int)strcspn(r->reason ? r->reason : "", "\n"),
                      r->reason ? r->reason : "");
        break;
    }
}

static void print_run(FILE *f, const lc_fault_run *r, const lc_fault_sweep_info *s) {
    lc_buf h = {0};
    headline(&h, r, s);
    fprintf(f, "%s; the failed allocation:\n", h.data ? h.data : "?");
    lc_buf_free(&h);
    print_indented(f, r->stack && *r->stack ? r->stack : no_stack, "");
    if (r->outcome == LC_FAULT_LEAK && r->report) print_indented(f, r->report, "  ");
    if (r->outcome == LC_FAULT_HUNG) {
        fprintf(f, "  every thread at the deadline:\n");
        print_indented(f, r->dump ? r->dump : "(no thread dump: the run did not write one)\n",
                       "    ");
    }
}

void lc_fault_print_run(FILE *f, const lc_fault_run *r, const lc_fault_sweep_info *s) {
    print_run(f, r, s);
}

void lc_fault_print_summary(FILE *f, const lc_fault_sweep_info *s) {
    fprintf(f, "leakcheck fault-sweep: ");
    if (s->shard.n) fprintf(f, "shard %d/%d: ", s->shard.k, s->shard.n);
    fprintf(f, "%ld runs, %ld failure points leaked, %ld crashed", s->runs, s->leaked, s->crashed);
    if (s->timeout > 0) fprintf(f, ", %ld hung", s->hung);
    if (s->unchecked) fprintf(f, ", %ld not checked", s->unchecked);
    if (s->shard.n && s->end)
        fprintf(f, "; the sweep ends at allocation %ld, the first not reached", s->end);
    else if (s->shard.n)
        fprintf(f, "; --max stopped the sweep");
    fprintf(f, "\n");
}

/* ------------------------------------------------------------ JSON */

/* One text frame line as a frame object; false for a line that is no frame
 * ("... 3 more frames"). */
static bool json_frame(lc_buf *b, const char *line, size_t len, const char *sep) {
    while (len && *line == ' ') {
        line++;
        len--;
    }
    if (!len || line[0] == '(' || strncmp(line, "... ", 4) == 0) return false;
    char *text = strndup(line, len);
    if (!text) {
        b->failed = true;
        return false;
    }
    char *file = NULL, *module = NULL;
    long lineno = 0;
    char *open = strstr(text, " (");
    if (open && text[len - 1] == ')') {
        *open = '\0';
        char *in = open + 2;
        text[len - 1] = '\0';
        char *colon = strrchr(in, ':'), *end = NULL;
        if (colon && colon[1]) lineno = strtol(colon + 1, &end, 10);
        if (colon && end && *end == '\0' && lineno >= 0) {
            *colon = '\0';
            file = in;
        } else {
            lineno = 0;
            char *plus = strstr(in, "+0x");
            if (plus) {
                *plus = '\0';
                module = in;
            }
        }
    }
    lc_buf_printf(b, "%s{\"function\":", sep);
    lc_buf_json_str(b, strcmp(text, "??") == 0 ? NULL : text);
    lc_buf_printf(b, ",\"file\":");
    lc_buf_json_str(b, file);
    lc_buf_printf(b, ",\"line\":%ld", lineno);
    if (module) {
        lc_buf_printf(b, ",\"module\":");
        lc_buf_json_str(b, module);
    }
    lc_buf_printf(b, "}");
    free(text);
    return true;
}

static void json_stack(lc_buf *b, const char *stack) {
    lc_buf_printf(b, "[");
    const char *sep = "";
    while (stack && *stack) {
        size_t len = strcspn(stack, "\n");
        if (json_frame(b, stack, len, sep)) sep = ",";
        stack += len + (stack[len] == '\n');
    }
    lc_buf_printf(b, "]");
}

static void json_text_or_null(lc_buf *b, const char *key, const char *value) {
    lc_buf_printf(b, ",\"%s\":", key);
    lc_buf_json_str(b, value);
}

void lc_fault_write_json(const lc_fault_run *runs, size_t n, const lc_fault_sweep_info *s,
                         lc_buf *out) {
    lc_buf_printf(out, "{\"schema\":\"leakcheck/1\",\"kind\":\"fault-sweep\",\"command\":[");
    for (size_t i = 0; s->argv[i]; i++) {
        if (i) lc_buf_printf(out, ",");
        lc_buf_json_str(out, s->argv[i]);
    }
    lc_buf_printf(out, "]");
    json_text_or_null(out, "scope", s->scope);
    if (s->timeout > 0)
        lc_buf_printf(out, ",\"timeout_seconds\":%g", s->timeout);
    else
        lc_buf_printf(out, ",\"timeout_seconds\":null");
    lc_buf_printf(out,
                  ",\"verdict\":\"%s\",\"runs\":%ld,\"leaked\":%ld,\"crashed\":%ld,\"hung\":%ld,"
                  "\"unchecked\":%ld,\"seconds\":%.3f,",
                  s->leaked || s->crashed || s->hung ? "fail"
                  : s->unchecked                     ? "unchecked"
                                                     : "clean",
                  s->runs, s->leaked, s->crashed, s->hung, s->unchecked, s->seconds);
    /* A shard says which one it is, where the whole sweep ends and which
     * run it is of, for leakcheck merge (shard.h). */
    if (s->shard.n) {
        lc_buf_printf(out, "\"shard\":%d,\"shards\":%d,", s->shard.k, s->shard.n);
        if (s->end)
            lc_buf_printf(out, "\"end\":%ld,", s->end);
        else
            lc_buf_printf(out, "\"end\":null,");
        lc_buf_printf(out, "\"run\":\"%s\",", s->run_id);
    }
    lc_buf_printf(out, "\"points\":[");
    for (size_t i = 0; i < n; i++) {
        const lc_fault_run *r = &runs[i];
        lc_buf_printf(out,
                      "%s{\"allocation\":%ld,\"reached\":%s,\"outcome\":\"%s\",\"seconds\":%.3f",
                      i ? "," : "", r->n, r->hit ? "true" : "false",
                      lc_fault_outcome_name(r->outcome), r->seconds);
        if (r->outcome == LC_FAULT_CRASH)
            lc_buf_printf(out, ",\"signal\":%d", r->signal);
        else
            lc_buf_printf(out, ",\"signal\":null");
        if (r->outcome == LC_FAULT_CRASH || r->outcome == LC_FAULT_HUNG)
            lc_buf_printf(out, ",\"exit_status\":null");
        else
            lc_buf_printf(out, ",\"exit_status\":%d", r->exit_code);
        lc_buf_printf(out, ",\"failed_allocation\":");
        if (r->stack && *r->stack)
            json_stack(out, r->stack);
        else
            lc_buf_printf(out, "null");
        /* The check's own document, trailing blanks aside. */
        lc_buf_printf(out, ",\"report\":");
        size_t len = r->report ? strlen(r->report) : 0;
        while (len && (r->report[len - 1] == '\n' || r->report[len - 1] == ' '))
            len--;
        if (len && r->report[0] == '{')
            lc_buf_printf(out, "%.*s", (int)len, r->report);
        else
            lc_buf_printf(out, "null");
        json_text_or_null(out, "thread_dump", r->dump);
        json_text_or_null(out, "reason", r->reason);
        lc_buf_printf(out, "}");
    }
    lc_buf_printf(out, "]}\n");
}

/* ------------------------------------------------------------ JUnit */

void lc_fault_write_junit(const lc_fault_run *runs, size_t n, const lc_fault_sweep_info *s,
                          lc_buf *out) {
    size_t cap = n ? n : 1;
    lc_junit_case *cases = calloc(cap, sizeof *cases);
    lc_buf *texts = calloc(cap, sizeof *texts), *names = calloc(cap, sizeof *names),
           *msgs = calloc(cap, sizeof *msgs);
    lc_buf suite = {0};
    size_t k = 0;
    if (!cases || !texts || !names || !msgs) {
        out->failed = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const lc_fault_run *r = &runs[i];
        if (!r->hit && r->outcome == LC_FAULT_CLEAN) continue;
        lc_junit_case *c = &cases[k];
        lc_buf *t = &texts[k], *name = &names[k], *m = &msgs[k];
        k++;
        lc_buf_printf(name, "allocation %ld failing%s", r->n, r->hit ? "" : " (not reached)");
        c->classname = s->argv[0];
        c->name = name->data;
        c->seconds = r->seconds;
        if (r->outcome == LC_FAULT_CLEAN) continue;
        /* The text: what the text output says of this point. */
        char *body = NULL;
        size_t blen = 0;
        FILE *mem = open_memstream(&body, &blen);
        if (mem) {
            print_run(mem, r, s);
            fclose(mem);
        }
        lc_buf_printf(t, "%s", body ? body : "");
        free(body);
        c->outcome = r->outcome == LC_FAULT_LEAK ? LC_JUNIT_FAILED : LC_JUNIT_ERRORED;
        c->type = lc_fault_outcome_name(r->outcome);
        /* The message: where the failure was injected (the stack's first
         * line) and the report's headline, or what became of the run. */
        const char *at = r->stack ? r->stack + strspn(r->stack, " ") : "";
        lc_buf_printf(m, "allocation %ld failing", r->n);
        if (*at) lc_buf_printf(m, " at %.*s", (int)strcspn(at, "\n"), at);
        if (r->outcome == LC_FAULT_LEAK && r->report && *r->report) {
            lc_buf_printf(m, ": %.*s", (int)strcspn(r->report, "\n"), r->report);
        } else {
            lc_buf h = {0};
            headline(&h, r, s);
            const char *what = h.data ? strstr(h.data, ": ") : NULL;
            lc_buf_printf(m, "%s", what ? what : ": ?");
            lc_buf_free(&h);
        }
        c->message = m->data;
        c->text = t->data;
        if (t->failed || m->failed) out->failed = true;
    }
    lc_buf_printf(&suite, "leakcheck fault-sweep %s", s->argv[0]);
    /* A shard says which one it is and where the whole sweep ends (the
     * first point not reached; "none" when --max stopped it first), for
     * leakcheck merge. */
    char shard[32], last[32] = "none";
    snprintf(shard, sizeof shard, "%d/%d", s->shard.k, s->shard.n);
    if (s->end) snprintf(last, sizeof last, "%ld", s->end);
    lc_junit_property props[] = {
        {LC_SHARD_PROP_SHARD, shard}, {LC_SHARD_PROP_END, last}, {LC_SHARD_PROP_RUN, s->run_id}};
    lc_junit_write_suite(out, suite.data ? suite.data : "leakcheck fault-sweep", s->seconds,
                         s->started, props, s->shard.n ? 3 : 0, cases, k);
done:
    for (size_t i = 0; texts && names && msgs && i < n; i++) {
        lc_buf_free(&texts[i]);
        lc_buf_free(&names[i]);
        lc_buf_free(&msgs[i]);
    }
    free(msgs);
    lc_buf_free(&suite);
    free(cases);
    free(texts);
    free(names);
}
