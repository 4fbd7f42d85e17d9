#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Overload (issue 11): what an output does with what its queue cannot take.

- block_timeout: a unix socket input feeds a stuck output (block_timeout =
  "1s") and a healthy one. A sender of 20,000 datagrams finishes within a
  few seconds instead of waiting for the stuck output; the healthy output
  has all 20,000; the stuck one counts dropped_timeout and, once unstuck,
  writes the rest: written + dropped = sent, in order.
- drop_severity: a stuck output (capacity 10000, high_water 0.5,
  drop_severity "info") receives 4,000 info, 4,000 err, 4,000 info and
  2,000 err lines: once unstuck, every err line is written, only info lines
  were dropped, and written + dropped = sent.
- the summary line: an output that dropped logs one line per interval
  naming the reasons.

The stuck output is the "flaky" test plugin (tests/plugins/flaky.c), which
refuses to write while a file exists: no root needed.
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect  # noqa: E402


def summary_total(d, name, reason, want):
    """Waits until the summary lines of output name add up to want drops,
    each naming reason; returns the lines."""
    pattern = re.compile(r'output "%s": dropped (\d+) in the last \d+ s \((.*)\)' % name)

    def total():
        found = [pattern.search(line) for line in d.log().splitlines()]
        found = [m for m in found if m]
        return (sum(int(m.group(1)) for m in found) == want
                and all(reason in m.group(2) for m in found) and found)
    return sluicetest.wait_until(total, 25, f"summary lines adding up to {want} drops")


def stuck_output(name, queue):
    return f"""
output "{name}" {{ type = "flaky", path = "{name}.log", format = "raw", fail_file = "fail",
                  fail_with = "retry", queue = {queue} }}
"""


BLOCK_TIMEOUT = """
input "dev" { type = "unix", path = "dev.sock" }
output "ok" { type = "file", path = "ok.log", format = "raw" }
""" + stuck_output("stuck", '{ capacity = 1000, block_timeout = "1s" }') + """
route { to = { "ok", "stuck" } }
"""


@sluicetest.timeout(90)
def test_block_timeout_costs_a_sender_once():
    n = 20000
    sent = [b"<14>Dec  3 10:00:00 host app[7]: seq %06d" % i for i in range(n)]
    with Daemon(BLOCK_TIMEOUT, start=False) as d:
        open(d.path("fail"), "w").close()
        d.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect(d.path("dev.sock"))
        t0 = time.monotonic()
        for m in sent:
            s.send(m)  # blocks in the kernel while the daemon does not read
        took = time.monotonic() - t0
        s.close()
        print(f"the sender took {took:.2f} s for {n} datagrams")
        check(took < 8, f"the sender was held {took:.2f} s: block_timeout did not bound it")
        d.wait_lines("ok.log", n, timeout=20)
        check(d.lines("ok.log") == sent,
              "the healthy output does not have every message once, in order")
        st = d.wait_stat(lambda st: st["outputs"]["stuck"]["stalled"], 10, "a stall")
        out = st["outputs"]["stuck"]
        check(out["dropped_timeout"] > 0, f"nothing dropped for the stall: {out}")
        check(out["dropped"] == out["dropped_timeout"], f"other drops: {out}")
        d.wait_log('output "stuck": stalled', 5)
        os.unlink(d.path("fail"))
        st = d.wait_stat(lambda st: st["outputs"]["stuck"]["written"]
                         + st["outputs"]["stuck"]["dropped"] == n, 20,
                         "written + dropped = sent at the stuck output")
        out = st["outputs"]["stuck"]
        written = d.lines("stuck.log")
        print(f"stuck output: {out['written']} written, {out['dropped_timeout']} dropped "
              f"(timeout)")
        check(len(written) == out["written"], f"{len(written)} lines, stats say {out}")
        check(out["abandoned"] == 0, f"abandoned: {out}")
        index = {m: i for i, m in enumerate(sent)}
        order = [index.get(line, -1) for line in written]
        check(-1 not in order and order == sorted(set(order)),
              "the stuck output wrote lines twice, out of order, or not sent")
        d.wait_stat(lambda st: not st["outputs"]["stuck"]["stalled"], 10, "the stall to end")
        d.wait_log('output "stuck": its queue has room again', 5)
        summary_total(d, "stuck", "timeout", out["dropped"])
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


