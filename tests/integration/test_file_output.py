#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The file output against what a hostile run of the daemon found: the
daemon killed by SIGXFSZ past RLIMIT_FSIZE, a write error partway through
a batch, messages written into a file whose directory was deleted, a torn
last line joined to the next start's first, and a symlink planted at an
output's path."""

import fcntl
import os
import resource
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, tcp_send, wait_until  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "%s", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_sigxfsz_does_not_kill_the_daemon():
    """Past RLIMIT_FSIZE the kernel sends SIGXFSZ, which killed sluiced
    with every queued message. Ignored, write() fails with EFBIG: logged,
    the batch retried, and once the limit is raised everything lands."""
    with Daemon(CONFIG % "big.log") as d:
        limit = 32 * 1024
        # Set on the running daemon (prlimit(2)), as a preexec_fn would before exec;
        # its stderr log is under the same limit, and far below it.
        _, hard = resource.prlimit(d.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(d.pid, resource.RLIMIT_FSIZE, (limit, hard))
        msgs = [b"<14>app: line %05d %s" % (i, b"x" * 80) for i in range(1000)]
        tcp_send(d.address("tcp"), lf_frames(msgs))
        d.wait_log('write() "big.log" failed (27: File too large), will retry')
        check(d.running(), "sluiced died past RLIMIT_FSIZE")
        stats = d.output_stats("out")
        check(stats["written"] < len(msgs), f"all written under a {limit}-byte limit: {stats}")
        resource.prlimit(d.pid, resource.RLIMIT_FSIZE, (hard, hard))
        lines = d.wait_lines("big.log", len(msgs), timeout=20)
        check(lines == msgs, "messages lost or repeated after EFBIG",
              f"{len(lines)} lines, first differing at "
              f"{next((i for i, (a, b) in enumerate(zip(lines, msgs)) if a != b), None)}")
        d.wait_log('write() "big.log" works again')


FOLLOW_CONFIG = CONFIG.replace('format = "raw"', 'format = "raw", follow_symlinks = true')


@sluicetest.timeout(60)
def test_error_partway_writes_each_message_once():
    """A batch cut partway by EFBIG, then refused with EPERM, an error the
    file plugin did not expect to pass (a read-only file system, an
    immutable file): it answered FATAL and forgot the written part, the
    daemon offered the batch anew and that part was written twice. Now the
    retry resumes where the write stopped, in the file a reopen gives, and
    the streak is one line in the log. No root: the first file is a memfd
    sealed against growing (EPERM from write(2)), reached through a
    symlink to /proc/PID/fd."""
    mfd = os.memfd_create("sluice-test", os.MFD_ALLOW_SEALING)
    d = Daemon(FOLLOW_CONFIG % "out.log", start=False)
    try:
        os.symlink(f"/proc/{os.getpid()}/fd/{mfd}", d.path("out.log"))
        d.start()
        limit = 32 * 1024 + 50  # inside a line
        _, hard = resource.prlimit(d.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(d.pid, resource.RLIMIT_FSIZE, (limit, hard))
        msgs = [b"<14>app: line %05d %s" % (i, b"x" * 80) for i in range(1000)]
        tcp_send(d.address("tcp"), lf_frames(msgs))
        d.wait_log('write() "out.log" failed (27: File too large), will retry')
        fcntl.fcntl(mfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW)
        resource.prlimit(d.pid, resource.RLIMIT_FSIZE, (hard, hard))
        errors = d.output_stats("out")["write_errors"]
        d.wait_stat(lambda st: st["outputs"]["out"]["write_errors"] >= errors + 2, 10,
                    "two tries refused with EPERM")
        os.unlink(d.path("out.log"))  # logrotate's rename, then reopen: a new file
        d.ctl("reopen")
        d.wait_stat(lambda st: st["outputs"]["out"]["written"] == len(msgs), 20,
                    f"all {len(msgs)} written")
        first = os.pread(mfd, 2 * limit, 0)
        check(len(first) == limit, f"{len(first)} bytes in the first file, not {limit}")
        with open(d.path("out.log"), "rb") as f:
            lines = (first + f.read()).split(b"\n")
        check(lines[-1] == b"", "the last line has no newline")
        check(lines[:-1] == msgs, "messages lost or repeated after a write error partway",
              f"{len(lines) - 1} lines, first differing at "
              f"{next((i for i, (a, b) in enumerate(zip(lines, msgs)) if a != b), None)}")
        failed = [line for line in d.log().splitlines() if 'write() "out.log" failed' in line]
        check(len(failed) == 1, f"{len(failed)} lines for one failure streak", *failed[:4])
        d.wait_log('write() "out.log" works again')
    finally:
        d.cleanup()
        os.close(mfd)


@sluicetest.timeout(60)
def test_deleted_directory_is_recreated():
    """rm -rf of the output's directory while a sender sends: every
    message sent after the rm lands in the recreated file; said once."""
    with Daemon(CONFIG % "logs/app/out.log") as d:
        state = {"sent": 0, "stop": False, "error": None}

        def sender():
            try:
                with tcp_connect(d.address("tcp")) as s:
                    while not state["stop"]:
                        s.sendall(b"<14>app: seq %d\n" % state["sent"])
                        state["sent"] += 1
                        time.sleep(0.001)
                    s.sendall(b"<14>app: seq %d\n" % state["sent"])
                    state["sent"] += 1
            except OSError as e:
                state["error"] = e

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        wait_until(lambda: d.count("logs/app/out.log") >= 50, 10, "the first lines")
        shutil.rmtree(d.path("logs"))
        after = state["sent"]  # every message from this one on is sent after the rm
        wait_until(lambda: state["sent"] >= after + 200, 10, "200 more messages sent")
        state["stop"] = True
        t.join(10)
        check(state["error"] is None, f"the sender failed: {state['error']!r}")
        total = state["sent"]
        want = {b"<14>app: seq %d" % i for i in range(after, total)}
        wait_until(lambda: want <= set(d.lines("logs/app/out.log")), 10,
                   f"seq {after}..{total - 1} in the recreated logs/app/out.log")
        log = d.wait_log('"logs/app/out.log" was deleted while open, opening it anew')
        check(log.count("was deleted while open") == 1, "the deletion was not said once", log)


@sluicetest.timeout(30)
def test_torn_last_line_is_completed_at_start():
    """A file left without its final newline (kill -9 mid-write) gets one
    before the first new line, so the two are not one unparsable line."""
    d = Daemon(CONFIG % "out.log", start=False)
    try:
        with open(d.path("out.log"), "wb") as f:
            f.write(b'{"msg":"torn by kill -9')
        d.start()
        tcp_send(d.address("tcp"), lf_frames([b"<14>app: first", b"<14>app: second"]))
        lines = d.wait_lines("out.log", 3)
        check(lines == [b'{"msg":"torn by kill -9', b"<14>app: first", b"<14>app: second"],
              f"out.log: {lines!r}")
    finally:
        d.cleanup()


@sluicetest.timeout(30)
def test_planted_symlink_is_not_followed():
    """A symlink at an output's path: the daemon does not start (open()
    names the error), the file it points at is untouched; with
    follow_symlinks = true it is followed."""
    d = Daemon(CONFIG % "out.log", start=False)
    try:
        with open(d.path("precious"), "wb") as f:
            f.write(b"secret\n")
        os.symlink("precious", d.path("out.log"))
        r = sluicetest.run([sluicetest.sluiced_path(), "-n", "-c", d.conf_path], cwd=d.dir,
                           timeout=20)
        check(r.returncode != 0, "sluiced started with a symlink at the path")
        check('open() "out.log" failed (40: Too many levels of symbolic links)' in r.stderr,
              f"stderr: {r.stderr!r}")
        with open(d.path("precious"), "rb") as f:
            check(f.read() == b"secret\n", "the link's target was written")
        d.write_config(CONFIG.replace('format = "raw"', 'format = "raw", follow_symlinks = true')
                       % "out.log")
        d.start()
        tcp_send(d.address("tcp"), lf_frames([b"<14>app: allowed"]))
        check(d.wait_lines("precious", 2) == [b"secret", b"<14>app: allowed"], "precious")
    finally:
        d.cleanup()


if __name__ == "__main__":
    sluicetest.main([test_sigxfsz_does_not_kill_the_daemon,
                     test_error_partway_writes_each_message_once,
                     test_deleted_directory_is_recreated,
                     test_torn_last_line_is_completed_at_start,
                     test_planted_symlink_is_not_followed])
