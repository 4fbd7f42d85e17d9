#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ratelimit on a unix input (issue 11): one noisy process cannot drown
the others.

- A process floods the socket with info and debug messages while another
  process (another pid, so another sender) logs errors: every error of the
  second arrives, and so does every error the flooder itself sent among
  its flood (a class of its own); of the flood, what was written plus the
  input's `suppressed` counter is what was sent.
- The flooder stops within its window and gets its summary line anyway,
  naming its pid and its program, with the count the counter has.
- per = "uid": two processes of one user share one budget, and the line
  names the uid.
- A reload that keeps the input keeps the budgets; one that changes the
  ratelimit starts them afresh.
Real processes over a real unix datagram socket; the kernel's credentials
tell the senders apart.
"""

import multiprocessing
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check  # noqa: E402

BURST = 1000
FLOOD = 30000       # info and debug, half each
FLOOD_ERRORS = 200  # err, among the flood
CALM_ERRORS = 500

CONFIG = """
input "log" { type = "unix", path = "log.sock",
              ratelimit = { interval = "10s", burst = %d } }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
""" % BURST


def sender(path, tag, pris, go, done):
    """A process: waits for go, then sends one datagram per entry of pris
    (PRI values) with syslog(3)'s connected socket; blocking, so nothing is
    lost to a full socket. Puts (tag, pid) on done."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.settimeout(30)
    s.connect(path)
    go.wait(20)
    for i, pri in enumerate(pris):
        s.send(b"<%d>Nov 22 10:00:00 h %s[%d]: %d %d" % (pri, tag.encode(), os.getpid(), pri, i))
    s.close()
    done.put((tag, os.getpid()))


def flood_pris():
    """30,000 info (14) and debug (15), with an err (11) after every 150th."""
    pris = []
    for i in range(FLOOD):
        pris.append(14 if i % 2 else 15)
        if i % 150 == 149:
            pris.append(11)
    assert pris.count(11) == FLOOD_ERRORS
    return pris


def run_senders(path, specs):
    """Runs one process per (tag, pris), all at once; returns {tag: pid}."""
    ctx = multiprocessing.get_context("fork")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=sender, args=(path, tag, pris, go, done), daemon=True)
             for tag, pris in specs]
    for p in procs:
        p.start()
    pids = {}
    try:
        go.set()
        for _ in procs:
            tag, pid = done.get(timeout=40)
            pids[tag] = pid
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
    return pids


def count(lines, tag, pri):
    mark = b" %s[" % tag.encode()
    want = b"]: %d " % pri
    return sum(1 for l in lines if mark in l and want in l)


LINE = re.compile(r'input "log": suppressed (\d+) messages? from (pid|uid) (\d+)(?: \((\S+)\))? '
                  r'in the last 10 s')


def summary(log, who, ident):
    """The summary lines for one sender: [(count, name)]."""
    return [(int(m.group(1)), m.group(4)) for m in LINE.finditer(log)
            if m.group(2) == who and int(m.group(3)) == ident]


