#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# man-help.sh: the text help2man turns into leakcheck(1).
#
#   LEAKCHECK=build/leakcheck help2man ... scripts/man-help.sh
#
# help2man runs this as `man-help.sh --help` and `man-help.sh --version`.
# The help it gets is the tool's own: `leakcheck --help`, then the --help of
# every command under a section of its own (help2man's "*Section*" lines),
# then the tool's exit statuses. Only headings are renamed ("Usage:" and
# "Options:" mean the page's synopsis and the tool's options to help2man),
# so the manual page says what the help says and cannot drift from it.
set -euo pipefail

lc=${LEAKCHECK:?set LEAKCHECK to the leakcheck executable}
case ${1:-} in
--version) exec "$lc" --version ;;
--help) ;;
*)
    echo "usage: LEAKCHECK=PATH man-help.sh --help | --version" >&2
    exit 2
    ;;
esac

"$lc" --help >/dev/null # fail here, not in the middle of the page
"$lc" --help | awk '/^Exit status:/ { exit } { print }'
for cmd in run fault-sweep diff merge dump scenarios; do
    echo
    echo "*leakcheck $cmd*"
    "$lc" "$cmd" --help | sed -e 's/^Usage: /  /' -e 's/^  or:  /\n  /' \
        -e "s/^Options\( of [a-z-]*\)\{0,1\}:/Options of leakcheck $cmd\1:/" \
        -e "s/^Options of leakcheck $cmd of \([a-z-]*\):/Options of leakcheck $cmd \1:/"
done
echo
echo "*Exit status*"
"$lc" --help | awk 'on { print } /^Exit status:/ { on = 1 }'
