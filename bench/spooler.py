#!/usr/bin/python3
"""The spooler side by side with uWSGI's, in one run.

    bench/spooler.py [--jobs 20000] [--enqueue 10000] [--rounds 5] [--where DIR]

For each: how fast 1 and 2 spooler processes run N trivial jobs queued
beforehand (from the first job to an empty spool; for uWSGI once with its
job files written back to disk, as Suzerain's always are, and once with
them still in the page cache); how fast request
handlers enqueue jobs (2 workers x 4 threads, 8 clients each asking for 50
jobs per request, one spool() call per job; for Suzerain also with one
spool_many() call per request) while a spooler consumes them; and how long a job waits
when enqueued to an idle spooler. Suzerain makes every job durable before its
enqueue returns (one fdatasync of its push journal per round of pushes);
uWSGI writes its spool files without fsync. --where puts the spools under DIR (e.g. /dev/shm, to
see the code's own cost without the disk's flushes).

Each spool is a new directory at the filesystem's root when that is
writable (else in the temp dir). Why: this machine's ext4 has no journal,
and there it will not reuse an inode freed in the last minute or more;
each file created walks past every such inode in its directory's block
group. The temp dir's group holds the inodes of every test and earlier
round just removed, which made uWSGI's enqueue (a new file per job) vary
from 4,500 to 16,000 jobs/s between rounds. A new directory at the root
lands in a quiet group, like a spool directory that only its spool uses.
"""
import argparse
import concurrent.futures
import glob
import http.client
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import time

import common

SPOOLER = os.path.join(common.ROOT, "build", "bin", "spooler")


def uwsgi_spool_file(directory, i, args):
    """A job file as uwsgi.spool() writes it: a uwsgi packet (modifier1 17) of key/values."""
    body = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v for k, v in args.items())
    name = "uwsgi_spoolfile_on_%s_%d_%d_1_%d_%d" % (socket.gethostname(), os.getpid(), i, int(time.time()), i)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(struct.pack("<BHB", 17, len(body), 0) + body)


def queued(server, spool):
    if server == "suzerain":
        return len(os.listdir(os.path.join(spool, "queue"))) + sum(
            len(os.listdir(d)) for d in glob.glob(os.path.join(spool, "claimed", "*")))
    return sum(1 for n in os.listdir(spool) if n.startswith("uwsgi_spoolfile"))


def start(server, spool, marks, processes, port):
    os.environ["SPOOL_BENCH_MARKS"] = marks
    if server == "suzerain":
        return common.suzerain(port, 2, 4, module="spool_bench:application",
                               extra='[spooler]\ndir = "%s"\nprocesses = %d\nhandler = "spool_bench:handle"\n'
                                     % (spool, processes))
    return common.uwsgi(port, 2, 4, keepalive=False, module="spool_bench:application",
                        extra=["--spooler", spool, "--spooler-processes", str(processes)])


def wait_empty(server, spool, timeout=300):
    deadline = time.monotonic() + timeout
    while queued(server, spool):
        if time.monotonic() > deadline:
            raise RuntimeError("%s: jobs left after %ds" % (server, timeout))
        time.sleep(0.02)
    return time.time()


def process_rate(server, jobs, processes, flushed=True):
    work = tempfile.mkdtemp(prefix="spool-bench-", dir=WHERE)
    spool, marks = os.path.join(work, "spool"), os.path.join(work, "marks")
    os.makedirs(marks)
    if server == "suzerain":
        lines = "".join('{"args": {"n": "%d"}}\n' % i for i in range(jobs))
        subprocess.run([SPOOLER, "push", spool, "--create", "--jobs", "-"], input=lines, text=True, check=True,
                       stdout=subprocess.DEVNULL)
    else:
        os.makedirs(spool)
        for i in range(jobs):
            uwsgi_spool_file(spool, i, {b"n": str(i).encode()})
    if flushed:
        # As every job file is once the kernel has written it back (within
        # seconds): removing a file whose blocks are on disk costs more.
        os.sync()
    s = start(server, spool, marks, processes, common.free_port())
    try:
        end = wait_empty(server, spool)
        first = min(float(open(f).read()) for f in glob.glob(os.path.join(marks, "first.*")))
        return jobs / (end - first)
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


WHERE = None  # parent of the work directories; None: the system's temp dir


def default_where():
    return "/" if os.access("/", os.W_OK) else None


def fresh_spool():
    """A work directory with an empty spool/ and marks/ in it."""
    work = tempfile.mkdtemp(prefix="spool-bench-", dir=WHERE)
    spool, marks = os.path.join(work, "spool"), os.path.join(work, "marks")
    os.makedirs(marks)
    os.makedirs(spool)
    return work, spool, marks


