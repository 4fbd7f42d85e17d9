#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What one sender, or many, can make a tcp input do to the daemon.

- Out of descriptors (RLIMIT_NOFILE): connections past the limit are
  refused while the daemon keeps a reserve, accept4() failures back off
  instead of spinning, the log stays small, the control socket answers, and
  once connections close new ones are accepted and delivered. --check and
  start-up warn when the inputs' max_connections cannot fit the limit.
- Idle connections closed by idle_timeout: counted, and logged a bounded
  number of times however many there are.
- max_connections_per_peer: one address holding connections cannot lock
  out the others (127.0.0.2 is another address on lo).
"""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, TempDir, check, sluiced, tcp_connect  # noqa: E402


def msg(tag):
    return b"<14>Nov 22 10:00:00 limhost app[1]: %s" % tag.encode()


def open_many(addr, n, source=None):
    """n connections to addr (from source, an address to bind first)."""
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        if source is not None:
            s.bind((source, 0))
        s.connect(addr)
        out.append(s)
    return out


def closed_by_peer(s, timeout=5):
    """True when the daemon closed s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def close_all(socks):
    for s in socks:
        s.close()


FD_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", idle_timeout = 0 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_out_of_descriptors_backs_off_and_recovers():
    nofile = 64
    with Daemon(FD_CONFIG, nofile=nofile) as d:
        check("descriptors" in d.log() and "more than the limit of 64" in d.log(),
              "start-up did not warn that max_connections cannot fit the limit",
              f"log: {d.log()!r}")
        addr = d.address("tcp")
        held = open_many(addr, 2 * nofile)  # the kernel's backlog takes them all
        try:
            # Every connection is either kept or refused, with the daemon
            # at the edge of its limit: it must neither spin nor flood.
            st = d.wait_stat(lambda s: s["inputs"]["tcp"]["connections"]
                             + s["inputs"]["tcp"]["refused_fds"] >= 2 * nofile,
                             15, "every connection kept or refused")
            time.sleep(1.0)  # a spinning loop would log on meanwhile
            t0 = time.monotonic()
            r = d.ctl("stats", timeout=5, check=False)
            took = time.monotonic() - t0
            check(r.returncode == 0, f"sluicectl stats failed while out of descriptors: {r!r}")
            print(f"stats answered in {took:.2f} s; tcp {st['inputs']['tcp']}")
            tcp = st["inputs"]["tcp"]
            check(0 < tcp["connections"] < nofile and tcp["refused_fds"] > 0,
                  f"expected some connections kept and the rest refused: {tcp}")
            log = d.log()
            lines = log.count("\n")
            check(len(log) < 20000 and lines < 30,
                  f"the daemon's log grew to {len(log)} bytes, {lines} lines", log[-2000:])
            # The kept ones deliver.
            for i, s in enumerate(held[:5]):
                s.sendall(msg(f"held {i}") + b"\n")
        finally:
            close_all(held)
        d.wait_lines("out.log", 5)
        d.wait_stat(lambda s: s["inputs"]["tcp"]["connections"] == 0, 10,
                    "the held connections to close")
        # Descriptors are free again: new connections are taken and deliver.
        again = open_many(addr, 10)
        try:
            for i, s in enumerate(again):
                s.sendall(msg(f"again {i}") + b"\n")
            lines = d.wait_lines("out.log", 15)
            check(sum(b"again" in l for l in lines) == 10,
                  "connections after the shortage did not all deliver", lines)
        finally:
            close_all(again)
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


def test_check_warns_when_connections_cannot_fit():
    with TempDir() as t:
        path = t.write("sluice.lua", 'settings { control = "sluice.ctl" }\n'
                       'input "a" { type = "tcp", listen = "127.0.0.1:0" }\n'
                       'input "b" { type = "tcp", listen = "127.0.0.1:0" }\n')
        limit = (1024, 1024)
        r = sluiced(["--check", "-c", path], cwd=t.dir,
                    preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit))
        check(r.returncode == 0, f"--check exited {r.returncode}: {r.stderr!r}")
        check("warning:" in r.stderr and "max_connections" in r.stderr
              and "1024" in r.stderr,
              f"--check did not warn that 2 x 512 connections exceed 1024: {r.stderr!r}")
        # With room, no warning.
        roomy = (4096, 4096)
        r = sluiced(["--check", "-c", path], cwd=t.dir,
                    preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, roomy))
        check(r.returncode == 0 and "warning" not in r.stderr,
              f"--check warned with room to spare: {r.stderr!r}")


