#!/usr/bin/env python3
"""A queue's bounds bound its memory (issue "Hardening", item 2).

A stream of 60 KB messages no route takes, with a 12-byte one routed to a
stalled output after each: every queued small message used to keep the
128 KiB chunk it shared with the large ones alive, so 10,000 of them held
1.2 GB whatever queue.bytes said. The daemon's resident size must now stay
within a few times queue.bytes plus a fixed base.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect  # noqa: E402

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


@sluicetest.timeout(120)
def test_small_messages_do_not_pin_large_chunks():
    big = b"<14>Nov 22 10:00:00 h big[1]: " + b"x" * 60000
    with Daemon(CONFIG) as d:
        if under_asan(d.pid):
            print("SKIP: sluiced runs under AddressSanitizer, whose quarantine of freed "
                  "memory the resident size would measure")
            return
        open(d.path("fail"), "w").close()  # the output refuses every write
        base = rss_bytes(d.pid)
        with tcp_connect(d.address("tcp")) as s:
            for i in range(0, N, 100):
                frames = []
                for j in range(i, min(i + 100, N)):
                    frames += [big, b"<14>Nov 22 10:00:00 h small[1]: %05d" % j]
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


if __name__ == "__main__":
    sluicetest.main([test_small_messages_do_not_pin_large_chunks])
