#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The perproc output with the real daemon: 64 processes (multiprocessing),
each logging 5,000 lines through its own logging.handlers.SysLogHandler to
the unix input, each with its own ident. Files are named {app_name}/{pid}.log,
{pid} being the pid the kernel gave the daemon (SO_PASSCRED): each process's
file holds exactly its 5,000 lines, whole and in order, and no other file
exists. The same through max_open = 8, where the daemon must close and reopen
files all the time. The plugin's counters in sluicectl stats add up."""

import logging
import logging.handlers
import multiprocessing
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check  # noqa: E402

PROCS = 64
LINES = 5000

CONFIG = """
input "unix" { type = "unix", path = "log.sock" }
output "apps" { type = "perproc", dir = "var/log/apps", name = "{app_name}/{pid}.log",
                format = "{app_name} {msg}", max_open = %d,
                queue = { capacity = 20000, policy = "block" } }
route { to = "apps" }
"""


def child(address, k, start):
    """One process: its own ident, LINES numbered lines, then exit."""
    start.wait()
    log = logging.getLogger(f"perproc{k}")
    log.setLevel(logging.INFO)
    log.propagate = False
    h = logging.handlers.SysLogHandler(address=address)
    h.ident = f"app{k:02d}: "
    log.addHandler(h)
    for i in range(LINES):
        log.info("seq %05d of app%02d", i, k)
    h.close()


def run(max_open):
    with Daemon(CONFIG % max_open) as d:
        address = d.address("unix")
        ctx = multiprocessing.get_context("fork")
        start = ctx.Event()
        procs = [ctx.Process(target=child, args=(address, k, start)) for k in range(PROCS)]
        for p in procs:
            p.start()
        pids = {k: p.pid for k, p in enumerate(procs)}
        start.set()
        try:
            for p in procs:
                p.join(timeout=50)
                check(p.exitcode == 0, f"sender {p.pid} exited {p.exitcode}")
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
        total = PROCS * LINES
        d.wait_stat(lambda s: s["outputs"]["apps"]["written"] >= total, timeout=40,
                    what=f"{total} written")
        s = d.stats()
        check(s["inputs"]["unix"]["kernel_drops"] == 0, f"kernel drops: {s['inputs']['unix']}")
        root = d.path("var/log/apps")
        found = sorted(os.path.relpath(os.path.join(dp, f), root)
                       for dp, _, fs in os.walk(root) for f in fs)
        want = sorted(f"app{k:02d}/{pids[k]}.log" for k in range(PROCS))
        check(found == want, "files are not one per process",
              f"extra: {sorted(set(found) - set(want))[:5]}",
              f"missing: {sorted(set(want) - set(found))[:5]}")
        for k in range(PROCS):
            with open(os.path.join(root, f"app{k:02d}/{pids[k]}.log"), "rb") as f:
                data = f.read()
            want_data = b"".join(b"app%02d seq %05d of app%02d\n" % (k, i, k)
                                 for i in range(LINES))
            if data != want_data:
                lines = data.split(b"\n")
                bad = next((i for i, l in enumerate(lines)
                            if not re.fullmatch(rb"app%02d seq %05d of app%02d" % (k, i, k), l)),
                           None)
                check(False, f"app{k:02d}: {len(lines) - 1} lines, first wrong at {bad}: "
                      f"{lines[bad] if bad is not None and bad < len(lines) else None!r}")
        # The plugin's own counters (sluicectl stats, "plugin").
        c = d.output_stats("apps").get("plugin")
        check(c is not None, f"no plugin counters: {d.output_stats('apps')}")
        check(c["opens"] == c["evictions"] + c["idle_closes"] + c["open_files"],
              f"opens do not add up: {c}")
        check(c["open_files"] <= max_open and c["refused_names"] == 0, f"counters: {c}")
        return c


@sluicetest.timeout(90)
def test_64_processes_one_file_each():
    c = run(256)
    check(c["opens"] == PROCS and c["evictions"] == 0 and c["open_files"] == PROCS,
          f"64 files through max_open = 256: {c}")


@sluicetest.timeout(90)
def test_64_processes_through_max_open_8():
    c = run(8)
    check(c["evictions"] > 0 and c["opens"] > PROCS, f"64 files through max_open = 8: {c}")


