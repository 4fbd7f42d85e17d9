#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The disk queue (issue 11), with the real sluiced: counts, not timings.

- kill -9: an output on a full file system (a 2 MiB tmpfs, root only)
  while 50,000 messages are enqueued on disk; the daemon is killed; the
  file system grows; the same config restarts and writes all 50,000, each
  at least once and in order, duplicates at most one batch, and stats
  show what was replayed.
- corruption: a daemon killed with unacknowledged records (the "flaky"
  plugin refuses every write while its fail file exists); a byte is
  flipped in one segment's record and another segment is cut in the
  middle of a record; the restart reports the damage in the log and the
  stats, delivers everything else in order, and keeps running.
- reload: a disk output added by a reload opens its queue; one whose
  disk settings change keeps its queue (logged); a second daemon on the
  same state_dir is refused with a clear error.
- load: messages over 4 TCP connections into an output slower than the
  senders (the "slow" plugin's batch_delay_ms), with a max_size small
  enough that it must bound: sent = written, in per-connection order, and
  the segment files, sampled during the run, stay under max_size.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check, lf_frames, tcp_connect  # noqa: E402

SEQ = re.compile(rb"seq (\d{6})\b")


def msgs(n, tag=b"app"):
    return [b"<14>Nov 22 10:00:00 host %s[1]: seq %06d padding-padding" % (tag, i)
            for i in range(n)]


def seqs_in(path):
    """The seq numbers in a file, in file order (a line cut by a full disk
    and completed by a later append shows only its complete seq)."""
    try:
        with open(path, "rb") as f:
            return [int(m) for m in SEQ.findall(f.read())]
    except FileNotFoundError:
        return []


def disk_stats(d, output):
    return d.output_stats(output).get("disk", {})


def queue_dir_bytes(path):
    total = 0
    for name in os.listdir(path):
        if name.endswith(".seg"):
            try:
                total += os.stat(os.path.join(path, name)).st_size
            except FileNotFoundError:
                pass  # deleted meanwhile: acknowledged
    return total


def segments(path):
    return sorted(n for n in os.listdir(path) if n.endswith(".seg") and len(n) == 20)


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        raise Skip("not root: cannot mount a tmpfs to fill")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"mount -t tmpfs failed: {r.stderr.strip()}")


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def state_dir(d):
    path = d.path("state")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def check_in_order_at_least_once(got, n, max_dups):
    """Every seq 0..n-1 at least once; the file reads as increasing runs
    where each restart goes back at most max_dups."""
    check(set(got) == set(range(n)), f"missing seqs: {sorted(set(range(n)) - set(got))[:10]}...")
    dups = len(got) - n
    check(dups <= max_dups, f"{dups} duplicates, more than one batch ({max_dups})")
    high = -1
    for i, s in enumerate(got):
        if s > high + 1:
            raise AssertionError(f"out of order at line {i}: {s} after {high}")
        if s <= high:
            check(high - s < max_dups, f"a replay went back {high - s} at line {i}")
        high = max(high, s)
    return dups


