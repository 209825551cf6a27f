#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-layers.sh: the library's include lines follow its layer order.
#
#   check-layers.sh [ROOT [OBJDIR]]   ROOT defaults to the repository
#
# The layers are the table of docs/architecture.md (layer, module, headers,
# files). A library file may include the headers of its own layer and of
# lower ones only; every file of harness/ and assertions/ must be in the
# table; an internal header stays within 200 lines and a library file within
# 700 (past that, a file holds more than one concern); the toolkit and the
# built-in scenarios (scenarios/) include public headers only, as a user's
# scenarios do. With OBJDIR (build/obj), the same order
# holds for the symbols the compiled objects reference: an object may use
# what objects of its own or lower layers define (the interposed libc and
# pthread names excepted: a call to malloc goes through the C library's
# API, whoever defines it). Prints one line per violation and exits 1 when
# there is any, 0 otherwise.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
objdir=${2:-}
[ -z "$objdir" ] || objdir=$(cd "$objdir" && pwd) || exit 2
cd "$root" || exit 2
table=docs/architecture.md
[ -r "$table" ] || { echo "check-layers: cannot read $table" >&2; exit 2; }

declare -A layer module
# Rows: | N | module | headers | files | owns |
while IFS='|' read -r _ n mod hdrs files _; do
  n=${n// /}
  [[ $n =~ ^[0-9]+$ ]] || continue
  mod=${mod// /}
  for f in $hdrs $files; do
    layer[$f]=$n
    module[$f]=$mod
  done
done <"$table"
[ ${#layer[@]} -gt 0 ] || { echo "check-layers: no layer table in $table" >&2; exit 2; }

bad=0
fail() { echo "check-layers: $*"; bad=1; }

# The header an include line names: by its name, in the library's include
# directories, as the compiler finds it (-Iinclude -Iharness -Iassertions).
resolve() {
  local name=$1 dir
  for dir in "$2" include harness assertions; do
    [ -e "$dir/$name" ] && { echo "$dir/$name"; return; }
  done
}

for f in harness/*.[ch] assertions/*.[ch] include/*.h; do
  [ -n "${layer[$f]:-}" ] || { fail "$f is in no layer of $table"; continue; }
  while IFS=: read -r line inc; do
    name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$inc")
    h=$(resolve "$name" "$(dirname "$f")")
    if [ -z "$h" ]; then
      fail "$f:$line includes \"$name\", which is no header of the library"
    elif [ -z "${layer[$h]:-}" ]; then
      fail "$f:$line includes $h, which is in no layer of $table"
    elif [ "${layer[$h]}" -gt "${layer[$f]}" ]; then
      fail "$f:$line (layer ${layer[$f]}, ${module[$f]}) includes $h" \
        "(layer ${layer[$h]}, ${module[$h]}), a higher layer"
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done

for h in harness/*.h assertions/*.h; do
  n=$(wc -l <"$h")
  [ "$n" -le 200 ] || fail "$h has $n lines; an internal header stays within 200"
done

for f in harness/*.c assertions/*.c; do
  n=$(wc -l <"$f")
  [ "$n" -le 700 ] || fail "$f has $n lines; a library file stays within 700"
done

for f in scenarios/*.[ch]; do
  [ -e "$f" ] || continue
  while IFS=: read -r line inc; do
    name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$inc")
    [ -e "scenarios/$name" ] || [ -e "include/$name" ] ||
      fail "$f:$line includes \"$name\": the toolkit uses public headers only"
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done

if [ -n "$objdir" ]; then
  objs=()
  for f in "${!layer[@]}"; do
    [[ $f == *.c ]] || continue
    [ -e "$objdir/${f%.c}.o" ] || { fail "$objdir/${f%.c}.o is missing (build first)"; continue; }
    objs+=("$objdir/${f%.c}.o")
  done
  interposed=' malloc calloc realloc reallocarray free posix_memalign aligned_alloc memalign
    valloc pvalloc malloc_usable_size pthread_create pthread_join pthread_tryjoin_np
    pthread_timedjoin_np pthread_detach pthread_exit exit _exit _Exit '
  symbols=$(
    for f in "${!layer[@]}"; do echo "L $objdir/${f%.c}.o ${layer[$f]} ${module[$f]}"; done
    nm -A "${objs[@]}" | sed 's/:/ /' | awk -v skip="$interposed" '
      NF == 4 && $3 ~ /^[TDBRV]$/ { print "D", $1, $4 }
      NF == 3 && $2 == "U" && index(skip, " " $3 " ") == 0 { print "U", $1, $3 }' |
      sort -s -k1,1)
  # Sorted D, L, U: definitions and layers are known before the uses.
  while read -r line; do fail "$line"; done < <(awk -v objdir="$objdir/" '
    $1 == "L" { layer[$2] = $3; module[$2] = $4; next }
    $1 == "D" { def[$3] = $2; next }
    $1 == "U" && ($3 in def) && layer[def[$3]] > layer[$2] {
      a = $2; b = def[$3]; sub(objdir, "", a); sub(objdir, "", b)
      printf "%s (layer %d, %s) calls %s of %s (layer %d, %s), a higher layer\n",
        a, layer[$2], module[$2], $3, b, layer[def[$3]], module[def[$3]]
    }' <<<"$symbols")
fi

exit $bad