ROTATE_CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "apps" { type = "perproc", dir = "logs", name = "{app_name}/f.log", format = "raw",
                rotate = { size = "64K", keep = 1000 } }
route { to = "apps" }
"""


@sluicetest.timeout(60)
def test_rotation_per_file_keeps_every_line_once():
    """rotate = { size = "64K" } on each file: 4 senders, 5,000 numbered
    lines each over TCP; each program's f.log.N .. f.log.1, f.log, read
    oldest first, hold its lines once each, in order, each file whole."""
    n, senders = 5000, 4
    with Daemon(ROTATE_CONFIG) as d:
        def one(k):
            msgs = [b"<14>1 2026-12-03T10:00:00Z h app%d - - - seq %05d %s" % (k, i, b"x" * (i % 41))
                    for i in range(n)]
            sluicetest.tcp_send(d.address("tcp"), sluicetest.lf_frames(msgs))
        threads = [threading.Thread(target=one, args=(k,)) for k in range(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        d.wait_stat(lambda s: s["outputs"]["apps"]["written"] >= n * senders, timeout=30,
                    what="all written")
        for k in range(senders):
            top = d.path(f"logs/app{k}")
            olds = sorted((int(m.group(1)) for m in (re.fullmatch(r"f\.log\.(\d+)", x)
                                                     for x in os.listdir(top)) if m), reverse=True)
            # A batch is never split, so a file passes 64K by up to one batch:
            # about 350K of lines make at least one old file, each over 64K.
            check(len(olds) >= 1 and olds == list(range(len(olds), 0, -1)),
                  f"app{k}: old files {olds}")
            for i in olds:
                check(os.path.getsize(os.path.join(top, f"f.log.{i}")) >= 64 * 1024,
                      f"app{k}/f.log.{i} rotated before 64K")
            lines = []
            for name in [f"f.log.{i}" for i in olds] + ["f.log"]:
                with open(os.path.join(top, name), "rb") as f:
                    data = f.read()
                check(data.endswith(b"\n"), f"app{k}/{name} ends in a torn line")
                lines += data.split(b"\n")[:-1]
            seqs = [int(re.search(rb"seq (\d{5})", l).group(1)) for l in lines]
            check(seqs == list(range(n)), f"app{k}: {len(seqs)} lines, not 0..{n - 1} in order")
        c = d.output_stats("apps")["plugin"]
        check(c["rotations"] >= senders, f"rotations: {c}")


BAD_CONFIG = """input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "a" { type = "perproc", dir = "logs", name = "{app_nme}/{pid}.log" }
output "b" { type = "perproc", name = "{app_name}.log" }
output "c" { type = "perproc", dir = "logs", name = "{app_name}.log", max_open = 0 }
output "d" { type = "perproc", dir = "logs", name = "{app_name}.log", idle_close = "soon" }
output "e" { type = "perproc", dir = "logs", name = "../{app_name}.log" }
route { to = "a" }
"""


@sluicetest.timeout(30)
def test_check_reports_each_bad_value():
    """sluiced --check: FILE:LINE for each bad perproc key, in one run, and
    nothing created (no dir)."""
    with sluicetest.TempDir() as t:
        conf = t.write("bad.lua", BAD_CONFIG)
        r = sluicetest.sluiced(["--check", "-c", conf], cwd=t.dir)
        check(r.returncode == 1, f"--check exited {r.returncode}", r.stdout, r.stderr)
        out = r.stdout + r.stderr
        for want in ['bad.lua:2: output "a" (perproc): key "name": unknown field {app_nme}, '
                     'did you mean {app_name}?',
                     'bad.lua:3: output "b" (perproc): key "dir" is required',
                     'bad.lua:4: output "c" (perproc): key "max_open" must be an integer '
                     'from 1 to 65536',
                     'bad.lua:5: output "d" (perproc): key "idle_close" must be a duration',
                     'bad.lua:6: output "e" (perproc): key "name": a component is empty, '
                     '"." or ".."']:
            check(want in out, f"--check did not say {want!r}", out)
        check(not os.path.exists(t.path("logs")), "--check created dir")


if __name__ == "__main__":
    sluicetest.main([test_check_reports_each_bad_value, test_64_processes_one_file_each,
                     test_64_processes_through_max_open_8,
                     test_rotation_per_file_keeps_every_line_once])
