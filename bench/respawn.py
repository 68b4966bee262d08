#!/usr/bin/python3
"""Worker replacement side by side: Suzerain, uWSGI and gunicorn in one run.

    bench/respawn.py [--seconds 10] [--kills 10] [--age 2] [--baseline OTHER/bin/vassal]

--baseline adds a row for another build of Suzerain after each of this
build's, to compare two commits in one run.

1. Throughput while recycling: wrk (50 connections) against 2 workers, first
   without recycling, then with every worker retired each second
   (max_worker_lifetime 1s; uWSGI --max-worker-lifetime 1) and by request
   count (max-requests 1000; uWSGI's --min-worker-lifetime lowered to 1 s,
   since its default of 60 s would hide the cost).
2. Time to a serving replacement, one worker: after kill -9 of the worker
   (once it has lived --age seconds: uWSGI throttles the respawn of younger
   ones), how long until a request sent right after the kill is answered; and while
   the worker retires by lifetime or request count, the longest any of a
   stream of back-to-back requests waited.
3. The seed case: an app whose import starts a thread that keeps the GIL busy
   and prints. The worker is killed N times; does every replacement serve?
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import time

import common

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def get(port, timeout):
    """One request on a fresh connection; True if it was answered 200. Reads
    to the end of the body, not to EOF: uWSGI's HTTP/1.1 socket keeps the
    connection open despite "Connection: close"."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        while length and len(body) < int(length[1]):
            chunk = s.recv(4096)
            if not chunk:
                return False
            body += chunk
    return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")


def workers_of(server):
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wait_workers(server, n, exclude=(), timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p for p in workers_of(server) if p not in exclude]
        if len(pids) >= n:
            return pids
        time.sleep(0.005)
    return []


