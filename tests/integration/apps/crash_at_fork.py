"""Every worker dies right after the fork: a crash loop the master must
throttle rather than spin on."""
import os

import suzerain


@suzerain.postfork
def die():
    os._exit(7)


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"unreachable"]
