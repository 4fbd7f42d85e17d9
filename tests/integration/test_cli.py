#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The command lines of sluiced and sluicectl, config errors as
"FILE:LINE: message", start-up failures, and bad input on the wire: counted,
never a crash, never the loss of the good messages around it."""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import (Daemon, TempDir, check, lf_frames, octet_frames,  # noqa: E402
                        sluiced, tcp_connect, tcp_send, udp_send)


def test_version_and_help():
    for opt in ("--version", "-V"):
        r = sluiced([opt])
        check(r.returncode == 0, f"sluiced {opt} exited {r.returncode}", f"stderr: {r.stderr!r}")
        check(re.search(r"sluiced.*\d+\.\d+\.\d+", r.stdout) is not None,
              f"sluiced {opt} printed {r.stdout!r}, expected 'sluiced X.Y.Z'")
    for opt in ("--help", "-h"):
        r = sluiced([opt])
        check(r.returncode == 0, f"sluiced {opt} exited {r.returncode}", f"stderr: {r.stderr!r}")
        for word in ("--check", "-c", "-n"):
            check(word in r.stdout, f"sluiced {opt} does not mention {word}: {r.stdout!r}")


def test_usage_errors():
    for args in (["--no-such-option"], ["-x"], ["-c"]):
        r = sluiced(args)
        check(r.returncode == 2, f"sluiced {' '.join(args)} exited {r.returncode}, expected 2",
              f"stderr: {r.stderr!r}")
        check(r.stderr.strip() != "", f"sluiced {' '.join(args)} printed no reason")
    ctl = sluicetest.sluicectl_path()
    r = sluicetest.run([ctl])
    check(r.returncode == 2, f"sluicectl without a command exited {r.returncode}, expected 2")
    missing = "/nonexistent-sluicetest/ctl"
    r = sluicetest.run([ctl, "-s", missing, "stats"])
    check(r.returncode == 1, f"sluicectl to a missing socket exited {r.returncode}, expected 1")
    want = f'sluicectl: connect() "{missing}" failed (2: No such file or directory)'
    check(want in r.stderr, f"sluicectl stderr {r.stderr!r}, expected {want!r}")


GOOD = """settings { control = "run/sluice.ctl" }
input "devlog" { type = "unix", path = "run/log.sock" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_message = "8K" }
input "udp" { type = "udp", listen = "127.0.0.1:0" }
local out = output "out" { type = "file", path = "logs/out.log", format = "json",
                           queue = { capacity = 100, policy = "drop" } }
