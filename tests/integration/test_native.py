#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The native input: the systemd journal's protocol on a unix datagram
socket, sent by a plain Python client (socket, os.memfd_create,
SCM_RIGHTS) and by real journal clients.

- Fields arrive intact in json ("fields"), in templates ({fields.KEY}) and
  in Lua (m.fields.KEY), text and binary form (a value with newlines and
  NUL bytes), mapped to the header (MESSAGE, PRIORITY, ...).
- Trusted fields (_PID, _UID, _GID, _COMM, _EXE, _CMDLINE, _TRANSPORT) come
  from the kernel's credentials and /proc, never from the client: its
  _PID=1 is ignored and counted (forged_fields).
- A 1 MiB entry in a sealed memfd passes; an unsealed memfd is refused
  (unsealed); one larger than max_message is too_large.
- Malformed datagrams (truncated length, missing LF, bad key, a length
  past the end, 100,000 fields, descriptors with a non-empty datagram) are
  each counted and dropped alone: the next good entry still arrives.
- Every descriptor a sender passes is closed, on the native and on the
  syslog unix input.
- ratelimit goes by the kernel's pid, as on the unix input.
- python3-systemd's journal.send() and sd_journal_sendv() ($JOURNAL_CLIENT)
  reach sluice in a mount namespace where /run/systemd/journal/socket is
  its socket (as test_glibc_syslog.py does for /dev/log); they skip where
  namespaces, the module or the client are not available.
"""

import array
import base64
import errno
import fcntl
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check  # noqa: E402

CONFIG = """
input "journal" { type = "native", path = "journal.sock" }
input "devlog" { type = "unix", path = "log.sock" }
output "out" { type = "file", path = "out.json", format = "json" }
output "tpl" { type = "file", path = "tpl.log", format = "{app_name} {fields.CUSTOM} {msg}" }
output "lua" { type = "file", path = "lua.log", format = "{msg}" }
route { to = "out" }
route { input = "journal", to = "tpl" }
route { where = function(m) return m.fields.CUSTOM == "lua sees it" end, to = "lua" }
"""

SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
MiB = 1 << 20


# {=== the protocol, client side

def field(key, value):
    """One field: KEY=VALUE\\n, or the binary form for a value with a
    newline (or a NUL: as python-systemd and sd_journal do for newlines)."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    if b"\n" in value or b"\0" in value:
        return key + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
    return key + b"=" + value + b"\n"


def entry(*pairs, **kw):
    return b"".join(field(k, v) for k, v in list(pairs) + list(kw.items()))


def send(path, data, fds=()):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        if fds:
            # socket.send_fds() would be this, but drops its address
            # argument before Python 3.12
            s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                array.array("i", fds))], 0, path)
        else:
            s.sendto(data, path)


