#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write errors (issue "Hardening", items 5, 10 and 20), with the "flaky"
test plugin (tests/plugins/flaky.c: fails while a file exists), so no root
is needed; with root, the same with the real file plugin and chattr +i.

- block: a refused batch is kept and offered again until it works: no
  message lost, every one written once and in order; the stats show the
  streak (state "retrying", write_errors, last_error), and the log says so
  a bounded number of times, not once per try.
- drop: the same retry; only what did not fit the queue meanwhile is lost,
  counted as dropped.
- shutdown: what a blocked input had parked is counted as abandoned (lost
  at shutdown), not as dropped, which is the drop policy's counter; of a
  batch the file plugin had written partway, the lines written whole count
  as written (progress()), only the rest as lost.
"""

import os
import re
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, tcp_send  # noqa: E402


def msgs(n):
    return [b"<14>Nov 22 10:00:00 wehost app[1]: seq %06d" % i for i in range(n)]


def config(policy, capacity, fail_with="fatal"):
    return f"""
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0" }}
output "f" {{ type = "flaky", path = "out.log", format = "raw", fail_file = "fail",
             fail_with = "{fail_with}", queue = {{ capacity = {capacity}, policy = "{policy}" }} }}
route {{ to = "f" }}
"""


def write_error_lines(d):
    return [line for line in d.log().splitlines() if 'output "f": write()' in line]


@sluicetest.timeout(60)
def test_block_loses_nothing_while_writes_fail():
    n = 3000
    sent = msgs(n)
    with Daemon(config("block", 100)) as d:
        open(d.path("fail"), "w").close()
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            st = d.wait_stat(lambda st: st["outputs"]["f"]["write_errors"] >= 5, 10,
                             "five refused writes")
            out = st["outputs"]["f"]
            check(out["state"] == "retrying", f"state while failing: {out}")
            check(out["last_error"] == "write() answered FATAL", f"last_error: {out}")
            check(out["failed"] == 0 and out["dropped"] == 0, f"counted as lost: {out}")
            time.sleep(2)  # tries every second by now: more lines would show
            os.unlink(d.path("fail"))
            st = d.wait_stat(lambda st: st["outputs"]["f"]["written"] == n, 20,
                             f"all {n} written after the failure cleared")
        out = st["outputs"]["f"]
        check(out["state"] == "ok" and out["dropped"] == 0 and out["abandoned"] == 0,
              f"after recovery: {out}")
        check(d.lines("out.log") == sent, "out.log is not every message once, in order")
        # The plugin's own counters, read on its worker after each write.
        check(out.get("plugin") == {"refused": out["write_errors"], "lines": n},
              f"the plugin's counters: {out.get('plugin')}")
        lines = write_error_lines(d)
        print(f"{out['write_errors']} refused writes, {len(lines)} log lines about them")
        check(len(lines) <= 3, f"{len(lines)} log lines for one streak", *lines[:6])
        check(any("works again" in line for line in lines), "no line when it worked again")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


@sluicetest.timeout(60)
def test_drop_counts_only_the_overflow_as_lost():
    n = 3000
    sent = msgs(n)
    with Daemon(config("drop", 100)) as d:
        open(d.path("fail"), "w").close()
        tcp_send(d.address("tcp"), lf_frames(sent))
        d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == n, 10, f"received == {n}")
        st = d.stats()
        check(st["outputs"]["f"]["state"] == "retrying", f"not retrying: {st['outputs']['f']}")
        os.unlink(d.path("fail"))
        st = d.wait_stat(lambda st: st["outputs"]["f"]["queue_depth"] == 0
                         and st["outputs"]["f"]["state"] == "ok"
                         and st["outputs"]["f"]["written"] == st["outputs"]["f"]["enqueued"],
                         20, "the queue to drain")
        out = st["outputs"]["f"]
        check(out["dropped"] > 0, f"nothing dropped with a queue of 100: {out}")
        check(out["written"] + out["dropped"] == n and out["failed"] == 0
              and out["abandoned"] == 0, f"written + dropped != {n}: {out}")
        check(d.count("out.log") == out["written"], "out.log and written disagree")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


@sluicetest.timeout(90)
def test_parked_at_shutdown_are_abandoned_not_dropped():
    # RETRY, so the worker before this fix kept retrying too and the
    # input parked: what it counted as dropped is what this test checks.
    n = 500
    with Daemon(config("block", 10, "retry")) as d:
        open(d.path("fail"), "w").close()
        conn = tcp_connect(d.address("tcp"))
        try:
            conn.sendall(lf_frames(msgs(n)))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] >= 20
                        and st["outputs"]["f"]["enqueued"] >= 10, 10, "the queue to fill")
            time.sleep(0.5)
            st = d.stats()
            check(d.stop(timeout=60) == 0, f"sluiced exited {d.returncode}")
        finally:
            conn.close()
        m = re.search(r"stopped: (\d+) messages written, (\d+) dropped, (\d+) failed, "
                      r"(\d+) unrouted, (\d+) lost at shutdown", d.log())
        check(m is not None, "no 'stopped: ...' line in the log")
        written, dropped, failed, unrouted, lost = map(int, m.groups())
        received = st["inputs"]["tcp"]["received"]
        print(f"received {received} before SIGTERM; the stop line: {m.group(0)}")
        check(written == 0 and dropped == 0 and failed == 0, f"the stop line: {m.group(0)!r}")
        check(lost >= received and lost > 10, f"lost {lost}, but {received} were received "
              "and none written", m.group(0))


CUT_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "f" { type = "file", path = "out.log", format = "raw" }
route { to = "f" }
"""


