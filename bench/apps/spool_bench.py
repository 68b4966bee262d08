"""The spooler benchmark's app, for Suzerain and for uWSGI alike: a trivial
job handler, and a WSGI app whose requests enqueue jobs.

Each spooler process writes the time of its first job to MARKS/first.<pid>;
a job with a "t" argument (its enqueue time) appends how long it waited to
MARKS/latency. MARKS comes from the environment."""
import os
import time

try:
    import uwsgi
except ImportError:
    uwsgi = None
    import suzerain

MARKS = os.environ.get("SPOOL_BENCH_MARKS", "/tmp")
_first = False


def _ran(args):
    global _first
    if not _first:
        _first = True
        with open(os.path.join(MARKS, "first.%d" % os.getpid()), "w") as f:
            f.write(repr(time.time()))
    t = args.get("t")
    if t:
        with open(os.path.join(MARKS, "latency"), "a") as f:
            f.write("%.6f\n" % (time.time() - float(t)))


def handle(job):  # Suzerain
    _ran(job.args)


def _uwsgi_job(env):
    _ran({k.decode(): v.decode() for k, v in env.items() if isinstance(k, bytes) and isinstance(v, bytes)})
    return uwsgi.SPOOL_OK


if uwsgi is not None:
    uwsgi.spooler = _uwsgi_job


def application(environ, start_response):
    """GET /?count=N enqueues N jobs (&many=1: with suzerain.spool_many);
    GET /?t=1 enqueues one stamped with its enqueue time."""
    q = environ.get("QUERY_STRING", "")
    params = dict(p.split("=", 1) for p in q.split("&") if "=" in p)
    count = int(params.get("count", "1"))
    if params.get("many") == "1":  # Suzerain's batch API: one flush for all
        suzerain.spool_many([{"args": {"n": str(i)}} for i in range(count)])
        count = 0
    for i in range(count):
        args = {"n": str(i)}
        if "t" in params:
            args["t"] = repr(time.time())
        if uwsgi is not None:
            uwsgi.spool({k.encode(): v.encode() for k, v in args.items()})
        else:
            suzerain.spool(args)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
