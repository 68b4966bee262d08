#!/usr/bin/python3
"""Hello-world throughput: Suzerain side by side with uWSGI and gunicorn in
one run, same workers and threads, under wrk on this machine.

    bench/throughput.py [--seconds 10] [--connections 50] [--workers 2] [--threads 1] [--baseline OTHER/bin/vassal]

--baseline adds a row for another build of Suzerain after this build's.

Modes: keep-alive (uWSGI --http11-socket) and one request per connection
("Connection: close"; uWSGI --http-socket, which ignores the header and
closes anyway). gunicorn's sync worker never keeps connections alive.
"""
import argparse
import time

import common


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--baseline", help="another build's vassal binary, run beside this one")
    args = p.parse_args()
    common.require(common.VASSAL, "wrk", "uwsgi")
    w, t = args.workers, args.threads

    rows = []
    for mode, close in (("keep-alive", False), ("close", True)):
        servers = [
            ("suzerain", lambda port: common.suzerain(port, w, t)),
            ("uwsgi", lambda port: common.uwsgi(port, w, t, keepalive=not close)),
            ("gunicorn sync", lambda port: common.gunicorn(port, w, t, "sync")),
            ("gunicorn gthread", lambda port: common.gunicorn(port, w, t, "gthread")),
        ]
        results = {}
        for name, start in common.with_baseline(servers, args):
            results[name] = common.measure(start(common.free_port()), args.seconds, args.connections, close)
            time.sleep(0.5)  # let TIME_WAIT sockets and the CPU settle between servers
        base = results["suzerain"]["rps"]
        for name, r in results.items():
            rows.append((mode, name, r, base / r["rps"] if r["rps"] else float("inf")))

    print("\nwrk: %d connections, %d s; %d workers x %d threads\n" % (args.connections, args.seconds, w, t))
    print("| mode | server | requests/s | p50 ms | p99 ms | errors | non-2xx | suzerain / this |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, name, r, ratio in rows:
        print("| %s | %s | %.0f | %.2f | %.2f | %d | %d | %.2fx |" % (
            mode, name, r["rps"], r["p50"] or 0, r["p99"] or 0, r["errors"], r["non2xx"], ratio))


if __name__ == "__main__":
    main()
