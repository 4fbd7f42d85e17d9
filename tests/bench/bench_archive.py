#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_archive.py: the archive output (type = "archive") against sluiced's
plain file output and rsyslog's omfile writing zstd, and its compression
ratio on a realistic corpus against gzip -6 and zstd -3.

    python3 tests/bench/bench_archive.py --builddir BUILDDIR [--count N]
        [--corpus-lines M] [--out FILE]

Throughput: each case is one daemon started in the foreground in a
temporary directory, listening on 127.0.0.1, fed N messages (RFC 5424, 200
bytes, one TCP connection, LF framing) by tests/bench/sender. A compressed
file is complete only when it is closed, so a run ends when the daemon,
sent SIGTERM once the kernel says its sockets have nothing left unread,
has exited: rate = N / (first send .. exit). CPU is the daemon's user +
system time (getrusage of the reaped child). The output is then read back
(zstd -dc, gzip -dc) and its lines counted: a case that lost lines says so.

Cases:
  sluiced-file       type = "file", format = "raw"
  sluiced-archive    type = "archive", level = 3, flush_interval "1s"
  rsyslog-zstd       omfile zipLevel="3" with module(load="builtin:omfile"
                     compression.driver="zstd") (rsyslog >= 8.2208, lmzstdw)
  rsyslog-zlib       omfile zipLevel="3", its zlib default (for reference)

Ratio: M lines of RFC 3164 made up here (programs, hosts, pids, messages
with varying numbers, addresses, paths, users; a fixed seed) sent through
sluiced's archive at full speed, then the archive's size against gzip -6
and zstd -3 of the same bytes.

Uses bench.py's helpers (setup_peers, spawn, stop, listening, free_port).
Bounded in time; stops what it starts by pid. Standard library only.
"""

import argparse
import datetime
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import fmt_int, free_port, log, setup_peers, spawn, stop  # noqa: E402

RUN_TIMEOUT = 180.0


# {=== configs
def sluiced_conf(tmp, port, kind):
    out = ('type = "file", path = "%s/out/out.log", format = "raw"' % tmp if kind == "file" else
           'type = "archive", path = "%s/out/out.zst", format = "raw", level = 3' % tmp)
    return (f'settings {{ control = "{tmp}/sluice.ctl", log_level = "notice" }}\n'
            f'input "in" {{ type = "tcp", listen = "127.0.0.1:{port}" }}\n'
            f'local o = output "o" {{ {out}, queue = {{ policy = "block" }} }}\n'
            'route { to = o }\n')


def rsyslog_conf(tmp, port, driver):
    mod = 'module(load="builtin:omfile" compression.driver="zstd")\n' if driver == "zstd" else ""
    ext = "zst" if driver == "zstd" else "gz"
    return (f'global(workDirectory="{tmp}" maxMessageSize="64k")\n'
            'main_queue(queue.dequeueBatchSize="1024" queue.timeoutShutdown="120000")\n'
            + mod +
            'module(load="imtcp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="bench")\n'
            'template(name="bench_fmt" type="string" string="%rawmsg%\\n")\n'
            'ruleset(name="bench") {\n'
            f'  action(type="omfile" file="{tmp}/out/out.{ext}" template="bench_fmt" '
            f'zipLevel="3" {bench.RSYSLOG_OMFILE})\n'
            '}\n')
# }===


# {=== one run
def unread_bytes(port):
    """Bytes the kernel holds unread on sockets bound to port (rx_queue)."""
    total = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1].endswith(":%04X" % port):
                total += int(parts[4].split(":")[1], 16)
    return total


def read_back(path):
    """The output's lines, decompressed when it is compressed."""
    if path.endswith(".zst"):
        r = subprocess.run(["zstd", "-q", "-t", path], capture_output=True, timeout=120)
        if r.returncode != 0:
            return None, f"zstd -t failed: {r.stderr.decode(errors='replace').strip()}"
        cmd = ["zstd", "-q", "-d", "-c", path]
    elif path.endswith(".gz"):
        cmd = ["gzip", "-d", "-c", path]
    else:
        cmd = ["cat", path]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    note = "" if r.returncode == 0 else f"{cmd[0]} exit {r.returncode}"
    return r.stdout.count(b"\n"), note


