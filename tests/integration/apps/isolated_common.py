"""What the two isolated test apps share: each sets the same module global
and starts a thread at import, the two things isolation must keep apart."""
import json
import os
import threading
import time

import shared_state


def make_app(name):
    shared_state.VALUE = name
    stop = threading.Event()

    def tick():
        while not stop.wait(0.01):
            shared_state.TICKS += 1

    threading.Thread(target=tick, name="ticker-" + name, daemon=True).start()

    def application(environ, start_response):
        time.sleep(0.05)  # let the ticker run
        body = json.dumps({
            "app": name,
            "value": shared_state.VALUE,
            "ticks": shared_state.TICKS,
            "threads": sorted(t.name for t in threading.enumerate()),
            "script_name": environ["SCRIPT_NAME"],
            "path_info": environ["PATH_INFO"],
            "pid": os.getpid(),
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return application