@sluicetest.timeout(120)
def test_kill_9_with_a_full_output_replays_everything():
    n = 50000
    sent = msgs(n)
    d = Daemon("", start=False)
    out_dir = d.path("out")
    mount_tmpfs(out_dir, "2m")
    try:
        d.write_config(f"""
settings {{ control = "sluice.ctl", state_dir = "{state_dir(d)}" }}
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0" }}
output "full" {{ type = "file", path = "out/out.log", format = "raw",
                queue = {{ policy = "disk", capacity = 5000,
                          disk = {{ max_size = "256M", sync = "none" }} }} }}
route {{ to = "full" }}
""")
        d.start()
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(sent))
            st = d.wait_stat(lambda st: st["outputs"]["full"]["enqueued"] == n, 60,
                             f"{n} enqueued")
        out = st["outputs"]["full"]
        check(out["written"] < n, f"the 2 MiB output took everything: {out}")
        check(out["state"] == "retrying", f"the output is not failing: {out}")
        before = len(seqs_in(d.path("out/out.log")))
        d.signal(signal.SIGKILL)
        d.wait_exit(10)
        r = subprocess.run(["mount", "-o", "remount,size=64m", out_dir], capture_output=True,
                           text=True)
        check(r.returncode == 0, f"remount failed: {r.stderr}")
        d.start()
        st = d.wait_stat(lambda st: len(seqs_in(d.path("out/out.log"))) >= n
                         and st["outputs"]["full"]["queue_depth"] == 0, 60,
                         "everything written after the restart")
        disk = st["outputs"]["full"]["disk"]
        check(st["outputs"]["full"]["enqueued"] == disk["replayed"],
              f"the replayed are not counted as enqueued: {st['outputs']['full']}")
        got = seqs_in(d.path("out/out.log"))
        dups = check_in_order_at_least_once(got, n, 2048)
        check(disk["replayed"] >= n - before and disk["replayed"] <= n,
              f"replayed {disk['replayed']}, {before} were written before the kill")
        check(disk["corrupt"] == 0 and disk["torn"] == 0, f"damage reported: {disk}")
        print(f"{before} written before kill -9, {disk['replayed']} replayed, {dups} duplicates")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    finally:
        if d.running():
            d.signal(signal.SIGKILL)
            d.wait_exit(10)
        umount(out_dir)


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))


