#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The native_stream input: the journal export format over a unix stream
socket and over TCP.

- data/journal.export (written by hand after the spec: binary values with
  NUL and empty lines in them, __CURSOR, __REALTIME_TIMESTAMP, _PID,
  _HOSTNAME, ...) sent with socat arrives whole in json: every field with
  its bytes, the mapped header fields, the time from __REALTIME_TIMESTAMP.
- pid/uid/gid only on an input with trusted = true, and only for entries
  that carry all three.
- Entry boundaries hold however the stream is cut into writes.
- A malformed entry, an oversized one and one cut by the end of the
  connection are counted, and the entries after them arrive.
- What `journalctl -o export -n 20` gives, where the machine has a journal.
"""

import base64
import datetime
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check, parse_address, run, tcp_connect  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "journal.export")
SOCKET = "var/run/export.socket"


# {=== the export format, read and written independently of the daemon

def parse_export(data):
    """The entries of an export stream: lists of (key, value bytes)."""
    entries, fields, i = [], [], 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if line == b"":
            if fields:
                entries.append(fields)
            fields, i = [], nl + 1
            continue
        if b"=" in line:
            k, _, v = line.partition(b"=")
            fields.append((k.decode(), v))
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            fields.append((line.decode(), data[nl + 9:nl + 9 + n]))
            check(data[nl + 9 + n:nl + 10 + n] == b"\n", "test data: a binary value without LF")
            i = nl + 10 + n
    if fields:
        entries.append(fields)
    return entries


def text(k, v):
    return k.encode() + b"=" + v.encode() + b"\n"


def binary(k, v):
    return k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"


def entry(*fields):
    return b"".join(fields) + b"\n"
# }===


def field_is(v, b):
    """Whether v, a field's value as json wrote it, holds the bytes b: either
    {"base64": ...}, or a string where a byte that is not UTF-8 is written
    \\xNN (so compare with b in that form: a literal "\\x2d", as in
    systemd's unit names, stays what it is)."""
    if isinstance(v, dict):
        return base64.b64decode(v["base64"]) == b
    return v == b.decode("utf-8", "backslashreplace")


def check_entry(line, fields, trusted):
    """line (a json object) is the message of the export entry fields."""
    d = dict(fields)
    got = line.get("fields", {})
    # Every field, "__" and "_" ones included, with its bytes.
    check(list(got) == [k for k, _ in fields], "fields or their order differ",
          list(got), [k for k, _ in fields])
    for k, v in fields:
        check(field_is(got[k], v), f"field {k} differs", got[k], v)
    check(field_is(line["msg"], d.get("MESSAGE", b"")), "msg differs", line["msg"])
    sev = int(d.get("PRIORITY", b"6"))
    fac = int(d.get("SYSLOG_FACILITY", b"1"))
    check(line["pri"] == fac * 8 + sev, "pri differs", line["pri"], fac, sev)
    check(line["hostname"] == (d["_HOSTNAME"].decode() if "_HOSTNAME" in d else None),
          "hostname is not _HOSTNAME", line["hostname"])
    check(line["app_name"] == (d["SYSLOG_IDENTIFIER"].decode()
                               if "SYSLOG_IDENTIFIER" in d else None), "app_name", line)
    us = int(d["__REALTIME_TIMESTAMP"])
    ts = datetime.datetime.fromisoformat(line["timestamp"])
    check(round(ts.timestamp() * 1e6) == us, "timestamp is not __REALTIME_TIMESTAMP",
          line["timestamp"], us)
    creds = trusted and all(k in d for k in ("_PID", "_UID", "_GID"))
    if creds:
        check((line.get("pid"), line.get("uid"), line.get("gid"))
              == (int(d["_PID"]), int(d["_UID"]), int(d["_GID"])), "credentials differ", line)
    else:
        check("pid" not in line and "uid" not in line, "credentials without trust", line)


def need_socat():
    if shutil.which("socat") is None:
        raise Skip("socat is not installed (tests/install-deps.sh installs it)")


def config(input_keys, extra=""):
    return f"""
        input "export" {{ type = "native_stream", {input_keys} }}
        output "out" {{ type = "file", path = "out.log", format = "json" }}
        route {{ to = "out" }}
        {extra}
    """


def socat_send(data, address, timeout=20):
    r = subprocess.run(["socat", "-u", "-", address], input=data, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    check(r.returncode == 0, f"socat failed ({r.returncode})", r.stderr)


def test_unix_socket_socat():
    need_socat()
    with open(DATA, "rb") as f:
        data = f.read()
    entries = parse_export(data)
    check(len(entries) == 4, "test data: 4 entries", len(entries))
    with Daemon(config(f'path = "{SOCKET}"')) as d:
        path = d.path(SOCKET)
        check(os.stat(path).st_mode & 0o777 == 0o666, "socket mode", oct(os.stat(path).st_mode))
        socat_send(data, f"UNIX-CONNECT:{path}")
        lines = d.wait_json_lines("out.log", 4)
        for line, e in zip(lines, entries):
            check_entry(line, e, trusted=False)
        # The binary value with NUL and an empty line came through whole.
        check(field_is(lines[1]["fields"]["BLOB"], b"a\x00b\n\nc\xff\x01end"), "BLOB",
              lines[1]["fields"]["BLOB"])
        check(lines[0]["input"] == "export", "input name", lines[0])
        s = d.wait_stat(lambda s: s["inputs"]["export"]["accepted"] == 1
                        and s["inputs"]["export"]["connections"] == 0)["inputs"]["export"]
        check(s["type"] == "native_stream" and s["received"] == 4, "stats", s)
        check(s["malformed"] == 0 and s["too_large"] == 0 and s["fields_dropped"] == 0, "stats", s)
    check(not os.path.exists(path), "the socket is removed at stop")


def test_tcp_trusted():
    need_socat()
    with open(DATA, "rb") as f:
        data = f.read()
    entries = parse_export(data)
    with Daemon(config('listen = "127.0.0.1:0", trusted = true')) as d:
        host, port = parse_address(d.input_stats("export")["address"])
        socat_send(data, f"TCP:{host}:{port}")
        lines = d.wait_json_lines("out.log", 4)
        for line, e in zip(lines, entries):
            check_entry(line, e, trusted=True)
        check(lines[0]["pid"] == 4242 and "pid" not in lines[2], "trusted credentials", lines)


def test_any_cut_of_the_stream():
    """Entry boundaries are found across reads: the stream in writes of a
    few bytes, each its own segment, gives the same messages."""
    with open(DATA, "rb") as f:
        data = f.read()
    entries = parse_export(data)
    with Daemon(config('listen = "127.0.0.1:0"')) as d:
        addr = parse_address(d.input_stats("export")["address"])
        with tcp_connect(addr) as s:
            for i in range(0, len(data), 7):
                s.sendall(data[i:i + 7])
                time.sleep(0.001)
            s.shutdown(socket.SHUT_WR)
        lines = d.wait_json_lines("out.log", 4)
        for line, e in zip(lines, entries):
            check_entry(line, e, trusted=False)


def test_bad_entries_counted_and_skipped():
    """max_message 1K: an entry of 3000 bytes is too large; a lowercase key
    and a binary value not closed by LF are malformed; a connection that
    ends inside an entry leaves a malformed one. The good entries between
    them all arrive, in order."""
    good = [entry(text("__REALTIME_TIMESTAMP", str(1733270400000000 + i)),
                  text("MESSAGE", f"good {i}"), text("_HOSTNAME", "h")) for i in range(4)]
    big = entry(text("__REALTIME_TIMESTAMP", "1"), binary("MESSAGE", b"\n\n" * 1500))
    lower = entry(text("MESSAGE", "x"), text("lower", "key"))
    broken = entry(binary("BLOB", b"abc")[:-1] + b"XYZ\n", text("MESSAGE", "lost"))
    cut = text("MESSAGE", "cut by the end")[:-3]
    stream = good[0] + big + good[1] + lower + good[2] + broken + good[3] + cut
    with Daemon(config(f'path = "{SOCKET}", max_message = "1K"')) as d:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.path(SOCKET))
            s.sendall(stream)
        lines = d.wait_json_lines("out.log", 4)
        check([l["msg"] for l in lines] == [f"good {i}" for i in range(4)], "good entries", lines)
        s = d.wait_stat(lambda s: s["inputs"]["export"]["received"] == 8)["inputs"]["export"]
        check(s["too_large"] == 1 and s["malformed"] == 3, "counters", s)
        time.sleep(0.3)
        check(len(d.json_lines("out.log")) == 4, "nothing else delivered")
        check("longer than max_message" in d.log(), "the too large entry is logged")


def test_reload_changes_trust():
    """A reload that changes trusted reopens the input on the same path
    (the old one gives it up first) and the new setting holds; a reload
    that changes nothing keeps an open connection and its half entry."""
    e = entry(text("__REALTIME_TIMESTAMP", "1733270400000000"), text("MESSAGE", "m"),
              text("_PID", "7"), text("_UID", "8"), text("_GID", "9"))
    with Daemon(config(f'path = "{SOCKET}"')) as d:
        held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        held.connect(d.path(SOCKET))
        held.sendall(e[:20])  # half an entry, across the reload
        d.ctl("reload")
        held.sendall(e[20:])
        lines = d.wait_json_lines("out.log", 1)
        check("pid" not in lines[0], "untrusted", lines[0])
        held.close()
        d.write_config(config(f'path = "{SOCKET}", trusted = true'))
        r = d.ctl("reload")
        check("ok" in r.stdout, "reload", r.stdout, r.stderr)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.path(SOCKET))
            s.sendall(e)
        lines = d.wait_json_lines("out.log", 2)
        check(lines[1].get("pid") == 7 and lines[1].get("gid") == 9, "trusted now", lines[1])