def enqueue_rate(server, total, per_request=50, clients=8, many=False):
    work, spool, marks = fresh_spool()
    port = common.free_port()
    s = start(server, spool, marks, 1, port)
    try:
        get(port, "/?count=1")  # warm
        requests = total // per_request
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            path = "/?count=%d%s" % (per_request, "&many=1" if many else "")
            statuses = list(pool.map(lambda _: get(port, path), range(requests)))
        elapsed = time.monotonic() - t0
        assert all(st == 200 for st in statuses), statuses
        return requests * per_request / elapsed
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)


def idle_latency(server, samples=20):
    work, spool, marks = fresh_spool()
    port = common.free_port()
    s = start(server, spool, marks, 1, port)
    path = os.path.join(marks, "latency")
    try:
        waits = []
        for i in range(samples):
            time.sleep(0.2)  # idle
            before = len(waits)
            get(port, "/?count=1&t=1")
            deadline = time.monotonic() + 40  # uWSGI's idle spooler rescans every 30 s
            while time.monotonic() < deadline:
                lines = open(path).read().split() if os.path.exists(path) else []
                if len(lines) > before:
                    waits = [float(x) * 1000 for x in lines]
                    break
                time.sleep(0.005)
            else:
                raise RuntimeError("%s: a job enqueued to an idle spooler did not run in 40 s" % server)
            if server == "uwsgi" and i == 2:
                break  # seconds per sample: three make the point
        return statistics.median(waits), max(waits), len(waits)
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--enqueue", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5,
                    help="enqueue rounds, Suzerain and uWSGI in turn (this VM's disk drifts between phases)")
    ap.add_argument("--where", default=default_where(),
                    help="parent directory of the spools (default: / when writable, else the temp dir)")
    ap.add_argument("--only", choices=("process", "enqueue", "idle"), help="run one part of the benchmark")
    args = ap.parse_args()
    global WHERE
    WHERE = args.where
    common.require("uwsgi", common.VASSAL, SPOOLER)
    results = {"suzerain": {}, "uwsgi": {}}
    for server in ("suzerain", "uwsgi") if args.only in (None, "process") else ():
        r = results[server]
        for processes in (1, 2):
            r["process_%d" % processes] = process_rate(server, args.jobs, processes)
            print("%-8s process, %d spooler(s): %8.0f jobs/s" % (server, processes, r["process_%d" % processes]), flush=True)
            if server == "uwsgi":
                key = "process_%d_unflushed" % processes
                r[key] = process_rate(server, args.jobs, processes, flushed=False)
                print("%-8s process, %d spooler(s): %8.0f jobs/s (job files still in the page cache)"
                      % (server, processes, r[key]), flush=True)
    # Enqueueing is bound by the disk's flushes, whose cost drifts by 2x
    # over minutes here: the two servers take turns, round after round, and
    # each round's ratio compares neighbours in time.
    rates = {"suzerain": [], "uwsgi": [], "suzerain_many": []}
    for i in range(args.rounds if args.only in (None, "enqueue") else 0):
        for key, server, many in (("suzerain", "suzerain", False), ("uwsgi", "uwsgi", False),
                                  ("suzerain_many", "suzerain", True)):
            rates[key].append(enqueue_rate(server, args.enqueue, many=many))
        print("enqueue round %d: suzerain %6.0f, uwsgi %6.0f (%.2fx), suzerain spool_many %6.0f jobs/s"
              % (i + 1, rates["suzerain"][-1], rates["uwsgi"][-1], rates["suzerain"][-1] / rates["uwsgi"][-1],
                 rates["suzerain_many"][-1]), flush=True)
    ratios = [a / b for a, b in zip(rates["suzerain"], rates["uwsgi"])]
    if ratios:
        report_enqueue(args, results, rates, ratios)
    for server in ("suzerain", "uwsgi") if args.only in (None, "idle") else ():
        r = results[server]
        r["idle_median_ms"], r["idle_max_ms"], r["idle_samples"] = idle_latency(server)
        print("%-8s idle spooler: job starts after %.1f ms median, %.1f ms max (%d samples)"
              % (server, r["idle_median_ms"], r["idle_max_ms"], r["idle_samples"]), flush=True)
    print(json.dumps(results, indent=1))


def report_enqueue(args, results, rates, ratios):
    results["suzerain"]["enqueue"] = statistics.median(rates["suzerain"])
    results["suzerain"]["enqueue_many"] = statistics.median(rates["suzerain_many"])
    results["uwsgi"]["enqueue"] = statistics.median(rates["uwsgi"])
    results["enqueue_ratio_median"] = statistics.median(ratios)
    print("enqueue from requests, median of %d rounds: suzerain %.0f (durable), uwsgi %.0f (not durable), "
          "ratio %.2fx (per round %s); suzerain spool_many %.0f"
          % (args.rounds, results["suzerain"]["enqueue"], results["uwsgi"]["enqueue"], results["enqueue_ratio_median"],
             ", ".join("%.2f" % x for x in ratios), results["suzerain"]["enqueue_many"]), flush=True)


if __name__ == "__main__":
    main()
