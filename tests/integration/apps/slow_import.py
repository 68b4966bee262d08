"""An app whose import takes a minute: its vassal never gets to serving."""
import time

time.sleep(60)


def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]