def test_journalctl_export():
    need_socat()
    if shutil.which("journalctl") is None:
        raise Skip("journalctl is not installed")
    r = subprocess.run(["journalctl", "-o", "export", "-n", "20", "--no-pager"], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0 or not r.stdout.strip():
        raise Skip("no journal to read here (journalctl -o export -n 20 gave nothing: "
                   f"{r.stderr.decode(errors='replace').strip()[:120]})")
    entries = parse_export(r.stdout)
    with Daemon(config(f'path = "{SOCKET}", max_message = "1M"')) as d:
        socat_send(r.stdout, f"UNIX-CONNECT:{d.path(SOCKET)}")
        lines = d.wait_json_lines("out.log", len(entries))
        for line, e in zip(lines, entries):
            first = {}
            for k, v in e:
                first.setdefault(k, v)  # a key given twice keeps its first value
            got = line.get("fields", {})
            for k in list(first)[:64]:  # SL_MSG_MAX_FIELDS; a journal entry has some 30
                check(field_is(got[k], first[k]), f"field {k} differs", got[k], first[k])
            check(got.get("__CURSOR") == dict(e)["__CURSOR"].decode(), "cursor", got, e)
            us = int(dict(e)["__REALTIME_TIMESTAMP"])
            ts = datetime.datetime.fromisoformat(line["timestamp"])
            check(round(ts.timestamp() * 1e6) == us, "timestamp", line["timestamp"], us)


if __name__ == "__main__":
    sluicetest.main([test_unix_socket_socat, test_tcp_trusted, test_any_cut_of_the_stream,
                     test_bad_entries_counted_and_skipped, test_reload_changes_trust,
                     test_journalctl_export])