DROP_SEVERITY = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
""" + stuck_output("stuck", '{ capacity = 10000, policy = "drop", high_water = 0.5, '
                   'drop_severity = "info" }') + """
route { to = "stuck" }
"""


def lines_of(pri, tag, n):
    return [b"<%d>Dec  3 10:00:00 host app[7]: %s %06d" % (pri, tag, i) for i in range(n)]


@sluicetest.timeout(90)
def test_drop_severity_spares_the_errors():
    groups = [lines_of(14, b"info-a", 4000), lines_of(11, b"err-a", 4000),
              lines_of(14, b"info-b", 4000), lines_of(11, b"err-b", 2000)]
    sent = [m for g in groups for m in g]
    with Daemon(DROP_SEVERITY, start=False) as d:
        open(d.path("fail"), "w").close()
        d.start()
        total = 0
        with tcp_connect(d.address("tcp")) as s:
            for g in groups:
                s.sendall(lf_frames(g))
                total += len(g)
                # one group at a time, so each finds the queue as the last left it
                d.wait_stat(lambda st, t=total: st["outputs"]["stuck"]["enqueued"]
                            + st["outputs"]["stuck"]["dropped"] == t, 20, f"{total} offered")
        os.unlink(d.path("fail"))
        st = d.wait_stat(lambda st: st["outputs"]["stuck"]["written"]
                         + st["outputs"]["stuck"]["dropped"] == len(sent), 30,
                         "written + dropped = sent")
        out = st["outputs"]["stuck"]
        written = d.lines("stuck.log")
        print(f"written {out['written']}, dropped {out['dropped_severity']} by severity, "
              f"{out['dropped_full']} full")
        errs = groups[1] + groups[3]
        check([line for line in written if b"err-" in line] == errs,
              "not every err line was written once, in order")
        check(out["dropped"] == out["dropped_severity"] > 0, f"drops: {out}")
        check(len(written) == out["written"], f"{len(written)} lines, stats say {out}")
        info = set(groups[0] + groups[2])
        check(all(line in info for line in written if b"info-" in line), "info lines not sent")
        summary_total(d, "stuck", "severity", out["dropped"])
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


SHUTDOWN = """
settings { control = "sluice.ctl", shutdown_timeout = "1s" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
""" + stuck_output("stuck", '{ capacity = 1000 }') + """
route { to = "stuck" }
"""


@sluicetest.timeout(60)
def test_shutdown_timeout_bounds_the_drain():
    n = 500
    with Daemon(SHUTDOWN, start=False) as d:
        open(d.path("fail"), "w").close()
        d.start()
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(lines_of(14, b"x", n)))
            d.wait_stat(lambda st: st["outputs"]["stuck"]["enqueued"] == n, 10, "all enqueued")
        t0 = time.monotonic()
        check(d.stop(timeout=30) == 0, f"sluiced exited {d.returncode}")
        took = time.monotonic() - t0
        print(f"stopped in {took:.2f} s with a stuck output and shutdown_timeout = 1s")
        # the default (10 s) would take 10 s: 1 s, and the slices around it
        check(took < 5, f"the stop took {took:.2f} s")
        last = [line for line in d.log().splitlines() if "stopped:" in line]
        check(last and f"{n} lost at shutdown" in last[-1], "the last line does not count "
              f"the {n} unwritten messages as lost", *last)


if __name__ == "__main__":
    sluicetest.main([test_shutdown_timeout_bounds_the_drain,
                     test_block_timeout_costs_a_sender_once,
                     test_drop_severity_spares_the_errors])
