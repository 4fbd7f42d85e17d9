#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages sluice needs to build and to run its whole
# test suite. Uses sudo when not run as root. libcmocka-dev is for the unit
# tests alone (./configure goes on without it); zstd is the command the
# tests check compressed files with (zstd -t, zstdcat); socat and systemd
# (journalctl) send a journal export stream to native_stream; python3-systemd
# and libsystemd-dev are real journal clients for test_native.py;
# libmicrohttpd-dev and python3-prometheus-client: the metrics endpoint;
# systemd-socket-activate and systemd-analyze (systemd): test_systemd.py.
set -e
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PACKAGES="build-essential autoconf automake libtool pkg-config \
  liblua5.4-dev libpcre2-dev libzstd-dev libcmocka-dev zstd \
  python3 bsdutils util-linux mount procps socat systemd python3-systemd libsystemd-dev \
  libmicrohttpd-dev python3-prometheus-client"
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

# rsyslogd, for tests/integration/test_rsyslog_bytes.py (it compares
# rsyslog's files with sluice's byte for byte): Debian's package downloaded
# and unpacked with dpkg -x into the cache the benchmark uses
# (tests/bench/bench.py), not installed, so no service starts and nothing
# takes /dev/log or a port; then the libraries it links, as packages. A
# failure here only makes that test skip.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sluice-bench"
# shellcheck disable=SC2012  # the names are Debian package files: no odd bytes
rsyslog_deb() { ls "$CACHE"/debs/rsyslog_*.deb 2>/dev/null | tail -n 1; }
if [ ! -x /usr/sbin/rsyslogd ] && [ ! -x "$CACHE/root/usr/sbin/rsyslogd" ]; then
  mkdir -p "$CACHE/debs" "$CACHE/root"
  download() { (cd "$CACHE/debs" && apt-get -qq -o APT::Sandbox::User=root download rsyslog) >/dev/null 2>&1; }
  if download || { $SUDO apt-get update -qq && download; }; then
    dpkg -x "$(rsyslog_deb)" "$CACHE/root"
  else
    echo "install-deps.sh: apt-get download rsyslog failed; test_rsyslog_bytes.py will skip" >&2
  fi
fi
deb=$(rsyslog_deb)
if [ -n "$deb" ] && [ ! -x /usr/sbin/rsyslogd ]; then
  libs=
  for p in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:.*//'); do
    case "$p" in lib*|zlib1g)
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || libs="$libs $p";;
    esac
  done
  if [ -n "$libs" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $libs
  fi
fi
