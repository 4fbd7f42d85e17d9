#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py: sluiced side by side with rsyslog, syslog-ng and a ceiling.

    python3 tests/bench/bench.py --builddir BUILDDIR [--runs R] [--count N]
        [--only NAME,...] [--daemons sluiced,rsyslog,syslog-ng,ceiling]
        [--quick] [--out FILE]

(`make bench` runs it with --builddir set; pass more with BENCH_ARGS=...)
--only takes scenario names, the name of a comparison (COMPARISONS), e.g.
`--only lua` for the Lua where vs declarative pair (sluiced only), or of a
group (GROUPS): `--only disk` for the disk queues beside tcp-raw-k1-lf
(`make bench-disk`).

For every scenario in SCENARIOS, and for every run, each daemon in turn is
started in the foreground with a config of its own (written here, per
scenario, into a temporary directory), listening on 127.0.0.1 and writing
plain files without fsync. BUILDDIR/tests/bench/sender sends N messages,
and the output files are polled until N lines (times the number of copies
each message gets) are on disk, or until nothing moves for a few seconds.
Then the daemon is stopped by pid and its files are read back.

Measured per run:
  msgs/s          messages / (first send .. the N-th line on disk); for a
                  rate-limited scenario, the rate the sender achieved.
  CPU s / M msgs  utime + stime of the daemon (/proc/PID/stat, all threads),
                  from just before the first send to the N-th line.
  peak RSS MB     VmHWM of the daemon (/proc/PID/status) at the end.
  lost            messages sent but never on disk (parsed from the c= and
                  s= tokens every message carries), after the daemon stops.
  out-of-order    messages written after a later message of the same
                  connection.
The report shows medians over the runs (lost and out-of-order also show
their maximum when it differs), ratio rows, a table per comparison (two
sluiced-only scenarios run alternately, with their ratio), the machine, the
versions, the command, and every config used.

rsyslog and syslog-ng are used from the system when installed; otherwise
their Debian packages are fetched with `apt-get download` and unpacked with
`dpkg -x` into a cache directory ($XDG_CACHE_HOME/sluice-bench), and only
their library dependencies are installed with apt-get (as root). They are
run from there: nothing is installed as a service, no system daemon starts.

Everything is bounded in time, uses 127.0.0.1 and temporary directories only,
and stops the processes it started by pid. Python 3 standard library only.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DAEMONS = ("sluiced", "rsyslog", "syslog-ng", "ceiling")
PEERS = ("rsyslog", "syslog-ng")
# The ceiling copies bytes as they come and writes whole lines only, so it
# has no part in octet-counted framing (no newlines) or in fan-out.
DAEMONS_NO_CEILING = ("sluiced", "rsyslog", "syslog-ng")

DEFAULT_COUNT = 1_000_000
QUICK_COUNT = 200_000
DEFAULT_RUNS = 3
MESSAGE_SIZE = 200          # bytes per message, sender --size (its default)
UDP_RCVBUF = 8 * 1024 * 1024  # the same receive buffer for every daemon

POLL_INTERVAL = 0.002       # seconds between looks at the output files
QUEUE_POLL_INTERVAL = 0.05  # seconds between looks at a disk queue's directory
STALL_SECONDS = 3.0         # no new line for this long ends a run
READY_TIMEOUT = 15.0        # a daemon must listen within this
STOP_TIMEOUT = 15.0         # SIGTERM, then SIGKILL after this
MIN_RUN_TIMEOUT = 30.0      # a run's bound is this + N / RUN_TIMEOUT_RATE s
RUN_TIMEOUT_RATE = 20_000
WARM_UP_COUNT = 100_000     # messages of the unrecorded first run per daemon

# {=== scenarios
#
# A scenario is one declarative entry. `fmt` names an entry of FORMATS;
# `outputs` is how many files each message is written to (one route);
# `hooks` adds per-daemon snippets to the generated configs:
#   sluiced:   "route"  Lua keys added to the route table (e.g. a `where`)
#              "output" Lua keys added to every output table
#   rsyslog:   "filter" an expression; the actions run under `if EXPR then`
#              "action" parameters added to every omfile action
#   syslog-ng: "log"    statements put in the log path before the
#                       destinations (e.g. `filter { message("x"); };`)
#              "destination" options added to every file() destination
# and `generators` replaces a daemon's whole config: a function
# (scenario, ctx) -> text, for what hooks cannot say (another plugin, ...).


# The route condition of the Lua-vs-declarative pair, in both spellings.
# The sender's messages are all local0.info from APP-NAME "benchapp".
ROUTE_LUA_WHERE = 'where = function(m) return m.severity <= 6 and m.app_name == "benchapp" end'
ROUTE_DECLARATIVE = 'severity = "<=info", app_name = "benchapp"'
# The rotation of the rotate-zstd/off pair.
ROTATE_ZSTD = 'size = "64M", keep = 100, compress = "zstd"'
# The disk queues of the disk scenarios (issue 11): sluiced's max_size, and
# the same bound for rsyslog's queue.maxDiskSpace and syslog-ng's
# disk-buf-size, so that none of them can run out of room before another.
DISK_MAX_BYTES = 1 << 30
DISK_MAX_SIZE = "1G"
# sluiced's default segment_size (an eighth of max_size, at most 16M), used
# for rsyslog's queue.maxFileSize too.
DISK_SEGMENT_BYTES = 16 << 20
# The memory part of syslog-ng's reliable disk buffer, as large as sluiced's
# default queue.max_bytes (16M); its own default, 163840000 bytes, would make
# the peak RSS column mean something else.
SYSLOGNG_MEM_BUF = 16 << 20


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    proto: str                  # tcp | udp | unix
    conns: int = 1
    framing: str = "lf"         # lf | octet (tcp only)
    rate: int = 0               # messages/s for the sender; 0 = as fast as possible
    fmt: str = "raw"            # a key of FORMATS
    outputs: int = 1            # files per message, all on one route
    daemons: tuple = DAEMONS
    hooks: dict = dataclasses.field(default_factory=dict)
    generators: dict = dataclasses.field(default_factory=dict)
    disk: str = ""              # "": memory queues; "none" | "batch": sluiced's disk.sync
    syntax: str = "rfc5424"     # the sender's --syntax; "native": sluiced's native input

    @property
    def lossy(self):
        """Whether the kernel may drop messages here (UDP at a fixed rate),
        so that msgs/s is the send rate and `lost` is the result."""
        return self.proto == "udp"


