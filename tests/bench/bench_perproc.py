#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_perproc.py: one file per process, sluiced's perproc output beside
rsyslog's dynafile and syslog-ng's templated file(), in one run.

    python3 tests/bench/bench_perproc.py --builddir BUILDDIR [--count N]
        [--senders K] [--runs R] [--daemons sluiced,rsyslog,syslog-ng]
        [--results FILE]

K senders (default 64) connect over TCP to 127.0.0.1, each with its own
APP-NAME (app00 ..) and PROCID (its index), and send N/K RFC 5424 messages
of 200 bytes (LF framing), all at once, as fast as the daemon takes them.
Each daemon writes every message as received to DIR/APP/PROCID.log:
  sluiced    output type = "perproc", name = "{app_name}/{procid}.log"
  rsyslog    omfile dynaFile on "%programname%/%procid%.log",
             dynaFileCacheSize 100 (above K, so no file is closed)
  syslog-ng  file("DIR/${PROGRAM}/${PID}.log") with create-dirs(yes)
Measured: msgs/s from the first send to the last line on disk (the total
size of the files polled; every line is 200 bytes), the daemon's CPU
seconds per million messages, and afterwards, per file, that it holds
exactly its sender's lines (lost, foreign and out-of-order lines counted).

The sender is this script (--send, a child process, one thread per
connection, each writing a buffer built beforehand), so no other sender
is needed. The peers come from bench.py's setup_peers() (the system's, or
Debian's packages unpacked into a cache), started with its spawn() and
stopped by pid with its stop(). With --results FILE the report replaces
the block between "<!-- perproc -->" and "<!-- /perproc -->" in FILE, or
is appended. Python 3 standard library only; bounded in time; 127.0.0.1
and temporary directories only.
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

LINE = 200               # bytes per line on disk, the LF included
STALL_SECONDS = 5.0      # no new byte for this long ends a run
RUN_TIMEOUT = 180.0
BEGIN, END = "<!-- perproc -->", "<!-- /perproc -->"


# {=== the sender (a child process: --send)
def message_block(k, count):
    """Sender k's count lines, LF-framed, each LINE bytes."""
    out = []
    for i in range(count):
        head = b"<134>1 2026-11-22T10:00:00.000000Z benchhost app%02d %d ID47 - c=%02d s=%09d " % (
            k, k, k, i)
        out.append(head + b"x" * (LINE - 1 - len(head)) + b"\n")
    return b"".join(out)


def send_main(target, count, senders):
    host, port = target.rsplit(":", 1)
    per = count // senders
    blocks = [message_block(k, per) for k in range(senders)]
    socks = [socket.create_connection((host, int(port)), timeout=60) for _ in range(senders)]
    go = threading.Barrier(senders + 1)
    errors = []

    def one(k):
        go.wait()
        try:
            view = memoryview(blocks[k])
            for off in range(0, len(view), 256 * 1024):
                socks[k].sendall(view[off:off + 256 * 1024])
            socks[k].shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    first = time.time_ns()
    go.wait()
    for t in threads:
        t.join()
    last = time.time_ns()
    print(json.dumps({"sent": per * senders, "first_ns": first, "last_ns": last,
                      "errors": errors}), flush=True)
    for s in socks:
        s.close()
# }===


# {=== configs
def sluiced_config(tmp, port, out):
    return f"""-- sluiced: one file per sender
settings {{ control = "{tmp}/sluice.ctl", log_level = "notice" }}
input "in" {{ type = "tcp", listen = "127.0.0.1:{port}" }}
output "apps" {{ type = "perproc", dir = "{out}", name = "{{app_name}}/{{procid}}.log",
                format = "raw", max_open = 256, queue = {{ policy = "block" }} }}
route {{ to = "apps" }}
"""


def rsyslog_config(tmp, port, out):
    return f"""# rsyslog: omfile with a dynaFile, tuned as bench.py tunes omfile
# (ioBufferSize 256k, asyncWriting on, a 1024-message dequeue batch);
# dynaFileCacheSize 100 is above the number of senders, so no file is
# closed and reopened.
global(workDirectory="{tmp}" maxMessageSize="64k")
main_queue(queue.dequeueBatchSize="1024")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="bench")
template(name="bench_fmt" type="string" string="%rawmsg%\\n")
template(name="bench_name" type="string" string="{out}/%programname%/%procid%.log")
ruleset(name="bench") {{
  action(type="omfile" dynaFile="bench_name" template="bench_fmt" dynaFileCacheSize="100"
         createDirs="on" {bench.RSYSLOG_OMFILE})
}}
"""


