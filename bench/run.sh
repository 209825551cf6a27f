#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh: the benchmarks behind `make bench`.
#
# Builds the allocation workload (bench/alloc_workload.c) plain and with the
# sanitizers into build/bench/, times it under every leak checker installed
# here, 1 and 2 threads, in one run, and prints one table: seconds and the ratio
# to the plain build. Then builds and runs bench/snapshot_bench.c and
# bench/thread_bench.c against build/libleakcheck.so, times `leakcheck run`
# against valgrind and LSan on bench/run_workload.c, times the reachability
# scan of bench/scan_bench.c, times the fixed cost of each checked process on
# a shell that starts short children (plain, `leakcheck run`, valgrind), times
# the per-test cost of the library in a Check suite (bench/check_suite.c), and
# checks the figures against the targets in bench/README.md.
#
# Usage: bash bench/run.sh [alloc] [snapshot] [threads] [run] [scan] [forks] [check]
# (no argument: all of them, as `make bench` does).
#
# A tool that is not installed, or a library that is not built yet, gives a
# row that says so; the script fails only when the plain workload cannot be
# built or run. The table is also written to build/bench/results.txt.
#
# Settings (environment):
#   BENCH_N            malloc/free pairs per run             (default 4000000)
#   BENCH_REPEAT       rounds of the fast tools; the targets use the paired
#                      ratios of each round (default 7)
#   BENCH_SLOW_REPEAT  runs under heaptrack and valgrind     (default 3)
#   BENCH_VALGRIND_N   pairs under valgrind, then scaled     (default 1000000)
#   BENCH_HEAPTRACK_N  pairs under heaptrack, then scaled    (default BENCH_N)
#   BENCH_BLOCKS       live blocks for snapshot_bench        (default 1000000)
#   BENCH_LIB          the library to time  (default build/libleakcheck.so)
#   BENCH_TOOL         the leakcheck executable (default: next to BENCH_LIB)
#   BENCH_OUT          where builds and results go           (default build/bench)
#   BENCH_RUN_ROUNDS   rounds of run_workload, every tool    (default 80)
#   BENCH_RUN_THREADS  worker threads of run_workload        (default 4)
#   BENCH_RUN_REPEAT   rounds of the fast tools on it        (default 3)
#   BENCH_RUN_SLOW_REPEAT  runs of valgrind on it            (default 3)
#   BENCH_SCAN_BLOCKS  blocks of the scan_bench heap         (default 1000000)
#   BENCH_FORKS        children of the forks workload         (default 100)
#   BENCH_FORKS_REPEAT rounds of plain and leakcheck on it    (default 3)
#   BENCH_FORKS_VALGRIND  children under valgrind, then scaled (default 10)
#   BENCH_CHECK_TESTS  tests of the check_suite               (default 200)
#   BENCH_CHECK_REPEAT interleaved rounds of the check section (default 15)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
LIB=${BENCH_LIB:-$ROOT/build/libleakcheck.so}
LIBDIR=$(dirname "$LIB")
LEAKCHECK=${BENCH_TOOL:-$LIBDIR/leakcheck}
RUN_ROUNDS=${BENCH_RUN_ROUNDS:-80}
RUN_THREADS=${BENCH_RUN_THREADS:-4}
RUN_REPEAT=${BENCH_RUN_REPEAT:-3}
RUN_SLOW_REPEAT=${BENCH_RUN_SLOW_REPEAT:-3}
SCAN_BLOCKS=${BENCH_SCAN_BLOCKS:-1000000}
CHECK_TESTS=${BENCH_CHECK_TESTS:-200}
CHECK_REPEAT=${BENCH_CHECK_REPEAT:-15}
FORKS=${BENCH_FORKS:-100}
FORKS_REPEAT=${BENCH_FORKS_REPEAT:-3}
FORKS_VALGRIND=${BENCH_FORKS_VALGRIND:-10}
SECTIONS=(alloc snapshot threads run scan forks check)
declare -A SELECTED # section -> 1 when it runs
N=${BENCH_N:-4000000}
REPEAT=${BENCH_REPEAT:-7}
SLOW_REPEAT=${BENCH_SLOW_REPEAT:-3}
VALGRIND_N=${BENCH_VALGRIND_N:-1000000}
HEAPTRACK_N=${BENCH_HEAPTRACK_N:-$N}
BLOCKS=${BENCH_BLOCKS:-1000000}
THREADS=(1 2)
CFLAGS=(-O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread)

# Rows of the table, in order, and their labels.
TOOLS=(plain plain_clang leakcheck leakcheck_nostack glibc glibc_nostack lsan asan heaptrack valgrind)
declare -A LABEL=(
    [plain]="plain (gcc -O2)"
    [plain_clang]="plain (clang -O2)"
    [leakcheck]="leakcheck, default stack depth"
    [leakcheck_nostack]="leakcheck, LEAKCHECK_STACK_DEPTH=0"
    [glibc]="leakcheck, LEAKCHECK_ALLOCATOR=glibc"
    [glibc_nostack]="leakcheck, ALLOCATOR=glibc STACK_DEPTH=0"
    [lsan]="LSan (clang -fsanitize=leak)"
    [asan]="ASan (clang -fsanitize=address)"
    [heaptrack]="heaptrack"
    [valgrind]="valgrind memcheck --leak-check=full"
)
# Tools that are timed in rounds, interleaved with each other, so that a slow
# moment of the machine falls on all of them alike.
FAST_TOOLS=(plain plain_clang leakcheck leakcheck_nostack glibc glibc_nostack lsan asan)

declare -A UNAVAILABLE # tool -> why it has no figures ("not installed (...)")
declare -A FAILED      # tool,threads -> why a run failed
declare -A BEST_US     # tool,threads,pairs -> best wall time in microseconds
declare -A EXPECTED    # threads,pairs -> checksum line of the plain build
declare -A SECONDS_OF  # tool,threads -> seconds for N pairs (measured or scaled)
declare -A ROUND_US    # tool,threads,round -> wall time of that round's run (fast tools)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

note() { printf '%s\n' "$*" >&2; }

die() {
    note "bench: $*"
    exit 1
}

# pairs_for TOOL: the -n a tool runs with.
pairs_for() {
    case $1 in
    valgrind) echo "$VALGRIND_N" ;;
    heaptrack) echo "$HEAPTRACK_N" ;;
    *) echo "$N" ;;
    esac
}

# ---------------------------------------------------------------- building

build_workloads() {
    note "bench: building the workload into build/bench/"
    gcc "${CFLAGS[@]}" "$ROOT/bench/alloc_workload.c" -o "$OUT/alloc_plain" \
        >"$OUT/build-plain.log" 2>&1 ||
        die "gcc could not build bench/alloc_workload.c (see build/bench/build-plain.log)"

    local variant flag
    for variant in plain_clang lsan asan; do
        case $variant in
        plain_clang) flag=() ;;
        lsan) flag=(-fsanitize=leak) ;;
        asan) flag=(-fsanitize=address) ;;
        esac
        if ! command -v clang >/dev/null; then
            UNAVAILABLE[$variant]="not installed (clang)"
        elif ! clang "${CFLAGS[@]}" "${flag[@]}" "$ROOT/bench/alloc_workload.c" \
            -o "$OUT/alloc_$variant" >"$OUT/build-$variant.log" 2>&1; then
            UNAVAILABLE[$variant]="not installed (clang ${flag[*]} does not link; libclang-rt-14-dev?)"
        fi
    done
}

