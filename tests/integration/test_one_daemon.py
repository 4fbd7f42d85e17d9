#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One daemon per socket: a second sluiced on the same pidfile, unix input
path or control socket refuses to start, naming the first when it can, and
the first keeps receiving; sockets and a pidfile a killed daemon left behind
are taken over; a symbolic link at a socket path (a /dev/log that links to
journald's socket) is refused with a hint, never followed or removed."""

import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, run, sluiced_path, unix_send, wait_until  # noqa: E402

CONFIG = """
settings {{ control = "{ctl}" }}
input "devlog" {{ type = "unix", path = "{sock}" }}
output "out" {{ type = "file", path = "out.log", format = "raw" }}
route {{ to = "out" }}
"""


def second(first, ctl, sock, pidfile):
    """Runs a second sluiced in the foreground on a config of its own in
    first's directory; returns (exit code, stderr). It must refuse, so it
    exits by itself: the timeout is a failure."""
    conf = first.write_config(CONFIG.format(ctl=ctl, sock=sock), rel="second.lua")
    r = run([sluiced_path(), "-n", "-c", conf, "-p", pidfile], timeout=20, cwd=first.dir)
    return r.returncode, r.stderr


def delivers(d, text):
    unix_send(d.path("log.sock"), [f"<14>app: {text}".encode()])
    wait_until(lambda: any(text.encode() in ln for ln in d.lines("out.log")), 10,
               f"{text!r} in out.log")


def test_second_daemon_refused():
    cfg = CONFIG.format(ctl="sluice.ctl", sock="log.sock")
    with Daemon(cfg, args=["-p", "sluiced.pid"]) as d:
        pidfile = d.path("sluiced.pid")
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip() != "", 10,
                   "the pidfile written")
        check(open(pidfile).read().strip() == str(d.pid), "the pidfile holds the daemon's pid")
        delivers(d, "before")
        # The same pidfile: refused before any socket is touched.
        rc, err = second(d, "other.ctl", "other.sock", pidfile)
        check(rc != 0, f"a second sluiced on the same pidfile exited {rc}")
        check(f"locked by pid {d.pid}" in err, f"the refusal names the first: {err!r}")
        check(not os.path.exists(d.path("other.sock")), "the refused one bound a socket")
        # The same unix input path, another pidfile and control socket.
        rc, err = second(d, "other.ctl", "log.sock", d.path("other.pid"))
        check(rc != 0, f"a second sluiced on the same unix path exited {rc}")
        check("is a live socket" in err and "log.sock" in err, f"the reason: {err!r}")
        check(not os.path.exists(d.path("other.pid")), "the refused one left its pidfile")
        # The same control socket: the pid of the first is known from it.
        rc, err = second(d, "sluice.ctl", "other.sock", d.path("other.pid"))
        check(rc != 0, f"a second sluiced on the same control socket exited {rc}")
        check(f"pid {d.pid} receives on it" in err, f"the control socket's holder: {err!r}")
        # The first still has all of it.
        check(os.path.exists(d.path("log.sock")) and os.path.exists(d.path("sluice.ctl")),
              "the first daemon's sockets are gone")
        delivers(d, "after")
        check(d.ctl("stats", check=False).returncode == 0, "the first's control socket answers")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("a second daemon on the pidfile, the unix path or the control socket is refused")


def test_stale_sockets_and_pidfile_taken_over():
    cfg = CONFIG.format(ctl="sluice.ctl", sock="log.sock")
    with Daemon(cfg, args=["-p", "sluiced.pid"]) as d:
        delivers(d, "first run")
        os.kill(d.pid, signal.SIGKILL)
        d.wait_exit()
        for f in ("log.sock", "sluice.ctl", "sluiced.pid"):
            check(os.path.exists(d.path(f)), f"a killed daemon left no {f}: the test tests nothing")
        d.start()
        delivers(d, "second run")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("sockets and a pidfile left by a killed daemon are taken over")


def test_symlink_refused():
    with sluicetest.TempDir() as t:
        target = t.path("journal-dev-log")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(target)
        os.symlink(target, t.path("log.sock"))
        conf = t.write("sluice.lua", CONFIG.format(ctl="sluice.ctl", sock="log.sock"))
        r = run([sluiced_path(), "-n", "-c", conf], timeout=20, cwd=t.dir)
        s.close()
        check(r.returncode != 0, f"sluiced on a symlinked path exited {r.returncode}")
        check("symbolic link" in r.stderr and "syslog.socket" in r.stderr,
              f"the refusal says how to run beside journald: {r.stderr!r}")
        check(os.path.islink(t.path("log.sock")), "the symlink was removed")
        check(os.path.exists(target), "what the symlink points at was removed")
    print("a symlink at a socket path is refused, with the journald hint")


if __name__ == "__main__":
    sluicetest.main([test_second_daemon_refused, test_stale_sockets_and_pidfile_taken_over,
                     test_symlink_refused])
