#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The installed layout: `make install` into a DESTDIR, then the INSTALLED
daemon on the INSTALLED system config, finding its plugins by itself.

The daemon looks for plugins in the pkglibdir it was configured with, which
a DESTDIR install does not put them in. So this test configures a build of
its own (once, -O0, a minute or two) with --prefix=TMP/p, installs it with
DESTDIR=TMP/dest, and makes TMP/p a symlink to TMP/dest/TMP/p: the
installed daemon then finds its configured paths as a real install would,
with no -P and no $SLUICE_PLUGIN_PATH. (The build tree of `make check`
keeps its own prefix: installing it with prefix=... would rebuild its
daemon under the other tests' feet.)

Steps, each bounded in time:
  1. configure and build TMP/build (from the source tree, or from a copy
     that `make distdir` makes when the tree is configured in place);
     `make install DESTDIR=TMP/dest`;
  2. what goes where: sbin/sluiced, bin/sluicectl, the plugins in
     lib/sluice, the header and .pc, the man pages, etc/sluice/sluice.lua
     (a copy of config/system/sluice.lua), share/doc/sluice/examples/;
  3. `sbin/sluiced --check` with no -c passes on the installed config, with
     no warning; `sluicectl -h` names /run/sluice/control.sock, `sluiced -h`
     the installed config;
  4. the installed daemon runs a copy of that config with its paths moved
     into TMP/root (/dev/log, /var/log/, /run/). The kmsg input is removed:
     it would read this machine's real kernel log (and needs root).
     Outside root the owner/group keys go too (chown would fail). A
     `logger -u TMP/root/dev/log` user message lands in syslog and user.log,
     an auth one in auth.log and not in syslog, a mail one in mail.log;
     the control socket is TMP/root/run/sluice/control.sock, its directory
     made by the daemon;
  5. a second `make install` over an edited config keeps it and writes
     sluice.lua.dist (and says so); a third, over an unchanged one, writes
     nothing beside it.

Environment: TOP_SRCDIR (else found from this file); TOP_BUILDDIR (for
`make distdir` when the source tree is configured in place). Exit 0 pass,
77 skip (no logger), 1 fail. Standard library only.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Failure(Exception):
    pass


def log(msg):
    print("test_install: " + msg, flush=True)


def run(argv, timeout, what, **kw):
    """Runs argv to completion within timeout seconds; returns its output,
    or fails with it when it does not exit 0."""
    log("$ " + " ".join(shlex.quote(a) for a in argv))
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Failure("%s did not finish within %d s" % (what, timeout))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Failure("%s failed (exit %d):\n%s" % (what, p.returncode, out[-6000:]))
    return out


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def clean_env():
    """The environment without a surrounding make's jobserver or overrides,
    and without the test suite's plugin path."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR",
              "SLUICE_PLUGIN_PATH", "SLUICE_CONTROL"):
        env.pop(k, None)
    return env


def clean_source(src, tmp, env):
    """A source tree that can be configured out of tree: src itself, unless
    it is configured in place (the README's ./configure && make check),
    which configure refuses for a second build; then the distribution's
    files, copied by `make distdir` from the build tree."""
    if not os.path.exists(os.path.join(src, "config.status")):
        return src
    builddir = os.environ.get("TOP_BUILDDIR") or src
    copy = os.path.join(tmp, "src")
    run(["make", "-C", builddir, "distdir", "distdir=" + copy], 300, "make distdir",
        env=env)
    return copy


def build_and_install(src, tmp, env):
    """Steps 1: TMP/build with --prefix=TMP/p, installed into TMP/dest;
    returns (build, prefix, dest)."""
    src = clean_source(src, tmp, env)
    prefix = os.path.join(tmp, "p")
    dest = os.path.join(tmp, "dest")
    build = os.path.join(tmp, "build")
    os.mkdir(build)
    run([os.path.join(src, "configure"), "-q", "--prefix=" + prefix, "CFLAGS=-O0",
         "--disable-dependency-tracking"], 300,
        "configure", cwd=build, env=env)
    run(["make", "-j2"], 900, "make", cwd=build, env=env)
    run(["make", "install", "DESTDIR=" + dest], 300, "make install", cwd=build, env=env)
    os.symlink(dest + prefix, prefix)
    return build, prefix, dest


def check_layout(src, prefix):
    """Step 2."""
    want = ["sbin/sluiced", "bin/sluicectl", "lib/sluice/file.so", "lib/sluice/archive.so",
            "lib/sluice/perproc.so", "include/sluice/sluice-plugin.h",
            "lib/pkgconfig/sluice-plugin.pc", "share/man/man8/sluiced.8",
            "share/man/man1/sluicectl.1", "share/man/man5/sluice.lua.5",
            "share/man/man3/sluice-plugin.3", "etc/sluice/sluice.lua",
            "share/doc/sluice/examples/system.lua"]
    missing = [w for w in want if not os.path.isfile(os.path.join(prefix, w))]
    if missing:
        raise Failure("not installed: %s" % ", ".join(missing))
    conf = os.path.join(prefix, "etc/sluice/sluice.lua")
    if read(conf) != read(os.path.join(src, "config/system/sluice.lua")):
        raise Failure("%s is not config/system/sluice.lua" % conf)
    for d in ("sbin", "bin"):
        if not os.access(os.path.join(prefix, d, "sluiced" if d == "sbin" else "sluicectl"),
                         os.X_OK):
            raise Failure("%s/ program is not executable" % d)


def rewrite(text, root):
    """The system config with its paths under root, and no kmsg input."""
    text, n = re.subn(r'^input "kernel" \{ type = "kmsg" \}\n', "", text, flags=re.M)
    if n != 1:
        raise Failure("the installed config has no kmsg input line to remove")
    for old in ('"/dev/log"', '"/var/log/', '"/run/'):
        if old not in text:
            raise Failure("the installed config names no %s" % old)
        text = text.replace(old, '"' + root + old[1:])
    if os.geteuid() != 0:
        text = text.replace('owner = "root", group = "adm", ', "")
    return text


def wait_for(what, pred, daemon, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if daemon.poll() is not None:
            raise Failure("sluiced exited with %d while waiting for %s" % (daemon.returncode, what))
        time.sleep(0.05)
    raise Failure("%s: not within %d s" % (what, timeout))


def has(path, token):
    return os.path.exists(path) and token in read(path)


def run_daemon(prefix, tmp, env):
    """Step 4."""
    root = os.path.join(tmp, "root")
    for d in ("dev", "var/log"):
        os.makedirs(os.path.join(root, d))
    cfg = os.path.join(tmp, "system.lua")
    with open(cfg, "w") as f:
        f.write(rewrite(read(os.path.join(prefix, "etc/sluice/sluice.lua")), root))
    sluiced = os.path.join(prefix, "sbin/sluiced")
    run([sluiced, "--check", "-c", cfg], 30, "sluiced --check on the moved config", env=env)
    daemon_log = os.path.join(tmp, "sluiced.log")
    ctl = os.path.join(root, "run/sluice/control.sock")
    devlog = os.path.join(root, "dev/log")
    logs = os.path.join(root, "var/log")
    with open(daemon_log, "wb") as logf:
        log("$ %s -n -c %s" % (sluiced, cfg))
        daemon = subprocess.Popen([sluiced, "-n", "-c", cfg], cwd=tmp, env=env,
                                  stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    try:
        wait_for("the control socket %s" % ctl, lambda: os.path.exists(ctl), daemon)
        wait_for("the socket %s" % devlog, lambda: os.path.exists(devlog), daemon)
        tok = "inst-%d-%d" % (os.getpid(), int(time.time()))
        for prio, what in (("user.notice", "user"), ("auth.info", "auth"), ("mail.err", "mail")):
            run(["logger", "--socket-errors=on", "-u", devlog, "-t", "insttest", "-p", prio,
                 "--", "%s %s" % (what, tok)], 10, "logger -p " + prio)
        syslog = os.path.join(logs, "syslog")
        for f, what in (("syslog", "user"), ("user.log", "user"), ("auth.log", "auth"),
                        ("mail.log", "mail"), ("syslog", "mail")):
            wait_for("%s %s in %s" % (what, tok, f),
                     lambda: has(os.path.join(logs, f), "%s %s" % (what, tok)), daemon)
        run([os.path.join(prefix, "bin/sluicectl"), "-s", ctl, "flush"], 15, "sluicectl flush",
            env=env)
        if has(syslog, "auth " + tok):
            raise Failure("an auth message is in syslog (auth,authpriv.none)")
        if has(os.path.join(logs, "user.log"), "mail " + tok):
            raise Failure("a mail message is in user.log")
        line = [l for l in read(syslog).splitlines() if "user " + tok in l][0]
        if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d \S+ insttest: user ",
                        line):
            raise Failure("syslog line is not rsyslog's RSYSLOG_FileFormat: %r" % line)
        mode = os.stat(syslog).st_mode & 0o777
        if mode != 0o640:
            raise Failure("syslog has mode %o, not 0640" % mode)
        log("the installed daemon wrote syslog, user.log, auth.log and mail.log")
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise Failure("sluiced did not stop within 20 s of SIGTERM")
        if rc != 0:
            raise Failure("sluiced exited with %d after SIGTERM" % rc)
    except Failure:
        sys.stdout.write("--- sluiced log ---\n" + read(daemon_log)[-6000:] + "--- end ---\n")
        raise
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)


def reinstall(build, prefix, dest, env):
    """Step 5."""
    conf = os.path.join(prefix, "etc/sluice/sluice.lua")
    dist = conf + ".dist"
    shipped = read(conf)
    edited = shipped + "-- edited by the operator\n"
    with open(conf, "w") as f:
        f.write(edited)
    out = run(["make", "install", "DESTDIR=" + dest], 300, "make install (edited config)",
              cwd=build, env=env)
    if read(conf) != edited:
        raise Failure("make install overwrote the edited %s" % conf)
    if not os.path.isfile(dist) or read(dist) != shipped:
        raise Failure("make install did not write the new config as %s" % dist)
    if "sluice.lua.dist" not in out:
        raise Failure("make install did not say it wrote sluice.lua.dist:\n" + out[-2000:])
    os.remove(dist)
    with open(conf, "w") as f:
        f.write(shipped)
    run(["make", "install", "DESTDIR=" + dest], 300, "make install (unchanged config)",
        cwd=build, env=env)
    if os.path.exists(dist):
        raise Failure("make install wrote %s beside an unchanged config" % dist)
    log("an edited config is kept, the new one written as sluice.lua.dist")


def main():
    if shutil.which("logger") is None:
        log("SKIP: util-linux logger is not installed")
        return SKIP
    src = os.environ.get("TOP_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    src = os.path.abspath(src)
    env = clean_env()
    tmp = tempfile.mkdtemp(prefix="sluice-install-")
    try:
        build, prefix, dest = build_and_install(src, tmp, env)
        check_layout(src, prefix)
        out = run([os.path.join(prefix, "sbin/sluiced"), "--check"], 30,
                  "sluiced --check (the installed config, the installed plugins)", env=env)
        if "warning" in out.lower():
            raise Failure("sluiced --check warns on the installed config:\n" + out)
        log("sluiced --check: %s" % out.strip())
        out = run([os.path.join(prefix, "bin/sluicectl"), "-h"], 10, "sluicectl -h", env=env)
        if "/run/sluice/control.sock" not in out:
            raise Failure("sluicectl -h names no default /run/sluice/control.sock:\n" + out)
        out = run([os.path.join(prefix, "sbin/sluiced"), "-h"], 10, "sluiced -h", env=env)
        if os.path.join(prefix, "etc/sluice/sluice.lua") not in out:
            raise Failure("sluiced -h names no default %s/etc/sluice/sluice.lua:\n%s"
                          % (prefix, out))
        run_daemon(prefix, tmp, env)
        reinstall(build, prefix, dest, env)
        log("PASS")
        return 0
    finally:
        if os.environ.get("SLUICE_KEEP_TMP"):
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        log("FAIL: %s" % e)
        sys.exit(1)
