#!/usr/bin/env python3
"""bench_diskq.py: the disk queue (queue = { policy = "disk" }) beside the
memory queue, one output each, in one run.

    python3 tests/bench/bench_diskq.py --builddir BUILDDIR [--count N] [--conns K]

Each case is one sluiced started in the foreground in a temporary
directory (state_dir in it, on the same file system as the output),
listening on 127.0.0.1, fed N messages (RFC 5424, 200 bytes, K TCP
connections, LF framing) by tests/bench/sender, writing them with the
file plugin (format raw). A run ends when the daemon, sent SIGTERM once
the kernel says its sockets have nothing left unread, has drained its
queue and exited: rate = N / (first send .. exit). CPU is the daemon's
user + system time. The output's lines are counted: a case that lost
lines says so.

Cases:
  memory       queue = { policy = "block" } (the default memory queue)
  disk-none    queue = { policy = "disk", disk = { sync = "none" } }
  disk-batch   queue = { policy = "disk", disk = { sync = "batch" } }

It prints a Markdown table with each case's rate and its ratio to memory;
it writes no file (tests/bench/RESULTS.md is collected by hand). Uses
bench.py's helpers; bounded in time; stops what it starts by pid.
"""

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import free_port, log, spawn, stop  # noqa: E402

RUN_TIMEOUT = 300.0
CASES = {
    "memory": 'policy = "block"',
    "disk-none": 'policy = "disk", disk = { sync = "none" }',
    "disk-batch": 'policy = "disk", disk = { sync = "batch" }',
}


def conf(tmp, port, queue):
    return (f'settings {{ control = "{tmp}/sluice.ctl", log_level = "notice", '
            f'state_dir = "{tmp}/state" }}\n'
            f'input "in" {{ type = "tcp", listen = "127.0.0.1:{port}" }}\n'
            f'local o = output "o" {{ type = "file", path = "{tmp}/out/out.log", '
            f'format = "raw", queue = {{ {queue} }} }}\n'
            'route { to = o }\n')


def unread_bytes(port):
    total = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1].endswith(":%04X" % port):
                total += int(parts[4].split(":")[1], 16)
    return total


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return n
            n += b.count(b"\n")


def one_case(name, builddir, count, conns):
    tmp = tempfile.mkdtemp(prefix=f"sluice-bench-diskq-{name}-")
    os.makedirs(os.path.join(tmp, "out"))
    os.makedirs(os.path.join(tmp, "state"), mode=0o700)
    port = free_port()
    path = os.path.join(tmp, "daemon.conf")
    errlog = os.path.join(tmp, "daemon.log")
    res = {"case": name}
    p = sender = None
    try:
        with open(path, "w") as f:
            f.write(conf(tmp, port, CASES[name]))
        argv = [os.path.join(builddir, "core/sluiced"), "-n", "-c", path, "-P",
                os.path.join(builddir, "plugins")]
        p = spawn(argv, errlog)
        bench.wait_ready(p, lambda: bench.listening(types.SimpleNamespace(proto="tcp"),
                                                    types.SimpleNamespace(port=port)),
                         errlog, name)
        with open(os.path.join(tmp, "sender.out"), "wb") as out:
            sender = subprocess.Popen(
                [os.path.join(builddir, "tests/bench/sender"), "--proto", "tcp", "--target",
                 f"127.0.0.1:{port}", "--count", str(count), "--conns", str(conns), "--size",
                 str(bench.MESSAGE_SIZE), "--framing", "lf"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL)
            sender.wait(RUN_TIMEOUT)
        sj = bench.sender_result(tmp)
        deadline = time.monotonic() + RUN_TIMEOUT
        while unread_bytes(port) > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        os.kill(p.pid, signal.SIGTERM)
        p.wait(RUN_TIMEOUT)
        end_ns = time.time_ns()
        r2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        bench._live.remove(p)
        res["exit"] = p.returncode
        p = None
        res["sent"] = int(sj["sent"])
        res["secs"] = (end_ns - int(sj["first_ns"])) / 1e9
        res["rate"] = res["sent"] / res["secs"]
        res["cpu"] = (r2.ru_utime + r2.ru_stime) - (r1.ru_utime + r1.ru_stime)
        res["lines"] = count_lines(os.path.join(tmp, "out", "out.log"))
        return res
    finally:
        if sender is not None and sender.poll() is None:
            stop(sender, timeout=2)
        if p is not None:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


def report(results, count, conns):
    base = next((r.get("rate") for r in results if r["case"] == "memory"), None)
    lines = [f"bench_diskq: {count} messages of {bench.MESSAGE_SIZE} bytes over {conns} TCP "
             "connection(s) into one file output", "",
             "| case | msg/s | vs memory | CPU s | lines | exit |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} | | | | |")
            continue
        ratio = f"{r['rate'] / base:.2f}x" if base else "-"
        lost = "" if r["lines"] == r["sent"] else f" (of {r['sent']}!)"
        lines.append(f"| {r['case']} | {r['rate']:,.0f} | {ratio} | {r['cpu']:.2f} | "
                     f"{r['lines']}{lost} | {r['exit']} |")
    return "\n".join(lines) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--count", type=int, default=500000)
    ap.add_argument("--conns", type=int, default=4)
    args = ap.parse_args(argv)
    b = os.path.abspath(args.builddir)
    results = []
    try:
        for c in CASES:
            try:
                r = one_case(c, b, args.count, args.conns)
            except (bench.DaemonFailed, OSError, subprocess.SubprocessError) as e:
                r = {"case": c, "error": str(e)}
            log("bench_diskq: " + ", ".join(f"{k}={v}" for k, v in r.items()))
            results.append(r)
    finally:
        bench.stop_all()
    print(report(results, args.count, args.conns))


if __name__ == "__main__":
    main(sys.argv[1:])
