# The ASGI 3.0 side of a Suzerain worker: the event loop, lifespan, and each
# request's receive and send. Embedded in the server as _suzerain_asgi,
# beside its C half (plugins/python/asgi_module.cpp): the worker's I/O
# thread hands over requests whose heads it has parsed; the connection is
# read and written here without blocking (the C half never waits), and
# given back when the response is complete.
import asyncio
import sys
import traceback

import suzerain

# read()'s and closed()'s answers (asgi_module.cpp).
_DATA, _END, _WAIT, _GONE = 0, 1, 2, 3
_OPEN, _CLOSED, _FULL = 0, 1, 2
# A response's bytes queued beyond this wait for the client before send()
# returns (backpressure); the wait ends once fewer than _LOW are queued.
_HIGH = 64 * 1024
_LOW = 16 * 1024
_CHUNK = 64 * 1024
_DISCONNECT = {"type": "http.disconnect"}


def _error(text):
    suzerain._log(40, text)


def _check(app):
    """Why app is not an ASGI 3 application ("" if it is), at load."""
    shape = suzerain._asgi_shape(app)
    if shape:
        return ""
    return ("it is a plain callable, as a WSGI app is (an ASGI app is an async def "
            "function or an object whose __call__ is async)")


class _Call:
    """One request: the ASGI receive and send over the exchange x."""

    __slots__ = ("x", "loop", "line", "started", "complete", "body_done", "waiter")

    def __init__(self, x, loop):
        self.x = x
        self.loop = loop
        self.line = x.line()
        self.started = False
        self.complete = False
        self.body_done = False
        self.waiter = None  # a receive() waiting for the client

    async def receive(self):
        x = self.x
        if x is None or x.gone():
            return _DISCONNECT
        if self.body_done:
            # Nothing more to read: wait for the client to go, or for the
            # response to end (then the request is over: a disconnect too).
            await self._wait_readable(watch_close=True)
            return _DISCONNECT
        chunks = []
        size = 0
        while True:
            data, state = x.read(_CHUNK - size)
            if state == _DATA:
                chunks.append(data)
                size += len(data)
                if size < _CHUNK:
                    continue
                more = True
            elif state == _END:
                self.body_done = True
                more = False
            elif state == _WAIT:
                if not chunks:
                    if not await self._wait_readable(watch_close=False):
                        return _DISCONNECT
                    continue
                more = True
            else:
                return _DISCONNECT
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            return {"type": "http.request", "body": body, "more_body": more}

    async def _wait_readable(self, watch_close):
        """True once the socket is readable; False if the client went away,
        the I/O timeout passed, or the exchange ended meanwhile."""
        x = self.x
        loop = self.loop
        fut = loop.create_future()
        fd = x.fd
        self.waiter = fut

        def readable():
            if fut.done():
                return
            if watch_close:
                state = x.closed()
                if state == _OPEN:
                    return  # bytes of a next request, kept for it
                if state == _FULL:
                    loop.remove_reader(fd)
                    return
                fut.set_result(False)
            else:
                fut.set_result(True)

        def timed_out():
            if not fut.done():
                x.give_up("no request body bytes for %gs" % x.io_timeout)
                fut.set_result(False)

        loop.add_reader(fd, readable)
        timer = None if watch_close else loop.call_later(x.io_timeout, timed_out)
        try:
            return await fut
        finally:
            self.waiter = None
            if self.x is not None:
                loop.remove_reader(fd)
            if timer is not None:
                timer.cancel()

    async def send(self, message):
        x = self.x
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError("expected an 'http.response.start' message, got %r" % (kind,))
            self.started = True
            if x is not None:
                x.start(message["status"], message.get("headers", ()))
            return
        if kind != "http.response.body":
            raise RuntimeError("expected an 'http.response.body' message, got %r" % (kind,))
        if self.complete:
            raise RuntimeError("the response is already complete")
        more = message.get("more_body", False)
        if x is None or x.gone():
            if not more:
                self.complete = True
                self.finish(True)
            return
        x.write(message.get("body", b""), not more)
        if not more:
            self.complete = True
            self.finish(True)
            return
        if x.queued() > _HIGH:
            x.flush()
            while x.queued() > _LOW and not x.gone():
                await self._wait_writable()

    async def _wait_writable(self):
        x = self.x
        loop = self.loop
        fut = loop.create_future()
        fd = x.fd

        def writable():
            x.flush()
            if not fut.done() and (x.queued() <= _LOW or x.gone()):
                fut.set_result(None)

        def timed_out():
            if not fut.done():
                x.give_up("the client took nothing of the response for %gs" % x.io_timeout)
                fut.set_result(None)

        loop.add_writer(fd, writable)
        timer = loop.call_later(x.io_timeout, timed_out)
        try:
            await fut
        finally:
            loop.remove_writer(fd)
            timer.cancel()

    def finish(self, ok):
        x = self.x
        if x is None:
            return
        self.x = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(False)
        self.loop.remove_reader(x.fd)
        x.done(ok)


