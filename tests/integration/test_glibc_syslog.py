#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""glibc syslog(3) against the real daemon. $SYSLOG_CLIENT runs in its own
mount namespace (unshare -m) where /dev/log is the daemon's unix socket:
either bind-mounted over an existing /dev/log, or, where there is none, onto
an empty file in a tmpfs mounted over /dev. Nothing in the real /dev is
created or changed. Skips where unshare or mount are not permitted.

glibc sends "<14>Mmm dd hh:mm:ss TAG[PID]: TEXT i" with no hostname: the
daemon fills in the local hostname (or settings.hostname), and records the
kernel's pid/uid/gid, which must agree with the TAG[PID] the client wrote."""

import os
import shlex
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check  # noqa: E402

COUNT = 500
MOUNT_FAILED = 99  # the namespace script's status when a mount step failed

CONFIG = """
input "devlog" { type = "unix", path = "log.sock" }
output "out" { type = "file", path = "out.json", format = "json" }
route { to = "out" }
"""


# As root a mount namespace is enough; otherwise map ourselves to root in a
# new user namespace (-r), where mounting is allowed. No pid namespace: the
# pid the daemon sees is the client's real pid, and the uid/gid it sees are
# ours, translated back from the namespace.
UNSHARE = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]


def client_path():
    path = sluicetest.need_env("SYSLOG_CLIENT")
    if not os.access(path, os.X_OK):
        raise Skip(f"$SYSLOG_CLIENT={path} is not built")
    return path


def can_unshare():
    for tool in ("unshare", "mount"):
        if sluicetest.which(tool) is None:
            raise Skip(f"{tool} is not installed")
    try:
        r = sluicetest.run(UNSHARE + ["sh", "-c", "mount --make-rprivate / && echo yes"],
                           timeout=10)
    except subprocess.TimeoutExpired:
        raise Skip("unshare -m timed out")
    if r.returncode != 0 or "yes" not in r.stdout:
        raise Skip(f"cannot make a private mount namespace here ({' '.join(UNSHARE)} / mount "
                   f"--make-rprivate: status {r.returncode}: {r.stderr.strip()})")


def run_client(sock, count, tag, text):
    """Runs the client with /dev/log = sock in a private mount namespace;
    returns its pid. The script execs the client, so its pid is the one
    the client prints."""
    client = client_path()
    q = shlex.quote
    if os.path.exists("/dev/log"):
        # bind over the existing socket (following a symlink is fine: the
        # mount happens in our namespace only)
        setup = f"mount --bind {q(sock)} /dev/log"
    else:
        setup = (f"mount -t tmpfs -o size=64k,mode=0755 sluicetest /dev && : > /dev/log && "
                 f"mount --bind {q(sock)} /dev/log")
    script = (f"mount --make-rprivate / && {setup} || exit {MOUNT_FAILED}; "
              f"exec {q(client)} {count} {q(tag)} {q(text)}")
    try:
        r = sluicetest.run(UNSHARE + ["sh", "-c", script], timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"syslog_client did not finish sending {count} messages in 30 s")
    if r.returncode == MOUNT_FAILED:
        raise Skip(f"mounting the socket on /dev/log failed: {r.stderr.strip()}")
    check(r.returncode == 0, f"syslog_client exited {r.returncode}", f"stderr: {r.stderr!r}")
    try:
        return int(r.stdout.split()[0])
    except (IndexError, ValueError):
        raise AssertionError(f"syslog_client printed no pid: {r.stdout!r}")


def check_messages(d, lines, count, tag, text, pid, hostname):
    check(len(lines) == count, f"{len(lines)} lines, expected {count}")
    for i, o in enumerate(lines):
        want = {"app_name": tag, "procid": str(pid), "msg": f"{text} {i}",
                "hostname": hostname, "facility": "user", "severity": "info",
                "pid": pid, "uid": os.getuid(), "gid": os.getgid(), "input": "devlog"}
        for key, value in want.items():
            check(o.get(key) == value,
                  f"message {i}: {key} is {o.get(key)!r}, expected {value!r}", f"line: {o}")
    s = d.input_stats("devlog")
    check(s["received"] == count and s["parse_errors"] == 0,
          f"devlog stats: {s}, expected received {count} and no parse errors")


@sluicetest.timeout(60)
def test_glibc_syslog_dev_log():
    client_path()
    can_unshare()
    with Daemon(CONFIG) as d:
        sock = d.address("devlog")
        pid = run_client(sock, COUNT, "glibc-test", "hello from glibc")
        lines = d.wait_json_lines("out.json", COUNT)
        check_messages(d, lines, COUNT, "glibc-test", "hello from glibc", pid,
                       socket.gethostname())
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(60)
def test_glibc_syslog_hostname_override():
    client_path()
    can_unshare()
    config = 'settings { control = "sluice.ctl", hostname = "override-host" }\n' + CONFIG
    with Daemon(config) as d:
        sock = d.address("devlog")
        pid = run_client(sock, 20, "glibc-host", "override")
        lines = d.wait_json_lines("out.json", 20)
        check_messages(d, lines, 20, "glibc-host", "override", pid, "override-host")


if __name__ == "__main__":
    sluicetest.main([test_glibc_syslog_dev_log, test_glibc_syslog_hostname_override])
