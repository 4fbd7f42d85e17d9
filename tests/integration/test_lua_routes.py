#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Route functions in Lua (issue 4): `where`, `transform`, `drop`, `on_error`
and the `sluice` library, against the real daemon with real clients.

Every test writes its config into the daemon's temporary directory, sends
over TCP (Python sockets or util-linux logger) or the unix socket (logger),
waits until the daemon has routed and written everything it received
(settle()), and then compares each output file with exactly what the spec
says it must hold. On a mismatch the message lists every line of every
output file, and the harness prints the daemon's stderr.

Stats read here (the spec's names): top-level "discarded" (messages a
drop route took) and "unrouted", and "routes": one object per route in
config order, {"line": L, "errors": E, "discarded": D}.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, TempDir, check, lf_frames, sluiced, tcp_send  # noqa: E402

NOBODY = 65534   # the uid/gid a root test run sends from, to see a uid ~= 0


# {=== helpers

def rfc5424(pri, app, msg, sd="-", host="lrhost", procid="-", msgid="-"):
    """One RFC 5424 message (bytes, no framing)."""
    return f"<{pri}>1 2026-11-22T10:00:00.000000Z {host} {app} {procid} {msgid} {sd} {msg}".encode()


def pri(facility, severity):
    return facility * 8 + severity


USER, AUTH, LOCAL0 = 1, 4, 16
EMERG, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG = 0, 2, 3, 4, 5, 6, 7


def conf_line(d, marker):
    """The 1-based line of the daemon's config file (as written, with any
    prefix the harness added) holding marker."""
    with open(d.conf_path) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(f"no line with {marker!r} in {d.conf_path}")


def contents(d, *rels):
    """Every line of the given output files, for assertion messages."""
    out = []
    for rel in rels:
        lines = d.lines(rel)
        out.append(f"{rel}: {len(lines)} line(s)")
        out += [f"  {rel}: {line!r}" for line in lines]
    return out


def log_lines(d, *words):
    """The lines of the daemon's stderr that contain every one of words."""
    return [line for line in d.log().splitlines() if all(w in line for w in words)]


def settle(d, received, timeout=15.0):
    """Waits until the inputs have received the given numbers of messages
    ({input: n}) and every output has written all it was handed (enqueued ==
    written, empty queue), the same over two looks 0.3 s apart; returns
    those stats. After this, nothing more will reach an output file."""
    def quiet(s):
        return (all(s["inputs"][name]["received"] >= n for name, n in received.items())
                and all(o["enqueued"] == o["written"] + o["failed"] and o["queue_depth"] == 0
                        for o in s["outputs"].values()))

    deadline = time.monotonic() + timeout
    while True:
        s1 = d.wait_stat(quiet, max(0.5, deadline - time.monotonic()),
                         f"inputs received {received} and every output written out")
        time.sleep(0.3)
        s2 = d.stats()
        same = all(s1["outputs"][k]["enqueued"] == s2["outputs"][k]["enqueued"]
                   for k in s1["outputs"])
        if same and quiet(s2):
            for name, n in received.items():
                got = s2["inputs"][name]["received"]
                check(got == n, f"input {name} received {got} messages, the test sent {n}",
                      f"stats: {json.dumps(s2)}")
            return s2
        if time.monotonic() > deadline:
            raise AssertionError(f"outputs still moving after {timeout:g} s: {json.dumps(s2)}")


def route_stats(s, n):
    routes = s.get("routes")
    check(isinstance(routes, list) and len(routes) == n,
          f"stats 'routes' is {routes!r}, expected a list of {n} objects (one per route)",
          f"stats: {json.dumps(s)}")
    for i, r in enumerate(routes):
        check(isinstance(r, dict) and all(isinstance(r.get(k), int)
                                          for k in ("line", "errors", "discarded")),
              f"stats routes[{i}] is {r!r}, expected {{'line': L, 'errors': E, 'discarded': D}}")
    return routes


