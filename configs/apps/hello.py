"""The demo app: the smallest useful WSGI application."""


def application(environ, start_response):
    body = b"Hello from Suzerain!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
