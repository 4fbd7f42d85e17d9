#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The file output's rotation with compress = "zstd", every and suffix =
"date", with the real daemon:
 - 500,000 numbered messages over TCP through rotate = { size = "1M",
   keep = 1000, compress = "zstd" }: at least 20 rotations, every number
   exactly once across r.log.N.zst .. r.log, in order, every line whole,
   every .zst passing `zstd -t`, no .tmp left after SIGTERM;
 - a file whose mtime is a day back rotates at the first batch after the
   start with every = "day", suffix = "date", named by that day;
 - sluiced --check refuses each bad rotate value with FILE:LINE."""

import datetime
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import (Daemon, TempDir, check, lf_frames, sluiced, tcp_connect,  # noqa: E402
                        tcp_send, wait_until)

TOTAL = 500_000
PAD = b"p" * 80


def message(i):
    """About 80 bytes: 500,000 of them fill 1M files about 40 times."""
    return b"<14>app: n %07d %s" % (i, PAD[:50 + i % 25])


LINE = re.compile(rb"<14>app: n (\d{7,}) p*")


def send_range(addr, first, last, chunk=10_000):
    """Messages first..last-1 over one connection (one order)."""
    with tcp_connect(addr) as sock:
        for k in range(first, last, chunk):
            sock.sendall(lf_frames([message(i) for i in range(k, min(k + chunk, last))]))


def need_zstd():
    if sluicetest.which("zstd") is None:
        raise sluicetest.Skip("no zstd program")


def read_any(path):
    """A file's bytes, a .zst decompressed by zstdcat."""
    if path.endswith(".zst"):
        r = subprocess.run(["zstdcat", path], capture_output=True, timeout=30)
        check(r.returncode == 0, f"zstdcat {path}: {r.stderr!r}")
        return r.stdout
    with open(path, "rb") as f:
        return f.read()


def numbered_files(dirpath, base):
    """base's old files (either form), oldest first, then base; checks that
    each index is there in one form only and names no other file of ours."""
    by_index = {}
    for name in os.listdir(dirpath):
        m = re.fullmatch(re.escape(base) + r"\.(\d+)(\.zst)?", name)
        if m:
            check(int(m.group(1)) not in by_index, f"{base}.{m.group(1)} twice: {name} "
                  f"and {by_index.get(int(m.group(1)))}")
            by_index[int(m.group(1))] = name
    names = [by_index[i] for i in sorted(by_index, reverse=True)]
    if os.path.exists(os.path.join(dirpath, base)):
        names.append(base)
    return names


def numbers_in(dirpath, names):
    """The message numbers in the files, in file order; every line whole."""
    nums = []
    for name in names:
        data = read_any(os.path.join(dirpath, name))
        check(data == b"" or data.endswith(b"\n"), f"{name} ends in a torn line")
        for line in data.split(b"\n")[:-1]:
            m = LINE.fullmatch(line)
            check(m is not None, f"a broken line in {name}: {line[:80]!r}")
            nums.append(int(m.group(1)))
    return nums


def zstd_test(paths):
    if paths:
        r = subprocess.run(["zstd", "-t", "-q"] + paths, capture_output=True, timeout=60)
        check(r.returncode == 0, f"zstd -t failed: {r.stderr!r}")


@sluicetest.timeout(90)
def test_500k_messages_compressed_once_in_order():
    need_zstd()
    config = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "r.log", format = "raw",
               rotate = { size = "1M", keep = 1000, compress = "zstd" } }
