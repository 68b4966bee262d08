"""Spooler test app: a job handler whose behaviour each job chooses with its
`kind` argument, and a WSGI app that spools jobs from requests.

Every handled job appends one line to the file named by its `out` argument:
"<event> <n> <job id> <attempt> <spooler id> <pid> <unix time>", written with one
O_APPEND write so lines from many processes never interleave."""
import os
import time
from urllib.parse import parse_qs

import suzerain


def _record(job, event):
    line = "%s %s %s %d %d %d %.6f\n" % (event, job.args.get("n", "-"), job.id, job.attempt, suzerain.spooler_id(),
                                         os.getpid(), time.time())
    fd = os.open(job.args["out"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def handle(job):
    kind = job.args.get("kind", "record")
    if kind == "record":
        _record(job, "done")
    elif kind == "body":
        _record(job, "body:%d:%s" % (len(job.body), job.body[:8].hex()))
    elif kind == "raise":
        _record(job, "raising")
        raise ValueError("job %s always fails" % job.args.get("n"))
    elif kind == "retry":
        if job.attempt < 3:
            _record(job, "retrying")
            raise suzerain.Retry("not yet", after=0.01)
        _record(job, "done")
    elif kind == "sleep":
        _record(job, "start")
        time.sleep(float(job.args["seconds"]))
        _record(job, "done")
    elif kind == "exclusive":
        # Two spoolers (or vassals) running one job at once would find the
        # marker of the other.
        marker = job.args["out"] + "." + job.id + ".running"
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            _record(job, "overlap")
            return
        os.close(fd)
        time.sleep(float(job.args.get("seconds", "0.005")))
        os.unlink(marker)
        _record(job, "done")
    elif kind == "hang":
        _record(job, "start")
        while True:
            time.sleep(0.05)
    else:
        raise ValueError("unknown kind %r" % kind)


async def asgi_app(scope, receive, send):
    """The ASGI form: GET /spool?count=N&out=PATH[&many=1] spools N record
    jobs with spool_async() (or spool_many_async()) and answers their ids."""
    if scope["type"] != "http":
        return
    q = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    count = int(q.pop("count", "1"))
    many = q.pop("many", None)
    jobs = [dict(q, n=str(i)) for i in range(count)]
    if many:
        ids = await suzerain.spool_many_async([{"args": a} for a in jobs])
    else:
        ids = [await suzerain.spool_async(a) for a in jobs]
    try:
        await suzerain.spool_async({"k": object()})
        misuse = "accepted"
    except TypeError as e:
        misuse = "TypeError"
    body = ("\n".join(ids) + "\n" + misuse + "\n").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def application(environ, start_response):
    """GET /spool?count=N&out=PATH[&kind=K][&priority=P][&delay=S][&first=I][&many=1]:
    spools N jobs (with spool_many() if many=1), answers their ids.
    GET /misuse: what spool() says to bad arguments, one line each."""
    if environ["PATH_INFO"] == "/misuse":
        lines = []
        for args, kwargs in (((["not", "a", "dict"],), {}), (({"k": object()},), {}), (({1: "v"},), {}),
                             (({"k": "v"},), {"priority": 5000})):
            try:
                suzerain.spool(*args, **kwargs)
                lines.append("accepted")
            except Exception as e:
                lines.append("%s: %s" % (type(e).__name__, e))
        body = ("\n".join(lines) + "\n").encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    count = int(q.pop("count", "1"))
    priority = int(q.pop("priority", "0"))
    delay = q.pop("delay", None)
    first = int(q.pop("first", "0"))
    many = q.pop("many", None) == "1"
    jobs = []
    for i in range(count):
        args = dict(q, n="py%d" % (first + i))
        at = time.time() + float(delay) if delay else None
        jobs.append({"args": args, "body": b"\x00\xffbody", "at": at, "priority": priority})
    if many:
        ids = suzerain.spool_many(jobs)
    else:
        ids = [suzerain.spool(**job) for job in jobs]
    body = ("\n".join(ids) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
