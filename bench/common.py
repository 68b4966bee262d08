"""Shared pieces of the benchmarks: starting servers, waiting for ports,
running wrk and reading its numbers."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APPS = os.path.join(HERE, "apps")
VASSAL = os.path.join(ROOT, "build", "bin", "vassal")
PYTHON = "/usr/bin/python3.11"  # Debian's: the one every server here embeds


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %.0fs" % (port, timeout))


class Server:
    """A server process in its own process group, stopped with its children."""

    def __init__(self, name, argv, port, cwd=None):
        self.name, self.port = name, port
        self.log = tempfile.NamedTemporaryFile(prefix="bench-%s-" % name.replace(" ", "_"), suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(port)
        except Exception:
            self.stop()
            raise

    def pids(self):
        """The server's processes (the group leader and its children)."""
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def suzerain(port, workers, threads, module="hello:application", extra="", server="", app=""):
    """extra: more [log] keys; server: more [server] keys; app: more [app] keys."""
    conf = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    conf.write('[app]\nmodule = "%s"\nchdir = "%s"\n%s[server]\nhttp = ["127.0.0.1:%d"]\nworkers = %d\nthreads = %d\n'
               '%s[log]\nlevel = "warning"\n%s' % (module, APPS, app, port, workers, threads, server, extra))
    conf.close()
    return Server("suzerain", [VASSAL, conf.name], port)


def uwsgi(port, workers, threads, keepalive, module="hello:application", extra=(), request_log=None):
    socket_opt = "--http11-socket" if keepalive else "--http-socket"
    argv = ["uwsgi", "--plugin", "python3", socket_opt, "127.0.0.1:%d" % port, "--master",
            "--processes", str(workers), "--threads", str(threads), "--chdir", APPS,
            "--module", module, "--die-on-term"]
    # Debian's uWSGI has no "file" logger plugin: its request log goes with the rest.
    argv += ["--logto", request_log] if request_log else ["--disable-logging"]
    if threads > 1:
        argv.append("--enable-threads")
    return Server("uwsgi", argv + list(extra), port)


def gunicorn(port, workers, threads, worker_class, module="hello:application", preload=False, extra=()):
    argv = [PYTHON, "-m", "gunicorn", "--bind", "127.0.0.1:%d" % port, "--workers", str(workers),
            "--threads", str(threads), "--worker-class", worker_class, "--chdir", APPS,
            "--log-level", "warning"]
    if preload:
        argv.append("--preload")
    return Server("gunicorn " + worker_class, argv + list(extra) + [module], port)


def measure(server, seconds, connections, close=False):
    """wrk against a started server, after a second's warm-up; stops it."""
    try:
        wrk(server.port, 1, connections, close=close)
        return wrk(server.port, seconds, connections, close=close)
    finally:
        server.stop()


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(port, seconds, connections, threads=2, close=False):
    argv = ["wrk", "--latency", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds]
    if close:
        argv += ["-H", "Connection: close"]
    out = subprocess.run(argv + ["http://127.0.0.1:%d/" % port], capture_output=True, text=True, check=True).stdout
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    latency = {p: float(v) * scale[u] for p, v, u in WRK_LATENCY.findall(out)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    return {"rps": rps, "p50": latency.get("50"), "p99": latency.get("99"), "errors": errors, "non2xx": non2xx}


def require(*programs):
    missing = [p for p in programs if shutil.which(p) is None and not os.path.exists(p)]
    if missing:
        sys.exit("missing %s: run scripts/install-deps bench, and scripts/build" % ", ".join(missing))


def with_baseline(servers, args):
    """Each Suzerain entry (a tuple whose first item is "suzerain" and last its
    start function) followed by the same one on the --baseline binary."""
    if not args.baseline:
        return servers
    out = []
    for entry in servers:
        out.append(entry)
        if entry[0] == "suzerain":
            start = entry[-1]

            def on_baseline(port, start=start):
                global VASSAL
                ours, VASSAL = VASSAL, args.baseline
                try:
                    return start(port)
                finally:
                    VASSAL = ours
            out.append(("suzerain (baseline)",) + tuple(entry[1:-1]) + (on_baseline,))
    return out