def syslogng_config(tmp, port, out, version, senders):
    per_conn = 10_000
    conns = senders + 8
    return f"""@version: {version}
# syslog-ng: a templated file() with create-dirs(yes), tuned as bench.py
# tunes it: flow-control, a window of {per_conn} messages per connection,
# log-fetch-limit 1000, no DNS.
options {{ threaded(yes); use-dns(no); dns-cache(no); use-fqdn(no);
          keep-hostname(yes); chain-hostnames(no); stats-freq(0);
          log-msg-size(65536); create-dirs(yes); }};
source s_bench {{ network(ip("127.0.0.1") port({port}) transport("tcp")
  max-connections({conns}) log-iw-size({conns * per_conn}) log-fetch-limit(1000)
  flags(syslog-protocol, store-raw-message)); }};
destination d_apps {{ file("{out}/${{PROGRAM}}/${{PID}}.log" template("${{RAWMSG}}\\n")
  create-dirs(yes) log-fifo-size({2 * conns * per_conn})); }};
log {{ source(s_bench); destination(d_apps); flags(flow-control); }};
"""
# }===


# {=== one run
def bytes_under(directory):
    total = 0
    for dp, _, files in os.walk(directory):
        for f in files:
            try:
                total += os.stat(os.path.join(dp, f)).st_size
            except OSError:
                pass
    return total


def check_files(out, senders, per):
    """lost, foreign and out-of-order lines, and the files found."""
    lost = foreign = disorder = 0
    files = 0
    for k in range(senders):
        path = os.path.join(out, f"app{k:02d}", f"{k}.log")
        try:
            with open(path, "rb") as f:
                lines = f.read().splitlines()
            files += 1
        except OSError:
            lost += per
            continue
        want = 0
        for line in lines:
            m = re.search(rb" c=(\d\d) s=(\d{9}) ", line)
            if m is None or int(m.group(1)) != k:
                foreign += 1
                continue
            s = int(m.group(2))
            if s != want:
                disorder += 1
            want = s + 1
        own = len(lines) - foreign
        lost += max(0, per - own)
    all_files = sum(len(fs) for _, _, fs in os.walk(out))
    return lost, foreign, disorder, files, all_files


def start(daemon, env, tmp, port, out, senders):
    b = env["builddir"]
    conf = os.path.join(tmp, f"{daemon}.conf")
    errlog = os.path.join(tmp, f"{daemon}.log")
    if daemon == "sluiced":
        text = sluiced_config(tmp, port, out)
        argv = [os.path.join(b, "core/sluiced"), "-n", "-c", conf, "-P", os.path.join(b, "plugins")]
        penv = None
    elif daemon == "rsyslog":
        peer = env["peers"]["rsyslog"]
        text = rsyslog_config(tmp, port, out)
        argv = [peer.binary, "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslogd.pid")] + peer.args
        penv = bench.peer_env(peer)
    else:
        peer = env["peers"]["syslog-ng"]
        text = syslogng_config(tmp, port, out, peer.config_version or "3.38", senders)
        argv = [peer.binary, "-F", "--no-caps", "-f", conf, "-p", f"{tmp}/syslog-ng.pid",
                "-R", f"{tmp}/syslog-ng.persist", "-c", f"{tmp}/syslog-ng.ctl"] + peer.args
        penv = bench.peer_env(peer)
    with open(conf, "w") as f:
        f.write(text)
    p = bench.spawn(argv, errlog, env=penv)
    deadline = time.monotonic() + bench.READY_TIMEOUT
    want = f"0100007F:{port:04X}"
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise bench.DaemonFailed(f"{daemon} exited {p.returncode}: {bench.tail(errlog)}")
        with open("/proc/net/tcp") as f:
            if any(l.split()[1] == want and l.split()[3] == "0A" for l in f.readlines()[1:]):
                return p, text
        time.sleep(0.02)
    bench.stop(p)
    raise bench.DaemonFailed(f"{daemon} not listening: {bench.tail(errlog)}")


