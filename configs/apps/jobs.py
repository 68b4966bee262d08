"""The demo spooler app: GET /?to=someone queues a "welcome" job and answers
its id; the handler logs each job (to the vassal's log) as it runs it."""
from urllib.parse import parse_qs

import suzerain


def handle(job):
    print("job %s (attempt %d): welcome mail for %s" % (job.id, job.attempt, job.args.get("to", "?")))


def application(environ, start_response):
    to = parse_qs(environ.get("QUERY_STRING", "")).get("to", ["world"])[0]
    job_id = suzerain.spool({"to": to})
    body = ("queued %s\n" % job_id).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
