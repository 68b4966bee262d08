#!/usr/bin/python3
"""Per-worker memory (PSS) of a preloaded app importing much of the standard
library: Suzerain, uWSGI and gunicorn --preload, 4 workers each, idle and
after a load, in one run.

    bench/memory.py [--workers 4] [--seconds 5]

PSS (proportional set size) charges each shared page to the processes
sharing it, so it is what a worker really costs.
"""
import argparse
import time

import common


def memory_kib(pid):
    """(PSS, USS): the proportional share, and the pages only this process has."""
    fields = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    fields[parts[0].rstrip(":")] = int(parts[1])
    except FileNotFoundError:
        pass
    return fields.get("Pss", 0), fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def per_worker(pids):
    values = [memory_kib(pid) for pid in pids]
    n = max(1, len(values))
    return sum(v[0] for v in values) / n, sum(v[1] for v in values) / n


def worker_pids(server):
    """Every process of the server but its master (the group leader)."""
    return [p for p in server.pids() if p != server.proc.pid]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--seconds", type=int, default=10)
    args = p.parse_args()
    common.require(common.VASSAL, "wrk", "uwsgi")
    w, module = args.workers, "heavy:application"
    # uWSGI skips CPython's after-fork handlers unless told to (--py-call-osafterfork), which is
    # why its workers can hang on a lock a dead thread held. Running them costs each worker the
    # pages they write (threading's, logging's and random's reinitialisation): the second row
    # is uWSGI made as fork-safe as Suzerain always is.
    servers = [
        ("suzerain", lambda port: common.suzerain(port, w, 1, module=module)),
        ("uwsgi", lambda port: common.uwsgi(port, w, 1, keepalive=True, module=module)),
        ("uwsgi --py-call-osafterfork",
         lambda port: common.uwsgi(port, w, 1, keepalive=True, module=module, extra=["--py-call-osafterfork"])),
        ("gunicorn --preload", lambda port: common.gunicorn(port, w, 1, "sync", module=module, preload=True)),
    ]
    rows = []
    for name, start in servers:
        server = start(common.free_port())
        try:
            time.sleep(2)  # let every worker finish booting
            workers = worker_pids(server)
            idle = per_worker(workers)
            common.wrk(server.port, args.seconds, 50)
            loaded = per_worker(workers)
            rows.append((name, len(workers), idle, loaded))
        finally:
            server.stop()
        time.sleep(0.5)
    base = rows[0]
    print("\nPer worker, %d workers, after %d s of wrk for 'after load'. PSS includes each worker's share of\n"
          "the pages it shares with the master and its siblings; USS is what only that worker holds.\n" % (w, args.seconds))
    print("| server | PSS idle | PSS after load | USS idle | USS after load | suzerain / this (PSS loaded, USS loaded) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, n, idle, loaded in rows:
        print("| %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.2fx, %.2fx |" % (
            name, idle[0] / 1024, loaded[0] / 1024, idle[1] / 1024, loaded[1] / 1024,
            base[3][0] / loaded[0], base[3][1] / loaded[1]))


if __name__ == "__main__":
    main()