async def _serve(app, scope, call):
    try:
        await app(scope, call.receive, call.send)
    except BaseException as e:
        if not isinstance(e, asyncio.CancelledError):
            _error("%s: the app raised: %s" % (call.line, traceback.format_exc().rstrip()))
        call.finish(False)
        if not isinstance(e, Exception):
            raise
        return
    if not call.complete:
        if call.x is not None and not call.x.gone():
            _error("%s: the app returned without %s" % (
                call.line, "completing the response" if call.started else "sending a response"))
        call.finish(False)


class _Lifespan:
    """The ASGI lifespan protocol for one app (uvicorn's auto, on, off)."""

    def __init__(self, app, spec, mode, loop):
        self.app = app
        self.spec = spec
        self.mode = mode
        self.loop = loop
        self.state = {}
        self.supported = mode != "off"
        self.inbox = asyncio.Queue()
        self.started = loop.create_future()  # a failure's text, or None
        self.stopped = loop.create_future()
        self.task = None

    async def startup(self):
        """None once the app has started, else why not."""
        if self.mode == "off":
            return None
        self.task = self.loop.create_task(self._main())
        await self.inbox.put({"type": "lifespan.startup"})
        return await self.started

    async def shutdown(self):
        if not self.supported or self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        failure = await self.stopped
        if failure:
            _error("%s: lifespan shutdown failed: %s" % (self.spec, failure))

    async def _main(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}, "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self._send)
        except BaseException:
            text = traceback.format_exc().rstrip()
            if not self.started.done():
                if self.mode == "auto":
                    self.supported = False
                    suzerain._log(20, "%s does not support the ASGI lifespan protocol "
                                  "(it raised on the lifespan scope): going on without it" % self.spec)
                    self.started.set_result(None)
                else:
                    self.started.set_result("the app raised during startup: " + text)
            elif not self.stopped.done():
                self.stopped.set_result("the app raised: " + text)
            return
        if not self.started.done():
            if self.mode == "auto":
                self.supported = False
                self.started.set_result(None)
            else:
                self.started.set_result("the app returned without answering lifespan.startup")
        if not self.stopped.done():
            self.stopped.set_result(None)

    async def _send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            if not self.started.done():
                self.started.set_result(None)
        elif kind == "lifespan.startup.failed":
            if not self.started.done():
                self.started.set_result("lifespan.startup.failed: " + str(message.get("message", "")))
        elif kind == "lifespan.shutdown.complete":
            if not self.stopped.done():
                self.stopped.set_result(None)
        elif kind == "lifespan.shutdown.failed":
            if not self.stopped.done():
                self.stopped.set_result("lifespan.shutdown.failed: " + str(message.get("message", "")))
        else:
            raise RuntimeError("unexpected lifespan message %r" % (kind,))


def _new_loop(kind):
    if kind in ("uvloop", "auto"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(apps, loop_kind, lifespan, threads):
    """Runs the worker's loop until the worker asks it to stop. apps: [(app,
    spec)] by app index. Returns when the apps' shutdown is over. The
    worker's side: _take, _started, _stop_requested, _shutdown_bound and
    _wake_fd (asgi_module.cpp)."""
    loop = _new_loop(loop_kind)
    asyncio.set_event_loop(loop)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor
        loop.set_default_executor(ThreadPoolExecutor(threads, thread_name_prefix="asgi-executor"))
    lifespans = [_Lifespan(app, spec, lifespan, loop) for app, spec in apps]
    tasks = set()
    try:
        for ls in lifespans:
            failure = loop.run_until_complete(ls.startup())
            if failure:
                _error("%s: %s" % (ls.spec, failure))
                _started(False)
                return
        states = [ls.state if ls.supported else None for ls in lifespans]
        _started(True)

        def dispatch():
            for x in _take():
                i = x.app_index
                task = loop.create_task(_serve(apps[i][0], x.scope(states[i]), _Call(x, loop)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if _stop_requested():
                loop.stop()

        def turn():
            _turned()
            loop.call_later(_TURN_INTERVAL, turn)

        turn()
        loop.add_reader(_wake_fd(), dispatch)
        loop.run_forever()
        loop.remove_reader(_wake_fd())
        # Every response is complete; what apps still do after theirs
        # (background tasks) and their shutdown share the bound.
        deadline = loop.time() + _shutdown_bound()
        if tasks:
            loop.run_until_complete(asyncio.wait(set(tasks), timeout=max(0.0, deadline - loop.time())))
        for ls in lifespans:
            left = deadline - loop.time()
            try:
                loop.run_until_complete(asyncio.wait_for(ls.shutdown(), max(0.1, left)))
            except asyncio.TimeoutError:
                _error("%s: lifespan shutdown still running at graceful_timeout: going on without it" % ls.spec)
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException:
            pass
        loop.close()