def expect_counts(d, s, *, routes=None, discarded=0, unrouted=0):
    """Checks the top-level counters and, for each (index, line, errors,
    discarded) in routes, that route's object."""
    check(s.get("discarded") == discarded,
          f"stats discarded is {s.get('discarded')!r}, expected {discarded}", f"stats: {json.dumps(s)}")
    check(s.get("unrouted") == unrouted,
          f"stats unrouted is {s.get('unrouted')!r}, expected {unrouted}", f"stats: {json.dumps(s)}")
    if routes is not None:
        got = route_stats(s, len(routes))
        for i, (line, errors, disc) in enumerate(routes):
            want = {"line": line, "errors": errors, "discarded": disc}
            have = {k: got[i][k] for k in want}
            check(have == want, f"stats routes[{i}] is {got[i]}, expected {want}",
                  f"config: {d.conf_path}", f"stats: {json.dumps(s)}")


def need_logger():
    if sluicetest.which("logger") is None:
        raise Skip("util-linux logger is not installed")


def logger(args, msg, **kw):
    """Runs util-linux logger with args and msg (kw: user=, group= to send
    as someone else); fails the test if it does not exit 0."""
    cmd = ["logger", "--socket-errors=on"] + args + ["--", msg]
    r = sluicetest.run(cmd, **kw)
    check(r.returncode == 0, f"{cmd} exited {r.returncode}", f"stderr: {r.stderr!r}")


def msgs_of(objs):
    return sorted(o.get("msg") for o in objs)
# }===


# {=== (a) where + transform to two outputs; every message to a third

CONFIG_A = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local alerts = output "alerts" { type = "file", path = "alerts.json", format = "json" }
local archive = output "archive" { type = "file", path = "archive.log", format = "raw" }
local all = output "all" { type = "file", path = "all.log", format = "raw" }

local redact = function(m)
  m.msg = m.msg:gsub("password=%S+", "password=***")      -- rewrite; other outputs keep the original
end
route { where = function(m) return m.severity <= sluice.severity.warning
                            and m.sd["origin@48577"] and m.sd["origin@48577"].ip end,
        transform = redact, to = { alerts, archive } }