output "auth" { type = "file", path = "logs/auth.log" }
route { facility = { "auth", "authpriv" }, severity = "<=warning", to = "auth", final = true }
route { to = { out } }
"""


def test_check_good_config():
    with TempDir() as t:
        path = t.write("good.lua", GOOD)
        r = sluiced(["--check", "-c", path], cwd=t.dir)
        check(r.returncode == 0, f"--check of a good config exited {r.returncode}",
              f"stderr: {r.stderr!r}")
        check(r.stdout.strip() == f"{path}: ok", f"--check printed {r.stdout!r}, "
              f"expected '{path}: ok'")
        check(sorted(os.listdir(t.dir)) == ["good.lua"],
              f"--check created files: {sorted(os.listdir(t.dir))}")


def test_shipped_configs_check():
    # The default config and every example, with the build's plugins: a key
    # an example uses that a plugin does not know (or a value it refuses)
    # fails here, not on a user's machine. --check creates nothing.
    top = sluicetest.need_env("TOP_SRCDIR")
    examples = os.path.join(top, "config", "examples")
    paths = [os.path.join(top, "config", "sluice.lua")] + sorted(
        os.path.join(examples, n) for n in os.listdir(examples) if n.endswith(".lua"))
    check(len(paths) >= 4, f"the shipped configs: {paths}")
    with TempDir() as t:
        for path in paths:
            r = sluiced(["--check", "-c", path], cwd=t.dir)
            check(r.returncode == 0 and r.stdout.strip() == f"{path}: ok",
                  f"--check {path} exited {r.returncode}", f"stdout: {r.stdout!r}",
                  f"stderr: {r.stderr!r}")
            # the shipped configs follow their own advice (no output that
            # can hang /dev/log's senders, sluice.lua(5))
            check("warning" not in r.stderr, f"--check {path} warns", r.stderr)
        check(os.listdir(t.dir) == [], f"--check created files: {os.listdir(t.dir)}")


def test_check_warns_of_an_output_that_can_hang_dev_log():
    text = ('input "dev" { type = "unix", path = "dev.sock" }\n'
            'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            'output "a" { type = "file", path = "a.log" }\n'
            'output "b" { type = "file", path = "b.log", queue = { block_timeout = "2s" } }\n'
            'output "c" { type = "file", path = "c.log", queue = { policy = "drop" } }\n'
            'output "d" { type = "file", path = "d.log" }\n'
            'route { to = { "a", "b", "c" } }\n'
            'route { input = "tcp", to = "d" }\n')
    with TempDir() as t:
        path, r = run_check(t, "hang.lua", text)
        check(r.returncode == 0 and r.stdout.strip() == f"{path}: ok",
              f"a warning failed --check: {r.returncode}", r.stdout, r.stderr)
        warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
        check(len(warnings) == 1 and f"{path}:3:" in warnings[0] and '"a"' in warnings[0]
              and "block_timeout" in warnings[0] and "dev.sock" in warnings[0],
              "expected one warning, for output a (line 3)", *warnings)


def test_check_warns_for_every_kind_whose_senders_wait():
    """native (a datagram socket, as unix) and native_stream (journald waits for
    a stream it forwards to) hang their senders too; tcp does not warn."""
    text = ('input "j" { type = "native", path = "j.sock" }\n'
            'input "e" { type = "native_stream", path = "e.sock" }\n'
            'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
            'output "a" { type = "file", path = "a.log" }\n'
            'output "d" { type = "file", path = "d.log" }\n'
            'route { input = { "j", "e" }, to = "a" }\n'
            'route { input = "tcp", to = "d" }\n')
    with TempDir() as t:
        path, r = run_check(t, "hang2.lua", text)
        check(r.returncode == 0, f"a warning failed --check: {r.returncode}", r.stderr)
        warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
        check(len(warnings) == 2 and all(f"{path}:4:" in w for w in warnings)
              and any("native input \"j\"" in w and "j.sock" in w for w in warnings)
              and any("native_stream input \"e\"" in w and "e.sock" in w for w in warnings),
              "expected two warnings for output a (line 4), one per input", *warnings)


HEAD = 'settings { control = "sluice.ctl" }\n' \
       'output "out" { type = "file", path = "out.log" }\n'
# (what, the bad line (line 3 of the file), words the message must contain)
BAD_LINES = [
    ("unknown key", 'input "tcp" { type = "tcp", lisen = "127.0.0.1:0" }', ["lisen"]),
    ("wrong type", 'input "tcp" { type = "tcp", listen = true }', ["listen"]),
    ("route to an unknown output", 'route { to = "nosuch" }', ["nosuch"]),
    ("unknown input type", 'input "x" { type = "carrier-pigeon", listen = "127.0.0.1:0" }',
     ["carrier-pigeon"]),
    ("malformed listen", 'input "tcp" { type = "tcp", listen = "127.0.0.1" }', ["listen"]),
    ("bad severity", 'route { severity = "<=loud", to = "out" }', ["loud"]),
    ("bad facility", 'route { facility = "kitchen", to = "out" }', ["kitchen"]),
    ("bad policy", 'output "o2" { type = "file", path = "o2.log", queue = { policy = "maybe" } }',
     ["maybe"]),
    ("unknown plugin key", 'output "o2" { type = "file", path = "o2.log", fromat = "json" }',
     ["fromat"]),
    ("unknown plugin", 'output "o2" { type = "no-such-plugin", path = "o2.log" }',
     ["no-such-plugin"]),
    ("bad format", 'output "o2" { type = "file", path = "o2.log", format = "{hostnme}" }',
     ["hostnme"]),
    ("duplicate name", 'output "out" { type = "file", path = "again.log" }', ["out"]),
    # it used to create a file literally named {app_name}.log
    ("template in a file path", 'output "o2" { type = "file", path = "logs/{app_name}.log" }',
     ['"logs/{app_name}.log"', "template", "perproc"]),
    ("Lua syntax error", 'output "o2" { type = "file" path = "o2.log" }', []),
]


def run_check(t, name, text):
    path = t.write(name, text)
    r = sluiced(["--check", "-c", path], cwd=t.dir)
    return path, r


def test_check_errors():
    failures = []
    with TempDir() as t:
        for i, (what, line, words) in enumerate(BAD_LINES):
            path, r = run_check(t, f"bad{i}.lua", HEAD + line + "\n")
            prefix = f"{path}:3: "
            errs = [l for l in r.stderr.splitlines() if l.startswith(prefix)]
            problems = []
            if r.returncode != 1:
                problems.append(f"exit {r.returncode}, expected 1")
            if not errs:
                problems.append(f"no line starting with {prefix!r}")
            elif not all(any(w in e for e in errs) for w in words):
                problems.append(f"the message does not mention {words}")
            if "ok" in r.stdout:
                problems.append(f"stdout says {r.stdout!r}")
            if problems:
                failures.append(f"{what} ({line}): {'; '.join(problems)}; "
                                f"stderr: {r.stderr.strip()!r}")
            else:
                print(f"{what}: {errs[0]}")
        # every error of a file, each with its own line
        text = HEAD + "\n".join([
            'input "tcp" { type = "tcp", lisen = "127.0.0.1:0" }',   # 3
            'route { to = "nosuch" }',                               # 4
            'input "udp" { type = "udp", listen = false }',          # 5
        ]) + "\n"
        path, r = run_check(t, "many.lua", text)
        for line in (3, 4, 5):
            if not re.search(rf"^{re.escape(path)}:{line}: ", r.stderr, re.M):
                failures.append(f"a file with errors on lines 3, 4 and 5: no {path}:{line}: "
                                f"line; stderr: {r.stderr.strip()!r}")
        path = t.path("does-not-exist.lua")
        r = sluiced(["--check", "-c", path], cwd=t.dir)
        if r.returncode != 1 or path not in r.stderr:
            failures.append(f"a missing config: exit {r.returncode}, stderr {r.stderr!r}")
    check(not failures, f"{len(failures)} config error cases failed:", *failures)


# Five errors in five places: one --check run must report them all, the
# plugin's own included, whatever else is wrong in the file.
FIVE_ERRORS = "\n".join([
    'settings { control = "sluice.ctl", log_levle = "info" }',                    # 1
    'input "tcp" { type = "tcp", listen = "127.0.0.1:0", idle_timout = 5 }',      # 2
    'output "out" { type = "file", path = "out.log", format = "{hostnme}" }',      # 3
    'output "o2" { type = "flie", path = "o2.log" }',                              # 4
    'route { to = { "out", "o2" }, finl = true }',                                 # 5
]) + "\n"


def test_check_reports_every_error():
    with TempDir() as t:
        path, r = run_check(t, "five.lua", FIVE_ERRORS)
        check(r.returncode == 1, f"--check exited {r.returncode}, expected 1",
              f"stderr: {r.stderr!r}")
        want = [(1, ["log_levle", "did you mean 'log_level'"]),
                (2, ["idle_timout", "did you mean 'idle_timeout'"]),
                (3, ["hostnme"]),
                (4, ["flie", "did you mean 'file'"]),
                (5, ["finl", "did you mean 'final'"])]
        lines = r.stderr.splitlines()
        for line, words in want:
            prefix = f"{path}:{line}: "
            errs = [l for l in lines if l.startswith(prefix)]
            check(any(all(w in e for w in words) for e in errs),
                  f"no error on line {line} mentioning {words}", f"stderr: {r.stderr!r}")
        check(len(lines) == 5, f"{len(lines)} lines, expected the five errors",
              f"stderr: {r.stderr!r}")


def test_check_same_address():
    """Two inputs on one address fail --check with both lines, rather than
    passing it and failing at start-up."""
    with TempDir() as t:
        text = HEAD + "\n".join([
            'input "a" { type = "tcp", listen = "127.0.0.1:5514" }',    # 3
            'input "b" { type = "udp", listen = "127.0.0.1:5514" }',    # 4: udp and tcp are apart
            'input "c" { type = "tcp", listen = "127.0.0.1:5514" }',    # 5
            'input "d" { type = "unix", path = "log.sock" }',           # 6
            'input "e" { type = "unix", path = "log.sock" }',           # 7
            'input "f" { type = "tcp", listen = "127.0.0.1:0" }',       # 8: port 0 never clashes
            'input "g" { type = "tcp", listen = "127.0.0.1:0" }',       # 9
            'route { to = "out" }',
        ]) + "\n"
        path, r = run_check(t, "same.lua", text)
        want = [f'{path}:5: input "c": 127.0.0.1:5514 is already used by input "a" at {path}:3',
                f'{path}:7: input "e": "log.sock" is already used by input "d" at {path}:6']
        check(r.returncode == 1 and r.stderr.splitlines() == want,
              f"--check exited {r.returncode}, expected 1 and {want}",
              f"stderr: {r.stderr!r}")
        check(sorted(os.listdir(t.dir)) == ["same.lua"],
              f"--check created files: {sorted(os.listdir(t.dir))}")


def test_port_in_use():
    for kind, socktype in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        with socket.socket(socket.AF_INET, socktype) as blocker:
            blocker.bind(("127.0.0.1", 0))
            if socktype == socket.SOCK_STREAM:
                blocker.listen()
            port = blocker.getsockname()[1]
            config = (f'input "{kind}" {{ type = "{kind}", listen = "127.0.0.1:{port}" }}\n'
                      'output "out" { type = "file", path = "out.log" }\n'
                      'route { to = "out" }\n')
            with Daemon(config, start=False) as d:
                r = sluiced(["--check", "-c", d.conf_path], cwd=d.dir)
                check(r.returncode == 0, f"{kind}: --check exited {r.returncode} for a port "
                      "in use: it must not bind", f"stderr: {r.stderr!r}")
                d.start(wait=False)
                rc = d.wait_exit(10)
                check(rc == 1, f"{kind}: sluiced exited {rc} with its port in use, expected 1")
                want = f'bind() "127.0.0.1:{port}" failed (98: Address already in use)'
                check(want in d.log(), f"{kind}: the log does not say {want!r}",
                      f"log: {d.log()!r}")


BAD_INPUT_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_message = "1K" }
input "udp" { type = "udp", listen = "127.0.0.1:0", max_message = "1K" }
output "out" { type = "file", path = "out.json", format = "json" }
route { to = "out" }
"""