# preloads: is the library mapped into a process that preloads it? (The
# dynamic loader only warns about an object it cannot preload.) The process's
# exit status does not matter here.
preloads() {
    LEAKCHECK_QUIET=1 LD_PRELOAD=$LIB cat /proc/self/maps >"$TMP/maps" 2>"$TMP/preload.err" || true
    grep -qF "$(basename "$LIB")" "$TMP/maps"
}

# check_leakcheck: is the library there, and does it load?
check_leakcheck() {
    local why=""
    if [[ ! -f $LIB ]]; then
        why="not built (${LIB#"$ROOT"/} is missing)"
    elif ! nm -D --defined-only "$LIB" 2>/dev/null | awk '$3 == "malloc" { found = 1 } END { exit !found }'; then
        why="not usable (${LIB#"$ROOT"/} does not define malloc)"
    elif ! preloads; then
        why="not usable (${LIB#"$ROOT"/} does not preload: $(head -c 200 "$TMP/preload.err" | tr '\n' ' '))"
    fi
    if [[ -n $why ]]; then
        UNAVAILABLE[leakcheck]=$why
        UNAVAILABLE[leakcheck_nostack]=$why
        UNAVAILABLE[glibc]=$why
        UNAVAILABLE[glibc_nostack]=$why
    fi
}

check_other_tools() {
    command -v valgrind >/dev/null || UNAVAILABLE[valgrind]="not installed (valgrind)"
    command -v heaptrack >/dev/null || UNAVAILABLE[heaptrack]="not installed (heaptrack)"
    return 0
}

# ----------------------------------------------------------------- running

# run_tool TOOL THREADS PAIRS: run the workload once under TOOL, stdout to
# $TMP/out and stderr to $TMP/err. Returns the exit status.
run_tool() {
    local tool=$1 threads=$2 pairs=$3
    local args=(-t "$threads" -n "$pairs")
    case $tool in
    plain) "$OUT/alloc_plain" "${args[@]}" ;;
    plain_clang | lsan | asan)
        env -u ASAN_OPTIONS -u LSAN_OPTIONS "$OUT/alloc_$tool" "${args[@]}" ;;
    leakcheck)
        env -u LEAKCHECK_STACK_DEPTH -u LEAKCHECK_ALLOCATOR LEAKCHECK_QUIET=1 LD_PRELOAD="$LIB" \
            "$OUT/alloc_plain" "${args[@]}" ;;
    leakcheck_nostack)
        env -u LEAKCHECK_ALLOCATOR LEAKCHECK_STACK_DEPTH=0 LEAKCHECK_QUIET=1 LD_PRELOAD="$LIB" \
            "$OUT/alloc_plain" "${args[@]}" ;;
    glibc)
        env -u LEAKCHECK_STACK_DEPTH LEAKCHECK_ALLOCATOR=glibc LEAKCHECK_QUIET=1 LD_PRELOAD="$LIB" \
            "$OUT/alloc_plain" "${args[@]}" ;;
    glibc_nostack)
        env LEAKCHECK_ALLOCATOR=glibc LEAKCHECK_STACK_DEPTH=0 LEAKCHECK_QUIET=1 LD_PRELOAD="$LIB" \
            "$OUT/alloc_plain" "${args[@]}" ;;
    heaptrack)
        local status=0
        heaptrack -o "$TMP/heaptrack" "$OUT/alloc_plain" "${args[@]}" || status=$?
        rm -f "$TMP"/heaptrack*
        return "$status" ;;
    valgrind)
        valgrind -q --leak-check=full --log-file="$TMP/valgrind.log" \
            "$OUT/alloc_plain" "${args[@]}" ;;
    esac
} >"$TMP/out" 2>"$TMP/err"

# expected_checksum THREADS PAIRS: the plain build's checksum line, cached.
expected_checksum() {
    local key=$1,$2
    if [[ -z ${EXPECTED[$key]:-} ]]; then
        run_tool plain "$1" "$2" || die "the plain workload failed (-t $1 -n $2): $(head -c 300 "$TMP/err")"
        EXPECTED[$key]=$(grep '^checksum ' "$TMP/out") ||
            die "the plain workload printed no checksum (-t $1 -n $2)"
    fi
}

# sample TOOL THREADS PAIRS [ROUND]: time one run; keep the best time, and
# the round's, or record why the run does not count.
sample() {
    local tool=$1 threads=$2 pairs=$3 round=${4:-} key=$1,$2,$3 start end status=0 why=""
    if [[ -n ${UNAVAILABLE[$tool]:-} || -n ${FAILED[$tool,$threads]:-} ]]; then return 0; fi
    expected_checksum "$threads" "$pairs"
    note "bench:   ${LABEL[$tool]}, $threads thread(s), -n $pairs"
    start=${EPOCHREALTIME/./} # microseconds
    run_tool "$tool" "$threads" "$pairs" || status=$?
    end=${EPOCHREALTIME/./}

    if ! grep -qxF "${EXPECTED[$threads,$pairs]}" "$TMP/out"; then
        why="no checksum or a wrong one (exit status $status)"
    elif grep -q 'cannot be preloaded' "$TMP/err"; then
        why="the library was not preloaded"
    elif [[ $tool != leakcheck* && $tool != glibc* && $status -ne 0 ]]; then
        # leakcheck's exit status is its verdict, not the workload's.
        why="exit status $status"
    fi
    if [[ -n $why && $tool == plain ]]; then
        die "the plain workload failed (-t $threads -n $pairs): $why"
    elif [[ -n $why ]]; then
        cp "$TMP/err" "$OUT/failed-$tool-$threads.stderr"
        FAILED[$tool,$threads]="$why (stderr in build/bench/failed-$tool-$threads.stderr)"
        return 0
    fi
    local us=$((end - start))
    if [[ -n $round ]]; then ROUND_US[$tool,$threads,$round]=$us; fi
    if [[ -z ${BEST_US[$key]:-} ]] || ((us < BEST_US[$key])); then
        BEST_US[$key]=$us
    fi
}

measure_all() {
    local round tool threads pairs
    note "bench: timing: $REPEAT rounds of the fast tools, then $SLOW_REPEAT runs of the slow ones"
    for ((round = 1; round <= REPEAT; round++)); do
        note "bench: round $round of $REPEAT"
        for threads in "${THREADS[@]}"; do
            for tool in "${FAST_TOOLS[@]}"; do
                sample "$tool" "$threads" "$N" "$round"
            done
        done
    done
    for tool in heaptrack valgrind; do
        pairs=$(pairs_for "$tool")
        for threads in "${THREADS[@]}"; do
            for ((round = 1; round <= SLOW_REPEAT; round++)); do
                sample "$tool" "$threads" "$pairs"
                # A scaled figure needs the fixed cost too: the same run with no pairs.
                if ((pairs < N)); then
                    sample "$tool" "$threads" 0
                fi
            done
        done
    done
}

# figure TOOL THREADS: seconds for N pairs into SECONDS_OF, scaled when the
# tool ran fewer pairs: fixed + (run - fixed) * N / pairs, where "fixed" is the
# run with -n 0 (start-up, filling and draining the ring, the exit scan).
figure() {
    local tool=$1 threads=$2 pairs
    pairs=$(pairs_for "$tool")
    local run=${BEST_US[$tool,$threads,$pairs]:-} fixed=${BEST_US[$tool,$threads,0]:-}
    if [[ -z $run ]]; then return 0; fi
    if ((pairs >= N)); then
        SECONDS_OF[$tool,$threads]=$(awk -v r="$run" 'BEGIN { printf "%.3f", r / 1e6 }')
    elif [[ -n $fixed ]]; then
        SECONDS_OF[$tool,$threads]=$(awk -v r="$run" -v f="$fixed" -v n="$N" -v p="$pairs" \
            'BEGIN { printf "%.3f", (f + (r - f) * n / p) / 1e6 }')
    fi
}