def one_case(name, builddir, peers, count):
    tmp = tempfile.mkdtemp(prefix=f"sluice-bench-archive-{name}-")
    os.makedirs(os.path.join(tmp, "out"))
    port = free_port()
    conf = os.path.join(tmp, "daemon.conf")
    errlog = os.path.join(tmp, "daemon.log")
    res = {"case": name, "note": ""}
    p = sender = None
    try:
        if name.startswith("sluiced"):
            text = sluiced_conf(tmp, port, "file" if name == "sluiced-file" else "archive")
            argv = [os.path.join(builddir, "core/sluiced"), "-n", "-c", conf, "-P",
                    os.path.join(builddir, "plugins")]
            env = None
        else:
            peer = peers["rsyslog"]
            text = rsyslog_conf(tmp, port, "zstd" if name == "rsyslog-zstd" else "zlib")
            argv = [peer.binary, "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslogd.pid")] \
                + peer.args
            env = bench.peer_env(peer)
        with open(conf, "w") as f:
            f.write(text)
        res["config"] = text
        p = spawn(argv, errlog, env=env)
        bench.wait_ready(p, lambda: bench.listening(types.SimpleNamespace(proto="tcp"),
                                                    types.SimpleNamespace(port=port)),
                         errlog, name)
        with open(os.path.join(tmp, "sender.out"), "wb") as out:
            sender = subprocess.Popen(
                [os.path.join(builddir, "tests/bench/sender"), "--proto", "tcp", "--target",
                 f"127.0.0.1:{port}", "--count", str(count), "--conns", "1", "--size",
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
        outs = [os.path.join(tmp, "out", n) for n in os.listdir(os.path.join(tmp, "out"))]
        res["files"] = [os.path.basename(o) for o in outs]
        if len(outs) != 1:
            res["note"] = f"output files: {res['files']}"
            return res
        res["bytes"] = os.path.getsize(outs[0])
        res["lines"], note = read_back(outs[0])
        res["note"] = note
        return res
    finally:
        if sender is not None and sender.poll() is None:
            stop(sender, timeout=2)
        if p is not None:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
# }===


# {=== the corpus
PROGRAMS = ["sshd", "CRON", "systemd", "kernel", "postfix/smtpd", "postfix/qmgr", "nginx",
            "sudo", "dhclient", "named", "chronyd", "dovecot", "su", "systemd-logind",
            "rsyslogd", "haproxy", "dockerd", "containerd", "kubelet", "mysqld"]
USERS = ["root", "alice", "bob", "deploy", "www-data", "backup", "git", "nagios", "postgres"]
PATHS = ["/var/lib/docker/overlay2", "/home/{u}/.ssh/authorized_keys", "/etc/nginx/nginx.conf",
         "/var/log/nginx/access.log", "/usr/lib/systemd/system/{s}.service", "/tmp/tmp.{n}",
         "/srv/www/app/releases/{n}/public/index.php", "/api/v1/users/{n}/orders"]
SERVICES = ["nginx", "ssh", "cron", "postfix", "docker", "kubelet", "backup", "logrotate"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def ip(r):
    return f"{r.choice([10, 172, 192, 203, 198])}.{r.randrange(256)}.{r.randrange(256)}." \
           f"{r.randrange(1, 255)}"


def message(r, prog):
    u, n, a = r.choice(USERS), r.randrange(1, 10 ** r.randrange(1, 7)), ip(r)
    path = r.choice(PATHS).format(u=u, n=n, s=r.choice(SERVICES))
    if prog == "sshd":
        return r.choice([
            f"Accepted publickey for {u} from {a} port {r.randrange(1024, 65536)} ssh2: "
            f"RSA SHA256:{''.join(r.choice('ABCDEFabcdef0123456789+/') for _ in range(43))}",
            f"Failed password for invalid user {u}{n % 100} from {a} port "
            f"{r.randrange(1024, 65536)} ssh2",
            f"Connection closed by authenticating user {u} {a} port "
            f"{r.randrange(1024, 65536)} [preauth]",
            f"pam_unix(sshd:session): session opened for user {u}(uid={1000 + n % 50}) by (uid=0)"])
    if prog == "CRON":
        return f"({u}) CMD (cd / && run-parts --report /etc/cron.{r.choice(['hourly', 'daily'])})"
    if prog == "kernel":
        return r.choice([
            f"[{r.randrange(1, 9999999)}.{r.randrange(10 ** 6):06d}] IN=eth0 OUT= "
            f"MAC=52:54:00:{r.randrange(256):02x}:{r.randrange(256):02x}:{r.randrange(256):02x} "
            f"SRC={a} DST={ip(r)} LEN={r.randrange(40, 1500)} TTL={r.randrange(32, 128)} "
            f"PROTO=TCP SPT={r.randrange(1024, 65536)} DPT={r.choice([22, 80, 443, 3306])}",
            f"[{r.randrange(1, 9999999)}.{r.randrange(10 ** 6):06d}] EXT4-fs (sda{n % 4}): "
            f"mounted filesystem with ordered data mode"])
    if prog == "nginx":
        return (f'{a} - - "{r.choice(["GET", "POST", "PUT"])} {path} HTTP/1.1" '
                f'{r.choice([200, 200, 200, 301, 404, 500])} {r.randrange(100, 90000)} '
                f'"-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/{r.randrange(90, 130)}.0"')
    if prog.startswith("postfix"):
        qid = "".join(r.choice("0123456789ABCDEF") for _ in range(10))
        return r.choice([f"{qid}: from=<{u}@example.org>, size={r.randrange(500, 90000)}, "
                         f"nrcpt=1 (queue active)",
                         f"connect from unknown[{a}]",
                         f"{qid}: removed"])
    if prog == "sudo":
        return f"{u} : TTY=pts/{n % 10} ; PWD=/home/{u} ; USER=root ; COMMAND=/usr/bin/ls {path}"
    if prog == "systemd":
        s = r.choice(SERVICES)
        return r.choice([f"Started {s}.service - {s.capitalize()} daemon.",
                         f"{s}.service: Deactivated successfully.",
                         f"{s}.service: Consumed {r.randrange(1, 999)}.{r.randrange(1000):03d}s "
                         f"CPU time."])
    return r.choice([f"request {n} for {path} took {r.randrange(1, 5000)} ms from {a}",
                     f"worker {n % 64} reloaded configuration from {path}",
                     f"user {u} logged in from {a} (session {n})",
                     f"disk usage of {path} is {r.randrange(1, 100)}% ({n} inodes)"])


def make_corpus(path, lines, seed=3164):
    r = random.Random(seed)
    hosts = [f"{r.choice(['web', 'db', 'mail', 'app', 'k8s-node', 'cache'])}"
             f"{r.randrange(1, 40):02d}" for _ in range(30)]
    pids = {p: r.randrange(300, 60000) for p in PROGRAMS}
    t = datetime.datetime(2026, 11, 22, 0, 0, 0)
    with open(path, "wb", buffering=1 << 20) as f:
        for _ in range(lines):
            t += datetime.timedelta(milliseconds=r.randrange(0, 170))
            prog = r.choice(PROGRAMS)
            if r.random() < 0.02:
                pids[prog] = r.randrange(300, 60000)
            pri = r.choice([13, 14, 30, 38, 86, 134, 3, 4, 11])
            tag = prog if prog == "kernel" else f"{prog}[{pids[prog]}]"
            f.write(f"<{pri}>{MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {r.choice(hosts)} "
                    f"{tag}: {message(r, prog)}\n".encode())


def corpus_ratio(builddir, lines):
    tmp = tempfile.mkdtemp(prefix="sluice-bench-corpus-")
    p = None
    try:
        corpus = os.path.join(tmp, "corpus.log")
        make_corpus(corpus, lines)
        raw = os.path.getsize(corpus)
        os.makedirs(os.path.join(tmp, "out"))
        port = free_port()
        conf = os.path.join(tmp, "sluiced.conf")
        with open(conf, "w") as f:
            f.write(sluiced_conf(tmp, port, "archive"))
        p = spawn([os.path.join(builddir, "core/sluiced"), "-n", "-c", conf, "-P",
                   os.path.join(builddir, "plugins")], os.path.join(tmp, "sluiced.log"))
        bench.wait_ready(p, lambda: bench.listening(types.SimpleNamespace(proto="tcp"),
                                                    types.SimpleNamespace(port=port)),
                         os.path.join(tmp, "sluiced.log"), "sluiced")
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s, \
                open(corpus, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                s.sendall(chunk)
        deadline = time.monotonic() + RUN_TIMEOUT
        while unread_bytes(port) > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop(p)
        p = None
        arc = os.path.join(tmp, "out", "out.zst")
        back = subprocess.run(["zstd", "-q", "-d", "-c", arc], capture_output=True,
                              timeout=120).stdout
        with open(corpus, "rb") as f:
            same = back == f.read()
        sizes = {"sluiced archive (level 3, 1 s frames)": os.path.getsize(arc)}
        for label, cmd in (("gzip -6", ["gzip", "-6", "-c", corpus]),
                           ("zstd -3", ["zstd", "-3", "-q", "-c", corpus])):
            out = subprocess.run(cmd, capture_output=True, timeout=300).stdout
            sizes[label] = len(out)
        frames = subprocess.run(["zstd", "-l", arc], capture_output=True, text=True,
                                timeout=60).stdout
        return raw, sizes, same, frames.strip().splitlines()
    finally:
        if p is not None:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
# }===


def report(results, corpus, peers, count, lines, started):
    raw, sizes, same, frames = corpus
    by = {r["case"]: r for r in results}
    out = [f"\n## archive output, {started:%Y-%m-%d %H:%M} UTC (tests/bench/bench_archive.py)\n",
           f"One run of each case, N = {count:,} messages of {bench.MESSAGE_SIZE} bytes over one "
           "TCP connection; a run ends when the daemon, sent SIGTERM once its sockets had "
           "nothing unread, has exited (the compressed file is complete then). CPU: the "
           "daemon's user+system seconds per million messages.\n",
           "| case | msgs/s | CPU s / M msgs | lines back | output bytes | note |",
           "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        if "rate" not in r:
            out.append(f"| {r['case']} | - | - | - | - | {r.get('note') or r.get('error')} |")
            continue
        out.append(f"| {r['case']} | {fmt_int(r['rate'])} | {r['cpu'] / r['sent'] * 1e6:.2f} | "
                   f"{fmt_int(r.get('lines'))} | {fmt_int(r.get('bytes'))} | "
                   f"{r['note'] or ('exit ' + str(r['exit']) if r['exit'] else '')} |")

    def ratio(a, b):
        if a in by and b in by and "rate" in by[a] and "rate" in by[b]:
            return by[a]["rate"] / by[b]["rate"]
        return None
    out.append("")
    for a, b, target in (("sluiced-archive", "sluiced-file", 0.5),
                         ("sluiced-archive", "rsyslog-zstd", 2.0),
                         ("sluiced-archive", "rsyslog-zlib", None)):
        x = ratio(a, b)
        if x is None:
            out.append(f"- {a} / {b}: not measured")
        else:
            verdict = "" if target is None else (" PASS" if x >= target else " FAIL") \
                + f" (target >= {target}x)"
            out.append(f"- {a} / {b}: {x:.2f}x{verdict}")
    out.append(f"\nCompression of {lines:,} generated RFC 3164 lines ({raw:,} bytes; programs, "
               "hosts, pids, addresses, paths; sent at full speed, so 1 s frames are large):\n")
    out.append("| | bytes | ratio |")
    out.append("| --- | ---: | ---: |")
    for k, v in sizes.items():
        out.append(f"| {k} | {v:,} | {raw / v:.2f} |")
    out.append(f"\nzstdcat of the archive equals the corpus: {'yes' if same else 'NO'}; "
               f"`zstd -l`: {' / '.join(' '.join(l.split()) for l in frames[-1:])}\n")
    if "rsyslog" in peers:
        out.append(f"rsyslog: {bench.run_text([peers['rsyslog'].binary, '-v']).splitlines()[0]} "
                   f"({peers['rsyslog'].origin})\n")
    out.append("Configs:\n")
    for r in results:
        if r.get("config"):
            out.append(f"```\n# {r['case']}\n{r['config']}```")
    return "\n".join(out) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--corpus-lines", type=int, default=1_000_000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "RESULTS.md"))
    args = ap.parse_args(argv)
    b = os.path.abspath(args.builddir)
    started = datetime.datetime.now(datetime.timezone.utc)
    peers = setup_peers(["rsyslog"])
    results = []
    try:
        cases = ["sluiced-file", "sluiced-archive"]
        if "rsyslog" in peers:
            cases += ["rsyslog-zstd", "rsyslog-zlib"]
        for c in cases:
            try:
                r = one_case(c, b, peers, args.count)
            except (bench.DaemonFailed, OSError, subprocess.SubprocessError) as e:
                r = {"case": c, "error": str(e)}
            log(f"bench_archive: {c}: " + ", ".join(f"{k}={v}" for k, v in r.items()
                                                    if k != "config"))
            results.append(r)
        corpus = corpus_ratio(b, args.corpus_lines)
        log(f"bench_archive: corpus {corpus[:3]}")
    finally:
        bench.stop_all()
    text = report(results, corpus, peers, args.count, args.corpus_lines, started)
    with open(args.out, "a") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
