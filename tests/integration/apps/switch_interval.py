"""Sets its own GIL switch interval at import and reports the one it runs with."""
import sys

sys.setswitchinterval(0.002)


def application(environ, start_response):
    body = repr(sys.getswitchinterval()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
