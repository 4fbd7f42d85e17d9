#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The file output's size rotation with the real daemon: 20,000 messages
from 4 TCP connections, each numbered, through rotate = { size = "64K" }:
PATH.N .. PATH.1, PATH read oldest first hold every message exactly once,
in order per sender, each file starting on a whole line; and keep = 3
leaves exactly PATH, PATH.1, PATH.2 and PATH.3."""

import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect  # noqa: E402

SENDERS = 4
PER_SENDER = 5000

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "r.log", format = "raw",
               rotate = { size = "64K", keep = %d } }
route { to = "out" }
"""


def send_all(d):
    def one(sender):
        msgs = [b"<14>app: sender %d seq %05d %s" % (sender, i, b"x" * (i % 37))
                for i in range(PER_SENDER)]
        with tcp_connect(d.address("tcp")) as sock:  # one connection: one order
            for k in range(0, PER_SENDER, 500):
                sock.sendall(lf_frames(msgs[k:k + 500]))
    threads = [threading.Thread(target=one, args=(s,)) for s in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = SENDERS * PER_SENDER
    d.wait_stat(lambda s: s["outputs"]["out"]["written"] >= total, timeout=30,
                what=f"{total} written")


def rotated_files(d):
    """r.log's old files, oldest first, then r.log."""
    nums = sorted((int(m.group(1)) for m in
                   (re.fullmatch(r"r\.log\.(\d+)", n) for n in os.listdir(d.dir)) if m),
                  reverse=True)
    return [f"r.log.{n}" for n in nums] + ["r.log"]


@sluicetest.timeout(90)
def test_every_message_once_in_order():
    with Daemon(CONFIG % 1000) as d:
        send_all(d)
        files = rotated_files(d)
        check(len(files) >= 5, f"only {files} after about 900K in 64K files")
        nums = [int(f.rsplit(".", 1)[1]) for f in files[:-1]]
        check(nums == list(range(len(nums), 0, -1)), f"gaps in the old files: {files}")
        lines = []
        for name in files:
            with open(d.path(name), "rb") as f:
                data = f.read()
            check(data.endswith(b"\n"), f"{name} ends in a torn line")
            if name != "r.log":
                check(len(data) >= 64 * 1024, f"{name} rotated at {len(data)} bytes")
            lines += data.split(b"\n")[:-1]
        check(len(lines) == SENDERS * PER_SENDER, f"{len(lines)} lines")
        next_seq = [0] * SENDERS
        for line in lines:
            m = re.fullmatch(rb"<14>app: sender (\d) seq (\d{5}) x*", line)
            check(m is not None, f"a broken line: {line!r}")
            s, seq = int(m.group(1)), int(m.group(2))
            check(seq == next_seq[s], f"sender {s}: seq {seq}, expected {next_seq[s]}")
            next_seq[s] += 1


@sluicetest.timeout(90)
def test_keep_leaves_that_many_old_files():
    with Daemon(CONFIG % 3) as d:
        send_all(d)
        logs = sorted(n for n in os.listdir(d.dir) if n.startswith("r.log"))
        check(logs == ["r.log", "r.log.1", "r.log.2", "r.log.3"], f"files: {logs}")


if __name__ == "__main__":
    sluicetest.main([test_every_message_once_in_order,
                     test_keep_leaves_that_many_old_files])
