#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The kmsg input against the real /dev/kmsg: a line a program writes there
("<14>sluice-test-UNIQUE") arrives in a file output as user.info with its
text, escapes undone; from = "now" leaves out what the ring held at start,
from = "boot" delivers it, with the kernel's own records (kern, app_name
"kernel"); two kmsg inputs are refused by --check.

Reading /dev/kmsg needs root or CAP_SYSLOG, writing it root: a test that
cannot do either here (not root, a container without /dev/kmsg) is skipped
with the reason."""

import datetime
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, TempDir, check, sluiced  # noqa: E402

KMSG = "/dev/kmsg"


def config(frm):
    key = f', from = "{frm}"' if frm else ""
    return f"""
input "kernel" {{ type = "kmsg"{key} }}
output "out" {{ type = "file", path = "out.json", format = "json" }}
route {{ to = "out" }}
"""


def need_kmsg():
    """Skips unless this process may read and write /dev/kmsg."""
    try:
        fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise Skip(f"cannot open {KMSG} for reading ({e.strerror}): needs root or "
                   "CAP_SYSLOG, and a /dev/kmsg")
    try:
        os.read(fd, 16384)
    except BlockingIOError:
        pass
    except OSError as e:
        raise Skip(f"cannot read {KMSG} ({e.strerror})")
    finally:
        os.close(fd)
    try:
        os.close(os.open(KMSG, os.O_WRONLY))
    except OSError as e:
        raise Skip(f"cannot write {KMSG} ({e.strerror}): needs root")


def write_kmsg(text):
    """Writes one record as a program would; text is bytes. The newline
    matters: the kernel shows readers a record it could still continue
    only once the next one comes, and one ending in a newline at once."""
    fd = os.open(KMSG, os.O_WRONLY)
    try:
        os.write(fd, text + b"\n")
    finally:
        os.close(fd)


def first_seq():
    """The sequence number of the oldest record the ring holds now."""
    fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return int(os.read(fd, 16384).split(b",", 2)[1])
    finally:
        os.close(fd)


def unique(what):
    return f"sluice-test-{what}-{uuid.uuid4().hex[:12]}"


def with_msg(lines, msg):
    return [obj for obj in lines if obj.get("msg") == msg]


def wait_msg(d, msg, timeout=10.0):
    """The json line whose msg is msg, waited for."""
    found = []

    def seen():
        found[:] = with_msg(d.json_lines("out.json") if os.path.exists(d.path("out.json"))
                            else [], msg)
        return bool(found)
    sluicetest.wait_until(seen, timeout=timeout, what=f"the record {msg!r} in out.json")
    check(len(found) == 1, f"{msg!r} arrived {len(found)} times", f"lines: {found}")
    return found[0]


def check_recent(obj, what):
    t = datetime.datetime.fromisoformat(obj["timestamp"].replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    check(abs((now - t).total_seconds()) < 30,
          f"{what}: timestamp {obj['timestamp']!r} is not the wall time of the record "
          f"(now {now.isoformat()})", f"line: {obj}")


@sluicetest.timeout(60)
def test_a_written_line_arrives_as_user_info():
    need_kmsg()
    with Daemon(config("now")) as d:
        msg = unique("live")
        write_kmsg(f"<14>{msg}".encode())
        obj = wait_msg(d, msg)
        check(obj.get("facility") in ("user", 1) and obj.get("severity") in ("info", 6),
              f"facility/severity {obj.get('facility')!r}/{obj.get('severity')!r}, "
              "expected user.info", f"line: {obj}")
        check(obj.get("app_name") == "kernel", f"app_name {obj.get('app_name')!r}")
        check_recent(obj, "the live record")
        fields = obj.get("fields") or {}
        check("_KERNEL_SEQNUM" in fields and "_SOURCE_MONOTONIC_TIMESTAMP" in fields,
              f"fields {fields!r} lack the sequence number or the kernel's time")
        # The kernel escapes a TAB, a backslash and UTF-8 as \xNN: the text
        # comes back as written.
        text = unique("esc") + "\ttab \\ h\u00e9llo"
        write_kmsg(("<13>" + text).encode())
        obj = wait_msg(d, text)
        check(obj.get("severity") in ("notice", 5), f"severity {obj.get('severity')!r}")
        st = d.input_stats("kernel")
        for counter in ("missed", "malformed"):
            check(st.get(counter) == 0, f"{counter} is {st.get(counter)!r}", f"stats: {st}")


def uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


@sluicetest.timeout(90)
def test_now_skips_the_backlog_and_boot_reads_it():
    need_kmsg()
    before = unique("before")
    write_kmsg(f"<14>{before}".encode())
    for frm in ("now", None):
        if frm is None and uptime() < 120:
            continue  # "auto" reads the backlog this close to boot
        with Daemon(config(frm)) as d:
            after = unique("after")
            write_kmsg(f"<14>{after}".encode())
            wait_msg(d, after)
            time.sleep(0.3)  # anything read before it is in the file by now
            check(not with_msg(d.json_lines("out.json"), before),
                  f"from = {frm or 'auto (default)'} delivered a line written before start")
    oldest = first_seq()
    with Daemon(config("boot")) as d:
        obj = wait_msg(d, before)
        check(obj.get("facility") in ("user", 1), f"facility {obj.get('facility')!r}")
        # The backlog's time is its own, not the time it was read.
        lines = d.json_lines("out.json")
        kern = [o for o in lines if o.get("facility") in ("kern", 0)]
        check(kern, "from = \"boot\" delivered none of the kernel's own records",
              f"{len(lines)} lines")
        check(all(o.get("app_name") == "kernel" for o in kern), "a kernel record's app_name")
        seqs = sorted(int(o["fields"]["_KERNEL_SEQNUM"]) for o in lines)
        # From the oldest record the ring held, none left out (a read that
        # probes the fd would cost the first one).
        check(seqs[0] <= oldest, f"the oldest record read is {seqs[0]}, the ring's {oldest}")
        check(seqs == list(range(seqs[0], seqs[-1] + 1)), "records are missing in between")
        first = min(kern, key=lambda o: int(o["fields"]["_KERNEL_SEQNUM"]))
        boot = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            seconds=uptime())
        t = datetime.datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00"))
        if int(first["fields"]["_KERNEL_SEQNUM"]) == 0:
            check(abs((t - boot).total_seconds()) < 60,
                  f"the first record's time {first['timestamp']} is not boot "
                  f"({boot.isoformat()})", f"line: {first}")


@sluicetest.timeout(60)
def test_a_blocking_output_pauses_the_input_and_loses_nothing():
    """Under a full block queue the input stops reading; the kernel's ring
    holds the records meanwhile, and every one arrives, in order."""
    need_kmsg()
    tag = unique("bp")
    with Daemon(f"""
