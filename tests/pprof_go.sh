#!/bin/sh
# SPDX-License-Identifier: MIT
# pprof_go.sh: leakcheck's heap profiles and `leakcheck diff`, checked against
# Go's own pprof.
#
# The point of writing pprof's format is that Go's tools read it; the point of
# reading it is that leakcheck reads what Go writes. Both claims are checked
# here with the real thing, when `go` is installed:
#   (a) profiles written by the encoder (tests/pprof_writer.c) have, for each
#       of the four sample types, the totals `go tool pprof -top` finds;
#   (b) `go tool pprof -top -diff_base` and `leakcheck diff` agree on the
#       growth of every symbolized stack and on the total;
#   (c) of two heap profiles written by Go's runtime/pprof around a known
#       leak (tests/go/leaky), `leakcheck diff` puts the leaking function on
#       top, with the exact figures.
#
# usage: tests/pprof_go.sh [path/to/leakcheck]   (default build/leakcheck)
# The test runner runs it as tests/cli_pprof_go.sh.
# Exit status: 0 when everything agrees or go is missing (skipped), 1 on any
# disagreement.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac

if ! command -v go >/dev/null 2>&1; then
    echo "pprof_go.sh: SKIP: go is not on PATH (Debian: apt-get install golang-go)"
    exit 0
fi
if [ ! -x "$leakcheck" ]; then
    echo "pprof_go.sh: $leakcheck is not an executable (build it first, or pass its path)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pprof_go.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# Offline, and nothing written outside the scratch directory: no module
# proxy, so a missing module fails instead of being downloaded; -mod=mod
# replaces whatever -mod the caller's GOFLAGS chose (vendor, readonly), which
# could otherwise refuse the build for reasons unrelated to this check.
GOCACHE=$work/gocache
GOPATH=$work/gopath
GOPROXY=off
GOFLAGS=-mod=mod
GOTOOLCHAIN=local
PPROF_TMPDIR=$work
export GOCACHE GOPATH GOPROXY GOFLAGS GOTOOLCHAIN PPROF_TMPDIR

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

pprof() { go tool pprof -top -unit=B -nodefraction=0 -nodecount=1000 "$@" 2>"$work/pprof.err"; }

# From pprof's "Showing nodes accounting for X, P% of T total" line: T, the
# total of a profile, and X, the sum of the flat values (of a diff).
pprof_total() { sed -n 's/^Showing nodes accounting for .* of \([-0-9]*\)B* total$/\1/p'; }
pprof_shown() { sed -n 's/^Showing nodes accounting for \([-0-9]*\)B*, .* of .* total$/\1/p'; }

# The first entries of a list, on one line.
brief() { head -n 6 | tr '\n' ';'; }

# "function value" for every node with a flat value, from pprof -top.
pprof_flat() {
    awk '/^ *flat +flat%/ { table = 1; next }
         table && NF >= 6 {
             v = $1; sub(/B$/, "", v)
             name = $6; for (i = 7; i <= NF; i++) name = name " " $i
             sub(/ \(inline\)$/, "", name)
             if (v != 0) print name, v
         }'
}

# "function value" from `leakcheck diff` (text format) for every symbolized
# leaf function, the value being the growth of objects or of bytes summed over
# the stacks with that leaf, as pprof's flat value is.
leakcheck_leaves() {
    column=$1
    awk -v column="$column" '
        /^[-+][0-9]+ objects/ { v = (column == "objects") ? $1 : $3; sub(/^\+/, "", v); want = 1; next }
        want && /^    / { want = 0; if ($1 !~ /^0x/) sum[$1] += v }
        END { for (name in sum) if (sum[name] != 0) printf "%s %d\n", name, sum[name] }'
}

cd "$root"
cc=${CC:-cc}

# ------------------------------------------------------------------- (a)
echo "# (a) profiles written by leakcheck, read by go tool pprof"
# The encoder with the layers it stands on (os, core), not the library.
$cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -Iharness tests/pprof_writer.c \
    harness/pprof_encode.c harness/pprof_gzip.c harness/pprof_mappings.c harness/prim_linux.c harness/os_maps.c harness/core.c -lz -o "$work/pprof_writer"
"$work/pprof_writer" base "$work/base.pb.gz" >"$work/base.totals"
"$work/pprof_writer" after "$work/after.pb.gz" >"$work/after.totals"
for which in base after; do
    for type in alloc_objects alloc_space inuse_objects inuse_space; do
        expected=$(sed -n "s/^$type=//p" "$work/$which.totals")
        if ! pprof -sample_index="$type" "$work/$which.pb.gz" >"$work/top"; then
            fail "(a) pprof rejected the $which profile: $(head -n 3 "$work/pprof.err")"
            continue
        fi
        got=$(pprof_total <"$work/top")
        if [ "$got" = "$expected" ]; then
            pass "(a) $which $type total $got"
        else
            fail "(a) $which $type: pprof total '$got', written $expected"
        fi
    done
done

