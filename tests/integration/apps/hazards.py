"""Threads that make forking dangerous, started at import in the master, and
an app whose every request does what a worker forked in the middle of them
would hang on: print, log, import, take the app's lock.

Each hazard_<kind>.py module starts one kind; the fork-safety tests run them
with fast worker recycling and count the respawns and the served requests."""
import asyncio
import importlib
import logging
import os
import sys
import threading
import time

import suzerain

_log = logging.getLogger("hazard")
_log.setLevel(logging.INFO)
_log.addHandler(logging.FileHandler(os.devnull))  # the handler's lock is the hazard, not the output
_log.propagate = False

_lock = threading.Lock()
_sink = open(os.devnull, "w")  # what print() threads write to, when stdout is not the target


def _busy(seconds=None):
    end = None if seconds is None else time.monotonic() + seconds
    x = 0
    while end is None or time.monotonic() < end:
        x += 1


def _print():
    line = "x" * 200
    while True:
        print(line)  # sys.stdout: the lock-free writer; the test discards the vassal's stdout


def _chatter():
    # A burst of work holding the GIL, then a print that releases and retakes
    # it: the pattern that starves another thread's request for the GIL.
    x = 0
    while True:
        x += 1
        if x % 20000 == 0:
            print(x)


def _logging():
    while True:
        _log.info("a log line from a thread that never stops logging")


def _importing():
    import json  # noqa: F401
    import colorsys
    while True:
        importlib.reload(colorsys)
        importlib.import_module("email.mime.text")
        sys.modules.pop("email.mime.text", None)


def _event_loop():
    # A library that runs its own event loop on a thread at import (an SDK's
    # background flusher): the master has a loop, its selector and its
    # thread at every fork; the workers must run their own regardless.
    loop = asyncio.new_event_loop()

    async def tick():
        while True:
            await asyncio.sleep(0.001)

    loop.run_until_complete(tick())


def _holding_lock():
    while True:
        with _lock:
            time.sleep(0.001)  # held nearly all the time


KINDS = {
    "busy": _busy,
    "busy5s": lambda: _busy(5.0),
    "print": _print,
    "chatter": _chatter,
    "logging": _logging,
    "import": _importing,
    "lock": _holding_lock,
    "asyncio": _event_loop,
}


def start(kind, count=1):
    for i in range(count):
        threading.Thread(target=KINDS[kind], name="hazard-%s-%d" % (kind, i), daemon=True).start()


@suzerain.postfork
def _fresh_lock():
    # A lock some dead thread held at the fork stays held forever in the child:
    # apps re-create their own locks after the fork, this is how.
    global _lock
    _lock = threading.Lock()


def _what_a_request_does():
    """Print, log, import, take the app's lock; the answer: this pid."""
    print("served by", os.getpid(), flush=True)
    _log.info("request in %d", os.getpid())
    importlib.import_module("decimal")
    importlib.reload(importlib.import_module("colorsys"))
    with _lock:
        return str(os.getpid()).encode()


def application(environ, start_response):
    body = _what_a_request_does()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# asyncio objects made at import, in the master, before any fork.
_import_loop = asyncio.new_event_loop()
_import_queue = asyncio.Queue()


async def asgi_application(scope, receive, send):
    """The same request as application(), served as ASGI."""
    if scope["type"] != "http":
        return
    body = _what_a_request_does()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def handle(job):
    """Job handler: what a request does (print, log, import, take the app's
    lock), then one line "done <n> <pid>" appended to job.args["out"]."""
    print("job", job.id, "in", os.getpid(), flush=True)
    _log.info("job in %d", os.getpid())
    importlib.import_module("decimal")
    importlib.reload(importlib.import_module("colorsys"))
    with _lock:
        line = "done %s %d\n" % (job.args.get("n", "-"), os.getpid())
    fd = os.open(job.args["out"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