# ---------------------------------------------------------------- printing

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# quartiles: ratios on stdin, one a line -> "median q1 q3 count", or nothing.
quartiles() {
    sort -g | awk '
        { r[NR] = $1 }
        function q(f,   i, k) { i = 1 + (NR - 1) * f; k = int(i); return r[k] + (i - k) * (r[k + 1 <= NR ? k + 1 : k] - r[k]) }
        END { if (NR) printf "%.2f %.2f %.2f %d\n", q(0.5), q(0.25), q(0.75), NR }'
}

# paired_ratios TIMES A B ROUNDS: TIMES[A,round] over TIMES[B,round] (TIMES
# names an associative array of wall times), over the rounds where both
# ran: "median q1 q3 rounds", or nothing. The machine's speed drifts over
# seconds (plain's best moved by a third from one run to the next here);
# within a round the runs are back to back, so a slow spell that spans a
# round divides out, where the best of each may come from different spells.
paired_ratios() {
    local -n times=$1
    local round
    for ((round = 1; round <= $4; round++)); do
        local a=${times[$2,$round]:-} b=${times[$3,$round]:-}
        if [[ -n $a && -n $b ]]; then awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", a / b }'; fi
    done | quartiles
}

# paired TOOL BASE THREADS: the allocation section's paired_ratios.
paired() { paired_ratios ROUND_US "$1,$3" "$2,$3" "$REPEAT"; }

# paired_cell TOOL BASE THREADS: "2.05x (1.98-2.11)", or "-".
paired_cell() {
    local med q1 q3 n
    read -r med q1 q3 n <<<"$(paired "$@")"
    if [[ -n ${med:-} ]]; then printf '%sx (%s-%s)' "$med" "$q1" "$q3"; else printf -- '-'; fi
}

# added_ns SECONDS PLAIN: wall time added per malloc/free pair, in ns.
added_ns() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%+.0f", (a - b) * 1e9 / n }'; }

print_header() {
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none")
    echo "leakcheck benchmarks, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "command:  bash bench/run.sh ${ARGS[*]}  (BENCH_N=$N BENCH_REPEAT=$REPEAT BENCH_SLOW_REPEAT=$SLOW_REPEAT BENCH_VALGRIND_N=$VALGRIND_N BENCH_HEAPTRACK_N=$HEAPTRACK_N BENCH_BLOCKS=$BLOCKS BENCH_LIB=${LIB#"$ROOT"/} BENCH_RUN_ROUNDS=$RUN_ROUNDS BENCH_RUN_THREADS=$RUN_THREADS BENCH_RUN_REPEAT=$RUN_REPEAT BENCH_RUN_SLOW_REPEAT=$RUN_SLOW_REPEAT BENCH_SCAN_BLOCKS=$SCAN_BLOCKS BENCH_FORKS=$FORKS BENCH_FORKS_REPEAT=$FORKS_REPEAT BENCH_FORKS_VALGRIND=$FORKS_VALGRIND BENCH_CHECK_TESTS=$CHECK_TESTS BENCH_CHECK_REPEAT=$CHECK_REPEAT)"
    echo "machine:  $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r), commit $commit"
    echo "compilers: $(gcc --version | head -1); $(command -v clang >/dev/null && clang --version | head -1 || echo "no clang")"
    local section list=()
    for section in "${SECTIONS[@]}"; do
        if [[ -n ${SELECTED[$section]:-} ]]; then list+=("$section"); fi
    done
    echo "sections: ${list[*]}"
}

print_alloc_intro() {
    echo
    echo "Allocation workload: build/bench/alloc_* -n $N -t 1|2: $N malloc/free pairs of 16..512 B,"
    echo "100000 blocks live (split between the threads), allocation 3 calls below the thread's entry."
    echo "Wall time, the best run: the first eight tools run in $REPEAT interleaved rounds (a slow spell"
    echo "of the machine falls on all of them alike), heaptrack and valgrind $SLOW_REPEAT times each."
    echo "Below the table, the targets' figures: each round's time over plain's (or LSan's) in"
    echo "the same round, the median over the rounds with its quartiles."
    echo
}

print_table() {
    local tool threads cell plain secs label pairs line f
    printf '%-38s %30s %30s\n' "" "---------- 1 thread ----------" "---------- 2 threads ---------"
    printf '%-38s %9s %9s %10s %9s %9s %10s\n' "tool" "seconds" "x plain" "+ns/pair" \
        "seconds" "x plain" "+ns/pair"
    for tool in "${TOOLS[@]}"; do
        label=${LABEL[$tool]}
        pairs=$(pairs_for "$tool")
        if ((pairs < N)); then label="$label *"; fi
        if [[ -n ${UNAVAILABLE[$tool]:-} ]]; then
            printf '%-38s %s\n' "$label" "${UNAVAILABLE[$tool]}"
            continue
        fi
        line=$(printf '%-38s' "$label")
        local failures=()
        for threads in "${THREADS[@]}"; do
            secs=${SECONDS_OF[$tool,$threads]:-}
            plain=${SECONDS_OF[plain,$threads]}
            if [[ -n $secs ]]; then
                cell=$(printf '%9s %8sx %10s' "$secs" "$(ratio "$secs" "$plain")" \
                    "$(added_ns "$secs" "$plain")")
            else
                cell=$(printf '%30s' "failed")
                failures+=("$threads thread(s): ${FAILED[$tool,$threads]:-no figure}")
            fi
            line+=" $cell"
        done
        echo "$line"
        for f in "${failures[@]}"; do
            echo "    $f"
        done
    done
    echo
    echo "+ns/pair: (seconds - plain) / $N pairs: the wall time each malloc/free pair adds."
    for tool in "${TOOLS[@]}"; do
        pairs=$(pairs_for "$tool")
        if [[ -z ${UNAVAILABLE[$tool]:-} ]] && ((pairs < N)); then
            echo "* scaled: ${LABEL[$tool]} ran -n $pairs and -n 0;" \
                "seconds = t(0) + (t($pairs) - t(0)) x $N / $pairs"
        fi
    done
    echo
    printf '%-41s %-25s %-25s\n' "paired, over plain ($REPEAT rounds)" "1 thread" "2 threads"
    for tool in leakcheck leakcheck_nostack glibc glibc_nostack lsan; do
        [[ -n ${UNAVAILABLE[$tool]:-} ]] && continue
        line=$(printf '%-41s' "${LABEL[$tool]}")
        for threads in "${THREADS[@]}"; do
            line+=$(printf ' %-25s' "$(paired_cell "$tool" plain "$threads")")
        done
        echo "$line"
    done
    if [[ -z ${UNAVAILABLE[lsan]:-} ]]; then
        line=$(printf '%-41s' "default depth, over LSan")
        for threads in "${THREADS[@]}"; do
            line+=$(printf ' %-25s' "$(paired_cell leakcheck lsan "$threads")")
        done
        echo "$line"
    fi
    return 0
}

# ---------------------------------------------------------- snapshot bench

SNAPSHOT_MS=""
TRACKER_BYTES=""

run_snapshot_bench() {
    echo
    echo "Snapshots: build/bench/snapshot_bench -b $BLOCKS (linked against ${LIB#"$ROOT"/})"
    if [[ -n ${UNAVAILABLE[leakcheck]:-} ]]; then
        echo "  ${UNAVAILABLE[leakcheck]}"
        return 0
    fi
    if ! gcc "${CFLAGS[@]}" -I"$ROOT/include" "$ROOT/bench/snapshot_bench.c" \
        -L"$LIBDIR" -lleakcheck -Wl,-rpath,"$LIBDIR" -o "$OUT/snapshot_bench" \
        >"$OUT/build-snapshot_bench.log" 2>&1; then
        echo "  not built: the compile or link failed (build/bench/build-snapshot_bench.log):"
        head -5 "$OUT/build-snapshot_bench.log" | sed 's/^/    /'
        return 0
    fi
    note "bench: snapshot_bench -b $BLOCKS"
    local status=0
    LEAKCHECK_QUIET=1 "$OUT/snapshot_bench" -b "$BLOCKS" >"$TMP/snap.out" 2>"$TMP/snap.err" ||
        status=$?
    sed 's/^/  /' "$TMP/snap.out"
    if ((status != 0)); then
        echo "  failed: exit status $status"
        head -5 "$TMP/snap.err" | sed 's/^/    /'
        return 0
    fi
    SNAPSHOT_MS=$(awk '/snapshot\+diff/ { print $(NF - 1) }' "$TMP/snap.out")
    TRACKER_BYTES=$(awk '/tracker memory per live block/ { print $(NF - 1) }' "$TMP/snap.out")
}

# ------------------------------------------------------------ thread bench

run_thread_bench() {
    echo
    echo "Threads: build/bench/thread_bench (linked against ${LIB#"$ROOT"/})"
    if [[ -n ${UNAVAILABLE[leakcheck]:-} ]]; then
        echo "  ${UNAVAILABLE[leakcheck]}"
        return 0
    fi
    if ! gcc "${CFLAGS[@]}" -I"$ROOT/include" "$ROOT/bench/thread_bench.c" \
        -L"$LIBDIR" -lleakcheck -Wl,-rpath,"$LIBDIR" -pthread -o "$OUT/thread_bench" \
        >"$OUT/build-thread_bench.log" 2>&1; then
        echo "  not built: the compile or link failed (build/bench/build-thread_bench.log)"
        return 0
    fi
    note "bench: thread_bench"
    LEAKCHECK_QUIET=1 "$OUT/thread_bench" 2>&1 | sed 's/^/  /' ||
        echo "  failed: the check did not find every blocked thread"
}

# ------------------------------------------------------- leakcheck run bench

# bench/run_workload.c leaves 69 bytes in 2 blocks (48 lost, 21 reachable only
# from them); a run whose tool does not report exactly that did not check.
RUN_TOOLS=(plain plain_clang leakcheck lsan valgrind)
RUN_FAST_TOOLS=(plain plain_clang leakcheck lsan)
declare -A RUN_LABEL=(
    [plain]="plain (gcc -O2)"
    [plain_clang]="plain (clang -O2)"
    [leakcheck]="leakcheck run"
    [lsan]="LSan (clang -fsanitize=leak)"
    [valgrind]="valgrind --leak-check=full"
)
declare -A RUN_UNAVAILABLE # tool -> why it has no figure
declare -A RUN_FAILED      # tool -> why a run did not count
declare -A RUN_BEST_US     # tool -> best wall time in microseconds
declare -A RUN_BEST_CPU_MS # tool -> least CPU time (user + sys, all threads) in ms
RUN_EXPECTED=""            # the checksum line of the plain build

build_run_workload() {
    note "bench: building bench/run_workload.c into ${OUT#"$ROOT"/}/"
    gcc "${CFLAGS[@]}" "$ROOT/bench/run_workload.c" -o "$OUT/run_plain" \
        >"$OUT/build-run_plain.log" 2>&1 || return 1
    local variant flag
    for variant in plain_clang lsan; do
        case $variant in
        plain_clang) flag=() ;;
        lsan) flag=(-fsanitize=leak) ;;
        esac
        if ! command -v clang >/dev/null; then
            RUN_UNAVAILABLE[$variant]="not installed (clang)"
        elif ! clang "${CFLAGS[@]}" "${flag[@]}" "$ROOT/bench/run_workload.c" \
            -o "$OUT/run_$variant" >"$OUT/build-run_$variant.log" 2>&1; then
            RUN_UNAVAILABLE[$variant]="not built (clang ${flag[*]}: see ${OUT#"$ROOT"/}/build-run_$variant.log)"
        fi
    done
    if [[ -n ${UNAVAILABLE[leakcheck]:-} ]]; then
        RUN_UNAVAILABLE[leakcheck]=${UNAVAILABLE[leakcheck]}
    elif [[ ! -x $LEAKCHECK ]]; then
        RUN_UNAVAILABLE[leakcheck]="not built (${LEAKCHECK#"$ROOT"/} is missing)"
    fi
    if [[ -n ${UNAVAILABLE[valgrind]:-} ]]; then
        RUN_UNAVAILABLE[valgrind]=${UNAVAILABLE[valgrind]}
    elif ((RUN_SLOW_REPEAT < 1)); then
        RUN_UNAVAILABLE[valgrind]="not run (BENCH_RUN_SLOW_REPEAT=$RUN_SLOW_REPEAT)"
    fi
    return 0
}

