# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# build.sh: builds the `leakcheck run` corpus; sourced by tests/cli_corpus.sh
# and tests/cli_corpus_valgrind.sh, which must run the same binaries.
#
#   corpus_build OUTDIR    builds every program below into OUTDIR, or
#                          prints the compiler's complaint and returns 1
#
# One row per binary: its source and the flags that make it the case or its
# twin. Every program is built with -O0 (so that locals stay where the
# source puts them) and -g, except nodebug, which shows that a program
# without debug information is still reported by function name.
# dlopen_plugin.so is no program: dlopen.c loads it from its own directory.

corpus_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

corpus_programs() {
    cat <<'TABLE'
lost_direct              lost_direct.c       -g
lost_direct.fixed        lost_direct.c       -g -DFIXED=1
lost_cycle               lost_cycle.c        -g
lost_cycle.fixed         lost_cycle.c        -g -DFIXED=1
lost_indirect            lost_indirect.c     -g
lost_indirect.fixed      lost_indirect.c     -g -DFIXED=1
thread_held              thread_held.c       -g
thread_held.fixed        thread_held.c       -g -DFIXED=1
thread_held.global       thread_held.c       -g -DALSO_GLOBAL=1
global_reachable         global_reachable.c  -g
global_reachable.fixed   global_reachable.c  -g -DFIXED=1
interior                 interior.c          -g
interior.fixed           interior.c          -g -DFIXED=1
registers                registers.c         -g
registers.fixed          registers.c         -g -DFIXED=1
tls_thread               tls_thread.c        -g
tls_thread.fixed         tls_thread.c        -g -DFIXED=1
tls_main                 tls_main.c          -g
tls_main.fixed           tls_main.c          -g -DFIXED=1
alloc_family             alloc_family.c      -g
alloc_family.fixed       alloc_family.c      -g -DFIXED=1
cxx_new                  cxx_new.cc          -g
cxx_new.fixed            cxx_new.cc          -g -DFIXED=1
cxx_new0                 cxx_new0.cc         -g
cxx_new0.fixed           cxx_new0.cc         -g -DFIXED=1
mapping                  mapping.c           -g
mapping.fixed            mapping.c           -g -DFIXED=1
startup_neighbour        startup_neighbour.c -g
startup_neighbour.fixed  startup_neighbour.c -g -DFIXED=1
mmap_chunk               mmap_chunk.c        -g
mmap_chunk.fixed         mmap_chunk.c        -g -DFIXED=1
stale_arena              stale_arena.c       -g
stale_arena.fixed        stale_arena.c       -g -DFIXED=1
arena_neighbour          arena_neighbour.c   -g
arena_neighbour.fixed    arena_neighbour.c   -g -DFIXED=1
arena_neighbour.live     arena_neighbour.c   -g -DLIVE_NODE=1
runtime_owned            runtime_owned.c     -g
runtime_owned.leaky      runtime_owned.c     -g -DLEAKY=1
thread_blocked           thread_blocked.c    -g
thread_blocked.fixed     thread_blocked.c    -g -DFIXED=1
thread_spinning          thread_spinning.c   -g
thread_spinning.fixed    thread_spinning.c   -g -DFIXED=1
thread_exited            thread_exited.c     -g
thread_exited.fixed      thread_exited.c     -g -DFIXED=1
thread_settling          thread_settling.c   -g
thread_settling.linger   thread_settling.c   -g -DLINGER_MS=30000
tiny_stack               tiny_stack.c        -g
tiny_stack.fixed         tiny_stack.c        -g -DFIXED=1
guard_pages              guard_pages.c       -g
guard_pages.fixed        guard_pages.c       -g -DFIXED=1
exit_local               exit_local.c        -g
exit_local.fixed         exit_local.c        -g -DFIXED=1
tsd                      tsd.c               -g
tsd.fixed                tsd.c               -g -DFIXED=1
tsd_all_keys             tsd_all_keys.c      -g
tsd_all_keys.leaky       tsd_all_keys.c      -g -DLEAKY=1
no_frame_pointers        no_frame_pointers.c -g -O2 -fomit-frame-pointer
no_frame_pointers.fixed  no_frame_pointers.c -g -O2 -fomit-frame-pointer -DFIXED=1
exit_thread              exit_thread.c       -g
exit_thread.fixed        exit_thread.c       -g -DFIXED=1
detached_dtor            detached_dtor.c     -g
detached_dtor.fixed      detached_dtor.c     -g -DFIXED=1
timer_thread             timer_thread.c      -g
timer_thread.leaky       timer_thread.c      -g -DLEAKY=1
vector_register          vector_register.c   -g
vector_register.fixed    vector_register.c   -g -DFIXED=1
fork                     fork.c              -g
crash                    crash.c             -g
hang                     hang.c              -g
suppress                 suppress.c          -g
nodebug                  nodebug.c
nodebug.fixed            nodebug.c           -DFIXED=1
unaligned                unaligned.c         -g
unaligned.fixed          unaligned.c         -g -DFIXED=1
self_pointer             self_pointer.c      -g
self_pointer.fixed       self_pointer.c      -g -DFIXED=1
dlopen_plugin.so         dlopen_plugin.c     -g -shared -fPIC
dlopen                   dlopen.c            -g
dlopen.fixed             dlopen.c            -g -DFIXED=1
dlopen.loaded            dlopen.c            -g -DKEEP_LOADED=1
signal_storm             signal_storm.c      -g
signal_storm.fixed       signal_storm.c      -g -DFIXED=1
contention               contention.c        -g
contention.fixed         contention.c        -g -DFIXED=1
contention.join          contention.c        -g -DJOIN=1
exit_abort               exit_abort.c        -g
exit_abort.fixed         exit_abort.c        -g -DFIXED=1
exit_underscore          exit_underscore.c   -g
exit_underscore.fixed    exit_underscore.c   -g -DFIXED=1
TABLE
}

corpus_build() {
    local out=$1 name src flags compiler
    mkdir -p "$out" || return 1
    while read -r name src flags; do
        case $src in
        *.cc) compiler=(g++ -std=gnu++17) ;;
        *) compiler=(cc -std=gnu11) ;;
        esac
        # shellcheck disable=SC2086 # flags are words
        if ! "${compiler[@]}" -D_GNU_SOURCE -O0 -pthread -Wall -Wextra -Werror $flags -I"$corpus_dir" \
            -o "$out/$name" "$corpus_dir/$src" -ldl 2>"$out/$name.build.log"; then
            echo "corpus: cannot build $name from $src:" >&2
            cat "$out/$name.build.log" >&2
            return 1
        fi
    done < <(corpus_programs)
}
