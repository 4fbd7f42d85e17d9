#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The formats "rsyslog" and "rfc3164" against the real rsyslogd: the same
datagrams go to rsyslog from Debian's package (RSYSLOG_FileFormat, its
default, and RSYSLOG_TraditionalFileFormat) and to sluiced, in TZ=UTC and in
TZ=Europe/Berlin, and the files must be equal byte for byte.

rsyslogd is the system's, or Debian's package unpacked the way the
benchmark does it (tests/bench/bench.py: `apt-get download rsyslog` and
`dpkg -x` into $XDG_CACHE_HOME/sluice-bench, no root, no service started).
Without it (no network, no apt) the test skips and says why;
tests/install-deps.sh fetches it for CI."""

import datetime
import os
import subprocess
import sys
import tempfile
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check  # noqa: E402
import bench  # noqa: E402  (its fetch of rsyslog: setup_peers)

ZONES = ("UTC", "Europe/Berlin")
MARKER = "last message"

SLUICE_CONFIG = """
input "udp" { type = "udp", listen = "127.0.0.1:0" }
output "default" { type = "file", path = "default.log", format = "rsyslog" }
output "trad" { type = "file", path = "trad.log", format = "rfc3164" }
route { to = { "default", "trad" } }
"""

RSYSLOG_CONFIG = """
global(workDirectory="{dir}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}" ruleset="t")
# Its own ruleset, so that rsyslogd's start message stays out of the files.
ruleset(name="t") {{
  action(type="omfile" file="{dir}/default.log")
  action(type="omfile" file="{dir}/trad.log" template="RSYSLOG_TraditionalFileFormat")
}}
"""


def messages(tz):
    """The datagrams: RFC 3164 with and without pid, with a TAG that a
    space ends, RFC 5424 with SD, NIL fields and a BOM, UTF-8, a leading
    space, TAB, a trailing LF, empty messages. The RFC 3164 times are an
    hour ago in tz, so no daemon has to guess another year."""
    t = datetime.datetime.now(zoneinfo.ZoneInfo(tz)) - datetime.timedelta(hours=1)
    bsd = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
    m3164 = [
        "prog[123]: hello world",
        "prog: no pid here",
        "prog[7]: gr\u00fc\u00dfe \u65e5\u672c\u8a9e \u2713",
        "prog[7]:  leading space",
        "prog hello, a TAG ended by a space",
        "prog[9]: trailing lf\n",
        "prog:",
        "prog:nospace",
        "prog[1]: tab\there",
        "prog[1]: a\x01control",
    ]
    out = [f"<13>{bsd} host1 {m}".encode() for m in m3164]
    out += [
        b'<165>1 2026-12-03T10:00:02.123456+01:00 host2 app 42 ID47 '
        b'[exampleSDID@32473 iut="3" eventSource="App"] with SD',
        b"<165>1 2026-12-03T10:00:03Z host2 app - - - nil procid",
        b"<165>1 2026-12-03T10:00:07.5-07:00 host2 app 1 - -  leading space",
        b"<165>1 2026-12-03T10:00:11Z host2 - - - - nil app",
        b"<165>1 2026-12-03T10:00:13.000001Z host2 app 1 - - \xef\xbb\xbfwith a BOM",
        b'<165>1 2026-12-03T10:00:14Z host2 app 1 - [a@1 x="y"]',
        "<165>1 2026-12-03T10:00:15+05:30 host2 app 1 - - caf\u00e9".encode(),
    ]
    out.append(f"<13>{bsd} host1 end[1]: {MARKER}".encode())
    return out


def find_rsyslogd():
    """(argv prefix, env) of a runnable rsyslogd; Skip with the reason."""
    peers = bench.setup_peers(["rsyslog"])
    peer = peers.get("rsyslog")
    if peer is None:
        raise Skip("rsyslogd is not installed and `apt-get download rsyslog` failed "
                   "(no network?); tests/install-deps.sh fetches it")
    env = bench.peer_env(peer)
    argv = [peer.binary] + peer.args
    r = subprocess.run([peer.binary, "-v"], env=env, capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise Skip(f"{peer.binary} -v failed ({peer.origin}): {r.stderr.strip()[:300]}")
    return argv, env


def udp_bound(port):
    """Whether something listens on 127.0.0.1:port (UDP), from /proc."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        return any(line.split()[1] == want for line in f.readlines()[1:])


def wait_marker(path, timeout=10.0):
    def done():
        try:
            with open(path, "rb") as f:
                return MARKER.encode() in f.read()
        except FileNotFoundError:
            return False
    sluicetest.wait_until(done, timeout=timeout, what=f"{MARKER!r} in {path}")
    with open(path, "rb") as f:
        return f.read()


def run_rsyslog(argv, env, tz, datagrams):
    """The bytes rsyslogd writes for datagrams: {name: bytes}."""
    with tempfile.TemporaryDirectory(prefix="sl-rsyslog-") as d:
        port = bench.free_port()
        conf = os.path.join(d, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(RSYSLOG_CONFIG.format(dir=d, port=port))
        log = open(os.path.join(d, "rsyslogd.stderr"), "wb")
        p = subprocess.Popen(argv + ["-n", "-f", conf, "-i", os.path.join(d, "rsyslogd.pid")],
                             env=dict(env, TZ=tz), stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log)
        try:
            sluicetest.wait_until(lambda: udp_bound(port) or p.poll() is not None,
                                  timeout=15, what="rsyslogd listening")
            if p.poll() is not None:
                with open(log.name, "rb") as f:
                    raise AssertionError(f"rsyslogd exited {p.returncode}: {f.read()[-500:]!r}")
            sluicetest.udp_send(("127.0.0.1", port), datagrams)
            return {name: wait_marker(os.path.join(d, name)) for name in ("default.log", "trad.log")}
        finally:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)
            log.close()


def run_sluice(tz, datagrams):
    with Daemon(SLUICE_CONFIG, env=dict(os.environ, TZ=tz)) as d:
        sluicetest.udp_send(d.address("udp"), datagrams)
        return {name: wait_marker(d.path(name)) for name in ("default.log", "trad.log")}


def compare(tz, name, want, got):
    """Equal bytes, or an error naming the first line that differs."""
    if want == got:
        return
    w, g = want.split(b"\n"), got.split(b"\n")
    for i, (a, b) in enumerate(zip(w, g)):
        check(a == b, f"TZ={tz} {name} line {i + 1}: rsyslog and sluice differ",
              f"rsyslog: {a!r}", f"sluice:  {b!r}")
    check(False, f"TZ={tz} {name}: rsyslog wrote {len(w)} lines, sluice {len(g)}")


@sluicetest.timeout(300)  # a first run may download the package
def test_same_bytes_as_rsyslog():
    argv, env = find_rsyslogd()
    for tz in ZONES:
        if not os.path.exists(os.path.join("/usr/share/zoneinfo", tz)):
            print(f"note: no zoneinfo for {tz}; that zone is left out")
            continue
        datagrams = messages(tz)
        want = run_rsyslog(argv, env, tz, datagrams)
        got = run_sluice(tz, datagrams)
        for name in ("default.log", "trad.log"):
            lines = want[name].count(b"\n")
            check(lines == len(datagrams),
                  f"TZ={tz}: rsyslog wrote {lines} lines to {name}, sent {len(datagrams)}",
                  repr(want[name]))
            compare(tz, name, want[name], got[name])
        print(f"TZ={tz}: {len(datagrams)} messages, both files equal byte for byte")


if __name__ == "__main__":
    sluicetest.main([test_same_bytes_as_rsyslog])
