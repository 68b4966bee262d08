"""A plain ASGI 3 app (no framework, so it runs on every CPython the tests
build against): each path exercises one part of the server's ASGI side."""
import asyncio
import hashlib
import json
import os

events = []          # what the app saw, for /events
progress = {"sent": 0}
arrived = {"n": 0}
barrier = asyncio.Event()


async def read_body(receive):
    chunks = []
    while True:
        m = await receive()
        assert m["type"] == "http.request", m
        chunks.append(m["body"])
        if not m.get("more_body"):
            return chunks


async def answer(send, body, status=200, content_type=b"text/plain", extra=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type)] + list(extra)})
    await send({"type": "http.response.body", "body": body})


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def jsonable_scope(scope):
    out = {}
    for k, v in scope.items():
        if isinstance(v, bytes):
            out[k] = v.decode("latin-1")
        elif k == "headers":
            out[k] = [[n.decode("latin-1"), v2.decode("latin-1")] for n, v2 in v]
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = v
    out["types"] = {k: type(v).__name__ for k, v in scope.items()}
    return out


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                scope["state"]["started_in"] = os.getpid()
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path.endswith("/scope"):  # behind nginx too, at /u/scope
        await read_body(receive)
        await answer(send, json.dumps(jsonable_scope(scope)).encode(), content_type=b"application/json")
    elif path == "/body":
        chunks = await read_body(receive)
        body = b"".join(chunks)
        await answer(send, json.dumps({"size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                                       "messages": len(chunks)}).encode())
    elif path == "/consume":
        # Reads the body as it comes, keeping none of it; reports the RSS
        # growth seen meanwhile.
        start = rss_kib()
        peak = start
        size = messages = 0
        while True:
            m = await receive()
            size += len(m["body"])
            messages += 1
            peak = max(peak, rss_kib())
            if not m.get("more_body"):
                break
        await answer(send, json.dumps({"bytes": size, "messages": messages,
                                       "peak_rss_growth_kib": peak - start}).encode())
    elif path == "/stream":
        # n chunks of 64 KiB; progress says how far send() got.
        n = int(scope["query_string"].decode().split("=")[1])
        progress["sent"] = 0
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"x" * 65536
        for _ in range(n):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            progress["sent"] += 1
        await send({"type": "http.response.body", "body": b""})
    elif path == "/progress":
        await answer(send, str(progress["sent"]).encode())
    elif path == "/wait-disconnect":
        await read_body(receive)
        m = await receive()
        events.append(m["type"])
    elif path == "/events":
        await answer(send, json.dumps(events).encode())
    elif path == "/barrier":
        # Answers once n requests are in: only a server that runs them
        # concurrently ever answers.
        n = int(scope["query_string"].decode().split("=")[1])
        arrived["n"] += 1
        if arrived["n"] >= n:
            barrier.set()
        await barrier.wait()
        await answer(send, b"together")
    elif path == "/sleep":
        await asyncio.sleep(float(scope["query_string"].decode().split("=")[1]))
        await answer(send, b"slept")
    elif path == "/raise":
        raise ValueError("raised before the response")
    elif path == "/raise-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("raised mid-response")
    elif path == "/no-response":
        return
    elif path == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-evil", b"a\r\nInjected: yes")]})
    elif path == "/block":
        # A coroutine that blocks its loop: time.sleep, not asyncio.sleep.
        import time
        time.sleep(float(scope["query_string"].decode().split("=")[1]))
        await answer(send, b"unblocked")
    elif path == "/loop":
        await answer(send, type(asyncio.get_running_loop()).__module__.split(".")[0].encode())
    elif path == "/pid":
        await answer(send, str(os.getpid()).encode())
    else:
        await answer(send, b"hello from asgi")


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
