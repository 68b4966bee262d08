#!/usr/bin/python3
"""The request log's cost: the same hello-world run with the log off and on
(to a file, combined and JSON), Suzerain beside uWSGI and gunicorn doing
the same, under wrk on this machine, in one run.

    bench/request_log.py [--seconds 10] [--rounds 3] [--connections 50] [--workers 2] [--threads 1]

Each row is the median of --rounds runs, the rounds interleaved (off, on,
off, on ...) so that a machine's drift touches every row alike.

The target: Suzerain with its log on serves at least 0.9x of itself with it
off. Each server's "on / off" is against its own "off" row.
"""
import argparse
import os
import tempfile
import time

import common


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    common.require(common.VASSAL, "wrk", "uwsgi")
    w, t = args.workers, args.threads
    logs = tempfile.mkdtemp(prefix="suzerain-bench-log-")

    def log(name):
        return os.path.join(logs, name + ".log")

    runs = [
        ("suzerain", "off", lambda port: common.suzerain(port, w, t)),
        ("suzerain", "combined", lambda port: common.suzerain(
            port, w, t, extra='access = "%s"\n' % log("suzerain-combined"))),
        ("suzerain", "json", lambda port: common.suzerain(
            port, w, t, extra='access = "%s"\naccess_format = "json"\n' % log("suzerain-json"))),
        ("uwsgi", "off", lambda port: common.uwsgi(port, w, t, keepalive=True)),
        ("uwsgi", "on", lambda port: common.uwsgi(port, w, t, keepalive=True, request_log=log("uwsgi"))),
        ("gunicorn gthread", "off", lambda port: common.gunicorn(port, w, t, "gthread")),
        ("gunicorn gthread", "on", lambda port: common.gunicorn(
            port, w, t, "gthread", extra=["--access-logfile", log("gunicorn")])),
    ]
    rounds = {i: [] for i in range(len(runs))}
    for _ in range(args.rounds):
        for i, (server, mode, start) in enumerate(runs):
            rounds[i].append(common.measure(start(common.free_port()), args.seconds, args.connections))
            time.sleep(0.5)  # let the CPU settle between servers
    results = []
    for i, (server, mode, _) in enumerate(runs):
        by_rate = sorted(rounds[i], key=lambda r: r["rps"])
        results.append((server, mode, by_rate[len(by_rate) // 2]))

    print("\nwrk: %d connections, %d s, median of %d rounds; %d workers x %d threads; keep-alive\n" % (
        args.connections, args.seconds, args.rounds, w, t))
    print("| server | request log | requests/s | p99 ms | errors | lines written (all rounds) | on / off |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    off = {}
    for server, mode, r in results:
        if mode == "off":
            off[server] = r["rps"]
        name = {"suzerain": "suzerain-" + mode, "uwsgi": "uwsgi", "gunicorn gthread": "gunicorn"}[server]
        path = log(name)
        lines = sum(1 for _ in open(path)) if mode != "off" and os.path.exists(path) else 0
        print("| %s | %s | %.0f | %.2f | %d | %s | %.2fx |" % (
            server, mode, r["rps"], r["p99"] or 0, r["errors"], lines if mode != "off" else "-",
            r["rps"] / off[server] if off.get(server) else 0))


if __name__ == "__main__":
    main()
