#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reload (sluicectl reload and SIGHUP) keeps what did not change and loses
or repeats no message: a kept input keeps its socket and connections, a kept
output its queue, files and counters; a changed output keeps its queue and
switches its plugin instance between batches, so order holds; removed
outputs drain on their own; changed inputs move to their new address; and
no reload waits for a stuck output."""

import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, tcp_connect, wait_until  # noqa: E402


def msgs(tag, n, start=0):
    return [b"<14>Nov 22 10:00:00 rlhost %s[7]: seq %06d" % (tag.encode(), i)
            for i in range(start, start + n)]


# The same input and the same output "out" in A and B (a small queue, so
# the input parks messages often); B adds an output and routes.
CONFIG_A = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "raw", queue = { capacity = 1000 } }
route { to = "out" }
"""
CONFIG_B = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "raw", queue = { capacity = 1000 } }
output "extra" { type = "file", path = "extra.log", format = "raw" }
route { app_name = "nosuch", to = "extra" }
route { to = "out" }
"""
CONFIG_BAD = """settings { control = "sluice.ctl" }
input "tcp" { type = "tcp", listen =
"""  # a syntax error at the end of the file

RELOADED = re.compile(r"reloaded \S+: (\d+) inputs kept, (\d+) started, (\d+) stopped; "
                      r"(\d+) outputs kept, (\d+) changed, (\d+) opened, (\d+) closed")


def last_reload_counts(d):
    found = RELOADED.findall(d.log())
    check(found, "no 'reloaded FILE: ...' notice in the log")
    return tuple(int(x) for x in found[-1])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sender(threading.Thread):
    """Sends messages over one connection in chunks, pausing a little
    between them so reloads land while it sends."""

    def __init__(self, sock, messages, chunk=1000, pause=0.008):
        super().__init__(daemon=True)
        self.sock, self.messages, self.chunk, self.pause = sock, messages, chunk, pause
        self.error = None

    def run(self):
        try:
            for i in range(0, len(self.messages), self.chunk):
                self.sock.sendall(lf_frames(self.messages[i:i + self.chunk]))
                time.sleep(self.pause)
        except OSError as e:
            self.error = e


def reload_ctl(d, config):
    """Writes config and runs sluicectl reload; checks the answer."""
    d.write_config(config)
    r = d.ctl("reload", check=False, timeout=30)
    if config is CONFIG_BAD:
        check(r.returncode == 1, f"sluicectl reload of a bad config exited {r.returncode}",
              f"stdout {r.stdout!r}")
        check(r.stdout.startswith("error: ") and d.conf_path in r.stdout,
              f"sluicectl reload of a bad config answered {r.stdout!r}")
    else:
        check(r.returncode == 0 and r.stdout.strip() == "ok",
              f"sluicectl reload answered {r.stdout!r} (exit {r.returncode})",
              f"stderr {r.stderr!r}")


def reloads_in_log(d):
    log = d.log()
    return log.count("reloaded ") + log.count("reload failed")


def reload_hup(d, config):
    """Writes config, sends SIGHUP and waits until the daemon has logged
    the outcome."""
    before = reloads_in_log(d)
    d.write_config(config)
    d.signal(signal.SIGHUP)
    wait_until(lambda: reloads_in_log(d) > before, 30, "the SIGHUP reload to be logged")
    if config is CONFIG_BAD:
        check("reload failed, keeping the running config" in d.log(),
              "a bad config on SIGHUP was not reported")


def stream_while_reloading(d, n, reload_fn, sequence):
    """Sends n numbered messages over one connection while reloading in
    turn with each config of sequence; checks every one arrives once, in
    order, and the connection stays the same."""
    sent = msgs("stream", n)
    with tcp_connect(d.address("tcp")) as s:
        sender = Sender(s, sent)
        sender.start()
        during = 0
        for config in sequence:
            time.sleep(0.05)
            during += sender.is_alive()
            reload_fn(d, config)
        sender.join(120)
        check(not sender.is_alive(), "the sender is stuck")
        check(sender.error is None, f"sending failed: {sender.error!r} (was the connection "
              "closed by a reload?)")
        lines = d.wait_lines("out.log", n, timeout=120)
        if lines != sent:
            have = set(lines)
            missing = [m for m in sent if m not in have]
            dups = len(lines) - len(have)
            raise AssertionError(f"out.log has {len(lines)} lines, expected {n} in order: "
                                 f"{len(missing)} missing (first {missing[:1]}), {dups} "
                                 "duplicated")
        st = d.stats()["inputs"]["tcp"]
        check(st["accepted"] == 1 and st["connections"] == 1,
              f"the connection did not survive the reloads: {st}")
        # still the same live connection
        s.sendall(lf_frames(msgs("after", 1)))
        check(d.wait_lines("out.log", n + 1)[-1] == msgs("after", 1)[0],
              "the connection stopped delivering after the reloads")
    return during


@sluicetest.timeout(240)
def test_stream_survives_ten_reloads():
    """The issue's acceptance test."""
    sequence = [CONFIG_B, CONFIG_BAD, CONFIG_A] * 3 + [CONFIG_B]  # 10 reloads
    with Daemon(CONFIG_A) as d:
        during = stream_while_reloading(d, 200000, reload_ctl, sequence)
        check(during >= 5, f"only {during} of 10 reloads ran while messages were being sent")
        check(last_reload_counts(d) == (1, 0, 0, 1, 0, 1, 0),
              f"last reload (A to B): {last_reload_counts(d)}, expected 1 input kept, "
              "1 output kept, 1 opened")
        check(d.count("extra.log") == 0, "extra.log got messages no route sends it")
        check(d.stop() == 0, "sluiced did not stop cleanly")
        m = re.search(r"stopped: (\d+) messages written, (\d+) dropped", d.log())
        check(m is not None and m.groups() == ("200001", "0"), f"stop line: {m and m.group(0)}")


@sluicetest.timeout(120)
def test_sighup_same_as_ctl():
    sequence = [CONFIG_B, CONFIG_BAD, CONFIG_A, CONFIG_B]
    with Daemon(CONFIG_A) as d:
        stream_while_reloading(d, 50000, reload_hup, sequence)
        check(last_reload_counts(d) == (1, 0, 0, 1, 0, 1, 0),
              f"last SIGHUP reload (A to B): {last_reload_counts(d)}")


@sluicetest.timeout(60)
def test_output_path_changes():
    """A changed output is the same queue written by a new instance: what
    was queued when the reload came is written to wherever the output now
    points, and across the files everything is there once, in order."""
    def config(path):
        return ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
                f'output "out" {{ type = "file", path = "{path}", format = "raw" }}\n'
                'route { to = "out" }\n')

    def all_lines():
        return d.lines("a.log") + d.lines("b.log") + d.lines("c.log")
    with Daemon(config("a.log")) as d:
        first, second = msgs("path", 1000), msgs("path", 1000, 1000)
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(first))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == 1000, 10, "1000 read")
            reload_ctl(d, config("b.log"))
            s.sendall(lf_frames(second))
            wait_until(lambda: len(all_lines()) >= 2000, 10, "2000 lines in a.log and b.log")
            check(all_lines() == first + second, f"a.log + b.log: {len(all_lines())} lines, "
                  "expected the 2000 in order, once")
            check(d.lines("b.log")[-1000:] == second, "b.log does not hold what came after")
            check(last_reload_counts(d) == (1, 0, 0, 0, 1, 0, 0),
                  f"reload counts {last_reload_counts(d)}")
            out = d.stats()["outputs"]["out"]
            check(out["enqueued"] == 2000, f"a changed output keeps its counters: {out}")
            # and while streaming
            third = msgs("path", 20000, 2000)
            sender = Sender(s, third)
            sender.start()
            time.sleep(0.05)
            reload_ctl(d, config("c.log"))
            sender.join(60)
            check(sender.error is None, f"sending failed: {sender.error!r}")
            wait_until(lambda: len(all_lines()) >= 22000, 30, "22000 lines in all")
            check(all_lines() == first + second + third,
                  f"a.log + b.log + c.log: {len(all_lines())} lines, expected the 22000 "
                  "in order, once")


