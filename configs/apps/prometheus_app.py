"""prometheus_client in its multiprocess mode under Suzerain.

Every worker counts into its own files in PROMETHEUS_MULTIPROC_DIR (set in
the vassal's [env], so it is there before prometheus_client is imported);
/metrics adds up every worker's, those of workers since replaced included.
A worker that stops marks itself dead in @suzerain.worker_exit, so that its
live gauges stop counting (prometheus_client's own advice for gunicorn's
child_exit hook). See configs/examples/prometheus.toml.
"""
import os

import suzerain
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest, multiprocess

REQUESTS = Counter("app_requests", "Requests served")
IN_PROGRESS = Gauge("app_in_progress", "Requests being served", multiprocess_mode="livesum")


@suzerain.worker_exit
def _mark_dead():
    multiprocess.mark_process_dead(os.getpid())


def application(environ, start_response):
    if environ["PATH_INFO"] == "/metrics":
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]
    with IN_PROGRESS.track_inprogress():
        REQUESTS.inc()
        body = b"hello\n"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
