#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The users output with the real daemon and no real login: each test
opens ptys of its own (os.openpty(): /dev/pts/N is the test's, so this
runs unprivileged), writes a utmp file of its own naming them (struct
utmpx records packed here) and reads what the daemon wrote from the pty
masters. users absent is everyone, with rsyslog's wall banner; a list of
users reaches only theirs; a ut_line that climbs out of /dev, a symlink
or a regular file where a terminal should be is never opened, only
counted; a terminal nobody reads is skipped without holding the output;
and a remote sender's escape sequences reach no terminal."""

import fcntl
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_send  # noqa: E402

USER_PROCESS, LOGIN_PROCESS, DEAD_PROCESS = 7, 6, 8
# glibc's struct utmpx on Linux: type (+2 pad), pid, line[32], id[4],
# user[32], host[256], exit (2 shorts), session, tv (2 int32), addr_v6[16],
# 20 unused: 384 bytes.
UTMPX = struct.Struct("<h2xi32s4s32s256shhiii16s20s")
assert UTMPX.size == 384


def record(kind, user, line, pid=4242):
    return UTMPX.pack(kind, pid, line.encode(), line[-4:].encode(), user.encode(),
                      b"", 0, 0, 0, int(time.time()), 0, b"", b"")


def write_utmp(path, records):
    with open(path + ".new", "wb") as f:
        f.write(b"".join(records))
    os.rename(path + ".new", path)


class Pty:
    """A pty of the test's: master and slave fds, its name under /dev."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        name = os.ttyname(self.slave)
        check(name.startswith("/dev/pts/"), f"a pty outside /dev/pts: {name}")
        self.line = name[len("/dev/"):]
        self.got = b""

    def read_until(self, text, timeout=10.0):
        """What the daemon wrote, once it holds text (or the time is up)."""
        end = time.monotonic() + timeout
        while text not in self.got and time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                self.got += os.read(self.master, 65536)
        return self.got

    def drain(self, seconds=0.5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                self.got += os.read(self.master, 65536)
        return self.got

    def close(self):
        os.close(self.master)
        os.close(self.slave)


CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "wall" { type = "users", utmp = "%(utmp)s" %(extra)s }
route { severity = "emerg", to = "wall" }
"""


def daemon(extra=""):
    d = Daemon("", start=False)
    d.write_config(CONFIG % {"utmp": d.path("utmp"), "extra": extra})
    write_utmp(d.path("utmp"), [])
    d.start()
    return d


def plugin_stats(d):
    return d.output_stats("wall")["plugin"]


@sluicetest.timeout(60)
def test_everyone_gets_the_wall_banner():
    """No users key: every USER_PROCESS terminal, once each, gets rsyslog's
    WallFmt text; a login prompt (LOGIN_PROCESS) and a logged-out record
    (DEAD_PROCESS) get nothing, and only emerg is routed here."""
    a, b, c = Pty(), Pty(), Pty()
    try:
        with daemon() as d:
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "alice", a.line),
                                        record(USER_PROCESS, "bob", b.line),
                                        record(USER_PROCESS, "alice", a.line),
                                        record(LOGIN_PROCESS, "LOGIN", c.line),
                                        record(DEAD_PROCESS, "carol", c.line)])
            tcp_send(d.address("tcp"), lf_frames([
                b"<14>Dec  4 10:00:00 web1 app[7]: only info",
                b"<0>Dec  4 10:00:01 web1 kernel: the disk is on fire"]))
            for p in (a, b):
                got = p.read_until(b"on fire")
                check(b"\r\n\x07Message from syslogd@web1 at " in got and
                      b" kernel: the disk is on fire" in got,
                      f"{p.line}: no wall message", repr(got))
                check(b"only info" not in got, f"{p.line} got an info message", repr(got))
            d.wait_stat(lambda s: s["outputs"]["wall"]["plugin"]["written"] >= 2,
                        what="2 terminals written")
            a.drain()
            check(a.got.count(b"on fire") == 1, "a terminal listed twice got it twice",
                  repr(a.got))
            check(c.drain() == b"", f"a login prompt got {c.got!r}")
            s = plugin_stats(d)
            check(s["written"] == 2 and s["bad_line"] == 0 and s["not_tty"] == 0, f"{s}")
    finally:
        for p in (a, b, c):
            p.close()