@sluicetest.timeout(60)
def test_removed_output_drains():
    both = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "keep" { type = "file", path = "keep.log", format = "raw" }
output "gone" { type = "file", path = "gone.log", format = "raw", queue = { capacity = 100000 } }
route { to = { "keep", "gone" } }
"""
    one = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "keep" { type = "file", path = "keep.log", format = "raw" }
route { to = "keep" }
"""
    n = 50000
    sent = msgs("drain", n)
    with Daemon(both) as d:
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == n, 20, f"{n} read")
            reload_ctl(d, one)
            check(d.wait_lines("gone.log", n, 20) == sent,
                  f"gone.log has {d.count('gone.log')} lines, expected all {n}: a removed "
                  "output drains before it closes")
        st = d.stats()
        check(list(st["outputs"]) == ["keep"], f"outputs after reload: {list(st['outputs'])}")
        check(d.wait_lines("keep.log", n) == sent, "keep.log lost messages")
        check(last_reload_counts(d) == (1, 0, 0, 1, 0, 0, 1), f"counts {last_reload_counts(d)}")
        check(d.stop() == 0, "sluiced did not stop cleanly")
        m = re.search(r"stopped: (\d+) messages written", d.log())
        check(m is not None and int(m.group(1)) == 2 * n,
              f"the stop line does not count the closed output: {m and m.group(0)}")


