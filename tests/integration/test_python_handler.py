#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python's logging.handlers.SysLogHandler against the real daemon, over UDP
and the unix socket. SysLogHandler sends "<PRI>text\\0": no timestamp, no
hostname, a trailing NUL. The daemon must deliver it with the right facility
and severity, the text as msg (without the NUL, as rsyslog does), the
received time as timestamp, and a hostname filled in (the peer address for
UDP, the local hostname for the unix socket, as parse.h says)."""

import datetime
import logging
import logging.handlers
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check  # noqa: E402

CONFIG = """
input "udp"  { type = "udp",  listen = "127.0.0.1:0" }
input "unix" { type = "unix", path = "log.sock" }
output "out" { type = "file", path = "out.json", format = "json" }
route { to = "out" }
"""

H = logging.handlers.SysLogHandler
LEVELS = [  # logging level, syslog severity name
    (logging.DEBUG, "debug"),
    (logging.INFO, "info"),
    (logging.WARNING, "warning"),
    (logging.ERROR, "err"),
    (logging.CRITICAL, "crit"),
]
FACILITIES = [(H.LOG_USER, "user"), (H.LOG_DAEMON, "daemon"), (H.LOG_LOCAL0, "local0"),
              (H.LOG_LOCAL5, "local5"), (H.LOG_AUTHPRIV, "authpriv")]


def send_records(address, tag):
    """Logs one record per (level, facility) pair through a SysLogHandler
    with a "TAG[PID]: " prefix, plus records with an ident and with no tag
    at all. Returns [(msg, facility, severity, app_name, procid)]."""
    expected = []
    log = logging.getLogger(f"sluicetest.{tag}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for fac, fac_name in FACILITIES:
        h = H(address=address, facility=fac)
        h.setFormatter(logging.Formatter(f"{tag}[%(process)d]: %(message)s"))
        log.addHandler(h)
        try:
            for level, sev_name in LEVELS:
                text = f"{tag} {fac_name} {sev_name} record"
                log.log(level, "%s", text)
                expected.append((text, fac_name, sev_name, tag, str(os.getpid())))
        finally:
            log.removeHandler(h)
            h.close()
    # ident instead of a formatter prefix, and UTF-8 text
    h = H(address=address, facility=H.LOG_LOCAL1)
    h.ident = f"{tag}-ident: "
    log.addHandler(h)
    try:
        text = f"{tag} caf\u00e9 \u2603 unicode"
        log.warning("%s", text)
        expected.append((text, "local1", "warning", f"{tag}-ident", None))
    finally:
        log.removeHandler(h)
        h.close()
    # no tag at all: what a parser makes of the first word is its business,
    # but the line must arrive; checked separately
    h = H(address=address, facility=H.LOG_LOCAL2)
    log.addHandler(h)
    try:
        log.error("%s untagged words here", tag)
    finally:
        log.removeHandler(h)
        h.close()
    return expected


def check_lines(lines, expected, tag, inp, hostname, cred):
    mine = lines  # one daemon per test: every line is ours
    check(len(mine) == len(expected) + 1,
          f"{inp}: {len(mine)} lines for {tag}, expected {len(expected) + 1}",
          *[f"line: {o}" for o in mine])
    by_text = {}
    for o in mine:
        by_text[o.get("msg")] = o
    now = datetime.datetime.now(datetime.timezone.utc)
    for text, fac, sev, app, procid in expected:
        o = by_text.get(text)
        if o is None:
            nul = by_text.get(text + "\x00")
            check(nul is None, f"{inp}: msg keeps SysLogHandler's trailing NUL: {nul}")
            raise AssertionError(f"{inp}: no line with msg {text!r}; lines: {mine}")
        for key, want in (("facility", fac), ("severity", sev), ("app_name", app),
                          ("procid", procid), ("input", inp), ("hostname", hostname)):
            check(o.get(key) == want, f"{inp}: {key} is {o.get(key)!r}, expected {want!r}",
                  f"line: {o}")
        ts = o.get("timestamp")
        try:
            t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            raise AssertionError(f"{inp}: timestamp {ts!r} is not RFC 3339: {o}")
        check(t.tzinfo is not None and abs((now - t).total_seconds()) < 120,
              f"{inp}: timestamp {ts!r} is not the received time (now {now.isoformat()})")
        if cred:
            check((o.get("pid"), o.get("uid"), o.get("gid"))
                  == (os.getpid(), os.getuid(), os.getgid()),
                  f"{inp}: kernel pid/uid/gid {o.get('pid')}/{o.get('uid')}/{o.get('gid')}, "
                  f"expected {os.getpid()}/{os.getuid()}/{os.getgid()}")
    untagged = [o for o in mine if (o.get("msg") or "").endswith("words here")]
    check(len(untagged) == 1, f"{inp}: the untagged record did not arrive once: {untagged}")
    o = untagged[0]
    check(o.get("facility") == "local2" and o.get("severity") == "err",
          f"{inp}: untagged record: {o}")


def test_syslog_handler_udp():
    with Daemon(CONFIG) as d:
        addr = d.address("udp")
        expected = send_records(addr, "pyudp")
        total = len(expected) + 1
        lines = d.wait_json_lines("out.json", total)
        # UDP: no hostname in the message, so the sender's address
        check_lines(lines, expected, "pyudp", "udp", "127.0.0.1", cred=False)
        s = d.input_stats("udp")
        check(s["received"] == total, f"udp received {s['received']}, expected {total}")


def test_syslog_handler_unix():
    with Daemon(CONFIG) as d:
        path = d.address("unix")
        expected = send_records(path, "pyunix")
        total = len(expected) + 1
        lines = d.wait_json_lines("out.json", total)
        check_lines(lines, expected, "pyunix", "unix", socket.gethostname(), cred=True)
        s = d.input_stats("unix")
        check(s["received"] == total, f"unix received {s['received']}, expected {total}")


if __name__ == "__main__":
    sluicetest.main([test_syslog_handler_udp, test_syslog_handler_unix])
