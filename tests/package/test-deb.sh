#!/bin/sh
# SPDX-License-Identifier: MIT
# test-deb.sh: builds the Debian packages (debian/) from a copy of the tree,
# installs them into a fresh Debian 12 root (debootstrap) that has rsyslog
# installed, runs the installed sluiced there on the installed
# /etc/sluice/sluice.lua, and checks that logger(1)'s messages land in
# /var/log/syslog and /var/log/auth.log, with the owner and mode the config
# gives, that rsyslog was replaced (Conflicts: system-log-daemon) and that
# the postinst made the syslog user and the log files.
#
# Not part of make check: it needs root, network to a Debian mirror, and a
# few minutes (the first run; the root is cached after that). Run by hand:
#     apt-get install debhelper lintian debootstrap   # once
#     sudo tests/package/test-deb.sh
# Exit status: 0 passed, 1 failed, 77 skipped (not root, a tool missing).
# KEEP=1 keeps the work directory; LINTIAN=0 skips lintian; DEBS=DIR takes
# the .debs (and .changes) of DIR instead of building them.
# The root is cached in ${XDG_CACHE_HOME:-~/.cache}/sluice-deb/ (remove it to
# start from a new debootstrap); the mirror is the one apt uses here.
set -u

say() { printf 'test-deb: %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, mount)"
for tool in debootstrap dpkg-buildpackage dh chroot timeout; do
    command -v "$tool" >/dev/null 2>&1 ||
        skip "$tool is missing: apt-get install debhelper debootstrap"
done

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sluice-deb"
BASE="$CACHE/bookworm-base"
WORK=$(mktemp -d /tmp/sluice-deb.XXXXXX) || fail "mktemp"
ROOT="$WORK/root"
DAEMON=      # the timeout(1) process that runs the chrooted sluiced
MOUNTS=      # what we mounted, innermost last

cleanup() {
    if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
        kill -TERM "$DAEMON" 2>/dev/null
        wait "$DAEMON" 2>/dev/null
    fi
    for m in $(printf '%s\n' $MOUNTS | tac); do   # innermost first
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
            say "could not unmount $m"
    done
    if [ "${KEEP:-0}" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The Debian mirror apt uses here (deb822 .sources or sources.list), so the
# chroot downloads from where this machine may.
mirror() {
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u { print u; exit }')
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
        /etc/apt/sources.list 2>/dev/null)
    echo "${m:-http://deb.debian.org/debian}"
}

# {=== the packages, built in a copy of the tree (the tree stays clean)
if [ -n "${DEBS:-}" ]; then
    say "the .debs of $DEBS (DEBS=), not built"
    cp "$DEBS"/*.deb "$DEBS"/sluice_*.changes "$DEBS"/sluice_*.buildinfo "$WORK/" ||
        fail "no .debs in $DEBS"
else
say "copying the tree to $WORK/src"
mkdir "$WORK/src" || fail "mkdir"
if [ -d "$TOP/.git" ] || [ -f "$TOP/.git" ]; then
    (cd "$TOP" && git ls-files -co --exclude-standard -z |
        xargs -0 cp --parents -t "$WORK/src") || fail "copying the tree"
else
    cp -a "$TOP/." "$WORK/src" || fail "copying the tree"
fi
say "dpkg-buildpackage -b -us -uc (log: $WORK/build.log)"
(cd "$WORK/src" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
    timeout 1800 dpkg-buildpackage -b -us -uc) >"$WORK/build.log" 2>&1 ||
    { tail -n 30 "$WORK/build.log"; fail "dpkg-buildpackage failed"; }
ls "$WORK"/sluice_*.deb "$WORK"/sluice-dev_*.deb >/dev/null 2>&1 ||
    fail "no .deb built"
fi
if [ "${LINTIAN:-1}" = 1 ] && command -v lintian >/dev/null 2>&1; then
    say "lintian on the .changes"
    timeout 600 lintian --fail-on error "$WORK"/sluice_*.changes 2>&1 |
        grep -v 'running with root privileges'
    # lintian's status is lost in the pipe: run it again for the verdict.
    timeout 600 lintian --fail-on error "$WORK"/sluice_*.changes >/dev/null 2>&1 ||
        fail "lintian reports errors"
    say "ok: lintian reports no errors"
fi
# }===

# {=== a Debian 12 root, with rsyslog installed (the daemon sluice replaces)
if [ ! -f "$BASE/.complete" ]; then
    MIRROR=$(mirror)
    say "debootstrap --variant=minbase bookworm $BASE $MIRROR (once; cached)"
    rm -rf "$BASE" && mkdir -p "$CACHE" || fail "mkdir $CACHE"
    timeout 1800 debootstrap --variant=minbase bookworm "$BASE" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 ||
        { tail -n 20 "$CACHE/debootstrap.log"; fail "debootstrap failed"; }
    # No service starts in a chroot (invoke-rc.d, deb-systemd-invoke).
    printf '#!/bin/sh\nexit 101\n' >"$BASE/usr/sbin/policy-rc.d"
    chmod 755 "$BASE/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$BASE/etc/resolv.conf"
    mount -t proc proc "$BASE/proc" || fail "mount proc"
    timeout 900 chroot "$BASE" sh -c 'apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsyslog' \
        >"$CACHE/rsyslog.log" 2>&1
    rc=$?
    umount "$BASE/proc"
    [ "$rc" = 0 ] || { tail -n 20 "$CACHE/rsyslog.log"; fail "installing rsyslog in the root"; }
    touch "$BASE/.complete"
fi
say "copying the cached root to $ROOT"
cp -a "$BASE" "$ROOT" || fail "copying the root"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

# /proc, and a private /dev (not the host's): the config's socket and
# /dev/log are then the chroot's own. /dev/kmsg is the kernel's, for the
# kmsg input (it reads the host's kernel log: harmless).
mount -t proc proc "$ROOT/proc" || fail "mount proc"
MOUNTS="$ROOT/proc"
mount -t tmpfs -o mode=0755,nosuid sluice-dev "$ROOT/dev" || fail "mount tmpfs on dev"
MOUNTS="$MOUNTS $ROOT/dev"
for node in "null c 1 3" "zero c 1 5" "full c 1 7" "random c 1 8" \
            "urandom c 1 9" "tty c 5 0" "kmsg c 1 11"; do
    # shellcheck disable=SC2086  # name, type, major, minor
    set -- $node
    mknod -m 666 "$ROOT/dev/$1" "$2" "$3" "$4" || fail "mknod /dev/$1"
done
chmod 644 "$ROOT/dev/kmsg"
ln -s /proc/self/fd "$ROOT/dev/fd"
# }===

# {=== install: sluice takes rsyslog's place
cp "$WORK"/sluice_*.deb "$WORK"/sluice-dev_*.deb "$ROOT/tmp/" || fail "copying the .debs"
say "chroot apt-get install /tmp/sluice_*.deb /tmp/sluice-dev_*.deb (log: $WORK/install.log)"
timeout 900 chroot "$ROOT" sh -c 'apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        /tmp/sluice_*.deb /tmp/sluice-dev_*.deb logrotate' >"$WORK/install.log" 2>&1 ||
    { tail -n 30 "$WORK/install.log"; fail "apt-get install of the .debs failed"; }
grep -E 'REMOVED|Removing' "$WORK/install.log"

state=$(chroot "$ROOT" dpkg-query -W -f='${db:Status-Status}' rsyslog 2>/dev/null)
[ "$state" != installed ] || fail "rsyslog is still installed (Conflicts: system-log-daemon)"
say "ok: rsyslog removed (its status: ${state:-unknown})"
chroot "$ROOT" getent passwd syslog >/dev/null || fail "postinst made no syslog user"
groups=$(chroot "$ROOT" id -nG syslog)
for g in adm tty; do
    case " $groups " in *" $g "*) ;; *) fail "syslog is in the groups '$groups', not in $g" ;; esac
done
say "ok: user $(chroot "$ROOT" getent passwd syslog), groups $groups"
[ -d "$ROOT/var/lib/sluice" ] || fail "no /var/lib/sluice"
got=$(chroot "$ROOT" stat -c '%U:%G %a' /var/lib/sluice)
[ "$got" = "syslog:adm 750" ] || fail "/var/lib/sluice is $got, not syslog:adm 750"
[ -f "$ROOT/etc/logrotate.d/rsyslog.disabled" ] && [ ! -f "$ROOT/etc/logrotate.d/rsyslog" ] ||
    fail "rsyslog's logrotate rule is still enabled beside sluice's"
[ -f "$ROOT/etc/logrotate.d/sluice" ] || fail "no /etc/logrotate.d/sluice"
chroot "$ROOT" dpkg-query -W -f='${Conffiles}\n' sluice | grep -q ' /etc/sluice/sluice.lua ' ||
    fail "/etc/sluice/sluice.lua is not a conffile"
[ -f "$ROOT/usr/include/sluice/sluice-plugin.h" ] || fail "sluice-dev: no sluice-plugin.h"
chroot "$ROOT" sh -c 'ls /usr/lib/*/pkgconfig/sluice-plugin.pc' >/dev/null ||
    fail "sluice-dev: no sluice-plugin.pc"
say "ok: conffile, /var/lib/sluice, logrotate rule, sluice-dev's files"
# }===

# {=== the installed daemon on the installed config
wait_line() { # file text: 0 once text is in file, 1 after 10 s
    i=0
    until grep -qF "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -le 100 ] || return 1
        sleep 0.1
    done
}

# run_daemon CONF: sluiced -n -c CONF (a path in the root) in the chroot,
# logger's messages through /dev/log, the files' owner and mode, the user
# it runs as, then a clean stop. Fails the test on any difference.
run_daemon() {
    conf=$1
    say "chroot sluiced --check -c $conf"
    timeout 30 chroot "$ROOT" /usr/sbin/sluiced --check -c "$conf" ||
        fail "sluiced --check refuses $conf"
    # The devlog input's socket: /dev/log itself, or (the package's config,
    # README.Debian) journald's forwarding socket. There is no journald
    # here, so /dev/log then leads straight to it, where a systemd machine
    # has journald between them.
    sock=$(sed -n 's/^input "devlog" {.* path = "\([^"]*\)".*/\1/p' "$ROOT$conf")
    [ -n "$sock" ] || fail "no devlog input in $conf"
    rm -f "$ROOT/dev/log"
    if [ "$sock" != /dev/log ]; then
        mkdir -p "$ROOT$(dirname "$sock")"
        ln -s "$sock" "$ROOT/dev/log"
    fi
    say "starting chroot ROOT /usr/sbin/sluiced -n -c $conf (devlog input: $sock)"
    timeout 120 chroot "$ROOT" /usr/sbin/sluiced -n -c "$conf" >"$WORK/sluiced.log" 2>&1 &
    DAEMON=$!
    i=0
    until [ -S "$ROOT$sock" ] && [ -S "$ROOT/run/sluice/control.sock" ]; do
        kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/sluiced.log"; fail "sluiced exited"; }
        i=$((i + 1)); [ "$i" -le 100 ] || { cat "$WORK/sluiced.log"; fail "sluiced not ready in 10 s"; }
        sleep 0.1
    done
    # chroot execs sluiced: timeout's child is the daemon.
    pid=$(ps -o pid= --ppid "$DAEMON" | tr -d ' ')
    [ -n "$pid" ] || fail "no sluiced under timeout $DAEMON"
    say "sluiced runs (pid $pid)"

    token="hello $$-$(date +%s)-$(basename "$conf")"
    timeout 10 chroot "$ROOT" logger -t pkgtest "$token syslog" || fail "logger"
    timeout 10 chroot "$ROOT" logger -t pkgtest -p auth.info "$token auth" ||
        fail "logger -p auth.info"
    wait_line "$ROOT/var/log/syslog" "pkgtest: $token syslog" ||
        { cat "$WORK/sluiced.log"; fail "\"$token syslog\" not in /var/log/syslog"; }
    say "ok: $(grep -F "$token syslog" "$ROOT/var/log/syslog")"
    wait_line "$ROOT/var/log/auth.log" "pkgtest: $token auth" ||
        fail "\"$token auth\" not in /var/log/auth.log"
    ! grep -qF "$token auth" "$ROOT/var/log/syslog" || fail "auth message also in /var/log/syslog"
    say "ok: auth.info in auth.log only"
    timeout 10 chroot "$ROOT" sluicectl stats >/dev/null || fail "sluicectl stats"
    say "ok: sluicectl stats through /run/sluice/control.sock"

    # Owner and mode as the config's file outputs say (the postinst made
    # the files so).
    want=$(sed -n 's/.*owner = "\([^"]*\)", group = "\([^"]*\)", mode = "0\([0-7]*\)".*/\1:\2 \3/p' \
        "$ROOT$conf" | head -n 1)
    [ -n "$want" ] || want="root:adm 640"
    for f in syslog auth.log kern.log mail.log user.log cron.log; do
        got=$(chroot "$ROOT" stat -c '%U:%G %a' "/var/log/$f") || fail "no /var/log/$f"
        [ "$got" = "$want" ] || fail "/var/log/$f is $got, the config says $want"
    done
    say "ok: /var/log/{syslog,auth.log,kern.log,mail.log,user.log,cron.log} are $want"

    # The user it runs as: settings.user when the config sets one, else root.
    user=$(sed -n '/^settings {/,/^}/s/^ *user *= *"\([^"]*\)".*/\1/p' "$ROOT$conf")
    uid=$(awk '/^Uid:/ { print $3 }' "/proc/$pid/status")
    if [ -n "$user" ]; then
        want_uid=$(chroot "$ROOT" id -u "$user") || fail "no user $user"
        [ "$uid" = "$want_uid" ] || fail "sluiced runs as uid $uid, settings.user is $user ($want_uid)"
        say "ok: sluiced runs as $user (uid $uid)"
    else
        [ "$uid" = 0 ] || fail "sluiced runs as uid $uid, the config sets no user"
        say "ok: the config sets no settings.user: sluiced runs as root, as rsyslog does"
    fi

    # logrotate's rule (the package's config only: the rule names its
    # files): the rotated file is created syslog:adm, sluicectl reopen
    # makes the dropped daemon write there.
    if [ "${ROTATE:-0}" = 1 ]; then
        timeout 60 chroot "$ROOT" logrotate -f /etc/logrotate.d/sluice ||
            fail "logrotate -f /etc/logrotate.d/sluice"
        [ -f "$ROOT/var/log/syslog.1" ] || fail "logrotate made no /var/log/syslog.1"
        grep -qF "$token syslog" "$ROOT/var/log/syslog.1" || fail "syslog.1 is not the old file"
        timeout 10 chroot "$ROOT" logger -t pkgtest "$token rotated" || fail "logger"
        wait_line "$ROOT/var/log/syslog" "pkgtest: $token rotated" ||
            { cat "$WORK/sluiced.log"; fail "after logrotate, nothing reaches the new /var/log/syslog"; }
        got=$(chroot "$ROOT" stat -c '%U:%G %a' /var/log/syslog)
        [ "$got" = "$want" ] || fail "the rotated /var/log/syslog is $got, not $want"
        say "ok: after logrotate -f, the new /var/log/syslog ($got) gets the messages"
    fi

    say "stopping sluiced (SIGTERM to pid $pid)"
    kill -TERM "$pid"
    i=0
    while kill -0 "$DAEMON" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -le 100 ] || fail "sluiced did not stop in 10 s"
        sleep 0.1
    done
    wait "$DAEMON"; rc=$?
    DAEMON=
    [ "$rc" = 0 ] || { cat "$WORK/sluiced.log"; fail "sluiced exited with $rc"; }
}

# The package's config, as installed (it drops root to syslog:adm), and
# logrotate's rule.
ROTATE=1
run_daemon /etc/sluice/sluice.lua
ROTATE=0
# And as README.Debian says to change it on a machine without systemd:
# sluiced binds /dev/log itself (upstream's config/system/sluice.lua).
sed 's|path = "/run/systemd/journal/syslog"|path = "/dev/log"|' \
    "$ROOT/etc/sluice/sluice.lua" >"$ROOT/tmp/sluice-devlog.lua"
grep -q 'path = "/dev/log"' "$ROOT/tmp/sluice-devlog.lua" || fail "no /dev/log variant of the config"
run_daemon /tmp/sluice-devlog.lua
# }===
say "PASS"
exit 0