# run_workload_under TOOL: one run, stdout to $TMP/run.out, stderr (and
# valgrind's log, leakcheck's JSON report) in $TMP. Returns the exit status.
run_workload_under() {
    local args=(-t "$RUN_THREADS" -r "$RUN_ROUNDS")
    case $1 in
    plain) "$OUT/run_plain" "${args[@]}" ;;
    plain_clang) "$OUT/run_plain_clang" "${args[@]}" ;;
    leakcheck)
        env -u LEAKCHECK_QUIET -u LEAKCHECK_BUDGET "$LEAKCHECK" run --format json \
            --output "$TMP/run.json" -- "$OUT/run_plain" "${args[@]}" ;;
    lsan)
        env -u ASAN_OPTIONS LSAN_OPTIONS=detect_leaks=1 "$OUT/run_lsan" "${args[@]}" ;;
    valgrind)
        valgrind -q --leak-check=full --log-file="$TMP/run.valgrind" \
            "$OUT/run_plain" "${args[@]}" ;;
    esac
} >"$TMP/run.out" 2>"$TMP/run.err"

# known_leak_found TOOL: did the tool report the workload's 69 bytes in 2 blocks?
known_leak_found() {
    case $1 in
    plain | plain_clang) return 0 ;;
    leakcheck)
        if command -v jq >/dev/null; then
            jq -e '.heap.leaked_objects == 2 and .heap.leaked_bytes == 69' "$TMP/run.json" \
                >/dev/null 2>&1
        else
            grep -Eq '"leaked_objects": *2,' "$TMP/run.json" &&
                grep -Eq '"leaked_bytes": *69[,}]' "$TMP/run.json"
        fi ;;
    lsan) grep -qF 'SUMMARY: LeakSanitizer: 69 byte(s) leaked in 2 allocation(s).' "$TMP/run.err" ;;
    valgrind)
        grep -qF '69 (48 direct, 21 indirect) bytes in 1 blocks are definitely lost' \
            "$TMP/run.valgrind" ;;
    esac
}