@sluicetest.timeout(90)
def test_shutdown_counts_the_written_lines_of_a_cut_batch():
    """A batch the file plugin had written partway (EFBIG, past a lowered
    RLIMIT_FSIZE) when the shutdown deadline passed: the lines written
    whole count as written, only the others as lost at shutdown. Without
    progress() the whole batch counted as lost, its written lines too."""
    n = 1000
    sent = msgs(n)  # 45 bytes a line
    with Daemon(CUT_CONFIG) as d:
        limit = 16 * 1024 + 20  # inside line 365; the daemon's log stays far below
        _, hard = resource.prlimit(d.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(d.pid, resource.RLIMIT_FSIZE, (limit, hard))
        tcp_send(d.address("tcp"), lf_frames(sent))
        d.wait_log('write() "out.log" failed (27: File too large), will retry')
        d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == n, 10, f"received == {n}")
        check(d.stop(timeout=60) == 0, f"sluiced exited {d.returncode}")
        with open(d.path("out.log"), "rb") as f:
            data = f.read()
        whole = data.count(b"\n")
        check(len(data) == limit and not data.endswith(b"\n"),
              f"out.log has {len(data)} bytes, cut at {limit} expected inside a line")
        check(data.split(b"\n")[:whole] == sent[:whole], "out.log is not the first lines")
        m = re.search(r"stopped: (\d+) messages written, (\d+) dropped, (\d+) failed, "
                      r"(\d+) unrouted, (\d+) lost at shutdown", d.log())
        check(m is not None, "no 'stopped: ...' line in the log")
        written, dropped, failed, unrouted, lost = map(int, m.groups())
        print(f"{whole} lines whole in out.log; the stop line: {m.group(0)}")
        check((written, dropped, failed, lost) == (whole, 0, 0, n - whole),
              f"want {whole} written and {n - whole} lost: {m.group(0)!r}")


def chattr(flag, path):
    return subprocess.run(["chattr", flag, path], capture_output=True).returncode == 0


FILE_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "f" { type = "file", path = "out.log", format = "raw",
             queue = { capacity = 100, policy = "block" } }
route { to = "f" }
"""


@sluicetest.timeout(60)
def test_block_file_plugin_immutable_file_loses_nothing():
    if os.geteuid() != 0:
        print("SKIP: chattr +i needs root")
        return
    if shutil.which("chattr") is None:
        print("SKIP: no chattr")
        return
    n = 2000
    sent = msgs(n)
    with Daemon(FILE_CONFIG) as d:
        tcp_send(d.address("tcp"), lf_frames(sent[:10]))
        d.wait_lines("out.log", 10)
        if not chattr("+i", d.path("out.log")):
            print("SKIP: chattr +i failed here (file system without the attribute)")
            return
        try:
            tcp_send(d.address("tcp"), lf_frames(sent[10:]))
            st = d.wait_stat(lambda st: st["outputs"]["f"]["write_errors"] >= 3, 10,
                             "refused writes")
            check(st["outputs"]["f"]["state"] == "retrying", f"{st['outputs']['f']}")
        finally:
            chattr("-i", d.path("out.log"))
        st = d.wait_stat(lambda st: st["outputs"]["f"]["written"] == n, 20, f"{n} written")
        check(d.lines("out.log") == sent, "out.log is not every message once, in order")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


if __name__ == "__main__":
    sluicetest.main([test_block_loses_nothing_while_writes_fail,
                     test_drop_counts_only_the_overflow_as_lost,
                     test_parked_at_shutdown_are_abandoned_not_dropped,
                     test_shutdown_counts_the_written_lines_of_a_cut_batch,
                     test_block_file_plugin_immutable_file_loses_nothing])