def send_big(path, data):
    """A datagram larger than the default SO_SNDBUF allows: raise it
    (SO_SNDBUFFORCE as root); where the kernel still refuses, raise Skip."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        want = 2 * len(data) + 4096
        try:
            s.setsockopt(socket.SOL_SOCKET, 32, want)  # SO_SNDBUFFORCE
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, want)
        try:
            s.sendto(data, path)
        except OSError as e:
            if e.errno in (errno.EMSGSIZE, errno.ENOBUFS):
                raise Skip(f"a {len(data)}-byte datagram is refused here ({e}); "
                           "net.core.wmem_max is too small")
            raise


def memfd(data, seals=SEALS):
    fd = os.memfd_create("sluicetest", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def send_memfd(path, data, seals=SEALS):
    fd = memfd(data, seals)
    try:
        send(path, b"", [fd])
    finally:
        os.close(fd)


def value_of(fields, key):
    """A field's value as bytes, whether json wrote it as a string or as
    {"base64": ...} (binary values)."""
    v = fields.get(key)
    if isinstance(v, dict) and "base64" in v:
        return base64.b64decode(v["base64"])
    return None if v is None else v.encode("utf-8", "surrogatepass")
# }===


def journal(d):
    return d.path("journal.sock")


def good(i):
    return entry(MESSAGE=f"good {i}", CUSTOM=f"c{i}")


def wait_msgs(d, n, timeout=10.0):
    return d.wait_json_lines("out.json", n, timeout)


def proc_self():
    with open("/proc/self/comm") as f:
        comm = f.read().rstrip("\n")
    with open("/proc/self/cmdline", "rb") as f:
        cmdline = f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    return comm, os.readlink("/proc/self/exe"), cmdline


@sluicetest.timeout(60)
def test_fields_mapping_and_trusted():
    with Daemon(CONFIG) as d:
        binary = b"line one\nline two\0after a NUL"
        send(journal(d), entry(("MESSAGE", "hello native"), ("PRIORITY", "3"),
                               ("SYSLOG_FACILITY", "4"), ("SYSLOG_IDENTIFIER", "pyclient"),
                               ("SYSLOG_PID", "4242"), ("CUSTOM", "lua sees it"),
                               ("_PID", "1"), ("_COMM", "forged"), ("BIN", binary)))
        o = wait_msgs(d, 1)[0]
        want = {"msg": "hello native", "severity": "err", "facility": "auth",
                "app_name": "pyclient", "procid": "4242", "pid": os.getpid(),
                "uid": os.getuid(), "gid": os.getgid(), "input": "journal",
                "hostname": socket.gethostname()}
        for k, v in want.items():
            check(o.get(k) == v, f"{k} is {o.get(k)!r}, expected {v!r}", f"line: {o}")
        f = o.get("fields") or {}
        comm, exe, cmdline = proc_self()
        trusted = {"_PID": str(os.getpid()), "_UID": str(os.getuid()),
                   "_GID": str(os.getgid()), "_TRANSPORT": "journal", "_COMM": comm,
                   "_EXE": exe, "_CMDLINE": cmdline}
        for k, v in trusted.items():
            check(f.get(k) == v, f"field {k} is {f.get(k)!r}, expected {v!r}", f"fields: {f}")
        for k, v in {"MESSAGE": "hello native", "PRIORITY": "3", "SYSLOG_PID": "4242",
                     "CUSTOM": "lua sees it"}.items():
            check(f.get(k) == v, f"field {k} is {f.get(k)!r}, expected {v!r}", f"fields: {f}")
        check(value_of(f, "BIN") == binary, f"BIN is {f.get('BIN')!r}, expected {binary!r}")
        tpl = d.wait_lines("tpl.log", 1)
        check(tpl == [b"pyclient lua sees it hello native"], f"tpl.log: {tpl!r}")
        lua = d.wait_lines("lua.log", 1)
        check(lua == [b"hello native"], f"lua.log: {lua!r}")
        s = d.input_stats("journal")
        check(s["received"] == 1 and s["forged_fields"] == 2 and s["malformed"] == 0,
              f"stats: {s}, expected received 1, forged_fields 2")


@sluicetest.timeout(60)
def test_memfd_entries():
    with Daemon(CONFIG) as d:
        # 1 MiB of every ASCII byte, controls, LF and NUL included (json
        # writes bytes past 0x7f that are not UTF-8 as text \\xNN)
        big = bytes(range(128)) * (MiB // 128)
        send_memfd(journal(d), entry(MESSAGE="from a memfd", BIG=big))
        send_memfd(journal(d), entry(MESSAGE="unsealed"), seals=0)
        send_memfd(journal(d), entry(MESSAGE="write sealed only"), seals=fcntl.F_SEAL_WRITE)
        # sealed without F_SEAL_SEAL is sealed enough, as for journald
        send_memfd(journal(d), entry(MESSAGE="sealed, not seal-sealed"),
                   seals=SEALS & ~fcntl.F_SEAL_SEAL)
        send_memfd(journal(d), entry(MESSAGE="too large", BIG=b"x" * (5 * MiB)))
        send(journal(d), good(1))
        lines = wait_msgs(d, 3)
        check([o["msg"] for o in lines] == ["from a memfd", "sealed, not seal-sealed", "good 1"],
              f"messages: {[o['msg'] for o in lines]}")
        got = value_of(lines[0]["fields"], "BIG")
        check(got == big, f"BIG: {len(got or b'')} bytes, expected the 1 MiB sent intact")
        check(lines[0]["pid"] == os.getpid(), f"pid {lines[0]['pid']}, expected {os.getpid()}")
        s = d.wait_stat(lambda s: s["inputs"]["journal"]["received"] >= 6)["inputs"]["journal"]
        check(s["received"] == 6 and s["unsealed"] == 2 and s["too_large"] == 1,
              f"stats: {s}, expected received 6, unsealed 2, too_large 1")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(60)
def test_large_datagrams_in_one_batch():
    # Entries of exactly max_message bytes, queued while sluiced is stopped
    # so that one read takes them all: each must come out intact (the pages
    # of a slot given back after a large datagram are its own only).
    config = CONFIG.replace('path = "journal.sock" }', 'path = "journal.sock", max_message = "1M" }')
    with Daemon(config) as d:
        def sized(i, size):
            head = entry(MESSAGE=f"large {i}")
            pad = size - len(head) - len(b"PAD=\n")
            return head + field("PAD", bytes([65 + i]) * pad)
        sent = [sized(i, MiB) for i in range(3)] + [sized(3, MiB + 1)]
        check(all(len(e) == MiB for e in sent[:3]), "entries are not of max_message bytes")
        os.kill(d.pid, signal.SIGSTOP)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                try:
                    s.setsockopt(socket.SOL_SOCKET, 32, 16 * MiB)  # SO_SNDBUFFORCE
                except OSError:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * MiB)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < 5 * MiB:
                    raise Skip("cannot queue 4 MiB of datagrams: net.core.wmem_max is too "
                               "small without root (SO_SNDBUFFORCE)")
                for e in sent:
                    s.sendto(e, journal(d))
        finally:
            os.kill(d.pid, signal.SIGCONT)
        send(journal(d), good(0))
        lines = wait_msgs(d, 4)
        check([o["msg"] for o in lines] == ["large 0", "large 1", "large 2", "good 0"],
              f"messages: {[o['msg'] for o in lines]}")
        for i, o in enumerate(lines[:3]):
            pad = o["fields"].get("PAD", "")
            check(pad == chr(65 + i) * len(pad) and len(pad) > MiB - 100,
                  f"entry {i}: PAD is not intact ({len(pad)} bytes)")
        s = d.input_stats("journal")
        check(s["too_large"] == 1, f"stats: {s}, expected too_large 1 (the entry of 1M + 1)")


def fds_of(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@sluicetest.timeout(60)
def test_malformed_each_dropped_alone():
    bad = {
        "truncated length": b"MESSAGE=x\nBIN\n\x05\x00\x00",
        "missing LF": b"MESSAGE=no newline at the end",
        "bad key": b"MESSAGE=x\nlower=case\n",
        "length past the end": b"MESSAGE=x\nBIN\n" + struct.pack("<Q", 1000) + b"short\n",
        "no LF after a binary value": b"BIN\n" + struct.pack("<Q", 2) + b"abX",
        "empty": b"",
    }
    with Daemon(CONFIG) as d:
        n = 0
        for what, data in bad.items():
            send(journal(d), data)
            send(journal(d), good(n))
            n += 1
        # 100,000 fields (ENTRY_FIELD_COUNT_MAX is 1024), as one datagram
        send_big(journal(d), b"F=\n" * 100000)
        send(journal(d), good(n))
        n += 1
        # descriptors with a non-empty datagram, and two with an empty one
        fd = memfd(good(99))
        try:
            send(journal(d), good(98), [fd])
            send(journal(d), b"", [fd, fd])
        finally:
            os.close(fd)
        send(journal(d), good(n))
        n += 1
        lines = wait_msgs(d, n)
        check([o["msg"] for o in lines] == [f"good {i}" for i in range(n)],
              f"messages: {[o['msg'] for o in lines]}")
        nbad = len(bad) + 3
        s = d.wait_stat(lambda s: s["inputs"]["journal"]["received"] >= n + nbad)
        s = s["inputs"]["journal"]
        check(s["received"] == n + nbad and s["malformed"] == nbad,
              f"stats: {s}, expected received {n + nbad}, malformed {nbad}")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(60)
def test_fields_past_the_limit_dropped():
    with Daemon(CONFIG) as d:
        pairs = [("MESSAGE", "many")] + [(f"F{i}", "v") for i in range(199)]
        send(journal(d), entry(*pairs))
        o = wait_msgs(d, 1)[0]
        f = o["fields"]
        check(len(f) == 64 and "_PID" in f and "F0" in f,
              f"{len(f)} fields, expected 64 with the trusted ones and the first sent")
        s = d.input_stats("journal")
        kept = 64 - 7  # seven trusted fields come first
        check(s["fields_dropped"] == 200 - kept, f"stats: {s}, expected fields_dropped "
              f"{200 - kept}")


@sluicetest.timeout(60)
def test_descriptors_always_closed():
    with Daemon(CONFIG) as d:
        before = fds_of(d.pid)
        fd = memfd(good(0))
        try:
            for i in range(50):
                send(journal(d), b"" if i % 2 else good(i), [fd] * (1 + i % 3))
                send(d.path("log.sock"), b"<14>with descriptors %d" % i, [fd, fd])
            # more than the input has room for (the kernel installs none
            # past the control buffer): malformed, and nothing kept
            send(journal(d), b"", [fd] * 20)
            send(d.path("log.sock"), b"<14>with 20 descriptors", [fd] * 20)
        finally:
            os.close(fd)
        d.wait_stat(lambda s: s["inputs"]["journal"]["received"] >= 51
                    and s["inputs"]["devlog"]["received"] >= 51)
        after = fds_of(d.pid)
        check(after <= before, f"sluiced held {before} descriptors, now {after}")
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(60)
def test_ratelimit_by_trusted_pid():
    config = CONFIG.replace('path = "journal.sock" }',
                            'path = "journal.sock", ratelimit = { interval = "1h", burst = 5 } }')
    with Daemon(config) as d:
        for i in range(20):
            send(journal(d), entry(MESSAGE=f"r{i}", PRIORITY="6", _PID=str(1000 + i)))
        send(journal(d), entry(MESSAGE="an error has its own budget", PRIORITY="3"))
        s = d.wait_stat(lambda s: s["inputs"]["journal"]["received"] >= 21)["inputs"]["journal"]
        lines = wait_msgs(d, 6)
        check([o["msg"] for o in lines] == [f"r{i}" for i in range(5)]
              + ["an error has its own budget"], f"messages: {[o['msg'] for o in lines]}")
        check(s["suppressed"] == 15, f"stats: {s}, expected suppressed 15 (one sender: the "
              "kernel's pid, not the forged _PID)")


@sluicetest.timeout(60)
def test_reload_keeps_the_socket():
    with Daemon(CONFIG) as d:
        send(journal(d), good(0))
        wait_msgs(d, 1)
        d.write_config(CONFIG.replace('format = "{msg}"', 'format = "{app_name} {msg}"'))
        r = d.ctl("reload")
        check(r.stdout.strip() == "ok", f"reload: {r.stdout!r} {r.stderr!r}")
        send(journal(d), good(1))
        lines = wait_msgs(d, 2)
        check(lines[1]["msg"] == "good 1", f"after reload: {lines[1]}")
        check(d.input_stats("journal")["received"] == 2, "the input was restarted by reload")


@sluicetest.timeout(60)
def test_reload_unix_to_native_on_one_path():
    # The new input waits for the old one to give the path up (one path is
    # one socket, whichever kinds bind it), then binds it: its socket stays.
    unix_conf = CONFIG.replace('type = "native", path = "journal.sock"',
                               'type = "unix", path = "journal.sock"')
    with Daemon(unix_conf) as d:
        send(journal(d), b"<14>syslog first")
        wait_msgs(d, 1)
        d.write_config(CONFIG)
        r = d.ctl("reload")
        check(r.stdout.strip() == "ok", f"reload: {r.stdout!r} {r.stderr!r}")
        d.wait_stat(lambda s: s["inputs"]["journal"]["type"] == "native")
        send(journal(d), good(1))
        lines = wait_msgs(d, 2)
        check(lines[1]["msg"] == "good 1", f"after reload: {lines[1]}")
        check(os.path.exists(journal(d)), "the socket's path is gone after the reload")


# {=== real clients, in a mount namespace (test_glibc_syslog.py's approach)
UNSHARE = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
MOUNT_FAILED = 99
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def can_unshare():
    for tool in ("unshare", "mount"):
        if sluicetest.which(tool) is None:
            raise Skip(f"{tool} is not installed")
    try:
        r = sluicetest.run(UNSHARE + ["sh", "-c", "mount --make-rprivate / && echo yes"],
                           timeout=10)
    except subprocess.TimeoutExpired:
        raise Skip("unshare -m timed out")
    if r.returncode != 0 or "yes" not in r.stdout:
        raise Skip(f"cannot make a private mount namespace here ({' '.join(UNSHARE)} / mount "
                   f"--make-rprivate: status {r.returncode}: {r.stderr.strip()})")


def run_in_namespace(sock, argv, what):
    """Runs argv where /run/systemd/journal/socket is sock: bound over the
    real one, or, where there is none, over a file in a tmpfs mounted on
    /run/systemd (in the namespace only). Returns the CompletedProcess."""
    q = shlex.quote
    if os.path.exists(JOURNAL_SOCKET):
        setup = f"mount --bind {q(sock)} {JOURNAL_SOCKET}"
    else:
        setup = ("mkdir -p /run/systemd && "
                 "mount -t tmpfs -o size=64k,mode=0755 sluicetest /run/systemd && "
                 f"mkdir /run/systemd/journal && : > {JOURNAL_SOCKET} && "
                 f"mount --bind {q(sock)} {JOURNAL_SOCKET}")
    script = (f"mount --make-rprivate / && {setup} || exit {MOUNT_FAILED}; "
              f"exec {' '.join(q(a) for a in argv)}")
    try:
        r = sluicetest.run(UNSHARE + ["sh", "-c", script], timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what} did not finish in 30 s")
    if r.returncode == MOUNT_FAILED:
        raise Skip(f"mounting the socket on {JOURNAL_SOCKET} failed: {r.stderr.strip()}")
    check(r.returncode == 0, f"{what} exited {r.returncode}", f"stderr: {r.stderr!r}")
    try:
        return int(r.stdout.split()[0])
    except (IndexError, ValueError):
        raise AssertionError(f"{what} printed no pid: {r.stdout!r}")


PY_CLIENT = """
import os, sys
from systemd import journal
print(os.getpid(), flush=True)
journal.send(sys.argv[1], PRIORITY=sys.argv[2], CUSTOM_FIELD="custom",
             MULTI="line one\\nline two")
