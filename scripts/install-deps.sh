#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh: the Debian packages leakcheck needs, checked or installed.
#
#   install-deps.sh [--for build|all]          install what is missing (root)
#   install-deps.sh --check [--for build|all]  only check; list what is missing
#
# `make deps`, `make check` and `make demo` run it to install; every other
# make target runs it with --check --for build before any compiler runs, so a
# missing header is reported as a missing package with the one command that
# installs it, never as a raw compiler error. `build` is what `make` (the
# library, the tool and the man pages) needs; `all` adds what the tests, the
# sanitizer passes and the benchmarks need.
#
# Exit status: 0 when everything asked for is present (or was installed);
# 1 when packages are missing and could not be installed (not root, or
# --check); 2 on a usage error.
set -euo pipefail

# tier:package:why it is needed
packages=(
  "build:libdw-dev:symbolizing stacks to function, file and line (elfutils libdw, loaded at the first report)"
  "build:libelf-dev:gelf.h, which the libdw headers include"
  "build:libunwind-dev:unwinding through code without frame pointers"
  "build:zlib1g-dev:gzip for pprof heap profiles"
  "build:libprotobuf-c-dev:decoding pprof profiles for leakcheck diff (code generated from profiles/profile.proto)"
  "build:protobuf-c-compiler:protoc-c, which generates that decoder at build time"
  "build:valgrind:valgrind/*.h client requests (and the valgrind pass of make check)"
  "build:systemtap-sdt-dev:USDT probes (<sys/sdt.h>) in the toolkit's maps and channels"
  "build:help2man:the leakcheck(1) man page, generated from the tool's --help"
  "build:groff-base:checking the man pages render without warnings (groff)"
  "build:pkg-config:the uninstalled build/leakcheck.pc and finding Check's flags"
  "all:check:the unit-test framework the tests and the Check integration use"
  "all:clang:the sanitizer and fuzzing builds"
  "all:libclang-rt-14-dev:the sanitizer runtimes used by the ASan/TSan/LSan builds"
  "all:golang-go:validating written heap profiles with the real go tool pprof"
  "all:bpftrace:the tracing script that lists map keys never deleted and channels never closed"
  "all:jq:checking JSON reports field by field in the command-line tests"
  "all:g++:the C++ programs of the leak corpus (operator new and delete)"
  "all:python3-jsonschema:validating every JSON producer against docs/leakcheck-1.schema.json"
  "all:graphviz:checking that leakcheck run --dot writes a graph Graphviz reads"
  "all:libxml2-utils:xmllint, validating Check's XML log in tests/cli_check_logs.sh"
  "all:xsltproc:turning Check's XML log into JUnit with scripts/check-junit.xsl (tests/cli_junit.sh)"
  "all:python3-yaml:parsing the CI examples of docs/examples/ in tests/cli_junit.sh"
  "all:perl:prove, reading Check's TAP log in tests/cli_check_logs.sh"
  "all:libgtest-dev:GoogleTest, for include/leakcheck_gtest.h and its test"
  "all:cmake:building the CMake example of docs/examples/check-suite (tests/cli_build_systems.sh)"
  "all:meson:building the Meson example, whose TAP reader checks the suite's results"
)

mode=install
tier=all
while [ $# -gt 0 ]; do
  case $1 in
  --check) mode=check ;;
  --for)
    tier=${2:-}
    shift
    ;;
  --for=*) tier=${1#--for=} ;;
  -h | --help)
    sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "install-deps.sh: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
  esac
  shift
done
case $tier in
build | all) ;;
*)
  echo "install-deps.sh: --for wants 'build' or 'all', not '$tier'" >&2
  exit 2
  ;;
esac

# Not a Debian system: there is no package database to ask. Say so once and
# let the compiler speak for itself.
if ! command -v dpkg-query >/dev/null 2>&1; then
  [ "$mode" = check ] && exit 0
  echo "install-deps.sh: no dpkg-query: install the packages listed in docs/dependencies.md by hand" >&2
  exit 1
fi

wanted() { # tier of a package entry
  [ "$tier" = all ] || [ "$1" = build ]
}

installed=$(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null | awk '/ install ok installed$/ {print $1}')
missing=()
reasons=()
for entry in "${packages[@]}"; do
  t=${entry%%:*}
  rest=${entry#*:}
  pkg=${rest%%:*}
  wanted "$t" || continue
  if ! grep -qx -e "$pkg" -e "$pkg:amd64" -e "$pkg:arm64" <<<"$installed"; then
    missing+=("$pkg")
    reasons+=("  $pkg - ${rest#*:}")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "leakcheck: missing Debian packages:" >&2
printf '%s\n' "${reasons[@]}" >&2

if [ "$mode" = check ] || [ "$(id -u)" -ne 0 ]; then
  echo "leakcheck: install them with:  make deps   (as root), or:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "leakcheck: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "leakcheck: installed: ${missing[*]}"
