#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Nothing lost in translation (issue 12), through the real sluiced over TCP.

- A byte that is not valid UTF-8 reaches json as the text \\xNN (an escaped
  backslash, so the line is still valid JSON), and raw keeps it exactly.
- VERSION takes one to three digits (999 is RFC 5424, 1000 is not).
- An RFC 5424 NILVALUE timestamp is null in json, and json always carries
  "received"; rfc5424 still writes a time (the received one).
- An extra field with NUL, control or invalid UTF-8 bytes (set by a Lua
  transform) is {"base64": ...} in json, escaped in a template and in
  rfc5424, whose extra fields are one SD element, fields@32473.
- A PARAM-NAME repeated in an SD element keeps every value: an array in
  json, a sequence in Lua's m.sd, every value from m:get; rfc5424 passes
  the SD through, and a plain message's rfc5424 line is the one it came as.
"""

import base64
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check  # noqa: E402


CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "j" { type = "file", path = "j.log", format = "json" }
output "r" { type = "file", path = "r.log", format = "raw" }
output "f" { type = "file", path = "f.log", format = "rfc5424" }
output "t" { type = "file", path = "t.log", format = "{app_name}|{msg}" }
route { to = { "j", "r", "f", "t" } }
"""

BAD = b"<14>1 2026-11-22T10:00:00Z h bad - - - a\xff\xc3(b"
NIL = b"<14>1 - h nil - - - text"
RFC3339_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")


def test_invalid_utf8_and_nil_timestamp():
    with Daemon(CONFIG) as d:
        sluicetest.tcp_send(d.address("tcp"), sluicetest.lf_frames([BAD, NIL]))
        js = d.wait_json_lines("j.log", 2)
        raw = d.wait_lines("r.log", 2)
        f = d.wait_lines("f.log", 2)
        t = d.wait_lines("t.log", 2)
        by = {o["app_name"]: o for o in js}
        check(by["bad"]["msg"] == "a\\xff\\xc3(b",
              "json does not write each invalid byte as \\xNN", by["bad"])
        check(BAD in raw, "raw does not keep the bytes exactly", raw)
        check(any(l.endswith(b" a\xff\xc3(b") for l in f), "rfc5424 lost the bytes", f)
        check(any(l.startswith(b"bad|a") and l.endswith(b"(b") for l in t),
              "the template lost the message", t)
        check(by["nil"]["timestamp"] is None, "NIL timestamp is not null in json", by["nil"])
        for o in js:
            check(RFC3339_US.match(o.get("received", "")) is not None,
                  "json has no RFC 3339 received with microseconds", o)
        check(by["bad"]["timestamp"] == "2026-11-22T10:00:00Z", "timestamp changed", by["bad"])
        nil5424 = [l for l in f if b" h nil " in l]
        check(len(nil5424) == 1 and not nil5424[0].startswith(b"<14>1 - "),
              "rfc5424 of a NIL timestamp has no time", f)


def test_three_digit_version():
    """VERSION is NONZERO-DIGIT 0*2DIGIT: 999 is RFC 5424, a four-digit one is not."""
    v999 = b"<14>999 2026-11-22T10:00:00Z h v999 - - - three digits"
    v1000 = b"<14>1000 2026-11-22T10:00:00Z h v1000 - - - four digits"
    with Daemon(CONFIG) as d:
        sluicetest.tcp_send(d.address("tcp"), sluicetest.lf_frames([v999, v1000]))
        js = d.wait_json_lines("j.log", 2)
        by = {o.get("app_name") or o["msg"][:20]: o for o in js}
        check("v999" in by and by["v999"]["version"] == 999, "VERSION 999 lost", js)
        check(by["v999"]["msg"] == "three digits", "the message after VERSION 999", js)
        four = [o for o in js if "four digits" in o["msg"]]
        check(len(four) == 1 and four[0]["version"] == 0 and four[0]["app_name"] is None,
              "a four-digit VERSION parsed as RFC 5424 (it is RFC 3164's lenient case)", js)
        check(v999 in d.wait_lines("r.log", 2), "raw changed the VERSION 999 line")


