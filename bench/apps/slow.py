"""For bench/slow_clients.py: "/" says hello, "/echo" returns the body it
read, "/bytes?N" returns N bytes."""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
    elif path == "/bytes":
        body = b"b" * int(environ["QUERY_STRING"] or "0")
    else:
        body = b"hello"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
