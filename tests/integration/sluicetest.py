# SPDX-License-Identifier: MIT
"""sluicetest: the harness shared by the integration tests.

Each test file is a script run by the automake test driver (exit 0 pass, 77
skip, anything else fail). It defines test functions and ends with

    if __name__ == "__main__":
        sluicetest.main([test_a, test_b])

A test starts the real daemon with a config given as a string:

    with Daemon('''
        input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
        output "out" { type = "file", path = "out.log", format = "json" }
        route { to = "out" }
    ''') as d:
        tcp_send(d.address("tcp"), b"<14>hello\\n")
        lines = d.wait_json_lines("out.log", 1)

The daemon runs as `$SLUICED -n -c CONFIG` in a fresh temporary directory,
which is its working directory, so relative paths in the config land there.
Unless the config has its own `settings` block, the harness prepends
`settings { control = "sluice.ctl" }`; a config with its own settings must
name that same control socket. Listen on port 0 and ask address()
for the real port: tests never use fixed ports. Only 127.0.0.1 and
temporary directories are touched.

Everything is bounded in time: each test has an alarm (main(), @timeout),
every wait has a deadline, every child process a timeout. The daemon is
stopped by pid (SIGTERM, then SIGKILL) and its directory removed when the
`with` block ends, at exit, and after an alarm; on failure its stderr log is
printed. Set SLUICETEST_KEEP=1 to keep the directories for a post-mortem.

Daemon(..., nofile=N) starts the daemon with RLIMIT_NOFILE N (soft and
hard), for tests of what it does when descriptors run out.

Standard library only.
"""

import atexit
import collections
import functools
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP_STATUS = 77
DEFAULT_TEST_TIMEOUT = 60

_live = []  # Daemons not yet cleaned up, for atexit and the alarm


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed."""


class TestTimeout(Exception):
    """Raised by the alarm when a test runs past its time bound."""


class DaemonError(Exception):
    """The daemon failed to start or misbehaved in a way that stops a test."""


# {=== environment

def need_env(name):
    """The value of an environment variable set by make check (see
    AM_TESTS_ENVIRONMENT in Makefile.am); skips the test file without it."""
    value = os.environ.get(name)
    if not value:
        print(f"SKIP: ${name} is not set (run through make check, or set it by hand)")
        sys.exit(SKIP_STATUS)
    return value


def sluiced_path():
    path = need_env("SLUICED")
    if not os.access(path, os.X_OK):
        raise DaemonError(f"$SLUICED={path} is not an executable")
    return path


def sluicectl_path():
    path = need_env("SLUICECTL")
    if not os.access(path, os.X_OK):
        raise DaemonError(f"$SLUICECTL={path} is not an executable")
    return path


def which(program):
    return shutil.which(program)


def run(cmd, timeout=20, **kw):
    """subprocess.run with a timeout, capturing text output. Never raises on
    a non-zero exit; raises subprocess.TimeoutExpired (after killing the
    child) when it runs too long."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("text", True)
    return subprocess.run(cmd, timeout=timeout, check=False, **kw)


def wait_until(predicate, timeout=10.0, what="a condition", interval=0.02):
    """Polls predicate() until it returns a true value, which is returned.
    Raises AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except (OSError, ValueError, KeyError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)
# }===


# {=== sending

def parse_address(text):
    """'127.0.0.1:41234' -> ('127.0.0.1', 41234); '[::1]:5' -> ('::1', 5)."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def tcp_connect(addr, timeout=30):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tcp_send(addr, data, timeout=30):
    """Opens a connection, sends data (bytes, or a list of bytes sent in
    order) and closes it."""
    with tcp_connect(addr, timeout) as s:
        if isinstance(data, (bytes, bytearray)):
            data = [data]
        for chunk in data:
            s.sendall(chunk)
        s.shutdown(socket.SHUT_WR)


def udp_send(addr, datagrams):
    """Sends each bytes in datagrams (or one bytes) as one datagram."""
    if isinstance(datagrams, (bytes, bytearray)):
        datagrams = [datagrams]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, addr)


def unix_send(path, datagrams):
    if isinstance(datagrams, (bytes, bytearray)):
        datagrams = [datagrams]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, path)


