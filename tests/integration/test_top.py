#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sluicectl top, the live view, and sluicectl counters, the lines it reads:
totals equal to what was sent, rates while traffic flows, plain text when
not on a terminal, the terminal's mode put back on q, Ctrl-C, SIGTERM and
while stopped by Ctrl-Z, and a clear exit 1 when there is no daemon or it
goes away."""

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, lf_frames, run, sluicectl_path, tcp_connect  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "out" { type = "file", path = "out.log", queue = { capacity = 5000 } }
output "second.copy" { type = "file", path = "second.log" }
route { to = { "out", "second.copy" } }
"""


def messages(n, start=0):
    return [b"<13>Dec  4 13:00:00 host app: message %d" % i for i in range(start, start + n)]


def top(d, *args, timeout=20):
    return run([sluicectl_path(), "-s", d.ctl_path, "top", *args], timeout=timeout)


def refreshes(text):
    """The refreshes of batch output: each a dict of header (words), inputs
    and outputs ({name: [column, ...]})."""
    out = []
    table = None
    for line in text.splitlines():
        words = line.split()
        if line.startswith("sluiced pid "):
            out.append({"header": words, "inputs": {}, "outputs": {}})
            table = None
        elif words[:1] == ["INPUT"]:
            table = out[-1]["inputs"]
        elif words[:1] == ["OUTPUT"]:
            table = out[-1]["outputs"]
        elif words and table is not None:
            table[words[0]] = words[1:]
    return out


# INPUT  MSGS/S BYTES/S ERRORS/S RECEIVED
# OUTPUT IN/S WRITTEN/S WRITTEN QUEUE FILL DROPS/S DROPPED FAILED STATE
def test_totals_match_what_was_sent():
    n = 250
    with Daemon(CONFIG) as d:
        with tcp_connect(d.address("tcp")) as s:
            s.sendall(lf_frames(messages(n)))
        d.wait_stat(lambda st: all(o["written"] == n for o in st["outputs"].values()),
                    what=f"both outputs wrote {n}")
        r = top(d, "-n", "2", "-d", "0.5")
        check(r.returncode == 0, f"top exited {r.returncode}: {r.stderr!r}")
        check("\x1b" not in r.stdout, f"escapes in output that is no terminal: {r.stdout!r}")
        shots = refreshes(r.stdout)
        check(len(shots) == 2, f"-n 2 printed {len(shots)} refreshes:\n{r.stdout}")
        for i, shot in enumerate(shots):
            check(shot["header"][2] == f"{d.pid},", f"header: {shot['header']}")
            check(list(shot["inputs"]) == ["tcp"], f"inputs: {shot['inputs']}")
            check(sorted(shot["outputs"]) == ["out", "second.copy"],
                  f"outputs: {shot['outputs']}")
            tcp = shot["inputs"]["tcp"]
            check(tcp[3] == str(n), f"tcp received {tcp[3]}, {n} were sent")
            for name, cap in (("out", 5000), ("second.copy", 10000)):
                o = shot["outputs"][name]
                check(o[2] == str(n), f"{name} wrote {o[2]}, {n} were sent")
                check(o[3] == f"0/{cap}" and o[4] == "0%", f"{name}'s queue: {o}")
                check(o[6:9] == ["0", "0", "ok"], f"{name} drops, failures, state: {o}")
            # The first refresh has no rates yet; the second has them, and
            # nothing flowed in between.
            want = "-" if i == 0 else "0.0"
            check(tcp[:3] == [want] * 3, f"refresh {i + 1}: tcp rates {tcp[:3]}")
            check(shot["outputs"]["out"][:2] == [want] * 2 and shot["outputs"]["out"][5] == want,
                  f"refresh {i + 1}: out rates {shot['outputs']['out']}")
        # counters: the raw lines, the same numbers as stats.
        lines = d.ctl("counters").stdout.splitlines()
        check(lines[0].startswith(f"daemon pid={d.pid} version="), f"{lines[0]!r}")
        tcp = [line for line in lines if line.startswith("input tcp ")]
        check(len(tcp) == 1 and f" received={n} " in tcp[0], f"counters: {lines}")
        out = [line for line in lines if line.startswith("output out ")]
        check(len(out) == 1 and f" written={n} " in out[0] and " queue_capacity=5000 " in out[0],
              f"counters: {lines}")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("top shows each input and output with the totals sent; counters the same numbers")


