#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signals and the control socket: SIGTERM drains, SIGUSR1 reopens, SIGHUP
reloads (a broken config keeps the old one running) and reopens, and
sluicectl's stats/reload/reopen/flush answer as documented."""

import json
import os
import re
import signal
import socket
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, tcp_send, wait_until  # noqa: E402


def msgs(tag, n, start=0):
    return [b"<14>Nov 22 10:00:00 sighost %s[7]: seq %06d" % (tag.encode(), i)
            for i in range(start, start + n)]


RAW_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_sigterm_writes_everything_received():
    n = 20000
    sent = msgs("term", n)
    with Daemon(RAW_CONFIG) as d:
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent[:1]))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] >= 1, 5, "the first message")
            for i in range(1, n, 2000):
                s.sendall(lf_frames(sent[i:i + 2000]))
        d.signal(signal.SIGTERM)  # at once: most of it is still in flight
        rc = d.wait_exit(20)
        check(rc == 0, f"sluiced exited {rc} on SIGTERM, expected 0")
        lines = d.lines("out.log")
        check(lines == sent, f"out.log has {len(lines)} lines after SIGTERM, expected all {n} "
              "in order")
        m = re.search(r"stopped: (\d+) messages written, (\d+) dropped, (\d+) failed, "
                      r"(\d+) unrouted, (\d+) lost at shutdown", d.log())
        check(m is not None, "no 'notice: stopped: ...' line in the log")
        check(m.groups() == (str(n), "0", "0", "0", "0"), f"the stop line: {m.group(0)!r}")


@sluicetest.timeout(40)
def test_sigusr1_reopens():
    with Daemon(RAW_CONFIG) as d:
        addr = d.address("tcp")
        first, second, third = msgs("before", 10), msgs("after", 5), msgs("ctl", 3)
        tcp_send(addr, lf_frames(first))
        d.wait_lines("out.log", 10)
        os.rename(d.path("out.log"), d.path("out.log.1"))
        d.signal(signal.SIGUSR1)
        try:  # the file plugin opens the new file when it reopens
            wait_until(lambda: os.path.exists(d.path("out.log")), 3, "out.log to be recreated")
        except AssertionError:
            print("note: out.log was not recreated by SIGUSR1 alone; sending anyway")
        tcp_send(addr, lf_frames(second))
        check(d.wait_lines("out.log", 5) == second, "new lines are not in the new out.log")
        check(d.lines("out.log.1") == first, "the renamed file changed after SIGUSR1",
              f"out.log.1: {d.lines('out.log.1')}")
        # the same through the control socket
        os.rename(d.path("out.log"), d.path("out.log.2"))
        r = d.ctl("reopen")
        check(r.stdout.strip() == "ok", f"sluicectl reopen answered {r.stdout!r}")
        tcp_send(addr, lf_frames(third))
        check(d.wait_lines("out.log", 3) == third, "sluicectl reopen: new lines not in out.log")
        check(d.lines("out.log.2") == second, "sluicectl reopen: the renamed file changed")
        check(d.lines("out.log.1") == first, "the first renamed file changed")


def rotate_and_hup(d, addr, before, after):
    """logrotate's way (Debian's rsyslog-rotate sends HUP): rename, SIGHUP.
    The new lines must go to a new file at the path, none to the renamed."""
    os.rename(d.path("out.log"), d.path("out.log.1"))
    d.signal(signal.SIGHUP)
    wait_until(lambda: os.path.exists(d.path("out.log")), 5,
               "out.log to be recreated by the reopen SIGHUP asks for")
    tcp_send(addr, lf_frames(after))
    check(d.wait_lines("out.log", len(after)) == after, "new lines are not in the new out.log",
          f"out.log: {d.lines('out.log')}")
    check(d.lines("out.log.1") == before, "the renamed file changed after SIGHUP",
          f"out.log.1: {d.lines('out.log.1')}")


@sluicetest.timeout(40)
def test_sighup_reloads_and_reopens():
    with Daemon(RAW_CONFIG) as d:
        first, second = msgs("hup", 10), msgs("hup", 5, 10)
        tcp_send(d.address("tcp"), lf_frames(first))
        d.wait_lines("out.log", 10)
        rotate_and_hup(d, d.address("tcp"), first, second)
        check("reloaded " in d.log(), "SIGHUP did not reload", f"log:\n{d.log()}")


