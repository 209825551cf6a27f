#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# update-docs.sh: regenerate every output shown in README.md and docs/*.md
# from the current build, so that no page can show output the code no longer
# prints.
#
# usage: scripts/update-docs.sh           rewrite the pages in place
#        scripts/update-docs.sh --check   regenerate into a temporary copy and
#                                         fail with a diff when a page is stale
#
# Run after `make` (build/leakcheck, build/libleakcheck.so and the
# uninstalled build/leakcheck.pc). A page marks each generated block with an
# HTML comment on the line before its fence; the fence's contents are
# replaced, the comment and the fence line itself (with its language) stay:
#
#   <!-- file: PATH -->     the contents of PATH (an example program, shown in
#                           full from docs/examples/ rather than pasted)
#   <!-- output: COMMAND --> what COMMAND prints (stdout and stderr)
#   <!-- shell: COMMAND -->  "$ COMMAND", what it prints, and "$ echo $?" with
#                           the status when it is not 0
#   <!-- setup: COMMAND --> run COMMAND, show nothing (compiling an example);
#                           a failure stops the script
#
# Several output/shell markers in a row fill one block, as a terminal session;
# what a command exports is seen by the commands after it on the same page.
# Commands run with bash in a scratch directory per page, in page order, in
# which build/ and the source directories are links to the checkout's: a
# command reads as it would be typed at the top of a checkout, and anything
# it writes stays out of the checkout. The environment is cleared of every
# LEAKCHECK_* variable, and LC_ALL=C.
#
# What legitimately varies from run to run is normalised by the sed rules in
# normalise() below, each saying what it hides; the pages say so where it
# shows (a thread id printed as TID, a time as N.N).
#
# The commands use what scripts/install-deps.sh installs (jq, valgrind, clang,
# go). It takes about 30 s on a loaded 2-core machine. Exit status: 0 when
# every page is current (or was rewritten), 1 when --check found a stale page
# or a command of a setup marker failed, 2 on a usage error or a missing build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
check=0
case ${1:-} in
--check) check=1 ;;
"") ;;
*)
    echo "usage: scripts/update-docs.sh [--check]" >&2
    exit 2
    ;;
esac

for need in build/leakcheck build/libleakcheck.so build/leakcheck.pc; do
    [ -e "$root/$need" ] || {
        echo "update-docs.sh: $need is missing; run make first" >&2
        exit 2
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/update-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

while IFS='=' read -r name _; do
    case $name in LEAKCHECK_*) unset "$name" ;; esac
done < <(env)
export LC_ALL=C TZ=UTC

# normalise SCRATCH: what varies between runs becomes a fixed word.
normalise() {
    sed -E \
        `# the scratch directory and the checkout (the include path of a header)` \
        -e "s#$1/##g" -e "s#$root/##g" \
        `# thread ids and process ids` \
        -e 's/thread [0-9]+/thread TID/g' \
        `# which thread of a group of like threads is named is arbitrary` \
        -e 's/(thread TID "[^"]*-)[0-9]+"/\1N"/g' \
        -e 's/"tid":( ?)[0-9]+/"tid":\1TID/g' \
        `# every id of a group (each number in turn, until none is left)` \
        -e ':ids' -e 's/(thread ids:( TID,)*) [0-9]+/\1 TID/' -e 't ids' \
        -e ':tids' -e 's/("tids": \[(TID, )*)[0-9]+/\1TID/' -e 't tids' \
        -e '/"tids": \[$/,/\]/ s/^( *)[0-9]+(,?)$/\1TID\2/' \
        -e 's/"pid":( ?)[0-9]+/"pid":\1PID/g' \
        -e 's/pid [0-9]+/pid PID/g' \
        -e 's/==[0-9]+==/==PID==/g' \
        -e 's/(\.pb\.gz)\.[0-9]+/\1.PID/g' \
        -e 's/leakcheck-[0-9]+-/leakcheck-PID-/g' \
        `# how long a thread has been in its state, and other timings` \
        -e 's/, [0-9]+\.[0-9]+ s\]/, N.N s]/g' \
        -e 's/"seconds":( ?)[0-9.]+/"seconds":\1N.N/g' \
        -e 's/ [0-9]+\.[0-9]+s( |$)/ N.NNs\1/g' \
        -e 's/in [0-9]+\.[0-9]+ s\b/in N.N s/g' \
        `# JUnit's times and the moment a suite started` \
        -e 's/ time="[0-9.]+"/ time="N.N"/g' \
        -e 's/ timestamp="[0-9TZ:-]+"/ timestamp="TIME"/g' \
        `# addresses: program counters, and offsets of frames without symbols` \
        -e 's/"pc":( ?)"0x[0-9a-f]+"/"pc":\1"0xADDR"/g' \
        -e 's/waiting on 0x[0-9a-f]+/waiting on 0xADDR/g' \
        -e 's/"address":( ?)"0x[0-9a-f]+"/"address":\1"0xADDR"/g' \
        -e 's/#([0-9]+) 0x[0-9a-f]+ in /#\1 0xADDR in /g' \
        -e 's/BuildId: [0-9a-f]+/BuildId: ID/g' \
        `# where in a frame a pointer sits moves with the stack's alignment` \
        -e 's/(stack of frame .*), slot \+[0-9]+/\1, slot +N/g' \
        -e 's/\+0x[0-9a-f]+\)/+0xOFF)/g' \
        `# temporary files of the programs shown` \
        -e 's#/tmp/[A-Za-z0-9._/-]+#/tmp/FILE#g'
}