route { to = "out" }
"""
    with Daemon(config) as d:
        started = time.monotonic()
        send_range(d.address("tcp"), 0, TOTAL)
        d.wait_stat(lambda s: s["outputs"]["out"]["written"] >= TOTAL, timeout=45,
                    what=f"{TOTAL} written")
        sent = time.monotonic() - started
        # The compressor keeps up: soon no old file waits uncompressed.
        wait_until(lambda: not any(re.fullmatch(r"r\.log\.\d+", n) for n in os.listdir(d.dir)),
                   20, "every old file compressed")
        check(d.stop() == 0, "sluiced exited non-zero")
        left = [n for n in os.listdir(d.dir) if n.endswith(".tmp")]
        check(not left, f"temporary files left: {left}")
        names = numbered_files(d.dir, "r.log")
        zsts = [d.path(n) for n in names if n.endswith(".zst")]
        check(len(zsts) >= 20, f"only {len(zsts)} rotations: {names}")
        zstd_test(zsts)
        nums = numbers_in(d.dir, names)
        check(len(nums) == TOTAL, f"{len(nums)} lines, {TOTAL} sent")
        check(nums == list(range(TOTAL)), "numbers out of order or twice")
        raw = sum(len(message(i)) + 1 for i in range(TOTAL))
        packed = sum(os.path.getsize(p) for p in zsts)
        print(f"{TOTAL} messages in {sent:.1f} s, {len(zsts)} rotations, "
              f"compressed {raw} -> {packed + os.path.getsize(d.path('r.log'))} bytes")


@sluicetest.timeout(30)
def test_day_old_file_rotates_at_first_batch():
    config = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "logs/m.log", format = "raw",
               rotate = { every = "day", suffix = "date", keep = 5 } }
route { to = "out" }
"""
    with Daemon(config, start=False) as d:
        os.mkdir(d.path("logs"))
        with open(d.path("logs/m.log"), "wb") as f:
            f.write(b"<14>app: yesterday\n")
        then = time.time() - 86400
        os.utime(d.path("logs/m.log"), (then, then))
        day = datetime.date.fromtimestamp(then).isoformat()
        d.start()
        tcp_send(d.address("tcp"), lf_frames([b"<14>app: today"]))
        wait_until(lambda: os.path.exists(d.path(f"logs/m.log-{day}")), 10,
                   f"m.log-{day}")
        lines = d.wait_lines("logs/m.log", 1)
        check(lines == [b"<14>app: today"], f"m.log: {lines}")
        old = sorted(os.listdir(d.path("logs")))
        check(old == ["m.log", f"m.log-{day}"], f"files: {old}")
        check(read_any(d.path(f"logs/m.log-{day}")) == b"<14>app: yesterday\n",
              "the old file's content")


BAD = [
    ('keep = -1', 'key "rotate.keep" must be an integer from 1 to 1000'),
    ('size = "12Q"', 'key "rotate.size" must be a size of at least 4K'),
    ('size = "1M", every = "month"', 'key "rotate.every" must be "hour", "day" or "week"'),
    ('size = "1M", compress = "gzip"', 'key "rotate.compress" must be "zstd"'),
    ('size = "1M", suffix = "x"', 'key "rotate.suffix" must be "number"'),
    ('size = "1M", max_age = "3 weeks"', 'key "rotate.max_age" must be a duration'),
]


@sluicetest.timeout(30)
def test_check_refuses_bad_rotate_values():
    failures = []
    head = ('settings { control = "sluice.ctl" }\n'
            'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n')
    with TempDir() as t:
        for i, (rot, want) in enumerate(BAD):
            path = t.write(f"bad{i}.lua", head + 'output "o" { type = "file", path = "o.log", '
                           f'rotate = {{ {rot} }} }}\nroute {{ to = "o" }}\n')
            r = sluiced(["--check", "-c", path], cwd=t.dir)
            errs = [e for e in r.stderr.splitlines() if e.startswith(f"{path}:3: ")]
            if r.returncode != 1 or not any(want in e for e in errs):
                failures.append(f"{rot}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        path = t.write("good.lua", head + 'output "o" { type = "file", path = "o.log", '
                       'sync = "batch", create_dirs = false, rotate = { size = "64M", '
                       'every = "day", keep = 8, suffix = "date", max_age = "30d", '
                       'compress = "zstd" } }\nroute { to = "o" }\n')
        r = sluiced(["--check", "-c", path], cwd=t.dir)
        if r.returncode != 0:
            failures.append(f"the issue's example: exit {r.returncode}, {r.stderr.strip()!r}")
        check(not os.path.exists(t.path("o.log")), "--check created o.log")
    check(not failures, f"{len(failures)} bad values passed --check:", *failures)


@sluicetest.timeout(30)
def test_create_dirs_false_refuses_missing_directory():
    config = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "nodir/m.log", create_dirs = false }
route { to = "out" }
"""
    with Daemon(config, start=False) as d:
        d.start(wait=False)
        code = d.wait_exit(10)
        check(code != 0, "sluiced started without nodir/")
        check('open() "nodir/m.log" failed (2: No such file or directory)' in d.log(),
              "the log line", d.log()[-2000:])
        check(not os.path.exists(d.path("nodir")), "nodir/ was created")


if __name__ == "__main__":
    sluicetest.main([test_500k_messages_compressed_once_in_order,
                     test_day_old_file_rotates_at_first_batch,
                     test_check_refuses_bad_rotate_values,
                     test_create_dirs_false_refuses_missing_directory])