@sluicetest.timeout(120)
def test_damaged_segments_are_reported_and_the_rest_delivered():
    n = 30000
    sent = msgs(n)
    d = Daemon("", start=False)
    sdir = state_dir(d)
    d.write_config(f"""
settings {{ control = "sluice.ctl", state_dir = "{sdir}" }}
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0" }}
output "q" {{ type = "flaky", path = "out.log", format = "raw", fail_file = "fail",
             fail_with = "retry",
             queue = {{ policy = "disk", capacity = 1000,
                       disk = {{ max_size = "64M", segment_size = "256K", sync = "batch" }} }} }}
route {{ to = "q" }}
""")
    open(d.path("fail"), "w").close()
    d.start()
    with tcp_connect(d.address("tcp")) as s:
        s.sendall(lf_frames(sent))
        d.wait_stat(lambda st: st["outputs"]["q"]["enqueued"] == n, 60, f"{n} enqueued")
    d.signal(signal.SIGKILL)
    d.wait_exit(10)
    qdir = os.path.join(sdir, "q")
    segs = segments(qdir)
    check(len(segs) >= 6, f"only {len(segs)} segments: {segs}")
    flip_byte(os.path.join(qdir, segs[1]), 32 + 100)  # inside its first record
    cut = os.path.join(qdir, segs[3])
    os.truncate(cut, os.path.getsize(cut) // 2 + 7)  # in the middle of a record
    os.unlink(d.path("fail"))
    d.start()
    st = d.wait_stat(lambda st: st["outputs"]["q"]["queue_depth"] == 0
                     and st["outputs"]["q"]["written"] > 0, 60, "the replay written")
    disk = st["outputs"]["q"]["disk"]
    check(disk["corrupt"] >= 2, f"damage not counted: {disk}")
    check(disk["bad_segments"] == 2, f"bad segments: {disk}")
    log = d.log()
    check("damaged record" in log, "the log does not report the damaged record")
    check(len(os.listdir(os.path.join(qdir, "damaged"))) == 2, "damaged files not kept")
    got = seqs_in(d.path("out.log"))
    check(got == sorted(got) and len(set(got)) == len(got), "not in order, or repeated")
    missing = sorted(set(range(n)) - set(got))
    gaps = []
    for s in missing:
        if gaps and gaps[-1][1] == s - 1:
            gaps[-1][1] = s
        else:
            gaps.append([s, s])
    per_seg = n // len(segs) + 1
    check(len(gaps) <= 2, f"lost records in {len(gaps)} places: {gaps[:5]}")
    check(len(missing) <= per_seg, f"{len(missing)} lost, more than half a segment or so")
    print(f"{len(segs)} segments, {len(missing)} records lost to the damage in {gaps}, "
          f"disk stats {disk}")
    # still running and taking messages
    with tcp_connect(d.address("tcp")) as s:
        s.sendall(lf_frames(msgs(10, b"after")))
    d.wait_stat(lambda st: st["outputs"]["q"]["written"] >= len(got) + 10, 20, "10 more")
    check(d.stop() == 0, f"sluiced exited {d.returncode}")


# The 1,000,000 messages, over 4 connections, into an output capped
# at about 80,000 messages/s (one 25 ms pause per batch of at most 2,048:
# several times slower than the senders, which the memory queue takes at
# 600,000/s and more here), through a 4 MiB disk queue (about 200 bytes a
# record: the bound is reached at ~20,000 messages). About 15 s on 2 cores.
LOAD_CONNECTIONS = 4
LOAD_PER_CONNECTION = 250000
LOAD_MAX_SIZE = 4 << 20


@sluicetest.timeout(180)
def test_load_bounded_by_max_size():
    d = Daemon("", start=False)
    sdir = state_dir(d)
    d.write_config(f"""
settings {{ control = "sluice.ctl", state_dir = "{sdir}" }}
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0" }}
output "slow" {{ type = "slow", path = "out.log", format = "raw", delay_ms = 0,
                batch_delay_ms = 25,
                queue = {{ policy = "disk", capacity = 2000, overflow = "block",
                          disk = {{ max_size = {LOAD_MAX_SIZE}, sync = "none" }} }} }}
route {{ to = "slow" }}
""")
    d.start()
    addr = d.address("tcp")
    qdir = os.path.join(sdir, "slow")
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], queue_dir_bytes(qdir))
            time.sleep(0.01)

    def send(c):
        tag = b"c%d" % c
        with tcp_connect(addr, timeout=120) as s:
            s.sendall(lf_frames(msgs(LOAD_PER_CONNECTION, tag)))

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.monotonic()
    senders = [threading.Thread(target=send, args=(c,)) for c in range(LOAD_CONNECTIONS)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    total = LOAD_CONNECTIONS * LOAD_PER_CONNECTION
    try:
        st = d.wait_stat(lambda st: st["outputs"]["slow"]["written"] == total, 120,
                         f"{total} written")
    finally:
        done.set()
        sampler.join()
    took = time.monotonic() - start
    out = st["outputs"]["slow"]
    check(out["enqueued"] == total and out["dropped"] == 0, f"counters: {out}")
    disk = out["disk"]
    check(disk["full"] > 0, f"max_size never reached: the test does not bound: {disk}")
    check(peak[0] <= LOAD_MAX_SIZE, f"segments reached {peak[0]} bytes > {LOAD_MAX_SIZE}")
    per = {}
    with open(d.path("out.log"), "rb") as f:
        for line in f:
            m = re.search(rb" (c\d)\[1\]: seq (\d{6})", line)
            check(m is not None, f"a line that is no message: {line[:80]!r}")
            c, s = m.group(1), int(m.group(2))
            check(per.get(c, -1) == s - 1, f"{c!r}: {s} after {per.get(c)}")
            per[c] = s
    check(all(v == LOAD_PER_CONNECTION - 1 for v in per.values()) and len(per) == 4,
          f"last per connection: {per}")
    print(f"{total} messages in {took:.1f} s ({total / took:.0f}/s), peak segments "
          f"{peak[0]} bytes of max {LOAD_MAX_SIZE}, read from disk {disk['read_from_disk']}, "
          f"refused pushes {disk['full']}")
    check(d.stop() == 0, f"sluiced exited {d.returncode}")


def reload(d, config):
    d.write_config(config)
    r = d.ctl("reload", check=False, timeout=30)
    check(r.returncode == 0 and r.stdout.strip() == "ok", f"reload answered {r.stdout!r}")


@sluicetest.timeout(60)
def test_reload_opens_a_new_disk_queue_and_keeps_a_changed_one():
    d = Daemon("", start=False)
    sdir = state_dir(d)
    base = f"""
settings {{ control = "sluice.ctl", state_dir = "{sdir}" }}
input "tcp" {{ type = "tcp", listen = "127.0.0.1:0" }}
output "mem" {{ type = "file", path = "mem.log", format = "raw" }}
"""
    disk = """
output "dq" {{ type = "file", path = "dq.log", format = "raw",
              queue = {{ policy = "disk", disk = {{ max_size = "{size}" }} }} }}
route {{ to = {{ "mem", "dq" }} }}
"""
    d.write_config(base + 'route { to = "mem" }\n')
    d.start()
    reload(d, base + disk.format(size="8M"))  # a new disk output: its queue opens
    check(os.path.isdir(os.path.join(sdir, "dq")), "no queue directory after the reload")
    with tcp_connect(d.address("tcp")) as s:
        s.sendall(lf_frames(msgs(1000)))
    d.wait_stat(lambda st: st["outputs"]["dq"]["written"] == 1000, 20, "1000 through dq")
    check("disk" in d.output_stats("dq") and "disk" not in d.output_stats("mem"),
          "the disk object is for the disk output only")
    reload(d, base + disk.format(size="16M"))  # changed: the queue stays as it was
    d.wait_log("when sluiced restarts")  # the change of queue.disk is logged, not applied
    with tcp_connect(d.address("tcp")) as s:
        s.sendall(lf_frames(msgs(1000, b"two")))
    d.wait_stat(lambda st: st["outputs"]["dq"]["written"] == 2000, 20, "1000 more through dq")
    check(seqs_in(d.path("dq.log")) == list(range(1000)) * 2, "dq.log is not both rounds")
    check(d.stop() == 0, f"sluiced exited {d.returncode}")
    # a second daemon on the same state_dir while the first runs is refused
    d.start()
    with open(d.conf_path) as f:
        other = Daemon(f.read(), start=False)  # its own directory, the same state_dir
    other.start(wait=False)
    check(other.wait_exit(10) != 0, "a second daemon shared the disk queue")
    check("in use by another process" in other.log(), "no clear error for the shared queue")
    check(d.stop() == 0, f"sluiced exited {d.returncode}")


@sluicetest.timeout(30)
def test_check_refuses_unsafe_queue_names_and_missing_state_dir():
    with sluicetest.TempDir() as t:
        bad = t.write("bad.lua", f"""
settings {{ state_dir = "{t.dir}" }}
output "../up" {{ type = "file", path = "a.log", queue = {{ policy = "disk" }} }}
output ".hidden" {{ type = "file", path = "b.log", queue = {{ policy = "disk" }} }}
output "fine-1.x" {{ type = "file", path = "c.log", queue = {{ policy = "disk" }} }}
route {{ to = {{ "../up", ".hidden", "fine-1.x" }} }}
""")
        r = sluicetest.sluiced(["--check", "-c", bad, "-P", os.path.join(
            os.environ["TOP_BUILDDIR"], "plugins")])
        out = r.stdout + r.stderr
        check(r.returncode != 0, f"--check accepted unsafe names: {out}")
        check(out.count("the name must be letters, digits") == 2,
              f"not one error for each unsafe name: {out}")
        check(bad + ":3:" in out and bad + ":4:" in out and ":5:" not in out,
              f"errors not at the outputs' lines: {out}")
        none = t.write("none.lua", """
output "q" { type = "file", path = "a.log", queue = { policy = "disk" } }
route { to = "q" }
""")
        r = sluicetest.sluiced(["--check", "-c", none])
        check(r.returncode != 0 and "settings.state_dir, which is not set" in r.stdout + r.stderr,
              f"--check without state_dir: {r.stdout + r.stderr}")


if __name__ == "__main__":
    sluicetest.main([test_kill_9_with_a_full_output_replays_everything,
                     test_damaged_segments_are_reported_and_the_rest_delivered,
                     test_reload_opens_a_new_disk_queue_and_keeps_a_changed_one,
                     test_check_refuses_unsafe_queue_names_and_missing_state_dir,
                     test_load_bounded_by_max_size])