def until_served(port, timeout):
    """Seconds until a request is answered, retrying refused or reset ones; None if never."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if get(port, timeout - (time.monotonic() - start)):
                return time.monotonic() - start
        except OSError:
            time.sleep(0.001)
    return None


def kill_to_serving(server, kills, age, timeout=5.0):
    """Kills the one worker `kills` times, each once it has served and lived `age` seconds;
    the time until its replacement answers, each time (None: never)."""
    times = []
    for _ in range(kills):
        if not until_served(server.port, timeout):  # the worker serves before it is killed
            times.append(None)
            break
        time.sleep(age)
        pids = workers_of(server)
        if not pids:
            times.append(None)
            break
        os.kill(pids[0], signal.SIGKILL)
        t = until_served(server.port, timeout)
        times.append(t)
        if t is None:
            break
        wait_workers(server, 1, exclude=pids)
    return times


def longest_wait(port, seconds):
    """Back-to-back requests for `seconds`: (longest wait in s, failures, requests)."""
    end = time.monotonic() + seconds
    longest, failed, n = 0.0, 0, 0
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            ok = get(port, 10)
        except OSError:
            ok = False
        longest = max(longest, time.monotonic() - t)
        failed += not ok
        n += 1
    return longest, failed, n


def suz_lifetime(port, workers, module="hello:application", lifetime="1s", max_requests=0):
    extra = "[lifetime]\nmax_worker_lifetime = %s\nmax_requests = %d\n" % (
        '"%s"' % lifetime if lifetime else "0", max_requests)
    return common.suzerain(port, workers, 1, module=module, extra=extra)


def throughput(args):
    rows = []
    configs = [
        ("suzerain", "none", lambda p: suz_lifetime(p, 2, lifetime="")),
        ("suzerain", "lifetime 1s", lambda p: suz_lifetime(p, 2, lifetime="1s")),
        ("suzerain", "max-requests 1000", lambda p: suz_lifetime(p, 2, lifetime="", max_requests=1000)),
        ("uWSGI", "none", lambda p: common.uwsgi(p, 2, 1, keepalive=True)),
        ("uWSGI", "lifetime 1s", lambda p: common.uwsgi(
            p, 2, 1, keepalive=True, extra=["--max-worker-lifetime", "1", "--min-worker-lifetime", "0"])),
        ("uWSGI", "max-requests 1000", lambda p: common.uwsgi(
            p, 2, 1, keepalive=True, extra=["--max-requests", "1000", "--min-worker-lifetime", "1"])),
        ("gunicorn sync", "none", lambda p: common.gunicorn(p, 2, 1, "sync")),
        ("gunicorn sync", "max-requests 1000", lambda p: common.gunicorn(p, 2, 1, "sync", extra=["--max-requests", "1000"])),
    ]
    base = {}
    for name, recycling, start in common.with_baseline(configs, args):
        server = start(common.free_port())
        try:
            common.wrk(server.port, 1, 50)
            r = common.wrk(server.port, args.seconds, 50)
        finally:
            server.stop()
        if recycling == "none":
            base[name] = r["rps"]
        rows.append((name, recycling, r, r["rps"] / base[name] if base.get(name) else 0))
        time.sleep(0.5)
    print("\n1. wrk, 50 connections, %d s, 2 workers x 1 thread, keep-alive\n" % args.seconds)
    print("| server | recycling | requests/s | vs. none | p99 ms | socket errors | non-2xx |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, recycling, r, ratio in rows:
        print("| %s | %s | %.0f | %.0f%% | %.2f | %d | %d |" % (
            name, recycling, r["rps"], 100 * ratio, r["p99"] or 0, r["errors"], r["non2xx"]))


def fmt_ms(seconds):
    return "never" if seconds is None else "%.1f" % (seconds * 1000)


def replacement(args):
    print("\n2. One worker. kill -9 of a worker %.0f s old: time until a request sent right after the kill is answered (%d kills)."
          "\n   Recycling: the longest wait among back-to-back requests for %d s.\n" % (args.age, args.kills, args.seconds))
    print("| server | event | median ms | max ms | failed requests (recycling) |")
    print("| --- | --- | ---: | ---: | ---: |")
    kill_servers = [
        ("suzerain", lambda p: suz_lifetime(p, 1, lifetime="")),
        ("uWSGI", lambda p: common.uwsgi(p, 1, 1, keepalive=True)),
        ("gunicorn sync", lambda p: common.gunicorn(p, 1, 1, "sync")),
    ]
    for name, start in common.with_baseline(kill_servers, args):
        server = start(common.free_port())
        try:
            wait_workers(server, 1)
            times = kill_to_serving(server, args.kills, args.age)
        finally:
            server.stop()
        served = [t for t in times if t is not None]
        print("| %s | kill -9 | %s | %s | %s |" % (
            name, fmt_ms(statistics.median(served)) if served else "never",
            fmt_ms(max(served)) if served else "never", "–" if len(served) == len(times) else "replacement never served"))
    recycle_servers = [
        ("suzerain", "no recycling", lambda p: suz_lifetime(p, 1, lifetime="")),
        ("suzerain", "lifetime 1s", lambda p: suz_lifetime(p, 1, lifetime="1s")),
        ("suzerain", "max-requests 300", lambda p: suz_lifetime(p, 1, lifetime="", max_requests=300)),
        ("uWSGI", "lifetime 1s", lambda p: common.uwsgi(
            p, 1, 1, keepalive=True, extra=["--max-worker-lifetime", "1", "--min-worker-lifetime", "0"])),
        ("uWSGI", "max-requests 300", lambda p: common.uwsgi(
            p, 1, 1, keepalive=True, extra=["--max-requests", "300", "--min-worker-lifetime", "1"])),
        ("gunicorn sync", "max-requests 300", lambda p: common.gunicorn(p, 1, 1, "sync", extra=["--max-requests", "300"])),
    ]
    for name, event, start in common.with_baseline(recycle_servers, args):
        server = start(common.free_port())
        try:
            wait_workers(server, 1)
            longest, failed, n = longest_wait(server.port, args.seconds)
        finally:
            server.stop()
        print("| %s | %s (%d requests) | | %s | %d |" % (name, event, n, fmt_ms(longest), failed))


def seed(args):
    print("\n3. The seed case (bench/apps/seed.py: a thread started at import keeps the GIL busy and prints)."
          "\n   One worker, killed up to %d times; each replacement must answer within 5 s.\n" % args.kills)
    print("| server | replacements serving | median ms to serve |")
    print("| --- | ---: | ---: |")
    module = "seed:application"
    servers = [
        ("suzerain", lambda p: suz_lifetime(p, 1, module=module, lifetime="")),
        ("uWSGI --enable-threads", lambda p: common.uwsgi(p, 1, 1, keepalive=True, module=module,
                                                          extra=["--enable-threads"])),
        ("uWSGI --enable-threads --py-call-uwsgi-fork-hooks", lambda p: common.uwsgi(
            p, 1, 1, keepalive=True, module=module, extra=["--enable-threads", "--py-call-uwsgi-fork-hooks"])),
        ("gunicorn sync --preload", lambda p: common.gunicorn(p, 1, 1, "sync", module=module, preload=True)),
    ]
    for name, start in common.with_baseline(servers, args):
        try:
            server = start(common.free_port())
        except RuntimeError as e:
            print("| %s | did not start: %s | |" % (name, e))
            continue
        try:
            wait_workers(server, 1)
            times = kill_to_serving(server, args.kills, args.age)
        finally:
            server.stop()
        served = [t for t in times if t is not None]
        print("| %s | %d of %d | %s |" % (name, len(served), args.kills,
                                          fmt_ms(statistics.median(served)) if served else "never"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--age", type=float, default=2.0, help="seconds a worker lives before it is killed")
    p.add_argument("--only", choices=["throughput", "replacement", "seed"])
    p.add_argument("--baseline", help="another build's vassal binary, run beside this one")
    args = p.parse_args()
    common.require(common.VASSAL, "wrk", "uwsgi", "gunicorn")
    for part in (throughput, replacement, seed):
        if args.only in (None, part.__name__):
            part(args)


if __name__ == "__main__":
    main()