@sluicetest.timeout(40)
def test_sighup_broken_config_still_reopens():
    """The reload is refused and the old config runs on, but logrotate has
    moved its files all the same: they are reopened."""
    broken = RAW_CONFIG.replace('route { to = "out" }', 'route { to = "nosuch" }')
    with Daemon(RAW_CONFIG) as d:
        addr = d.address("tcp")
        first, second = msgs("brokenhup", 3), msgs("brokenhup", 4, 3)
        tcp_send(addr, lf_frames(first))
        d.wait_lines("out.log", 3)
        d.write_config(broken)
        rotate_and_hup(d, addr, first, second)
        check("reload failed, keeping the running config" in d.log(),
              "the broken config was not reported", f"log:\n{d.log()}")


@sluicetest.timeout(40)
def test_sighup_reopen_failure_is_logged():
    """A reopen that fails on SIGHUP is logged naming the signal, and the
    output goes on writing to the file it had."""
    with Daemon(RAW_CONFIG) as d:
        addr = d.address("tcp")
        first, second = msgs("failhup", 2), msgs("failhup", 2, 2)
        tcp_send(addr, lf_frames(first))
        d.wait_lines("out.log", 2)
        os.rename(d.path("out.log"), d.path("out.log.1"))
        os.mkdir(d.path("out.log"))  # open() fails: EISDIR
        d.signal(signal.SIGHUP)
        log = d.wait_log('error: SIGHUP: output "out": reopen() failed')
        check(d.running(), "sluiced died on a failed reopen", f"log:\n{log}")
        tcp_send(addr, lf_frames(second))
        check(d.wait_lines("out.log.1", 4) == first + second,
              "after a failed reopen the output stopped writing to its old file")


@sluicetest.timeout(40)
def test_ctl_reload_keeps_files_open():
    """sluicectl reload alone does not reopen: an unchanged output keeps
    its open file, even one renamed under it (documented in sluiced(8))."""
    with Daemon(RAW_CONFIG) as d:
        first, second = msgs("keep", 3), msgs("keep", 3, 3)
        tcp_send(d.address("tcp"), lf_frames(first))
        d.wait_lines("out.log", 3)
        os.rename(d.path("out.log"), d.path("out.log.1"))
        r = d.ctl("reload")
        check(r.stdout.strip() == "ok", f"sluicectl reload answered {r.stdout!r}")
        tcp_send(d.address("tcp"), lf_frames(second))
        check(d.wait_lines("out.log.1", 6) == first + second,
              "after sluicectl reload the renamed file did not get the new lines")
        check(not os.path.exists(d.path("out.log")), "sluicectl reload reopened out.log")


@sluicetest.timeout(40)
def test_sighup_reload_valid():
    before = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "a" { type = "file", path = "a.log", format = "raw" }
route { to = "a" }
"""
    after = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "a" { type = "file", path = "a.log", format = "raw" }
output "b" { type = "file", path = "b.json", format = "json" }
route { to = { "a", "b" } }
"""
    with Daemon(before) as d:
        m1, m2 = msgs("reload", 2)
        tcp_send(d.address("tcp"), lf_frames([m1]))
        d.wait_lines("a.log", 1)
        d.write_config(after)
        d.signal(signal.SIGHUP)
        d.wait_stat(lambda s: "b" in s["outputs"], 10, "output b to appear after SIGHUP")
        check(d.running(), "sluiced died on SIGHUP")
        # the port may have changed (listen = ...:0): ask again
        tcp_send(d.address("tcp"), lf_frames([m2]))
        check(d.wait_lines("a.log", 2) == [m1, m2], f"a.log after reload: {d.lines('a.log')}")
        b = d.wait_json_lines("b.json", 1)
        check(b[0].get("app_name") == "reload" and b[0].get("msg") == "seq 000001",
              f"b.json after reload: {b}")
        check("reload failed" not in d.log(), "a valid config was reported as failing")


@sluicetest.timeout(40)
def test_sighup_broken_config_keeps_old():
    good = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "a" { type = "file", path = "a.log", format = "raw" }
