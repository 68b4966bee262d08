#!/usr/bin/python3
"""The emperor side by side with `uwsgi --emperor`, in one run.

    bench/emperor.py [--vassals 50] [--touches 5]

For each: from writing N vassal files (one worker each) into a watched
directory until every one serves; from touching a file until a new
generation answers (and how many requests failed meanwhile); from removing
a file until its port refuses connections; and the memory (PSS) of the whole
tree (emperor, masters, workers) with N vassals.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import common

EMPEROR = os.path.join(common.ROOT, "build", "bin", "emperor")


def get(port, timeout=2.0):
    """The body of GET / on a fresh connection, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
                    (data.split(b"Content-Length: ")[1].split(b"\r\n")[0]) if b"Content-Length: " in data else 1):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return body.decode() if head.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def refuses(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def descendants(root):
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def suzerain_file(port):
    return ('[app]\nmodule = "pid:application"\nchdir = "%s"\n[server]\nhttp = ["127.0.0.1:%d"]\nworkers = 1\n'
            '[log]\nlevel = "warning"\n' % (common.APPS, port)), ".toml"


def uwsgi_file(port):
    return ("[uwsgi]\nplugin = python3\nhttp-socket = 127.0.0.1:%d\nchdir = %s\nmodule = pid:application\n"
            "master = true\nprocesses = 1\ndisable-logging = true\n" % (port, common.APPS)), ".ini"


def run(name, argv, make_file, args):
    d = tempfile.mkdtemp(prefix="bench-emperor-")
    log = open(os.path.join(tempfile.gettempdir(), "bench-emperor-%s.log" % name.split()[0]), "w")
    proc = subprocess.Popen([a.replace("@DIR@", d) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        time.sleep(1.0)  # the emperor is up and watching
        ports = [common.free_port() for _ in range(args.vassals)]
        files = []
        start = time.monotonic()
        for i, port in enumerate(ports):
            text, ext = make_file(port)
            path = os.path.join(d, "v%03d%s" % (i, ext))
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.rename(path + ".tmp", path)
            files.append(path)
        pending = set(range(args.vassals))
        while pending and time.monotonic() - start < 120:
            for i in list(pending):
                if get(ports[i], 0.5) is not None:
                    pending.discard(i)
            if pending:
                time.sleep(0.005)
        all_serving = time.monotonic() - start if not pending else None
        time.sleep(1.0)
        memory = pss_kib(descendants(proc.pid)) / 1024

        touches, failures = [], 0
        for i in range(args.touches):
            before = get(ports[i])
            os.utime(files[i])
            t0 = time.monotonic()
            while time.monotonic() - t0 < 30:
                body = get(ports[i], 2)
                if body is None:
                    failures += 1
                elif body != before:
                    touches.append(time.monotonic() - t0)
                    break
        removals = []
        for i in range(args.touches):
            port = ports[args.vassals - 1 - i]
            os.unlink(files[args.vassals - 1 - i])
            t0 = time.monotonic()
            while time.monotonic() - t0 < 30 and not refuses(port):
                time.sleep(0.002)
            removals.append(time.monotonic() - t0)
        return {"all_serving": all_serving, "memory_mib": memory, "touch": touches, "touch_failures": failures,
                "remove": removals}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vassals", type=int, default=50)
    p.add_argument("--touches", type=int, default=5)
    args = p.parse_args()
    common.require(EMPEROR, common.VASSAL, "uwsgi")
    rows = [
        ("suzerain", run("suzerain", [EMPEROR, "--vassals", "@DIR@"], suzerain_file, args)),
        ("uWSGI --emperor", run("uwsgi", ["uwsgi", "--emperor", "@DIR@", "--plugin", "python3"], uwsgi_file, args)),
    ]
    print("\n%d vassals of one worker each; %d touches and removals\n" % (args.vassals, args.touches))
    print("| emperor | files to all serving s | touch to new generation ms (median, max) | failed requests during reloads "
          "| rm to port closed ms (median) | PSS total MiB | PSS per vassal MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        t = r["touch"]
        print("| %s | %s | %s | %d | %.1f | %.0f | %.1f |" % (
            name, "%.2f" % r["all_serving"] if r["all_serving"] else "not all",
            "%.0f, %.0f" % (statistics.median(t) * 1000, max(t) * 1000) if t else "never",
            r["touch_failures"], statistics.median(r["remove"]) * 1000, r["memory_mib"],
            r["memory_mib"] / args.vassals))


if __name__ == "__main__":
    main()