CONFIG_FIELDS = r"""
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local j = output "j" { type = "file", path = "j.log", format = "json" }
local f = output "f" { type = "file", path = "f.log", format = "rfc5424" }
local t = output "t" { type = "file", path = "t.log",
                       format = "{app_name}|{fields.bin}|{fields.esc}|{fields.lua}|{sd}" }
route { app_name = "bin",
        transform = function(m)
          m.fields.bin = "a\0b\xff"
          m.fields.esc = 'q"\\]\n'
          m.fields.txt = "plain"
        end,
        to = { j, f, t } }
route { app_name = "rep",
        transform = function(m)
          local ip = m.sd.origin.ip
          local all = { m:get("sd.origin.ip") }
          local first = m:get("sd.origin.ip")
          m.fields.lua = type(ip) .. " " .. table.concat(ip, ",") .. " get " .. #all .. " "
                         .. table.concat(all, ",") .. " first " .. first
                         .. " k " .. type(m.sd["x@32473"].k) .. " " .. m:get("sd.x@32473.k")
        end,
        to = { j, f, t } }
route { app_name = "plain", to = { j, f, t } }
"""

BIN = b"<14>1 2026-11-22T10:00:00Z h bin - - - binary"
REP = (b'<14>1 2026-11-22T10:00:00Z h rep - - [origin ip="192.0.2.1" ip="192.0.2.129"]'
       b'[x@32473 k="v"] repeated')
PLAIN = b'<14>1 2026-11-22T10:00:00.5+01:00 h plain 42 ID7 [a@1 x="\\"1\\"" y="\\]"] plain \xc3\xa9'
LUA_SAW = ("table 192.0.2.1,192.0.2.129 get 2 192.0.2.1,192.0.2.129 first 192.0.2.1 "
           "k string v")


def by_app(lines, app):
    found = [l for l in lines if f" h {app} ".encode() in l or l.startswith(f"{app}|".encode())]
    check(len(found) == 1, f"not one line of {app}", lines)
    return found[0]


def test_binary_fields_and_repeated_params():
    with Daemon(CONFIG_FIELDS) as d:
        sluicetest.tcp_send(d.address("tcp"), sluicetest.lf_frames([BIN, REP, PLAIN]))
        js = d.wait_json_lines("j.log", 3)
        f = d.wait_lines("f.log", 3)
        t = d.wait_lines("t.log", 3)
        by = {o["app_name"]: o for o in js}

        # json: binary as base64, text as a string, the repeated PARAM an array
        fields = by["bin"]["fields"]
        check(fields == {"bin": {"base64": "YQBi/w=="}, "esc": 'q"\\]\n', "txt": "plain"},
              "json fields: binary is not {base64} or text changed", fields)
        check(base64.b64decode(fields["bin"]["base64"]) == b"a\0b\xff",
              "base64 does not give the bytes back", fields)
        check(by["rep"]["sd"] == {"origin": {"ip": ["192.0.2.1", "192.0.2.129"]},
                                  "x@32473": {"k": "v"}},
              "json sd: a repeated PARAM-NAME is not an array of every value", by["rep"])
        check(by["rep"]["fields"] == {"lua": LUA_SAW},
              "Lua's m.sd / m:get do not give every value of a repeated PARAM", by["rep"])
        check(by["plain"]["sd"] == {"a@1": {"x": '"1"', "y": "]"}} and "fields" not in by["plain"],
              "json of a plain message", by["plain"])

        # rfc5424: the fields element after the message's SD, escaped
        check(by_app(f, "bin") == b'<14>1 2026-11-22T10:00:00Z h bin - - '
              b'[fields@32473 bin="a#000b#377" esc="q\\"\\\\\\]#012" txt="plain"] binary',
              "rfc5424 fields element of binary values", f)
        check(by_app(f, "rep") == b'<14>1 2026-11-22T10:00:00Z h rep - - '
              b'[origin ip="192.0.2.1" ip="192.0.2.129"][x@32473 k="v"]'
              b'[fields@32473 lua="' + LUA_SAW.encode() + b'"] repeated',
              "rfc5424: own SD then the fields element", f)
        check(by_app(f, "plain") == PLAIN,
              "rfc5424 of a plain RFC 5424 message is not the line it came as", f)

        # a template: control bytes as #ooo, as for every field
        check(by_app(t, "bin") == b'bin|a#000b\xff|q"\\]#012|-|-', "template of binary fields", t)
        check(by_app(t, "rep") == b'rep|-|-|' + LUA_SAW.encode()
              + b'|[origin ip="192.0.2.1" ip="192.0.2.129"][x@32473 k="v"]',
              "template of the repeated SD", t)


if __name__ == "__main__":
    sluicetest.main([test_invalid_utf8_and_nil_timestamp, test_three_digit_version,
                     test_binary_fields_and_repeated_params])