"""


def python_with_systemd():
    """A python3 that imports systemd.journal: ours, or Debian's."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.access(py, os.X_OK):
            r = sluicetest.run([py, "-c", "import systemd.journal"], timeout=20)
            if r.returncode == 0:
                return py
    raise Skip("no python3 here imports systemd.journal (apt-get install python3-systemd)")


def check_client_entry(o, pid, msg, severity, ident):
    f = o.get("fields") or {}
    for k, v in {"msg": msg, "severity": severity, "pid": pid, "app_name": ident}.items():
        check(o.get(k) == v, f"{k} is {o.get(k)!r}, expected {v!r}", f"line: {o}")
    for k, v in {"CUSTOM_FIELD": "custom", "MULTI": "line one\nline two",
                 "_PID": str(pid), "_TRANSPORT": "journal"}.items():
        check(f.get(k) == v, f"field {k} is {f.get(k)!r}, expected {v!r}", f"fields: {f}")


@sluicetest.timeout(60)
def test_python_systemd_journal_send():
    py = python_with_systemd()
    can_unshare()
    with Daemon(CONFIG) as d:
        pid = run_in_namespace(journal(d), [py, "-c", PY_CLIENT, "from python-systemd", "2"],
                               "the python-systemd client")
        o = wait_msgs(d, 1)[0]
        # python-systemd sets SYSLOG_IDENTIFIER to the script's name: "-c" here
        check_client_entry(o, pid, "from python-systemd", "crit", o.get("app_name"))
        check(o["fields"].get("CODE_FUNC") is not None, f"no CODE_FUNC: {o['fields']}")


