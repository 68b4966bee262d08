# The Python half of the suzerain module (plugins/python/module.cpp is the C
# half), run in the module's namespace when it is created; built into the
# vassal (cmake/EmbedText.cmake). Kept in Python because it is clearer here;
# nothing in it runs per request except wsgi.errors writes.
import io as _io
import os as _os
import sys as _sys

_postfork = []
_hooks = {"worker_exit": [], "master_ready": [], "master_exit": [], "harakiri": []}


def postfork(func):
    """Decorator: run func in every worker after it is forked, before it serves."""
    _postfork.append(func)
    return func


def worker_exit(func):
    """Decorator: run func() in a worker or spooler stopping gracefully, before
    it exits (flush an error reporter, mark a Prometheus multiprocess worker dead)."""
    _hooks["worker_exit"].append(func)
    return func


def master_ready(func):
    """Decorator: run func() in the master each time every worker serves: after
    the start, and after each reload."""
    _hooks["master_ready"].append(func)
    return func


def master_exit(func):
    """Decorator: run func() in the master as it exits."""
    _hooks["master_exit"].append(func)
    return func


def harakiri(func):
    """Decorator: run func(stuck) in a worker or spooler whose request (or job)
    passed [lifetime] harakiri ([spooler] harakiri), before it is killed: report
    it to an error tracker. stuck.request is "GET /path" (or the job),
    stuck.seconds how long it has run, stuck.thread the app thread (from 1).
    It runs beside the stuck thread, which still holds its locks, for 2 seconds
    at most; the kill comes either way."""
    _hooks["harakiri"].append(func)
    return func


class StuckRequest:
    """What a @suzerain.harakiri function is given."""

    __slots__ = ("request", "seconds", "thread")

    def __init__(self, request, seconds, thread):
        self.request = request
        self.seconds = seconds
        self.thread = thread

    def __repr__(self):
        return "<suzerain.StuckRequest %r for %.1fs on thread %d>" % (self.request, self.seconds, self.thread)


def _run_harakiri(bound, request, seconds, thread):
    _run_hooks("harakiri", bound, StuckRequest(request, seconds, thread))


def _asgi_shape(app):
    # Why app is an ASGI application, not a WSGI one ("" if it is not): an
    # async callable, or an object whose __call__ is async (Starlette,
    # FastAPI, Django's ASGIHandler). Called on it once, at load.
    import inspect
    if inspect.iscoroutinefunction(app):
        return "it is an async def function"
    call = getattr(type(app), "__call__", None)
    if not inspect.isfunction(app) and call is not None and inspect.iscoroutinefunction(call):
        return "its %s.__call__ is an async def" % type(app).__name__
    return ""


def _run_hooks(name, bound, *args):
    # On a thread of their own, so that one that hangs holds up its process
    # for `bound` seconds at most; an exception is logged and the next runs.
    funcs = list(_hooks[name])
    if not funcs:
        return

    def run():
        import traceback
        for func in funcs:
            try:
                func(*args)
            except BaseException:
                _log(40, "@suzerain.%s %s raised: %s" % (
                    name, getattr(func, "__qualname__", repr(func)), traceback.format_exc().rstrip()))

    import threading
    thread = threading.Thread(target=run, name="suzerain." + name, daemon=True)
    thread.start()
    thread.join(bound)
    if thread.is_alive():
        _log(30, "@suzerain.%s still running after %gs: going on without it" % (name, bound))


class Job:
    """A spooled job, as the [spooler] handler receives it. attempt is 1 on
    the first run; args maps str to str; body is bytes; at and created are
    Unix times; last_error is why the previous attempt failed ("" if none)."""

    __slots__ = ("id", "args", "body", "attempt", "priority", "at", "created", "last_error")

    def __init__(self, id, args, body, attempt, priority, at, created, last_error):
        self.id = id
        self.args = args
        self.body = body
        self.attempt = attempt
        self.priority = priority
        self.at = at
        self.created = created
        self.last_error = last_error

    def __repr__(self):
        return "<suzerain.Job %s attempt %d>" % (self.id, self.attempt)


class Retry(Exception):
    """Raise in a job handler to run the job again later: `after` seconds
    from now, or after the usual exponential backoff. Counts as an attempt."""

    def __init__(self, reason="retry requested", after=None):
        super().__init__(reason)
        self.after = after


def _job_spec(args, body, at, priority):
    if not isinstance(args, dict):
        raise TypeError("spool(): args must be a dict of str to str, not %s" % type(args).__name__)
    clean = {}
    for key, value in args.items():
        if not isinstance(key, str):
            raise TypeError("spool(): argument names must be str, got %r" % (key,))
        if isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise TypeError("spool(): argument %r must be str (or a number), not %s" % (key, type(value).__name__))
        clean[key] = value
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")
    else:
        body = bytes(body)
    at_ms = None
    if at is not None:
        import datetime
        import time
        if isinstance(at, datetime.timedelta):
            at = time.time() + at.total_seconds()
        elif isinstance(at, datetime.datetime):
            at = at.timestamp()
        at_ms = int(float(at) * 1000)
    return clean, body, at_ms, int(priority)


