#!/bin/sh
# Installs the Debian 12 packages sluice needs to build and to run its whole
# test suite. Uses sudo when not run as root. libcmocka-dev is for the unit
# tests alone (./configure goes on without it); no code uses zstd yet, so
# libzstd-dev is not here until the code that needs it is.
set -e
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PACKAGES="build-essential autoconf automake libtool pkg-config \
  liblua5.4-dev libpcre2-dev libcmocka-dev \
  python3 bsdutils util-linux mount procps"
missing=
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