IDLE_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", idle_timeout = 1 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_idle_closes_are_counted_and_rate_limited():
    n = 60  # within the default max_connections_per_peer
    with Daemon(IDLE_CONFIG) as d:
        socks = open_many(d.address("tcp"), n)
        try:
            st = d.wait_stat(lambda s: s["inputs"]["tcp"]["accepted"] == n
                             and s["inputs"]["tcp"]["connections"] == 0, 20,
                             f"{n} connections accepted and closed as idle")
            check(all(closed_by_peer(s) for s in socks), "an idle connection is still open")
        finally:
            close_all(socks)
        logged = d.log().count("closing idle connection")
        check(1 <= logged <= 10, f"{logged} idle closes logged for {n} connections",
              d.log()[-2000:])
        check(st["inputs"]["tcp"].get("idle_closed") == n,
              f"idle_closed is not {n}: {st['inputs']['tcp']}")


PEER_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", idle_timeout = 0 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


def can_bind(addr):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False


@sluicetest.timeout(60)
def test_one_peer_cannot_take_every_connection():
    if not can_bind("127.0.0.2"):
        raise sluicetest.Skip("cannot bind 127.0.0.2 (lo does not route 127/8 here)")
    per_peer = 64  # the default
    with Daemon(PEER_CONFIG) as d:
        addr = d.address("tcp")
        hog = open_many(addr, per_peer, source="127.0.0.1")
        try:
            d.wait_stat(lambda s: s["inputs"]["tcp"]["connections"] == per_peer, 10,
                        f"{per_peer} connections from 127.0.0.1")
            extra = open_many(addr, 2, source="127.0.0.1")
            check(all(closed_by_peer(s) for s in extra),
                  "a connection past max_connections_per_peer was not closed")
            close_all(extra)
            st = d.input_stats("tcp")
            check(st.get("refused_per_peer") == 2 and st["refused"] == 0
                  and st["connections"] == per_peer,
                  f"expected 2 refused per peer, none over max_connections: {st}")
            check("max_connections_per_peer" in d.log(), "the refusal was not logged",
                  d.log()[-2000:])
            # Another address still gets in and delivers; so do the hog's.
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
                other.settimeout(10)
                other.bind(("127.0.0.2", 0))
                other.connect(addr)
                other.sendall(msg("from 127.0.0.2") + b"\n")
                lines = d.wait_lines("out.log", 1)
                check(lines == [msg("from 127.0.0.2")], f"out.log: {lines}")
            hog[0].sendall(msg("from the hog") + b"\n")
            d.wait_lines("out.log", 2)
        finally:
            close_all(hog)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@sluicetest.timeout(60)
def test_control_socket_out_of_descriptors_does_not_spin():
    """Control clients that take every descriptor: the control socket's
    accept4() fails with EMFILE and its listener, level-triggered, stays
    readable; it must rest instead of spinning the main loop, log rarely,
    and serve again once the clients are gone."""
    config = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_connections = 4 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""
    with Daemon(config, nofile=48) as d:
        path = d.path("sluice.ctl")
        clients = []
        try:
            for _ in range(60):  # more than the descriptors left; the backlog holds the rest
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(path)
                except (BlockingIOError, OSError):
                    pass
                clients.append(c)
            time.sleep(0.3)
            before = cpu_seconds(d.pid)
            time.sleep(0.6)  # the clients are held (1 s to send a command)
            used = cpu_seconds(d.pid) - before
        finally:
            close_all(clients)
        check(used < 0.3, f"sluiced used {used:.2f} s of CPU in 0.6 s with its descriptors "
              "taken by control clients: the loop spins")
        errors = d.log().count("control: accept4()")
        check(errors <= 2, f"{errors} accept4() lines in the log", d.log()[-600:])
        wait_until_answers(d)


def wait_until_answers(d):
    deadline = time.monotonic() + 10
    while True:
        r = d.ctl("stats", check=False, timeout=5)
        if r.returncode == 0:
            return
        check(time.monotonic() < deadline, "the control socket does not answer again")
        time.sleep(0.2)


if __name__ == "__main__":
    sluicetest.main([test_out_of_descriptors_backs_off_and_recovers,
                     test_check_warns_when_connections_cannot_fit,
                     test_idle_closes_are_counted_and_rate_limited,
                     test_one_peer_cannot_take_every_connection,
                     test_control_socket_out_of_descriptors_does_not_spin])
