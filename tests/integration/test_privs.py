#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""settings.user / settings.group: sluiced started as root drops to them
once everything is open. Every task of the process has the user's ids (all
four Uid and Gid fields) and groups; it still receives on its unix and tcp
sockets; a file it creates afterwards (a rotation, an output a reload
adds) is owned by the user; a reload that needs root (a tcp input on a
port below 1024) fails with a reason that says so, and the running config
keeps running; a reload that changes the user warns that it takes a
restart; started as another user than root and settings.user, it says
why and stops; an unknown user is a --check error. Needs root (skipped
otherwise) and Debian's nobody/nogroup."""

import grp
import os
import pwd
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import (Daemon, Skip, TempDir, check, lf_frames, sluiced,  # noqa: E402
                        tcp_send, unix_send, wait_until)

USER, GROUP = "nobody", "nogroup"

CONFIG = """
settings { control = "sluice.ctl", user = "%s", group = "%s" }
input "dev" { type = "unix", path = "dev.sock" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "all" { type = "file", path = "all.log" }
output "rot" { type = "file", path = "rot.log", rotate = { size = "4K", keep = 3 } }
route { to = "all" }
route { msg_contains = "rot", to = "rot" }
%s
"""


def need_root_and_user():
    if os.geteuid() != 0:
        raise Skip("needs root: only root can drop to another user")
    try:
        pw = pwd.getpwnam(USER)
        gr = grp.getgrnam(GROUP)
    except KeyError:
        raise Skip(f"no user {USER} or group {GROUP} (Debian's names)")
    return pw, gr


