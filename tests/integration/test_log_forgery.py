#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's own log cannot be forged by a sender: a route function that
raises an error made of the message's text (CR, newline, ESC in it) writes
one escaped line, never a line of the sender's making."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, tcp_send, wait_until  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", format = "raw" }
route { where = function(m) error(m.msg, 0) end, to = "out" }
route { to = "out" }
"""

FAKE = "2026-01-01T00:00:00.000Z sluiced[1]: error: forged"


@sluicetest.timeout(30)
def test_lua_error_cannot_forge_log_lines():
    msg = ("<14>1 - h app - - - bad\r\n" + FAKE + "\x1b[2J").encode()
    with Daemon(CONFIG) as d:
        tcp_send(d.address("tcp"), b"%d %s" % (len(msg), msg))
        d.wait_stat(lambda st: st["inputs"]["tcp"]["received"] >= 1, 10, "the message")
        wait_until(lambda: "forged" in d.log(), 10, "the route error in the log")
        log = d.log()
        check("\x1b" not in log and "\r" not in log, "a raw control byte is in the log",
              repr(log[-400:]))
        lines = [ln for ln in log.splitlines() if "forged" in ln]
        check(len(lines) == 1, f"{len(lines)} log lines carry the text, expected 1", lines)
        check(not lines[0].startswith(FAKE), "the sender's text began a log line", lines)
        check("bad#015#012" + FAKE + "#033[2J" in lines[0], "the text is not escaped", lines)


if __name__ == "__main__":
    sluicetest.main([test_lua_error_cannot_forge_log_lines])
