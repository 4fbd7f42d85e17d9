#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_devlog.py: many slow local senders on a unix datagram socket, as
/dev/log is used (issue 14), for sluiced, rsyslog and syslog-ng.

    python3 tests/bench/bench_devlog.py --builddir BUILDDIR [--runs R] [--count N]
        [--procs 8,64] [--senders c,python] [--daemons sluiced,rsyslog,syslog-ng,ceiling]
        [--paced-rate 10000] [--paced-seconds 20] [--no-paced] [--out FILE]
        [--dgram-qlen Q] [--nice N] [--sluiced-coalesce D]

Each daemon listens on one unix datagram socket in a temporary directory and
writes one file in raw format (bench.py's unix-dgram configs; syslog-ng
without flags(syslog-protocol), since these senders speak RFC 3164). The
ceiling (tests/bench/ceiling.c, one thread: recvmmsg() batches appended to
one write()) is the floor of a daemon's cost with the same kernel and
senders; it is left out of "best peer" and "× best".

Throughput cases, P = 8 and 64 processes sending N lines in all (their
share each), every line "s=SENDER i=SEQ t=NS":
  c        tests/bench/devlog_sender: P forked children, glibc syslog(3), in a
           mount namespace (unshare -m) whose /dev/log is the daemon's socket
           (bind-mounted onto a file in a tmpfs over /dev, as
           tests/integration/test_glibc_syslog.py does); needs root.
  python   this script with --py-sender: P forked children, each with a
           logging.handlers.SysLogHandler(address=SOCKET).