def lf_frames(messages):
    """Non-transparent framing (RFC 6587 3.4.2): each message and an LF."""
    return b"".join(m + b"\n" for m in messages)


def octet_frames(messages):
    """Octet counting (RFC 6587 3.4.1): "LEN SP MSG"."""
    return b"".join(str(len(m)).encode() + b" " + m for m in messages)
# }===


# {=== reading outputs

def read_lines(path):
    """Complete lines of a file as bytes, without their LF ([] if absent)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    return lines[:-1]  # what follows the last LF is incomplete (or empty)


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def parse_json_line(line, where="output"):
    try:
        text = line.decode("utf-8")  # the spec: always valid UTF-8
    except UnicodeDecodeError as e:
        raise AssertionError(f"{where}: line is not valid UTF-8 ({e}): {line!r}")
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise AssertionError(f"{where}: line is not valid JSON ({e}): {line!r}")
    if not isinstance(obj, dict):
        raise AssertionError(f"{where}: line is not a JSON object: {line!r}")
    return obj
# }===


# {=== the daemon

def _ordered(pairs):
    return collections.OrderedDict(pairs)


class Daemon:
    """One sluiced in its own temporary directory. See the module comment."""

    def __init__(self, config, *, start=True, args=(), ready_timeout=10.0,
                 env=None, name="sl-", nofile=None, preexec=None):
        self.dir = tempfile.mkdtemp(prefix=name)
        self.conf_path = os.path.join(self.dir, "sluice.lua")
        self.ctl_path = os.path.join(self.dir, "sluice.ctl")
        self.log_path = os.path.join(self.dir, "sluiced.stderr")
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.env = dict(os.environ if env is None else env)
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) for the daemon, or None
        self.preexec = preexec  # called in the child before exec, or None
        self.proc = None
        self.returncode = None
        self._log_file = None
        self._cleaned = False
        self.write_config(config)
        _live.append(self)
        if start:
            try:
                self.start()
            except BaseException:
                self.cleanup(failed=True)
                raise

    # {=== files in the directory
    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write_config(self, config, rel=None):
        """Writes config text (prefixed with the default settings unless it
        has its own) to sluice.lua, or to rel; returns the absolute path."""
        text = config
        if "settings" not in text:
            text = 'settings { control = "sluice.ctl" }\n' + text
        path = self.conf_path if rel is None else self.path(rel)
        with open(path, "w") as f:
            f.write(text)
        return path

    def lines(self, rel):
        return read_lines(self.path(rel))

    def count(self, rel):
        return count_lines(self.path(rel))

    def wait_lines(self, rel, n, timeout=10.0):
        """Waits until file rel has at least n complete lines; returns them
        all (bytes, no LF)."""
        path = self.path(rel)
        try:
            wait_until(lambda: count_lines(path) >= n, timeout,
                       f"{n} lines in {rel}", interval=0.01)
        except AssertionError:
            have = count_lines(path)
            self._check_alive()
            raise AssertionError(f"timed out after {timeout:g} s waiting for {n} lines "
                                 f"in {rel}: it has {have}") from None
        return read_lines(path)

    def json_lines(self, rel):
        return [parse_json_line(l, rel) for l in self.lines(rel)]

    def wait_json_lines(self, rel, n, timeout=10.0):
        return [parse_json_line(l, rel) for l in self.wait_lines(rel, n, timeout)]

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=10.0):
        """Waits until the daemon's stderr contains text; returns the log."""
        return wait_until(lambda: text in self.log() and self.log(), timeout,
                          f"{text!r} in the daemon's log")
    # }===

    # {=== process
    def start(self, wait=True):
        """Starts sluiced; with wait, returns once its control socket
        answers (DaemonError if it exits or does not answer in time)."""
        sluiced = sluiced_path()
        sluicectl_path()
        self._log_file = open(self.log_path, "ab")
        cmd = [sluiced, "-n", "-c", self.conf_path] + self.args
        limit = None if self.nofile is None else (self.nofile, self.nofile)

        def preexec():
            # Soft and hard: the daemon raises its soft limit to the hard one.
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            if self.preexec is not None:
                self.preexec()
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=self._log_file,
                                     preexec_fn=preexec if limit or self.preexec else None)
        self.returncode = None
        if wait:
            self.wait_ready(self.ready_timeout)

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            raise DaemonError(f"sluiced exited unexpectedly with status {self.proc.returncode}")

    def wait_ready(self, timeout=10.0):
        """Waits until `sluicectl stats` answers with valid JSON."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise DaemonError(f"sluiced exited with status {self.returncode} "
                                  "before its control socket answered")
            if os.path.exists(self.ctl_path):
                r = self.ctl("stats", timeout=max(1.0, min(5.0, deadline - time.monotonic())),
                             check=False)
                if r.returncode == 0:
                    try:
                        return json.loads(r.stdout)
                    except ValueError:
                        pass
            if time.monotonic() >= deadline:
                raise DaemonError(f"sluiced did not answer `sluicectl stats` within "
                                  f"{timeout:g} s")
            time.sleep(0.05)

    def ctl(self, command, timeout=10.0, check=True):
        """Runs `sluicectl -s CTL command`; returns the CompletedProcess. With
        check, a non-zero exit fails the test."""
        r = run([sluicectl_path(), "-s", self.ctl_path, command], timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"sluicectl {command} exited {r.returncode}: "
                                 f"stdout {r.stdout!r} stderr {r.stderr!r}")
        return r

    def stats(self, ordered=False):
        r = self.ctl("stats")
        try:
            return json.loads(r.stdout, object_pairs_hook=_ordered if ordered else None)
        except ValueError as e:
            raise AssertionError(f"sluicectl stats is not JSON ({e}): {r.stdout!r}")

    def input_stats(self, name):
        return self.stats()["inputs"][name]

    def output_stats(self, name):
        return self.stats()["outputs"][name]

    def address(self, name):
        """The bound address of input name, from stats: (host, port) for tcp
        and udp, the socket path for unix."""
        inp = self.input_stats(name)
        addr = inp.get("address")
        if not addr:
            raise AssertionError(f"stats of input {name!r} have no address: {inp!r}")
        if inp.get("type") == "unix":
            return addr if os.path.isabs(addr) else self.path(addr)
        return parse_address(addr)

    def wait_stat(self, predicate, timeout=10.0, what="stats"):
        """Polls stats until predicate(stats) is true; returns those stats."""
        result = {}

        def check():
            s = self.stats()
            if predicate(s):
                result["s"] = s
                return True
            result["last"] = s
            return False
        try:
            wait_until(check, timeout, what, interval=0.05)
        except AssertionError as e:
            self._check_alive()
            raise AssertionError(f"{e}; last stats: {json.dumps(result.get('last'))}") from None
        return result["s"]

    def signal(self, sig):
        if not self.running():
            self._check_alive()
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=20.0):
        """Waits for the daemon to exit; returns its status. Raises
        AssertionError if it is still running after timeout (and leaves it
        for cleanup to kill)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sluiced did not exit within {timeout:g} s")
        return self.returncode

    def stop(self, sig=None, timeout=20.0):
        """Sends sig (default SIGTERM) and waits for the exit; returns the
        status."""
        self.signal(signal.SIGTERM if sig is None else sig)
        return self.wait_exit(timeout)
    # }===

    # {=== cleanup
    def _kill(self):
        """Stops the process by its pid: SIGTERM, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"sluicetest: sluiced [{self.proc.pid}] ignored SIGTERM for 15 s, "
                      "killing it", file=sys.stderr)
                self.proc.kill()
                self.proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass

    def dump(self):
        """Prints the daemon's stderr (on failure)."""
        out = sys.stdout
        print(f"---- sluiced stderr ({self.log_path}) ----", file=out)
        log = self.log()
        if len(log) > 20000:
            log = "[... start cut ...]\n" + log[-20000:]
        print(log.rstrip("\n") or "(empty)", file=out)
        print("---- end of sluiced stderr ----", file=out)
        out.flush()

    def cleanup(self, failed=False):
        if self._cleaned:
            return
        self._cleaned = True
        try:
            self._kill()
        finally:
            if self._log_file is not None:
                self._log_file.close()
            if failed:
                self.dump()
            if os.environ.get("SLUICETEST_KEEP"):
                print(f"sluicetest: kept {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            if self in _live:
                _live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None and not issubclass(exc_type, Skip)
        self.cleanup(failed=failed)
        return False
    # }===


def _cleanup_all(failed=False):
    for d in list(_live):
        try:
            d.cleanup(failed=failed)
        except Exception as e:  # keep cleaning the others
            print(f"sluicetest: cleanup of {d.dir} failed: {e!r}", file=sys.stderr)


atexit.register(_cleanup_all)


def sluiced(args, cwd=None, timeout=20, **kw):
    """Runs $SLUICED with args (not as a daemon: --check, --version, ...)."""
    return run([sluiced_path()] + list(args), timeout=timeout, cwd=cwd, **kw)


class TempDir:
    """A temporary directory removed on exit (for tests that need no daemon)."""

    def __init__(self, prefix="sl-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write(self, rel, text):
        p = self.path(rel)
        with open(p, "w") as f:
            f.write(text)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not os.environ.get("SLUICETEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False
# }===


# {=== running tests

def timeout(seconds):
    """Decorator: this test's alarm, instead of DEFAULT_TEST_TIMEOUT."""
    def wrap(fn):
        fn.timeout = seconds
        return fn
    return wrap


_alarm_fired = False


def _on_alarm(signum, frame):
    global _alarm_fired
    if not _alarm_fired:
        # First time: unwind the test (its `with` blocks clean up), but give
        # that at most 30 s more.
        _alarm_fired = True
        signal.alarm(30)
        raise TestTimeout("the test ran past its time bound")
    # Cleanup itself is stuck: kill what we started, by pid, and leave.
    print("sluicetest: cleanup after a timeout is stuck; killing the daemons", flush=True)
    for d in list(_live):
        if d.proc is not None and d.proc.poll() is None:
            try:
                os.kill(d.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        d.dump()
    os._exit(1)


def main(tests):
    """Runs the test functions in order (or those named on the command
    line), each under its own alarm; exits 0 if all passed (some may have
    skipped), 77 if all skipped, 1 if any failed."""
    global _alarm_fired
    sluiced_path()  # skip the whole file early without the environment
    sluicectl_path()
    wanted = set(sys.argv[1:])
    if wanted:
        unknown = wanted - {t.__name__ for t in tests}
        if unknown:
            print(f"unknown tests: {', '.join(sorted(unknown))}")
            sys.exit(2)
        tests = [t for t in tests if t.__name__ in wanted]
    signal.signal(signal.SIGALRM, _on_alarm)
    passed, skipped, failed = [], [], []
    for t in tests:
        name = t.__name__
        limit = getattr(t, "timeout", DEFAULT_TEST_TIMEOUT)
        print(f"== {name}", flush=True)
        start = time.monotonic()
        _alarm_fired = False
        signal.alarm(limit)
        try:
            t()
        except Skip as e:
            signal.alarm(0)
            skipped.append(name)
            print(f"SKIP: {name}: {e}", flush=True)
        except BaseException as e:  # noqa: B902 (report everything, go on)
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            failed.append(name)
            if isinstance(e, TestTimeout):
                print(f"FAIL: {name}: timed out after {limit} s", flush=True)
            else:
                print(f"FAIL: {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            _cleanup_all(failed=True)
        else:
            signal.alarm(0)
            passed.append(name)
            print(f"PASS: {name} ({time.monotonic() - start:.1f} s)", flush=True)
        _cleanup_all(failed=False)
    print(f"{len(passed)} passed, {len(skipped)} skipped, {len(failed)} failed"
          + (f": {', '.join(failed)}" if failed else ""), flush=True)
    if failed:
        sys.exit(1)
    if skipped and not passed:
        sys.exit(SKIP_STATUS)
    sys.exit(0)


def check(cond, message, *details):
    """assert that survives python -O and prints context."""
    if not cond:
        extra = "".join(f"\n  {d}" for d in details)
        raise AssertionError(message + extra)
# }===