# run_sample TOOL: time one run; keep the best, or record why it does not count.
run_sample() {
    local tool=$1 status=0 why="" want=0 wall user sys
    if [[ -n ${RUN_UNAVAILABLE[$tool]:-} || -n ${RUN_FAILED[$tool]:-} ]]; then return 0; fi
    note "bench:   ${RUN_LABEL[$tool]}, run_workload -t $RUN_THREADS -r $RUN_ROUNDS"
    rm -f "$TMP/run.json" "$TMP/run.valgrind"
    # CPU time beside wall time: on a shared machine it shows how much of a
    # slow wall time was other work (and how much the tool spread over cores).
    local TIMEFORMAT='%3R %3U %3S'
    { time run_workload_under "$tool"; } 2>"$TMP/run.time" || status=$?
    read -r wall user sys <"$TMP/run.time"
    # leakcheck and LSan end a leaking program with 23; valgrind keeps its status.
    if [[ $tool == leakcheck || $tool == lsan ]]; then want=23; fi
    if [[ -n $RUN_EXPECTED ]] && ! grep -qxF "$RUN_EXPECTED" "$TMP/run.out"; then
        why="no checksum or a wrong one (exit status $status)"
    elif ((status != want)); then
        why="exit status $status, expected $want"
    elif ! known_leak_found "$tool"; then
        why="did not report the workload's leak of 69 bytes in 2 blocks"
    fi
    if [[ -n $why ]]; then
        cat "$TMP/run.err" "$TMP/run.valgrind" "$TMP/run.json" >"$OUT/failed-run-$tool.stderr" 2>/dev/null || true
        RUN_FAILED[$tool]="$why (output in ${OUT#"$ROOT"/}/failed-run-$tool.stderr)"
        return 0
    fi
    local us=$((10#${wall/./})) cpu=$((10#${user/./} + 10#${sys/./}))
    us=$((us * 1000))
    if [[ -z ${RUN_BEST_US[$tool]:-} ]] || ((us < RUN_BEST_US[$tool])); then
        RUN_BEST_US[$tool]=$us
    fi
    if [[ -z ${RUN_BEST_CPU_MS[$tool]:-} ]] || ((cpu < RUN_BEST_CPU_MS[$tool])); then
        RUN_BEST_CPU_MS[$tool]=$cpu
    fi
}

measure_run_bench() {
    if ! build_run_workload; then
        RUN_FAILED[plain]="gcc could not build bench/run_workload.c (see ${OUT#"$ROOT"/}/build-run_plain.log)"
        return 0
    fi
    if ! run_workload_under plain || ! RUN_EXPECTED=$(grep '^checksum ' "$TMP/run.out"); then
        RUN_FAILED[plain]="the plain run_workload failed: $(head -c 300 "$TMP/run.err")"
        return 0
    fi
    local round tool
    note "bench: leakcheck run: $RUN_REPEAT rounds of the fast tools, then $RUN_SLOW_REPEAT runs of valgrind"
    for ((round = 1; round <= RUN_REPEAT; round++)); do
        for tool in "${RUN_FAST_TOOLS[@]}"; do
            run_sample "$tool"
        done
    done
    for ((round = 1; round <= RUN_SLOW_REPEAT; round++)); do
        run_sample valgrind
    done
}

# run_seconds TOOL: the best time in seconds, or nothing.
run_seconds() {
    local us=${RUN_BEST_US[$1]:-}
    if [[ -n $us ]]; then awk -v u="$us" 'BEGIN { printf "%.3f", u / 1e6 }'; fi
}

# run_cpu_seconds TOOL: the least CPU time in seconds, or nothing.
run_cpu_seconds() {
    local ms=${RUN_BEST_CPU_MS[$1]:-}
    if [[ -n $ms ]]; then awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1e3 }'; fi
}

# run_ratio_row LABEL A B TARGET OK: a ratio of wall times, the same ratio
# of CPU times, and the verdict on the wall times.
run_ratio_row() {
    local label=$1 a=$2 b=$3 target=$4 ok=$5 cpu=""
    if [[ -n $(run_cpu_seconds "$a") && -n $(run_cpu_seconds "$b") ]]; then
        cpu="$(ratio "$(run_cpu_seconds "$a")" "$(run_cpu_seconds "$b")")x"
    fi
    printf '    %-30s %8sx %9s   %-14s %s\n' "$label" \
        "$(ratio "$(run_seconds "$a")" "$(run_seconds "$b")")" "$cpu" "$target" "$ok"
}

print_run_table() {
    echo
    echo "leakcheck run: ${OUT#"$ROOT"/}/run_* -t $RUN_THREADS -r $RUN_ROUNDS (bench/run_workload.c): lists, a hash"
    echo "table, strdup, realloc growth in $RUN_THREADS threads, and a known leak of 69 B in 2 blocks at exit"
    echo "that every tool must report (exit status 23 from leakcheck run and LSan is expected)."
    echo "Wall time, best of $RUN_REPEAT interleaved rounds (valgrind: best of $RUN_SLOW_REPEAT runs), and the"
    echo "least CPU time (user + sys of every thread and child); every tool runs the same -r, nothing"
    echo "is scaled. The targets are on wall time."
    echo
    if [[ -n ${RUN_FAILED[plain]:-} ]]; then
        echo "  ${RUN_FAILED[plain]}"
        return 0
    fi
    local tool secs plain cpu plain_cpu
    plain=$(run_seconds plain)
    plain_cpu=$(run_cpu_seconds plain)
    printf '  %-34s %9s %9s %9s %9s\n' "tool" "seconds" "x plain" "CPU s" "x plain"
    for tool in "${RUN_TOOLS[@]}"; do
        secs=$(run_seconds "$tool")
        cpu=$(run_cpu_seconds "$tool")
        if [[ -n ${RUN_UNAVAILABLE[$tool]:-} ]]; then
            printf '  %-34s %s\n' "${RUN_LABEL[$tool]}" "${RUN_UNAVAILABLE[$tool]}"
        elif [[ -n $secs ]]; then
            printf '  %-34s %9s %8sx %9s %8sx\n' "${RUN_LABEL[$tool]}" "$secs" \
                "$(ratio "$secs" "$plain")" "$cpu" "$(ratio "$cpu" "$plain_cpu")"
        else
            printf '  %-34s %s\n' "${RUN_LABEL[$tool]}" "failed: ${RUN_FAILED[$tool]:-no figure}"
        fi
    done
    local lc vg lsan
    lc=$(run_seconds leakcheck)
    vg=$(run_seconds valgrind)
    lsan=$(run_seconds lsan)
    echo
    printf '  %-32s %9s %9s   %-14s %s\n' "ratios" "wall" "CPU" "target" "verdict (wall)"
    if [[ -n $lc ]]; then
        run_ratio_row "leakcheck run / plain (gcc)" leakcheck plain "" ""
    fi
    if [[ -n $lc && -n $vg ]]; then
        run_ratio_row "valgrind / leakcheck run" valgrind leakcheck ">= 10x" \
            "$(verdict "$(awk -v a="$vg" -v b="$lc" 'BEGIN { print (a >= 10 * b) }')")"
    fi
    if [[ -n $lc && -n $lsan ]]; then
        run_ratio_row "leakcheck run / LSan" leakcheck lsan "<= 2x" \
            "$(verdict "$(awk -v a="$lc" -v b="$lsan" 'BEGIN { print (a <= 2 * b) }')")"
    fi
}

print_run_targets() {
    local lc vg lsan
    lc=$(run_seconds leakcheck)
    vg=$(run_seconds valgrind)
    lsan=$(run_seconds lsan)
    if [[ -n $lc && -n $vg ]]; then
        target_row "leakcheck run at least 10x faster than valgrind" "$(ratio "$vg" "$lc")x" \
            "$(verdict "$(awk -v a="$vg" -v b="$lc" 'BEGIN { print (a >= 10 * b) }')")"
    else
        target_row "leakcheck run at least 10x faster than valgrind" "-" "not measured"
    fi
    if [[ -n $lc && -n $lsan ]]; then
        target_row "leakcheck run within 2x of the LSan build" "$(ratio "$lc" "$lsan")x" \
            "$(verdict "$(awk -v a="$lc" -v b="$lsan" 'BEGIN { print (a <= 2 * b) }')")"
    else
        target_row "leakcheck run within 2x of the LSan build" "-" "not measured"
    fi
}

# ------------------------------------------------------ reachability scan

SCAN_MS=""
LSAN_SCAN_MS=""

run_scan_bench() {
    echo
    echo "Reachability scan: ${OUT#"$ROOT"/}/scan_bench -b $SCAN_BLOCKS (linked against ${LIB#"$ROOT"/}):"
    echo "lc_verify at an infinite budget (runtime ownership, reachability, per-thread retained bytes,"
    echo "classification), settle window off; best of 3 checks."
    if [[ -n ${UNAVAILABLE[leakcheck]:-} ]]; then
        echo "  ${UNAVAILABLE[leakcheck]}"
        return 0
    fi
    if ! gcc "${CFLAGS[@]}" -I"$ROOT/include" "$ROOT/bench/scan_bench.c" \
        -L"$LIBDIR" -lleakcheck -Wl,-rpath,"$LIBDIR" -o "$OUT/scan_bench" \
        >"$OUT/build-scan_bench.log" 2>&1; then
        echo "  not built: the compile or link failed (${OUT#"$ROOT"/}/build-scan_bench.log):"
        head -5 "$OUT/build-scan_bench.log" | sed 's/^/    /'
        return 0
    fi
    note "bench: scan_bench -b $SCAN_BLOCKS"
    local status=0
    "$OUT/scan_bench" -b "$SCAN_BLOCKS" >"$TMP/scan.out" 2>"$TMP/scan.err" || status=$?
    sed 's/^/  /' "$TMP/scan.out"
    if ((status != 0)); then
        echo "  failed: exit status $status"
        head -5 "$TMP/scan.err" | sed 's/^/    /'
        return 0
    fi
    SCAN_MS=$(awk '/^reachability check/ { print $(NF - 1) }' "$TMP/scan.out")
    run_lsan_scan
}

# LSan's own leak check (the scan it runs at exit) of the same heap: the
# source built with clang -fsanitize=leak -DLC_BENCH_LSAN, report not
# symbolized (the check's report is not printed either).
run_lsan_scan() {
    echo "LSan's leak check of the same heap: clang -fsanitize=leak -DLC_BENCH_LSAN, LSAN_OPTIONS=symbolize=0; best of 3:"
    if ! command -v clang >/dev/null; then
        echo "  not installed (clang)"
        return 0
    fi
    if ! clang "${CFLAGS[@]}" -fsanitize=leak -DLC_BENCH_LSAN "$ROOT/bench/scan_bench.c" \
        -o "$OUT/scan_lsan" >"$OUT/build-scan_lsan.log" 2>&1; then
        echo "  not built (${OUT#"$ROOT"/}/build-scan_lsan.log)"
        return 0
    fi
    note "bench: scan_lsan -b $SCAN_BLOCKS"
    local status=0
    env -u ASAN_OPTIONS LSAN_OPTIONS=symbolize=0 "$OUT/scan_lsan" -b "$SCAN_BLOCKS" \
        >"$TMP/scan_lsan.out" 2>"$TMP/scan_lsan.err" || status=$?
    sed 's/^/  /' "$TMP/scan_lsan.out"
    if ((status != 0)); then
        echo "  failed: exit status $status"
        grep -v '^ *#' "$TMP/scan_lsan.err" | head -5 | sed 's/^/    /'
        return 0
    fi
    LSAN_SCAN_MS=$(awk '/^LSan leak check/ { print $(NF - 1) }' "$TMP/scan_lsan.out")
}

print_scan_targets() {
    if [[ -n $SCAN_MS ]]; then
        target_row "reachability check of $SCAN_BLOCKS blocks under 1 s" "$SCAN_MS ms" \
            "$(verdict "$(awk -v a="$SCAN_MS" 'BEGIN { print (a < 1000) }')")"
    else
        target_row "reachability check of $SCAN_BLOCKS blocks under 1 s" "-" "not measured"
    fi
    if [[ -n $SCAN_MS && -n $LSAN_SCAN_MS ]]; then
        local ratio
        ratio=$(awk -v a="$SCAN_MS" -v b="$LSAN_SCAN_MS" 'BEGIN { printf "%.2f", a / b }')
        target_row "reachability check at most 1.5x LSan's check of the same heap" \
            "${ratio}x ($SCAN_MS / $LSAN_SCAN_MS ms)" "$(verdict "$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5) }')")"
    else
        target_row "reachability check at most 1.5x LSan's check of the same heap" "-" "not measured"
    fi
}