def proc_ids(pid):
    """{tid: (uids, gids, groups)} from /proc/PID/task/*/status."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = {}
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    fields[k] = v.split()
        except FileNotFoundError:
            continue  # a thread that just ended
        out[tid] = (fields["Uid"], fields["Gid"], sorted(int(g) for g in fields["Groups"]))
    return out


def free_low_port():
    """A tcp port below 1024 free on 127.0.0.1 (root binds it, then lets go)."""
    for port in range(700, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise Skip("no free tcp port below 1024 on 127.0.0.1")


def start(pw, gr, extra=""):
    d = Daemon(CONFIG % (USER, GROUP, extra), start=False)
    os.chmod(d.dir, 0o777)  # the user creates files there after the drop
    d.start()
    return d


@sluicetest.timeout(120)
def test_drop_and_receive():
    pw, gr = need_root_and_user()
    with start(pw, gr) as d:
        d.wait_log(f"running as {USER} (uid {pw.pw_uid}, gid {gr.gr_gid})")
        want_groups = sorted(set(os.getgrouplist(USER, gr.gr_gid)))
        tasks = proc_ids(d.pid)
        check(len(tasks) > 1, f"one task only: {tasks}")  # the input and output threads
        for tid, (uids, gids, groups) in tasks.items():
            check(uids == [str(pw.pw_uid)] * 4, f"task {tid}: Uid {uids}")
            check(gids == [str(gr.gr_gid)] * 4, f"task {tid}: Gid {gids}")
            check(groups == want_groups, f"task {tid}: Groups {groups}, want {want_groups}")
        unix_send(d.path("dev.sock"), [b"<13>Jan  1 00:00:00 h app: over unix"])
        tcp_send(d.address("tcp"), lf_frames([b"<13>1 - h app - - - over tcp"]))
        lines = d.wait_lines("all.log", 2)
        check(any(b"over unix" in l for l in lines) and any(b"over tcp" in l for l in lines),
              f"all.log: {lines}")
        # rot.log exists since start: root's. Past 4K it rotates, and the new
        # rot.log is the user's.
        check(os.stat(d.path("rot.log")).st_uid == 0, "rot.log was not created at start by root")
        msgs = [b"<13>1 - h app - - - rot %04d %s" % (i, b"x" * 80) for i in range(200)]
        tcp_send(d.address("tcp"), lf_frames(msgs))
        d.wait_lines("all.log", 202)
        # The size is looked at before a batch: the next one rotates.
        tcp_send(d.address("tcp"), lf_frames([b"<13>1 - h app - - - rot: the next batch"]))
        d.wait_lines("all.log", 203)

        def rotated():
            return (any(n.startswith("rot.log.") for n in os.listdir(d.dir))
                    and os.stat(d.path("rot.log")).st_uid == pw.pw_uid)
        wait_until(rotated, 10, "rot.log rotated and created anew as the user")
        st = os.stat(d.path("rot.log"))
        check((st.st_uid, st.st_gid) == (pw.pw_uid, gr.gr_gid),
              f"rot.log after rotation owned by {st.st_uid}:{st.st_gid}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print(f"every task runs as {USER}:{GROUP}; unix and tcp still receive; a rotated file is "
          f"the user's")


@sluicetest.timeout(120)
def test_reload_cannot_regain_root():
    pw, gr = need_root_and_user()
    with start(pw, gr) as d:
        d.wait_log(f"running as {USER}")
        port = free_low_port()
        d.write_config(CONFIG % (USER, GROUP, 'input "low" { type = "tcp", listen = '
                                 '"127.0.0.1:%d" }' % port))
        r = d.ctl("reload", check=False, timeout=30)
        text = r.stdout + r.stderr
        check(r.returncode != 0, f"a reload to port {port} took: {text!r}")
        check(f'bind() "127.0.0.1:{port}" failed (13: Permission denied)' in text, text)
        check(f"sluiced runs as {USER} since start (settings.user), so it cannot bind a port "
              "below 1024 it did not hold" in text, text)
        check("keeping the running config" in d.log(), "the reload failure is not logged")
        # The old config runs: its tcp input still receives.
        tcp_send(d.address("tcp"), lf_frames([b"<13>1 - h app - - - after the failed reload"]))
        lines = d.wait_lines("all.log", 1)
        check(b"after the failed reload" in lines[-1], f"all.log: {lines}")
        # settings.user is start-only: a reload that changes it warns, and
        # the daemon keeps its ids; an output the reload adds creates its
        # file as the user.
        d.write_config(CONFIG % ("root", GROUP, 'output "new" { type = "file", path = "new.log" }'
                                 '\nroute { to = "new" }'))
        d.ctl("reload", timeout=30)
        d.wait_log("settings.user or settings.group changed")
        for tid, (uids, _, _) in proc_ids(d.pid).items():
            check(uids == [str(pw.pw_uid)] * 4, f"task {tid} after reload: Uid {uids}")
        tcp_send(d.address("tcp"), lf_frames([b"<13>1 - h app - - - into the new output"]))
        d.wait_lines("new.log", 1)
        st = os.stat(d.path("new.log"))
        check((st.st_uid, st.st_gid) == (pw.pw_uid, gr.gr_gid),
              f"new.log, created after a reload, owned by {st.st_uid}:{st.st_gid}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print(f"a reload to port {port} fails and says why; the old config runs; user is start-only; "
          "a new output's file is the user's")


@sluicetest.timeout(60)
def test_user_alone_takes_its_primary_group():
    pw, _ = need_root_and_user()
    d = Daemon('settings { control = "sluice.ctl", user = %d }\n'
               'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
               'output "all" { type = "file", path = "all.log" }\n'
               'route { to = "all" }\n' % pw.pw_uid, start=False)
    with d:
        os.chmod(d.dir, 0o777)
        d.start()
        d.wait_log(f"running as {USER} (uid {pw.pw_uid}, gid {pw.pw_gid})")
        want_groups = sorted(set(os.getgrouplist(USER, pw.pw_gid)))
        for tid, (uids, gids, groups) in proc_ids(d.pid).items():
            check(uids == [str(pw.pw_uid)] * 4 and gids == [str(pw.pw_gid)] * 4
                  and groups == want_groups, f"task {tid}: {uids} {gids} {groups}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print(f"user = {pw.pw_uid} alone: {USER}'s primary group and groups")


@sluicetest.timeout(60)
def test_started_as_another_user_stops():
    pw, _ = need_root_and_user()
    setpriv = sluicetest.which("setpriv")
    if setpriv is None:
        raise Skip("no setpriv (util-linux) to start sluiced as another user")
    with TempDir() as t:
        os.chmod(t.dir, 0o777)
        conf = t.write("s.lua", 'settings { control = "%s", user = "root" }\n'
                       'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
                       'output "all" { type = "file", path = "%s" }\nroute { to = "all" }\n'
                       % (t.path("s.ctl"), t.path("all.log")))
        r = sluicetest.run([setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                            "--clear-groups", sluicetest.sluiced_path(), "-n", "-c", conf])
        check(r.returncode == 1, f"exit {r.returncode}: {r.stderr!r}")
        check(f"sluiced runs as uid {pw.pw_uid} gid {pw.pw_gid}, not root, so it cannot become "
              "root" in r.stderr and "stopped:" in r.stderr, r.stderr)
        check(not os.path.exists(t.path("s.ctl")), "the control socket was left behind")
    print("started as nobody with user = root: sluiced says why and stops")


@sluicetest.timeout(120)
def test_disk_queue_is_the_users():
    """A disk queue opened by root at start is given to the user: after the
    drop it adds segments, reads those the memory part could not hold and
    removes them; at the next start (root again) the user's directory and a
    leftover of root's are both taken."""
    pw, gr = need_root_and_user()
    conf = ('settings { control = "sluice.ctl", user = "%s", group = "%s", state_dir = "state" }\n'
            'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            'output "q" { type = "file", path = "q.log", queue = { policy = "disk", '
            'capacity = 16, disk = { max_size = "64M", segment_size = "64K" } } }\n'
            'route { to = "q" }\n' % (USER, GROUP))
    d = Daemon(conf, start=False)
    with d:
        os.chmod(d.dir, 0o777)
        os.mkdir(d.path("state"), 0o755)  # root's, as /var/lib/sluice may be
        # A queue directory of root's from a run without settings.user.
        os.mkdir(d.path("state/q"), 0o700)
        d.start()
        d.wait_log(f"running as {USER}")
        qdir = d.path("state/q")
        names = os.listdir(qdir)
        check("lock" in names and "state" in names, f"state/q: {names}")
        for n in [""] + names:
            st = os.lstat(os.path.join(qdir, n))
            check((st.st_uid, st.st_gid) == (pw.pw_uid, gr.gr_gid),
                  f"state/q/{n} owned by {st.st_uid}:{st.st_gid}")
        n = 3000  # about 400 KB: segments of 64K rolled and read as the user
        msgs = [b"<13>1 - h app - - - disk %05d %s" % (i, b"y" * 100) for i in range(n)]
        tcp_send(d.address("tcp"), lf_frames(msgs))
        lines = d.wait_lines("q.log", n, timeout=30)
        got = [int(l.split(b"disk ")[1].split()[0]) for l in lines]
        check(got == list(range(n)), "q.log is not the 3000 messages in order")
        st = d.output_stats("q")
        check(st["failed"] == 0 and st["write_errors"] == 0 and st["dropped"] == 0, f"stats: {st}")
        check(st["disk"]["read_from_disk"] > 0, f"nothing was read back from disk: {st['disk']}")
        check(st["written"] == n, f"written {st['written']}")
        check("Permission denied" not in d.log(), d.log())
        for name in os.listdir(qdir):
            check(os.lstat(os.path.join(qdir, name)).st_uid == pw.pw_uid,
                  f"state/q/{name} is not the user's")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
        d.start()  # root again, on the user's queue directory
        d.wait_log(f"running as {USER}")
        tcp_send(d.address("tcp"), lf_frames([b"<13>1 - h app - - - disk after restart"]))
        lines = d.wait_lines("q.log", n + 1)
        check(b"disk after restart" in lines[-1], f"q.log ends {lines[-1]!r}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print(f"a disk queue under settings.user: {USER}'s directory and files; {n} messages "
          "through its segments in order; a restart takes it again")


def test_unknown_user_is_a_check_error():
    with TempDir() as t:
        for bad, want in (('user = "no-such-user-sluice"', 'settings.user: no user '
                           '"no-such-user-sluice"'),
                          ('group = "no-such-group-sluice"', 'settings.group: no group '
                           '"no-such-group-sluice"'),
                          ("user = 3999999999", "give settings.group too"),
                          ("user = true", "key 'user' wants a string")):
            r = sluiced(["--check", "-c", t.write("b.lua", "settings { %s }\n" % bad)])
            check(r.returncode == 1 and want in r.stderr, f"{bad}: {r.stderr!r}")
        r = sluiced(["--check", "-c", t.write("ok.lua", 'settings { user = "root", group = 0 }\n')])
        check(r.returncode == 0, f"root:0: {r.stderr!r}")
    print("unknown users and groups are --check errors")


if __name__ == "__main__":
    sluicetest.main([test_unknown_user_is_a_check_error, test_drop_and_receive,
                     test_reload_cannot_regain_root, test_user_alone_takes_its_primary_group,
                     test_started_as_another_user_stops, test_disk_queue_is_the_users])
