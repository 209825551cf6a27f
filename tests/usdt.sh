# SPDX-License-Identifier: MIT
# usdt.sh: what the tracing tests share, sourced by tests/cli_tracing.sh
# (the toolkit's probes) and tests/cli_timeline.sh (the library's).
#
#   expect_probes FILE PROVIDER PROBE...   the probes must be in FILE's notes
#   expect_bpftrace FILE PROVIDER PROBE    skip (exit 0, saying why) unless
#                                          bpftrace can attach that probe here
#
# A machine without bpftrace, root or a kernel with BPF and uprobes still
# checks that the probes are built in; only the tracing itself is skipped.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

skip() {
  echo "SKIP: $*"
  exit 0
}

expect_probes() {
  local file=$1 provider=$2 notes p
  shift 2
  if ! command -v readelf >/dev/null; then
    echo "note: readelf not found; probe notes not inspected"
    return
  fi
  notes=$(readelf -n "$file")
  for p in "$@"; do
    grep -q "Name: $p\$" <<<"$notes" || fail "$file has no USDT probe $provider:$p"
  done
  echo "ok: $file carries the probes $*"
}

expect_bpftrace() {
  local file=$1 provider=$2 probe=$3 err
  command -v bpftrace >/dev/null || skip "bpftrace is not installed"
  [ "$(id -u)" -eq 0 ] || skip "bpftrace needs root (running as uid $(id -u))"
  if ! err=$(timeout 60 bpftrace -e 'BEGIN { exit(); }' 2>&1 >/dev/null); then
    skip "bpftrace cannot load a BPF program here: $(grep -m1 ERROR <<<"$err")"
  fi
  if ! err=$(timeout 60 bpftrace -e "usdt:$file:$provider:$probe { } interval:ms:100 { exit(); }" \
    2>&1 >/dev/null); then
    skip "bpftrace cannot attach USDT probes here: $(grep -m1 ERROR <<<"$err")"
  fi
}