# ------------------------------------------------------- Check suite bench

# bench/check_suite.c in three builds, run in both Check fork modes. (What
# `leakcheck run` costs each process is the forks section's.)
CHECK_BUILDS=(plain linked assert)
declare -A CHECK_LABEL=(
    [plain]="plain (no library)"
    [linked]="linked, no assertion"
    [assert]="ck_assert_no_leaks() in every test"
)
declare -A CHECK_UNAVAILABLE # build -> why it has no figures
declare -A CHECK_FAILED      # build,mode -> why a run did not count
declare -A CHECK_BEST_US     # build,mode -> best wall time in microseconds
declare -A CHECK_CPU_US      # build,mode -> CPU time of that run (process + tests)
declare -A CHECK_FAULTS      # build,mode -> page faults of the tests (children), or the process's
declare -A CHECK_ROUND_US    # build,mode,round -> wall time of that round's run in microseconds

build_check_suite() {
    local cflags libs build flag
    if ! cflags=$(pkg-config --cflags check 2>/dev/null) || ! libs=$(pkg-config --libs check 2>/dev/null); then
        for build in "${CHECK_BUILDS[@]}"; do CHECK_UNAVAILABLE[$build]="not built (no pkg-config file for check)"; done
        return 0
    fi
    for build in "${CHECK_BUILDS[@]}"; do
        case $build in
        plain) flag=() ;;
        linked) flag=(-DLINKED -L"$LIBDIR" "-Wl,--no-as-needed" -lleakcheck "-Wl,--as-needed" "-Wl,-rpath,$LIBDIR") ;;
        assert) flag=(-DASSERT -L"$LIBDIR" -lleakcheck "-Wl,-rpath,$LIBDIR") ;;
        esac
        if [[ $build != plain && -n ${UNAVAILABLE[leakcheck]:-} ]]; then
            CHECK_UNAVAILABLE[$build]=${UNAVAILABLE[leakcheck]}
            continue
        fi
        # shellcheck disable=SC2086 # pkg-config output is a list of flags
        gcc "${CFLAGS[@]}" -I"$ROOT/include" $cflags "$ROOT/bench/check_suite.c" -o "$OUT/check_$build" \
            "${flag[@]}" $libs >"$OUT/build-check_$build.log" 2>&1 ||
            CHECK_UNAVAILABLE[$build]="not built (see ${OUT#"$ROOT"/}/build-check_$build.log)"
    done
}