def test_rates_while_traffic_flows():
    with Daemon(CONFIG) as d:
        stop = threading.Event()
        sent = [0]

        def sender():
            with tcp_connect(d.address("tcp")) as s:
                while not stop.is_set():
                    s.sendall(lf_frames(messages(40, sent[0])))
                    sent[0] += 40
                    time.sleep(0.02)
        t = threading.Thread(target=sender)
        t.start()
        try:
            r = top(d, "-n", "4", "-d", "0.5")
        finally:
            stop.set()
            t.join()
        check(r.returncode == 0, f"top exited {r.returncode}: {r.stderr!r}")
        shots = refreshes(r.stdout)
        check(len(shots) == 4, f"-n 4 printed {len(shots)} refreshes:\n{r.stdout}")
        for i in range(1, 4):
            before, now = shots[i - 1], shots[i]
            tcp, out = now["inputs"]["tcp"], now["outputs"]["out"]
            rate, got = float(tcp[0]), int(tcp[3]) - int(before["inputs"]["tcp"][3])
            check(rate > 0 and float(tcp[1]) > 0, f"refresh {i + 1}: tcp rates {tcp}")
            check(float(out[0]) > 0 and float(out[1]) > 0, f"refresh {i + 1}: out rates {out}")
            # The rate is what came in since the refresh before over the
            # time between them: the half second waited, and the answer.
            check(0.45 <= got / rate <= 0.95,
                  f"refresh {i + 1}: {got} received at {rate}/s is {got / rate:.2f} s")
        check(sent[0] > 0 and d.stop() == 0, f"sluiced exited {d.returncode}")
    print("top shows rates that match the totals while traffic flows")


