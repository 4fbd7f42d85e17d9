#!/bin/sh
# SPDX-License-Identifier: MIT
# check-prefix.sh [SRCDIR]: a build tree configured with one prefix, then
# configured again with another and made, must install a daemon that has
# the second prefix's paths (plugin directory and default config), none of
# the first's; and `make install prefix=...` must win over both. Run by hand
# (it builds the tree, about a minute): tests/build/check-prefix.sh
set -eu
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-prefix-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
jobs=${JOBS:-2}

# has DAEMON PREFIX: its help names PREFIX's plugin directory and config.
has() {
    help=$("$1" -h)
    case $help in *"$2/lib/sluice."*) ;; *) echo "FAIL: $1 -h lacks $2/lib/sluice"; exit 1 ;; esac
    case $help in *"$2/etc/sluice/sluice.lua"*) ;; *) echo "FAIL: $1 -h lacks $2/etc"; exit 1 ;; esac
}
# lacks DAEMON PREFIX: no string of the binary names PREFIX.
lacks() {
    if strings "$1" | grep -q "$2/"; then
        echo "FAIL: $1 still has $2 in it:"; strings "$1" | grep "$2/"; exit 1
    fi
}

"$src/configure" --prefix="$work/a" >/dev/null
make -j"$jobs" >/dev/null
has core/sluiced "$work/a"

"$src/configure" --prefix="$work/b" >/dev/null
make -j"$jobs" >/dev/null
make install >/dev/null
has "$work/b/sbin/sluiced" "$work/b"
test -f "$work/b/etc/sluice/sluice.lua" || { echo "FAIL: no $work/b/etc/sluice/sluice.lua"; exit 1; }
lacks "$work/b/sbin/sluiced" "$work/a"

make install prefix="$work/c" >/dev/null
has "$work/c/sbin/sluiced" "$work/c"
lacks "$work/c/sbin/sluiced" "$work/b"
echo "PASS: a changed prefix rebuilds the daemon with its paths ($work/{a,b,c})"
