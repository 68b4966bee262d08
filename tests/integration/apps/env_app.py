"""Shows the app's environment: /NAME answers os.environ[NAME] (404 if
unset); /dont_write_bytecode what CPython made of PYTHONDONTWRITEBYTECODE."""
import os
import sys


def app(environ, start_response):
    name = environ["PATH_INFO"].lstrip("/")
    if name == "dont_write_bytecode":
        value = str(sys.flags.dont_write_bytecode)
    elif name in os.environ:
        value = os.environ[name]
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"unset"]
    body = value.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