def spool(args, body=None, at=None, priority=0):
    """Queues a job for the vassal's spooler; returns its id once the job is
    on disk (it survives a crash from then on).

    args: dict of str to str (numbers are converted); body: bytes or str;
    at: not before this time (a Unix time, a datetime, or a timedelta from
    now); priority: -999..999, higher runs first."""
    return _spool(*_job_spec(args, body, at, priority))


async def spool_async(args, body=None, at=None, priority=0):
    """spool() for an ASGI app: the same job, queued on the event loop's
    executor so the loop keeps turning while the job is flushed to disk;
    returns its id once it is there. Bad arguments raise here, at once."""
    import asyncio
    spec = _job_spec(args, body, at, priority)
    return await asyncio.get_running_loop().run_in_executor(None, _spool, *spec)


async def spool_many_async(jobs):
    """spool_many() for an ASGI app, as spool_async() is spool()'s."""
    import asyncio
    return await asyncio.get_running_loop().run_in_executor(None, spool_many, jobs)


def spool_many(jobs):
    """Queues several jobs at once, each a dict of spool()'s arguments
    ({"args": {...}, "body": ..., "at": ..., "priority": ...}); returns their
    ids once all are on disk. One flush for all of them: much faster than
    spool() in a loop when a request enqueues many jobs."""
    specs = []
    for job in jobs:
        if not isinstance(job, dict):
            raise TypeError("spool_many(): each job is a dict of spool()'s arguments, not %s" % type(job).__name__)
        unknown = set(job) - {"args", "body", "at", "priority"}
        if unknown:
            raise TypeError("spool_many(): unknown key(s) %s (expected args, body, at, priority)" % ", ".join(sorted(unknown)))
        specs.append(_job_spec(job.get("args", {}), job.get("body"), job.get("at"), job.get("priority", 0)))
    return _spool_many(specs)


class _FdWriter(_io.RawIOBase):
    """Writes straight to a file descriptor. It has no lock, so a thread that
    was printing when the master forked cannot leave the child's stdout locked."""

    def __init__(self, fd):
        super().__init__()
        self._fd = fd

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def write(self, data):
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += _os.write(self._fd, view[done:])
        return done


def _lockfree_stream(fd, old):
    encoding = getattr(old, "encoding", None) or "utf-8"
    # line_buffering: print("x") writes "x" then "\n"; the newline flushes both
    # in one os.write, so lines up to PIPE_BUF stay whole between processes.
    return _io.TextIOWrapper(_FdWriter(fd), encoding=encoding, errors="backslashreplace",
                             line_buffering=True)


def _install_stdio():
    _sys.stdout = _sys.__stdout__ = _lockfree_stream(1, _sys.stdout)
    _sys.stderr = _sys.__stderr__ = _lockfree_stream(2, _sys.stderr)


# ---- fork safety beyond what CPython's own at-fork handlers do ----

_held_handlers = []


def _before_forking():
    """Holds every logging handler's lock across the fork. logging re-creates
    its handler locks in the child, but not the lock of the file a handler
    writes to: a thread inside emit() at the fork would leave that file's
    buffer locked in the child forever. Holding the handler locks means no
    thread is inside emit() when the fork happens."""
    logging = _sys.modules.get("logging")
    if logging is None:
        return
    for ref in list(getattr(logging, "_handlerList", ())):
        handler = ref()
        lock = getattr(handler, "lock", None)
        # The timeout bounds a cycle with a thread that logs from inside emit().
        if lock is not None and lock.acquire(timeout=1.0):
            _held_handlers.append(lock)


def _after_forking_in_parent():
    while _held_handlers:
        _held_handlers.pop().release()


def _after_forking_in_child():
    # logging's own after-fork handler re-created the handler locks.
    _held_handlers.clear()
    _forget_dead_imports()


def _forget_dead_imports():
    """A thread that was importing a module at the fork does not exist here,
    but importlib's lock for that module still names it as owner: the next
    import of the module would wait forever. Forget such locks (the next
    import makes a fresh one), and forget modules whose import never finished,
    so they are imported afresh. Only importlib's registry and sys.modules are
    touched, not the locks themselves, whose insides differ across versions."""
    import _thread
    import importlib._bootstrap as bootstrap
    me = _thread.get_ident()
    for name, ref in list(getattr(bootstrap, "_module_locks", {}).items()):
        lock = ref()
        owner = getattr(lock, "owner", None)
        if owner is None or owner == me:
            continue
        bootstrap._module_locks.pop(name, None)
        module = _sys.modules.get(name)
        spec = getattr(module, "__spec__", None)
        if module is not None and getattr(spec, "_initializing", False):
            del _sys.modules[name]


class ErrorStream:
    """wsgi.errors: each line becomes one log line of the worker."""

    def __init__(self):
        self._pending = ""

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("wsgi.errors.write() takes str, not %s" % type(text).__name__)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            _log(40, line)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._pending:
            _log(40, self._pending)
            self._pending = ""


class FileWrapper:
    """wsgi.file_wrapper: the server sends a real file with sendfile(2)."""

    def __init__(self, filelike, blksize=65536):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration
