"""Isolated app b: sets a module global and starts a thread at import."""
import json
import os
import threading
import time

import shared_state

shared_state.VALUE = "b"
_stop = threading.Event()


def _ticker():
    while not _stop.wait(0.01):
        shared_state.TICKS += 1


threading.Thread(target=_ticker, name="ticker-b", daemon=True).start()


def application(environ, start_response):
    time.sleep(0.05)  # let the ticker run
    body = json.dumps({
        "app": "b",
        "value": shared_state.VALUE,
        "ticks": shared_state.TICKS,
        "threads": sorted(t.name for t in threading.enumerate()),
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
        "pid": os.getpid(),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