# check_sample BUILD MODE ROUND: one run of the suite; keep its wall time
# for the round, and the best wall time with that run's CPU time and page
# faults.
check_sample() {
    local build=$1 mode=$2 round=$3 start end status=0 line
    if [[ -n ${CHECK_UNAVAILABLE[$build]:-} || -n ${CHECK_FAILED[$build,$mode]:-} ]]; then return 0; fi
    note "bench:   check_$build, CK_FORK=$mode"
    start=${EPOCHREALTIME/./}
    env -u LEAKCHECK_BUDGET -u LEAKCHECK_PPROF_DIR CK_FORK="$mode" BENCH_CHECK_TESTS="$CHECK_TESTS" \
        "$OUT/check_$build" >"$TMP/check.out" 2>"$TMP/check.err" || status=$?
    end=${EPOCHREALTIME/./}
    line=$(grep '^tests ' "$TMP/check.out" || true)
    if ((status != 0)) || [[ $line != "tests $CHECK_TESTS failed 0 "* ]]; then
        cp "$TMP/check.err" "$OUT/failed-check-$build-$mode.stderr"
        CHECK_FAILED[$build,$mode]="exit status $status, '$line' (stderr in ${OUT#"$ROOT"/}/failed-check-$build-$mode.stderr)"
        return 0
    fi
    local us=$((end - start)) self children cpu
    read -r self children cpu < <(awk '{ print $6, $8, $10 }' <<<"$line")
    CHECK_ROUND_US[$build,$mode,$round]=$us
    if [[ -z ${CHECK_BEST_US[$build,$mode]:-} ]] || ((us < CHECK_BEST_US[$build,$mode])); then
        CHECK_BEST_US[$build,$mode]=$us
        CHECK_CPU_US[$build,$mode]=$cpu
        # In fork mode the tests are the children; otherwise the process.
        if [[ $mode == yes ]]; then CHECK_FAULTS[$build,$mode]=$children; else CHECK_FAULTS[$build,$mode]=$self; fi
    fi
}

measure_check_bench() {
    build_check_suite
    local round build mode
    note "bench: Check suite: $CHECK_REPEAT interleaved rounds"
    for ((round = 1; round <= CHECK_REPEAT; round++)); do
        for mode in yes no; do
            for build in "${CHECK_BUILDS[@]}"; do
                check_sample "$build" "$mode" "$round"
            done
        done
    done
}

# check_paired BUILD MODE: the Check section's paired_ratios of BUILD over plain.
check_paired() { paired_ratios CHECK_ROUND_US "$1,$2" "plain,$2" "$CHECK_REPEAT"; }

# check_ms_per_test BUILD MODE: wall milliseconds per test.
check_ms() { awk -v u="$1" -v n="$CHECK_TESTS" 'BEGIN { printf "%.2f", u / 1000 / n }'; }

print_check_table() {
    echo
    echo "Check suite: ${OUT#"$ROOT"/}/check_* (bench/check_suite.c), $CHECK_TESTS tests that each allocate and"
    echo "free a block; plain, linked with ${LIB#"$ROOT"/} and no assertion, and ck_assert_no_leaks() in every"
    echo "test (baseline: the fork; with CK_FORK=no the checked fixture's). Best wall time of"
    echo "$CHECK_REPEAT interleaved rounds, with that run's CPU time (the process and its forked tests)"
    echo "and page faults per test (of the forked tests with CK_FORK=yes, of the process with no);"
    echo "paired: the median over rounds of the wall time over plain's in the same round, with"
    echo "its quartiles (the targets' figure)."
    echo
    printf '  %-9s %-36s %8s %8s %8s %9s %8s %8s %11s  %s\n' "CK_FORK" "build" "seconds" "x plain" \
        "ms/test" "+ms/test" "CPU s" "x plain" "faults/test" "paired x plain (quartiles)"
    local mode build us plain cpu plain_cpu
    for mode in yes no; do
        plain=${CHECK_BEST_US[plain,$mode]:-}
        plain_cpu=${CHECK_CPU_US[plain,$mode]:-}
        for build in "${CHECK_BUILDS[@]}"; do
            us=${CHECK_BEST_US[$build,$mode]:-}
            cpu=${CHECK_CPU_US[$build,$mode]:-}
            if [[ -n ${CHECK_UNAVAILABLE[$build]:-} ]]; then
                printf '  %-9s %-36s %s\n' "$mode" "${CHECK_LABEL[$build]}" "${CHECK_UNAVAILABLE[$build]}"
            elif [[ -z $us || -z $plain ]]; then
                printf '  %-9s %-36s failed: %s\n' "$mode" "${CHECK_LABEL[$build]}" \
                    "${CHECK_FAILED[$build,$mode]:-${CHECK_FAILED[plain,$mode]:-no figure}}"
            else
                local paired med q1 q3 n
                paired=$(check_paired "$build" "$mode")
                read -r med q1 q3 n <<<"$paired"
                [[ -n $paired ]] && paired="${med}x (${q1}-${q3}, $n rounds)"
                printf '  %-9s %-36s %8.3f %7sx %8s %9s %8.3f %7sx %11s  %s\n' "$mode" "${CHECK_LABEL[$build]}" \
                    "$(awk -v u="$us" 'BEGIN { print u / 1e6 }')" "$(ratio "$us" "$plain")" \
                    "$(check_ms "$us")" "$(awk -v a="$us" -v b="$plain" -v n="$CHECK_TESTS" 'BEGIN { printf "%+.2f", (a - b) / 1000 / n }')" \
                    "$(awk -v u="$cpu" 'BEGIN { print u / 1e6 }')" "$(ratio "$cpu" "$plain_cpu")" \
                    "$(awk -v f="${CHECK_FAULTS[$build,$mode]}" -v n="$CHECK_TESTS" 'BEGIN { printf "%.0f", f / n }')" \
                    "$paired"
            fi
        done
    done
}

print_check_targets() {
    local build limit text paired med q1 q3 n
    for build in assert linked; do
        case $build in
        assert) limit=1.5 text="Check suite, assertion in every test, at most 1.5x plain" ;;
        linked) limit=1.2 text="Check suite, linked, no assertion, at most 1.2x plain" ;;
        esac
        paired=$(check_paired "$build" yes)
        if [[ -n $paired ]]; then
            read -r med q1 q3 n <<<"$paired"
            target_row "$text" "${med}x paired (${q1}-${q3})" \
                "$(verdict "$(awk -v m="$med" -v l="$limit" 'BEGIN { print (m <= l) }')")"
        else
            target_row "$text" "-" "not measured"
        fi
    done
}

# ------------------------------------------------- fixed cost per process

# A build-like workload: a shell that starts FORKS short children. Checked,
# every child (and the shell) loads the library, writes its start record,
# runs its exit check and writes its report; the difference with the plain
# run, divided by the FORKS + 1 processes, is the fixed cost of a checked
# process. Plain and leakcheck rounds alternate and the best counts, so that
# a slow moment of the machine falls on both; valgrind runs once, on fewer
# children, and is scaled per process.
FORKS_PLAIN_MS="" FORKS_LC_MS="" FORKS_VG_MS=""

forks_script() { echo "for i in \$(seq $1); do /bin/true; done"; }

# forks_ms COMMAND...: wall milliseconds of one run (stdout, stderr dropped).
forks_ms() {
    local start
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    echo $((($(date +%s%N) - start) / 1000000))
}

min_of() { printf '%s\n' "$@" | sort -n | head -1; }

