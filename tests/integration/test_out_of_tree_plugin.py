#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A plugin built out of tree, against the INSTALLED header and pkg-config
file, loads and runs in the real daemon.

Steps, each bounded in time:
  1. `make -C $TOP_BUILDDIR install DESTDIR=<tmp>/dest`;
  2. find sluice-plugin.pc inside DESTDIR (its prefix is the configured one,
     /usr/local by default) and ask pkg-config for the flags, with
     PKG_CONFIG_SYSROOT_DIR=<tmp>/dest so they point into DESTDIR and
     PKG_CONFIG_LIBDIR set so no other sluice-plugin.pc can answer;
  3. check the installed header compiles alone as strict C99 (and as C++
     when a C++ compiler is around), and that the example plugin of
     sluice-plugin(3) compiles against it;
  4. `cc -shared -fPIC $(pkg-config --cflags sluice-plugin) -o oot.so
     oot_plugin.c`, a copy of tests/integration/oot_plugin.c;
  5. start `$SLUICED -n -P <dir of oot.so>` with an output of type "oot"
     and a UDP input on 127.0.0.1:0, read the bound port from
     `$SLUICECTL stats`, send one RFC 5424 message over UDP, and wait for
     the plugin's "{app_name}: {msg}" line in its file;
  6. SIGTERM, and check the daemon stops cleanly.

Environment: SLUICED, SLUICECTL (required); TOP_BUILDDIR (else the parent
of $SLUICED's directory); TOP_SRCDIR (else found from this file); CC,
CXX, PKG_CONFIG (optional). Exit 0 pass, 77 skip (no C compiler), 1 fail.
Standard library only.
"""

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77

HEADER_CHECK_C = r"""
/* The installed header alone, compiled as strict C99. */
#include <sluice-plugin.h>

static const char *const keys[] = { "path", NULL };

static int check_open(const struct sluice_host *host, const sluice_config *cfg,
                      void **state, char *err, size_t errlen)
{
    (void)host; (void)cfg; (void)err; (void)errlen;
    *state = NULL;
    return 0;
}

static int check_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    (void)state; (void)msgs; (void)n;
    return SLUICE_OK;
}

static void check_close(void *state)
{
    (void)state;
}

/* The members appended within ABI version 1. */
static void check_abandon(void *state)
{
    (void)state;
}

static int check_tick(void *state)
{
    (void)state;
    return SLUICE_OK;
}

static int check_newline(const struct sluice_host *host, sluice_format *f)
{
    if (!SLUICE_HOST_HAS(host, format_set) || !SLUICE_HOST_HAS(host, msg_extra)
        || !SLUICE_HOST_HAS(host, msg_extra_at))
        return -1;
    return host->format_set(f, SLUICE_FORMAT_NEWLINE, 0);
}

