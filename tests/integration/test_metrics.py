#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""settings.metrics: GET /metrics in the Prometheus text format, parsed with
the Prometheus client library's own parser (python3-prometheus-client); its
counters equal `sluicectl stats` after traffic; a scraper that never finishes
its request does not hold the daemon; other paths and methods are refused."""

import os
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluicetest  # noqa: E402
from sluicetest import Daemon, Skip, TempDir, check, lf_frames, sluiced, tcp_send  # noqa: E402

CONFIG = """
settings { control = "sluice.ctl", metrics = { listen = "127.0.0.1:0" } }
input "tcp" { type = "tcp", listen = "127.0.0.1:0" }
output "all" { type = "file", path = "all.log" }
output "err" { type = "file", path = "err.log", queue = { policy = "drop", capacity = 100 } }
route { severity = "<=err", to = "err" }
route { drop = true, msg_contains = "healthcheck" }
route { to = "all" }
"""


def parser():
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise Skip("no python3-prometheus-client (apt-get install python3-prometheus-client)")
    return text_string_to_metric_families


def built_with_metrics():
    with TempDir() as t:
        r = sluiced(["--check", "-c", t.write("s.lua", CONFIG)])
        if "without libmicrohttpd" in r.stderr:
            raise Skip("sluiced was built without libmicrohttpd (apt-get install "
                       "libmicrohttpd-dev, then configure again)")
        check(r.returncode == 0, f"--check of the metrics config: {r.stderr!r}")


def metrics_url(d):
    for line in d.ctl("status").stdout.splitlines():
        if line.startswith("metrics: "):
            return line.split(" ", 1)[1]
    raise AssertionError("status names no metrics endpoint")


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        check(r.status == 200, f"GET {url}: {r.status}")
        ctype = r.headers.get("Content-Type", "")
        check(ctype.startswith("text/plain; version=0.0.4"), f"Content-Type {ctype!r}")
        return r.read().decode()


def samples(text):
    out = {}
    for fam in parser()(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = (fam.type, s.value)
    return out


def value(got, name, **labels):
    """A sample's value; a counter's sample name ends in _total."""
    key = (name, tuple(sorted(labels.items())))
    if key not in got:
        key = (name + "_total", key[1])
    check(key in got, f"no sample {name}{labels}; have {sorted(k[0] for k in got)[:40]}")
    return got[key][1]


def test_counters_equal_stats():
    built_with_metrics()
    with Daemon(CONFIG) as d:
        tcp_send(d.address("tcp"), lf_frames([b"<14>app: hello %d" % i for i in range(50)]
                                             + [b"<11>app: broken %d" % i for i in range(7)]
                                             + [b"<14>app: healthcheck"] * 3))
        d.wait_stat(lambda st: st["outputs"]["all"]["written"] == 57
                    and st["outputs"]["err"]["written"] == 7, 10, "written")
        url = metrics_url(d)
        got = samples(scrape(url))
        st = d.stats()
        tcp = st["inputs"]["tcp"]
        for key in ("received", "bytes", "parse_errors", "accepted"):
            check(value(got, f"sluice_input_{key}", input="tcp", type="tcp") == tcp[key],
                  f"input {key}: metrics and stats differ")
        check(got[("sluice_input_received_total", (("input", "tcp"), ("type", "tcp")))][0]
              == "counter", "received is not a counter")
        for name in ("all", "err"):
            o = st["outputs"][name]
            for key in ("enqueued", "written", "dropped", "failed"):
                check(value(got, f"sluice_output_{key}", output=name, type="file") == o[key],
                      f"output {name} {key}: metrics and stats differ")
            check(value(got, "sluice_output_queue_capacity", output=name, type="file")
                  == o["queue_capacity"], f"{name} capacity")
        check(value(got, "sluice_discarded") == st["discarded"] == 3, "discarded")
        check(value(got, "sluice_build_info", version=st["version"]) == 1, "build info")
        lines = [str(r["line"]) for r in st["routes"]]
        check(value(got, "sluice_route_discarded", line=lines[1]) == 3, "the drop route's count")
        d.ctl("reload")
        got = samples(scrape(url))
        check(value(got, "sluice_reloads") == 1, "reloads after a reload")
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("the page parses, and its counters are those of sluicectl stats")


def test_slow_scraper_and_bad_requests():
    built_with_metrics()
    with Daemon(CONFIG) as d:
        url = metrics_url(d)
        host, port = url.split("/")[2].rsplit(":", 1)
        stuck = socket.create_connection((host, int(port)), timeout=5)
        stuck.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never ends its headers
        t0 = time.monotonic()
        d.ctl("stats")
        scrape(url)
        took = time.monotonic() - t0
        check(took < 3, f"a stuck scraper held the daemon: stats and a scrape took {took:.1f} s")
        for path, method, code in (("/", "GET", 404), ("/metrics", "POST", 405)):
            req = urllib.request.Request(url.rsplit("/", 1)[0] + path, method=method, data=None)
            try:
                urllib.request.urlopen(req, timeout=5)
                raise AssertionError(f"{method} {path} answered 200")
            except urllib.error.HTTPError as e:
                check(e.code == code, f"{method} {path}: {e.code}, expected {code}")
        stuck.close()
        check(d.stop() == 0, f"sluiced exited {d.returncode}")
    print("a stuck scraper costs the daemon nothing; / is 404, POST 405")


def test_bad_metrics_settings():
    with TempDir() as t:
        for bad, want in (("metrics = { listen = 'nowhere' }", "bad address 'nowhere'"),
                          ("metrics = { }", "metrics.listen' is missing"),
                          ("metrics = '127.0.0.1:1'", "wants a table")):
            r = sluiced(["--check", "-c", t.write("b.lua", "settings { %s }\n" % bad)])
            check(r.returncode == 1 and want in r.stderr, f"{bad}: {r.stderr!r}")
    print("bad metrics settings are config errors")


if __name__ == "__main__":
    sluicetest.main([test_counters_equal_stats, test_slow_scraper_and_bad_requests,
                     test_bad_metrics_settings])