def good(tag):
    return b"<13>Nov 22 10:00:00 clihost %s[9]: good message" % tag.encode()


def find(lines, app):
    found = [o for o in lines if o.get("app_name") == app]
    check(len(found) == 1, f"{len(found)} lines with app_name {app!r}, expected 1",
          *[f"line: {o}" for o in lines])
    o = found[0]
    check(o.get("msg") == "good message" and o.get("severity") == "notice",
          f"the good message {app} is damaged: {o}")
    return o


@sluicetest.timeout(60)
def test_bad_input_is_counted():
    with Daemon(BAD_INPUT_CONFIG) as d:
        tcp, udp = d.address("tcp"), d.address("udp")
        big = b"<14>Nov 22 10:00:00 clihost big[1]: " + b"A" * 5000
        badutf = b"<14>Nov 22 10:00:00 clihost utf[1]: bad \xff\xfe\xc3 utf8 \x01\x1b ctl"
        nopri = b"this line has no PRI at all"
        # one LF-framed connection: good, no PRI, oversized, invalid UTF-8, good
        tcp_send(tcp, lf_frames([good("t1"), nopri, big, badutf, good("t2")]))
        lines = d.wait_json_lines("out.json", 5)
        find(lines, "t1")
        find(lines, "t2")
        np = [o for o in lines if o.get("msg") == nopri.decode()]
        check(len(np) == 1 and np[0].get("facility") == "user"
              and np[0].get("severity") == "notice",
              f"a message without PRI is not delivered as user.notice with the whole text: "
              f"{lines}")
        bg = [o for o in lines if o.get("app_name") == "big"]
        check(len(bg) == 1 and 0 < len(bg[0].get("msg", "")) < 1024
              and set(bg[0]["msg"]) == {"A"},
              "the oversized message is not delivered cut to max_message",
              *[f"line: {str(o)[:200]}" for o in bg])
        bu = [o for o in lines if o.get("app_name") == "utf"]
        check(len(bu) == 1 and "bad \\xff\\xfe\\xc3 utf8" in bu[0]["msg"] and "\x01" in bu[0]["msg"],
              f"invalid UTF-8 / control bytes not kept as \\\\xNN / escapes: {bu}")
        st = d.input_stats("tcp")
        check((st["received"], st["parse_errors"], st["truncated"]) == (5, 1, 1),
              f"tcp stats {st}, expected received 5, parse_errors 1, truncated 1")

        # octet-counted: an oversized frame is cut and the stream goes on
        tcp_send(tcp, octet_frames([big, good("t3")]))
        lines = d.wait_json_lines("out.json", 7)
        find(lines, "t3")
        st = d.input_stats("tcp")
        check(st["truncated"] == 2 and st["framing_errors"] == 0,
              f"octet-counted oversized: tcp stats {st}")

        # a malformed octet count: counted, the connection closed, others fine
        with tcp_connect(tcp, timeout=10) as s:
            s.sendall(b"12x <14>broken framing\n")
            s.settimeout(10)
            try:
                closed = s.recv(100) == b""
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                closed = False
        check(closed, "the daemon did not close a connection with a malformed octet count")
        st = d.wait_stat(lambda s: s["inputs"]["tcp"]["framing_errors"] == 1, 5,
                         "framing_errors == 1")
        tcp_send(tcp, lf_frames([good("t4")]))
        lines = d.wait_json_lines("out.json", 8)
        find(lines, "t4")

        # UDP: oversized, no PRI, empty, then good
        udp_send(udp, [b"<14>Nov 22 10:00:00 clihost ubig[1]: " + b"B" * 3000, nopri, b"",
                       good("u1")])
        d.wait_stat(lambda s: s["inputs"]["udp"]["received"] >= 3, 5, "udp received >= 3")
        lines = d.wait_json_lines("out.json", 11)  # 8 + ubig, nopri, u1 (+ maybe the empty one)
        find(lines, "u1")
        ub = [o for o in lines if o.get("app_name") == "ubig"]
        check(len(ub) == 1 and 0 < len(ub[0].get("msg", "")) < 1024,
              "the oversized datagram is not delivered cut",
              *[f"line: {str(o)[:200]}" for o in ub])
        st = d.input_stats("udp")
        check(st["truncated"] == 1 and st["parse_errors"] >= 1,
              f"udp stats {st}, expected truncated 1, parse_errors >= 1")

        # still alive and answering; sluicectl finds the socket through $SLUICE_CONTROL
        env = dict(os.environ, SLUICE_CONTROL=d.ctl_path)
        r = sluicetest.run([sluicetest.sluicectl_path(), "stats"], env=env)
        check(r.returncode == 0 and r.stdout.startswith("{"),
              f"sluicectl with $SLUICE_CONTROL: exit {r.returncode}, {r.stdout!r}")
        time.sleep(0.2)
        check(d.running(), "sluiced died on bad input")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


