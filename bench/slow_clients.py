#!/usr/bin/python3
"""Slow clients, side by side: slowhttptest sends 400 request bodies a few
bytes a second (-B), or reads 100 responses of 6 MiB a few bytes at a time
(-X), while a normal client asks for "/" every 100 ms with a 1 s timeout.
Suzerain with its buffers (the defaults; 8 MB for responses, past what the
loopback kernel takes itself) and without, beside uWSGI and gunicorn
gthread with as many threads.

    bench/slow_clients.py [--seconds 10] [--threads 4]

"answered" is the share of the normal client's requests answered within a
second; "RSS growth" the workers' resident memory during the attack over
before it, per slow connection.
"""
import argparse
import subprocess
import threading
import time
import urllib.request

import common

ATTACKS = {
    "slow bodies (-B, 400)": (400, lambda url, s: ["-B", "-c", "400", "-r", "200", "-i", "1", "-s", "8192",
                                                    "-t", "POST", "-l", str(s), "-u", url + "/echo"]),
    "slow reads (-X, 100 x 6 MiB)": (100, lambda url, s: ["-X", "-c", "100", "-r", "100", "-w", "512", "-y", "1024",
                                                           "-n", "5", "-z", "32", "-k", "1", "-l", str(s),
                                                           "-u", url + "/bytes?6291456"]),
}


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def probe(port, stop, results):
    while not stop.is_set():
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1).read()
            results.append(True)
        except Exception:
            results.append(False)
        time.sleep(0.1)


def run(server, attack, connections, seconds):
    try:
        before = rss_kib(server.pids())
        tool = subprocess.Popen(["slowhttptest", "-p", "1"] + attack("http://127.0.0.1:%d" % server.port, seconds),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop, results = threading.Event(), []
        prober = threading.Thread(target=probe, args=(server.port, stop, results))
        time.sleep(2)  # let the slow connections open
        prober.start()
        time.sleep(seconds / 2 - 2)
        during = rss_kib(server.pids())
        tool.wait()
        stop.set()
        prober.join()
        return sum(results) / len(results) if results else 0, (during - before) / connections
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args()
    common.require(common.VASSAL, "slowhttptest", "uwsgi")
    t = args.threads
    servers = [
        ("suzerain", lambda port: common.suzerain(port, 1, t, "slow:application",
                                                  server='buffer_response = "8MB"\n')),
        ("suzerain, buffers off", lambda port: common.suzerain(port, 1, t, "slow:application",
                                                               server="buffer_body = 0\nbuffer_response = 0\n")),
        ("uwsgi", lambda port: common.uwsgi(port, 1, t, keepalive=True, module="slow:application")),
        ("gunicorn gthread", lambda port: common.gunicorn(port, 1, t, "gthread", module="slow:application")),
    ]
    print("\none worker x %d threads; each attack %d s\n" % (t, args.seconds))
    print("| attack | server | answered within 1 s | RSS growth per slow connection |")
    print("| --- | --- | ---: | ---: |")
    for attack_name, (connections, attack) in ATTACKS.items():
        for name, start in servers:
            answered, growth = run(start(common.free_port()), attack, connections, args.seconds)
            print("| %s | %s | %.0f%% | %.0f KiB |" % (attack_name, name, answered * 100, growth))
            time.sleep(1)


if __name__ == "__main__":
    main()