@sluicetest.timeout(60)
def test_named_users_only():
    """users = { "alice", "carol" }: alice's two terminals get the message
    in rsyslog's StdUsrMsgFmt (no banner); bob's gets nothing."""
    a1, a2, b = Pty(), Pty(), Pty()
    try:
        with daemon(', users = { "alice", "carol" }') as d:
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "alice", a1.line),
                                        record(USER_PROCESS, "bob", b.line),
                                        record(USER_PROCESS, "alice", a2.line)])
            tcp_send(d.address("tcp"), lf_frames([b"<0>Dec  4 10:00:01 web1 app: for alice"]))
            for p in (a1, a2):
                got = p.read_until(b"for alice")
                check(got.startswith(b" app: for alice"), f"{p.line}: {got!r}")
                check(b"Message from" not in got, f"a banner for named users: {got!r}")
            d.wait_stat(lambda s: s["outputs"]["wall"]["plugin"]["written"] >= 2)
            check(b.drain() == b"", f"bob's terminal got {b.got!r}")
    finally:
        for p in (a1, a2, b):
            p.close()


@sluicetest.timeout(60)
def test_hostile_lines_are_refused_and_counted():
    """ut_line is anyone's in the utmp group: "../etc/passwd" and
    "pts/../../tmp/x" are refused by name; beneath a dev directory of the
    test's, a symlink named like a terminal, a regular file, and a pts
    directory that is a symlink (to the real /dev/pts, where a pty of the
    test waits) are never opened. All counted, nothing written anywhere."""
    victim = Pty()
    try:
        d = Daemon("", start=False)
        with d:
            dev = d.path("dev")
            os.mkdir(dev)
            target = d.path("target")
            open(target, "wb").close()
            os.symlink(target, os.path.join(dev, "ttyevil"))
            open(os.path.join(dev, "ttyfile"), "wb").close()
            os.symlink("/dev/pts", os.path.join(dev, "pts"))
            d.write_config(CONFIG % {"utmp": d.path("utmp"), "extra": f', dev = "{dev}"'})
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "mallory", "../etc/passwd"),
                                        record(USER_PROCESS, "mallory", "pts/../../tmp/x"),
                                        record(USER_PROCESS, "mallory", "ttyevil"),
                                        record(USER_PROCESS, "mallory", "ttyfile"),
                                        record(USER_PROCESS, "mallory", victim.line)])
            d.start()
            tcp_send(d.address("tcp"), lf_frames([b"<0>app: one", b"<0>app: two"]))
            s = d.wait_stat(lambda s: s["outputs"]["wall"]["written"] >= 2,
                            what="the batch taken")["outputs"]["wall"]["plugin"]
            # One batch or two: 2 records refused by name at each read of
            # utmp, 3 terminals refused for each message.
            check(s["written"] == 0, f"something was written: {s}")
            check(s["bad_line"] in (2, 4) and s["not_tty"] == 6, f"refusals miscounted: {s}")
            check(os.path.getsize(target) == 0, "the symlink's target was written")
            check(os.path.getsize(os.path.join(dev, "ttyfile")) == 0, "a file was written")
            check(victim.drain() == b"", f"reached through a symlinked pts: {victim.got!r}")
            d.wait_log("skipped")
    finally:
        victim.close()


