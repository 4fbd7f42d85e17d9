#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The archive output with the real daemon:

- 200,000 numbered lines over TCP, then SIGTERM: `zstd -t` passes and
  `zstdcat` gives back exactly the lines sent, in order; the plugin's
  counters in `sluicectl stats` agree with the file;
- kill -9 while lines stream in, after a few flushes: the file then holds
  whole frames and (usually) the frame under way, torn. The test finds the
  whole frames itself (a frame parser of its own, not the plugin's), and
  when the kill happened to fall between frames it appends half a frame,
  so a torn tail is always there. Restart: the daemon logs the cut, more
  lines, SIGTERM: `zstd -t` passes and the archive is exactly the lines of
  the whole frames, then the later lines: none lost, none twice, in order;
- `{date}` in the path names the file with today's date, local time;
- a text file at the path stops the start, and is left as it was;
- a rename and `sluicectl reopen`: both files are whole archives;
- `sluiced --check` names FILE:LINE for each bad value: level = 99,
  workers = -1, {app_name} in the path, flush_interval = "soon", an
  unknown key; and creates nothing."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import (Daemon, Skip, TempDir, check, lf_frames, sluiced, tcp_connect,  # noqa: E402
                        wait_until)

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "arc" { type = "archive", path = "%s", flush_interval = "200ms", level = 3 }
route { to = "arc" }
"""


def need_zstd():
    if sluicetest.which("zstd") is None:
        raise Skip("no zstd command")


def line(tag, i):
    """A line that varies as logs do (numbers, addresses), numbered."""
    return (b"<14>app[%d]: %s seq %07d from 10.%d.%d.%d took %d ms"
            % (1000 + i % 97, tag, i, i % 256, (i >> 8) % 256, i % 7, (i * 7919) % 5000))


def zstd_test(path):
    r = subprocess.run(["zstd", "-q", "-t", path], capture_output=True, timeout=60)
    check(r.returncode == 0, f"zstd -t {path} failed: {r.stderr!r}")


def zstdcat(path):
    r = subprocess.run(["zstd", "-q", "-d", "-c", path], capture_output=True, timeout=60)
    check(r.returncode == 0, f"zstdcat {path} failed: {r.stderr!r}")
    return r.stdout


def frame_size(d, o):
    """The length of the complete zstd (or skippable) frame at d[o:], or
    None when it is cut short or is not one (RFC 8878, section 3.1)."""
    if len(d) - o < 4:
        return None
    magic = int.from_bytes(d[o:o + 4], "little")
    if 0x184D2A50 <= magic <= 0x184D2A5F:
        if len(d) - o < 8:
            return None
        total = 8 + int.from_bytes(d[o + 4:o + 8], "little")
        return total if o + total <= len(d) else None
    if magic != 0xFD2FB528 or o + 4 >= len(d):
        return None
    fhd = d[o + 4]
    single, checksum, dict_flag, fcs_flag = (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3, fhd >> 6
    p = o + 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] \
        + ((1 if single else 0), 2, 4, 8)[fcs_flag]
    while True:
        if p + 3 > len(d):
            return None
        bh = int.from_bytes(d[p:p + 3], "little")
        p += 3 + (1 if (bh >> 1) & 3 == 1 else bh >> 3)
        if p > len(d):
            return None
        if bh & 1:
            break
    p += 4 * checksum
    return p - o if p <= len(d) else None


def whole_frames(d):
    off = 0
    while off < len(d):
        n = frame_size(d, off)
        if n is None:
            break
        off += n
    return off


def send(d, lines, chunk=2000):
    with tcp_connect(d.address("tcp")) as sock:
        for k in range(0, len(lines), chunk):
            sock.sendall(lf_frames(lines[k:k + chunk]))


@sluicetest.timeout(120)
def test_200k_lines_sigterm():
    need_zstd()
    lines = [line(b"big", i) for i in range(200000)]
    with Daemon(CONFIG % "arc.zst") as d:
        send(d, lines)
        s = d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(lines), timeout=60,
                        what="200000 written")
        check(s["outputs"]["arc"]["written"] == len(lines), f"stats: {s['outputs']['arc']}")
        check(d.stop() == 0, "sluiced did not exit 0")
        path = d.path("arc.zst")
        zstd_test(path)
        got = zstdcat(path)
        want = b"\n".join(lines) + b"\n"
        nl = got.count(b"\n")
        diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), -1)
        check(got == want, f"zstdcat gives {nl} lines, not the 200000 sent (first difference "
              f"at byte {diff})")
        size = os.path.getsize(path)
        check(size * 4 < len(want), f"{size} bytes for {len(want)}: hardly compressed")


@sluicetest.timeout(60)
def test_counters_in_stats():
    need_zstd()
    lines = [line(b"cnt", i) for i in range(5000)]
    with Daemon(CONFIG % "c.zst") as d:
        send(d, lines)
        d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(lines), timeout=30,
                    what="5000 written")

        def flushed(s):
            p = s["outputs"]["arc"].get("plugin", {})
            return p.get("frames", 0) >= 1 and p.get("bytes_out", 0) == \
                (os.path.getsize(d.path("c.zst")) if os.path.exists(d.path("c.zst")) else -1)
        s = d.wait_stat(flushed, timeout=10, what="a frame flushed, bytes_out = the file's size")
        p = s["outputs"]["arc"]["plugin"]
        want = len(b"\n".join(lines) + b"\n")
        check(p["bytes_in"] == want, f"bytes_in {p['bytes_in']}, sent {want}: {p}")
        check(p["files"] == 1 and p["repairs"] == 0 and p["frames_lost"] == 0, f"{p}")
        d.stop()
        zstd_test(d.path("c.zst"))


def stream_until(d, stop, sent):
    """Sends numbered lines until stop is set or the daemon is gone;
    sent[0] counts the lines handed to the socket."""
    try:
        with tcp_connect(d.address("tcp")) as sock:
            i = 0
            while not stop.is_set():
                sock.sendall(lf_frames([line(b"one", i + k) for k in range(500)]))
                i += 500
                sent[0] = i
                time.sleep(0.002)  # about 200,000 lines a second at most
    except OSError:
        pass  # killed under us


@sluicetest.timeout(120)
def test_kill9_repaired_at_restart():
    need_zstd()
    with Daemon(CONFIG % "k.zst") as d:
        path = d.path("k.zst")
        stop, sent = threading.Event(), [0]
        t = threading.Thread(target=stream_until, args=(d, stop, sent))
        t.start()
        try:
            # A few flushes: 1.2 s is six flush intervals; and bytes there.
            time.sleep(1.2)
            wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 100000,
                       timeout=20, what="k.zst past 100 KB")
            d.signal(signal.SIGKILL)
            d.wait_exit()
        finally:
            stop.set()
            t.join(timeout=10)
        with open(path, "rb") as f:
            data = f.read()
        whole = whole_frames(data)
        check(whole > 0, f"no whole frame in {len(data)} bytes after several flushes")
        torn_by_kill = whole < len(data)
        if not torn_by_kill:  # the kill fell between frames: tear one ourselves
            half = subprocess.run(["zstd", "-q", "-c"], input=b"never seen\n" * 5000,
                                  capture_output=True, timeout=20).stdout
            with open(path, "ab") as f:
                f.write(half[:len(half) // 2])
        with open(path + ".whole", "wb") as f:
            f.write(data[:whole])
        complete = zstdcat(path + ".whole").split(b"\n")[:-1]
        first = [line(b"one", i) for i in range(len(complete))]
        check(complete == first, "the whole frames are not the first lines sent, in order")
        print(f"kill -9 after {sent[0]} lines sent: {len(complete)} in whole frames, "
              f"{len(data) - whole} bytes torn by the kill"
              + ("" if torn_by_kill else " (none: half a frame appended by the test)"))

        d.start()
        log = d.wait_log("ended in a torn zstd frame", timeout=10)
        check(re.search(r"cut from \d+ to %d bytes" % whole, log) is not None,
              f"the cut is not to the whole frames' {whole} bytes:\n{log}")
        later = [line(b"two", i) for i in range(20000)]
        send(d, later)
        s = d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(later), timeout=30,
                        what="20000 more written")
        check(s["outputs"]["arc"]["plugin"]["repairs"] == 1, f"{s['outputs']['arc']}")
        check(d.stop() == 0, "sluiced did not exit 0")
        zstd_test(path)
        got = zstdcat(path).split(b"\n")
        check(got[-1] == b"", "the archive does not end in a line")
        got = got[:-1]
        check(got[:len(complete)] == complete, "the lines of the whole frames changed")
        check(got[len(complete):] == later,
              f"after the {len(complete)} whole-frame lines: {len(got) - len(complete)} lines, "
              f"not the {len(later)} sent after the restart, in order")


@sluicetest.timeout(60)
def test_date_in_path():
    need_zstd()
    lines = [line(b"date", i) for i in range(100)]
    before = time.strftime("%Y-%m-%d", time.localtime())
    with Daemon(CONFIG % "arc/{date}.zst") as d:
        send(d, lines)
        d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(lines), timeout=30,
                    what="100 written")
        d.stop()
        after = time.strftime("%Y-%m-%d", time.localtime())
        names = sorted(os.listdir(d.path("arc")))
        check(names in ([f"{before}.zst"], [f"{after}.zst"]) or
              names == sorted({f"{before}.zst", f"{after}.zst"}),
              f"archives {names}, today is {before}")
        got = b"".join(zstdcat(d.path("arc/" + n)) for n in names)
        check(got == b"\n".join(lines) + b"\n", "the lines differ")


@sluicetest.timeout(30)
def test_text_file_refused_untouched():
    text = b"Nov 22 10:00:00 host app: a text log, not an archive\n"
    d = Daemon(CONFIG % "t.zst", start=False)
    with d:
        with open(d.path("t.zst"), "wb") as f:
            f.write(text)
        d.start(wait=False)
        status = d.wait_exit(timeout=15)
        check(status != 0, "sluiced started on a text file at an archive's path")
        check('"t.zst" is not a zstd archive (from byte 0 of 53' in d.log(), d.log())
        with open(d.path("t.zst"), "rb") as f:
            check(f.read() == text, "the text file was changed")


@sluicetest.timeout(60)
def test_reopen_after_rename():
    need_zstd()
    first = [line(b"r1", i) for i in range(3000)]
    second = [line(b"r2", i) for i in range(3000)]
    with Daemon(CONFIG % "r.zst") as d:
        send(d, first)
        d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(first), timeout=30,
                    what="the first lines written")
        os.rename(d.path("r.zst"), d.path("r.zst.1"))
        d.ctl("reopen")
        send(d, second)
        d.wait_stat(lambda s: s["outputs"]["arc"]["written"] >= len(first) + len(second),
                    timeout=30, what="the second lines written")
        check(d.stop() == 0, "sluiced did not exit 0")
        for name, want in (("r.zst.1", first), ("r.zst", second)):
            zstd_test(d.path(name))
            check(zstdcat(d.path(name)) == b"\n".join(want) + b"\n", f"{name} differs")


BAD = [
    ('level = 99', 'key "level": level 99 is outside zstd\'s'),
    ('workers = -1', 'key "workers": workers -1: this libzstd takes 0 ..'),
    ('path = "logs/{app_name}.zst"', 'key "path": "{app_name}" is not a placeholder of an '
     'archive path'),
    ('flush_interval = "soon"', 'key "flush_interval" must be a duration'),
    ('levle = 3', "unknown key 'levle' for type \"archive\", did you mean 'level'?"),
]


@sluicetest.timeout(30)
def test_check_names_each_bad_value():
    text = 'input "tcp" { type = "tcp", listen = "127.0.0.1:0" }\n'
    for i, (kv, _) in enumerate(BAD):
        path = 'path = "o%d.zst", ' % i if not kv.startswith("path") else ""
        text += 'output "o%d" { type = "archive", %s%s }\n' % (i, path, kv)
    text += 'route { to = { %s } }\n' % ", ".join('"o%d"' % i for i in range(len(BAD)))
    with TempDir() as t:
        conf = t.write("bad.lua", text)
        r = sluiced(["--check", "-c", conf], cwd=t.dir)
        check(r.returncode == 1, f"--check exited {r.returncode}: {r.stderr!r}")
        for i, (kv, want) in enumerate(BAD):
            where = f"{conf}:{i + 2}: "
            check(any(e.startswith(where) and want in e for e in r.stderr.splitlines()),
                  f"{kv}: no {where}... {want!r} in:", *r.stderr.splitlines())
        check(sorted(os.listdir(t.dir)) == ["bad.lua"], f"--check created {os.listdir(t.dir)}")


if __name__ == "__main__":
    sluicetest.main([test_200k_lines_sigterm, test_counters_in_stats,
                     test_kill9_repaired_at_restart, test_date_in_path,
                     test_text_file_refused_untouched, test_reopen_after_rename,
                     test_check_names_each_bad_value])
