#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_pprof_go.sh: the Go validation of the pprof writer, reader and
# `leakcheck diff` (tests/pprof_go.sh), under the name the test runner picks
# up (tests/cli_*.sh). pprof_go.sh keeps its own name so that it can still be
# run by hand; it skips cleanly when go is missing and never uses the
# network.
exec sh "$(dirname "$0")/pprof_go.sh" "$@"
