"""A route that kills its own worker mid-request."""
import os


def application(environ, start_response):
    if environ["PATH_INFO"] == "/exit":
        os._exit(3)
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
