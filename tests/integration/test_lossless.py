#!/usr/bin/env python3
"""Nothing lost in translation (issue 12), through the real sluiced over TCP.

- A byte that is not valid UTF-8 reaches json as the text \\xNN (an escaped
  backslash, so the line is still valid JSON), and raw keeps it exactly.
- An RFC 5424 NILVALUE timestamp is null in json, and json always carries
  "received"; rfc5424 still writes a time (the received one).
"""

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


if __name__ == "__main__":
    sluicetest.main([test_invalid_utf8_and_nil_timestamp])
