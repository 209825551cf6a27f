#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_license.sh: the project is MIT-licensed, and says so in every source
# file: LICENSE holds the MIT text, and scripts/spdx.sh finds no source file
# without its SPDX line.
#
# usage: bash tests/cli_license.sh [path/to/leakcheck]   (the argument is unused)
set -uo pipefail
cd "$(dirname "$0")/.."
failures=0
if grep -q '^MIT License$' LICENSE 2>/dev/null &&
  grep -q 'Permission is hereby granted, free of charge' LICENSE; then
  echo "ok   LICENSE is the MIT license"
else
  echo "FAIL LICENSE is missing or not the MIT license"
  failures=$((failures + 1))
fi
if out=$(bash scripts/spdx.sh); then
  echo "ok   every source file has an SPDX-License-Identifier line"
else
  echo "FAIL source files without an SPDX-License-Identifier line:"
  sed 's/^/    /' <<<"$out"
  failures=$((failures + 1))
fi
exit $((failures != 0))