MAX_CONN_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_connections = 2 }
output "out" { type = "file", path = "out.log", format = "raw" }
route { to = "out" }
"""


@sluicetest.timeout(60)
def test_max_connections():
    with Daemon(MAX_CONN_CONFIG) as d:
        host, port = d.address("tcp")
        held = [socket.create_connection((host, port), timeout=5) for _ in range(2)]
        # Both are counted as open before the third arrives.
        deadline = time.monotonic() + 5
        while d.input_stats("tcp")["connections"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        extra = socket.create_connection((host, port), timeout=5)
        extra.settimeout(5)
        try:
            got = extra.recv(1)
        except ConnectionResetError:
            got = b""
        check(got == b"", "the connection past max_connections was not closed")
        extra.close()
        st = d.input_stats("tcp")
        check(st["refused"] == 1 and st["connections"] == 2,
              f"stats {st}, expected refused 1 and 2 connections open")
        check("max_connections" in d.log(), "nothing logged about max_connections",
              f"log: {d.log()!r}")
        # The two held connections still deliver, and a slot frees when one closes.
        for i, s in enumerate(held):
            s.sendall(good(f"held{i}") + b"\n")
        held[0].close()
        d.wait_lines("out.log", 2)
        deadline = time.monotonic() + 5
        while d.input_stats("tcp")["connections"] > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        with socket.create_connection((host, port), timeout=5) as again:
            again.sendall(good("again") + b"\n")
        d.wait_lines("out.log", 3)
        held[1].close()


MATCH_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "alerts" { type = "file", path = "alerts.log", format = "raw" }
output "rest" { type = "file", path = "rest.log", format = "raw" }
route { msg_match = [[^disk /dev/sd[a-z]+ at (9[0-9]|100)%$]], to = "alerts", final = true }
route { msg_prefix = "PANIC: ", to = "alerts", final = true }
route { app_name_match = "^kern", msg_suffix = " [FATAL]", to = "alerts", final = true }
route { msg_match = "(a+)+$", to = "alerts", final = true }
route { to = "rest" }
"""