run_forks_bench() {
    echo
    echo "Fixed cost per checked process: bash -c '$(forks_script "$FORKS")',"
    echo "$((FORKS + 1)) processes; best of $FORKS_REPEAT alternating rounds (valgrind: one run of"
    echo "$FORKS_VALGRIND children, --trace-children=yes --leak-check=full, scaled per process)."
    if [[ -n ${UNAVAILABLE[leakcheck]:-} ]]; then
        echo "  ${UNAVAILABLE[leakcheck]}"
        return 0
    fi
    local plain=() lc=() i script
    script=$(forks_script "$FORKS")
    note "bench: forks ($FORKS children)"
    for ((i = 0; i < FORKS_REPEAT; i++)); do
        plain+=("$(forks_ms bash -c "$script")")
        lc+=("$(forks_ms env -u LEAKCHECK_QUIET -u LEAKCHECK_BUDGET "$LEAKCHECK" run \
            --output "$TMP/forks.report" -- bash -c "$script")")
    done
    FORKS_PLAIN_MS=$(min_of "${plain[@]}")
    FORKS_LC_MS=$(min_of "${lc[@]}")
    local reports
    reports=$(grep -c '^== process' "$TMP/forks.report" 2>/dev/null || echo 0)
    printf '  %-34s %8s ms  %7s ms per process\n' "plain" "$FORKS_PLAIN_MS" \
        "$(awk -v a="$FORKS_PLAIN_MS" -v n="$((FORKS + 1))" 'BEGIN { printf "%.1f", a / n }')"
    printf '  %-34s %8s ms  %+7s ms per process (%s process reports)\n' "leakcheck run" "$FORKS_LC_MS" \
        "$(forks_per_process "$FORKS_LC_MS" "$FORKS_PLAIN_MS" "$FORKS")" "$reports"
    if ((reports != FORKS + 2)); then
        echo "  leakcheck run: $reports reports where $((FORKS + 2)) were expected (the shell, seq, $FORKS children)"
        FORKS_LC_MS=""
    fi
    if command -v valgrind >/dev/null; then
        local vg_plain vg
        script=$(forks_script "$FORKS_VALGRIND")
        vg_plain=$(forks_ms bash -c "$script")
        vg=$(forks_ms valgrind -q --trace-children=yes --leak-check=full bash -c "$script")
        FORKS_VG_MS=$(awk -v a="$vg" -v b="$vg_plain" -v m="$FORKS_VALGRIND" -v n="$FORKS" \
            'BEGIN { printf "%.0f", (a - b) / (m + 1) * (n + 1) + b }')
        printf '  %-34s %8s ms  %+7s ms per process (scaled from %s ms for %s children)\n' \
            "valgrind" "$FORKS_VG_MS" "$(forks_per_process "$vg" "$vg_plain" "$FORKS_VALGRIND")" \
            "$vg" "$FORKS_VALGRIND"
    else
        echo "  valgrind: not installed"
    fi
}

# forks_per_process CHECKED_MS PLAIN_MS CHILDREN: added ms per process.
forks_per_process() {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%+.1f", (a - b) / (n + 1) }'
}

print_forks_targets() {
    local what="leakcheck run: under 20 ms added per checked process"
    if [[ -n $FORKS_LC_MS ]]; then
        local per
        per=$(forks_per_process "$FORKS_LC_MS" "$FORKS_PLAIN_MS" "$FORKS")
        target_row "$what" "$per ms" "$(verdict "$(awk -v a="$per" 'BEGIN { print (a < 20) }')")"
    else
        target_row "$what" "-" "not measured"
    fi
}

# ----------------------------------------------------------------- targets

# verdict OK?: "met" or "MISSED".
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "MISSED") }'; }

target_row() {
    printf '  %-58s %-26s %s\n' "$1" "$2" "$3"
}

print_targets() {
    echo
    echo "Targets (bench/README.md)"
    if [[ -n ${SELECTED[alloc]:-} ]]; then print_alloc_targets; fi
    if [[ -n ${SELECTED[snapshot]:-} ]]; then print_snapshot_targets; fi
    if [[ -n ${SELECTED[run]:-} ]]; then print_run_targets; fi
    if [[ -n ${SELECTED[scan]:-} ]]; then print_scan_targets; fi
    if [[ -n ${SELECTED[check]:-} ]]; then print_check_targets; fi
    if [[ -n ${SELECTED[forks]:-} ]]; then print_forks_targets; fi
}

# alloc_target THREADS NAME TOOL BASE LIMIT STRICT: a target on the paired
# median of TOOL over BASE, met when it is below LIMIT (at most, unless
# STRICT).
alloc_target() {
    local threads=$1 name=$2 med q1 q3 n
    read -r med q1 q3 n <<<"$(paired "$3" "$4" "$threads")"
    if [[ -z ${med:-} ]]; then
        target_row "$threads thread(s): $name" "-" "not measured"
        return 0
    fi
    target_row "$threads thread(s): $name" "${med}x paired ($q1-$q3)" \
        "$(verdict "$(awk -v m="$med" -v l="$5" -v s="$6" 'BEGIN { print (s ? m < l : m <= l) }')")"
}

print_alloc_targets() {
    local threads
    for threads in "${THREADS[@]}"; do
        alloc_target "$threads" "default depth costs less than LSan" leakcheck lsan 1 1
        alloc_target "$threads" "default depth at most 2x plain" leakcheck plain 2 0
        alloc_target "$threads" "stack capture off at most 1.3x plain" leakcheck_nostack plain 1.3 0
    done
}

print_snapshot_targets() {
    if [[ -n $SNAPSHOT_MS ]]; then
        target_row "snapshot + diff of $BLOCKS live blocks under 500 ms" "$SNAPSHOT_MS ms" \
            "$(verdict "$(awk -v a="$SNAPSHOT_MS" 'BEGIN { print (a < 500) }')")"
    else
        target_row "snapshot + diff of $BLOCKS live blocks under 500 ms" "-" "not measured"
    fi
    if [[ -n $TRACKER_BYTES ]]; then
        target_row "tracker memory under 64 B per live block (+ stack table)" \
            "$TRACKER_BYTES B (with the table)" \
            "$(verdict "$(awk -v a="$TRACKER_BYTES" 'BEGIN { print (a < 64) }')")"
    else
        target_row "tracker memory under 64 B per live block (+ stack table)" "-" "not measured"
    fi
}

load_average() { cut -d' ' -f1 /proc/loadavg; }

# print_load START END: warn when other work shared the CPUs with the runs.
# The runs themselves keep the load at about 1-2 by the end.
print_load() {
    echo
    echo "Load average (1 min) at start $1, at end $2."
    if awk -v a="$1" -v b="$2" -v c="$(nproc)" 'BEGIN { exit !(a > 0.5 || b > c + 0.5) }'; then
        echo "WARNING: other work was running on this machine; the figures above are not reliable."
    fi
}

main() {
    ARGS=("$@")
    local section known
    if (($# == 0)); then set -- "${SECTIONS[@]}"; fi
    for section in "$@"; do
        known=""
        for known in "${SECTIONS[@]}"; do
            if [[ $section == "$known" ]]; then break; fi
            known=""
        done
        [[ -n $known ]] || die "unknown section '$section' (want: ${SECTIONS[*]})"
        SELECTED[$section]=1
    done

    local load_start
    load_start=$(load_average)
    mkdir -p "$OUT"
    rm -f "$OUT"/failed-*.stderr
    check_leakcheck
    check_other_tools
    local tool threads
    if [[ -n ${SELECTED[alloc]:-} ]]; then
        build_workloads
        measure_all
        for tool in "${TOOLS[@]}"; do
            for threads in "${THREADS[@]}"; do
                figure "$tool" "$threads"
            done
        done
    fi
    if [[ -n ${SELECTED[run]:-} ]]; then measure_run_bench; fi
    if [[ -n ${SELECTED[check]:-} ]]; then measure_check_bench; fi
    {
        print_header
        if [[ -n ${SELECTED[alloc]:-} ]]; then
            print_alloc_intro
            print_table
        fi
        if [[ -n ${SELECTED[snapshot]:-} ]]; then run_snapshot_bench; fi
        if [[ -n ${SELECTED[threads]:-} ]]; then run_thread_bench; fi
        if [[ -n ${SELECTED[run]:-} ]]; then print_run_table; fi
        if [[ -n ${SELECTED[scan]:-} ]]; then run_scan_bench; fi
        if [[ -n ${SELECTED[check]:-} ]]; then print_check_table; fi
        if [[ -n ${SELECTED[forks]:-} ]]; then run_forks_bench; fi
        print_targets
        print_load "$load_start" "$(load_average)"
    } | tee "$OUT/results.txt"
}

main "$@"