def one_run(daemon, env, count, senders):
    tmp = tempfile.mkdtemp(prefix=f"bench-perproc-{daemon}-")
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    port = bench.free_port()
    p = sender = None
    try:
        p, conf = start(daemon, env, tmp, port, out, senders)
        per = count // senders
        total = per * senders * LINE
        cpu0 = bench.proc_cpu_seconds(p.pid)
        sender = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--send",
                                   f"127.0.0.1:{port}", str(count), str(senders)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        have, moved, done_ns = 0, time.monotonic(), None
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            n = bytes_under(out)
            now = time.monotonic()
            if n != have:
                have, moved = n, now
            if n >= total:
                done_ns = time.time_ns()
                break
            if now - moved > STALL_SECONDS and sender.poll() is not None:
                break
            time.sleep(0.005)
        cpu = bench.proc_cpu_seconds(p.pid) - cpu0
        rss = bench.proc_hwm_mb(p.pid)
        so, se = sender.communicate(timeout=60)
        sent = json.loads(so.decode().strip().splitlines()[-1])
        bench.stop(p)
        p = None
        lost, foreign, disorder, files, all_files = check_files(out, senders, per)
        secs = ((done_ns or time.time_ns()) - sent["first_ns"]) / 1e9
        return {"daemon": daemon, "msgs": per * senders, "secs": secs,
                "rate": per * senders / secs if done_ns else None,
                "cpu_per_m": cpu / (per * senders / 1e6), "rss": rss, "lost": lost,
                "foreign": foreign, "disorder": disorder, "files": files,
                "all_files": all_files, "complete": done_ns is not None, "config": conf,
                "errors": sent["errors"]}
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
            sender.wait()
        if p is not None:
            bench.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
# }===


# {=== report
def report(results, args, peers):
    rows = ["| daemon | msgs/s | CPU s / M msgs | peak RSS MB | files | lost | foreign | out of order |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    best = {}
    for r in results:
        best.setdefault(r["daemon"], []).append(r)
    med = {}
    for d, rs in best.items():
        rates = sorted(x["rate"] or 0 for x in rs)
        m = rates[len(rates) // 2]
        r = rs[[x["rate"] or 0 for x in rs].index(m)]
        med[d] = r
        rows.append(f"| {d} | {bench.fmt_int(r['rate'])} | {bench.fmt_float(r['cpu_per_m'])} | "
                    f"{bench.fmt_float(r['rss'], 1)} | {r['all_files']} | {r['lost']} | "
                    f"{r['foreign']} | {r['disorder']} |")
    peers_rates = [med[d]["rate"] for d in ("rsyslog", "syslog-ng") if d in med and med[d]["rate"]]
    lines = [BEGIN, "", "## perproc: one file per sender (tests/bench/bench_perproc.py)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
             f"{os.cpu_count()} CPUs, kernel {platform.release()}; {args.senders} TCP senders "
             f"(one APP-NAME and PROCID each), {args.count:,} messages of {LINE} bytes, "
             f"{args.runs} run(s) per daemon (the median shown), each daemon writing "
             "DIR/APP/PROCID.log as received.", ""] + rows + [""]
    if "sluiced" in med and med["sluiced"]["rate"] and peers_rates:
        lines.append(f"sluiced / the faster peer: **{med['sluiced']['rate'] / max(peers_rates):.2f}x**"
                     + "".join(f"; / {d}: {med['sluiced']['rate'] / med[d]['rate']:.2f}x"
                               for d in ("rsyslog", "syslog-ng") if d in med and med[d]["rate"])
                     + ".")
        lines.append("")
    lines.append("Peers: " + "; ".join(f"{n}: {p.origin}" for n, p in peers.items()) + ".")
    lines.append("")
    lines.append(f"Command: `python3 tests/bench/bench_perproc.py --count {args.count} "
                 f"--senders {args.senders} --runs {args.runs}`.")
    lines.append("")
    for d, r in med.items():
        lines += [f"<details><summary>{d} config</summary>", "", "```", r["config"].rstrip(),
                  "```", "", "</details>", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(path, text):
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    if BEGIN in old and END in old:
        a, b = old.index(BEGIN), old.index(END) + len(END) + 1
        new = old[:a] + text + old[b:]
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + text
    with open(path, "w") as f:
        f.write(new)
# }===


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--send":
        send_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--count", type=int, default=640_000)
    ap.add_argument("--senders", type=int, default=64)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--daemons", default="sluiced,rsyslog,syslog-ng")
    ap.add_argument("--results")
    args = ap.parse_args()
    daemons = args.daemons.split(",")
    peers = bench.setup_peers([d for d in daemons if d in bench.PEERS])
    daemons = [d for d in daemons if d == "sluiced" or d in peers]
    env = {"builddir": os.path.abspath(args.builddir), "peers": peers}
    results = []
    try:
        for run in range(args.runs):
            for d in daemons:
                r = one_run(d, env, args.count, args.senders)
                bench.log(f"bench_perproc: {d} run {run + 1}: {bench.fmt_int(r['rate'])} msgs/s, "
                          f"{r['cpu_per_m']:.2f} CPU s/M, lost {r['lost']}, files {r['all_files']}"
                          + ("" if r["complete"] else " (INCOMPLETE)"))
                results.append(r)
    finally:
        bench.stop_all()
    text = report(results, args, peers)
    print(text)
    if args.results:
        write_results(args.results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
