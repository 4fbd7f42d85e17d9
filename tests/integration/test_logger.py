#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""util-linux logger(1) against the real daemon: TCP (octet-counted and LF),
UDP and the unix socket, in RFC 3164 and RFC 5424, checking the fields of
each message in the json output."""

import datetime
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check  # noqa: E402

CONFIG = """
input "tcp"  { type = "tcp",  listen = "127.0.0.1:0" }
input "udp"  { type = "udp",  listen = "127.0.0.1:0" }
input "unix" { type = "unix", path = "run/log.sock" }
output "out" { type = "file", path = "out.json", format = "json" }
route { to = "out" }
"""

HOSTNAMES = {socket.gethostname(), socket.gethostname().split(".")[0]}


def need_logger():
    if sluicetest.which("logger") is None:
        raise Skip("util-linux logger is not installed")


def logger(args, msg):
    """Runs logger with args and msg; returns its pid."""
    cmd = ["logger", "--socket-errors=on"] + args + ["--", msg]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError(f"logger timed out: {cmd}")
    check(p.returncode == 0, f"{cmd} exited {p.returncode}", f"stderr: {err!r}")
    return p.pid


def check_fields(obj, what, **expected):
    for key, value in expected.items():
        check(obj.get(key) == value,
              f"{what}: json {key} is {obj.get(key)!r}, expected {value!r}", f"line: {obj}")


def check_timestamp(obj, what):
    ts = obj.get("timestamp")
    check(isinstance(ts, str), f"{what}: timestamp is {ts!r}", f"line: {obj}")
    try:
        t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionError(f"{what}: timestamp {ts!r} is not RFC 3339")
    check(t.tzinfo is not None, f"{what}: timestamp {ts!r} has no UTC offset")
    now = datetime.datetime.now(datetime.timezone.utc)
    check(abs((now - t).total_seconds()) < 600,
          f"{what}: timestamp {ts!r} is far from now ({now.isoformat()})")


def by_msg(lines):
    out = {}
    for obj in lines:
        out.setdefault(obj.get("msg"), []).append(obj)
    return out


@sluicetest.timeout(60)
def test_logger_all_transports():
    need_logger()
    with Daemon(CONFIG) as d:
        host, port = d.address("tcp")
        _, uport = d.address("udp")
        sock = d.address("unix")
        check(sock == d.path("run/log.sock"), f"unix input address {sock!r}")
        net_tcp = ["-n", host, "-P", str(port), "-T"]
        net_udp = ["-n", host, "-P", str(uport), "-d"]
        sd = ["--sd-id", "ex@32473", "--sd-param", 'k="v"', "--sd-param", 'q="a \\"b\\" c"']

        cases = []  # (msg, input, transport, expected fields, extra checks)

        def case(msg, inp, what, expected, **extra):
            cases.append((msg, inp, what, expected, extra))

        # TCP, octet-counted
        m = "tcp octet rfc3164 hello"
        logger(net_tcp + ["--octet-count", "--rfc3164", "-t", "lg-t3164", "-p", "local3.warning"], m)
        case(m, "tcp", "tcp octet rfc3164",
             dict(app_name="lg-t3164", facility="local3", severity="warning", pri=19 * 8 + 4))

        m = "tcp octet rfc5424 hello"
        logger(net_tcp + ["--octet-count", "--rfc5424", "-t", "lg-t5424", "-p", "local4.err",
                          "--msgid", "MID1"] + sd, m)
        case(m, "tcp", "tcp octet rfc5424",
             dict(app_name="lg-t5424", facility="local4", severity="err", pri=20 * 8 + 3,
                  msgid="MID1", version=1), sd=True)

        # TCP, LF framing (logger's default without --octet-count)
        m = "tcp lf rfc5424 hello"
        logger(net_tcp + ["--rfc5424", "-t", "lg-tlf", "-p", "daemon.notice"], m)
        case(m, "tcp", "tcp lf rfc5424",
             dict(app_name="lg-tlf", facility="daemon", severity="notice", pri=3 * 8 + 5,
                  version=1))

        m = "tcp lf rfc3164 hello"
        logger(net_tcp + ["--rfc3164", "-t", "lg-tlf3", "-p", "cron.info"], m)
        case(m, "tcp", "tcp lf rfc3164",
             dict(app_name="lg-tlf3", facility="cron", severity="info", pri=9 * 8 + 6))

        # RFC 5424 with every optional header field NIL
        m = "tcp nil fields"
        logger(net_tcp + ["--rfc5424=notq,notime,nohost", "-t", "lg-nil", "-p", "user.info"], m)
        case(m, "tcp", "tcp rfc5424 nil",
             dict(app_name="lg-nil", hostname=None, procid=None, msgid=None, sd=None,
                  severity="info", facility="user", version=1), nots=True)

        # UDP
        m = "udp rfc3164 hello"
        logger(net_udp + ["--rfc3164", "-t", "lg-u3164", "-p", "mail.crit"], m)
        case(m, "udp", "udp rfc3164",
             dict(app_name="lg-u3164", facility="mail", severity="crit", pri=2 * 8 + 2))

        m = "udp rfc5424 hello"
        logger(net_udp + ["--rfc5424", "-t", "lg-u5424", "-p", "local7.debug",
                          "--msgid", "MID2"] + sd, m)
        case(m, "udp", "udp rfc5424",
             dict(app_name="lg-u5424", facility="local7", severity="debug", pri=23 * 8 + 7,
                  msgid="MID2", version=1), sd=True)

        # the unix socket, with --id so the procid can be matched to the kernel's pid
        m = "unix rfc3164 hello"
        pid = logger(["-u", sock, "--rfc3164", "--id", "-t", "lg-x3164", "-p", "auth.err"], m)
        case(m, "unix", "unix rfc3164",
             dict(app_name="lg-x3164", facility="auth", severity="err", pri=4 * 8 + 3,
                  procid=str(pid)), cred=pid)

        m = "unix rfc5424 hello"
        pid = logger(["-u", sock, "--rfc5424", "--id", "-t", "lg-x5424", "-p", "user.info",
                      "--msgid", "MID3"] + sd, m)
        case(m, "unix", "unix rfc5424",
             dict(app_name="lg-x5424", facility="user", severity="info", pri=1 * 8 + 6,
                  procid=str(pid), msgid="MID3", version=1), sd=True, cred=pid)

        lines = d.wait_json_lines("out.json", len(cases))
        got = by_msg(lines)
        for msg, inp, what, expected, extra in cases:
            objs = got.get(msg)
            check(objs is not None, f"{what}: no line with msg {msg!r}",
                  *[f"line: {o}" for o in lines])
            check(len(objs) == 1, f"{what}: {len(objs)} lines with msg {msg!r}")
            obj = objs[0]
            check_fields(obj, what, input=inp, **expected)
            if "hostname" not in expected:
                check(obj.get("hostname") in HOSTNAMES,
                      f"{what}: hostname {obj.get('hostname')!r}, expected one of {HOSTNAMES}")
            if not extra.get("nots"):
                check_timestamp(obj, what)
            if extra.get("sd"):
                sdv = obj.get("sd")
                check(isinstance(sdv, dict), f"{what}: sd is {sdv!r}, expected an object")
                check(sdv.get("ex@32473") == {"k": "v", "q": 'a "b" c'},
                      f"{what}: sd[ex@32473] is {sdv.get('ex@32473')!r}, "
                      "expected {'k': 'v', 'q': 'a \"b\" c'}", f"sd: {sdv}")
            cred = extra.get("cred")
            if cred is not None:
                check(obj.get("pid") == cred and obj.get("uid") == os.getuid()
                      and obj.get("gid") == os.getgid(),
                      f"{what}: kernel pid/uid/gid {obj.get('pid')!r}/{obj.get('uid')!r}/"
                      f"{obj.get('gid')!r}, expected {cred}/{os.getuid()}/{os.getgid()}")
            else:
                check("pid" not in obj and "uid" not in obj,
                      f"{what}: a network message has kernel credentials: {obj}")

        s = d.stats()
        check(s["inputs"]["tcp"]["received"] == 5, f"tcp received {s['inputs']['tcp']}")
        check(s["inputs"]["udp"]["received"] == 2, f"udp received {s['inputs']['udp']}")
        check(s["inputs"]["unix"]["received"] == 2, f"unix received {s['inputs']['unix']}")
        for name in ("tcp", "udp", "unix"):
            check(s["inputs"][name]["parse_errors"] == 0,
                  f"input {name} counted parse errors: {s['inputs'][name]}")
        s = d.wait_stat(lambda s: s["outputs"]["out"]["written"] == len(cases), 5,
                        f"written == {len(cases)}")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


if __name__ == "__main__":
    sluicetest.main([test_logger_all_transports])