SCENARIOS = [
    Scenario("tcp-raw-k1-lf", "TCP, 1 connection, LF framing, raw output",
             "tcp", conns=1, framing="lf"),
    Scenario("tcp-raw-k1-octet", "TCP, 1 connection, octet-counted framing, raw output",
             "tcp", conns=1, framing="octet", daemons=DAEMONS_NO_CEILING),
    Scenario("tcp-raw-k4-lf", "TCP, 4 connections, LF framing, raw output",
             "tcp", conns=4, framing="lf"),
    Scenario("tcp-raw-k4-octet", "TCP, 4 connections, octet-counted framing, raw output",
             "tcp", conns=4, framing="octet", daemons=DAEMONS_NO_CEILING),
    Scenario("tcp-traditional", "TCP, 1 connection, LF framing, traditional file format",
             "tcp", conns=1, framing="lf", fmt="traditional"),
    Scenario("udp-200k", "UDP at 200,000 msgs/s, 8 MiB receive buffer, raw output",
             "udp", rate=200_000),
    Scenario("unix-dgram", "Unix datagram socket, raw output",
             "unix"),
    Scenario("fanout-3", "TCP, 1 connection, LF framing, one route to three files (raw)",
             "tcp", conns=1, framing="lf", outputs=3, daemons=DAEMONS_NO_CEILING),
    # The cost of a Lua `where` against the same condition in declarative
    # keys (a COMPARISONS pair, run interleaved): sluiced only. Both read two
    # fields, and every message the sender makes (<134>: local0.info,
    # APP-NAME "benchapp") passes both, so every message is written.
    Scenario("tcp-declarative", "TCP declarative: 1 connection, LF framing, raw output, "
             f"a route with {ROUTE_DECLARATIVE}",
             "tcp", conns=1, framing="lf", daemons=("sluiced",),
             hooks={"sluiced": {"route": ROUTE_DECLARATIVE}}),
    Scenario("tcp-lua-where", "TCP Lua where: 1 connection, LF framing, raw output, "
             f"a route with {ROUTE_LUA_WHERE}",
             "tcp", conns=1, framing="lf", daemons=("sluiced",),
             hooks={"sluiced": {"route": ROUTE_LUA_WHERE}}),
    # {=== rotation (issue 10): the cost of rotating with zstd compression
    # in the background, against the same output without rotation (a
    # COMPARISONS pair). 1,000,000 messages of 200 bytes: 3 rotations.
    Scenario("tcp-rotate-off", "TCP, 1 connection, LF framing, raw output, no rotation",
             "tcp", conns=1, framing="lf", daemons=("sluiced",)),
    Scenario("tcp-rotate-zstd", "TCP, 1 connection, LF framing, raw output, "
             f"rotate = {{ {ROTATE_ZSTD} }}",
             "tcp", conns=1, framing="lf", daemons=("sluiced",),
             hooks={"sluiced": {"output": f"rotate = {{ {ROTATE_ZSTD} }}"}}),
    # }===
    # {=== disk queues (issue 11): the same traffic as tcp-raw-k1-lf through
    # a queue on disk under a state directory made empty for every run (it is
    # in the run's own temporary directory), so that a run never replays the
    # queue of the one before. sluiced with policy "disk"; rsyslog with a
    # disk-assisted action queue; syslog-ng with disk-buffer(reliable(yes)).
    # The in-memory figure they are held against is tcp-raw-k1-lf's, in the
    # same batch (COMPARISONS "disk-none", "disk-batch"; `--only disk`).
    Scenario("tcp-disk-none", "TCP, 1 connection, LF framing, raw output, a disk queue "
             "(sluiced sync none)",
             "tcp", conns=1, framing="lf", daemons=DAEMONS_NO_CEILING, disk="none"),
    # sync = "batch" fdatasyncs each batch. rsyslog's closest setting is
    # queue.syncQueueFiles="on" (it syncs the queue files it writes, which
    # its DA queue does only once it spills); syslog-ng 3.38 has nothing
    # beyond reliable(yes) (no fsync option), so its figure would be
    # tcp-disk-none's again and it is left out.
    Scenario("tcp-disk-batch", "TCP, 1 connection, LF framing, raw output, a disk queue "
             "(sluiced sync batch)",
             "tcp", conns=1, framing="lf", daemons=("sluiced", "rsyslog"), disk="batch"),
    # }===
    # {=== the journal's native protocol (issue 12): ~200-byte entries of
    # five fields against RFC 3164 datagrams of the same size on a unix
    # socket (a COMPARISONS pair), sluiced only. Both write {msg}, which is
    # the same "c=.. s=.. xxx" text in both, so the outputs cost the same
    # and what differs is reading and parsing.
    Scenario("unix-rfc3164-msg", "Unix datagram socket, RFC 3164, output {msg}",
             "unix", fmt="msg", daemons=("sluiced",), syntax="rfc3164"),
    Scenario("unix-native-msg", "Unix datagram socket, journal native protocol (five fields), "
             "output {msg}",
             "unix", fmt="msg", daemons=("sluiced",), syntax="native"),
    # }===
]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Two sluiced-only scenarios measured against each other: their runs
    interleave (run 1 of each, then run 2 of each, ...), and the report adds
    a table of both with the ratio `subject`/`base`, the cost per message
    of `subject` over `base`, and a target on the msgs/s ratio (None: the
    figure is reported, with no target)."""
    name: str                   # also a group for --only
    subject: str                # scenario names
    base: str
    label: str                  # "Lua/declarative"
    min_rate_ratio: float | None


COMPARISONS = [
    Comparison("lua", "tcp-lua-where", "tcp-declarative", "Lua/declarative", 0.70),
    Comparison("rotate", "tcp-rotate-zstd", "tcp-rotate-off", "rotate zstd/off", 0.95),
    # sluiced's in-memory queue is tcp-raw-k1-lf's (policy "block").
    Comparison("disk-none", "tcp-disk-none", "tcp-raw-k1-lf", "disk none/memory", 0.60),
    Comparison("disk-batch", "tcp-disk-batch", "tcp-raw-k1-lf", "disk batch/memory", None),
    Comparison("native", "unix-native-msg", "unix-rfc3164-msg", "native/RFC 3164", 0.80),
]

# More names for --only, each for several scenarios.
GROUPS = {
    "disk": ("tcp-disk-none", "tcp-disk-batch", "tcp-raw-k1-lf"),
}

# How each daemon writes a format. rsyslog: (template statement, action
# parameter); syslog-ng: (template option of file(), source flags needed).
FORMATS = {
    "raw": {
        "sluiced": "raw",
        "rsyslog": ('template(name="bench_fmt" type="string" string="%rawmsg%\\n")',
                    'template="bench_fmt"'),
        "syslog-ng": ('template("${RAWMSG}\\n")', ["store-raw-message"]),
    },
    "traditional": {
        "sluiced": "rfc3164",
        "rsyslog": ("", 'template="RSYSLOG_TraditionalFileFormat"'),
        "syslog-ng": ("", []),   # its default file template: $DATE $HOST $MSGHDR$MSG
    },
    # The message text alone (sluiced only: the native pair).
    "msg": {"sluiced": "{msg}"},
}

# }===

# {=== small helpers


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_text(argv, env=None, timeout=60):
    """Runs argv to completion and returns its stdout+stderr as text
    ('' when it cannot be run)."""
    try:
        p = subprocess.run(argv, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def free_port():
    """A port that is free on 127.0.0.1 for both TCP and UDP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def fmt_int(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_float(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


# }===

# {=== peers: find rsyslog and syslog-ng, or unpack them from Debian


@dataclasses.dataclass
class Peer:
    name: str
    binary: str
    args: list          # extra arguments: the module path
    env: dict           # environment additions: LD_LIBRARY_PATH
    origin: str         # how it was found, for the report
    config_version: str = ""


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "sluice-bench")


def apt_library_deps(deb):
    """The library packages a .deb depends on (first of each alternative)."""
    out = run_text(["dpkg-deb", "-f", deb, "Depends"])
    deps = []
    for clause in out.split(","):
        first = clause.split("|")[0].strip()
        name = first.split(" ")[0].split(":")[0]
        if name.startswith("lib") or name == "zlib1g":
            deps.append(name)
    return deps


def dpkg_installed(pkg):
    out = run_text(["dpkg-query", "-W", "-f=${Status}", pkg])
    return "install ok installed" in out


def cached_deb(pkg):
    """The newest downloaded .deb of `pkg` in the cache, or None."""
    debs_dir = os.path.join(cache_dir(), "debs")
    try:
        debs = sorted(f for f in os.listdir(debs_dir) if f.startswith(pkg + "_") and f.endswith(".deb"))
    except OSError:
        return None
    return os.path.join(debs_dir, debs[-1]) if debs else None


def unpack_debs(packages, root):
    """apt-get download + dpkg -x of `packages` into `root`. Raises
    RuntimeError with the reason when it cannot."""
    debs_dir = os.path.join(cache_dir(), "debs")
    os.makedirs(debs_dir, exist_ok=True)
    dl = ["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download"] + packages
    if subprocess.run(dl, cwd=debs_dir, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, timeout=300).returncode != 0:
        log("bench: apt-get download failed; running apt-get update once")
        subprocess.run(["apt-get", "-q", "update"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300)
        if subprocess.run(dl, cwd=debs_dir, timeout=300).returncode != 0:
            raise RuntimeError(f"apt-get download {' '.join(packages)} failed")
    for pkg in packages:
        deb = cached_deb(pkg)
        if deb is None:
            raise RuntimeError(f"no .deb for {pkg} in {debs_dir}")
        subprocess.run(["dpkg", "-x", deb, root], check=True, timeout=120)


def install_library_deps(packages):
    """apt-get install of the library dependencies of the unpacked
    `packages` that the system lacks (as root; otherwise RuntimeError says
    what to run)."""
    libs = set()
    for pkg in packages:
        deb = cached_deb(pkg)
        if deb:
            libs.update(apt_library_deps(deb))
    missing = sorted(lib for lib in libs if not dpkg_installed(lib))
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError("missing libraries; as root run: apt-get install " + " ".join(missing))
    log(f"bench: apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    p = subprocess.run(["apt-get", "-q", "-y", "--no-install-recommends", "install"] + missing,
                       env=env, stdout=subprocess.DEVNULL, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("apt-get install " + " ".join(missing) + " failed")


def find_peer_binaries(root):
    """Binaries and module directories under `root` ('' = the system)."""
    def first(*cands):
        for c in cands:
            if os.path.exists(root + c):
                return root + c
        return None
    rs_bin = first("/usr/sbin/rsyslogd")
    rs_mod = first("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog")
    ng_bin = first("/usr/sbin/syslog-ng")
    ng_lib = first("/usr/lib/syslog-ng")
    ng_mod = None
    if ng_lib:
        vers = sorted(d for d in os.listdir(ng_lib) if re.fullmatch(r"\d+\.\d+", d))
        ng_mod = os.path.join(ng_lib, vers[-1]) if vers else None
    return rs_bin, rs_mod, ng_bin, ng_lib, ng_mod


def setup_peers(wanted):
    """Returns {name: Peer} for the wanted peers, unpacking them when the
    system has none. A peer that cannot be had is left out, with a warning."""
    peers = {}
    if not wanted:
        return peers
    sys_rs, sys_rs_mod, sys_ng, _, sys_ng_mod = find_peer_binaries("")
    root = os.path.join(cache_dir(), "root")
    need = []
    if "rsyslog" in wanted and not (sys_rs and sys_rs_mod):
        need.append("rsyslog")
    if "syslog-ng" in wanted and not (sys_ng and sys_ng_mod):
        need.append("syslog-ng-core")
    if need:
        rs, _, ng, _, _ = find_peer_binaries(root)
        have = {"rsyslog": rs, "syslog-ng-core": ng}
        todo = [p for p in need if not have[p]]
        try:
            if todo:
                log(f"bench: unpacking {', '.join(todo)} into {root}")
                unpack_debs(todo, root)
            install_library_deps(need)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            log(f"bench: warning: cannot set up {', '.join(need)}: {e}")
    rs, rs_mod, ng, ng_lib, ng_mod = find_peer_binaries(root)
    if "rsyslog" in wanted:
        if sys_rs and sys_rs_mod:
            peers["rsyslog"] = Peer("rsyslog", sys_rs, [], {}, "installed on the system")
        elif rs and rs_mod:
            peers["rsyslog"] = Peer("rsyslog", rs, ["-M", rs_mod], {},
                                    f"Debian package unpacked into {root} (dpkg -x), run with -M {rs_mod}")
    if "syslog-ng" in wanted:
        if sys_ng and sys_ng_mod:
            peers["syslog-ng"] = Peer("syslog-ng", sys_ng, [], {}, "installed on the system")
        elif ng and ng_mod:
            peers["syslog-ng"] = Peer(
                "syslog-ng", ng, [f"--module-path={ng_mod}"], {"LD_LIBRARY_PATH": ng_lib},
                f"Debian package syslog-ng-core unpacked into {root} (dpkg -x), run with "
                f"LD_LIBRARY_PATH={ng_lib} --module-path={ng_mod}")
    if "syslog-ng" in peers:
        p = peers["syslog-ng"]
        out = run_text([p.binary, "--version"] + p.args, env=peer_env(p))
        m = re.search(r"^Installer-Version:\s*(\d+\.\d+)", out, re.M)
        p.config_version = m.group(1) if m else "3.38"
    for name in wanted:
        if name not in peers:
            log(f"bench: warning: {name} is not available; it is left out")
    return peers


def peer_env(peer):
    env = dict(os.environ)
    for k, v in peer.env.items():
        env[k] = v + (":" + env[k] if env.get(k) else "")
    return env


# }===

# {=== config generation, one function per daemon


@dataclasses.dataclass
class RunCtx:
    """Where one run happens: a temporary directory, the address the daemon
    listens on, and the files it writes."""
    tmp: str
    scenario: Scenario
    port: int = 0
    syslogng_version: str = "3.38"   # the config version its binary wants

    @property
    def outdir(self):
        return os.path.join(self.tmp, "out")

    @property
    def outs(self):
        return [os.path.join(self.outdir, f"out{i}.log") for i in range(self.scenario.outputs)]

    @property
    def statedir(self):
        """Where the disk queues live: inside the run's directory, so every
        run starts from an empty one."""
        return os.path.join(self.tmp, "state")

    @property
    def unix_path(self):
        return os.path.join(self.tmp, "sock", "log.sock")

    @property
    def control(self):
        return os.path.join(self.tmp, "sluice.ctl")

    @property
    def target(self):
        """The sender's --target and the ceiling's --listen."""
        if self.scenario.proto == "unix":
            return self.unix_path
        return f"127.0.0.1:{self.port}"


def hook(sc, daemon, name, default=""):
    return sc.hooks.get(daemon, {}).get(name, default)


def sluiced_config(sc, ctx):
    proto = sc.proto
    state = f', state_dir = "{ctx.statedir}"' if sc.disk else ""
    lines = [f"-- sluiced, scenario {sc.name}",
             f'settings {{ control = "{ctx.control}", log_level = "notice"{state} }}', ""]
    if proto == "tcp":
        lines.append(f'input "in" {{ type = "tcp", listen = "{ctx.target}" }}')
    elif proto == "udp":
        lines.append(f'input "in" {{ type = "udp", listen = "{ctx.target}", '
                     f'rcvbuf = "{UDP_RCVBUF // (1024 * 1024)}M" }}')
    else:
        kind = "native" if sc.syntax == "native" else "unix"
        lines.append(f'input "in" {{ type = "{kind}", path = "{ctx.unix_path}" }}')
    lines.append("")
    fmt = FORMATS[sc.fmt]["sluiced"]
    extra = hook(sc, "sluiced", "output")
    queue = 'policy = "block"'
    if sc.disk:
        queue = f'policy = "disk", disk = {{ sync = "{sc.disk}", max_size = "{DISK_MAX_SIZE}" }}'
    names = []
    for i, path in enumerate(ctx.outs):
        names.append(f"out{i}")
        lines.append(f'local out{i} = output "out{i}" {{ type = "file", path = "{path}", '
                     f'format = "{fmt}", queue = {{ {queue} }}{", " + extra if extra else ""} }}')
    lines.append("")
    route_extra = hook(sc, "sluiced", "route")
    lines.append(f"route {{ {route_extra + ', ' if route_extra else ''}to = {{ {', '.join(names)} }} }}")
    return "\n".join(lines) + "\n"


# omfile's tuning; see the comment rsyslog_config() writes into the config.
RSYSLOG_OMFILE = 'ioBufferSize="256k" asyncWriting="on"'
# The memory part of rsyslog's disk-assisted action queue, in messages: the
# main queue's default size, ten times sluiced's default queue.capacity.
RSYSLOG_DA_SIZE = 100_000


def rsyslog_da_queue(sc):
    """The parameters of a disk-assisted action queue for omfile."""
    q = ['queue.type="LinkedList"', 'queue.filename="bench_q"', 'queue.saveOnShutdown="on"',
         f'queue.maxDiskSpace="{DISK_MAX_BYTES}"', f'queue.maxFileSize="{DISK_SEGMENT_BYTES}"',
         f'queue.size="{RSYSLOG_DA_SIZE}"', 'queue.dequeueBatchSize="1024"']
    if sc.disk == "batch":
        q.append('queue.syncQueueFiles="on"')
    return " ".join(q)


def rsyslog_config(sc, ctx):
    tmpl, action_fmt = FORMATS[sc.fmt]["rsyslog"]
    lines = [f"# rsyslog, scenario {sc.name}",
             "# Tuned as rsyslog's docs suggest for throughput: omfile with a large",
             "# ioBufferSize and asyncWriting on; a large main-queue dequeue batch.",
             "# flushOnTXEnd stays on (its default): with it off, the last partial buffer",
             "# waits for flushInterval (1 s, its least) and rsyslog measured ~40% slower",
             "# from first send to last line on disk. The input has its own ruleset so",
             "# that rsyslogd's own messages do not land in the output file.",
             f'global(workDirectory="{ctx.statedir if sc.disk else ctx.tmp}" maxMessageSize="64k")',
             'main_queue(queue.dequeueBatchSize="1024")']
    if sc.disk:
        lines += [
            "# A disk-assisted (DA) action queue: queue.type LinkedList with a",
            "# queue.filename. It is an in-memory queue that spills to disk (files",
            "# bench_q.* in workDirectory) only when its memory part is full, that is",
            f"# past queue.highWatermark (90% of queue.size={RSYSLOG_DA_SIZE:,}), and goes",
            "# back to memory once drained; queue.saveOnShutdown writes what is left",
            "# in memory at shutdown. So unlike sluiced's disk queue, which writes every",
            "# message, it may write none: the report shows the bytes it wrote besides",
            "# the output file. queue.maxDiskSpace is sluiced's max_size, queue.maxFileSize",
            "# its segment size, dequeueBatchSize as for the main queue.",
        ]
        if sc.disk == "batch":
            lines.append("# queue.syncQueueFiles syncs every write to the queue files (once it spills).")
    if sc.proto == "tcp":
        lines += ['module(load="imtcp")',
                  f'input(type="imtcp" address="127.0.0.1" port="{ctx.port}" ruleset="bench")']
    elif sc.proto == "udp":
        lines += ['module(load="imudp")',
                  f'input(type="imudp" address="127.0.0.1" port="{ctx.port}" ruleset="bench" '
                  f'rcvbufSize="{UDP_RCVBUF // (1024 * 1024)}m")']
    else:
        lines += ['module(load="imuxsock" SysSock.Use="off")',
                  f'input(type="imuxsock" socket="{ctx.unix_path}" createPath="on" '
                  'ruleset="bench" rateLimit.interval="0")']
    if tmpl:
        lines.append(tmpl)
    extra = hook(sc, "rsyslog", "action")
    if sc.disk:
        extra = " ".join(e for e in (extra, rsyslog_da_queue(sc)) if e)
    actions = [f'action(type="omfile" file="{path}" {action_fmt} {RSYSLOG_OMFILE}'
               f'{" " + extra if extra else ""})'
               for path in ctx.outs]
    filt = hook(sc, "rsyslog", "filter")
    lines.append('ruleset(name="bench") {')
    if filt:
        lines.append(f"  if {filt} then {{")
        lines += ["    " + a for a in actions]
        lines.append("  }")
    else:
        lines += ["  " + a for a in actions]
    lines.append("}")
    return "\n".join(lines) + "\n"


def syslogng_config(sc, ctx):
    tmpl, flags = FORMATS[sc.fmt]["syslog-ng"]
    # log-iw-size is shared out among max-connections: each connection gets
    # a window of per_conn messages, enough for one sender at full speed.
    max_conn = 10
    per_conn = 10_000
    fetch = 1000
    lines = [f"@version: {ctx.syslogng_version}",
             f"# syslog-ng, scenario {sc.name}",
             "# Tuned as syslog-ng's docs suggest for throughput: flags(flow-control) on",
             "# the log path, a log-iw-size that gives one connection a window of",
             f"# {per_conn} messages, log-fetch-limit raised to {fetch}, no DNS.",
             "options { threaded(yes); use-dns(no); dns-cache(no); use-fqdn(no);",
             "          keep-hostname(yes); chain-hostnames(no); stats-freq(0);",
             "          log-msg-size(65536); };"]
    common = (f"log-iw-size({max_conn * per_conn}) log-fetch-limit({fetch})")
    if sc.proto == "tcp":
        # network() reads LF framing; syslog() reads RFC 6587 octet counting.
        driver = "network" if sc.framing == "lf" else "syslog"
        src_flags = (["syslog-protocol"] if driver == "network" else []) + flags
        fl = f" flags({', '.join(src_flags)})" if src_flags else ""
        src = (f'{driver}(ip("127.0.0.1") port({ctx.port}) transport("tcp") '
               f"max-connections({max_conn}) {common}{fl})")
    elif sc.proto == "udp":
        fl = f" flags({', '.join(['syslog-protocol'] + flags)})"
        src = (f'network(ip("127.0.0.1") port({ctx.port}) transport("udp") '
               f"so-rcvbuf({UDP_RCVBUF}) {common}{fl})")
    else:
        fl = f" flags({', '.join(['syslog-protocol'] + flags)})"
        lines += ["# pass-unix-credentials(no): with its default (yes), syslog-ng 3.38 did",
                  "# ~36k msgs/s here at ~27 CPU s/M instead of ~170k msgs/s; the raw",
                  "# output uses none of the sender's pid/uid/gid."]
        src = (f'unix-dgram("{ctx.unix_path}" create-dirs(yes) pass-unix-credentials(no) '
               f"{common}{fl})")
    lines.append(f"source s_bench {{ {src}; }};")
    extra = hook(sc, "syslog-ng", "destination")
    if sc.disk:
        lines += ["# disk-buffer(reliable(yes)): every message is written to the buffer file",
                  "# in dir() before it counts as taken, and a copy of up to mem-buf-size",
                  "# bytes is also kept in memory; disk-buf-size is sluiced's max_size.",
                  "# mem-buf-size is sluiced's default queue.max_bytes, not its 163840000",
                  "# default. syslog-ng 3.38 has no fsync option: nothing is synced."]
        buf = (f'disk-buffer(reliable(yes) dir("{ctx.statedir}") disk-buf-size({DISK_MAX_BYTES}) '
               f"mem-buf-size({SYSLOGNG_MEM_BUF}))")
        extra = " ".join(e for e in (extra, buf) if e)
    dests = []
    for i, path in enumerate(ctx.outs):
        opts = " ".join(o for o in (tmpl, f"log-fifo-size({2 * max_conn * per_conn})", extra) if o)
        lines.append(f'destination d_out{i} {{ file("{path}" {opts}); }};')
        dests.append(f"destination(d_out{i});")
    log_extra = hook(sc, "syslog-ng", "log")
    lines.append("log { source(s_bench); "
                 + (log_extra + " " if log_extra else "")
                 + " ".join(dests) + " flags(flow-control); };")
    return "\n".join(lines) + "\n"


CONFIG_WRITERS = {
    "sluiced": sluiced_config,
    "rsyslog": rsyslog_config,
    "syslog-ng": syslogng_config,
}


def make_config(daemon, sc, ctx):
    """The config text for `daemon` in scenario `sc` (None for the ceiling,
    which takes its settings on the command line)."""
    gen = sc.generators.get(daemon) or CONFIG_WRITERS.get(daemon)
    return gen(sc, ctx) if gen else None


# }===

# {=== processes: start, wait until ready, measure, stop


_live = []   # Popen objects this script started and has not reaped


def spawn(argv, log_path, env=None):
    """Starts argv with stdout and stderr to log_path, and remembers it."""
    with open(log_path, "ab") as log_file:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file,
                             stderr=log_file, env=env)
    _live.append(p)
    return p


def stop(p, timeout=STOP_TIMEOUT):
    """SIGTERM to p's pid, a bounded wait, then SIGKILL. Returns the exit
    status, or None when it had to be killed."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            if p in _live:
                _live.remove(p)
            return None
    if p in _live:
        _live.remove(p)
    return p.returncode


def stop_all():
    for p in list(_live):
        stop(p, timeout=5)


def proc_cpu_seconds(pid):
    """utime + stime of the whole process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])   # fields 14 and 15 of stat(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_wchar(pid):
    """Bytes the process has handed to write(2) and its kin so far
    (/proc/PID/io), or None. Writes through a shared mapping are not in it."""
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def listening(sc, ctx):
    """Whether something listens where the sender will send, as the
    kernel's tables say (without connecting, which a daemon would count)."""
    if sc.proto == "unix":
        try:
            with open("/proc/net/unix") as f:
                return any(line.rstrip().endswith(" " + ctx.unix_path) for line in f)
        except OSError:
            return False
    table = "/proc/net/tcp" if sc.proto == "tcp" else "/proc/net/udp"
    want = f"0100007F:{ctx.port:04X}"
    with open(table) as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want and (sc.proto == "udp" or parts[3] == "0A"):
                return True
    return False


