#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz.sh: builds the profile reader's libFuzzer target (tests/fuzz_pprof.c)
# and runs it for a bounded time on a seed corpus written by the encoder.
#
#   FUZZ_SECONDS=30   how long to fuzz
#   FUZZ_DIR=build/fuzz_pprof   where the corpus grows (kept between runs)
#                     and where crashing inputs are saved
# Exit status: libFuzzer's (0 when nothing was found).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
seconds=${FUZZ_SECONDS:-30}
dir=${FUZZ_DIR:-build/fuzz_pprof}
clang=${CLANG:-clang}

if ! command -v "$clang" >/dev/null 2>&1; then
    echo "fuzz.sh: SKIP: $clang is not on PATH"
    exit 0
fi
mkdir -p "$dir/corpus" "$dir/seeds" "$dir/artifacts"

# Seeds: valid profiles, gzip and bare, from the encoder itself.
cc=${CC:-cc}
# The writer and the layers under it it uses (the OS primitives, the core
# state they read).
writer_srcs="harness/pprof_encode.c harness/pprof_gzip.c harness/pprof_mappings.c harness/prim_linux.c harness/os_maps.c harness/core.c"
$cc -std=gnu11 -O2 -g -D_GNU_SOURCE -pthread -Iinclude -Iharness tests/pprof_writer.c \
    $writer_srcs -lz -ldl -o "$dir/pprof_writer"
"$dir/pprof_writer" seeds "$dir/seeds"

# The reader's wire decoder is generated from profiles/profile.proto and
# fuzzed with it.
protoc-c --proto_path=profiles --c_out="$dir" profiles/profile.proto
$clang -std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -Iinclude -Iharness -Iprofiles \
    -I"$dir" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    tests/fuzz_pprof.c profiles/*.c "$dir/profile.pb-c.c" $writer_srcs \
    -lprotobuf-c -lz -ldl -pthread -o "$dir/fuzz_pprof"

echo "fuzz.sh: fuzzing the pprof reader for ${seconds}s (corpus $dir/corpus)"
exec "$dir/fuzz_pprof" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$dir/seeds"
