#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""include "sluice.d/*.lua" (issue 13): drop-in files against the real
daemon. A route whose `where` function is defined in a drop-in runs in the
input threads (which run the config again, from the texts kept at load); a
reload reads sluice.d/ again and picks up a new file; --check names
FILE:LINE inside the included file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, TempDir, check, lf_frames, sluiced, tcp_send  # noqa: E402

MAIN = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "all" { type = "file", path = "all.log", format = "raw" }
include "sluice.d/*.lua"
route { to = "all" }
"""

KEEP = """-- a drop-in: its own output and a route with a where function
output "kept" { type = "file", path = "kept.log", format = "raw" }
route { to = "kept", where = function(m) return m.msg:find("keep", 1, true) ~= nil end }
"""

MORE = """output "more" { type = "file", path = "more.log", format = "raw" }
route { to = "more", where = function(m) return m.msg:find("more", 1, true) ~= nil end }
"""


def put(path, text):
    """Writes a drop-in as it is (Daemon.write_config would add settings)."""
    with open(path, "w") as f:
        f.write(text)


def frames(*msgs):
    return lf_frames([f"<14>app: {m}".encode() for m in msgs])


@sluicetest.timeout(60)
def test_where_in_drop_in_and_reload():
    with Daemon(MAIN, start=False) as d:
        os.mkdir(d.path("sluice.d"))
        put(d.path("sluice.d/10-keep.lua"), KEEP)
        d.start()
        tcp_send(d.address("tcp"), frames("keep 1", "drop 2", "keep more 3"))
        d.wait_lines("all.log", 3)
        kept = d.wait_lines("kept.log", 2)
        check(kept == [b"<14>app: keep 1", b"<14>app: keep more 3"],
              f"kept.log holds {kept!r}: the drop-in's where did not run as written")

        # A new drop-in appears; the old one is edited after the reload read
        # it: the input threads must run what the reload read.
        put(d.path("sluice.d/20-more.lua"), MORE)
        d.ctl("reload")
        put(d.path("sluice.d/10-keep.lua"), "error('read after the reload')\n")
        tcp_send(d.address("tcp"), frames("more 4", "keep 5"))
        d.wait_lines("all.log", 5)
        more = d.wait_lines("more.log", 1)
        kept = d.wait_lines("kept.log", 3)
        check(more == [b"<14>app: more 4"], f"more.log holds {more!r} after the reload")
        check(kept[-1] == b"<14>app: keep 5", f"kept.log holds {kept!r} after the reload")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(30)
def test_check_names_included_file():
    with TempDir() as t:
        os.mkdir(t.path("sluice.d"))
        main = t.write("sluice.lua", MAIN)
        drop = t.write("sluice.d/50-bad.lua", "\nroute { to = \"nowhere\" }\n")
        r = sluiced(["--check", "-c", main])
        want = f"{drop}:2: route: 'to' names unknown output 'nowhere'"
        check(r.returncode == 1 and want in r.stderr,
              f"--check exited {r.returncode}, stderr {r.stderr!r}; expected 1 and {want!r}")
        put(drop, KEEP)
        r = sluiced(["--check", "-c", main])
        check(r.returncode == 0, f"--check of a good drop-in exited {r.returncode}: {r.stderr!r}")


if __name__ == "__main__":
    sluicetest.main([test_check_names_included_file, test_where_in_drop_in_and_reload])
