"""Every worker hangs after the fork, before serving: the master must give
up on it at ready_timeout, say where it was stuck, and try again."""
import time

import suzerain


@suzerain.postfork
def hang():
    time.sleep(3600)


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"unreachable"]
