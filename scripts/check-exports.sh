#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-exports.sh: libleakcheck.so exports the public API and the
# interposed names, nothing else; libleakcheck_toolkit.so exports the
# functions of leakcheck_toolkit.h and its probes' semaphores.
#
#   check-exports.sh [LIB] [ROOT]    LIB defaults to build/libleakcheck.so
#
# The expected set is derived, not listed: every function declared in
# include/*.h (a public function whose LC_API was forgotten is hidden, and
# shows here as missing), plus the short list of libc and pthread names the
# library interposes. Anything else exported is an internal name that could
# collide with one of the program the library is loaded into. Prints the
# difference and exits 1 when the sets differ.
set -uo pipefail
root=${2:-$(cd "$(dirname "$0")/.." && pwd)}
lib=${1:-$root/build/libleakcheck.so}
[ -r "$lib" ] || { echo "check-exports: cannot read $lib" >&2; exit 2; }

# The names the library defines in place of the C library's (alloc_hooks.c,
# threads.c, process_mode.c, elf_symbols.c, prim_linux.c), and the hook LeakSanitizer calls (sanitizer.c).
interposed=(
  malloc calloc realloc reallocarray free posix_memalign aligned_alloc memalign valloc
  pvalloc malloc_usable_size
  pthread_create pthread_join pthread_tryjoin_np pthread_timedjoin_np pthread_detach
  pthread_exit exit _exit _Exit dlclose dl_iterate_phdr
  __lsan_is_turned_off
)

# Function declarations at file scope of the public headers: comments,
# preprocessor lines and C++ guards removed, brace contents (function bodies,
# struct members) dropped, then each declaration up to its `;` or body; static
# inline helpers and typedefs are left out.
public_functions() {
  cat "${headers[@]}" |
    sed -e '/^#ifdef __cplusplus/,/^#endif/d' |
    awk '
      { text = text $0 "\n" }
      END {
        gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, " ", text)   # comments
        n = split(text, lines, "\n"); text = ""; cont = 0
        for (i = 1; i <= n; i++) {                     # preprocessor lines
          if (cont || lines[i] ~ /^[ \t]*#/) { cont = lines[i] ~ /\\$/; continue }
          text = text lines[i] " "
        }
        depth = 0; out = ""
        for (i = 1; i <= length(text); i++) {          # brace contents
          c = substr(text, i, 1)
          if (c == "{") { if (depth++ == 0) out = out ";"; continue }
          if (c == "}") { depth--; continue }
          if (depth == 0) out = out c
        }
        n = split(out, decls, ";")
        for (i = 1; i <= n; i++) {
          d = decls[i]
          if (d ~ /^[ \t]*(typedef|static)[ \t]/ || d !~ /\(/) continue
          sub(/\(.*/, "", d)
          if (match(d, /[A-Za-z_][A-Za-z0-9_]*[ \t]*$/)) {
            name = substr(d, RSTART); gsub(/[ \t]/, "", name)
            if (d ~ /[A-Za-z_*][ \t*]+[A-Za-z_][A-Za-z0-9_]*[ \t]*$/) print name
          }
        }
      }'
}

# The toolkit is a library of its own, above this one: its header is its
# own API, and besides it exports only the semaphores of its USDT probes.
headers=()
case $(basename "$lib") in
libleakcheck_toolkit.so*)
  headers=("$root/include/leakcheck_toolkit.h")
  interposed=($(grep -o "^LC_SEMAPHORE([a-z_]*)" "$root/scenarios/probes.c" |
    sed 's/LC_SEMAPHORE(\(.*\))/leakcheck_toolkit_\1_semaphore/'))
  ;;
*)
  for h in "$root"/include/*.h; do
    [ "$(basename "$h")" = leakcheck_toolkit.h ] || headers+=("$h")
  done
  ;;
esac

expected=$( (public_functions; printf '%s\n' "${interposed[@]}") | sort -u)
actual=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
if [ "$expected" = "$actual" ]; then
  echo "check-exports: $(wc -l <<<"$actual") exports: the public API and the interposed names"
  exit 0
fi
echo "check-exports: $lib exports differ from include/*.h plus the interposed names"
comm -23 <(echo "$expected") <(echo "$actual") | sed 's/^/  not exported: /'
comm -13 <(echo "$expected") <(echo "$actual") | sed 's/^/  exported but not public: /'
exit 1