# run_one KIND COMMAND SCRATCH OUT: append what a marker shows to OUT.
run_one() {
    local kind=$1 cmd=$2 dir=$3 out=$4 status=0 log
    log=$(mktemp "$tmp/log.XXXXXX")
    # Variables a command exports are seen by the page's later commands, as
    # in one terminal session (`export PKG_CONFIG_PATH=build`).
    # shellcheck disable=SC2016 # $1 and $s are the inner shell's
    (cd "$dir" && timeout 120 bash -c '. ./.env 2>/dev/null; eval "$1"; s=$?; export -p >.env; exit $s' \
        _ "$cmd") >"$log" 2>&1 </dev/null || status=$?
    case $kind in
    setup)
        if [ "$status" -ne 0 ]; then
            echo "update-docs.sh: setup command failed (status $status): $cmd" >&2
            sed 's/^/    /' "$log" >&2
            exit 1
        fi
        ;;
    output)
        normalise "$dir" <"$log" >>"$out"
        ;;
    shell)
        printf '$ %s\n' "$cmd" >>"$out"
        normalise "$dir" <"$log" >>"$out"
        [ "$status" -eq 0 ] || printf '$ echo $?\n%s\n' "$status" >>"$out"
        ;;
    esac
    rm -f "$log"
}

# render PAGE DEST: PAGE with every marked block regenerated, into DEST.
render() {
    local page=$1 dest=$2 dir block line kind cmd pending=() infence=0
    dir=$(mktemp -d "$tmp/scratch.XXXXXX")
    for d in build docs scripts tests include scenarios harness assertions tool; do ln -s "$root/$d" "$dir/$d"; done
    block=$(mktemp "$tmp/block.XXXXXX")
    : >"$dest"
    while IFS= read -r line || [ -n "$line" ]; do
        if [ "$infence" = 1 ]; then
            # Skipping the old contents of a regenerated block.
            if [[ $line =~ ^\`\`\` ]]; then
                cat "$block" >>"$dest"
                printf '%s\n' "$line" >>"$dest"
                infence=0
            fi
            continue
        fi
        printf '%s\n' "$line" >>"$dest"
        if [[ $line =~ ^\<!--\ (file|output|shell|setup):\ (.*)\ --\>$ ]]; then
            kind=${BASH_REMATCH[1]}
            cmd=${BASH_REMATCH[2]}
            if [ "$kind" = setup ]; then
                run_one setup "$cmd" "$dir" /dev/null
            else
                pending+=("$kind" "$cmd")
            fi
        elif [[ $line =~ ^\`\`\` ]] && [ ${#pending[@]} -gt 0 ]; then
            : >"$block"
            for ((i = 0; i < ${#pending[@]}; i += 2)); do
                kind=${pending[i]}
                cmd=${pending[i + 1]}
                if [ "$kind" = file ]; then
                    cat "$root/$cmd" >>"$block"
                else
                    run_one "$kind" "$cmd" "$dir" "$block"
                fi
            done
            pending=()
            infence=1
        elif [ ${#pending[@]} -gt 0 ] && [ -n "$line" ]; then
            echo "update-docs.sh: $page: a marker is not followed by a fenced block: $line" >&2
            exit 1
        fi
    done <"$page"
    if [ "$infence" = 1 ]; then
        echo "update-docs.sh: $page: a generated block has no closing fence" >&2
        exit 1
    fi
}

cd "$root"
shopt -s nullglob
stale=0
for page in README.md docs/*.md; do
    out="$tmp/$(echo "$page" | tr / _)"
    render "$page" "$out"
    if [ "$check" = 1 ]; then
        if ! diff -u --label "$page" --label "$page (regenerated)" "$page" "$out"; then
            stale=1
        fi
    elif ! cmp -s "$page" "$out"; then
        cp "$out" "$page"
        echo "update-docs.sh: updated $page"
    fi
done

if [ "$stale" = 1 ]; then
    echo "update-docs.sh: the pages above show output the current build no longer prints;" \
        "run scripts/update-docs.sh and commit the result" >&2
    exit 1
fi
