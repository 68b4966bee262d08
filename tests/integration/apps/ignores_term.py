"""A worker whose request ignores the stop: it must be killed at graceful_timeout."""
import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/forever":
        environ["wsgi.errors"].write("running forever\n")
        time.sleep(3600)
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