static const struct sluice_output_plugin check_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "check",
    .description = "header check",
    .keys = keys,
    .open = check_open,
    .write = check_write,
    .flush = NULL,
    .reopen = NULL,
    .close = check_close,
    .check = NULL,
    .abandon = check_abandon,
    .tick = check_tick,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    struct sluice_buf buf = { NULL, 0, 0 };
    struct sluice_time t = { 0, 0, 0, 0, 0 };
    enum sluice_field f = SLUICE_FIELD_GID;
    sluice_output_plugin_fn fn = sluice_output_plugin_v1;
    (void)buf; (void)t; (void)f; (void)fn;
    (void)sizeof(struct sluice_host);
    (void)SLUICE_PLUGIN_ENTRY;
    (void)check_newline;
    if (!SLUICE_PLUGIN_HAS(&check_plugin, tick))
        return NULL;
    return SLUICE_RETRY + SLUICE_FATAL + SLUICE_LOG_DEBUG > 0 ? &check_plugin : NULL;
}
"""

HEADER_CHECK_CXX = r"""
#include <sluice-plugin.h>
int main()
{
    struct sluice_buf buf = { nullptr, 0, 0 };
    (void)buf;
    struct sluice_host host = {};
    if (!SLUICE_HOST_HAS(&host, format_set) && SLUICE_FORMAT_NEWLINE == 1)
        return 1;
    return SLUICE_OK + (int)sizeof(struct sluice_host) * 0;
}
"""


class Failure(Exception):
    pass


def man_example(page):
    """The C source in the EXAMPLES section of an mdoc page, unescaped."""
    with open(page) as f:
        text = f.read()
    start = text.index(".Bd -literal\n", text.index(".Sh EXAMPLES")) + len(".Bd -literal\n")
    body = text[start:text.index(".Ed\n", start)]
    return body.replace("\\-", "-").replace("\\e", "\\")


def log(msg):
    print("test_out_of_tree_plugin: " + msg, flush=True)


def run(argv, timeout, what, **kw):
    """Runs argv to completion within timeout seconds; fails with its
    output when it does not exit 0."""
    log("$ " + " ".join(shlex.quote(a) for a in argv))
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Failure("%s did not finish within %d s" % (what, timeout))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Failure("%s failed (exit %d):\n%s" % (what, p.returncode, out[-6000:]))
    return out


def find_file(root, name):
    hits = []
    for d, _, files in os.walk(root):
        if name in files:
            hits.append(os.path.join(d, name))
    return hits


def under(root, path):
    """path as seen inside DESTDIR root (pkg-config does not always prefix
    variables with the sysroot)."""
    if path.startswith(root.rstrip("/") + "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def compiler(var, default):
    argv = shlex.split(os.environ.get(var, "") or default)
    if not argv or shutil.which(argv[0]) is None:
        return None
    return argv


def ctl(sluicectl, workdir, command, timeout=5):
    try:
        p = subprocess.run([sluicectl, "-s", "ctl.sock", command], cwd=workdir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "sluicectl %s timed out" % command
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def main():
    cc = compiler("CC", "cc")
    if cc is None:
        log("SKIP: no C compiler (tried $CC, then cc)")
        return SKIP

    sluiced = os.environ.get("SLUICED")
    sluicectl = os.environ.get("SLUICECTL")
    if not sluiced or not sluicectl:
        raise Failure("SLUICED and SLUICECTL must name the built programs")
    sluiced = os.path.abspath(sluiced)
    sluicectl = os.path.abspath(sluicectl)
    builddir = os.environ.get("TOP_BUILDDIR") or os.path.dirname(os.path.dirname(sluiced))
    srcdir = os.environ.get("TOP_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    plugin_src = os.path.join(srcdir, "tests", "integration", "oot_plugin.c")
    if not os.path.isfile(os.path.join(builddir, "Makefile")):
        raise Failure("no Makefile in TOP_BUILDDIR %s" % builddir)
    if not os.path.isfile(plugin_src):
        raise Failure("missing %s" % plugin_src)
    pkg_config = shlex.split(os.environ.get("PKG_CONFIG", "") or "pkg-config")
    if shutil.which(pkg_config[0]) is None:
        raise Failure("pkg-config (%s) not found; configure needs it too" % pkg_config[0])

    tmp = tempfile.mkdtemp(prefix="sluice-oot-")
    daemon = None
    daemon_log = os.path.join(tmp, "sluiced.log")
    ok = False
    try:
        # {=== 1. install into a DESTDIR
        dest = os.path.join(tmp, "dest")
        env = dict(os.environ)
        # Not the jobserver or overrides of a surrounding `make check`.
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
            env.pop(k, None)
        run(["make", "-C", builddir, "install", "DESTDIR=" + dest], 300,
            "make install", env=env, stdin=subprocess.DEVNULL)
        # }===

        # {=== 2. the installed pkg-config file
        pcs = find_file(dest, "sluice-plugin.pc")
        if len(pcs) != 1:
            raise Failure("expected one sluice-plugin.pc under %s, found %r" % (dest, pcs))
        pcdir = os.path.dirname(pcs[0])
        pcenv = dict(os.environ)
        pcenv["PKG_CONFIG_SYSROOT_DIR"] = dest
        pcenv["PKG_CONFIG_PATH"] = pcdir
        pcenv["PKG_CONFIG_LIBDIR"] = pcdir  # this .pc and no other
        cflags = run(pkg_config + ["--cflags", "sluice-plugin"], 30,
                     "pkg-config --cflags sluice-plugin", env=pcenv).split()
        log("installed cflags: %s" % " ".join(cflags))
        incdirs = [f[2:] for f in cflags if f.startswith("-I")]
        if not any(os.path.isfile(os.path.join(d, "sluice-plugin.h")) for d in incdirs):
            raise Failure("pkg-config --cflags %r names no directory holding the "
                          "installed sluice-plugin.h" % cflags)
        for d in incdirs:
            if not os.path.realpath(d).startswith(os.path.realpath(dest) + "/"):
                raise Failure("-I%s points outside DESTDIR %s" % (d, dest))
        plugindir = run(pkg_config + ["--variable=plugindir", "sluice-plugin"], 30,
                        "pkg-config --variable=plugindir", env=pcenv).strip()
        if not os.path.isfile(os.path.join(under(dest, plugindir), "file.so")):
            raise Failure("plugindir %s holds no installed file.so" % plugindir)
        # }===

        # {=== 3. the installed header alone, as strict C99 (and C++)
        c99 = os.path.join(tmp, "header_c99.c")
        with open(c99, "w") as f:
            f.write(HEADER_CHECK_C)
        run(cc + ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"] + cflags +
            ["-c", c99, "-o", os.path.join(tmp, "header_c99.o")], 60,
            "compiling the installed header as C99", cwd=tmp)
        cxx = compiler("CXX", "c++")
        if cxx is not None:
            cc_file = os.path.join(tmp, "header_cxx.cc")
            with open(cc_file, "w") as f:
                f.write(HEADER_CHECK_CXX)
            run(cxx + ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"] + cflags +
                ["-c", cc_file, "-o", os.path.join(tmp, "header_cxx.o")], 60,
                "compiling the installed header as C++", cwd=tmp)
        else:
            log("no C++ compiler: C++ check of the header not done")
        # }===

        # {=== 3b. the example plugin of sluice-plugin(3) builds against it
        example = os.path.join(tmp, "myout.c")
        with open(example, "w") as f:
            f.write(man_example(os.path.join(srcdir, "man", "sluice-plugin.3")))
        run(cc + ["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"] + cflags +
            [example, "-o", os.path.join(tmp, "myout.so")], 60,
            "compiling the example of sluice-plugin(3)", cwd=tmp)
        # }===

        # {=== 4. build the plugin out of tree, from a copy of its source
        plugdir = os.path.join(tmp, "plugins")
        os.mkdir(plugdir)
        src = os.path.join(tmp, "oot_plugin.c")
        shutil.copyfile(plugin_src, src)
        so = os.path.join(plugdir, "oot.so")
        run(cc + ["-shared", "-fPIC"] + cflags + ["-o", so, src], 60,
            "building oot.so out of tree", cwd=tmp)
        # }===

        # {=== 5. run it in the daemon
        out_path = os.path.join(tmp, "out.log")
        cfg = os.path.join(tmp, "sluice.lua")
        with open(cfg, "w") as f:
            f.write('settings { control = "ctl.sock" }\n'
                    'input "udp" { type = "udp", listen = "127.0.0.1:0" }\n'
                    'local x = output "x" { type = "oot", path = %s }\n'
                    'route { to = x }\n' % json.dumps(out_path))
        denv = dict(os.environ)
        denv.pop("SLUICE_PLUGIN_PATH", None)  # oot must come from -P
        with open(daemon_log, "wb") as logf:
            log("$ %s -n -c %s -P %s" % (sluiced, cfg, plugdir))
            daemon = subprocess.Popen([sluiced, "-n", "-c", cfg, "-P", plugdir], cwd=tmp,
                                      env=denv, stdin=subprocess.DEVNULL, stdout=logf,
                                      stderr=subprocess.STDOUT)

        stats = None
        deadline = time.monotonic() + 15
        last = ""
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                raise Failure("sluiced exited with %d at start" % daemon.returncode)
            if os.path.exists(os.path.join(tmp, "ctl.sock")):
                rc, last = ctl(sluicectl, tmp, "stats")
                if rc == 0:
                    try:
                        stats = json.loads(last)
                        break
                    except ValueError:
                        raise Failure("stats is not JSON: %r" % last)
            time.sleep(0.1)
        if stats is None:
            raise Failure("no stats from the control socket within 15 s (last: %r)" % last)
        try:
            address = stats["inputs"]["udp"]["address"]
            host, port = address.rsplit(":", 1)
            port = int(port)
        except (KeyError, TypeError, ValueError):
            raise Failure("no usable inputs.udp.address in stats: %r" % stats)
        if port == 0:
            raise Failure("stats report port 0 for the udp input: %r" % address)
        out_type = stats.get("outputs", {}).get("x", {}).get("type")
        if out_type != "oot":
            raise Failure("stats outputs.x.type is %r, not \"oot\"" % out_type)

        token = "oot-%d-%d" % (os.getpid(), int(time.time()))
        msg = "<14>1 2026-11-22T10:00:00.000Z testhost ootapp 4242 - - hello %s" % token
        expected = "ootapp: hello %s\n" % token
        found = False
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # Loopback UDP is not lost in practice, but it may be: send up to
            # three times, and accept the line however many times it lands.
            for attempt in range(3):
                s.sendto(msg.encode(), ("127.0.0.1", port))
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not found:
                    if daemon.poll() is not None:
                        raise Failure("sluiced exited with %d" % daemon.returncode)
                    try:
                        with open(out_path, encoding="utf-8", errors="replace") as f:
                            found = expected in f.read()
                    except FileNotFoundError:
                        raise Failure("the oot plugin did not create %s in open()" % out_path)
                    if not found:
                        time.sleep(0.05)
                if found:
                    break
                log("line not there after 5 s, sending again")
        if not found:
            with open(out_path, encoding="utf-8", errors="replace") as f:
                got = f.read()
            raise Failure("expected line %r not in %s; it holds %r" % (expected, out_path, got))
        log("the out-of-tree plugin wrote %r" % expected.strip())

        rc, text = ctl(sluicectl, tmp, "flush", timeout=15)
        if rc != 0:
            raise Failure("sluicectl flush: exit %r: %s" % (rc, text))
        # }===

        # {=== 6. clean stop
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise Failure("sluiced did not stop within 20 s of SIGTERM")
        if rc != 0:
            raise Failure("sluiced exited with %d after SIGTERM" % rc)
        with open(daemon_log, encoding="utf-8", errors="replace") as f:
            dlog = f.read()
        if "oot plugin writing to" not in dlog:
            raise Failure("the plugin's host->log() line is not in the daemon's log")
        if "stopped:" not in dlog:
            raise Failure("no \"stopped:\" line in the daemon's log")
        # }===
        ok = True
        log("PASS")
        return 0
    finally:
        if daemon is not None and daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if not ok and os.path.exists(daemon_log):
            with open(daemon_log, encoding="utf-8", errors="replace") as f:
                sys.stdout.write("--- sluiced log ---\n" + f.read()[-8000:] + "--- end ---\n")
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
