"""An app for the lifetime tests: cheap requests, a slow one, one that grows."""
import os
import time

_hoard = []
_IMPORT_UIDS = os.getresuid()  # who loaded the app: after any privilege drop, never root


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        seconds = float(environ.get("QUERY_STRING") or "1")
        environ["wsgi.errors"].write("sleeping for %s s\n" % seconds)
        time.sleep(seconds)
    elif path == "/uids":
        body = ("%d %d %d" % _IMPORT_UIDS).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    elif path == "/grow":
        _hoard.append(bytearray(64 << 20))  # 64 MiB, touched: resident
    elif path == "/ramp":  # 8 MiB every 10 ms, 60 times: 480 MiB in 0.6 s
        for _ in range(60):
            _hoard.append(bytearray(8 << 20))
            time.sleep(0.01)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
