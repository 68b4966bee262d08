"""The suzerain hooks, each saying where it ran; HOOKS_MISBEHAVE adds one
that raises and one that hangs. GET /sleep runs into harakiri."""
import os
import sys
import time

import suzerain


def _say(name):
    print("HOOK %s in pid %d worker %d spooler %d" % (name, os.getpid(), suzerain.worker_id(), suzerain.spooler_id()),
          flush=True)


@suzerain.worker_exit
def on_worker_exit():
    _say("worker_exit")


@suzerain.master_ready
def on_master_ready():
    _say("master_ready")


@suzerain.master_exit
def on_master_exit():
    _say("master_exit")


@suzerain.harakiri
def on_harakiri(stuck):
    print("HOOK harakiri in pid %d worker %d spooler %d for %s on thread %d after %.1fs" % (
        os.getpid(), suzerain.worker_id(), suzerain.spooler_id(), stuck.request, stuck.thread, stuck.seconds),
        flush=True)


if os.environ.get("HOOKS_MISBEHAVE"):
    @suzerain.harakiri
    def raises_too(stuck):
        raise RuntimeError("a harakiri hook that fails")

    @suzerain.harakiri
    def hangs_too(stuck):
        time.sleep(3600)

    @suzerain.worker_exit
    def raises():
        raise RuntimeError("a worker_exit hook that fails")

    @suzerain.master_exit
    def hangs():
        time.sleep(3600)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        time.sleep(30)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def handle(job):
    if job.args.get("sleep"):
        time.sleep(30)
