"""ASGI apps whose lifespan does one thing each (SUZ_LIFESPAN_MARK: a file
each phase appends a line to)."""
import os


def mark(line):
    with open(os.environ["SUZ_LIFESPAN_MARK"], "a") as f:
        f.write("%s %d\n" % (line, os.getpid()))


async def serve_ok(send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served"})


async def marks(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            mark(m["type"])
            await send({"type": m["type"] + ".complete"})
            if m["type"] == "lifespan.shutdown":
                return
    await serve_ok(send)


async def fails(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        mark("startup-failing")
        raise RuntimeError("the database is not there")
    await serve_ok(send)


async def unsupported(scope, receive, send):
    if scope["type"] != "http":
        raise ValueError("only http here")
    await serve_ok(send)
