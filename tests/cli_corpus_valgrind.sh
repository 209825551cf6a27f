#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_corpus_valgrind.sh: leakcheck's lost classes agree with valgrind's.
#
#   bash tests/cli_corpus_valgrind.sh build/leakcheck   (from the repository root)
#
# The programs of tests/corpus/ that lose memory (and their fixed twins)
# run twice as plain binaries: under `valgrind --leak-check=full`, without
# leakcheck, and under `leakcheck run --format json`, without valgrind.
# leakcheck's heap.direct_objects/_bytes must equal valgrind's "definitely
# lost" and heap.indirect_objects/_bytes its "indirectly lost", cycles
# included (valgrind counts one block of a lost cycle as definitely lost).
#
# Programs whose threads still run at exit take part only when those
# threads hold nothing of the heap compared, or only what they allocate
# and free as they go (contention): valgrind treats a thread still running
# at exit as a root and counts what it holds as reachable (or as lost, for
# what fork did not copy), where leakcheck puts it in its own "thread"
# class, so the figures of a thread that holds a block would differ by
# design. The leaky contention case is left out: with sixteen threads
# still allocating at exit, valgrind found its lost block in 4 of 5 runs
# and nothing lost in the fifth; its twins take part. A program that ends
# with abort() is left out: valgrind searches
# for leaks after a fatal signal, leakcheck does not check a process
# killed before its exit check (exit_abort.c).
# arena_neighbour is left out: it needs a thread's glibc arena heap, and
# valgrind's malloc has none.
# startup_neighbour is left out: it needs the page beside the dynamic
# linker's start-up mapping, which valgrind's own layout does not leave free.
# The forking program is left out too (valgrind follows the child and mixes
# its figures into the run). valgrind runs without -q, which would drop the
# LEAK SUMMARY this test reads. Without valgrind the test says so and passes.
set -uo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_corpus_valgrind.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
command -v valgrind >/dev/null || {
    echo "SKIP: valgrind not found"
    exit 0
}
command -v jq >/dev/null || {
    echo "cli_corpus_valgrind.sh: jq is required" >&2
    exit 1
}

# The programs compared (a binary of build.sh, then its arguments), and
# last whether valgrind must find something lost in them (so that the
# comparison cannot pass on two zeros by accident).
programs() {
    cat <<'TABLE'
lost_direct              lost
lost_direct.fixed        none
lost_cycle               lost
lost_cycle.fixed         none
lost_indirect            lost
lost_indirect.fixed      none
alloc_family             lost
alloc_family.fixed       none
cxx_new                  lost
cxx_new.fixed            none
mapping                  lost
mapping.fixed            none
mmap_chunk               lost
mmap_chunk.fixed         none
stale_arena              lost
stale_arena.fixed        none
runtime_owned.leaky      lost
runtime_owned            none
global_reachable         none
interior                 none
guard_pages              lost
guard_pages.fixed        none
exit_local               lost
exit_local.fixed         none
tsd                      lost
tsd.fixed                none
tsd_all_keys.leaky       lost
tsd_all_keys             none
no_frame_pointers        lost
no_frame_pointers.fixed  none
exit_thread              lost
exit_thread.fixed        none
exit_thread pthread_exit lost
exit_thread.fixed pthread_exit none
unaligned                lost
unaligned.fixed          none
self_pointer             lost
self_pointer.fixed       none
dlopen                   lost
dlopen.fixed             none
dlopen.loaded            none
signal_storm             lost
signal_storm.fixed       none
contention.fixed         none
contention.join          none
exit_underscore          lost
exit_underscore.fixed    none
TABLE
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=corpus/build.sh
source "$here/corpus/build.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_corpus_valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
corpus_build "$tmp/bin" || exit 1

failures=0
passed=0

# valgrind_lost LOG KIND: "OBJECTS BYTES" of the LEAK SUMMARY line KIND
# ("definitely lost", "indirectly lost"); "0 0" when valgrind found every
# block freed and printed no summary.
valgrind_lost() {
    local line
    line=$(grep -E "== +$2: " "$1")
    if [ -z "$line" ]; then
        if grep -q 'All heap blocks were freed' "$1"; then
            echo "0 0"
            return 0
        fi
        return 1
    fi
    sed -E 's/.*: ([0-9,]+) bytes in ([0-9,]+) blocks.*/\2 \1/; s/,//g' <<<"$line"
}

figures() { # "OBJECTS BYTES" -> "OBJECTS objects / BYTES B"
    echo "${1% *} objects / ${1#* } B"
}

while read -r -a row; do
    expect=${row[-1]}
    command=("${row[@]:0:${#row[@]}-1}")
    name=$(IFS=_ && echo "${command[*]}")
    command[0]=$tmp/bin/${command[0]}
    problems=()
    timeout -k 5 300 valgrind --leak-check=full --log-file="$tmp/$name.vg" \
        "${command[@]}" >/dev/null 2>&1
    timeout -k 5 120 "$leakcheck" run --format json --output "$tmp/$name.json" \
        -- "${command[@]}" >/dev/null 2>"$tmp/$name.err"
    if ! vg_direct=$(valgrind_lost "$tmp/$name.vg" "definitely lost") ||
        ! vg_indirect=$(valgrind_lost "$tmp/$name.vg" "indirectly lost"); then
        problems+=("no LEAK SUMMARY in valgrind's log: $(tail -5 "$tmp/$name.vg")")
    elif ! lc=$(jq -r '(if has("processes") then .processes[0] else . end) | "\(.heap.direct_objects) \(.heap.direct_bytes) \(.heap.indirect_objects) \(.heap.indirect_bytes)"' \
        "$tmp/$name.json" 2>&1); then
        problems+=("no JSON report from leakcheck: $lc $(cat "$tmp/$name.err")")
    else
        read -r lc_do lc_db lc_io lc_ib <<<"$lc"
        [ "$lc_do $lc_db" = "$vg_direct" ] ||
            problems+=("direct: leakcheck $lc_do objects / $lc_db B, valgrind definitely lost $(figures "$vg_direct")")
        [ "$lc_io $lc_ib" = "$vg_indirect" ] ||
            problems+=("indirect: leakcheck $lc_io objects / $lc_ib B, valgrind indirectly lost $(figures "$vg_indirect")")
        if [ "$expect" = lost ] && [ "$vg_direct" = "0 0" ]; then
            problems+=("valgrind found nothing definitely lost in a program that loses memory")
        fi
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        echo "ok   $name: direct = definitely lost = $(figures "$vg_direct"), indirect = indirectly lost = $(figures "$vg_indirect")"
        passed=$((passed + 1))
    else
        for p in "${problems[@]}"; do echo "FAIL $name: $p"; done
        failures=$((failures + 1))
    fi
done < <(programs)

echo "cli_corpus_valgrind.sh: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
