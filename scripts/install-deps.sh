#!/usr/bin/env bash
# install-deps.sh: install the Debian packages leakcheck needs, when missing.
#
# Run by `make check` and `make demo` before building. Prints what it
# installs, does nothing when everything is present, and, when not root,
# prints the exact apt-get command to run instead of failing half-way.
set -euo pipefail

# package: why it is needed
packages=(
  "check:the unit-test framework the tests and the Check integration use"
  "pkg-config:finding Check's compiler and linker flags"
  "valgrind:the valgrind pass of make check, and valgrind/*.h client requests"
  "libdw-dev:symbolizing stacks to function, file and line (elfutils libdw)"
  "libunwind-dev:unwinding through code without frame pointers and other threads' stacks"
  "zlib1g-dev:gzip for pprof heap profiles"
  "clang:the sanitizer and fuzzing builds"
  "libclang-rt-14-dev:the sanitizer runtimes used by the ASan/TSan/LSan builds"
  "golang-go:validating written heap profiles with the real go tool pprof"
  "systemtap-sdt-dev:USDT probes (<sys/sdt.h>) in the toolkit's maps and channels"
  "bpftrace:the tracing script that lists map keys never deleted and channels never closed"
  "jq:checking JSON reports field by field in the command-line tests"
  "g++:the C++ programs of the leak corpus (operator new and delete)"
  "graphviz:checking that leakcheck run --dot writes a graph Graphviz reads"
  "libxml2-utils:xmllint, validating Check's XML log in tests/cli_check_logs.sh"
  "perl:prove, reading Check's TAP log in tests/cli_check_logs.sh"
  "libgtest-dev:GoogleTest, for include/leakcheck_gtest.h and its test"
  "cmake:building the CMake example of docs/examples/check-suite (tests/cli_build_systems.sh)"
  "meson:building the Meson example, whose TAP reader checks the suite's results"
)

missing=()
for entry in "${packages[@]}"; do
  pkg=${entry%%:*}
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "leakcheck: missing Debian packages:"
for entry in "${packages[@]}"; do
  pkg=${entry%%:*}
  for m in "${missing[@]}"; do
    [ "$m" = "$pkg" ] && echo "  $pkg - ${entry#*:}"
  done
done

if [ "$(id -u)" -ne 0 ]; then
  echo "leakcheck: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "leakcheck: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "leakcheck: installed: ${missing[*]}"
