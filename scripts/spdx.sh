#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spdx.sh: every source file of the project names its license in its head.
#
#   scripts/spdx.sh          list the files without an SPDX line; status 1 if any
#   scripts/spdx.sh --fix    add "SPDX-License-Identifier: MIT" to them
#
# Source files: C and C++ sources and headers, shell scripts, makefiles and
# the bpftrace script, as git knows them. The line goes first, or second
# after a #! line. Run by tests/cli_license.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[ "${1:-}" = --fix ] && fix=1

missing=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  head -3 "$f" | grep -q 'SPDX-License-Identifier: MIT' && continue
  if [ $fix -eq 0 ]; then
    echo "$f"
    missing=1
    continue
  fi
  case $f in
  *.c | *.h | *.cc | *.cpp | *.hpp) line='/* SPDX-License-Identifier: MIT */' ;;
  *.bt) line='// SPDX-License-Identifier: MIT' ;;
  *) line='# SPDX-License-Identifier: MIT' ;;
  esac
  if head -1 "$f" | grep -q '^#!'; then
    sed -i "1a $line" "$f"
  else
    sed -i "1i $line" "$f"
  fi
done < <(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.cc' '*.cpp' '*.hpp' '*.sh' '*.mk' '*.bt' \
  Makefile .ci/run)
exit $missing
