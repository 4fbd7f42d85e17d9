#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A queue's bounds bound its memory (issue "Hardening", item 2).

A stream of 60 KB messages no route takes (or of 2 KB ones, 64 at a time),
with a 12-byte one routed to a stalled output after each: every queued small message used to keep the
128 KiB chunk it shared with the large ones alive, so 10,000 of them held
1.2 GB whatever queue.bytes said. The daemon's resident size must now stay
within a few times queue.bytes plus a fixed base.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, tcp_send  # noqa: E402

N = int(os.environ.get("QUEUE_MEMORY_N", "2000"))  # 2000 pinned chunks: 256 MB before the fix
MAX_BYTES = 1 << 20
BASE = 32 << 20  # the daemon, its Lua states, buffers and free chunk caches

CONFIG = f"""
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0", max_message = 65536 }}
output "stalled" {{ type = "flaky", path = "out.log", format = "raw", fail_file = "fail",
                    queue = {{ capacity = {N}, bytes = {MAX_BYTES}, policy = "block" }} }}
route {{ app_name = "small", to = "stalled" }}
"""


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/PID/status")


def under_asan(pid):
    """ASan keeps freed memory in quarantine (256 MiB): RSS measures it."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def run_pinning(filler, per_small):
    """Sends per_small unrouted filler messages before each of N small routed
    ones into the stalled output, and checks the resident size."""
    with Daemon(CONFIG) as d:
        if under_asan(d.pid):
            print("SKIP: sluiced runs under AddressSanitizer, whose quarantine of freed "
                  "memory the resident size would measure")
            return
        open(d.path("fail"), "w").close()  # the output refuses every write
        base = rss_bytes(d.pid)
        with tcp_connect(d.address("tcp")) as s:
            for i in range(0, N, 20):
                frames = []
                for j in range(i, min(i + 20, N)):
                    frames += [filler] * per_small + [b"<14>Nov 22 10:00:00 h small[1]: %05d" % j]
                s.sendall(lf_frames(frames))
            st = d.wait_stat(lambda st: st["outputs"]["stalled"]["enqueued"] >= N - 1, 60,
                             f"{N} small messages queued")
        rss = rss_bytes(d.pid)
        print(f"{st['outputs']['stalled']['enqueued']} queued, queue.bytes {MAX_BYTES >> 10} KiB; "
              f"VmRSS {base >> 20} MiB at start, {rss >> 20} MiB now")
        limit = base + 4 * MAX_BYTES + BASE
        check(rss <= limit, f"VmRSS {rss >> 20} MiB > {limit >> 20} MiB: the queue does not "
              "bound the memory its messages hold")
        os.unlink(d.path("fail"))
        d.wait_stat(lambda st: st["outputs"]["stalled"]["written"] == N, 30, "the queue to drain")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")


@sluicetest.timeout(120)
def test_small_messages_do_not_pin_large_chunks():
    run_pinning(b"<14>Nov 22 10:00:00 h big[1]: " + b"x" * 60000, 1)


@sluicetest.timeout(120)
def test_small_messages_do_not_pin_chunks_of_small_unrouted_ones():
    """The fillers are small too (2 KB, sharing chunks with the routed ones):
    a chunk's worth of them (64) before each routed message used to pin a
    128 KiB chunk per queued message."""
    run_pinning(b"<14>Nov 22 10:00:00 h filler[1]: " + b"y" * 2000, 64)


REWRITE_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "json" }
route { app_name = "small", to = "out",
        transform = function(m) m.fields.tenant = "t" .. m.msg; m.msg = "rw " .. m.msg end }
"""


@sluicetest.timeout(60)
def test_copied_out_messages_keep_every_field():
    """An output that takes little of what is read gets its messages copied
    out of their chunks: rewritten ones too, with their fields, whole."""
    filler = b"<14>Nov 22 10:00:00 h filler[1]: " + b"y" * 2000
    frames = []
    for j in range(300):
        frames += [filler] * 20 + [b"<14>Nov 22 10:00:00 h small[1]: %05d" % j]
    with Daemon(REWRITE_CONFIG) as d:
        tcp_send(d.address("tcp"), lf_frames(frames))
        lines = d.wait_json_lines("out.log", 300)
        for j, m in enumerate(lines):
            check(m["msg"] == "rw %05d" % j and m["fields"] == {"tenant": "t%05d" % j}
                  and m["app_name"] == "small" and m["hostname"] == "h"
                  and m["procid"] == "1" and m["input"] == "tcp", f"line {j} differs", m)


if __name__ == "__main__":
    sluicetest.main([test_small_messages_do_not_pin_large_chunks,
                     test_small_messages_do_not_pin_chunks_of_small_unrouted_ones,
                     test_copied_out_messages_keep_every_field])