def fill(pty):
    """Writes to pty's slave until the kernel would block: a terminal whose
    reader stopped (a paused session), full before the daemon comes."""
    fl = fcntl.fcntl(pty.slave, fcntl.F_GETFL)
    fcntl.fcntl(pty.slave, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    total = 0
    # The kernel moves a pty's bytes to the other side's buffer in a work
    # item of its own, after write() returned: a pty "full" now has room a
    # moment later. Fill until a pause leaves no room.
    for _ in range(50):
        before = total
        for size in (4096, 64, 1):  # to the last byte: no message may fit in part
            try:
                while total < 64 << 20:
                    total += os.write(pty.slave, b"x" * size)
            except BlockingIOError:
                pass
        check(total < 64 << 20, "the pty never filled")
        if total == before:
            break
        time.sleep(0.1)
    fcntl.fcntl(pty.slave, fcntl.F_SETFL, fl)


@sluicetest.timeout(60)
def test_stuck_terminal_does_not_hold_the_output():
    """A terminal nobody reads is full: the output skips it (each message
    counted busy) and goes on writing to the other one, every message."""
    stuck, live = Pty(), Pty()
    try:
        fill(stuck)
        with daemon() as d:
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "away", stuck.line),
                                        record(USER_PROCESS, "here", live.line)])
            n = 20  # about 6 KiB: within the read terminal's buffer, however slow we read
            msgs = [b"<0>app: emergency %04d %s" % (i, b"y" * 250) for i in range(n)]
            tcp_send(d.address("tcp"), lf_frames(msgs))
            live.read_until(b"emergency %04d" % (n - 1), timeout=20)
            for i in range(n):
                check(b"emergency %04d" % i in live.got, f"message {i} missing on {live.line}")
            # Each message is tried on both terminals: written to the live
            # one, skipped as busy on the stuck one (or, should the kernel
            # still find it room, written there too: never waited on).
            s = d.wait_stat(lambda s: s["outputs"]["wall"]["plugin"]["busy"]
                            + s["outputs"]["wall"]["plugin"]["written"] == 2 * n,
                            what=f"{n} messages tried on both terminals")
            p = s["outputs"]["wall"]["plugin"]
            check(p["busy"] >= n // 2 and p["failed"] == 0, f"the stuck terminal was not skipped: {p}")
            check(s["outputs"]["wall"]["written"] == n, f"{s['outputs']['wall']}")
    finally:
        stuck.close()
        live.close()


@sluicetest.timeout(60)
def test_escape_sequences_do_not_reach_the_terminal():
    """A remote sender's ESC, BEL and C1 CSI arrive as '?': the terminal
    shows the text and obeys none of it."""
    p = Pty()
    try:
        with daemon(', users = "root"') as d:
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "root", p.line)])
            tcp_send(d.address("tcp"),
                      lf_frames([b"<0>app: \x1b]0;owned\x07 \xc2\x9b2J caf\xc3\xa9 end"]))
            got = p.read_until(b"end")
            check(b" app: ?]0;owned? ?2J caf\xc3\xa9 end" in got, repr(got))
            check(b"\x1b" not in got and b"\xc2\x9b" not in got, repr(got))
    finally:
        p.close()


@sluicetest.timeout(60)
def test_format_replaces_the_text():
    """format = a template: its text in place of "app: text", the banner
    kept for everyone; the template's own escapes stay, control bytes
    still become '?'."""
    p = Pty()
    try:
        with daemon(', format = "{severity} {hostname} {msg}"') as d:
            write_utmp(d.path("utmp"), [record(USER_PROCESS, "root", p.line)])
            tcp_send(d.address("tcp"), lf_frames([b"<0>Dec  4 10:00:01 web2 app: formatted"]))
            got = p.read_until(b"formatted")
            check(b"Message from syslogd@web2 at " in got, repr(got))
            check(b"...\r\r\n emerg web2 formatted\r\n\r" in got, repr(got))
    finally:
        p.close()


@sluicetest.timeout(30)
def test_missing_utmp_is_counted():
    """No utmp file: nothing to write to, said once, counted; the message
    is not kept for later."""
    with daemon() as d:
        os.unlink(d.path("utmp"))
        tcp_send(d.address("tcp"), lf_frames([b"<0>app: nobody"]))
        d.wait_stat(lambda s: s["outputs"]["wall"]["plugin"]["utmp_errors"] >= 1)
        d.wait_log("No such file or directory")
        check(d.output_stats("wall")["written"] == 1, f"{d.output_stats('wall')}")


if __name__ == "__main__":
    sluicetest.main([test_everyone_gets_the_wall_banner, test_named_users_only,
                     test_hostile_lines_are_refused_and_counted,
                     test_stuck_terminal_does_not_hold_the_output,
                     test_escape_sequences_do_not_reach_the_terminal,
                     test_format_replaces_the_text,
                     test_missing_utmp_is_counted])