@sluicetest.timeout(60)
def test_sd_journal_sendv():
    client = sluicetest.need_env("JOURNAL_CLIENT")
    if not os.access(client, os.X_OK):
        raise Skip(f"$JOURNAL_CLIENT={client} is not built (./configure found no libsystemd)")
    can_unshare()
    # room for the unprivileged run's memfd entry (see below)
    config = CONFIG.replace('path = "journal.sock" }', 'path = "journal.sock", max_message = "16M" }')
    with Daemon(config) as d:
        pid = run_in_namespace(journal(d), [client, "from sd_journal_sendv"], "journal_client")
        o = wait_msgs(d, 1)[0]
        check_client_entry(o, pid, "from sd_journal_sendv", "warning", "journal-client")
        # an entry of 1 MiB and a bit (a datagram, or a memfd where that
        # does not fit: sd_journal decides)
        # As root, sd_journal forces an 8 MiB send buffer and sends 1 MiB as
        # one datagram. Unprivileged, its buffer stops at net.core.wmem_max
        # (doubled by the kernel): an entry past that gets EMSGSIZE and goes
        # as a sealed memfd, which the second run makes sure of.
        runs = [([client, "big one", str(MiB)], MiB)]
        unpriv = 2 * wmem_max() + 64 * 1024
        if os.geteuid() == 0 and sluicetest.which("setpriv") and unpriv < 15 * MiB:
            runs.append((["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          client, "big one", str(unpriv)], unpriv))
        else:
            print(f"note: no unprivileged memfd run (root: {os.geteuid() == 0}, "
                  f"setpriv: {bool(sluicetest.which('setpriv'))}, {unpriv} bytes)")
        for i, (argv, size) in enumerate(runs):
            pid = run_in_namespace(journal(d), argv, "journal_client")
            o = wait_msgs(d, 2 + i)[1 + i]
            check_client_entry(o, pid, "big one", "warning", "journal-client")
            check(o["fields"].get("BIG_FIELD") == "x" * size,
                  f"BIG_FIELD is not the {size} bytes sent")
        if len(runs) > 1:
            check(o["uid"] == 65534, f"uid {o['uid']}, expected 65534 (setpriv)")


def wmem_max():
    try:
        with open("/proc/sys/net/core/wmem_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 212992  # the kernel's default
# }===


if __name__ == "__main__":
    sluicetest.main([test_fields_mapping_and_trusted, test_memfd_entries,
                     test_malformed_each_dropped_alone, test_fields_past_the_limit_dropped,
                     test_large_datagrams_in_one_batch,
                     test_descriptors_always_closed, test_ratelimit_by_trusted_pid,
                     test_reload_keeps_the_socket, test_reload_unix_to_native_on_one_path,
                     test_python_systemd_journal_send,
                     test_sd_journal_sendv])
