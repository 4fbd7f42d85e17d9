#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sluicectl's commands for a person: status (pid, config, uptime, the last
reload and its result), stats --pretty, --help; and the commands that change
something, asked on the control socket, logged as their signals are."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, run, sluicectl_path  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log" }
route { to = "out" }
"""


def status(d):
    r = d.ctl("status")
    fields = {}
    for line in r.stdout.splitlines():
        key, sep, value = line.partition(": ")
        check(sep == ": ", f"a status line that is not KEY: VALUE: {line!r}")
        fields[key] = value
    return fields


def test_status_follows_reloads():
    with Daemon(CONFIG) as d:
        s = status(d)
        check(s["state"] == "running" and s["pid"] == str(d.pid), f"status: {s}")
        check(s["config"] == d.conf_path and s["last_reload"] == "never", f"status: {s}")
        check(s["inputs"] == "1" and s["outputs"] == "1", f"status: {s}")
        check(int(s["uptime"]) >= 0 and s["started"].endswith("Z"), f"status: {s}")
        check(d.ctl("reload").stdout == "ok\n", "the reload failed")
        s = status(d)
        check(s["reloads"] == "1" and s["reloads_failed"] == "0", f"status: {s}")
        check(s["last_reload"].endswith(" ok") and "last_reload_error" not in s, f"status: {s}")
        with open(d.conf_path, "a") as f:
            f.write("route { to = 'nowhere' }\n")
        r = d.ctl("reload", check=False)
        check(r.returncode == 1 and r.stdout.startswith("error: "), f"reload: {r.stdout!r}")
        s = status(d)
        check(s["reloads"] == "2" and s["reloads_failed"] == "1", f"status: {s}")
        check(s["last_reload"].endswith(" failed"), f"status: {s}")
        line = sum(1 for _ in open(d.conf_path))
        check("nowhere" in s["last_reload_error"] and f":{line}:" in s["last_reload_error"],
              f"the error names the line: {s['last_reload_error']!r}")
        st = d.stats()
        check(st["reloads"] == 2 and st["reloads_failed"] == 1, f"stats: {st}")
        # Logged like their signals, whoever asked.
        d.ctl("reopen")
        d.ctl("flush")
        for what in ("reload requested on the control socket",
                     "reopen requested on the control socket, reopening files",
                     "flush requested on the control socket"):
            d.wait_log(what)
        check("status requested" not in d.log(), "status, which changes nothing, was logged")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("status tells the last reload and its result; control commands are logged")


def test_pretty_stats_and_help():
    with Daemon(CONFIG) as d:
        r = run([sluicectl_path(), "-s", d.ctl_path, "stats", "--pretty"])
        check(r.returncode == 0, f"stats --pretty exited {r.returncode}: {r.stderr!r}")
        lines = r.stdout.splitlines()
        check(len(lines) > 20 and lines[0] == "{" and lines[-1] == "}", f"{r.stdout[:200]!r}")
        check('  "inputs": {' in lines and '    "tcp": {' in lines, "not indented by level")
        pretty = json.loads(r.stdout)
        plain = d.stats()
        pretty.pop("uptime"), plain.pop("uptime")
        check(pretty == plain, "stats --pretty is not the same object as stats")
        r = run([sluicectl_path(), "-s", d.ctl_path, "reload", "--pretty"])
        check(r.returncode == 2, f"--pretty on reload exited {r.returncode}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    for opt in ("--help", "-h"):
        r = run([sluicectl_path(), opt])
        check(r.returncode == 0, f"sluicectl {opt} exited {r.returncode}")
        for word in ("stats", "status", "reload", "reopen", "flush", "--socket", "--pretty"):
            check(word in r.stdout, f"sluicectl {opt} does not mention {word}")
    r = run([sluicectl_path(), "--version"])
    check(r.returncode == 0 and r.stdout.startswith("sluicectl "), f"--version: {r.stdout!r}")
    print("stats --pretty is the same object indented; --help lists every command")


if __name__ == "__main__":
    sluicetest.main([test_status_follows_reloads, test_pretty_stats_and_help])