class DaemonFailed(Exception):
    pass


def wait_ready(p, check, log_path, what):
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise DaemonFailed(f"{what} exited with status {p.returncode}: {tail(log_path)}")
        if check():
            return
        time.sleep(0.02)
    raise DaemonFailed(f"{what} not ready after {READY_TIMEOUT:.0f} s: {tail(log_path)}")


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-n:])
    except OSError:
        return "(no log)"


def start_daemon(daemon, sc, ctx, env):
    """Starts `daemon` for one run and returns its Popen once it listens.
    `env` is the run environment (builddir, peers)."""
    err_log = os.path.join(ctx.tmp, f"{daemon}.log")
    conf_text = make_config(daemon, sc, ctx)
    conf = os.path.join(ctx.tmp, f"{daemon}.conf")
    if conf_text is not None:
        with open(conf, "w") as f:
            f.write(conf_text)
    os.makedirs(ctx.outdir, exist_ok=True)
    if sc.disk:
        # sluiced and rsyslog want it to exist; so that syslog-ng is treated
        # alike, it gets it made too.
        os.makedirs(ctx.statedir, exist_ok=True)
    if sc.proto == "unix":
        os.makedirs(os.path.dirname(ctx.unix_path), exist_ok=True)
    b = env.builddir
    if daemon == "sluiced":
        p = spawn([os.path.join(b, "core/sluiced"), "-n", "-c", conf, "-P", os.path.join(b, "plugins")],
                  err_log)
        ctl = [os.path.join(b, "core/sluicectl"), "-s", ctx.control, "stats"]

        def ready():
            if not os.path.exists(ctx.control):
                return False
            r = subprocess.run(ctl, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
            return r.returncode == 0 and r.stdout.startswith(b"{") and listening(sc, ctx)
        wait_ready(p, ready, err_log, "sluiced")
    elif daemon == "rsyslog":
        peer = env.peers["rsyslog"]
        p = spawn([peer.binary, "-n", "-f", conf, "-i", os.path.join(ctx.tmp, "rsyslogd.pid")] + peer.args,
                  err_log, env=peer_env(peer))
        wait_ready(p, lambda: listening(sc, ctx), err_log, "rsyslogd")
    elif daemon == "syslog-ng":
        peer = env.peers["syslog-ng"]
        t = ctx.tmp
        p = spawn([peer.binary, "-F", "--no-caps", "-f", conf, "-p", f"{t}/syslog-ng.pid",
                   "-R", f"{t}/syslog-ng.persist", "-c", f"{t}/syslog-ng.ctl"] + peer.args,
                  err_log, env=peer_env(peer))
        wait_ready(p, lambda: listening(sc, ctx), err_log, "syslog-ng")
    elif daemon == "ceiling":
        out = os.path.join(ctx.outdir, "out0.log")
        p = spawn([os.path.join(b, "tests/bench/ceiling"), "--proto", sc.proto,
                   "--listen", ctx.target, "--out", out], err_log)
        wait_ready(p, lambda: listening(sc, ctx), err_log, "ceiling")
    else:
        raise ValueError(daemon)
    return p, conf_text


def sluiced_stats(env, ctx):
    """`sluicectl stats` as a dict, or None."""
    try:
        r = subprocess.run([os.path.join(env.builddir, "core/sluicectl"), "-s", ctx.control, "stats"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
        return json.loads(r.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def sluiced_kernel_drops(stats):
    """The kernel_drops of sluiced's inputs, from its stats."""
    if stats is None:
        return None
    return sum(i.get("kernel_drops", 0) for i in stats.get("inputs", {}).values())


def sluiced_disk_problem(stats):
    """Why sluiced's stats show that its outputs did not run from a fresh
    disk queue, or "" when they did: every output must report policy
    "disk" with a "disk" object, and have replayed nothing (the state
    directory is new, so a replayed record would be a bug here)."""
    if stats is None:
        return "no stats from sluicectl"
    outs = stats.get("outputs", {})
    if not outs:
        return "no outputs in its stats"
    for name, o in outs.items():
        if o.get("policy") != "disk" or "disk" not in o:
            return f'output "{name}" has policy {o.get("policy")!r} and no disk counters'
        if o["disk"].get("replayed"):
            return f'output "{name}" replayed {o["disk"]["replayed"]:,} records from an earlier run'
    return ""


# }===

# {=== measurement: lines on disk, lost and out-of-order messages


def files_under(directory):
    """Every file under `directory`, at any depth (outputs such as one file
    per process may make folders)."""
    for root, _, names in os.walk(directory):
        for name in names:
            yield os.path.join(root, name)


def compressed(path):
    """A rotated file compressed by its output (or being compressed): its
    lines were counted while it was plain, and analyse_outputs() reads it
    through zstdcat."""
    return path.endswith(".zst") or path.endswith(".zst.tmp")


class LineCounter:
    """Counts the lines written under a directory so far, reading only the
    new bytes of every file on each call. Files are told apart by inode, so
    one that a rotation renames (out.log -> out.log.1) is counted once."""

    def __init__(self, directory):
        self.directory = directory
        self.files = {}    # (dev, inode) -> [fd, lines]
        self.total = 0

    def poll(self):
        for path in files_under(self.directory):
            if compressed(path):
                continue
            try:
                sb = os.stat(path)
            except OSError:
                continue
            st = self.files.get((sb.st_dev, sb.st_ino))
            if st is None:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                st = self.files[(sb.st_dev, sb.st_ino)] = [fd, 0]
            while True:
                chunk = os.read(st[0], 1 << 22)
                if not chunk:
                    break
                n = chunk.count(b"\n")
                st[1] += n
                self.total += n
                if len(chunk) < (1 << 22):
                    break
        return self.total

    def close(self):
        for st in self.files.values():
            os.close(st[0])
        self.files = {}


def bytes_under(directory):
    """(files, bytes): how many files are under `directory` and their total
    st_size."""
    n = total = 0
    for path in files_under(directory):
        try:
            total += os.stat(path).st_size
            n += 1
        except OSError:
            pass
    return n, total


# The daemons whose disk queue in the disk scenarios writes every message
# (rsyslog's disk-assisted queue writes only what overflows its memory), so
# that a queue directory they leave empty means the queue was not in use.
DISK_WRITES_ALL = ("sluiced", "syslog-ng")


class QueueDirWatch:
    """The disk queue's directory, looked at every QUEUE_POLL_INTERVAL (not
    every poll: listing it is not free, and the script shares the cores):
    whether a file was ever seen in it and the largest total size seen. A
    file made and removed between two looks is missed, so both are lower
    bounds."""

    def __init__(self, directory):
        self.directory = directory
        self.seen_files = 0
        self.peak = 0
        self.next = 0.0

    def poll(self, now, force=False):
        if not force and now < self.next:
            return
        self.next = now + QUEUE_POLL_INTERVAL
        n, total = bytes_under(self.directory)
        self.seen_files = max(self.seen_files, n)
        self.peak = max(self.peak, total)


SEQ_RE = re.compile(rb"c=(\d+) s=(\d+)")


def analyse_outputs(directory, sent_total, copies):
    """Reads every file under `directory` and returns (lost, out_of_order,
    duplicates). Each message should be in `copies` files; within a file,
    per connection, messages must keep their order."""
    unique = 0
    ooo = 0
    dups = 0
    for path in sorted(files_under(directory)):
        seen = {}      # connection -> bytearray of seen sequence numbers
        high = {}      # connection -> highest sequence number so far
        if path.endswith(".zst.tmp"):
            continue   # a compression cut short: its source is still there
        if path.endswith(".zst"):
            data = subprocess.run(["zstdcat", path], capture_output=True, check=True,
                                  timeout=120).stdout
        else:
            with open(path, "rb") as f:
                data = f.read()
        for m in SEQ_RE.finditer(data):
            c = int(m.group(1))
            s = int(m.group(2))
            bits = seen.get(c)
            if bits is None:
                bits = seen[c] = bytearray(max(sent_total, s + 1))
                high[c] = -1
            if s >= len(bits):
                bits.extend(bytearray(s + 1 - len(bits)))
            if bits[s]:
                dups += 1
                continue
            bits[s] = 1
            unique += 1
            if s < high[c]:
                ooo += 1
            else:
                high[c] = s
        del data
    lost = max(0, sent_total * copies - unique)
    return lost, ooo, dups


@dataclasses.dataclass
class RunResult:
    daemon: str
    rate: float = None          # msgs/s
    steady: float = None        # msgs/s between 10% and 90% of the lines
    cpu_per_m: float = None     # CPU s per million messages
    rss_mb: float = None
    lost: int = None
    ooo: int = None
    dups: int = 0
    sent: int = 0
    queue_bytes: float = None   # disk scenarios: bytes written besides the output, per message
    queue_peak_mb: float = None  # disk scenarios: the largest queue directory seen
    note: str = ""
    error: str = ""


def sender_argv(env, sc, ctx, count):
    argv = [os.path.join(env.builddir, "tests/bench/sender"), "--proto", sc.proto,
            "--target", ctx.target, "--count", str(count), "--conns", str(sc.conns),
            "--size", str(MESSAGE_SIZE)]
    if sc.proto == "tcp":
        argv += ["--framing", sc.framing]
    if sc.rate:
        argv += ["--rate", str(sc.rate)]
    if sc.syntax != "rfc5424":
        argv += ["--syntax", sc.syntax]
    return argv


@dataclasses.dataclass
class Watch:
    """What watching the output files saw."""
    lines: int = 0
    last_ns: int = 0           # CLOCK_REALTIME (the sender's clock) of the last new line
    t10: float = None          # monotonic time when 10% of the lines were there
    t90: float = None
    note: str = ""


def watch_output(counter, expected, sender, deadline, lossy, qwatch=None):
    """Polls `counter` until `expected` lines, STALL_SECONDS without a new
    line, or `deadline` (monotonic); and `qwatch`, a QueueDirWatch, now and
    then."""
    w = Watch(last_ns=time.time_ns())
    start = last_change = time.monotonic()
    while True:
        n = counter.poll()
        now = time.monotonic()
        if qwatch:
            qwatch.poll(now)
        if n != w.lines:
            w.lines = n
            last_change = now
            w.last_ns = time.time_ns()
            if w.t10 is None and n >= 0.1 * expected:
                w.t10 = now
            if w.t90 is None and n >= 0.9 * expected:
                w.t90 = now
        if n >= expected:
            return w
        # Before the first line, give the sender time to connect.
        if now - last_change > STALL_SECONDS and (n > 0 or sender.poll() is not None
                                                  or now - start > 2 * STALL_SECONDS):
            if not lossy:
                w.note = f"stopped after {STALL_SECONDS:.0f} s without a new line"
            return w
        if now > deadline:
            w.note = "run timeout"
            return w
        time.sleep(POLL_INTERVAL)


def sender_result(tmp):
    """The sender's JSON line, or None."""
    try:
        with open(os.path.join(tmp, "sender.out")) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def one_run(env, sc, daemon, count):
    """Starts `daemon`, sends `count` messages, measures, stops it, and
    returns (RunResult, config text)."""
    tmp = tempfile.mkdtemp(prefix=f"sluice-bench-{daemon}-", dir=env.tmp_root)
    ctx = RunCtx(tmp, sc, port=0 if sc.proto == "unix" else free_port())
    if "syslog-ng" in env.peers:
        ctx.syslogng_version = env.peers["syslog-ng"].config_version
    res = RunResult(daemon)
    notes = []
    p = sender = None
    try:
        try:
            p, conf_text = start_daemon(daemon, sc, ctx, env)
        except DaemonFailed as e:
            res.error = str(e)
            return res, make_config(daemon, sc, ctx)
        copies = sc.outputs if daemon != "ceiling" else 1
        counter = LineCounter(ctx.outdir)
        qwatch = QueueDirWatch(ctx.statedir) if sc.disk else None
        cpu0 = proc_cpu_seconds(p.pid)
        wchar0 = proc_wchar(p.pid)
        started_ns = time.time_ns()
        with open(os.path.join(tmp, "sender.out"), "wb") as out, \
                open(os.path.join(tmp, "sender.log"), "wb") as err:
            sender = subprocess.Popen(sender_argv(env, sc, ctx, count), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=err)
        _live.append(sender)
        deadline = time.monotonic() + MIN_RUN_TIMEOUT + count / RUN_TIMEOUT_RATE
        w = watch_output(counter, count * copies, sender, deadline, sc.lossy, qwatch)
        counter.close()
        cpu1 = proc_cpu_seconds(p.pid)
        wchar1 = proc_wchar(p.pid)
        res.rss_mb = proc_hwm_mb(p.pid)
        if qwatch:
            qwatch.poll(time.monotonic(), force=True)
            res.queue_peak_mb = qwatch.peak / (1 << 20)
            if wchar0 is not None and wchar1 is not None:
                # What it wrote besides the output files is its queue (and
                # a few log lines).
                out_bytes = bytes_under(ctx.outdir)[1]
                res.queue_bytes = max(0, wchar1 - wchar0 - out_bytes) / max(1, w.lines / copies)
        notes.append(w.note)
        # Everything is on disk, or nothing moves: the sender is done or stuck.
        try:
            sender.wait(10)
        except subprocess.TimeoutExpired:
            stop(sender, timeout=2)
            notes.append("sender killed")
        if sender in _live:
            _live.remove(sender)
        if sender.returncode not in (0, None, -signal.SIGTERM):
            notes.append(f"sender exit status {sender.returncode}: {tail(os.path.join(tmp, 'sender.log'), 1)}")
        sj = sender_result(tmp)
        if sj is None:
            sj = {"sent": count, "first_ns": started_ns, "last_ns": w.last_ns, "errors": 0}
            notes.append(f"no sender result: assumed {count:,} sent from its start")
        res.sent = int(sj["sent"])
        if sj.get("errors"):
            notes.append(f"sender errors: {sj['errors']}")
        first_ns = int(sj["first_ns"])
        span = ((int(sj["last_ns"]) if sc.rate else w.last_ns) - first_ns) / 1e9
        if span > 0:
            res.rate = (res.sent if sc.rate else w.lines / copies) / span
        if w.t10 is not None and w.t90 is not None and w.t90 > w.t10 and not sc.rate:
            res.steady = 0.8 * count / (w.t90 - w.t10)
        res.cpu_per_m = (cpu1 - cpu0) / max(1, res.sent) * 1e6
        if qwatch and daemon == "rsyslog" and not qwatch.seen_files and not res.queue_bytes:
            # Its queue kept up from memory: a figure of its DA queue all the
            # same (that is how it works), but the reader must know.
            notes.append("its disk-assisted queue never spilled: nothing was written to disk")
        if qwatch and daemon in DISK_WRITES_ALL and not qwatch.seen_files:
            # A sluiced without the disk queue may take policy "disk" and
            # run from memory: that would be tcp-raw-k1-lf again, under
            # another name. Such a run is a failure, not a figure.
            res.error = (f"no file ever appeared under {ctx.statedir}: its disk queue was "
                         "not in use (a build without it?); not counted")
        if daemon == "sluiced":
            stats = sluiced_stats(env, ctx)
            drops = sluiced_kernel_drops(stats)
            if drops:
                notes.append(f"kernel_drops {drops:,}")
            problem = sluiced_disk_problem(stats) if sc.disk else ""
            if problem and not res.error:
                res.error = f"not a disk-queue run: {problem}; not counted"
            elif sc.disk and not problem:
                read_back = sum(o["disk"].get("read_from_disk", 0) for o in stats["outputs"].values())
                if read_back:
                    # The worker fell behind the queue's memory part.
                    notes.append(f"read_from_disk {read_back:,}")
        status = stop(p)
        p = None
        if status is None:
            notes.append("did not stop on SIGTERM: killed")
        elif status != 0:
            notes.append(f"exit status {status}")
        res.lost, res.ooo, res.dups = analyse_outputs(ctx.outdir, res.sent, copies)
        return res, conf_text
    finally:
        res.note = "; ".join(n for n in notes if n)
        if sender is not None and sender.poll() is None:
            stop(sender, timeout=2)
        if p is not None:
            stop(p)
        if env.keep_tmp:
            log(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# }===

# {=== the UDP receive buffer


def set_rmem_max(want):
    """Raises net.core.rmem_max to `want` when it is lower and we may.
    Returns (old value, value now) or (None, None) when it cannot be read."""
    path = "/proc/sys/net/core/rmem_max"
    try:
        with open(path) as f:
            old = int(f.read())
    except OSError:
        return None, None
    if old < want:
        try:
            with open(path, "w") as f:
                f.write(str(want))
        except OSError:
            pass
    with open(path) as f:
        return old, int(f.read())


def restore_rmem_max(old):
    try:
        with open("/proc/sys/net/core/rmem_max", "w") as f:
            f.write(str(old))
    except OSError:
        pass


def effective_rcvbuf(want):
    """What the kernel gives a socket that asks for `want` bytes of
    SO_RCVBUF (it doubles the request for bookkeeping, capped by rmem_max)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
        return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


# }===

# {=== report


def median(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarize(results):
    """Medians of a daemon's runs (errors left out)."""
    ok = [r for r in results if not r.error]
    if not ok:
        return None
    return {
        "rate": median(r.rate for r in ok),
        "steady": median(r.steady for r in ok),
        "cpu": median(r.cpu_per_m for r in ok),
        "rss": median(r.rss_mb for r in ok),
        "lost": median(r.lost for r in ok),
        "lost_max": max((r.lost or 0) for r in ok),
        "ooo": median(r.ooo for r in ok),
        "ooo_max": max((r.ooo or 0) for r in ok),
        "dups_max": max(r.dups for r in ok),
        "queue_bytes": median(r.queue_bytes for r in ok),
        "queue_peak_mb": median(r.queue_peak_mb for r in ok),
        "runs": len(ok),
    }


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×"


def with_max(med, mx):
    s = fmt_int(med)
    if med is not None and mx != med:
        s += f" (max {mx:,})"
    return s


def scenario_table(sc, per_daemon, count):
    out = [f"### {sc.name}: {sc.title}", ""]
    extra = f", sender rate {sc.rate:,} msgs/s (msgs/s below is the achieved send rate)" if sc.rate else ""
    out.append(f"{count:,} messages of {MESSAGE_SIZE} bytes, {sc.conns} connection(s){extra}; "
               f"medians of the runs.")
    out.append("")
    out.append("| daemon | msgs/s | msgs/s 10–90% | CPU s / M msgs | peak RSS MB | lost | out-of-order |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    sums = {}
    notes = []
    for d in sc.daemons:
        if d not in per_daemon:
            continue
        s = summarize(per_daemon[d])
        sums[d] = s
        if s is None:
            err = next((r.error for r in per_daemon[d] if r.error), "failed")
            out.append(f"| {d} | failed | | | | | |")
            notes.append(f"{d}: {err}")
            continue
        out.append(f"| {d} | {fmt_int(s['rate'])} | {fmt_int(s['steady'])} | {fmt_float(s['cpu'])} | "
                   f"{fmt_float(s['rss'], 1)} | "
                   f"{with_max(s['lost'], s['lost_max'])} | {with_max(s['ooo'], s['ooo_max'])} |")
        if s["dups_max"]:
            notes.append(f"{d}: up to {s['dups_max']:,} duplicated messages")
        for r in per_daemon[d]:
            if r.error:
                notes.append(f"{d}: a run failed: {r.error}")
            elif r.note:
                notes.append(f"{d}: {r.note}")
    sl = sums.get("sluiced")
    if sl:
        for other in ("rsyslog", "syslog-ng", "ceiling"):
            o = sums.get(other)
            if o:
                out.append(f"| sluiced/{other} | {ratio(sl['rate'], o['rate'])} | "
                           f"{ratio(sl['steady'], o['steady'])} | {ratio(sl['cpu'], o['cpu'])} | "
                           f"{ratio(sl['rss'], o['rss'])} | | |")
    out.append("")
    runs_line = []
    for d in sc.daemons:
        if d in per_daemon:
            runs_line.append(f"{d} " + ", ".join(fmt_int(r.rate) if not r.error else "failed"
                                                 for r in per_daemon[d]))
    out.append("msgs/s of every run: " + "; ".join(runs_line) + ".")
    q = [f"{d} {fmt_int(s['queue_bytes'])} B/msg, {fmt_float(s['queue_peak_mb'], 1)} MB"
         for d, s in sums.items() if s]
    if sc.disk and q:
        out += ["", "The disk queues (medians): bytes written besides the output file per message "
                "(/proc/PID/io wchar), and the largest queue directory seen (looked at every "
                f"{QUEUE_POLL_INTERVAL * 1000:.0f} ms): " + "; ".join(q) + "."]
    if notes:
        out.append("")
        out += [f"- {n}" for n in sorted(set(notes))]
    out.append("")
    return out, sums


def comparison_table(cmp, all_results):
    """The table of a Comparison: both scenarios' sluiced medians and the
    ratio subject/base; None unless both ran."""
    rows = []
    for name in (cmp.subject, cmp.base):
        if name not in all_results or "sluiced" not in all_results[name]:
            return None
        rows.append((name, all_results[name]["sluiced"], summarize(all_results[name]["sluiced"])))
    (sub_name, sub_runs, sub), (base_name, base_runs, base) = rows
    goal = (f"Target: {cmp.label} msgs/s >= {cmp.min_rate_ratio:.2f}." if cmp.min_rate_ratio
            else "No target: the figure is reported.")
    out = [f"### {cmp.subject} vs {cmp.base}: {cmp.label}", "",
           f"sluiced alone, the same sender and output; the runs of the two scenarios "
           f"alternate. {goal}", "",
           "| route | msgs/s | msgs/s 10–90% | CPU s / M msgs | peak RSS MB |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for name, sm in ((sub_name, sub), (base_name, base)):
        title = next(s.title for s in SCENARIOS if s.name == name).split(":")[0]
        if sm is None:
            out.append(f"| {title} ({name}) | failed | | | |")
        else:
            out.append(f"| {title} ({name}) | {fmt_int(sm['rate'])} | {fmt_int(sm['steady'])} | "
                       f"{fmt_float(sm['cpu'])} | {fmt_float(sm['rss'], 1)} |")
    if sub and base:
        out.append(f"| {cmp.label} | {ratio(sub['rate'], base['rate'])} | "
                   f"{ratio(sub['steady'], base['steady'])} | {ratio(sub['cpu'], base['cpu'])} | "
                   f"{ratio(sub['rss'], base['rss'])} |")
    out.append("")
    out.append("msgs/s of every run: " + "; ".join(
        f"{name} " + ", ".join(fmt_int(r.rate) if not r.error else "failed" for r in runs)
        for name, runs, _ in rows) + ".")
    if sub and base:
        out += ["", f"Cost per message of {cmp.subject} over {cmp.base}: "
                + per_message_cost(sub, base) + "."]
    out.append("")
    return out


def per_message_cost(sub, base):
    """What a message costs more in `sub` than in `base` (two summaries):
    wall time from the rates, CPU from CPU s / M msgs (= µs per message)."""
    parts = []
    if sub["rate"] and base["rate"]:
        parts.append(f"{1e6 / sub['rate'] - 1e6 / base['rate']:+.2f} µs of wall time "
                     f"({1e6 / sub['rate']:.2f} against {1e6 / base['rate']:.2f})")
    if sub["cpu"] is not None and base["cpu"] is not None:
        parts.append(f"{sub['cpu'] - base['cpu']:+.2f} µs of CPU "
                     f"({sub['cpu']:.2f} against {base['cpu']:.2f})")
    return ", ".join(parts) or "—"


def evaluate_targets(all_sums):
    """PASS / MISS / SKIP lines for the lead's targets, from the medians
    (the last one from every run)."""
    lines = []

    def target(ok, label, detail):
        if ok is None:
            lines.append(f"SKIP {label} (not measured in this run)")
        else:
            lines.append(f"{'PASS' if ok else 'MISS'} {label}: {detail}")

    def get(scn, d, key):
        s = all_sums.get(scn, {}).get(d)
        return s[key] if s else None

    def failed(*scns):
        """Whether sluiced ran in one of `scns` and failed every run there:
        such a target is missed, not skipped."""
        return any("sluiced" in all_sums.get(n, {}) and all_sums[n]["sluiced"] is None for n in scns)

    def faster_peer(scn):
        rates = [(get(scn, p, "rate"), p) for p in PEERS if get(scn, p, "rate") is not None]
        return max(rates) if rates else (None, None)

    for scn in ("tcp-raw-k1-lf", "tcp-raw-k1-octet", "tcp-raw-k4-lf", "tcp-raw-k4-octet"):
        sl = get(scn, "sluiced", "rate")
        peer_rate, peer = faster_peer(scn)
        cpu_s, cpu_r = get(scn, "sluiced", "cpu"), get(scn, "rsyslog", "cpu")
        ok = None
        if sl is not None and peer_rate and cpu_s is not None and cpu_r:
            ok = sl >= 2 * peer_rate and cpu_s <= cpu_r / 3
        target(ok, f"{scn}: >= 2x the faster peer at <= 1/3 rsyslog's CPU/msg",
               f"sluiced {fmt_int(sl)} msgs/s vs {peer} {fmt_int(peer_rate)} "
               f"({ratio(sl, peer_rate)}), CPU/msg {ratio(cpu_s, cpu_r)} of rsyslog's")
    scn = "tcp-traditional"
    sl = get(scn, "sluiced", "rate")
    peer_rate, peer = faster_peer(scn)
    target(None if sl is None or not peer_rate else sl >= 2 * peer_rate,
           f"{scn}: >= 2x the faster peer",
           f"sluiced {fmt_int(sl)} vs {peer} {fmt_int(peer_rate)} ({ratio(sl, peer_rate)})")
    scn = "udp-200k"
    sl = get(scn, "sluiced", "lost")
    peers_lost = [get(scn, p, "lost") for p in PEERS if get(scn, p, "lost") is not None]
    target(None if sl is None or not peers_lost else sl <= min(peers_lost),
           f"{scn}: loses no more than either peer",
           f"sluiced {fmt_int(sl)}, " + ", ".join(f"{p} {fmt_int(get(scn, p, 'lost'))}" for p in PEERS))
    fan = get("fanout-3", "sluiced", "rate")
    single = get("tcp-raw-k1-lf", "sluiced", "rate")
    target(None if fan is None or not single else fan >= 0.6 * single,
           "fanout-3: >= 60% of the single-output rate (tcp-raw-k1-lf)",
           f"{fmt_int(fan)} vs {fmt_int(single)} msgs/s ({ratio(fan, single)})")
    rss = [s["sluiced"]["rss"] for s in all_sums.values() if s.get("sluiced") and s["sluiced"]["rss"]]
    scn = "tcp-disk-none"
    sl = get(scn, "sluiced", "rate")
    peer_rate, peer = faster_peer(scn)
    target(False if failed(scn) else None if sl is None or not peer_rate else sl >= 2 * peer_rate,
           f"{scn}: >= 2x the faster peer (rsyslog DA queue, syslog-ng reliable disk-buffer)",
           f"sluiced {fmt_int(sl) if not failed(scn) else 'failed'} vs "
           + (f"{peer} {fmt_int(peer_rate)} ({ratio(sl, peer_rate)})" if peer else "no peer measured"))
    for cmp in COMPARISONS:
        sub, base = get(cmp.subject, "sluiced", "rate"), get(cmp.base, "sluiced", "rate")
        cpu_sub, cpu_base = get(cmp.subject, "sluiced", "cpu"), get(cmp.base, "sluiced", "cpu")
        if cmp.min_rate_ratio is None:
            if failed(cmp.subject, cmp.base) or (sub is not None and base):
                lines.append(f"INFO {cmp.subject} against {cmp.base} ({cmp.label}, no target): "
                             + ("sluiced failed (see its table)" if failed(cmp.subject, cmp.base) else
                                f"{fmt_int(sub)} vs {fmt_int(base)} msgs/s ({ratio(sub, base)}), "
                                f"CPU/msg {ratio(cpu_sub, cpu_base)}"))
            continue
        if failed(cmp.subject, cmp.base):
            target(False, f"{cmp.subject}: >= {cmp.min_rate_ratio:.2f} of {cmp.base}'s rate ({cmp.label})",
                   "sluiced failed (see its table)")
            continue
        target(None if sub is None or not base else sub >= cmp.min_rate_ratio * base,
               f"{cmp.subject}: >= {cmp.min_rate_ratio:.2f} of {cmp.base}'s rate ({cmp.label})",
               f"{fmt_int(sub)} vs {fmt_int(base)} msgs/s ({ratio(sub, base)}), "
               f"CPU/msg {ratio(cpu_sub, cpu_base)}")
    target(max(rss) < 20 if rss else None, "peak RSS < 20 MB",
           f"sluiced's largest median VmHWM {fmt_float(max(rss) if rss else None, 1)} MB")
    bad = []
    checked = 0
    for scn, sums in all_sums.items():
        sc = next(s for s in SCENARIOS if s.name == scn)
        s = sums.get("sluiced")
        if sc.lossy or not s:
            continue
        checked += 1
        if s["lost_max"] or s["ooo_max"]:
            bad.append(f"{scn} lost {s['lost_max']:,} out-of-order {s['ooo_max']:,}")
    target(not bad if checked else None, "no lost or reordered message in block-policy runs",
           f"every run of {checked} scenarios" + (": " + "; ".join(bad) if bad else ""))
    return lines


def filesystem_of(path):
    """(fstype, device, mount point) of the mount that holds `path`, from
    /proc/mounts (the longest mount point that is a prefix of it)."""
    best = ("unknown", "unknown", "")
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype = line.split()[:3]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[2]):
                    best = (fstype, dev, mnt)
    except OSError:
        pass
    return best


def machine_info():
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""
    cpu = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.M)
    return [
        f"- nproc: {os.cpu_count()}",
        f"- CPU: {cpu.group(1) if cpu else 'unknown'}",
        f"- memory: {int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "- memory: unknown",
        f"- kernel: {platform.release()}",
        f"- Debian: {read('/etc/debian_version').strip() or 'unknown'}",
        f"- Python: {platform.python_version()}",
    ]


def versions(env):
    out = []
    v = run_text([os.path.join(env.builddir, "core/sluiced"), "--version"]).strip().splitlines()
    out.append(f"- sluiced: {v[0] if v else 'unknown'}")
    if "rsyslog" in env.peers:
        p = env.peers["rsyslog"]
        v = run_text([p.binary, "-v"], env=peer_env(p)).strip().splitlines()
        first = v[0].split(" compiled with")[0].strip() if v else "unknown"
        out.append(f"- rsyslog: {first} ({p.origin})")
    if "syslog-ng" in env.peers:
        p = env.peers["syslog-ng"]
        v = run_text([p.binary, "--version"] + p.args, env=peer_env(p)).strip().splitlines()
        rev = next((line for line in v if line.startswith("Revision:")), "")
        out.append(f"- syslog-ng: {v[0] if v else 'unknown'} {rev} ({p.origin})")
    return out


def write_report(env, args, all_results, configs, started, elapsed):
    lines = ["# sluice benchmark results", ""]
    lines.append(f"Produced by `{env.command}` on {started:%Y-%m-%d %H:%M %Z}, "
                 f"in {elapsed / 60:.1f} minutes.")
    if args.quick:
        lines.append("")
        lines.append(f"This is a **--quick** run: {args.count:,} messages, {args.runs} run(s) per "
                     "daemon and scenario, so the numbers are rougher than a full run's.")
    lines += ["", "How to read it: msgs/s counts from the sender's first send to the N-th line "
              "on disk (for UDP at a fixed rate it is the send rate, and `lost` is the result); "
              "msgs/s 10–90% is the rate between the moments 10% and 90% of the lines were on "
              "disk, without start-up and the last flush; CPU is the daemon's utime+stime "
              "(all threads) over the run per million messages; peak RSS is VmHWM; lost and "
              "out-of-order are parsed from the c=/s= tokens of the messages on disk, per "
              "connection, after the daemon stopped. The sender, the daemon and this script "
              "share the machine's cores. The ceiling is a program that only copies the bytes it "
              "receives into a file: about the most any daemon could do here. Single runs vary "
              "by 10–30% on a small shared machine; compare medians, and mind the runs listed "
              "under each table. Before the first scenario every daemon gets one unrecorded "
              "warm-up run, and the order of the daemons rotates from run to run.", ""]
    lines += ["## Results", ""]
    all_sums = {}
    for sc in SCENARIOS:
        if sc.name not in all_results:
            continue
        tbl, sums = scenario_table(sc, all_results[sc.name], args.count)
        all_sums[sc.name] = sums
        lines += tbl
        for cmp in COMPARISONS:
            # after the later of the pair's two tables
            names = [s.name for s in SCENARIOS if s.name in (cmp.subject, cmp.base)]
            if sc.name == names[-1]:
                lines += comparison_table(cmp, all_results) or []
    lines += ["## Targets", "", "```"] + evaluate_targets(all_sums) + ["```", ""]
    lines += ["## Machine", ""] + machine_info()
    if env.rmem:
        lines.append(f"- UDP receive buffer: {env.rmem}")
    if env.queue_fs:
        lines.append(f"- disk queues: {env.queue_fs}")
    lines += ["", "## Versions", ""] + versions(env)
    lines += ["", "## Configs", "",
              "Paths, ports and temporary directories are those of one run; every run "
              "of a scenario used the same config with its own directory and port.", ""]
    for sc in SCENARIOS:
        for d in sc.daemons:
            text = configs.get((sc.name, d))
            if not text:
                continue
            lang = "lua" if d == "sluiced" else ""
            lines += [f"### {sc.name}, {d}", "", f"```{lang}", text.rstrip(), "```", ""]
    return "\n".join(lines) + "\n", all_sums


# }===

# {=== main


@dataclasses.dataclass
class Env:
    builddir: str
    peers: dict
    tmp_root: str
    keep_tmp: bool
    command: str
    rmem: str = ""
    queue_fs: str = ""     # where the disk scenarios' queues are, for the report


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Benchmark sluiced against rsyslog, syslog-ng and a ceiling.")
    ap.add_argument("--builddir", required=True, help="the build tree (with core/sluiced, tests/bench/sender)")
    ap.add_argument("--runs", type=int, help=f"runs per daemon and scenario (default {DEFAULT_RUNS}); medians")
    ap.add_argument("--count", type=int, help=f"messages per run (default {DEFAULT_COUNT:,})")
    ap.add_argument("--only", help="scenarios to run, comma-separated: " + ",".join(s.name for s in SCENARIOS)
                    + "; or a comparison's name for both its scenarios: "
                    + ", ".join(f"{c.name} ({c.subject},{c.base})" for c in COMPARISONS)
                    + "; or a group: " + ", ".join(f"{g} ({','.join(m)})" for g, m in GROUPS.items()))
    ap.add_argument("--daemons", default=",".join(DAEMONS), help="daemons to run (default: all)")
    ap.add_argument("--quick", action="store_true",
                    help=f"N={QUICK_COUNT:,}, runs=1 (unless --count/--runs say otherwise)")
    ap.add_argument("--out", help="the report (default: tests/bench/RESULTS.md in the source tree, "
                    "RESULTS-partial.md for --only or --quick)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep each run's directory (for a post-mortem)")
    args = ap.parse_args(argv)
    if args.count is None:
        args.count = QUICK_COUNT if args.quick else DEFAULT_COUNT
    if args.runs is None:
        args.runs = 1 if args.quick else DEFAULT_RUNS
    if args.count < 1 or args.runs < 1:
        ap.error("--count and --runs must be positive")
    names = {s.name for s in SCENARIOS}
    groups = {c.name: (c.subject, c.base) for c in COMPARISONS}
    groups.update(GROUPS)
    only = set()
    for n in (args.only or "").split(","):
        n = n.strip()
        only.update(groups.get(n, (n,) if n else ()))
    args.scenarios = [s for s in SCENARIOS if not args.only or s.name in only]
    bad = sorted(n for n in only if n not in names)
    if bad:
        ap.error(f"unknown scenario(s) {', '.join(bad)}; known: {', '.join(sorted(names))}, "
                 f"or a comparison or group: {', '.join(sorted(groups))}")
    args.daemon_list = [d.strip() for d in args.daemons.split(",") if d.strip()]
    bad = [d for d in args.daemon_list if d not in DAEMONS]
    if bad:
        ap.error(f"unknown daemon(s) {', '.join(bad)}; known: {', '.join(DAEMONS)}")
    if args.out is None:
        # A partial run (--only, --quick) would replace the whole table of a full
        # one: it writes beside it, for a person to copy what they measured.
        partial = args.only or args.quick
        args.out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "RESULTS-partial.md" if partial else "RESULTS.md")
    args.builddir = os.path.abspath(args.builddir)
    return args


def check_builddir(b, daemons):
    need = ["core/sluiced", "core/sluicectl", "plugins/file/.libs/file.so", "tests/bench/sender"]
    if "ceiling" in daemons:
        need.append("tests/bench/ceiling")
    missing = [n for n in need if not os.access(os.path.join(b, n), os.X_OK if "/.libs/" not in n else os.R_OK)]
    if missing:
        sys.exit(f"bench: missing in {b}: {', '.join(missing)} "
                 "(make core/sluiced core/sluicectl plugins/file/file.la tests/bench/sender tests/bench/ceiling)")


def run_batches(scenarios):
    """The scenarios in order, as lists run together: the two of a
    Comparison (when both are selected) form one batch at the place of the
    first, every other scenario is a batch of its own."""
    batches, done = [], set()
    names = {s.name for s in scenarios}
    for sc in scenarios:
        if sc.name in done:
            continue
        # Comparisons that share a scenario (disk-none and disk-batch share
        # tcp-raw-k1-lf) make one batch of all of theirs.
        group = {sc.name}
        grew = True
        while grew:
            grew = False
            for cmp in COMPARISONS:
                pair = {cmp.subject, cmp.base}
                if pair & group and pair <= names and not pair <= group:
                    group |= pair
                    grew = True
        batch = [s for s in scenarios if s.name in group]
        done.update(s.name for s in batch)
        batches.append(batch)
    return batches


def warm_up(env, args, peers):
    """One short unrecorded run per daemon, so that the first measured run
    does not pay for cold caches (binaries, libraries, page cache)."""
    sc = args.scenarios[0]
    for d in sc.daemons:
        if d in args.daemon_list and (d not in PEERS or d in peers):
            res, _ = one_run(env, sc, d, min(args.count, WARM_UP_COUNT))
            log(f"bench: warm-up {sc.name} {d}: {res.error or fmt_int(res.rate) + ' msgs/s'}")


def main(argv):
    args = parse_args(argv)
    used = {d for sc in args.scenarios for d in sc.daemons}
    check_builddir(args.builddir, [d for d in args.daemon_list if d in used])
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    peers = setup_peers([d for d in args.daemon_list if d in PEERS and d in used])
    tmp_root = tempfile.mkdtemp(prefix="sluice-bench-")
    env = Env(args.builddir, peers, tmp_root, args.keep_tmp,
              "python3 tests/bench/bench.py " + " ".join(shlex.quote(a) for a in argv))
    old_rmem = None
    if any(s.proto == "udp" for s in args.scenarios):
        old_rmem, now_rmem = set_rmem_max(UDP_RCVBUF)
        if now_rmem is not None:
            eff = effective_rcvbuf(UDP_RCVBUF)
            env.rmem = (f"net.core.rmem_max {now_rmem:,} (was {old_rmem:,}); a socket asking for "
                        f"SO_RCVBUF {UDP_RCVBUF:,} gets {eff:,} (the kernel doubles it), i.e. "
                        f"{eff // 2:,} usable")
            log(f"bench: {env.rmem}")
    if any(s.disk for s in args.scenarios):
        fstype, dev, mnt = filesystem_of(tmp_root)
        env.queue_fs = f"in the run directories under {tmp_root}: {fstype} on {dev} (mounted on {mnt})"
        if fstype in ("tmpfs", "ramfs"):
            env.queue_fs += "; a file system in memory, where fdatasync does nothing: set TMPDIR"
            log(f"bench: warning: the disk queues are on {fstype}: sync = \"batch\" costs nothing "
                "there; set TMPDIR to a directory on a disk")
        log(f"bench: disk queues {env.queue_fs}")
    all_results = {}
    configs = {}
    try:
        warm_up(env, args, peers)
        for batch in run_batches(args.scenarios):
            daemons_of = {sc.name: [d for d in sc.daemons if d in args.daemon_list
                                    and (d not in PEERS or d in peers)] for sc in batch}
            for sc in batch:
                all_results[sc.name] = {d: [] for d in daemons_of[sc.name]}
            for run in range(args.runs):
                # The scenarios of a comparison take turns, run by run.
                for sc in batch[run % len(batch):] + batch[:run % len(batch)]:
                    daemons = daemons_of[sc.name]
                    if not daemons:
                        continue
                    # Each run starts with another daemon, so none is always
                    # first after a scenario change.
                    for d in daemons[run % len(daemons):] + daemons[:run % len(daemons)]:
                        res, conf = one_run(env, sc, d, args.count)
                        if conf and (sc.name, d) not in configs:
                            configs[(sc.name, d)] = conf
                        all_results[sc.name][d].append(res)
                        what = res.error or (f"{fmt_int(res.rate)} msgs/s, {fmt_float(res.cpu_per_m)} CPU s/M, "
                                             f"{fmt_float(res.rss_mb, 1)} MB, lost {res.lost}, ooo {res.ooo}"
                                             + (f" [{res.note}]" if res.note else ""))
                        log(f"bench: {sc.name} run {run + 1}/{args.runs} {d}: {what}")
        for sc in args.scenarios:
            daemons = list(all_results.get(sc.name, {}))
            for d in daemons:
                if d == "ceiling":
                    configs[(sc.name, d)] = ("ceiling --proto " + sc.proto + " --listen ADDR --out FILE"
                                             "  (copies the bytes it receives; datagrams get a newline)")
    finally:
        stop_all()
        if old_rmem is not None:
            restore_rmem_max(old_rmem)
        if not args.keep_tmp:
            shutil.rmtree(tmp_root, ignore_errors=True)
    report, all_sums = write_report(env, args, all_results, configs, started, time.monotonic() - t0)
    with open(args.out, "w") as f:
        f.write(report)
    # stdout: the tables and targets (the configs are in the file)
    print(report.split("\n## Machine")[0])
    log(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