@sluicetest.timeout(90)
def test_a_flood_does_not_drown_errors():
    with Daemon(CONFIG) as d:
        path = d.address("log")
        t0 = time.monotonic()
        pids = run_senders(path, [("flood", flood_pris()),
                                  ("calm", [11] * CALM_ERRORS)])
        took = time.monotonic() - t0
        check(pids["flood"] != pids["calm"], f"one pid for both senders: {pids}")
        total = FLOOD + FLOOD_ERRORS + CALM_ERRORS
        st = d.wait_stat(lambda s: s["inputs"]["log"]["received"] == total, 30,
                         f"{total} messages received")
        suppressed = st["inputs"]["log"]["suppressed"]

        # Everything that passed is written: wait for that many lines.
        lines = d.wait_lines("out.log", total - suppressed, 30)
        calm = count(lines, "calm", 11)
        flood_err = count(lines, "flood", 11)
        flood_written = count(lines, "flood", 14) + count(lines, "flood", 15)
        print(f"sent in {took:.1f} s; flood: {flood_written} of {FLOOD} written, "
              f"{suppressed} suppressed; errors: flood {flood_err}, calm {calm}")
        check(calm == CALM_ERRORS, f"{calm} of the other process's {CALM_ERRORS} errors arrived")
        check(flood_err == FLOOD_ERRORS,
              f"{flood_err} of the flooder's own {FLOOD_ERRORS} errors arrived: its debug flood "
              "suppressed its errors")
        check(flood_written + suppressed == FLOOD,
              f"flood: {flood_written} written + {suppressed} suppressed != {FLOOD} sent")
        windows = 1 + int(took // 10)
        check(2 * BURST <= flood_written <= 2 * BURST * windows,
              f"{flood_written} flood messages written: not {2 * BURST} a window "
              f"(info and debug) over {windows} window(s)")

        # The flooder stopped inside its window: the sweep writes its line
        # when the window ends, about 10 s after its first message.
        def lines_total():
            got = summary(d.log(), "pid", pids["flood"])
            return got if sum(n for n, _ in got) == suppressed else None
        got = sluicetest.wait_until(lines_total, 25,
                                    f"summary lines for pid {pids['flood']} adding up to "
                                    f"{suppressed}")
        check(all(name == "flood" for _, name in got), f"lines name another program: {got}")
        check(not summary(d.log(), "pid", pids["calm"]), "the calm sender got a summary line")
        print(f"summary lines: {got}")


UID_CONFIG = """
input "log" { type = "unix", path = "log.sock",
              ratelimit = { interval = "10s", burst = 100, per = "uid" } }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_per_uid_shares_one_budget():
    with Daemon(UID_CONFIG) as d:
        run_senders(d.address("log"), [("a", [15] * 150), ("b", [15] * 150), ("c", [11] * 5)])
        st = d.wait_stat(lambda s: s["inputs"]["log"]["received"] == 305, 20, "305 received")
        suppressed = st["inputs"]["log"]["suppressed"]
        lines = d.wait_lines("out.log", 305 - suppressed, 20)
        debug = count(lines, "a", 15) + count(lines, "b", 15)
        check(debug == 100 and suppressed == 200,
              f"two processes of one uid passed {debug} debug messages ({suppressed} "
              "suppressed): not one budget of 100")
        check(count(lines, "c", 11) == 5, "the same user's errors were suppressed")
        uid = os.getuid()
        got = sluicetest.wait_until(lambda: summary(d.log(), "uid", uid), 25,
                                    f"a summary line for uid {uid}")
        check(got == [(200, None)], f"summary for uid {uid}: {got}")


RELOAD_CONFIG = """
input "log" { type = "unix", path = "log.sock",
              ratelimit = { interval = "1m", burst = %d } }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


def send_own(d, path, n, start):
    """Sends n debug messages from this process (one pid across reloads)."""
    sluicetest.unix_send(path, [b"<15>Nov 22 10:00:00 h self[1]: 15 %d" % i
                                for i in range(start, start + n)])


@sluicetest.timeout(60)
def test_reload_keeps_the_budgets_of_a_kept_input():
    """A reload that keeps the input keeps its senders' spent budgets (a
    flooder cannot reset them by provoking a reload); one that changes the
    ratelimit reopens the input, whose budgets start afresh."""
    with Daemon(RELOAD_CONFIG % 10) as d:
        path = d.address("log")
        send_own(d, path, 20, 0)
        d.wait_stat(lambda s: s["inputs"]["log"]["received"] == 20, 10, "20 received")
        d.write_config(RELOAD_CONFIG % 10)
        check(d.ctl("reload").stdout.strip() == "ok", "reload refused")
        send_own(d, path, 20, 20)
        st = d.wait_stat(lambda s: s["inputs"]["log"]["received"] == 40, 10, "40 received")
        check(st["inputs"]["log"]["suppressed"] == 30,
              f"after a reload that kept the input: {st['inputs']['log']}")
        check(len(d.wait_lines("out.log", 10)) == 10, "not 10 lines written")
        d.write_config(RELOAD_CONFIG % 15)
        check(d.ctl("reload").stdout.strip() == "ok", "reload refused")
        path = d.address("log")
        send_own(d, path, 20, 40)
        st = d.wait_stat(lambda s: s["inputs"]["log"]["received"] == 20, 10,
                         "20 received by the reopened input")
        check(st["inputs"]["log"]["suppressed"] == 5, f"reopened: {st['inputs']['log']}")
        check(len(d.wait_lines("out.log", 25)) == 25, "not 25 lines written")


if __name__ == "__main__":
    sluicetest.main([test_a_flood_does_not_drown_errors, test_per_uid_shares_one_budget,
                     test_reload_keeps_the_budgets_of_a_kept_input])
