#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sluiced --import-rsyslog against the real rsyslogd: Debian 12's default
rsyslog.conf (from Debian's package, unpacked as tests/install-deps.sh and
the benchmark do it) is converted, both configs get their paths moved into
temporary directories (/var/log, the /dev/log socket), both daemons run,
the same messages go to each one's unix socket with logger -u (every
facility at five severities), and each file must hold the same messages
in both: the MSG parts are compared, as the time differs.

What the test leaves out of both configs, before the conversion: imklog
(the kernel's log is not the same for two daemons, and needs root),
$IncludeConfig (the system's rsyslog.d is not the package's), the
:omusrmsg:* line (rsyslogd would write to the terminals of whoever is
logged in) and, when not root or without the group adm, $FileOwner and
$FileGroup. Without rsyslogd (no package, no network) the test skips and
says why."""

import grp
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, check  # noqa: E402
import bench  # noqa: E402  (its fetch of rsyslog: setup_peers)
from test_rsyslog_bytes import find_rsyslogd  # noqa: E402

FACILITIES = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
              "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock"] + \
             [f"local{i}" for i in range(8)]
SEVERITIES = ["emerg", "err", "warning", "info", "debug"]
TAG = "imptest"
END = "imptest-end"


def debian_conf():
    """Debian 12's rsyslog.conf, from the package the benchmark unpacked
    (pristine), else the system's."""
    for path in (os.path.join(bench.cache_dir(), "root", "etc", "rsyslog.conf"),
                 "/etc/rsyslog.conf"):
        if os.path.exists(path):
            with open(path) as f:
                return path, f.read()
    raise Skip("no rsyslog.conf (tests/install-deps.sh unpacks Debian's rsyslog package)")


def prepare(text):
    """The rsyslog.conf without what two daemons cannot share (see the top)."""
    drop_owner = os.geteuid() != 0
    try:
        grp.getgrnam("adm")
    except KeyError:
        drop_owner = True
    out = []
    for line in text.splitlines():
        s = line.strip()
        if (s.startswith('module(load="imklog")') or s.startswith("$IncludeConfig")
                or ":omusrmsg:" in s or s.startswith("$WorkDirectory")
                or (drop_owner and re.match(r"\$File(Owner|Group)\b", s))):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def rsyslog_conf(text, d):
    """The prepared config for rsyslogd, with its paths under d."""
    text = text.replace("/var/log/", d + "/log/")
    text = text.replace('module(load="imuxsock")',
                        f'module(load="imuxsock" SysSock.Name="{d}/rs.sock")')
    check('SysSock.Name' in text, "the config loads no imuxsock", text)
    return f'global(workDirectory="{d}")\n' + text


def convert(text, d):
    """sluiced --import-rsyslog of text; the sluice.lua with relative paths."""
    path = os.path.join(d, "rsyslog-for-sluice.conf")
    with open(path, "w") as f:
        f.write(text)
    r = sluicetest.run([sluicetest.sluiced_path(), "--import-rsyslog", path])
    check(r.returncode == 0, f"--import-rsyslog exited {r.returncode}", r.stderr)
    lua = r.stdout
    check('facility = { except = { "auth", "authpriv" } }' in lua,
          "*.*;auth,authpriv.none is not one route", lua)
    check('path = "/dev/log"' in lua, "imuxsock is not the unix input on /dev/log", lua)
    lua = lua.replace('"/var/log/', '"log/').replace('"/dev/log"', '"sl.sock"')
    check(not any("/var/log" in ln for ln in lua.splitlines() if not ln.startswith("--")),
          "a /var/log path is left", lua)
    out = os.path.join(d, "sluice.lua")
    with open(out, "w") as f:
        f.write('settings { control = "sluice.ctl" }\n' + lua)
    r = sluicetest.run([sluicetest.sluiced_path(), "--check", "-c", out], cwd=d)
    check(r.returncode == 0, "the converted config fails --check", r.stdout, r.stderr, lua)
    return lua


def send_all(sock):
    """Every facility at every severity of SEVERITIES, then the end mark."""
    logger = shutil.which("logger")
    for fac in FACILITIES:
        for sev in SEVERITIES:
            msg = f"{TAG}-{fac}-{sev}"
            pri = FACILITIES.index(fac) * 8 + ["emerg", "alert", "crit", "err", "warning",
                                               "notice", "info", "debug"].index(sev)
            r = None
            if logger is not None:
                r = sluicetest.run([logger, "-u", sock, "-p", f"{fac}.{sev}", "-t", TAG, msg],
                                   timeout=10)
            if r is None or r.returncode != 0:  # a facility this logger does not name
                sluicetest.unix_send(sock, f"<{pri}>{TAG}: {msg}".encode())
    sluicetest.unix_send(sock, f"<14>{TAG}: {END}".encode())


def messages(logdir):
    """{file name: sorted list of this test's message texts} under logdir."""
    got = {}
    for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
        with open(os.path.join(logdir, name), "rb") as f:
            texts = re.findall(rb"(imptest-[a-z0-9]+(?:-[a-z]+)?)", f.read())
        got[name] = sorted(t.decode() for t in texts if t != END.encode())
    return got


def wait_end(path, what):
    def done():
        try:
            with open(path, "rb") as f:
                return END.encode() in f.read()
        except FileNotFoundError:
            return False
    sluicetest.wait_until(done, timeout=15, what=f"{END!r} in {what}")


def run_rsyslog(argv, env, conf, d):
    path = os.path.join(d, "rsyslog.conf")
    with open(path, "w") as f:
        f.write(conf)
    log = open(os.path.join(d, "rsyslogd.stderr"), "wb")
    p = subprocess.Popen(argv + ["-n", "-f", path, "-i", os.path.join(d, "rsyslogd.pid")],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        sock = os.path.join(d, "rs.sock")
        sluicetest.wait_until(lambda: os.path.exists(sock) or p.poll() is not None,
                              timeout=15, what="rsyslogd's socket")
        if p.poll() is not None:
            with open(log.name, "rb") as f:
                raise AssertionError(f"rsyslogd exited {p.returncode}: {f.read()[-800:]!r}")
        send_all(sock)
        wait_end(os.path.join(d, "log", "syslog"), "rsyslog's syslog")
    finally:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)
        log.close()
    return messages(os.path.join(d, "log"))


def run_sluice(lua):
    with Daemon(lua) as d:
        send_all(d.path("sl.sock"))
        wait_end(d.path("log/syslog"), "sluice's syslog")
        d.stop()
        return messages(d.path("log"))


@sluicetest.timeout(300)  # a first run may download the package
def test_debian_default_config():
    argv, env = find_rsyslogd()
    source, text = debian_conf()
    text = prepare(text)
    with tempfile.TemporaryDirectory(prefix="sl-import-") as d:
        os.mkdir(os.path.join(d, "log"))
        lua = convert(text, d)
        want = run_rsyslog(argv, env, rsyslog_conf(text, d), d)
    got = run_sluice(lua)
    # sluice opens its files at start, rsyslog at the first line: an empty
    # file is no file
    want = {k: v for k, v in want.items() if v}
    got = {k: v for k, v in got.items() if v}
    check(set(want) == set(got), "rsyslog and sluice wrote to different files",
          f"rsyslog: {sorted(want)}", f"sluice:  {sorted(got)}")
    total = 0
    for name in sorted(want):
        check(want[name] == got[name], f"{name}: the messages differ",
              f"only rsyslog: {sorted(set(want[name]) - set(got[name]))}",
              f"only sluice:  {sorted(set(got[name]) - set(want[name]))}")
        total += len(want[name])
    check(len(want.get("syslog", [])) > 0 and len(want.get("auth.log", [])) > 0,
          "rsyslog wrote no messages to syslog or auth.log", repr(want))
    print(f"{source}: {len(want)} files, {total} lines, the same messages in each")


def test_command_line():
    """Without rsyslogd: the exit status, stdout and stderr of the option."""
    sluiced = sluicetest.sluiced_path()
    r = sluicetest.run([sluiced, "--import-rsyslog", "/nonexistent/rsyslog.conf"])
    check(r.returncode == 1 and r.stdout == "", f"a missing file: exit {r.returncode}",
          r.stdout, r.stderr)
    check('fopen() "/nonexistent/rsyslog.conf" failed (2: ' in r.stderr, r.stderr)
    with tempfile.TemporaryDirectory(prefix="sl-import-") as d:
        conf = os.path.join(d, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write("mail.* /var/log/mail.log\n*.* @@logs.example.com\n")
        r = sluicetest.run([sluiced, "--import-rsyslog", conf])
        check(r.returncode == 0, f"exit {r.returncode}", r.stderr)
        check('route { facility = "mail", to = "mail" }' in r.stdout, r.stdout)
        check("-- not converted: *.* @@logs.example.com" in r.stdout, r.stdout)
        check(r.stderr == f"sluiced: {conf}:2: not converted (sluice has no forwarding output "
                         "yet): *.* @@logs.example.com\n", repr(r.stderr))


def test_debian_emerg_to_users():
    """Debian 12's *.emerg :omusrmsg:* (the copy in the fuzz corpus, so no
    package is needed) becomes the users output for everyone and its
    route, and the whole conversion passes --check with the plugins."""
    conf = os.path.join(os.environ.get("TOP_SRCDIR", os.path.join(HERE, "..", "..")),
                        "tests", "fuzz", "corpus", "import", "debian12.conf")
    r = sluicetest.run([sluicetest.sluiced_path(), "--import-rsyslog", conf])
    check(r.returncode == 0, f"exit {r.returncode}", r.stderr)
    check('output "wall" { type = "users", queue = { block_timeout = "2s" } }\n' in r.stdout,
          r.stdout)
    check('route { severity = "emerg", to = "wall" }\n' in r.stdout, r.stdout)
    check(":omusrmsg:" not in r.stderr, "the line is still not converted", r.stderr)
    with tempfile.TemporaryDirectory(prefix="sl-import-") as d:
        lua = os.path.join(d, "sluice.lua")
        with open(lua, "w") as f:
            f.write(r.stdout.replace('"/var/log/', '"log/').replace('"/dev/log"', '"sl.sock"'))
        c = sluicetest.run([sluicetest.sluiced_path(), "--check", "-c", lua], cwd=d)
        check(c.returncode == 0, "the conversion fails --check", c.stdout, c.stderr)
        check("warning" not in c.stdout + c.stderr, "--check warns", c.stdout, c.stderr)


if __name__ == "__main__":
    sluicetest.main([test_command_line, test_debian_emerg_to_users, test_debian_default_config])
