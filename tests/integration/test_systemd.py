#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sluiced under systemd's protocols, with systemd's own tools in front of
it: systemd-socket-activate passes a unix datagram socket and TCP ones
(two of it nested: one passes datagram sockets, the other stream ones, and
the inner passes the outer's on), so the daemon binds nothing itself, the
datagram that started it is read, a passed socket no input matches is
logged, and a reload that changes an input reopens it on the same passed
socket; NOTIFY_SOCKET (a datagram socket of the test's) gets READY=1,
RELOADING=1 then READY=1, WATCHDOG=1 every WATCHDOG_USEC/2 and STOPPING=1;
`systemd-analyze verify` accepts the units."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check, run, sluicectl_path, wait_until  # noqa: E402

ACTIVATE = "/usr/bin/systemd-socket-activate"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def config(d, port, changed=False):
    # changed: the unix input's keys differ, so a reload reopens it
    extra = ", max_message = 4096" if changed else ""
    return f"""
input "syslog" {{ type = "unix", path = "{d.path('log')}"{extra} }}
input "tcp" {{ type = "tcp", listen = "127.0.0.1:{port}" }}
input "journal" {{ type = "native_stream", path = "{d.path('export.sock')}" }}
output "out" {{ type = "file", path = "out.log", format = "raw" }}
route {{ to = "out" }}
"""


class Notify:
    """The service manager's end of sd_notify: a datagram socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.got = []

    def wait(self, state, timeout=10.0):
        """Waits for a datagram with the line `state`; returns the datagrams
        read so far (from the last wait on)."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            seen.append(data)
            self.got.append(data)
            if state in data.split("\n"):
                return seen
        raise AssertionError(f"no {state} on NOTIFY_SOCKET in {timeout:g} s; got {seen!r}")

    def close(self):
        self.sock.close()


def socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def bound_unix():
    """inode -> path of every unix socket with a name."""
    out = {}
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            if len(cols) >= 8:
                out[int(cols[6])] = cols[7]
    return out


def tcp_listeners():
    """inode -> local port of every listening TCP socket (IPv4)."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[3] == "0A":
                out[int(cols[9])] = int(cols[1].split(":")[1], 16)
    return out


class Activated(Daemon):
    """sluiced started by two systemd-socket-activate: the outer listens on
    the datagram socket `log`, the inner on TCP `port` and `spare` (matching
    no input) and passes on the outer's."""

    def __init__(self, port, spare, env):
        self.port, self.spare, self.extra_env = port, spare, env
        super().__init__("", start=False, name="sl-systemd-")
        self.write_config(config(self, port))

    def start(self, wait=False):
        self._log_file = open(self.log_path, "ab")
        setenv = []
        for k, v in self.extra_env.items():
            setenv += ["-E", f"{k}={v}"]
        cmd = ([ACTIVATE, "--datagram", "-l", self.path("log")] + setenv + ["--",
                ACTIVATE, "-l", f"127.0.0.1:{self.port}", "-l", f"127.0.0.1:{self.spare}",
                "-l", self.path("export.sock"), "--fdname=syslog:tcp:spare:journal"] + setenv
               + ["--", sluicetest.sluiced_path(), "-n", "-c", self.conf_path])
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=self._log_file)


def send_unix(path, text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(f"<13>{text}".encode(), path)
    s.close()


def test_activation_and_notify():
    if not os.access(ACTIVATE, os.X_OK):
        raise Skip(f"{ACTIVATE} is not installed (apt-get install systemd)")
    port, spare = free_port(), free_port()
    env = {"SLUICE_PLUGIN_PATH": os.environ.get("SLUICE_PLUGIN_PATH", ""),
           "WATCHDOG_USEC": "200000"}
    d = Activated(port, spare, env)
    with d:
        notify = Notify(d.path("notify"))
        d.extra_env["NOTIFY_SOCKET"] = notify.path
        d.start()
        log = d.path("log")
        wait_until(lambda: os.path.exists(log), 10, "systemd-socket-activate's socket")
        ino = os.stat(log).st_ino
        check("READY=1" not in notify.got, "READY before anything started")
        # The datagram that activates: systemd starts sluiced for it, and
        # it waits in the passed socket's queue.
        send_unix(log, "first, before the daemon")
        wait_until(lambda: "Listening on 127.0.0.1" in d.log(), 10, "the inner activator")
        tcp = socket.create_connection(("127.0.0.1", port), timeout=10)
        tcp.sendall(b"<13>over tcp, maybe before READY\n")
        notify.wait("READY=1")
        pid = d.pid  # the activators exec()ed: the same process
        send_unix(log, "second, after READY")
        lines = d.wait_lines("out.log", 3)
        for want in (b"first, before the daemon", b"second, after READY",
                     b"over tcp, maybe before READY"):
            check(any(want in l for l in lines), f"{want!r} did not arrive", lines)
        check(os.stat(log).st_ino == ino, "sluiced replaced the passed socket's file")
        d.wait_log("fd 5 (spare) matches no input")
        # A unix stream socket, for native_stream (journald's ForwardToSocket=).
        exp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        exp.connect(d.path("export.sock"))
        exp.sendall(b"MESSAGE=through the passed export socket\nPRIORITY=5\n\n")
        exp.close()
        lines = d.wait_lines("out.log", 4)
        check(any(b"through the passed export socket" in l for l in lines),
              "the export entry did not arrive", lines)
        # What sluiced listens on: the passed sockets and its control socket.
        names, listen = bound_unix(), tcp_listeners()
        mine = socket_inodes(pid)
        ports = sorted(listen[i] for i in mine if i in listen)
        check(ports == [port], f"sluiced listens on TCP {ports}, not only the passed {port}")
        paths = sorted({names[i] for i in mine if i in names})  # an accepted one has its path
        check(paths == sorted([log, d.path("export.sock"), "sluice.ctl"]), f"sluiced's unix sockets: {paths}")

        # The watchdog: every 100 ms.
        notify.got.clear()
        t0 = time.monotonic()
        notify.wait("WATCHDOG=1", 2)
        notify.wait("WATCHDOG=1", 2)
        check(time.monotonic() - t0 < 1.5, "two WATCHDOG=1 took over 1.5 s")

        # A reload that changes the unix input: it is reopened on the same
        # passed socket, and a datagram sent meanwhile is read.
        d.write_config(config(d, port, changed=True))
        r = run([sluicectl_path(), "-s", d.path("sluice.ctl"), "reload"])
        check(r.stdout == "ok\n", f"reload: {r.stdout!r} {r.stderr!r}")
        notify.got.clear()
        seen = notify.wait("READY=1")
        states = [l for s in seen for l in s.split("\n") if l in ("RELOADING=1", "READY=1")]
        check(states[-2:] == ["RELOADING=1", "READY=1"], f"around the reload: {seen!r}")
        send_unix(log, "third, after the reload")
        lines = d.wait_lines("out.log", 5)
        check(any(b"third, after the reload" in l for l in lines), "lost after reload", lines)
        check(os.stat(log).st_ino == ino, "the reload replaced the passed socket's file")
        check(sorted(listen.get(i) for i in socket_inodes(pid) if i in tcp_listeners())
              == [port], "after the reload sluiced listens elsewhere")

        os.kill(pid, signal.SIGTERM)
        notify.wait("STOPPING=1")
        check(d.wait_exit() == 0, f"sluiced exited {d.returncode}")
        tcp.close()
        for p in (log, d.path("export.sock")):
            check(os.path.exists(p), f"sluiced unlinked the passed socket {p} at stop")
        notify.close()
    print("passed sockets used, nothing bound; READY, RELOADING, WATCHDOG, STOPPING sent")


def test_units_verify():
    top = os.environ.get("TOP_BUILDDIR")
    analyze = shutil.which("systemd-analyze")
    if top is None or analyze is None:
        raise Skip("systemd-analyze (or TOP_BUILDDIR) is missing")
    units = [os.path.join(top, "config/systemd", u)
             for u in ("sluice.service", "sluice-journal.socket")]
    for u in units:
        check(os.path.exists(u), f"{u} was not built")
    with sluicetest.TempDir("sl-units-") as t:
        # The installed paths need not exist yet: point them at this build.
        for u in units:
            text = open(u).read()
            text = text.replace(text.split("ExecStart=")[1].split()[0] if "ExecStart=" in text
                                else "\0", sluicetest.sluiced_path())
            text = text.replace(text.split("ExecReload=")[1].split()[0] if "ExecReload=" in text
                                else "\0", sluicectl_path())
            t.write(os.path.basename(u), text)
        r = run([analyze, "verify", "--man=no"] + [t.path(os.path.basename(u)) for u in units])
        out = r.stdout + r.stderr
        if r.returncode != 0 and ("Failed to" in out and "bus" in out.lower()
                                  or "not been booted with systemd" in out):
            raise Skip(f"systemd-analyze verify cannot run here: {out.strip()[:200]}")
        check(r.returncode == 0 and "sluice" not in out, f"systemd-analyze verify: {out}")
    print("systemd-analyze verify accepts sluice.service and sluice-journal.socket")


if __name__ == "__main__":
    sluicetest.main([test_activation_and_notify, test_units_verify])
