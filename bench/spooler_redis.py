#!/usr/bin/python3
"""The spooler on Redis, beside the directory spool, in one run.

    bench/spooler_redis.py [--jobs 20000] [--enqueue 10000]

A redis-server started here (unix socket, appendonly yes, appendfsync
always: every acknowledged push and every claim is fsynced by Redis, as
the directory spool fsyncs its pushes). For each backend: how fast 1, 2 and
4 spooler processes run N trivial jobs queued beforehand (from the first
job to an empty queue); how fast request handlers enqueue with one spool()
per job (2 workers x 4 threads, 8 clients, 50 jobs per request) while one
spooler consumes them; and how long a job waits when enqueued to an idle
spooler.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import common
from spooler import get  # bench/spooler.py

SPOOLER = os.path.join(common.ROOT, "build", "bin", "spooler")


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="redis-bench-")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock, "--dir", self.dir, "--appendonly", "yes",
             "--appendfsync", "always", "--save", ""], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        self.n = 0

    def fresh_queue(self):
        self.n += 1
        return "redis+unix://%s/0/bench%d" % (self.sock, self.n)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def left(spool):
    out = subprocess.run([SPOOLER, "stats", spool, "--json"], capture_output=True, text=True, check=True).stdout
    s = json.loads(out)
    return s["queued"] + s["running"]


def start(spool, marks, processes, port):
    os.environ["SPOOL_BENCH_MARKS"] = marks
    return common.suzerain(port, 2, 4, module="spool_bench:application",
                           extra='[spooler]\ndir = "%s"\nprocesses = %d\nhandler = "spool_bench:handle"\n'
                                 % (spool, processes))


def process_rate(spool, work, jobs, processes):
    marks = os.path.join(work, "marks.%d" % processes)
    os.makedirs(marks)
    lines = "".join('{"args": {"n": "%d"}}\n' % i for i in range(jobs))
    subprocess.run([SPOOLER, "push", spool, "--create", "--jobs", "-"], input=lines, text=True, check=True,
                   stdout=subprocess.DEVNULL)
    s = start(spool, marks, processes, common.free_port())
    try:
        deadline = time.monotonic() + 300
        while left(spool):
            if time.monotonic() > deadline:
                raise RuntimeError("%s: jobs left after 300 s" % spool)
            time.sleep(0.02)
        end = time.time()
        first = min(float(open(f).read()) for f in glob.glob(os.path.join(marks, "first.*")))
        return jobs / (end - first)
    finally:
        s.stop()


def enqueue_rate(spool, work, total, per_request=50, clients=8):
    marks = os.path.join(work, "marks.enqueue")
    os.makedirs(marks)
    port = common.free_port()
    s = start(spool, marks, 1, port)
    try:
        get(port, "/?count=1")
        requests = total // per_request
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(lambda _: get(port, "/?count=%d" % per_request), range(requests)))
        elapsed = time.monotonic() - t0
        assert all(st == 200 for st in statuses), statuses
        return requests * per_request / elapsed
    finally:
        s.stop()


def idle_latency(spool, work, samples=20):
    marks = os.path.join(work, "marks.idle")
    os.makedirs(marks)
    port = common.free_port()
    s = start(spool, marks, 1, port)
    path = os.path.join(marks, "latency")
    try:
        waits = []
        for _ in range(samples):
            time.sleep(0.2)  # idle
            before = len(waits)
            get(port, "/?count=1&t=1")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                lines = open(path).read().split() if os.path.exists(path) else []
                if len(lines) > before:
                    waits = [float(x) * 1000 for x in lines]
                    break
                time.sleep(0.002)
            else:
                raise RuntimeError("a job enqueued to an idle spooler did not run in 10 s")
        return statistics.median(waits), max(waits)
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--enqueue", type=int, default=10000)
    args = ap.parse_args()
    common.require("redis-server", common.VASSAL, SPOOLER)
    redis = Redis()
    results = {}
    try:
        for backend in ("redis", "directory"):
            r = results[backend] = {}
            work = tempfile.mkdtemp(prefix="spool-bench-")
            try:
                def spool():
                    return redis.fresh_queue() if backend == "redis" else tempfile.mkdtemp(dir=work)

                for processes in (1, 2, 4):
                    r["process_%d" % processes] = process_rate(spool(), work, args.jobs, processes)
                    print("%-9s process, %d spooler(s): %8.0f jobs/s" % (backend, processes, r["process_%d" % processes]),
                          flush=True)
                r["enqueue"] = enqueue_rate(spool(), work, args.enqueue)
                print("%-9s enqueue from requests:   %8.0f jobs/s" % (backend, r["enqueue"]), flush=True)
                r["idle_median_ms"], r["idle_max_ms"] = idle_latency(spool(), work)
                print("%-9s idle spooler: job starts after %.1f ms median, %.1f ms max"
                      % (backend, r["idle_median_ms"], r["idle_max_ms"]), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        redis.stop()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
