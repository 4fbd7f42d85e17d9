#!/usr/bin/env python3
"""Reload (sluicectl reload and SIGHUP) keeps what did not change and loses
or repeats no message: a kept input keeps its socket and connections, a kept
output its queue, files and counters; changed and removed outputs drain
first; changed inputs move to their new address."""

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
                      r"(\d+) outputs kept, (\d+) opened, (\d+) closed")


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
        check(last_reload_counts(d) == (1, 0, 0, 1, 1, 0),
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
        check(last_reload_counts(d) == (1, 0, 0, 1, 1, 0),
              f"last SIGHUP reload (A to B): {last_reload_counts(d)}")


@sluicetest.timeout(60)
def test_output_path_changes():
    def config(path):
        return ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
                f'output "out" {{ type = "file", path = "{path}", format = "raw" }}\n'
                'route { to = "out" }\n')
    with Daemon(config("a.log")) as d:
        first, second = msgs("path", 1000), msgs("path", 1000, 1000)
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(first))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == 1000, 10, "1000 read")
            reload_ctl(d, config("b.log"))
            check(d.lines("a.log") == first,
                  f"a.log has {d.count('a.log')} lines once reload answered, expected all 1000 "
                  "read before it (the changed output drains before the reload ends)")
            s.sendall(lf_frames(second))
            check(d.wait_lines("b.log", 1000) == second, "b.log does not hold what came after")
            check(last_reload_counts(d) == (1, 0, 0, 0, 1, 1),
                  f"reload counts {last_reload_counts(d)}")
            # and while streaming: the two files together hold everything once, in order
            third = msgs("path", 20000, 2000)
            sender = Sender(s, third)
            sender.start()
            time.sleep(0.05)
            reload_ctl(d, config("c.log"))
            sender.join(60)
            check(sender.error is None, f"sending failed: {sender.error!r}")
            wait_until(lambda: d.count("b.log") - 1000 + d.count("c.log") >= 20000, 30,
                       "20000 lines in b.log and c.log")
            got = d.lines("b.log")[1000:] + d.lines("c.log")
            check(got == third, f"b.log + c.log: {len(got)} lines, expected the 20000 "
                  "in order, once")
            check(d.lines("a.log") == first, "a.log changed")


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
            check(d.lines("gone.log") == sent,
                  f"gone.log has {d.count('gone.log')} lines once reload answered, expected "
                  f"all {n}: a removed output drains before it closes")
        st = d.stats()
        check(list(st["outputs"]) == ["keep"], f"outputs after reload: {list(st['outputs'])}")
        check(d.wait_lines("keep.log", n) == sent, "keep.log lost messages")
        check(last_reload_counts(d) == (1, 0, 0, 1, 0, 1), f"counts {last_reload_counts(d)}")
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
        check(last_reload_counts(d) == (0, 1, 1, 1, 0, 0), f"counts {last_reload_counts(d)}")
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
        check(last_reload_counts(d) == (0, 1, 1, 1, 0, 0), f"counts {last_reload_counts(d)}")
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


def slow_config(delay_ms, extra=False):
    text = ('input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            f'output "slow" {{ type = "slow", path = "slow.log", format = "raw", '
            f'delay_ms = {delay_ms}, queue = {{ capacity = 1 }} }}\n'
            'route { to = "slow" }\n')
    if extra:
        text += ('output "extra" { type = "file", path = "extra.log", format = "raw" }\n'
                 'route { app_name = "nosuch", to = "extra" }\n')
    return text


@sluicetest.timeout(90)
def test_switch_waits_for_parked():
    """A kept input first delivers what a full queue made it park, then
    switches; when that cannot happen within 10 s the reload is cancelled
    whole and nothing is lost either."""
    with Daemon(slow_config(100)) as d:
        sent = msgs("parked", 20)
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == 20, 10, "20 read")
            t0 = time.monotonic()
            reload_ctl(d, slow_config(100, extra=True))
            check(time.monotonic() - t0 < 9, "the reload took too long")
            check(d.wait_lines("slow.log", 20, 20) == sent, "parked messages lost or repeated")
    with Daemon(slow_config(700)) as d:
        sent = msgs("stuck", 20)  # 14 s of writing: more than the 10 s a switch may take
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] == 20, 10, "20 read")
            d.write_config(slow_config(700, extra=True))
            r = d.ctl("reload", check=False, timeout=30)
            check(r.returncode == 1 and "could not switch to the new config within 10 s"
                  in r.stdout, f"a stuck switch answered {r.stdout!r}")
            check("reload failed, keeping the running config" in d.log(), "not logged")
            check(list(d.stats()["outputs"]) == ["slow"], "a cancelled reload changed outputs")
            check(d.wait_lines("slow.log", 20, 30) == sent, "messages lost or repeated")
            reload_ctl(d, slow_config(700, extra=True))  # nothing parked now: it goes through
            s.sendall(lf_frames(msgs("stuck", 1, 20)))
            check(d.wait_lines("slow.log", 21, 10)[-1] == msgs("stuck", 1, 20)[0],
                  "the input stopped after a cancelled switch")
            check(d.stats()["inputs"]["tcp"]["accepted"] == 1, "the connection was replaced")


if __name__ == "__main__":
    sluicetest.main([test_stream_survives_ten_reloads, test_sighup_same_as_ctl,
                     test_output_path_changes, test_removed_output_drains,
                     test_input_port_changes, test_kept_output_keeps_counters,
                     test_switch_waits_for_parked, test_start_only_settings_warn])
