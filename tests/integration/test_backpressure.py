#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Queue policies under load, with the "slow" test plugin (tests/plugins/
slow.c: writes one line per message and sleeps delay_ms after each).

- drop: a full queue drops new messages and counts them, so
  sent == written + dropped, and what is written stays in order.
- block: a backed-up block output stops only the source feeding it; other
  connections of the same input, other inputs, and a drop output on another
  route keep flowing, and SIGTERM still drains everything within its bound.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import (Daemon, check, lf_frames, tcp_connect, tcp_send,  # noqa: E402
                        udp_send)


def msgs(app, n, start=0):
    return [b"<14>Nov 22 10:00:00 bphost %s[1]: seq %06d" % (app.encode(), i)
            for i in range(start, start + n)]


DROP_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "slow" { type = "slow", path = "slow.log", format = "raw", delay_ms = 2,
                queue = { capacity = 10, policy = "drop" } }
route { to = "slow" }
"""


@sluicetest.timeout(60)
def test_drop_policy_counts():
    n = 2000
    sent = msgs("dropper", n)
    with Daemon(DROP_CONFIG) as d:
        tcp_send(d.address("tcp"), lf_frames(sent))
        d.wait_stat(lambda s: s["inputs"]["tcp"]["received"] == n, 10, f"received == {n}")
        st = d.wait_stat(lambda s: s["outputs"]["slow"]["queue_depth"] == 0
                         and s["outputs"]["slow"]["written"] == s["outputs"]["slow"]["enqueued"],
                         20, "the slow queue to drain")
        out = st["outputs"]["slow"]
        check(out["policy"] == "drop" and out["queue_capacity"] == 10, f"slow stats {out}")
        check(out["dropped"] > 0, f"nothing was dropped with a queue of 10: {out}")
        check(out["written"] + out["dropped"] == n,
              f"written {out['written']} + dropped {out['dropped']} != sent {n}", f"{out}")
        check(out["enqueued"] == out["written"], f"enqueued != written after draining: {out}")
        lines = d.lines("slow.log")
        check(len(lines) == out["written"],
              f"slow.log has {len(lines)} lines, stats say {out['written']} written")
        # what got through is a subsequence of what was sent, in order
        pos = {m: i for i, m in enumerate(sent)}
        idx = [pos.get(line, -1) for line in lines]
        check(all(i >= 0 for i in idx), "slow.log has lines that were not sent",
              *[repr(line) for line, i in zip(lines, idx) if i < 0][:5])
        check(idx == sorted(idx), "slow.log is out of order")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
        check(d.count("slow.log") == out["written"], "lines changed after SIGTERM")
        m = re.search(r"stopped: (\d+) messages written, (\d+) dropped", d.log())
        check(m is not None, "no 'stopped: N messages written, D dropped' line in the log")
        check((int(m.group(1)), int(m.group(2))) == (out["written"], out["dropped"]),
              f"the stop line says {m.group(0)!r}; stats said {out['written']} written, "
              f"{out['dropped']} dropped")


BLOCK_CONFIG = """
input "main"  { type = "tcp", listen = "127.0.0.1:0" }
input "other" { type = "tcp", listen = "127.0.0.1:0" }
input "dgram" { type = "udp", listen = "127.0.0.1:0" }
output "slow" { type = "slow", path = "slow.log", format = "raw", delay_ms = 20,
                queue = { capacity = 10, policy = "block" } }
output "fast" { type = "file", path = "fast.log", format = "raw",
                queue = { capacity = 1000, policy = "drop" } }
route { input = "main", app_name = "slowapp", to = "slow", final = true }
route { app_name = "fastapp", to = "fast" }
"""


@sluicetest.timeout(60)
def test_block_does_not_stall_others():
    n_slow = 200  # 4 s of writing at 20 ms each
    slow_msgs = msgs("slowapp", n_slow)
    with Daemon(BLOCK_CONFIG) as d:
        main_addr = d.address("main")
        other_addr = d.address("other")
        udp_addr = d.address("dgram")
        # the slow connection stays open; 200 short messages fit the kernel's buffers
        slow_conn = tcp_connect(main_addr)
        try:
            slow_conn.sendall(lf_frames(slow_msgs))
            d.wait_stat(lambda s: s["outputs"]["slow"]["enqueued"] >= 10
                        and s["outputs"]["slow"]["written"] < n_slow // 2,
                        5, "the slow output to back up")
            t0 = time.monotonic()
            fast_main = msgs("fastapp", 50, 0)      # another connection, same input
            fast_other = msgs("fastapp", 50, 100)   # another tcp input
            fast_udp = msgs("fastapp", 50, 200)     # a udp input
            tcp_send(main_addr, lf_frames(fast_main))
            tcp_send(other_addr, lf_frames(fast_other))
            udp_send(udp_addr, fast_udp)
            lines = d.wait_lines("fast.log", 150, timeout=3)
            took = time.monotonic() - t0
            st = d.stats()
            print(f"150 fast messages arrived in {took:.2f} s; slow written "
                  f"{st['outputs']['slow']['written']} of {n_slow}")
            check(st["outputs"]["slow"]["written"] < n_slow,
                  "the slow output finished before the fast messages arrived: "
                  "the test proves nothing", f"{st['outputs']['slow']}")
            check(sorted(lines) == sorted(fast_main + fast_other + fast_udp),
                  "fast.log does not hold exactly the fast messages")
            check(st["outputs"]["fast"]["dropped"] == 0, f"fast dropped: {st['outputs']['fast']}")
            for name, group in (("main", fast_main), ("other", fast_other)):
                members = set(group)
                check([l for l in lines if l in members] == group,
                      f"the messages of the connection to {name} were reordered")
        finally:
            slow_conn.close()
        # SIGTERM with the slow output backed up: block loses nothing, the
        # drain (bounded at 10 s) takes about 4 s here
        t0 = time.monotonic()
        check(d.stop(timeout=20) == 0, f"sluiced exited {d.returncode} on SIGTERM")
        print(f"stopped in {time.monotonic() - t0:.2f} s")
        slow_lines = d.lines("slow.log")
        check(slow_lines == slow_msgs,
              f"slow.log has {len(slow_lines)} lines after SIGTERM, expected all {n_slow} "
              "in order")


if __name__ == "__main__":
    sluicetest.main([test_drop_policy_counts, test_block_does_not_stall_others])