@sluicetest.timeout(60)
def test_route_matches():
    """msg_match, app_name_match, msg_prefix and msg_suffix decide the output
    in the daemon; a pattern that backtracks without end is cut off by the
    match limit, counted as no match and logged with the route's line."""
    def m(app, text):
        return b"<13>Nov 22 10:00:00 clihost %s[1]: %s" % (app.encode(), text)
    alerts = [m("a1", b"disk /dev/sda at 97%"), m("a2", b"disk /dev/sdab at 100%"),
              m("a3", b"PANIC: out of inodes"), m("a4", b"PANIC: "),
              m("kernel", b"oops [FATAL]"), m("kern.x", b"\xff\xfe bytes [FATAL]")]
    rest = [m("r1", b"disk /dev/sda at 89%"), m("r2", b"disk /dev/sda at 97% twice"),
            m("r3", b"disk /dev/SDA at 97%"), m("r4", b"panic: lower case"),
            m("r5", b"a PANIC: not at the start"), m("r6", b"oops [FATAL] not at the end"),
            m("mykernel", b"oops [FATAL]"), m("kernel", b"oops [fatal]"),
            m("r7", b"a" * 39 + b"!"), b"<13>1 - clihost r8 - - -"]
    with Daemon(MATCH_CONFIG) as d:
        tcp_send(d.address("tcp"), lf_frames(alerts + rest))
        got_rest = d.wait_lines("rest.log", len(rest))
        got_alerts = d.wait_lines("alerts.log", len(alerts))
        check(sorted(got_alerts) == sorted(alerts),
              "alerts.log does not hold exactly the messages the matches take",
              *[f"alerts.log: {l!r}" for l in got_alerts])
        check(sorted(got_rest) == sorted(rest),
              "rest.log does not hold exactly the messages no match takes",
              *[f"rest.log: {l!r}" for l in got_rest])
        with open(d.conf_path) as f:
            line = next(i for i, l in enumerate(f, 1) if '"(a+)+$"' in l)
        want = f"route at {d.conf_path}:{line}: key 'msg_match': pcre2_match() failed " \
               "(-47: match limit exceeded), taken as no match"
        d.wait_log(want)
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
    with TempDir() as t:
        path, r = run_check(t, "badre.lua", HEAD + 'route { msg_match = "[0-9", to = "out" }\n')
        want = f"{path}:3: route: key 'msg_match': bad regular expression at offset 4: " \
               "missing terminating ] for character class"
        check(r.returncode == 1 and want in r.stderr.splitlines(),
              f"--check of a bad regex: exit {r.returncode}, expected 1 and {want!r}",
              f"stderr: {r.stderr!r}")


if __name__ == "__main__":
    sluicetest.main([test_check_warns_of_an_output_that_can_hang_dev_log,
                     test_check_warns_for_every_kind_whose_senders_wait, test_version_and_help, test_usage_errors, test_check_good_config,
                     test_shipped_configs_check,
                     test_check_errors, test_check_reports_every_error,
                     test_check_same_address, test_port_in_use, test_bad_input_is_counted,
                     test_max_connections, test_route_matches])
