#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""perproc against hostile names: RFC 5424 messages over TCP whose APP-NAME
and PROCID are "..", ".", "../../etc", "a/b", "-rf", "%2e%2e", 48-byte and
long values (what the parser lets through: PRINTUSASCII, at most 48 and 128
bytes), and RFC 3164 tags, which are laxer (control bytes, UTF-8, invalid
UTF-8, '/'), plus a symlink planted under dir that points outside it. Every
file created is under dir (by realpath), nothing outside dir changed, each
distinct (app, procid) got its own file, and the planted link's messages
went to dir/%refused.log, nowhere else, counted in refused_names."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, check, octet_frames, tcp_send  # noqa: E402

CONFIG = """
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "apps" { type = "perproc", dir = "logs", name = "{app_name}/{procid}.log",
                format = "{msg}" }
route { to = "apps" }
"""

APPS_5424 = [b"..", b".", b"../../etc", b"a/b", b"-rf", b"%2e%2e", b"%2E.", b"%", b"~",
             b"a" * 48, b"a" * 47 + b"/", b"app", b"App", b"evil", b"%refused.log"]
PROCIDS_5424 = [b"1", b"..", b"../..", b"/etc/passwd", b"-x", b"p" * 128, b"%25", b"."]
TAGS_3164 = [b"\xc3\xa9t\xc3\xa9", b"ctl\x01\x7f", b"\xff\xfe", b"a/b/../c", b".hidden",
             b"t" * 48, b"%00", b"evil"]
PROCIDS_3164 = [b"..", b"/", b"q" * 300, b"\x1b[31m"]


def snapshot(top, skip):
    """Every path under top (links not followed) with its kind, size and
    mtime, except the subtrees and files in skip."""
    out = {}
    for dp, dirs, files in os.walk(top):
        dirs[:] = [x for x in dirs if os.path.join(dp, x) not in skip]
        for name in dirs + files:
            p = os.path.join(dp, name)
            if p in skip:
                continue
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def messages():
    """(frame, (app, procid), seq): every pair once, each a unique seq."""
    out, seq = [], 0
    for app in APPS_5424:
        for procid in PROCIDS_5424:
            out.append((b"<14>1 2026-12-03T10:00:00Z h " + app + b" " + procid +
                        b" - - seq=%d" % seq, (app, procid), seq))
            seq += 1
    for tag in TAGS_3164:
        for procid in PROCIDS_3164:
            out.append((b"<14>Dec  3 10:00:00 h " + tag + b"[" + procid + b"]: seq=%d" % seq,
                        (tag, procid), seq))
            seq += 1
    return out


@sluicetest.timeout(60)
def test_hostile_names_stay_under_dir():
    with Daemon(CONFIG) as d:
        logs = d.path("logs")
        outside = d.path("outside")
        os.makedirs(os.path.join(outside, "deep"))
        with open(os.path.join(outside, "victim"), "wb") as f:
            f.write(b"keep\n")
        os.symlink("../outside", os.path.join(logs, "evil"))
        skip = {logs, d.log_path, d.path("sluice.ctl")}
        before = snapshot(d.dir, skip)
        msgs = messages()
        tcp_send(d.address("tcp"), octet_frames([m for m, _, _ in msgs]))
        d.wait_stat(lambda s: s["outputs"]["apps"]["written"] >= len(msgs), timeout=20,
                    what=f"{len(msgs)} written")
        after = snapshot(d.dir, skip)
        check(after == before, "something outside dir changed",
              f"new or changed: {sorted(set(after.items()) - set(before.items()))[:5]}")
        check(open(os.path.join(outside, "victim"), "rb").read() == b"keep\n", "victim changed")
        real = os.path.realpath(logs)
        by_seq = {seq: pair for _, pair, seq in msgs}
        file_of = {}
        refused = []
        for dp, dirs, files in os.walk(logs):
            for name in files:
                p = os.path.join(dp, name)
                check(os.path.realpath(p).startswith(real + os.sep), f"{p} is outside dir")
                check(not os.path.islink(p), f"{p} is a link")
                rel = os.path.relpath(p, logs)
                for comp in rel.split(os.sep):
                    check(comp not in ("", ".", "..") and comp[0] not in ".-" and
                          len(comp) <= 255 and all(0x20 < ord(c) < 0x7f for c in comp),
                          f"a bad component {comp!r} in {rel!r}")
                with open(p, "rb") as f:
                    seqs = [int(l.split(b"=")[1]) for l in f.read().splitlines()]
                if rel == "%refused.log":
                    refused = seqs
                    continue
                pairs = {by_seq[s] for s in seqs}
                check(len(pairs) == 1, f"{rel} mixes {sorted(pairs)[:3]}")
                pair = pairs.pop()
                check(pair not in file_of, f"{pair} in {file_of.get(pair)} and {rel}")
                file_of[pair] = rel
        evil = {pair for pair in by_seq.values() if pair[0] == b"evil"}
        check(set(by_seq[s] for s in refused) == evil,
              "the planted link's messages are not all in %refused.log",
              f"in it: {sorted(by_seq[s] for s in refused)[:4]}")
        check(set(file_of) == set(by_seq.values()) - evil, "some pairs got no file",
              f"missing: {sorted(set(by_seq.values()) - evil - set(file_of))[:4]}")
        # "%refused.log" as an APP-NAME is "%25refused.log/...": the
        # fallback's name is out of every value's reach.
        check(file_of[(b"%refused.log", b"1")] == "%25refused.log/1.log",
              f"{file_of[(b'%refused.log', b'1')]}")
        d.wait_log("name refused, its messages go to")
        c = d.output_stats("apps")["plugin"]
        n_evil = sum(1 for pair in by_seq.values() if pair[0] == b"evil")
        check(c["refused_names"] == len(refused) == n_evil and c["refused_lost"] == 0,
              f"refused counters: {c}, {len(refused)} lines in %refused.log, {n_evil} sent")
        check(file_of[(b"..", b"..")] == "%2E./%2E..log", f"{file_of[(b'..', b'..')]}")
        check(file_of[(b"a/b", b"1")] == "a%2Fb/1.log", f"{file_of[(b'a/b', b'1')]}")
        check(file_of[(b"-rf", b"1")] == "%2Drf/1.log", f"{file_of[(b'-rf', b'1')]}")


if __name__ == "__main__":
    sluicetest.main([test_hostile_names_stay_under_dir])