@sluicetest.timeout(60)
def test_input_port_changes():
    p1, p2 = free_port(), free_port()

    def config(port, extra=""):
        return (f'input "tcp" {{ type = "tcp", listen = "127.0.0.1:{port}"{extra} }}\n'
                'output "out" { type = "file", path = "out.log", format = "raw" }\n'
                'route { to = "out" }\n')
    with Daemon(config(p1)) as d:
        m = msgs("port", 4)
        old = tcp_connect(("127.0.0.1", p1))
        old.sendall(lf_frames(m[:1]))
        d.wait_lines("out.log", 1)
        # a new port: opened aside, then the old input stops
        reload_ctl(d, config(p2))
        check(d.stats()["inputs"]["tcp"]["address"] == f"127.0.0.1:{p2}",
              f"address after reload: {d.stats()['inputs']['tcp']['address']}")
        check(last_reload_counts(d) == (0, 1, 1, 1, 0, 0, 0), f"counts {last_reload_counts(d)}")
        old.settimeout(5)
        check(old.recv(100) == b"", "the old input's connection was not closed")
        old.close()
        try:
            socket.create_connection(("127.0.0.1", p1), timeout=2).close()
            raise AssertionError(f"the old port {p1} still accepts connections")
        except ConnectionRefusedError:
            pass
        with tcp_connect(("127.0.0.1", p2)) as s:
            s.sendall(lf_frames(m[1:2]))
            check(d.wait_lines("out.log", 2) == m[:2], "the new port does not deliver")
        # same address, another setting: the old input must let go of the
        # port before the new one binds it
        reload_ctl(d, config(p2, ', max_message = "32K"'))
        check(last_reload_counts(d) == (0, 1, 1, 1, 0, 0, 0), f"counts {last_reload_counts(d)}")
        st = d.stats()["inputs"]["tcp"]
        check(st["address"] == f"127.0.0.1:{p2}" and st["accepted"] == 0,
              f"the changed input: {st}")
        with tcp_connect(("127.0.0.1", p2)) as s:
            s.sendall(lf_frames(m[2:3]))
            check(d.wait_lines("out.log", 3) == m[:3], "the re-opened port does not deliver")
        # a new input whose port a kept input holds: refused whole
        bad = config(p2, ', max_message = "32K"') + \
            f'input "dup" {{ type = "tcp", listen = "127.0.0.1:{p2}" }}\n'
        d.write_config(bad)
        r = d.ctl("reload", check=False)
        check(r.returncode == 1 and "already used by input" in r.stdout,
              f"a port clash answered {r.stdout!r}")
        check(list(d.stats()["inputs"]) == ["tcp"], "a failed reload changed the inputs")


@sluicetest.timeout(60)
def test_kept_output_keeps_counters():
    with Daemon(CONFIG_A) as d:
        sent = msgs("count", 100)
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            d.wait_stat(lambda st: st["outputs"]["out"]["written"] == 100, 10, "100 written")
            reload_ctl(d, CONFIG_B)
            st = d.stats()
            out = st["outputs"]["out"]
            check(out["enqueued"] == 100 and out["written"] == 100,
                  f"the kept output's counters after reload: {out}")
            check(st["outputs"]["extra"]["enqueued"] == 0, f"extra: {st['outputs']['extra']}")
            tcp = st["inputs"]["tcp"]
            check(tcp["received"] == 100 and tcp["accepted"] == 1 and tcp["connections"] == 1,
                  f"the kept input's counters after reload: {tcp}")
            s.sendall(lf_frames(msgs("count", 1, 100)))
            d.wait_stat(lambda st: st["outputs"]["out"]["written"] == 101, 10, "101 written")
        check(d.lines("out.log") == sent + msgs("count", 1, 100), "out.log")


@sluicetest.timeout(30)
def test_start_only_settings_warn():
    """settings.control and settings.hostname are read at start: a reload
    that changes them says so, and the control socket stays where it was."""
    with Daemon(CONFIG_A) as d:
        reload_ctl(d, 'settings { control = "sluice.ctl", hostname = "elsewhere" }\n' + CONFIG_A)
        check("settings.hostname changed; it takes effect when sluiced restarts" in d.log(),
              f"no warning for the changed hostname: {d.log()!r}")
        reload_ctl(d, 'settings { control = "other.ctl" }\n' + CONFIG_A)
        check("settings.control changed; the control socket moves when sluiced restarts"
              in d.log(), f"no warning for the changed control socket: {d.log()!r}")
        check(d.stats()["inputs"]["tcp"]["received"] == 0, "still answering on sluice.ctl")


