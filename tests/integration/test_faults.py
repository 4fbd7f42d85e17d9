#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Faults a file output survives (issue 11), with the real file plugin.

- disk full (ENOSPC), on a small tmpfs the test mounts (root only; skipped
  with the reason elsewhere): under block the output retries with backoff
  and does not spin (under 5% of a core while stuck), logs the errno when
  the failure starts and not again within the minute, shows "retrying" and
  errno 28 in stats, and once the file system grows writes every message
  once, in order.
- the output's directory removed, with the file open: it is recreated and
  nothing is lost (no root needed).
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, tcp_send  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "f" { type = "file", path = "%s", format = "raw", create_dirs = true,
             queue = { capacity = 1000 } }
route { to = "f" }
"""


def msgs(n, tag=b"m"):
    return [b"<14>Dec  3 10:00:00 host app[1]: %s %06d padding to make it longer" % (tag, i)
            for i in range(n)]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


@sluicetest.timeout(90)
def test_full_disk_waits_without_spinning_and_loses_nothing():
    if os.geteuid() != 0:
        print("SKIP: mounting a small tmpfs to fill needs root")
        return
    n = 3000  # about 210 KB of lines into 64 KB
    sent = msgs(n)
    with Daemon(CONFIG % "full/out.log", start=False) as d:
        os.mkdir(d.path("full"))
        ok, why = mount_tmpfs(d.path("full"), "64k")
        if not ok:
            print(f"SKIP: cannot mount a tmpfs here: {why}")
            return
        try:
            d.start()
            with tcp_connect(d.address("tcp")) as s:
                s.sendall(lf_frames(sent))
                st = d.wait_stat(lambda st: st["outputs"]["f"]["state"] == "retrying"
                                 and st["outputs"]["f"]["write_errors"] >= 3
                                 and st["outputs"]["f"]["plugin"]["last_errno"] != 0, 15,
                                 "the output retrying on a full disk")
                out = st["outputs"]["f"]
                check(out["plugin"]["last_errno"] == 28, f"errno in stats: {out}")
                time.sleep(1)  # the backoff reaches its 1 s cap
                c0, t0 = cpu_seconds(d.pid), time.monotonic()
                time.sleep(4)
                used = (cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
                print(f"daemon CPU while stuck: {used * 100:.1f}% of a core")
                check(used < 0.05, f"the daemon spins while the disk is full: {used:.2%}")
                enospc = [line for line in d.log().splitlines()
                          if "No space left on device" in line]
                check(1 <= len(enospc) <= 2, f"{len(enospc)} lines about ENOSPC in ~6 s",
                      *enospc[:5])
                check(out["dropped"] == 0 and out["abandoned"] == 0, f"lost: {out}")
                r = subprocess.run(["mount", "-o", "remount,size=16m", d.path("full")],
                                   capture_output=True, text=True)
                check(r.returncode == 0, f"remount failed: {r.stderr}")
                st = d.wait_stat(lambda st: st["outputs"]["f"]["written"] == n, 20,
                                 f"all {n} written once the disk has room")
            out = st["outputs"]["f"]
            check(out["state"] == "ok" and out["plugin"]["last_errno"] == 0, f"after: {out}")
            check(d.lines("full/out.log") == sent, "out.log is not every message once, in order")
            d.wait_log("works again", 5)
            check(d.stop() == 0, f"sluiced exited {d.returncode}")
        finally:
            if d.running():
                d.stop()
            subprocess.run(["umount", "-l", d.path("full")], capture_output=True)


@sluicetest.timeout(60)
def test_removed_directory_is_recreated_and_nothing_lost():
    n = 2000
    first, second = msgs(n // 2, b"a"), msgs(n // 2, b"b")
    with Daemon(CONFIG % "logs/sub/out.log") as d:
        tcp_send(d.address("tcp"), lf_frames(first))
        d.wait_lines("logs/sub/out.log", n // 2)
        shutil.rmtree(d.path("logs"))
        tcp_send(d.address("tcp"), lf_frames(second))
        st = d.wait_stat(lambda st: st["outputs"]["f"]["written"] == n, 20, f"{n} written")
        check(d.lines("logs/sub/out.log") == second,
              "the recreated file does not hold the messages sent after the removal")
        check(st["outputs"]["f"]["dropped"] == 0, f"{st['outputs']['f']}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


if __name__ == "__main__":
    sluicetest.main([test_full_disk_waits_without_spinning_and_loses_nothing,
                     test_removed_directory_is_recreated_and_nothing_lost])
