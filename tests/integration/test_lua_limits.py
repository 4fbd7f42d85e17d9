#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Route functions under the time limit: a where whose pattern backtracks
for tens of seconds on a 64 KiB message fails each message within the
limit, counted in the route's errors, and SIGTERM stops the daemon within
its shutdown time while such messages keep arriving."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, tcp_connect  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_message = 70000 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out", on_error = "skip",
        where = function(m) return m.msg:match("^(.-)%s*:%s*(.-)%s*$") ~= nil end }
"""

SHUTDOWN_S = 10  # SL_DRAIN_TIMEOUT_MS: what an input may take to drain


def hostile(i):
    """64 KiB: a letter, then spaces, on which the pattern backtracks."""
    head = b"<14>Nov 22 10:00:00 h app[1]: x%06d" % i
    return head + b" " * (65536 - len(head)) + b"\n"


def send_forever(addr, stop):
    try:
        with tcp_connect(addr) as s:
            s.settimeout(0.5)
            i = 0
            while not stop.is_set():
                try:
                    s.sendall(hostile(i))
                    i += 1
                except (TimeoutError, BlockingIOError):
                    continue  # the daemon reads slowly: that is the point
    except OSError:
        pass  # the daemon went away


@sluicetest.timeout(90)
def test_sigterm_stops_while_a_pattern_backtracks():
    with Daemon(CONFIG) as d:
        stop = threading.Event()
        t = threading.Thread(target=send_forever, args=(d.address("tcp"), stop), daemon=True)
        t.start()
        try:
            # Each message fails within the limit (it took 38 s), so errors add up.
            d.wait_stat(lambda st: st["routes"][0]["errors"] >= 5, 20,
                        "five route errors (a message each 100-150 ms)")
            check("string.match: route function ran for more than 100 ms" in d.log(),
                  "the log names the function and the limit")
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            d.wait_exit(SHUTDOWN_S + 10)
            took = time.monotonic() - t0
            check(took < SHUTDOWN_S + 5, f"sluiced took {took:.1f} s to stop on SIGTERM")
        finally:
            stop.set()
            t.join(5)


if __name__ == "__main__":
    sluicetest.main([test_sigterm_stops_while_a_pattern_backtracks])
