#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kill -9 during rotations with compress = "zstd": while numbered messages
flow over TCP and r.log rotates every 256K, the daemon is killed 12 times
at random moments and restarted. After each kill every file is read (.zst
decompressed, .zst.tmp skipped: never complete); at the end, after a clean
stop: no number is in two files (or twice in one), the numbers run in
order from the oldest file to r.log, no .tmp is left, each .zst passes
`zstd -t`, and every number seen in a file just after a kill is there."""

import os
import random
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, wait_until  # noqa: E402
from test_rotate_zstd import LINE, message, need_zstd, read_any, zstd_test  # noqa: E402

KILLS = 12

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "r.log", format = "raw",
               rotate = { size = "256K", keep = 1000, compress = "zstd" } }
route { to = "out" }
"""


_cache = {}


def read_cached(path):
    """read_any(), a .zst read once: it never changes once it has its name
    (a shift renames it, keeping its inode)."""
    st = os.stat(path)
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    if not path.endswith(".zst"):
        return read_any(path)
    if key not in _cache:
        _cache[key] = read_any(path)
    return _cache[key]


def snapshot(dirpath):
    """Every number in r.log's files now (a NAME and NAME.zst pair a kill
    left counts once), and the list of them in file order."""
    names = []
    for name in os.listdir(dirpath):
        m = re.fullmatch(r"r\.log(?:\.(\d+))?(\.zst)?", name)
        if m and not (m.group(2) and m.group(1) is None):
            names.append((-(int(m.group(1) or 0)), name))
    seen, ordered = set(), []
    for _, name in sorted(names):
        try:
            data = read_cached(os.path.join(dirpath, name))
        except FileNotFoundError:
            continue
        for line in data.split(b"\n")[:-1]:
            m = LINE.fullmatch(line)
            if m:  # a line a kill tore and the restart ended with '\n' is not one
                seen.add(int(m.group(1)))
                ordered.append((name, int(m.group(1))))
    return seen, ordered


class Sender(threading.Thread):
    """Sends numbers from `first` on until the connection breaks or stop."""

    def __init__(self, addr, first):
        super().__init__(daemon=True)
        self.addr, self.next, self.stop = addr, first, threading.Event()

    def run(self):
        try:
            with tcp_connect(self.addr) as sock:
                while not self.stop.is_set():
                    sock.sendall(lf_frames([message(i) for i in range(self.next,
                                                                      self.next + 2000)]))
                    self.next += 2000
        except OSError:
            pass  # the kill


@sluicetest.timeout(90)
def test_kill_9_during_rotations_loses_nothing_written():
    need_zstd()
    rng = random.Random(int(os.environ.get("SLUICETEST_SEED", time.time())))
    snaps = []
    with Daemon(CONFIG) as d:
        first = 0
        for k in range(KILLS):
            s = Sender(d.address("tcp"), first)
            s.start()
            time.sleep(rng.uniform(0.15, 1.2))
            d.signal(signal.SIGKILL)
            d.wait_exit(10)
            s.stop.set()
            s.join(10)
            first = s.next + 10_000_000  # numbers never sent twice, even if lost
            seen, _ = snapshot(d.dir)
            snaps.append(seen)
            d.start()
        # The last start recovers and compresses what waits; then a clean stop.
        wait_until(lambda: not any(re.fullmatch(r"r\.log\.\d+", n) for n in os.listdir(d.dir)),
                   30, "every old file compressed")
        check(d.stop() == 0, "sluiced exited non-zero")
        left = [n for n in os.listdir(d.dir) if n.endswith(".tmp")]
        check(not left, f"temporary files left: {left}")
        pairs = [n for n in os.listdir(d.dir)
                 if re.fullmatch(r"r\.log\.\d+", n) and os.path.exists(d.path(n + ".zst"))]
        check(not pairs, f"a file beside its .zst after recovery: {pairs}")
        zsts = [d.path(n) for n in os.listdir(d.dir) if n.endswith(".zst")]
        zstd_test(zsts)
        final, ordered = snapshot(d.dir)
        check(len(final) == len(ordered),
              f"{len(ordered) - len(final)} numbers in two places")
        nums = [n for _, n in ordered]
        bad = next((i for i in range(1, len(nums)) if nums[i] <= nums[i - 1]), None)
        check(bad is None, "numbers out of order",
              *(f"{ordered[i]}" for i in range(max(0, (bad or 0) - 2), (bad or 0) + 2)))
        for k, seen in enumerate(snaps):
            lost = seen - final
            check(not lost, f"{len(lost)} numbers seen after kill {k + 1} are gone, "
                  f"e.g. {sorted(lost)[:5]}")
        print(f"{KILLS} kills, {len(final)} messages in {len(zsts)} .zst files and r.log; "
              f"after the kills {[len(s) for s in snaps]}")


if __name__ == "__main__":
    sluicetest.main([test_kill_9_during_rotations_loses_nothing_written])
