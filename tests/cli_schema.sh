#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_schema.sh: real JSON of every producer validates against the schema
# written once in docs/leakcheck-1.schema.json.
#
# Producers: leakcheck run (one process, several processes, a timed-out run,
# an error report), scenarios run (every built-in variant, and a shard),
# merge, and diff. A
# thread whose name is not UTF-8 must still give valid JSON. The schema
# itself must reject a report with a member of the wrong type, so that the
# validation cannot pass by accepting anything.
#
# usage: bash tests/cli_schema.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
schema=$(pwd)/docs/leakcheck-1.schema.json
# Debian's python3 with python3-jsonschema (scripts/install-deps.sh).
py=/usr/bin/python3
"$py" -c 'import jsonschema' 2>/dev/null || {
  echo "cli_schema.sh: $py cannot import jsonschema (python3-jsonschema)" >&2
  exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_schema.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

# validate LABEL FILE [lines]: every document of FILE (or every line) is valid.
validate() {
  local label=$1 file=$2 mode=${3:-doc} out
  if out=$("$py" - "$schema" "$file" "$mode" <<'PY' 2>&1
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
raw = open(sys.argv[2], encoding="utf-8").read()
docs = [json.loads(l) for l in raw.splitlines() if l.strip()] if sys.argv[3] == "lines" else [json.loads(raw)]
if not docs:
    sys.exit("no document")
for d in docs:
    errors = sorted(v.iter_errors(d), key=lambda e: e.path)
    if errors:
        e = errors[0]
        sys.exit("%s at %s" % (e.message[:300], "/".join(map(str, e.absolute_path))))
print(len(docs))
PY
  ); then
    echo "ok   $label ($out document(s))"
  else
    echo "FAIL $label: $out"
    failures=$((failures + 1))
    return 1
  fi
}

cat >"$tmp/prog.c" <<'C'
#define _GNU_SOURCE
#include <pthread.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static void *blocked(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "bad\xff\xfename");
    for (;;)
        pause();
    return NULL;
}
/* Declares its wait through the preloaded library, found at run time. */
static void *receiver(void *arg) {
    void (*wait_begin)(const char *, const void *) =
        (void (*)(const char *, const void *))dlsym(RTLD_DEFAULT, "lc_thread_wait_begin");
    if (wait_begin) wait_begin("chan receive", arg);
    for (;;)
        pause();
    return NULL;
}
__attribute__((noinline)) static void descend(int n) {
    if (n) {
        descend(n - 1);
        __asm__ volatile("");
        return;
    }
    for (;;)
        pause();
}
static void *deep(void *arg) {
    (void)arg;
    descend(100);
    return NULL;
}
int main(int argc, char **argv) {
    char *volatile lost = malloc(48);
    memset(lost, 1, 48);
    lost = NULL;
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "thread") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, blocked, NULL);
        usleep(100000);
    } else if (strcmp(what, "goleak") == 0) {
        static void *box;
        box = calloc(1, 32);
        pthread_t t;
        for (int i = 0; i < 3; i++)
            pthread_create(&t, NULL, receiver, box);
        pthread_create(&t, NULL, deep, NULL);
        usleep(100000);
    } else if (strcmp(what, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) return 0;
        waitpid(pid, NULL, 0);
    } else if (strcmp(what, "hang") == 0) {
        pause();
    }
    return 0;
}
C
cc -g -O0 -pthread -o "$tmp/prog" "$tmp/prog.c" || exit 1
run() { LEAKCHECK_SETTLE=0.2 "$leakcheck" run --format json "$@" >/dev/null 2>&1; }