Measured: wall time from the first send to the N-th line on disk (the
output is read every 2 ms), the daemon's CPU (utime+stime of /proc/PID/stat)
and context switches (voluntary + nonvoluntary over /proc/PID/task/*/status)
over that time, the longest single syslog()/emit() call of any sender, the
senders' CPU, and, from the output file, lost, duplicated and reordered
lines per sender.

Paced case: 64 C senders at R messages/s in all for S seconds (absolute
deadlines); a reader tails the output every 1 ms and takes, for every line,
its arrival time minus its t=: median and 99th percentile of send-to-disk.

--dgram-qlen Q sets net.unix.max_dgram_qlen to Q for the run (and puts
the old value back): 512 is what systemd's sysctl.d/50-default.conf sets on
a Debian machine, 10 the kernel's default a machine without it keeps.
--sluiced-coalesce D gives sluiced's input coalesce = D (its default is
2ms; "0" reads and routes each datagram at once, as before issue 14).
--nice N renices every thread of each daemon once it listens (the same for
all three), as a unit's Nice= would.

Uses bench.py's helpers (setup_peers, start_daemon, stop, LineCounter,
watch_output). Bounded in time; stops what it starts by pid. Standard
library only.
"""

import argparse
import datetime
import json
import logging
import logging.handlers
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import fmt_int, log, setup_peers  # noqa: E402

DAEMONS = ("sluiced", "rsyslog", "syslog-ng", "ceiling")
PEERS = ("rsyslog", "syslog-ng")  # what "best peer" is taken over
DEFAULT_COUNT = 400_000
DEFAULT_PROCS = (8, 64)
PACED_PROCS = 64
MOUNT_FAILED = 99          # the namespace script's status when a mount step failed
START_DELAY = 0.1          # python senders: the common start, this far ahead
TAIL_INTERVAL = 0.001      # the paced run's reader: seconds between reads
LINE_RE = re.compile(rb"s=(\d+) i=(\d+) t=(\d+)")


def syslogng_devlog(sc, ctx):
    """bench.py's unix-dgram config for syslog-ng, without
    flags(syslog-protocol): glibc and SysLogHandler send RFC 3164."""
    return bench.syslogng_config(sc, ctx).replace("flags(syslog-protocol, ", "flags(")


COALESCE = None  # --sluiced-coalesce


def sluiced_devlog(sc, ctx):
    """bench.py's unix-dgram config for sluiced, with --sluiced-coalesce."""
    text = bench.sluiced_config(sc, ctx)
    if COALESCE is None:
        return text
    old = f'path = "{ctx.unix_path}" }}'
    assert old in text, "bench.py's sluiced input line moved"
    return text.replace(old, f'path = "{ctx.unix_path}", coalesce = "{COALESCE}" }}')


SCENARIO = bench.Scenario("devlog", "Unix datagram socket, local senders, raw output", "unix",
                          daemons=DAEMONS, generators={"syslog-ng": syslogng_devlog,
                                                       "sluiced": sluiced_devlog})


# {=== the Python sender (run as a child of this script: --py-sender)
def py_child(path, k, share, start):
    logger = logging.getLogger(f"devlog{k}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    h = logging.handlers.SysLogHandler(address=path)
    h.ident = "devlogbench: "
    logger.addHandler(h)
    while time.monotonic() < start:
        time.sleep(max(0.0, start - time.monotonic()))
    first = time.time_ns()
    max_call = 0
    for i in range(share):
        t = time.time_ns()
        m0 = time.perf_counter_ns()
        logger.info("s=%d i=%d t=%d", k, i, t)
        took = time.perf_counter_ns() - m0
        if took > max_call:
            max_call = took
    last = time.time_ns()
    h.close()
    # One write(2) per line: the children share stdout, and print() may
    # write the text and its newline apart (PYTHONUNBUFFERED), interleaving them.
    os.write(1, (json.dumps({"sender": k, "sent": share, "first_ns": first, "last_ns": last,
                             "max_call_ns": max_call, "late": 0}) + "\n").encode())


def py_sender(path, procs, count):
    """P forked children, each logging its share; the same JSON lines as
    devlog_sender."""
    start = time.monotonic() + START_DELAY
    pids = []
    sys.stdout.flush()
    for k in range(procs):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                py_child(path, k, count // procs + (1 if k < count % procs else 0), start)
            except BaseException as e:  # noqa: BLE001 - a child must not return into the loop
                print(f"py-sender {k}: {e}", file=sys.stderr)
                code = 1
            os._exit(code)
        pids.append(pid)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    t = os.times()
    print(json.dumps({"procs": procs, "sent": -1 if failed else count, "failed": failed,
                      "cpu_s": t.children_user + t.children_system}), flush=True)
    return 1 if failed else 0
# }===


# {=== measuring
def ctx_switches(pid):
    """voluntary + nonvoluntary context switches summed over the threads
    the process has now (threads that ended are not counted)."""
    total = 0
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Tail:
    """Reads the new bytes of the output every TAIL_INTERVAL and takes, for
    each complete line, now (CLOCK_REALTIME) minus its t=: the time from
    send to the line being readable in the file."""

    def __init__(self, path):
        self.path = path
        self.fd = None
        self.rest = b""
        self.lines = 0
        self.latencies = []

    def poll(self):
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                return self.lines
        while True:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                break
            now = time.time_ns()
            data = self.rest + chunk
            cut = data.rfind(b"\n") + 1
            self.rest = data[cut:]
            whole = data[:cut]
            self.lines += whole.count(b"\n")
            self.latencies.extend(now - int(m.group(3)) for m in LINE_RE.finditer(whole))
        return self.lines

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def analyse(path, procs, count):
    """(lost, duplicated, reordered) from the output: each sender's lines
    must all be there once, in the order of their i=."""
    share = [count // procs + (1 if k < count % procs else 0) for k in range(procs)]
    seen = [bytearray(n) for n in share]
    high = [-1] * procs
    unique = dups = ooo = 0
    with open(path, "rb") as f:
        data = f.read()
    for m in LINE_RE.finditer(data):
        s, i = int(m.group(1)), int(m.group(2))
        if s >= procs or i >= share[s]:
            continue
        if seen[s][i]:
            dups += 1
            continue
        seen[s][i] = 1
        unique += 1
        if i < high[s]:
            ooo += 1
        else:
            high[s] = i
    return count - unique, dups, ooo


def sender_argv(env, kind, sock, procs, count, rate):
    if kind == "python":
        return [sys.executable, os.path.abspath(__file__), "--py-sender", sock,
                "--procs", str(procs), "--count", str(count)]
    q = shlex.quote
    cmd = [os.path.join(env.builddir, "tests/bench/devlog_sender"), "--procs", str(procs),
           "--count", str(count)] + (["--rate", str(rate)] if rate else [])
    # /dev/log is absent here, or a socket of the system's: in our own
    # namespace a tmpfs over /dev gets an empty file for the bind mount, so
    # nothing in the real /dev is created or changed.
    script = (f"mount --make-rprivate / && mount -t tmpfs -o size=64k,mode=0755 devlogbench /dev "
              f"&& : > /dev/log && mount --bind {q(sock)} /dev/log || exit {MOUNT_FAILED}; "
              f"exec {' '.join(q(c) for c in cmd)}")
    return ["unshare", "-m", "sh", "-c", script]


def sender_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return [o for o in out if "sender" in o], next((o for o in out if "procs" in o), None)


def renice(pid, nice):
    """Every thread pid has now gets the nice value (a thread started later
    inherits its creator's)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
        except OSError:
            pass


class Sysctl:
    """Sets a sysctl for the run and puts the old value back."""

    def __init__(self, name, value):
        self.path = "/proc/sys/" + name.replace(".", "/")
        self.value, self.old = value, None

    def __enter__(self):
        if self.value is not None:
            with open(self.path) as f:
                self.old = f.read().strip()
            with open(self.path, "w") as f:
                f.write(str(self.value))
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            with open(self.path, "w") as f:
                f.write(self.old)


NICE = None  # --nice: applied to each daemon by one_run


def one_run(env, daemon, kind, procs, count, rate=0):
    """One daemon, one sender kind: returns a dict of figures (or "error")."""
    tmp = tempfile.mkdtemp(prefix=f"sluice-bench-devlog-{daemon}-")
    ctx = bench.RunCtx(tmp, SCENARIO)
    if "syslog-ng" in env.peers:
        ctx.syslogng_version = env.peers["syslog-ng"].config_version
    res = {"daemon": daemon, "kind": kind, "procs": procs}
    p = sender = tail = None
    try:
        p, res["config"] = bench.start_daemon(daemon, SCENARIO, ctx, env)
        if NICE is not None:
            renice(p.pid, NICE)
        out = ctx.outs[0]
        cpu0, cs0 = bench.proc_cpu_seconds(p.pid), ctx_switches(p.pid)
        limit = bench.MIN_RUN_TIMEOUT + (count / rate if rate else count / 5_000)
        with open(os.path.join(tmp, "sender.out"), "ab") as so, \
                open(os.path.join(tmp, "sender.err"), "ab") as se:
            sender = subprocess.Popen(sender_argv(env, kind, ctx.unix_path, procs, count, rate),
                                      stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        deadline = time.monotonic() + limit
        if rate:
            tail = Tail(out)
            last_change, lines = time.monotonic(), 0
            while lines < count and time.monotonic() < deadline:
                n = tail.poll()
                if n != lines:
                    lines, last_change = n, time.monotonic()
                elif time.monotonic() - last_change > bench.STALL_SECONDS and \
                        sender.poll() is not None:
                    break
                time.sleep(TAIL_INTERVAL)
            res["lines"], end_ns = lines, time.time_ns()
        else:
            counter = bench.LineCounter(ctx.outdir)
            w = bench.watch_output(counter, count, sender, deadline, lossy=False)
            counter.close()
            res["lines"], end_ns = w.lines, w.last_ns
            if w.note:
                res["note"] = w.note
        cpu1, cs1 = bench.proc_cpu_seconds(p.pid), ctx_switches(p.pid)
        try:
            sender.wait(max(5.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            bench.stop(sender, timeout=2)
            res.setdefault("note", "sender did not finish")
        if sender.returncode == MOUNT_FAILED:
            raise bench.DaemonFailed("mount namespace: " + bench.tail(os.path.join(tmp, "sender.err")))
        children, summary = sender_lines(os.path.join(tmp, "sender.out"))
        if not children:
            raise bench.DaemonFailed(f"sender exit {sender.returncode}: "
                                     + bench.tail(os.path.join(tmp, "sender.err")))
        bench.stop(p)
        p = None
        first = min(c["first_ns"] for c in children)
        res.update(wall=(end_ns - first) / 1e9, cpu=cpu1 - cpu0, cs=cs1 - cs0,
                   max_call_ms=max(c["max_call_ns"] for c in children) / 1e6,
                   late=sum(c["late"] for c in children),
                   sender_cpu=summary["cpu_s"] if summary else None,
                   sent=sum(c["sent"] for c in children))
        if len(children) != procs or (summary or {}).get("failed"):
            res["note"] = (f"{len(children)} of {procs} senders reported, failed "
                           f"{(summary or {}).get('failed')}: "
                           + bench.tail(os.path.join(tmp, "sender.err"), 2))
        res["lost"], res["dups"], res["ooo"] = analyse(out, procs, count)
        if tail:
            lat = sorted(tail.latencies)
            if lat:
                res["lat_med_ms"] = lat[len(lat) // 2] / 1e6
                res["lat_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6
                res["lat_max_ms"] = lat[-1] / 1e6
        return res
    except (bench.DaemonFailed, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        res["error"] = str(e)
        return res
    finally:
        if tail:
            tail.close()
        if sender is not None and sender.poll() is None:
            bench.stop(sender, timeout=2)
        if p is not None:
            bench.stop(p)
        if env.keep_tmp:
            log(f"bench_devlog: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
# }===


# {=== report
def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def ldo(runs):
    """lost / duplicated / reordered: the worst run of each."""
    return " / ".join(fmt_int(max((r[k] for r in runs if k in r), default=None))
                      for k in ("lost", "dups", "ooo"))


def summarize(by_daemon, count):
    rows = {}
    for d, runs in by_daemon.items():
        ok = [r for r in runs if "error" not in r and r.get("lines", 0) >= count]
        errs = ["a run failed or fell short: " + (r.get("error") or r.get("note")
                                                   or f"{r.get('lines')} lines")
                for r in runs if r not in ok]
        errs += [f"(a counted run) {r['note']}" for r in ok if r.get("note")]
        rows[d] = {"ok": ok, "all": [r for r in runs if "error" not in r], "errs": errs,
                   "wall": med(ok, "wall"), "cpu_us": None, "cs": None}
        if ok:
            rows[d]["cpu_us"] = statistics.median(r["cpu"] / count * 1e6 for r in ok)
            rows[d]["cs"] = statistics.median(r["cs"] / count for r in ok)
    return rows


def ratio_line(rows, key, label):
    s = rows.get("sluiced", {}).get(key)
    peers = [rows[d][key] for d in rows if d in PEERS and rows[d].get(key)]
    if not s or not peers:
        return f"{label}: —"
    return f"{label} {s / min(peers):.2f}x"


def error_lines(rows):
    return [f"- {d}: {e}" for d, r in rows.items() for e in r["errs"]]


def case_table(title, by_daemon, count):
    rows = summarize(by_daemon, count)
    best = {k: min((r[k] for d, r in rows.items() if r[k] and d != "ceiling"), default=None)
            for k in ("wall", "cpu_us", "cs")}

    def rel(d, k):
        return "—" if not rows[d][k] or not best[k] else f"{rows[d][k] / best[k]:.2f}"
    out = [f"\n#### {title}\n",
           "| daemon | wall s | msgs/s | × best | daemon CPU µs/msg | × best | ctx sw/msg | × best "
           "| longest call ms | senders CPU s | lost / dup / reordered | runs ok |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for d, r in rows.items():
        w = r["wall"]
        out.append(f"| {d} | {fmt(w)} | {fmt_int(count / w if w else None)} | {rel(d, 'wall')} | "
                   f"{fmt(r['cpu_us'])} | {rel(d, 'cpu_us')} | {fmt(r['cs'], 3)} | {rel(d, 'cs')} | "
                   f"{fmt(med(r['ok'], 'max_call_ms'), 1)} | {fmt(med(r['ok'], 'sender_cpu'), 1)} | "
                   f"{ldo(r['all'])} | {len(r['ok'])}/{len(by_daemon[d])} |")
    out.append("\nsluiced against the best peer (lower is better): "
               + ", ".join(ratio_line(rows, k, lab) for k, lab in
                           (("wall", "wall"), ("cpu_us", "CPU/msg"), ("cs", "ctx sw/msg"))))
    s, c = rows.get("sluiced", {}), rows.get("ceiling", {})
    if s.get("cpu_us") and c.get("cpu_us"):
        out.append(f"\nthe ceiling: CPU/msg {c['cpu_us']:.2f} µs, sluiced {s['cpu_us'] / c['cpu_us']:.2f}x it; "
                   f"wall {c['wall']:.2f} s, sluiced {s['wall'] / c['wall']:.2f}x it")
    return out + error_lines(rows)


def paced_table(title, by_daemon, count):
    rows = summarize(by_daemon, count)
    out = [f"\n#### {title}\n",
           "| daemon | daemon CPU µs/msg | ctx sw/msg | send→disk median ms | p99 ms | max ms "
           "| longest call ms | late sends | lost / dup / reordered | runs ok |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for d, r in rows.items():
        ok = r["ok"]
        out.append(f"| {d} | {fmt(r['cpu_us'])} | {fmt(r['cs'], 3)} | {fmt(med(ok, 'lat_med_ms'))} | "
                   f"{fmt(med(ok, 'lat_p99_ms'))} | {fmt(med(ok, 'lat_max_ms'), 1)} | "
                   f"{fmt(med(ok, 'max_call_ms'), 1)} | {fmt_int(med(ok, 'late'))} | "
                   f"{ldo(r['all'])} | {len(ok)}/{len(by_daemon[d])} |")
    return out + error_lines(rows)


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return "?"
# }===


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", help="the build tree (core/sluiced, tests/bench/devlog_sender)")
    ap.add_argument("--runs", type=int, default=3, help="runs per case and daemon (median)")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="lines per throughput run")
    ap.add_argument("--procs", default=",".join(map(str, DEFAULT_PROCS)))
    ap.add_argument("--senders", default="c,python")
    ap.add_argument("--daemons", default=",".join(DAEMONS))
    ap.add_argument("--paced-rate", type=int, default=10_000)
    ap.add_argument("--paced-seconds", type=int, default=20)
    ap.add_argument("--no-paced", action="store_true")
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--dgram-qlen", type=int, help="net.unix.max_dgram_qlen for the run")
    ap.add_argument("--sluiced-coalesce", help="sluiced's input coalesce (\"0\": off)")
    ap.add_argument("--nice", type=int, help="each daemon's nice value (all the same)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep each run's directory")
    ap.add_argument("--py-sender", metavar="SOCKET", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.py_sender is None and not args.builddir:
        ap.error("--builddir is required")
    args.procs = [int(x) for x in args.procs.split(",") if x]
    args.senders = [s for s in args.senders.split(",") if s]
    args.daemons = [d for d in args.daemons.split(",") if d]
    if any(s not in ("c", "python") for s in args.senders) or \
            any(d not in DAEMONS for d in args.daemons) or args.runs < 1 or args.count < 1:
        ap.error("bad --senders, --daemons, --runs or --count")
    return args


def main(argv):
    args = parse_args(argv)
    if args.py_sender is not None:
        return py_sender(args.py_sender, args.procs[0], args.count)
    global NICE, COALESCE
    NICE, COALESCE = args.nice, args.sluiced_coalesce
    with Sysctl("net.unix.max_dgram_qlen", args.dgram_qlen):
        return measure(args, argv)


def measure(args, argv):
    b = os.path.abspath(args.builddir)
    need = ["tests/bench/devlog_sender"] + (["tests/bench/ceiling"] if "ceiling" in args.daemons else [])
    for prog in need:
        if not os.access(os.path.join(b, prog), os.X_OK):
            sys.exit(f"bench_devlog: {b}/{prog} is missing (make tests/bench/devlog_sender "
                     "tests/bench/ceiling core/sluiced core/sluicectl plugins/file/file.la)")
    senders = list(args.senders)
    skipped = []
    if "c" in senders and (os.geteuid() != 0 or shutil.which("unshare") is None):
        senders.remove("c")
        skipped.append("glibc syslog(3) cases skipped: they need root and unshare(1) for the "
                       "mount namespace whose /dev/log is the daemon's socket")
    started = datetime.datetime.now(datetime.timezone.utc)
    peers = setup_peers([d for d in args.daemons if d in PEERS])
    daemons = [d for d in args.daemons if d not in PEERS or d in peers]
    env = bench.Env(builddir=b, peers=peers, tmp_root=None, keep_tmp=args.keep_tmp, command="")
    cases = [(kind, procs) for procs in args.procs for kind in senders]
    results = {c: {d: [] for d in daemons} for c in cases}
    paced = {d: [] for d in daemons}
    paced_count = args.paced_rate * args.paced_seconds
    configs = {}
    t0 = time.monotonic()
    try:
        for run in range(args.runs):
            for kind, procs in cases:
                for d in daemons:
                    r = one_run(env, d, kind, procs, args.count)
                    configs.setdefault(d, r.pop("config", None))
                    r.pop("config", None)
                    log(f"bench_devlog: run {run + 1} {kind} P={procs} {d}: "
                        + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                    for k, v in r.items()))
                    results[(kind, procs)][d].append(r)
        if not args.no_paced and "c" in senders:
            for run in range(args.runs):
                for d in daemons:
                    r = one_run(env, d, "c", PACED_PROCS, paced_count, rate=args.paced_rate)
                    r.pop("config", None)
                    log(f"bench_devlog: paced run {run + 1} {d}: "
                        + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                    for k, v in r.items()))
                    paced[d].append(r)
    finally:
        bench.stop_all()
    elapsed = time.monotonic() - t0
    cmd = "python3 tests/bench/bench_devlog.py " + " ".join(shlex.quote(a) for a in argv)
    out = [f"\n### devlog: 64 and 8 senders on a unix datagram socket (issue 14)\n",
           f"{started:%Y-%m-%d %H:%M} UTC, `{cmd}` ({elapsed / 60:.1f} min). "
           "Machine: " + ", ".join(x.lstrip("- ") for x in bench.machine_info()) + ".\n",
           f"N = {args.count:,} lines per run, shared by P processes; medians of {args.runs} "
           "run(s); lost / dup / reordered is the worst run. Wall: first send to the N-th line "
           "on disk. Daemon CPU and context switches (voluntary + nonvoluntary, all its "
           "threads) over that time, per message; longest call: the slowest single syslog() "
           "(C) or logger.info() (Python) of any sender; senders CPU: all P children's user + "
           "system. × best: the row over the best daemon of the column.",
           f"\nSocket queue: net.core.rmem_default = {sysctl('net.core.rmem_default')} (left as "
           f"it is; no daemon config asks for another), net.unix.max_dgram_qlen = "
           f"{sysctl('net.unix.max_dgram_qlen')}"
           + (" (set by --dgram-qlen)" if args.dgram_qlen is not None else "")
           + (f"; every daemon's threads at nice {args.nice}" if args.nice is not None else "")
           + (f"; sluiced's coalesce = \"{args.sluiced_coalesce}\"" if args.sluiced_coalesce
              is not None else "")
           + ". On a unix datagram socket the kernel bounds "
           "the receive queue by max_dgram_qlen datagrams and each sender's SO_SNDBUF, not by "
           "the receiver's SO_RCVBUF, so every daemon gets the same queue."]
    for s in skipped:
        out.append(f"\n{s}.")
    for (kind, procs), by in results.items():
        what = "glibc syslog(3), /dev/log bind-mounted" if kind == "c" else \
            "Python logging.handlers.SysLogHandler(address=socket)"
        out += case_table(f"P = {procs}, {what}", by, args.count)
    if any(paced.values()):
        out += paced_table(f"paced: {PACED_PROCS} glibc senders, {args.paced_rate:,} msgs/s in all "
                           f"for {args.paced_seconds} s ({paced_count:,} lines); send→disk from "
                           "a reader of the file every 1 ms", paced, paced_count)
    out.append("\nPeers: " + "; ".join(f"{p.name}: {p.origin}" for p in peers.values()))
    out.append("\nConfigs:\n")
    for d, text in configs.items():
        if text:
            out.append(f"```\n{text}```")
    text = "\n".join(out) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