def stuck_config(path, stuck, extra=False):
    """An output "out" that takes 10 messages and, stuck, writes none (it
    answers RETRY, as on a full disk); extra adds an output no route uses."""
    text = ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            f'output "out" {{ type = "slow", path = "{path}", format = "raw", delay_ms = 0, '
            f'write_fails = {"true" if stuck else "false"}, queue = {{ capacity = 10 }} }}\n'
            'route { to = "out" }\n')
    if extra:
        text += ('output "extra" { type = "file", path = "extra.log", format = "raw" }\n'
                 'route { app_name = "nosuch", to = "extra" }\n')
    return text


def timed_reload(d, config):
    t0 = time.monotonic()
    reload_ctl(d, config)
    return time.monotonic() - t0


@sluicetest.timeout(60)
def test_reload_with_stalled_output():
    """A stuck output holds no reload: one that keeps it, and one that
    points it elsewhere, each answer ok within a second or so; the queued
    and parked messages follow the output, in order, to where it now
    writes."""
    with Daemon(stuck_config("stuck.log", True)) as d:
        sent = msgs("stalled", 100)
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == 100, 10, "100 read")
            took = timed_reload(d, stuck_config("stuck.log", True, extra=True))
            check(took < 3, f"a reload keeping the stuck output took {took:.1f} s")
            check(list(d.stats()["outputs"]) == ["out", "extra"], "the reload did not apply")
            took = timed_reload(d, stuck_config("good.log", False, extra=True))
            check(took < 3, f"a reload changing the stuck output took {took:.1f} s")
            check(d.wait_lines("good.log", 100, 10) == sent,
                  "the messages queued and parked for the stuck output were not all "
                  "written, in order, once it pointed elsewhere")
            check(d.count("stuck.log") == 0, "the stuck output wrote")
            s.sendall(lf_frames(msgs("stalled", 1, 100)))
            check(d.wait_lines("good.log", 101)[-1] == msgs("stalled", 1, 100)[0],
                  "the input stopped after the reloads")
        out = d.stats()["outputs"]["out"]
        check(out["enqueued"] == 101 and out["written"] == 101 and out["dropped"] == 0,
              f"the changed output's counters: {out}")
        check(d.stats()["inputs"]["tcp"]["accepted"] == 1, "the connection was replaced")


def order_config(variant):
    """The same output "out" with other settings in each variant: every
    reload between two variants changes it."""
    sync = "true" if variant % 2 else "false"
    mode = "0640" if variant % 3 else "0600"
    return ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            f'output "out" {{ type = "file", path = "out.log", format = "raw", sync = {sync}, '
            f'mode = "{mode}", queue = {{ capacity = 2000 }} }}\n'
            'route { to = "out" }\n')


SEQ = re.compile(rb"sender(\d+)\[7\]: seq (\d+)$")


def check_per_sender_order(lines, senders, n):
    seen = {k: [] for k in range(senders)}
    for line in lines:
        m = SEQ.search(line)
        check(m is not None, f"an unexpected line: {line!r}")
        seen[int(m.group(1))].append(int(m.group(2)))
    for k, seqs in seen.items():
        if seqs != list(range(n)):
            bad = next((i for i, (a, b) in enumerate(zip(seqs, range(n))) if a != b), len(seqs))
            raise AssertionError(f"sender {k}: {len(seqs)} lines, out of order or missing "
                                 f"from position {bad}: {seqs[max(0, bad - 2):bad + 3]}")


@sluicetest.timeout(240)
def test_changed_output_keeps_order():
    """Many senders, each numbering its lines, while reloads change the
    output they all go to: every sender's lines are in the file once, in
    order (the old and the new instance never both write). Three rounds."""
    senders, n = 8, 15000
    for round_ in range(3):
        with Daemon(order_config(0)) as d:
            addr = d.address("tcp")
            conns = [tcp_connect(addr) for _ in range(senders)]
            threads = [Sender(c, msgs(f"sender{k}", n), chunk=500, pause=0.004)
                       for k, c in enumerate(conns)]
            for t in threads:
                t.start()
            for variant in range(1, 7):
                time.sleep(0.1)
                reload_ctl(d, order_config(variant))
            for t in threads:
                t.join(120)
                check(t.error is None, f"sending failed: {t.error!r}")
            for c in conns:
                c.close()
            lines = d.wait_lines("out.log", senders * n, timeout=60)
            check_per_sender_order(lines, senders, n)
            counts = last_reload_counts(d)
            check(counts[4] == 1, f"round {round_}: the last reload did not change the output: "
                  f"{counts}")


if __name__ == "__main__":
    sluicetest.main([test_stream_survives_ten_reloads, test_sighup_same_as_ctl,
                     test_output_path_changes, test_removed_output_drains,
                     test_input_port_changes, test_kept_output_keeps_counters,
                     test_reload_with_stalled_output, test_changed_output_keeps_order,
                     test_start_only_settings_warn])
