"""A test app wrapped in wsgiref.validate: any PEP 3333 violation by the
server (or by this app) becomes an AssertionError, and so a 500."""
import json
import os
import resource
import sys
import time
from wsgiref.validate import validator

import suzerain


_postfork_pids = []


@suzerain.postfork
def _note_worker_pid():
    _postfork_pids.append(os.getpid())


def _text(start_response, body, status="200 OK", extra=()):
    data = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))] + list(extra))
    return [data]


def _read_all(environ):
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        return stream.read(length)
    chunks = []
    while True:  # chunked: read until the stream ends
        chunk = stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/":
        return _text(start_response, "hello")
    if path == "/environ":
        keys = {k: v for k, v in environ.items() if isinstance(v, (str, bool, int, tuple))}
        return _text(start_response, json.dumps(keys, default=str), extra=[("X-Env", "1")])
    if path == "/echo":
        return _text(start_response, _read_all(environ))
    if path == "/lines":
        stream = environ["wsgi.input"]
        lines = []
        while True:
            line = stream.readline()
            if not line:
                break
            lines.append(line.decode())
        return _text(start_response, json.dumps(lines))
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (("chunk %d\n" % i).encode() for i in range(5))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"then returned"]
    if path == "/file":
        start_response("200 OK", [("Content-Type", "text/x-python")])
        return environ["wsgi.file_wrapper"](open(__file__, "rb"), 8192)
    if path == "/error":
        raise RuntimeError("deliberate failure in /error")
    if path == "/error-after-start":
        def gen():
            yield b"partial "
            raise RuntimeError("deliberate failure after the headers")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return gen()
    if path == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            return _text(lambda s, h: start_response(s, h, sys.exc_info()), "recovered", status="503 Service Unavailable")
    if path == "/errors":
        environ["wsgi.errors"].write("a line for the log from wsgi.errors\n")
        environ["wsgi.errors"].flush()
        return _text(start_response, "logged")
    if path == "/worker":
        return _text(start_response, "%d %s %d" % (suzerain.worker_id(), suzerain.vassal_name(), os.getpid()))
    if path == "/postfork":
        return _text(start_response, "ran in this worker" if os.getpid() in _postfork_pids else "did not run")
    if path == "/exc-info-late":
        def gen():
            yield b"already sent "
            try:
                raise ValueError("too late to change the status")
            except ValueError:
                start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())  # re-raises: the headers are out
        start_response("200 OK", [("Content-Type", "text/plain")])
        return gen()
    if path == "/sys":
        return _text(start_response, json.dumps({"executable": sys.executable, "prefix": sys.prefix,
                                                 "path": sys.path}))
    if path == "/status/204":
        start_response("204 No Content", [])
        return []
    if path == "/close":
        return _text(start_response, "bye", extra=[("Connection", "close")])
    if path == "/consume":
        # Streams the body through in pieces and reports how far the peak
        # resident memory of this worker moved while doing it.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stream, total = environ["wsgi.input"], 0
        while True:
            piece = stream.read(65536)
            if not piece:
                break
            total += len(piece)
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        return _text(start_response, json.dumps({"bytes": total, "peak_rss_growth_kib": grown_kib}))
    if path == "/bytes":  # as many as the query says, with a Content-Length
        return _text(start_response, b"b" * int(environ["QUERY_STRING"] or "0"))
    if path == "/big":  # 64 MiB, streamed: more than any socket buffer holds
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * 1048576 for _ in range(64))
    if path == "/sleep":
        seconds = float(environ["QUERY_STRING"] or "0.5")
        environ["wsgi.errors"].write("sleeping for %s s\n" % seconds)  # tests wait for this line
        time.sleep(seconds)
        return _text(start_response, "slept")
    return _text(start_response, "not here: " + path, status="404 Not Found")


application = validator(app)