route { to = all }  -- after the transform: it still gets the original
"""

SD_IP = '[origin@48577 ip="192.0.2.7"]'


@sluicetest.timeout(60)
def test_where_transform_to_two_outputs():
    """The issue's first example: warning or worse with origin@48577's ip
    reaches alerts and archive with the password redacted; `all` gets every
    message as it was sent."""
    # (raw line, redacted msg or None when it must not reach alerts/archive)
    cases = [
        (rfc5424(pri(USER, WARNING), "app", "w1 login failed user=bob password=hunter2 from x", SD_IP),
         "w1 login failed user=bob password=*** from x"),
        (rfc5424(pri(LOCAL0, EMERG), "app", "w2 password=abc and password=def end",
                 '[meta@1 a="b"][origin@48577 ip="192.0.2.8" software="s"]'),
         "w2 password=*** and password=*** end"),
        (rfc5424(pri(AUTH, ERR), "app", "w3 disk almost full", SD_IP),
         "w3 disk almost full"),
        (rfc5424(pri(USER, INFO), "app", "n1 info password=infopw", SD_IP), None),
        (rfc5424(pri(USER, NOTICE), "app", "n2 notice password=noticepw", SD_IP), None),
        (rfc5424(pri(USER, DEBUG), "app", "n3 debug password=debugpw", SD_IP), None),
        (rfc5424(pri(USER, WARNING), "app", "n4 no sd password=nosdpw"), None),
        (rfc5424(pri(USER, WARNING), "app", "n5 no ip password=noippw",
                 '[origin@48577 software="s"]'), None),
        (rfc5424(pri(USER, CRIT), "app", "n6 other sd-id password=otherpw",
                 '[other@1 ip="192.0.2.9"]'), None),
        (b"<10>Nov 22 10:00:00 lrhost app[1]: n7 rfc3164 crit password=bsdpw", None),
        (rfc5424(pri(USER, WARNING), "app", "zz last one", SD_IP), "zz last one"),
    ]
    use_logger = sluicetest.which("logger") is not None
    with Daemon(CONFIG_A) as d:
        host, port = d.address("tcp")
        tcp_send((host, port), lf_frames([raw for raw, _ in cases]))
        sent = len(cases)
        if use_logger:
            logger(["-n", host, "-P", str(port), "-T", "--rfc5424", "-t", "lg-a", "-p", "user.warning",
                    "--sd-id", "origin@48577", "--sd-param", 'ip="192.0.2.10"'],
                   "l1 from logger password=fromlogger")
            sent += 1
        s = settle(d, {"tcp": sent})
        files = ("alerts.json", "archive.log", "all.log")
        show = contents(d, *files)

        # all: every message, byte for byte as sent
        all_lines = d.lines("all.log")
        check(len(all_lines) == sent, f"all.log has {len(all_lines)} lines, expected {sent}", *show)
        for raw, _ in cases:
            check(all_lines.count(raw) == 1, f"all.log does not hold {raw!r} exactly once as sent "
                  "(a transform of another route must not change it)", *show)
        if use_logger:
            lg = [l for l in all_lines if b"l1 from logger password=fromlogger" in l]
            check(len(lg) == 1, "all.log does not hold logger's message with its password", *show)

        want = sorted([red for _, red in cases if red is not None]
                      + (["l1 from logger password=***"] if use_logger else []))
        alerts = d.json_lines("alerts.json")
        check(msgs_of(alerts) == want, f"alerts.json holds msgs {msgs_of(alerts)}, expected {want}",
              *show)
        for o in alerts:
            ip = (o.get("sd") or {}).get("origin@48577", {}).get("ip")
            check(ip is not None, f"alerts.json: a message without origin@48577 ip: {o}", *show)
            check(o.get("severity") in ("emerg", "alert", "crit", "err", "warning"),
                  f"alerts.json: severity {o.get('severity')!r} is above warning: {o}", *show)

        archive = d.lines("archive.log")
        check(len(archive) == len(want), f"archive.log has {len(archive)} lines, expected {len(want)}",
              *show)
        for red in want:
            hits = [l for l in archive if l.endswith(b" " + red.encode())]
            check(len(hits) == 1, f"archive.log: {len(hits)} line(s) ending in the redacted {red!r}, "
                  "expected 1 (raw of a rewritten RFC 5424 message: the new fields re-rendered)",
                  *show)
            check(b"origin@48577" in hits[0], f"archive.log: the rewrite lost the SD: {hits[0]!r}",
                  *show)
        for secret in (b"hunter2", b"password=abc", b"password=def", b"fromlogger"):
            bad = [l for l in archive + [json.dumps(o).encode() for o in alerts] if secret in l]
            check(not bad, f"the secret {secret!r} reached alerts or archive", *show)

        line = conf_line(d, "route { where = function(m) return m.severity")
        expect_counts(d, s, routes=[(line, 0, 0), (conf_line(d, "route { to = all }"), 0, 0)])
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== (b) app_name and where m.uid ~= 0, over the unix socket

CONFIG_B = """
input "unix" { type = "unix", path = "log.sock" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local auth = output "auth" { type = "file", path = "auth.json", format = "json" }
local all = output "all" { type = "file", path = "all.json", format = "json" }
route { app_name = { "sshd", "sudo" }, where = function(m) return m.uid ~= 0 end, to = auth }
route { to = all }
"""


@sluicetest.timeout(60)
def test_where_uid_over_unix():
    """The issue's second example. The unix socket carries the sender's
    uid from the kernel: run as root, the test's own sshd/sudo lines must
    not reach auth; run as anyone else, they must. As root it also sends as
    nobody (65534), which must. Over TCP there is no uid: m.uid is nil,
    and nil ~= 0 is true in Lua, so a TCP sshd line is taken."""
    need_logger()
    me = os.getuid()
    with Daemon(CONFIG_B) as d:
        sock = d.address("unix")
        # expected: (msg, reaches auth, kernel uid or None)
        sent = []

        def send_unix(tag, msg, **kw):
            logger(["-u", sock, "--rfc3164", "-t", tag, "-p", "auth.info"], msg, **kw)

        for tag, msg in (("sshd", "b1 sshd as me"), ("sudo", "b2 sudo as me"),
                         ("cron", "b3 cron as me"), ("sshd-not", "b4 sshd-not as me")):
            send_unix(tag, msg)
            sent.append((msg, tag in ("sshd", "sudo") and me != 0, me))
        if me == 0:
            # nobody must be able to reach the socket in the daemon's 0700 directory
            os.chmod(d.dir, 0o711)
            for tag, msg in (("sshd", "b5 sshd as nobody"), ("cron", "b6 cron as nobody")):
                send_unix(tag, msg, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/")
                sent.append((msg, tag == "sshd", NOBODY))
        nunix = len(sent)
        tcp_send(d.address("tcp"), lf_frames([
            b"<38>Nov 22 10:00:00 lrhost sshd[7]: b7 sshd over tcp",
            b"<38>Nov 22 10:00:00 lrhost cron[7]: b8 cron over tcp"]))
        sent += [("b7 sshd over tcp", True, None), ("b8 cron over tcp", False, None)]
        s = settle(d, {"unix": nunix, "tcp": 2})
        show = contents(d, "auth.json", "all.json")

        all_objs = d.json_lines("all.json")
        want_all = sorted(m for m, _, _ in sent)
        check(msgs_of(all_objs) == want_all,
              f"all.json holds msgs {msgs_of(all_objs)}, expected {want_all}", *show)
        for msg, _, uid in sent:
            o = next(o for o in all_objs if o.get("msg") == msg)
            check(o.get("uid") == uid, f"all.json: {msg!r} has uid {o.get('uid')!r}, expected {uid!r} "
                  "(the kernel's credentials of the sender)", *show)
        want_auth = sorted(m for m, taken, _ in sent if taken)
        got_auth = msgs_of(d.json_lines("auth.json"))
        check(got_auth == want_auth,
              f"auth.json holds msgs {got_auth}, expected {want_auth} (test uid {me}: "
              f"{'root, so its own lines have uid 0 and are not taken' if me == 0 else 'not root'})",
              *show)
        expect_counts(d, s, routes=[(conf_line(d, "route { app_name"), 0, 0),
                                    (conf_line(d, "route { to = all }"), 0, 0)])
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== (c) drop = true as the first route

CONFIG_C = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local main = output "main" { type = "file", path = "main.log", format = "raw" }
local copy = output "copy" { type = "file", path = "copy.log", format = "raw" }
route { drop = true, where = function(m) return m.msg:find("healthcheck", 1, true) end, final = true }
route { to = main }
route { to = copy }
"""


@sluicetest.timeout(60)
def test_drop_healthchecks():
    """The issue's third example: healthcheck lines go nowhere and are
    counted as discarded; the others reach both outputs. A message without
    MSG makes the where fail (m.msg is nil): on_error defaults to skip, so
    the drop route is not taken and the message is delivered."""
    def m3164(text):
        return b"<14>Nov 22 10:00:00 lrhost web[3]: " + text
    drop = [m3164(b"GET /healthcheck 200"), m3164(b"healthcheck"),
            rfc5424(pri(USER, INFO), "lb", "probe healthcheck ok"),
            rfc5424(pri(USER, ERR), "lb", "healthcheck failed", SD_IP),
            m3164(b"x healthcheck")]
    keep = [m3164(b"GET /index.html 200"), m3164(b"health check (two words)"),
            m3164(b"HEALTHCHECK upper case"), rfc5424(pri(USER, INFO), "lb", "healthchek typo"),
            rfc5424(pri(USER, WARNING), "app", "plain")]
    nomsg = rfc5424(pri(USER, INFO), "nomsg", "").rstrip()   # "... - -": no MSG at all
    order = [keep[0], drop[0], drop[1], keep[1], drop[2], keep[2], nomsg, drop[3], keep[3],
             drop[4], keep[4]]
    delivered = keep + [nomsg]
    with Daemon(CONFIG_C) as d:
        tcp_send(d.address("tcp"), lf_frames(order))
        s = settle(d, {"tcp": len(order)})
        show = contents(d, "main.log", "copy.log")
        for rel in ("main.log", "copy.log"):
            got = d.lines(rel)
            check(sorted(got) == sorted(delivered),
                  f"{rel} does not hold exactly the {len(delivered)} non-healthcheck messages "
                  f"(it has {len(got)} lines)", *show)
        expect_counts(d, s, discarded=len(drop),
                      routes=[(conf_line(d, "route { drop = true"), 1, len(drop)),
                              (conf_line(d, "route { to = main }"), 0, 0),
                              (conf_line(d, "route { to = copy }"), 0, 0)])
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== on_error = "skip" / "pass"

CONFIG_ON_ERROR = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local skipped = output "skipped" { type = "file", path = "skip.log", format = "raw" }
local passed = output "passed" { type = "file", path = "pass.log", format = "raw" }
route { where = function(m) return m.sd["origin@48577"].ip == "192.0.2.7" end, on_error = "skip", to = skipped }
route { where = function(m) return m.sd["origin@48577"].ip == "192.0.2.7" end, on_error = "pass", to = passed }
"""


@sluicetest.timeout(60)
def test_on_error_skip_and_pass():
    """A where that indexes a missing SD element raises. With skip the
    message does not reach that route's output, with pass it does; each
    route counts its errors, and the log names the route's FILE:LINE."""
    yes = rfc5424(pri(USER, INFO), "app", "ok1", SD_IP)
    no = rfc5424(pri(USER, INFO), "app", "no1", '[origin@48577 ip="192.0.2.99"]')
    errs = [rfc5424(pri(USER, INFO), "app", "e1 no sd"),
            rfc5424(pri(USER, INFO), "app", "e2 other sd", '[other@1 ip="192.0.2.7"]'),
            b"<14>Nov 22 10:00:00 lrhost app[1]: e3 rfc3164"]
    with Daemon(CONFIG_ON_ERROR) as d:
        tcp_send(d.address("tcp"), lf_frames([errs[0], yes, errs[1], no, errs[2]]))
        s = settle(d, {"tcp": 5})
        show = contents(d, "skip.log", "pass.log")
        check(sorted(d.lines("skip.log")) == [yes],
              "skip.log must hold only the message whose where returned true", *show)
        check(sorted(d.lines("pass.log")) == sorted([yes] + errs),
              "pass.log must hold the message whose where returned true and the 3 whose where "
              "failed (on_error = pass counts a failure as true)", *show)
        lskip = conf_line(d, 'on_error = "skip"')
        lpass = conf_line(d, 'on_error = "pass"')
        # no1: false in both routes, no error: nothing took it
        expect_counts(d, s, unrouted=1, routes=[(lskip, 3, 0), (lpass, 3, 0)])
        for line, word in ((lskip, "skip"), (lpass, "pass")):
            at = f"{d.conf_path}:{line}"
            try:
                hits = sluicetest.wait_until(lambda: log_lines(d, at, "where failed"), 5,
                                             f"{at!r} and 'where failed' in the daemon's log")
            except AssertionError as e:
                raise AssertionError(f"{e}; the log is:\n{d.log()}") from None
            check(any(word in h and "attempt to index a nil value" in h for h in hits),
                  f"the log lines for {at} do not say the Lua error and {word!r}",
                  *[f"log: {h}" for h in hits])
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== runaway functions

CONFIG_RUNAWAY = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local out = output "out" { type = "file", path = "out.log", format = "raw" }
route { where = function(m) while true do end end, on_error = "pass", to = out }
"""

# A pcall inside the function must not swallow the time limit: once
# over it, the hook raises again at the next chance outside the pcall.
CONFIG_RUNAWAY_PCALL = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local out = output "out" { type = "file", path = "out.log", format = "raw" }
route { where = function(m) while true do pcall(function() while true do end end) end end, on_error = "pass", to = out }
"""


def runaway(config, n=5):
    msgs = [rfc5424(pri(USER, INFO), "app", f"r{i}") for i in range(n)]
    with Daemon(config) as d:
        tcp_send(d.address("tcp"), lf_frames(msgs))
        # Each message holds the input for the time limit: wait until all
        # are routed before settling.
        d.wait_stat(lambda s: s["routes"][0]["errors"] >= n, 30, f"{n} route errors")
        s = settle(d, {"tcp": n}, timeout=30)
        show = contents(d, "out.log")
        check(d.running(), "sluiced died on a runaway where")
        check(sorted(d.lines("out.log")) == sorted(msgs),
              f"out.log must hold all {n} messages (on_error = pass)", *show)
        expect_counts(d, s, routes=[(conf_line(d, "route { where"), n, 0)])
        line = conf_line(d, "route { where")
        hits = log_lines(d, f"{d.conf_path}:{line}", "ran for more than")
        check(hits, f"no log line names the route {d.conf_path}:{line} and the time limit",
              f"log: {d.log()!r}")
        # still answering and routing afterwards
        tcp_send(d.address("tcp"), lf_frames([b"<14>Nov 22 10:00:00 h app[1]: after"]))
        d.wait_lines("out.log", n + 1)
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")


@sluicetest.timeout(90)
def test_runaway_where():
    runaway(CONFIG_RUNAWAY)


@sluicetest.timeout(90)
def test_runaway_where_pcall():
    runaway(CONFIG_RUNAWAY_PCALL)
# }===


# {=== transform: extra fields

CONFIG_FIELDS = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local tagged = output "tagged" { type = "file", path = "tagged.json", format = "json" }
local tpl = output "tpl" { type = "file", path = "tpl.log", format = "{app_name} {fields.tenant} {msg}" }
local typed = output "typed" { type = "file", path = "typed.json", format = "json" }
local plain = output "plain" { type = "file", path = "plain.json", format = "json" }
route { transform = function(m) m.fields.tenant = "x" end, to = { tagged, tpl } }
route { transform = function(m) m.fields.n = 42; m.fields.ok = true; m.fields.tmp = "t"; m.fields.tmp = nil end, to = typed }
route { to = plain }
"""


@sluicetest.timeout(60)
def test_transform_sets_fields():
    msgs = [rfc5424(pri(USER, INFO), "app1", "hello one"),
            b"<14>Nov 22 10:00:00 lrhost app2[9]: hello two"]
    with Daemon(CONFIG_FIELDS) as d:
        tcp_send(d.address("tcp"), lf_frames(msgs))
        settle(d, {"tcp": len(msgs)})
        show = contents(d, "tagged.json", "tpl.log", "typed.json", "plain.json")
        tagged = d.lines("tagged.json")
        check(len(tagged) == 2, "tagged.json must hold both messages", *show)
        for line in tagged:
            check(b'"fields":{"tenant":"x"}' in line,
                  f'tagged.json: no "fields":{{"tenant":"x"}} in {line!r}', *show)
        check(sorted(d.lines("tpl.log")) == [b"app1 x hello one", b"app2 x hello two"],
              "tpl.log ({app_name} {fields.tenant} {msg}) is not 'APP x MSG' per message", *show)
        for o in d.json_lines("typed.json"):
            check(o.get("fields") == {"n": "42", "ok": "true"},
                  f"typed.json: fields {o.get('fields')!r}, expected {{'n': '42', 'ok': 'true'}} "
                  "(numbers and booleans as text; nil removes)", *show)
        plain = d.json_lines("plain.json")
        check(len(plain) == 2 and all("fields" not in o for o in plain),
              "plain.json: a route without transform shows fields (or lost a message)", *show)
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== the sluice library: log, print, hostname

CONFIG_LOG = """settings { control = "sluice.ctl", hostname = "loghost.example" }
sluice.log("notice", "config-time marker")
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
local out = output "out" { type = "file", path = "out.log", format = "raw" }
route { where = function(m)
          sluice.log("warning", "where saw " .. m.msg .. " on " .. sluice.hostname())
          print("printed " .. m.msg)
          return true
        end, to = out }
"""


@sluicetest.timeout(60)
def test_sluice_log_to_stderr():
    with Daemon(CONFIG_LOG) as d:
        tcp_send(d.address("tcp"), lf_frames([rfc5424(pri(USER, INFO), "app", "lg1")]))
        settle(d, {"tcp": 1})
        check(len(d.lines("out.log")) == 1, "out.log must hold the message", *contents(d, "out.log"))
        for level, text in (("notice", "lua: config-time marker"),
                            ("warning", "lua: where saw lg1 on loghost.example"),
                            ("info", "lua: printed lg1")):
            try:
                d.wait_log(text, timeout=5)
            except AssertionError:
                raise AssertionError(f"the daemon's stderr has no {text!r}; it is:\n{d.log()}") from None
            check(log_lines(d, f"{level}: {text}"),
                  f"{text!r} is not logged at {level}",
                  *[f"log: {line}" for line in log_lines(d, text)])
        check(d.stop() == 0, f"sluiced exited {d.returncode} on SIGTERM")
# }===


# {=== sluiced --check

HEAD = ('settings { control = "sluice.ctl" }\n'
        'local out = output "out" { type = "file", path = "out.log" }\n')
# (the bad route, on line 3 of its file; words its message must contain)
BAD_ROUTES = [
    ('route { where = "string", to = "out" }', ["'where'", "function", "string"]),
    ('route { app_name = function() end, to = "out" }', ["'app_name'", "function"]),
    ('route { where = function(m) return true end, on_error = "pas", to = "out" }',
     ["on_error", "'pas'", "'pass'"]),
    ('route { drop = true, where = function(m) return true end, to = "out" }',
     ["drop = true", "'to'"]),
    ('route { drop = true, transform = function(m) end }', ["drop", "transform"]),
    ('route { on_error = "pass", to = "out" }', ["'on_error'", "'where'", "'transform'"]),
    ('route { where = function(m) return true end }', ["to"]),
]

GOOD = """settings { control = "sluice.ctl" }
local alerts = output "alerts" { type = "file", path = "alerts.log" }
local archive = output "archive" { type = "file", path = "archive.log" }
local auth = output "auth" { type = "file", path = "auth.log" }
local redact = function(m)
  m.msg = m.msg:gsub("password=%S+", "password=***")      -- rewrite; other outputs keep the original
end
route { where = function(m) return m.severity <= sluice.severity.warning
                            and m.sd["origin@48577"] and m.sd["origin@48577"].ip end,
        transform = redact, to = { alerts, archive } }
route { app_name = { "sshd", "sudo" }, where = function(m) return m.uid ~= 0 end, to = auth }
route { drop = true, where = function(m) return m.msg:find("healthcheck", 1, true) end, final = true }
route { drop = false, where = function(m) return true end, on_error = "pass", to = auth }
"""


def run_check(t, name, text):
    path = t.write(name, text)
    return path, sluiced(["--check", "-c", path], cwd=t.dir)


def test_check_route_functions():
    with TempDir() as t:
        path, r = run_check(t, "good.lua", GOOD)
        check(r.returncode == 0 and r.stdout.strip() == f"{path}: ok",
              f"--check of the issue's examples: exit {r.returncode}, stdout {r.stdout!r}, "
              f"expected 0 and '{path}: ok'", f"stderr: {r.stderr!r}")

        failures = []
        for i, (line, words) in enumerate(BAD_ROUTES):
            path, r = run_check(t, f"bad{i}.lua", HEAD + line + "\n")
            errs = [e for e in r.stderr.splitlines() if e.startswith(f"{path}:3: ")]
            problems = []
            if r.returncode != 1:
                problems.append(f"exit {r.returncode}, expected 1")
            if not any(all(w in e for w in words) for e in errs):
                problems.append(f"no line '{path}:3: ...' with all of {words}")
            if problems:
                failures.append(f"{line}: {'; '.join(problems)}; stderr: {r.stderr.strip()!r}")
        check(not failures, f"{len(failures)} bad route(s) not reported as FILE:LINE", *failures)

        # All in one file: each reported with its own line.
        text = HEAD + "".join(line + "\n" for line, _ in BAD_ROUTES[:4])
        path, r = run_check(t, "all.lua", text)
        check(r.returncode == 1, f"--check of four bad routes exited {r.returncode}, expected 1",
              f"stderr: {r.stderr!r}")
        for n, (line, words) in enumerate(BAD_ROUTES[:4], 3):
            check(any(e.startswith(f"{path}:{n}: ") and all(w in e for w in words)
                      for e in r.stderr.splitlines()),
                  f"--check of four bad routes does not report line {n} ({line}) with {words}",
                  f"stderr: {r.stderr!r}")
        check("ok" not in r.stdout, f"--check of bad routes printed {r.stdout!r}")
# }===


if __name__ == "__main__":
    sluicetest.main([test_check_route_functions, test_where_transform_to_two_outputs,
                     test_where_uid_over_unix, test_drop_healthchecks, test_on_error_skip_and_pass,
                     test_runaway_where, test_runaway_where_pcall, test_transform_sets_fields,
                     test_sluice_log_to_stderr])