# ------------------------------------------------------------------- (b)
echo "# (b) go tool pprof -diff_base and leakcheck diff"
compare_diff() {
    base=$1 after=$2 type=$3 label=$4
    case $type in *_objects) column=objects ;; *) column=bytes ;; esac
    if ! pprof -sample_index="$type" -diff_base "$base" "$after" >"$work/pprof.top"; then
        fail "$label: pprof failed: $(head -n 3 "$work/pprof.err")"
        return
    fi
    if ! "$leakcheck" diff --sample "$type" "$base" "$after" >"$work/leakcheck.out" 2>"$work/leakcheck.err"; then
        fail "$label: leakcheck diff failed: $(cat "$work/leakcheck.err")"
        return
    fi
    pprof_flat <"$work/pprof.top" | sort >"$work/pprof.flat"
    leakcheck_leaves "$column" <"$work/leakcheck.out" | sort >"$work/leakcheck.flat"
    if [ ! -s "$work/leakcheck.flat" ]; then
        fail "$label: leakcheck diff listed no symbolized stack"
        return
    fi
    # Every symbolized stack of leakcheck's must be a node of pprof's with the same value.
    missing=$(comm -23 "$work/leakcheck.flat" "$work/pprof.flat")
    if [ -n "$missing" ]; then
        fail "$label: leakcheck says [$(echo "$missing" | brief)] pprof says [$(brief <"$work/pprof.flat")]"
        return
    fi
    pprof_total_delta=$(pprof_shown <"$work/pprof.top")
    total_line=$(head -n 1 "$work/leakcheck.out")
    case $column in
    objects) leakcheck_total=$(echo "$total_line" | sed -n 's/.*, \([-+][0-9]*\) objects.*/\1/p') ;;
    bytes) leakcheck_total=$(echo "$total_line" | sed -n 's/.*, \([-+][0-9]*\) bytes.*/\1/p') ;;
    esac
    leakcheck_total=${leakcheck_total#+}
    if [ "$leakcheck_total" != "$pprof_total_delta" ]; then
        fail "$label: total growth: leakcheck $leakcheck_total, pprof $pprof_total_delta"
        return
    fi
    pass "$label: $(wc -l <"$work/leakcheck.flat") leaf functions agree [$(sort -k2 -n -r "$work/leakcheck.flat" | brief)...] total $leakcheck_total"
}
for type in inuse_space inuse_objects alloc_space alloc_objects; do
    compare_diff "$work/base.pb.gz" "$work/after.pb.gz" "$type" "(b) $type"
done

# ------------------------------------------------------------------- (c)
echo "# (c) heap profiles written by Go's runtime/pprof"
if ! (cd "$work" && go build -o "$work/leaky" "$root/tests/go/leaky/main.go") >"$work/go.err" 2>&1; then
    fail "(c) cannot build tests/go/leaky: $(head -n 5 "$work/go.err")"
elif ! "$work/leaky" "$work/go_base.pb.gz" "$work/go_after.pb.gz"; then
    fail "(c) tests/go/leaky failed"
else
    if "$leakcheck" diff --top 1 "$work/go_base.pb.gz" "$work/go_after.pb.gz" >"$work/go.out" 2>&1; then
        row=$(sed -n 3p "$work/go.out")
        frame=$(sed -n 4p "$work/go.out")
        case "$row|$frame" in
        "+1000 objects  +4096000 bytes"*"|    main.leakBuffers "*/main.go:*)
            pass "(c) top stack: $row, $(echo "$frame" | sed 's/^ *//')" ;;
        *) fail "(c) the top stack is not main.leakBuffers +1000 objects +4096000 bytes: $(cat "$work/go.out")" ;;
        esac
    else
        fail "(c) leakcheck diff failed: $(cat "$work/go.out")"
    fi
    # Memory allocated and dropped again is no growth of the heap in use,
    # and all of it growth of the allocations.
    "$leakcheck" diff --min-bytes 4k "$work/go_base.pb.gz" "$work/go_after.pb.gz" >"$work/go.inuse"
    "$leakcheck" diff --sample alloc_space --min-bytes 4000k "$work/go_base.pb.gz" "$work/go_after.pb.gz" >"$work/go.alloc"
    if grep -q 'main.churnBuffers' "$work/go.inuse"; then
        fail "(c) main.churnBuffers, which keeps nothing, shows as in-use growth"
    elif ! grep -q 'main.churnBuffers' "$work/go.alloc"; then
        fail "(c) main.churnBuffers is missing from the alloc_space growth"
    else
        pass "(c) main.churnBuffers grows alloc_space only"
    fi
    compare_diff "$work/go_base.pb.gz" "$work/go_after.pb.gz" inuse_space "(c) pprof agrees on inuse_space"
    compare_diff "$work/go_base.pb.gz" "$work/go_after.pb.gz" alloc_objects "(c) pprof agrees on alloc_objects"
fi

if [ "$failures" -ne 0 ]; then
    echo "pprof_go.sh: $failures disagreement(s)"
    exit 1
fi
echo "pprof_go.sh: all checks agree with go tool pprof"