def test_no_daemon_and_daemon_gone():
    with sluicetest.TempDir() as tmp:
        r = run([sluicectl_path(), "-s", tmp.path("none.sock"), "top"], timeout=10)
        check(r.returncode == 1, f"top without a daemon exited {r.returncode}")
        check("none.sock" in r.stderr and "is sluiced running?" in r.stderr,
              f"top without a daemon said {r.stderr!r}")
        check(r.stdout == "", f"top without a daemon printed {r.stdout!r}")
    with Daemon(CONFIG) as d:
        p = subprocess.Popen([sluicectl_path(), "-s", d.ctl_path, "top", "-d", "0.2"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            first = p.stdout.readline()
            check(first.startswith("sluiced pid "), f"top's first line {first!r}")
            check(d.stop() == 0, f"sluiced exited {d.returncode}")
            out, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(p.returncode == 1, f"top exited {p.returncode} when the daemon went away")
        check("is gone" in err and d.ctl_path in err, f"top said {err!r}")
    print("top exits 1 saying why without a daemon, or when it goes away")


def fake_daemon(path, answer):
    """A control socket that answers every client with answer, in a thread."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                c.recv(128)
                c.sendall(answer)
    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_answers_that_are_no_counters():
    """A daemon older than counters, or a socket that answers nonsense:
    exit 1 with what it said, not a table of zeroes."""
    with sluicetest.TempDir() as tmp:
        for i, (answer, said) in enumerate(((b'error: unknown command "counters" (stats, status)\n',
                              'answered error: unknown command "counters"'),
                             (b"daemon pid=1\ninput\n", "cannot read line 2 of the counters"),
                             (b"", "answered nothing"))):
            path = tmp.path(f"fake{i}.sock")
            srv = fake_daemon(path, answer)
            try:
                r = run([sluicectl_path(), "-s", path, "top", "-n", "2", "-d", "0.1"], timeout=10)
            finally:
                srv.shutdown(socket.SHUT_RDWR)  # wakes its accept()
                srv.close()
            check(r.returncode == 1 and said in r.stderr and r.stdout == "",
                  f"top given {answer!r} exited {r.returncode}: {r.stderr!r} {r.stdout!r}")
    print("top exits 1 with the daemon's words when the answer is no counters")


def test_options():
    with Daemon(CONFIG) as d:
        for args in (["-d", "0"], ["-d", "x"], ["-n", "0"], ["-n", "1.5"], ["extra"]):
            r = top(d, *args)
            check(r.returncode == 2 and ("Usage" in r.stderr or "wants" in r.stderr),
                  f"top {args} exited {r.returncode}: {r.stderr!r}")
        r = top(d, "--help")
        check(r.returncode == 0 and "--delay" in r.stdout and "q quits" in r.stdout,
              f"top --help: {r.stdout!r}")
        r = run([sluicectl_path(), "top", "-s", d.ctl_path, "--iterations", "1", "--delay", "5"])
        check(r.returncode == 0 and len(refreshes(r.stdout)) == 1, f"long options: {r.stdout!r}")
    r = run([sluicectl_path(), "--help"])
    for word in ("top", "counters", "--delay", "--iterations"):
        check(word in r.stdout, f"sluicectl --help does not mention {word}")
    print("top refuses bad options with status 2; --help tells its keys")


def lflag(fd):
    return termios.tcgetattr(fd)[3]


def read_until(fd, text, timeout=10.0):
    """What the terminal shows, until it holds text."""
    got = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in got:
        left = deadline - time.monotonic()
        check(left > 0, f"the terminal never showed {text!r}: {got[-300:]!r}")
        if select.select([fd], [], [], left)[0]:
            try:
                got += os.read(fd, 65536)
            except OSError:
                break
    return got


def state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def stop_and_continue(p, master, slave, before):
    """Ctrl-Z: stopped with the terminal's mode put back; continued, it
    takes the keys again and redraws."""
    p.send_signal(signal.SIGTSTP)
    sluicetest.wait_until(lambda: state(p.pid) == "T", 10, "top stopped by SIGTSTP")
    check(lflag(slave) == before, "top stopped by SIGTSTP left the terminal's mode changed")
    while select.select([master], [], [], 0)[0]:  # what it drew before it stopped
        os.read(master, 65536)
    p.send_signal(signal.SIGCONT)
    read_until(master, "q: quit")
    sluicetest.wait_until(lambda: not lflag(slave) & termios.ICANON, 10,
                          "top continued takes the keys again")


def on_terminal(d, how):
    """Runs top on a pseudo-terminal, ends it by how ("q", SIGINT, SIGTERM,
    or "stop": Ctrl-Z, SIGCONT, then q); the exit status and whether the
    terminal's mode came back."""
    master, slave = pty.openpty()
    before = lflag(slave)
    check(before & termios.ICANON and before & termios.ECHO, "the pty is not canonical")
    p = subprocess.Popen([sluicectl_path(), "-s", d.ctl_path, "top", "-d", "0.3"],
                         stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    try:
        screen = read_until(master, "q: quit")
        check(b"\x1b[H\x1b[2J" in screen and b"second.copy" in screen,
              f"no screen drawn: {screen!r}")
        read_until(master, "q: quit")  # a second screen: it refreshes
        check(not lflag(slave) & (termios.ICANON | termios.ECHO),
              "top did not put the terminal in non-canonical mode")
        if how == "stop":
            stop_and_continue(p, master, slave, before)
            how = "q"
        if how == "q":
            os.write(master, b"q")
        else:
            p.send_signal(how)
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        restored = lflag(slave) == before
        os.close(master)
        os.close(slave)
    return rc, restored


def test_terminal_mode_put_back():
    with Daemon(CONFIG) as d:
        for how, want in (("q", 0), (signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM),
                          ("stop", 0)):
            rc, restored = on_terminal(d, how)
            check(rc == want, f"top ended by {how} exited {rc}, not {want}")
            check(restored, f"top ended by {how} left the terminal's mode changed")
    print("on a terminal top redraws in place, q quits, the mode comes back every way "
          "and while it is stopped")


if __name__ == "__main__":
    sluicetest.main([test_totals_match_what_was_sent, test_rates_while_traffic_flows,
                     test_no_daemon_and_daemon_gone,
                     test_answers_that_are_no_counters, test_options, test_terminal_mode_put_back])
