/* SPDX-License-Identifier: MIT */
/* junit.c: the JUnit XML writer (junit.h).
 *
 * XML 1.0 can hold neither control characters other than tab, newline and
 * carriage return, nor bytes that are not UTF-8, not even as character
 * references, and a reader refuses the whole file over one of them; a
 * report can contain both (a thread's name, a path, a program's argument).
 * They become U+FFFD, as in the JSON reports. In attributes, tab, newline
 * and carriage return are written as references, since a reader turns them
 * into spaces otherwise; in element text, only the carriage return is
 * (a reader turns a literal one into a newline). */
#include "junit.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

/* s, or its first len bytes when len is not (size_t)-1, escaped for
 * element text or (attr) an attribute value in double quotes. */
static void xml_text(lc_buf *b, const char *s, size_t len, bool attr) {
    const unsigned char *p = (const unsigned char *)s,
                        *end = p + (len == (size_t)-1 ? strlen(s) : len);
    while (p < end) {
        int n = lc_utf8_length(p);
        unsigned c = *p;
        if (n == 0 || p + n > end) {
            lc_buf_printf(b, "\xef\xbf\xbd");
            p++;
            continue;
        }
        /* U+FFFE and U+FFFF are not characters XML allows either. */
        if (n == 3 && c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            lc_buf_printf(b, "\xef\xbf\xbd");
            p += 3;
            continue;
        }
        switch (c) {
        case '&':
            lc_buf_printf(b, "&amp;");
            break;
        case '<':
            lc_buf_printf(b, "&lt;");
            break;
        case '>':
            lc_buf_printf(b, "&gt;");
            break;
        case '"':
            lc_buf_printf(b, "&quot;");
            break;
        case '\'':
            lc_buf_printf(b, "&apos;");
            break;
        case '\r':
            lc_buf_printf(b, "&#13;");
            break;
        case '\n':
        case '\t':
            if (attr)
                lc_buf_printf(b, "&#%u;", c);
            else
                lc_buf_printf(b, "%c", (char)c);
            break;
        default:
            if (c < 0x20)
                lc_buf_printf(b, "\xef\xbf\xbd");
            else
                lc_buf_printf(b, "%.*s", n, (const char *)p);
        }
        p += n;
    }
}

static void attr(lc_buf *b, const char *name, const char *value) {
    lc_buf_printf(b, " %s=\"", name);
    xml_text(b, value ? value : "", (size_t)-1, true);
    lc_buf_printf(b, "\"");
}

/* The first line of a message, without trailing blanks. */
static void attr_line(lc_buf *b, const char *name, const char *value) {
    value = value ? value : "";
    size_t len = strcspn(value, "\n");
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\r'))
        len--;
    lc_buf_printf(b, " %s=\"", name);
    xml_text(b, value, len, true);
    lc_buf_printf(b, "\"");
}

static void counts(lc_buf *b, const lc_junit_case *cases, size_t n, double seconds) {
    size_t failures = 0, errors = 0;
    for (size_t i = 0; i < n; i++) {
        failures += cases[i].outcome == LC_JUNIT_FAILED;
        errors += cases[i].outcome == LC_JUNIT_ERRORED;
    }
    lc_buf_printf(b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\"", n, failures,
                  errors, seconds < 0 ? 0.0 : seconds);
}

static void one_case(lc_buf *b, const lc_junit_case *c) {
    lc_buf_printf(b, "    <testcase");
    attr(b, "classname", c->classname);
    attr(b, "name", c->name);
    lc_buf_printf(b, " time=\"%.3f\"", c->seconds < 0 ? 0.0 : c->seconds);
    bool body = c->outcome != LC_JUNIT_PASSED || (c->output && *c->output);
    if (!body) {
        lc_buf_printf(b, "/>\n");
        return;
    }
    lc_buf_printf(b, ">\n");
    if (c->outcome != LC_JUNIT_PASSED) {
        const char *element = c->outcome == LC_JUNIT_FAILED ? "failure" : "error";
        lc_buf_printf(b, "      <%s", element);
        attr_line(b, "message", c->message);
        attr(b, "type", c->type);
        lc_buf_printf(b, ">");
        if (c->text) xml_text(b, c->text, (size_t)-1, false);
        lc_buf_printf(b, "</%s>\n", element);
    }
    if (c->output && *c->output) {
        lc_buf_printf(b, "      <system-out>");
        xml_text(b, c->output, (size_t)-1, false);
        lc_buf_printf(b, "</system-out>\n");
    }
    lc_buf_printf(b, "    </testcase>\n");
}

void lc_junit_write(lc_buf *out, const char *suite, double seconds, double started,
                    const lc_junit_case *cases, size_t n) {
    lc_junit_write_suite(out, suite, seconds, started, NULL, 0, cases, n);
}

void lc_junit_write_suite(lc_buf *out, const char *suite, double seconds, double started,
                          const lc_junit_property *props, size_t nprops, const lc_junit_case *cases,
                          size_t n) {
    char stamp[32] = "";
    time_t t = (time_t)started;
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lc_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    attr(out, "name", suite);
    counts(out, cases, n, seconds);
    lc_buf_printf(out, ">\n  <testsuite");
    attr(out, "name", suite);
    counts(out, cases, n, seconds);
    lc_buf_printf(out, " skipped=\"0\"");
    attr(out, "timestamp", stamp);
    lc_buf_printf(out, ">\n");
    if (nprops) lc_buf_printf(out, "    <properties>\n");
    for (size_t i = 0; i < nprops; i++) {
        lc_buf_printf(out, "      <property");
        attr(out, "name", props[i].name);
        attr(out, "value", props[i].value);
        lc_buf_printf(out, "/>\n");
    }
    if (nprops) lc_buf_printf(out, "    </properties>\n");
    for (size_t i = 0; i < n; i++)
        one_case(out, &cases[i]);
    lc_buf_printf(out, "  </testsuite>\n</testsuites>\n");
}

double lc_junit_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
