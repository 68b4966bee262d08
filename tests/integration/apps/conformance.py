"""For the HTTP conformance corpora: any request is answered 200 with what
the app saw, as JSON: every string the environ's latin-1 text, the body in
base64."""
import base64
import json


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "uri": environ.get("REQUEST_URI", ""),
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "protocol": environ["SERVER_PROTOCOL"],
        "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")},
        "body_b64": base64.b64encode(body).decode("ascii"),
    }
    out = json.dumps(seen).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
    return [out]
