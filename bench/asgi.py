#!/usr/bin/python3
"""ASGI hello-world throughput: Suzerain's ASGI worker (asyncio and uvloop
loops) side by side with uvicorn (httptools, uvloop) and hypercorn in one
run, same workers, keep-alive, under wrk on this machine.

    bench/asgi.py [--seconds 10] [--connections 50] [--workers 2]
"""
import argparse
import time

import common


def uvicorn(port, workers):
    argv = [common.PYTHON, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log",
            "--log-level", "warning", "--app-dir", common.APPS, "hello_asgi:app"]
    return common.Server("uvicorn", argv, port)


def hypercorn(port, workers):
    argv = [common.PYTHON, "-m", "hypercorn", "--bind", "127.0.0.1:%d" % port, "--workers", str(workers),
            "--worker-class", "uvloop", "--log-level", "warning", "hello_asgi:app"]
    return common.Server("hypercorn", argv, port, cwd=common.APPS)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    common.require(common.VASSAL, "wrk")
    w = args.workers
    servers = [
        ("suzerain asyncio", lambda port: common.suzerain(port, w, 1, "hello_asgi:app",
                                                          app='interface = "asgi"\nlifespan = "off"\nloop = "asyncio"\n')),
        ("suzerain uvloop", lambda port: common.suzerain(port, w, 1, "hello_asgi:app",
                                                         app='interface = "asgi"\nlifespan = "off"\nloop = "uvloop"\n')),
        ("uvicorn", lambda port: uvicorn(port, w)),
        ("hypercorn", lambda port: hypercorn(port, w)),
    ]
    results = {}
    for name, start in servers:
        results[name] = common.measure(start(common.free_port()), args.seconds, args.connections)
        time.sleep(0.5)
    base = results["suzerain uvloop"]["rps"]
    print("\nwrk: %d connections, %d s, keep-alive; %d workers\n" % (args.connections, args.seconds, w))
    print("| server | requests/s | p50 ms | p99 ms | errors | non-2xx | suzerain uvloop / this |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print("| %s | %.0f | %.2f | %.2f | %d | %d | %.2fx |" % (
            name, r["rps"], r["p50"] or 0, r["p99"] or 0, r["errors"], r["non2xx"],
            base / r["rps"] if r["rps"] else float("inf")))


if __name__ == "__main__":
    main()
