#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""100,000 messages over one TCP connection, LF-framed and then
octet-counted, into a block-policy output with a small queue (so the input
has to stop reading and resume many times): every message must arrive,
complete and in order, and the stats must agree."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, octet_frames, tcp_connect  # noqa: E402

N = 100_000
PER_SEND = 1000  # messages per sendall()

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "raw",
               queue = { capacity = 1000, policy = "block" } }
route { to = "out" }
"""


def messages(n):
    # Lengths vary so frames straddle the daemon's reads at every offset.
    return [b"<134>Nov 22 10:00:00 volhost vol[4242]: seq %06d %s" % (i, b"x" * (i % 53))
            for i in range(n)]


def first_difference(got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"line {i}: got {g!r}, expected {w!r}"
    return f"{len(got)} lines, expected {len(want)}"


def run_volume(framer):
    msgs = messages(N)
    with Daemon(CONFIG) as d:
        addr = d.address("tcp")
        start = time.monotonic()
        with tcp_connect(addr, timeout=60) as s:
            for i in range(0, N, PER_SEND):
                s.sendall(framer(msgs[i:i + PER_SEND]))
        sent = time.monotonic()
        lines = d.wait_lines("out.log", N, timeout=60)
        done = time.monotonic()
        print(f"sent in {sent - start:.2f} s, all written after {done - start:.2f} s")
        check(lines == msgs, "the output is not the messages sent, in order: "
              + first_difference(lines, msgs))
        st = d.wait_stat(lambda s: s["outputs"]["out"]["written"] == N, 10, f"written == {N}")
        out, inp = st["outputs"]["out"], st["inputs"]["tcp"]
        check(out["dropped"] == 0 and out["failed"] == 0 and out["enqueued"] == N,
              f"output stats {out}, expected enqueued {N}, no drops or failures")
        check(inp["received"] == N and inp["parse_errors"] == 0 and inp["truncated"] == 0
              and inp["framing_errors"] == 0,
              f"input stats {inp}, expected received {N} and no errors")
        check(out["queue_capacity"] == 1000 and out["policy"] == "block",
              f"output queue settings in stats: {out}")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
        check(d.count("out.log") == N, f"{d.count('out.log')} lines after stop, expected {N}")


@sluicetest.timeout(90)
def test_volume_lf():
    run_volume(lf_frames)


@sluicetest.timeout(90)
def test_volume_octet_counted():
    run_volume(octet_frames)


if __name__ == "__main__":
    sluicetest.main([test_volume_lf, test_volume_octet_counted])
