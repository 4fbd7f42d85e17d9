#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sluiced --check against what a hostile run found it let pass (an empty
path, set-id mode bits, a host name with a newline, a template key no
message can carry), each a FILE:LINE error, also refused by a reload that
leaves the daemon running; and --check of 100,000 outputs, which was
quadratic, within a bound."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, TempDir, check, lf_frames, sluiced, tcp_send  # noqa: E402

HEAD = 'settings { control = "sluice.ctl" }\ninput "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'

# (what, line 3 of the file, what its error says)
BAD_LINES = [
    ("empty path", 'output "o" { type = "file", path = "" }', 'key "path" must not be empty'),
    ("set-uid mode", 'output "o" { type = "file", path = "o.log", mode = "4755" }',
     'key "mode" must be a string of octal digits from "0000" to "0777"'),
    ("sticky mode", 'output "o" { type = "file", path = "o.log", mode = "1777" }',
     "no set-uid, set-gid or sticky bit"),
    ("unsettable template key",
     'output "o" { type = "file", path = "o.log", format = "{fields.a b} {msg}" }',
     "{fields.a b} in template can never be set"),
]


def test_check_refuses_hostile_values():
    failures = []
    with TempDir() as t:
        for i, (what, line, want) in enumerate(BAD_LINES):
            path = t.write(f"bad{i}.lua", HEAD + line + '\nroute { to = "o" }\n')
            r = sluiced(["--check", "-c", path], cwd=t.dir)
            errs = [e for e in r.stderr.splitlines() if e.startswith(f"{path}:3: ")]
            if r.returncode != 1 or not any(want in e for e in errs):
                failures.append(f"{what}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
            if os.path.exists(t.path("o.log")):
                failures.append(f"{what}: --check created o.log")
        path = t.write("host.lua", 'settings { control = "sluice.ctl",\n'
                       '           hostname = "evil\\nNov 22 10:00:00 forged: line" }\n')
        r = sluiced(["--check", "-c", path], cwd=t.dir)
        if r.returncode != 1 or f"{path}:1: settings: key 'hostname': byte 0x0a at 5" \
                not in r.stderr:
            failures.append(f"hostname with a newline: exit {r.returncode}, "
                            f"stderr {r.stderr.strip()!r}")
    check(not failures, f"{len(failures)} values passed --check:", *failures)


@sluicetest.timeout(40)
def test_reload_refuses_empty_path_and_keeps_running():
    config = HEAD + 'output "o" { type = "file", path = "o.log", format = "raw" }\n' \
                    'route { to = "o" }\n'
    with Daemon(config) as d:
        d.write_config(config.replace('path = "o.log"', 'path = ""'))
        r = d.ctl("reload", check=False)
        check(r.returncode != 0 and 'key "path" must not be empty' in r.stdout,
              f"reload of path = \"\" answered {r.stdout!r} (exit {r.returncode})")
        tcp_send(d.address("tcp"), lf_frames([b"<14>app: still here"]))
        check(d.wait_lines("o.log", 1) == [b"<14>app: still here"], "o.log")


@sluicetest.timeout(60)
def test_check_of_100000_outputs_is_linear():
    """Duplicate names and routes' output names were found by comparing
    every pair, and each output's plugin was mapped anew: 100,000 outputs
    took minutes. The daemon refuses that many (at most 256), but must say
    so in seconds."""
    n = 100000
    text = HEAD + "".join(f'output "o{i}" {{ type = "file", path = "out/o{i}.log" }}\n'
                          for i in range(n))
    text += 'output "o7" { type = "file", path = "again.log" }\n'
    text += "route { to = { " + ", ".join(f'"o{i}"' for i in range(n)) + " } }\n"
    with TempDir() as t:
        path = t.write("many.lua", text)
        start = time.monotonic()
        try:
            r = sluiced(["--check", "-c", path], cwd=t.dir, timeout=20)
        except sluicetest.subprocess.TimeoutExpired:
            raise AssertionError(f"--check of {n} outputs ran past 20 s")
        took = time.monotonic() - start
        print(f"--check of {n} outputs: {took:.1f} s")
        check(r.returncode == 1, f"--check exited {r.returncode}", r.stderr[-2000:])
        check(f"{path}: {n + 1} outputs; at most" in r.stderr, "no count error", r.stderr[:2000])
        check(f'{path}:{n + 3}: output "o7": already declared at line 10' in r.stderr,
              "the duplicate was not reported", r.stderr[:2000])
        check(not os.path.exists(t.path("out")), "--check created files")


if __name__ == "__main__":
    sluicetest.main([test_check_refuses_hostile_values,
                     test_reload_refuses_empty_path_and_keeps_running,
                     test_check_of_100000_outputs_is_linear])