run --output "$tmp/one.json" -- "$tmp/prog" thread
validate "run, one process with a thread named in bytes that are not UTF-8" "$tmp/one.json"
run --output "$tmp/goleak.json" -- "$tmp/prog" goleak
if validate "run, a group of threads on a declared heap object, a deep stack" "$tmp/goleak.json"; then
  # The members the schema allows must be there and filled: every id of the
  # group, the object's allocation site, the elided count and outer frames.
  got=$(jq -c '[.threads.list[] | {n: (.tids | length), site: (.wait_object.allocated_at // [] | map(.function) | index("main") != null), elided: .frames_elided, outer: (.stack_outer | map(.function) | index("deep") != null)}] | sort_by(.n)' "$tmp/goleak.json" 2>&1)
  want='[{"n":1,"site":false,"elided":ELIDED,"outer":true},{"n":3,"site":true,"elided":0,"outer":false}]'
  if [[ $got =~ ^\[\{\"n\":1,\"site\":false,\"elided\":([1-9][0-9]*),\"outer\":true\},\{\"n\":3,\"site\":true,\"elided\":0,\"outer\":false\}\]$ ]]; then
    echo "ok   thread groups list every id, waits name their object's site, deep stacks count elided frames"
  else
    echo "FAIL thread members: got $got, want $want"
    failures=$((failures + 1))
  fi
fi
run --output "$tmp/fork.json" -- "$tmp/prog" fork
validate "run, two processes in one document" "$tmp/fork.json"
run --timeout 1 --output "$tmp/hang.json" -- "$tmp/prog" hang
validate "run, timed out with thread dumps" "$tmp/hang.json"
printf 'leak:x\nbogus:y\n' >"$tmp/bad.supp"
LEAKCHECK_SUPPRESSIONS=$tmp/bad.supp run --output "$tmp/error.json" -- "$tmp/prog"
validate "run, a check that is an error" "$tmp/error.json"

"$leakcheck" scenarios run --format json >"$tmp/scenarios.jsonl" 2>/dev/null
validate "scenarios run, every variant" "$tmp/scenarios.jsonl" lines
for k in 1 2; do
  "$leakcheck" scenarios run --shard $k/2 --format json delete-no-shrink self-registration \
    >"$tmp/shard$k.jsonl" 2>/dev/null
done
validate "scenarios run --shard 1/2, with its shard line" "$tmp/shard1.jsonl" lines
"$leakcheck" merge "$tmp/shard1.jsonl" "$tmp/shard2.jsonl" >"$tmp/merged.jsonl" 2>/dev/null
validate "merge of two shards, with its merged line" "$tmp/merged.jsonl" lines

run --pprof "$tmp/before.pb.gz" --output /dev/null -- "$tmp/prog"
run --pprof "$tmp/after.pb.gz" --output /dev/null -- "$tmp/prog" thread
"$leakcheck" diff --format json "$tmp/before.pb.gz" "$tmp/after.pb.gz" >"$tmp/diff.json" 2>/dev/null
validate "diff" "$tmp/diff.json"

# A fault sweep with every outcome: allocation 2 failing leaks, 3 hangs,
# 4 crashes, the others are clean.
cat >"$tmp/sweep.c" <<'C'
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) static int work(void) {
    char *a = malloc(1), *b, *c, *d;
    if (!a) return -1;
    if (!(b = malloc(2))) return -1;
    if (!(c = malloc(3)))
        for (;;)
            pause();
    if (!(d = malloc(4))) abort();
    free(a), free(b), free(c), free(d);
    return 0;
}
int main(void) { return work() ? 1 : 0; }
C
cc -g -O0 -o "$tmp/sweep" "$tmp/sweep.c" || exit 1
"$leakcheck" fault-sweep --scope work --timeout 1 --format json -- "$tmp/sweep" >"$tmp/sweep.json" 2>/dev/null
if validate "fault-sweep, a leak, a hang, a crash and clean points" "$tmp/sweep.json"; then
  got=$(jq -c '[.points[].outcome]' "$tmp/sweep.json")
  if [ "$got" = '["clean","leak","hung","crash","clean"]' ]; then
    echo "ok   fault-sweep: the document holds every outcome"
  else
    echo "FAIL fault-sweep outcomes: $got"
    failures=$((failures + 1))
  fi
fi

# A shard of the sweep and its two shards merged are documents of the same kind.
for k in 1 2; do
  "$leakcheck" fault-sweep --scope work --timeout 1 --format json --shard $k/2 -- "$tmp/sweep" \
    >"$tmp/sweep$k.json" 2>/dev/null
done
validate "fault-sweep, shard 1/2" "$tmp/sweep1.json"
"$leakcheck" merge "$tmp/sweep1.json" "$tmp/sweep2.json" >"$tmp/sweep-merged.json" 2>/dev/null
validate "fault-sweep, two shards merged" "$tmp/sweep-merged.json"

# The schema rejects what is wrong: an outcome it does not know.
jq '.points[0].outcome = "lost"' "$tmp/sweep.json" >"$tmp/wrong-sweep.json"
before=$failures
if validate "a wrong fault sweep" "$tmp/wrong-sweep.json" >/dev/null; then
  echo "FAIL the schema accepts a failure point whose outcome is \"lost\""
  failures=$((before + 1))
else
  echo "ok   the schema rejects a failure point whose outcome is \"lost\""
  failures=$before
fi

# The schema rejects what is wrong: a count that is a string.
jq '.heap.leaked_objects = "3"' "$tmp/one.json" >"$tmp/wrong.json"
before=$failures
if validate "a wrong report" "$tmp/wrong.json" >/dev/null; then
  echo "FAIL the schema accepts heap.leaked_objects as a string"
  failures=$((before + 1))
else
  echo "ok   the schema rejects heap.leaked_objects as a string"
  failures=$before
fi

if [ $failures -ne 0 ]; then
  echo "cli_schema.sh: $failures failed"
  exit 1
fi
echo "cli_schema.sh: all passed"