input "kernel" {{ type = "kmsg", from = "now" }}
output "slow" {{ type = "slow", path = "slow.log", format = "raw", delay_ms = 20,
                queue = {{ capacity = 4, policy = "block" }} }}
route {{ msg_prefix = "{tag}", to = "slow" }}
""") as d:
        n = 60
        for i in range(n):
            write_kmsg(f"<14>{tag} {i:03d}".encode())
        st = d.wait_stat(lambda s: s["outputs"]["slow"]["written"] == n, 20,
                         f"{n} records written by the slow output")
        check(st["inputs"]["kernel"]["missed"] == 0, f"missed: {st['inputs']['kernel']}")
        got = [line.split(b";", 1)[1].decode() for line in d.lines("slow.log")]
        check(got == [f"{tag} {i:03d}" for i in range(n)], "slow.log is not every record in order",
              f"got: {got[:5]} ...")


def test_two_kmsg_inputs_are_refused():
    with TempDir() as t:
        conf = t.write("two.lua", 'input "a" { type = "kmsg" }\n'
                       'input "b" { type = "kmsg", from = "boot" }\n'
                       'input "c" { type = "kmsg", from = "later" }\n'
                       'output "o" { type = "file", path = "o.log" }\nroute { to = "o" }\n')
        r = sluiced(["--check", "-c", conf], cwd=t.dir)
        check(r.returncode == 1, f"--check exited {r.returncode}: {r.stderr!r}")
        check("there can be one input of type 'kmsg'" in r.stderr and ":2:" in r.stderr,
              f"no clash reported for input b: {r.stderr!r}")
        check("unknown value 'later'" in r.stderr and '"auto", "boot", "now"' in r.stderr,
              f"the bad from value is not reported: {r.stderr!r}")


if __name__ == "__main__":
    sluicetest.main([test_a_written_line_arrives_as_user_info,
                     test_now_skips_the_backlog_and_boot_reads_it,
                     test_a_blocking_output_pauses_the_input_and_loses_nothing,
                     test_two_kmsg_inputs_are_refused])