route { to = "a" }
"""
    broken = """settings { control = "sluice.ctl" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "a" { type = "file", path = "a.log", format = "raw" }
route { to = "nosuch" }
"""  # line 4: a route to an unknown output
    with Daemon(good) as d:
        m = msgs("broken", 4)
        d.write_config(broken)
        d.signal(signal.SIGHUP)
        log = d.wait_log("reload failed, keeping the running config")
        check(f"{d.conf_path}:4:" in log,
              f"the reload error does not name {d.conf_path}:4:", f"log:\n{log}")
        check(d.running(), "sluiced died on a broken SIGHUP config")
        tcp_send(d.address("tcp"), lf_frames(m[:1]))
        check(d.wait_lines("a.log", 1) == m[:1], "the old config stopped delivering")
        # the same through sluicectl reload: exit 1, "error: FILE:LINE: ..."
        r = d.ctl("reload", check=False)
        check(r.returncode == 1, f"sluicectl reload of a broken config exited {r.returncode}")
        check(r.stdout.startswith("error:") and f"{d.conf_path}:4:" in r.stdout,
              f"sluicectl reload answered {r.stdout!r}, expected 'error: {d.conf_path}:4: ...'")
        tcp_send(d.address("tcp"), lf_frames(m[1:2]))
        check(d.wait_lines("a.log", 2) == m[:2], "delivery stopped after a failed reload")
        # repaired: reload answers ok once it has taken effect
        d.write_config(good.replace('path = "a.log"', 'path = "a2.log"'))
        r = d.ctl("reload")
        check(r.stdout.strip() == "ok", f"sluicectl reload answered {r.stdout!r}")
        tcp_send(d.address("tcp"), lf_frames(m[2:3]))
        check(d.wait_lines("a2.log", 1) == m[2:3], "the repaired config did not take effect")
        check(d.lines("a.log") == m[:2], "a.log changed after the reload moved the output")


INPUT_KEYS = ["type", "received", "bytes", "parse_errors", "truncated"]
TCP_KEYS = INPUT_KEYS + ["framing_errors", "connections", "accepted"]
DGRAM_KEYS = INPUT_KEYS + ["kernel_drops"]
OUTPUT_KEYS = ["type", "enqueued", "written", "dropped", "failed", "queue_depth",
               "queue_capacity", "policy"]


def check_order(obj, keys, what):
    """The documented keys are all there, in the documented order (other
    keys, like "address", may sit anywhere)."""
    have = list(obj.keys())
    missing = [k for k in keys if k not in obj]
    check(not missing, f"{what}: keys {missing} missing", f"{what}: {json.dumps(obj)}")
    pos = [have.index(k) for k in keys]
    check(pos == sorted(pos), f"{what}: keys out of the documented order {keys}: {have}")


@sluicetest.timeout(40)
def test_control_commands():
    config = """
input "tcp"  { type = "tcp",  listen = "127.0.0.1:0" }
input "udp"  { type = "udp",  listen = "127.0.0.1:0" }
input "unix" { type = "unix", path = "log.sock" }
output "out" { type = "file", path = "out.log", format = "raw",
               queue = { capacity = 500, policy = "drop" } }
route { app_name = "ctl", to = "out" }
"""
    with Daemon(config) as d:
        mode = stat.S_IMODE(os.stat(d.ctl_path).st_mode)
        check(stat.S_ISSOCK(os.stat(d.ctl_path).st_mode) and mode == 0o600,
              f"control socket mode {oct(mode)}, expected 0600")
        r = d.ctl("stats")
        check(r.stdout.count("\n") <= 1, f"stats is not one line: {r.stdout!r}")
        s = d.stats(ordered=True)
        check_order(s, ["version", "uptime", "unrouted", "inputs", "outputs"], "stats")
        check(re.fullmatch(r"\d+\.\d+\.\d+", s["version"]) is not None,
              f"stats version {s['version']!r}")
        check(isinstance(s["uptime"], int) and s["uptime"] >= 0, f"uptime {s['uptime']!r}")
        check(list(s["inputs"]) == ["tcp", "udp", "unix"], f"inputs {list(s['inputs'])}")
        check_order(s["inputs"]["tcp"], TCP_KEYS, "inputs.tcp")
        check_order(s["inputs"]["udp"], DGRAM_KEYS, "inputs.udp")
        check_order(s["inputs"]["unix"], DGRAM_KEYS, "inputs.unix")
        for name, typ in (("tcp", "tcp"), ("udp", "udp"), ("unix", "unix")):
            check(s["inputs"][name]["type"] == typ, f"inputs.{name}.type")
            check(isinstance(s["inputs"][name].get("address"), str),
                  f"inputs.{name} has no address: {s['inputs'][name]}")
        check(re.fullmatch(r"127\.0\.0\.1:[1-9]\d*", s["inputs"]["tcp"]["address"]) is not None,
              f"tcp address {s['inputs']['tcp']['address']!r}")
        check(s["inputs"]["unix"]["address"] in ("log.sock", d.path("log.sock")),
              f"unix address {s['inputs']['unix']['address']!r}")
        out = s["outputs"]["out"]
        check_order(out, OUTPUT_KEYS, "outputs.out")
        check((out["type"], out["queue_capacity"], out["policy"]) == ("file", 500, "drop"),
              f"outputs.out: {json.dumps(out)}")

        # unrouted: no route takes app_name "other"
        good, other = msgs("ctl", 100), msgs("other", 3)
        tcp_send(d.address("tcp"), lf_frames(other + good))
        st = d.wait_stat(lambda s: s["outputs"]["out"]["enqueued"] == 100
                         and s["inputs"]["tcp"]["received"] == 103, 10, "103 received")
        check(st["unrouted"] == 3, f"unrouted {st['unrouted']}, expected 3")
        tcp = st["inputs"]["tcp"]
        nbytes = sum(len(m) for m in other + good)
        check(tcp["accepted"] == 1 and tcp["bytes"] in (nbytes, nbytes + len(other + good)),
              f"tcp accepted/bytes: {tcp}, expected 1 and {nbytes} (or with the LFs)")
        # flush answers ok once everything queued before it is written
        r = d.ctl("flush")
        check(r.stdout.strip() == "ok", f"sluicectl flush answered {r.stdout!r}")
        check(d.lines("out.log") == good, "after flush answered ok, out.log does not hold "
              f"the 100 messages ({d.count('out.log')} lines)")
        r = d.ctl("reopen")
        check(r.stdout.strip() == "ok", f"sluicectl reopen answered {r.stdout!r}")
        r = d.ctl("reload")  # unchanged config
        check(r.stdout.strip() == "ok", f"sluicectl reload answered {r.stdout!r}")
        check(d.running(), "sluiced died")
        time.sleep(1.1)
        check(d.stats()["uptime"] >= 1, "uptime does not advance")
        r = d.ctl("frobnicate", check=False)
        check(r.returncode != 0, f"sluicectl frobnicate exited 0: {r.stdout!r}")
        check(d.running(), "an unknown command killed the daemon")


SHUTDOWN_TIMEOUT = 10  # s: sluiced(8), SHUTDOWN
MARGIN = 3             # s: generous, for a loaded machine


def stuck_output(name):
    """An output that takes 10 messages and writes none (RETRY forever)."""
    return (f'output "{name}" {{ type = "slow", path = "{name}.log", format = "raw", '
            'delay_ms = 0, write_fails = true, queue = { capacity = 10 } }\n')


def timed_stop(d):
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    rc = d.wait_exit(SHUTDOWN_TIMEOUT * 5)
    return rc, time.monotonic() - t0


@sluicetest.timeout(90)
def test_sigterm_one_deadline_two_inputs_stalled_output():
    """Two inputs with messages parked for a stuck output: the shutdown
    takes one shutdown timeout in all, not one per input and output."""
    config = ('input "a" { type = "tcp", listen = "127.0.0.1:0" }\n'
              'input "b" { type = "tcp", listen = "127.0.0.1:0" }\n'
              + stuck_output("stuck") + 'route { to = "stuck" }\n')
    with Daemon(config) as d:
        conns = []
        for name in ("a", "b"):
            c = tcp_connect(d.address(name))
            c.sendall(lf_frames(msgs(name, 100)))
            conns.append(c)
        d.wait_stat(lambda st: st["inputs"]["a"]["received"] == 100
                    and st["inputs"]["b"]["received"] == 100, 10, "200 read")
        rc, took = timed_stop(d)
        for c in conns:
            c.close()
        check(rc == 0, f"sluiced exited {rc}")
        check(took < SHUTDOWN_TIMEOUT + MARGIN,
              f"the shutdown took {took:.1f} s, more than the {SHUTDOWN_TIMEOUT} s timeout")
        m = re.search(r"(\d+) lost at shutdown", d.log())
        check(m is not None and int(m.group(1)) == 200,
              f"the stop line does not count the 200 lost: {m and m.group(0)}")


@sluicetest.timeout(90)
def test_sigterm_one_deadline_three_failing_outputs():
    """Three outputs that keep failing stop in parallel, in one shutdown
    timeout."""
    config = ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
              + stuck_output("x") + stuck_output("y") + stuck_output("z")
              + 'route { to = { "x", "y", "z" } }\n')
    with Daemon(config) as d:
        with tcp_connect(d.address("tcp")) as c:
            c.sendall(lf_frames(msgs("fail", 5)))
            d.wait_stat(lambda st: all(st["outputs"][o]["enqueued"] == 5 for o in "xyz"),
                        10, "5 queued at each output")
            rc, took = timed_stop(d)
        check(rc == 0, f"sluiced exited {rc}")
        check(took < SHUTDOWN_TIMEOUT + MARGIN,
              f"the shutdown took {took:.1f} s, more than the {SHUTDOWN_TIMEOUT} s timeout")


@sluicetest.timeout(60)
def test_sigterm_stops_reading_a_sender_that_keeps_sending():
    """After SIGTERM the daemon delivers what is buffered and reads no
    further, however long the sender goes on."""
    with Daemon(RAW_CONFIG) as d:
        stop = threading.Event()
        sent = [0]

        def sender(sock):
            line = lf_frames(msgs("flood", 1)) * 1000
            try:
                while not stop.is_set():
                    sock.sendall(line)
                    sent[0] += 1000
            except OSError:
                pass  # the daemon closed the connection: expected
        sock = tcp_connect(d.address("tcp"))
        t = threading.Thread(target=sender, args=(sock,), daemon=True)
        t.start()
        d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] >= 10000, 10, "the flood")
        rc, took = timed_stop(d)
        stop.set()
        t.join(10)
        sock.close()
        check(rc == 0, f"sluiced exited {rc}")
        check(took < MARGIN + 2, f"the shutdown took {took:.1f} s: it went on reading the "
              "sender")
        written = d.count("out.log")
        check(written < sent[0], f"{written} written of {sent[0]} sent: nothing was cut off?")


def control_client(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(d.ctl_path)
    return s


@sluicetest.timeout(60)
def test_idle_and_slow_control_clients_hold_nobody():
    """20 control clients that send nothing, one that sends its command a
    byte at a time and one that does not read its answer: `sluicectl
    stats` still answers at once, and SIGTERM still ends the daemon
    promptly."""
    with Daemon(RAW_CONFIG) as d:
        idle = [control_client(d) for _ in range(20)]
        unread = control_client(d)
        unread.sendall(b"stats\n")
        trickle = control_client(d)
        stop = threading.Event()

        def trickling():
            try:
                while not stop.is_set():
                    trickle.send(b"s")
                    time.sleep(0.2)
            except OSError:
                pass  # dropped by the daemon: expected
        t = threading.Thread(target=trickling, daemon=True)
        t.start()
        try:
            for _ in range(3):
                t0 = time.monotonic()
                r = d.ctl("stats", timeout=20)
                took = time.monotonic() - t0
                check(r.returncode == 0 and took < 3,
                      f"sluicectl stats took {took:.1f} s behind idle and slow clients")
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            rc = d.wait_exit(20)
            took = time.monotonic() - t0
            check(rc == 0 and took < 3, f"SIGTERM took {took:.1f} s behind a slow client")
        finally:
            stop.set()
            t.join(5)
            for s in idle + [unread, trickle]:
                s.close()


if __name__ == "__main__":
    sluicetest.main([test_sigterm_writes_everything_received, test_sigusr1_reopens,
                     test_sighup_reloads_and_reopens, test_sighup_broken_config_still_reopens,
                     test_sighup_reopen_failure_is_logged, test_ctl_reload_keeps_files_open,
                     test_sighup_reload_valid, test_sighup_broken_config_keeps_old,
                     test_control_commands, test_sigterm_one_deadline_two_inputs_stalled_output,
                     test_sigterm_one_deadline_three_failing_outputs,
                     test_sigterm_stops_reading_a_sender_that_keeps_sending,
                     test_idle_and_slow_control_clients_hold_nobody])
